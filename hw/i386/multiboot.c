/*
 * Multiboot v1 loader (Multiboot Specification 0.6.96).
 *
 * The image is untrusted input: every header field, program header, offset
 * and size is checked against the file and against guest RAM before
 * anything is planned, with all arithmetic in 64 bits so nothing wraps.
 * The result is an X86BootPlan; nothing touches guest memory here.
 */
#include "hw/i386/multiboot.h"
#include "hw/i386/pc.h"

/* ELF32 (i386) constants and layout. */
#define EI_CLASS        4
#define EI_DATA         5
#define ELFCLASS32      1
#define ELFCLASS64      2
#define ELFDATA2LSB     1
#define ET_EXEC         2
#define EM_386          3
#define PT_LOAD         1
#define ELF32_EHDR_SIZE 52
#define ELF32_PHDR_SIZE 32

#define MB_MAX_RANGES   256

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void st32(uint8_t *p, uint32_t v)
{
    p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static void st64(uint8_t *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

/* Offset of the first valid header, or -1. *bad_checksum_at gets the offset
 * of a magic number whose checksum did not match (or -1). */
static long multiboot_find_header(const uint8_t *image, size_t len, long *bad_checksum_at)
{
    size_t limit = MIN(len, (size_t)MULTIBOOT_SEARCH);

    *bad_checksum_at = -1;
    for (size_t off = 0; off + 12 <= limit; off += 4) {
        uint32_t magic = ld32(image + off);
        if (magic != MULTIBOOT_HEADER_MAGIC) {
            continue;
        }
        if ((uint32_t)(magic + ld32(image + off + 4) + ld32(image + off + 8)) == 0) {
            return (long)off;
        }
        if (*bad_checksum_at < 0) {
            *bad_checksum_at = (long)off;
        }
    }
    return -1;
}

bool multiboot_probe(const uint8_t *image, size_t len, char **why_not)
{
    long bad;

    if (multiboot_find_header(image, len, &bad) >= 0) {
        return true;
    }
    if (why_not) {
        *why_not = bad >= 0
            ? g_strdup_printf("the multiboot header at offset 0x%lx has a bad checksum", bad)
            : g_strdup("no multiboot header");
    }
    return false;
}

/* ---- guest physical ranges ---- */

typedef struct MBRange {
    uint64_t start, end;    /* [start, end) */
} MBRange;

typedef struct MBLoadState {
    const X86KernelLoadOptions *opts;
    const char *filename;
    MBRange usable[PC_MAX_E820_ENTRIES];   /* RAM below 4 GiB */
    unsigned nr_usable;
    MBRange used[MB_MAX_RANGES];           /* what the plan already occupies */
    unsigned nr_used;
    X86BootPlan *plan;
} MBLoadState;

static bool mb_range_is_usable(const MBLoadState *st, uint64_t start, uint64_t end)
{
    if (start == end) {
        /* An empty range still needs a valid address. */
        end = start + 1;
    }
    for (unsigned i = 0; i < st->nr_usable; i++) {
        if (start >= st->usable[i].start && end <= st->usable[i].end) {
            return true;
        }
    }
    return false;
}

static const MBRange *mb_range_overlap(const MBLoadState *st, uint64_t start, uint64_t end)
{
    for (unsigned i = 0; i < st->nr_used; i++) {
        if (start < st->used[i].end && st->used[i].start < end) {
            return &st->used[i];
        }
    }
    return NULL;
}

static bool mb_reserve(MBLoadState *st, uint64_t start, uint64_t end, GError **errp)
{
    if (start == end) {
        return true;
    }
    if (st->nr_used >= MB_MAX_RANGES) {
        error_setg(errp, "could not load kernel '%s': too many segments and modules",
                   st->filename);
        return false;
    }
    st->used[st->nr_used].start = start;
    st->used[st->nr_used].end = end;
    st->nr_used++;
    return true;
}

/* Lowest address (aligned to `align`) where `size` bytes fit in usable RAM
 * without touching anything already used, preferring addresses at or above
 * `prefer`. Returns false if there is no room at all. */
static bool mb_allocate(const MBLoadState *st, uint64_t size, uint64_t align, uint64_t prefer,
                        uint64_t *out)
{
    uint64_t best_any = UINT64_MAX, best_pref = UINT64_MAX;

    /* Candidates: the start of each usable range and the end of each used
     * range; the lowest fitting one is one of them. */
    for (unsigned pass = 0; pass < 2; pass++) {
        unsigned count = pass == 0 ? st->nr_usable : st->nr_used;
        for (unsigned i = 0; i < count; i++) {
            uint64_t cand = pass == 0 ? st->usable[i].start : st->used[i].end;
            cand = KESTREL_ALIGN_UP(cand, align);
            if (cand + size > 0x100000000ULL || !mb_range_is_usable(st, cand, cand + size) ||
                mb_range_overlap(st, cand, cand + MAX(size, 1))) {
                continue;
            }
            best_any = MIN(best_any, cand);
            if (cand >= prefer) {
                best_pref = MIN(best_pref, cand);
            }
        }
    }
    if (best_pref != UINT64_MAX) {
        *out = best_pref;
        return true;
    }
    if (best_any != UINT64_MAX) {
        *out = best_any;
        return true;
    }
    return false;
}

/* Checks a piece of the image before it is planned at [start, start + len). */
static bool mb_place_segment(MBLoadState *st, const char *what, uint64_t start, uint64_t len,
                             GError **errp)
{
    const MBRange *clash;

    if (start + len > 0x100000000ULL || !mb_range_is_usable(st, start, start + len)) {
        error_setg(errp, "could not load kernel '%s': %s at 0x%" PRIx64 "-0x%" PRIx64
                   " is outside guest RAM (RAM below 4 GiB ends at 0x%" PRIx64
                   ", 0xa0000-0xfffff is reserved)",
                   st->filename, what, start, start + len,
                   st->opts->layout.below_4g_mem_size);
        return false;
    }
    clash = mb_range_overlap(st, start, start + len);
    if (clash) {
        error_setg(errp, "could not load kernel '%s': %s at 0x%" PRIx64 "-0x%" PRIx64
                   " overlaps another segment at 0x%" PRIx64 "-0x%" PRIx64,
                   st->filename, what, start, start + len, clash->start, clash->end);
        return false;
    }
    return mb_reserve(st, start, start + len, errp);
}

/* ---- the kernel image ---- */

/* a.out kludge: the header says where the file goes. */
static bool mb_load_aout_kludge(MBLoadState *st, GBytes *image, size_t hdr_off,
                                uint32_t *entry, GError **errp)
{
    size_t len;
    const uint8_t *data = g_bytes_get_data(image, &len);
    const uint8_t *hdr = data + hdr_off;
    uint64_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
    uint64_t load_offset, load_size, bss_size = 0;
    g_autoptr(GBytes) text = NULL;

    if (hdr_off + 32 > len) {
        error_setg(errp, "could not load kernel '%s': multiboot header truncated "
                   "(a.out kludge fields missing)", st->filename);
        return false;
    }
    header_addr = ld32(hdr + 12);
    load_addr = ld32(hdr + 16);
    load_end_addr = ld32(hdr + 20);
    bss_end_addr = ld32(hdr + 24);
    entry_addr = ld32(hdr + 28);

    /* The header's file offset corresponds to header_addr. */
    if (load_addr > header_addr || header_addr - load_addr > hdr_off) {
        error_setg(errp, "could not load kernel '%s': multiboot load_addr 0x%" PRIx64
                   " and header_addr 0x%" PRIx64 " put the load start before the file",
                   st->filename, load_addr, header_addr);
        return false;
    }
    load_offset = hdr_off - (header_addr - load_addr);
    if (load_end_addr == 0) {
        load_size = len - load_offset;
    } else if (load_end_addr < load_addr) {
        error_setg(errp, "could not load kernel '%s': multiboot load_end_addr 0x%" PRIx64
                   " is below load_addr 0x%" PRIx64, st->filename, load_end_addr, load_addr);
        return false;
    } else {
        load_size = load_end_addr - load_addr;
    }
    if (load_offset + load_size > len) {
        error_setg(errp, "could not load kernel '%s': file truncated (multiboot header asks "
                   "for 0x%" PRIx64 " bytes at offset 0x%" PRIx64 ", file has 0x%zx)",
                   st->filename, load_size, load_offset, len);
        return false;
    }
    if (bss_end_addr != 0) {
        if (bss_end_addr < load_addr + load_size) {
            error_setg(errp, "could not load kernel '%s': multiboot bss_end_addr 0x%" PRIx64
                       " is below the end of the loaded image 0x%" PRIx64,
                       st->filename, bss_end_addr, load_addr + load_size);
            return false;
        }
        bss_size = bss_end_addr - (load_addr + load_size);
    }
    if (!mb_place_segment(st, "image", load_addr, load_size + bss_size, errp)) {
        return false;
    }
    if (entry_addr < load_addr || entry_addr >= load_addr + load_size + bss_size) {
        error_setg(errp, "could not load kernel '%s': entry point 0x%" PRIx64
                   " is outside the loaded image", st->filename, entry_addr);
        return false;
    }
    text = g_bytes_new_from_bytes(image, load_offset, load_size);
    x86_boot_plan_add_blob(st->plan, "kernel image", load_addr, text, bss_size);
    st->plan->kernel_load_addr = (uint32_t)load_addr;
    *entry = (uint32_t)entry_addr;
    return true;
}

static bool mb_load_elf(MBLoadState *st, GBytes *image, uint32_t *entry, GError **errp)
{
    size_t len;
    const uint8_t *data = g_bytes_get_data(image, &len);
    uint64_t phoff, phentsize, phnum, e_entry;
    uint64_t lowest = UINT64_MAX;
    bool entry_found = false;
    unsigned loaded = 0;

    if (len < 4 || memcmp(data, "\177ELF", 4) != 0) {
        error_setg(errp, "could not load kernel '%s': multiboot image is not ELF and its "
                   "header has no a.out kludge (flag bit 16) load addresses", st->filename);
        return false;
    }
    if (len < ELF32_EHDR_SIZE) {
        error_setg(errp, "could not load kernel '%s': ELF header truncated", st->filename);
        return false;
    }
    if (data[EI_CLASS] == ELFCLASS64) {
        error_setg(errp, "could not load kernel '%s': Cannot load x86-64 image, "
                   "give a 32bit one.", st->filename);
        return false;
    }
    if (data[EI_CLASS] != ELFCLASS32 || data[EI_DATA] != ELFDATA2LSB) {
        error_setg(errp, "could not load kernel '%s': not a little-endian ELF32 image",
                   st->filename);
        return false;
    }
    if (ld16(data + 18) != EM_386) {
        error_setg(errp, "could not load kernel '%s': ELF machine %u is not i386",
                   st->filename, ld16(data + 18));
        return false;
    }
    if (ld16(data + 16) != ET_EXEC) {
        error_setg(errp, "could not load kernel '%s': ELF type %u is not an executable",
                   st->filename, ld16(data + 16));
        return false;
    }
    e_entry = ld32(data + 24);
    phoff = ld32(data + 28);
    phentsize = ld16(data + 42);
    phnum = ld16(data + 44);
    if (phnum == 0 || phentsize < ELF32_PHDR_SIZE) {
        error_setg(errp, "could not load kernel '%s': ELF has no usable program headers",
                   st->filename);
        return false;
    }
    if (phoff > len || phnum * phentsize > len - phoff) {
        error_setg(errp, "could not load kernel '%s': ELF program headers truncated",
                   st->filename);
        return false;
    }

    for (uint64_t i = 0; i < phnum; i++) {
        const uint8_t *ph = data + phoff + i * phentsize;
        uint64_t offset = ld32(ph + 4), vaddr = ld32(ph + 8), paddr = ld32(ph + 12);
        uint64_t filesz = ld32(ph + 16), memsz = ld32(ph + 20);
        g_autofree char *what = NULL;
        g_autoptr(GBytes) contents = NULL;

        if (ld32(ph) != PT_LOAD || memsz == 0) {
            continue;
        }
        what = g_strdup_printf("ELF segment %" PRIu64, i);
        if (filesz > memsz) {
            error_setg(errp, "could not load kernel '%s': %s has a file size larger than "
                       "its memory size", st->filename, what);
            return false;
        }
        if (offset > len || filesz > len - offset) {
            error_setg(errp, "could not load kernel '%s': file truncated (%s needs bytes "
                       "0x%" PRIx64 "-0x%" PRIx64 ", file has 0x%zx)",
                       st->filename, what, offset, offset + filesz, len);
            return false;
        }
        if (!mb_place_segment(st, what, paddr, memsz, errp)) {
            return false;
        }
        contents = g_bytes_new_from_bytes(image, offset, filesz);
        x86_boot_plan_add_blob(st->plan, what, paddr, contents, memsz - filesz);
        lowest = MIN(lowest, paddr);
        loaded++;
        /* The entry is a virtual address; run it where the segment holding
         * it is physically loaded. */
        if (!entry_found && e_entry >= vaddr && e_entry < vaddr + memsz) {
            *entry = (uint32_t)(paddr + (e_entry - vaddr));
            entry_found = true;
        }
    }
    if (loaded == 0) {
        error_setg(errp, "could not load kernel '%s': ELF has no loadable segment",
                   st->filename);
        return false;
    }
    if (!entry_found) {
        error_setg(errp, "could not load kernel '%s': ELF entry point 0x%" PRIx64
                   " is outside every loadable segment", st->filename, e_entry);
        return false;
    }
    st->plan->kernel_load_addr = (uint32_t)lowest;
    return true;
}

/* ---- modules ---- */

/* Splits -initrd "a args,b args" at commas (",," is a literal comma). */
static GPtrArray *mb_split_modules(const char *list)
{
    GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);

    for (const char *p = list; *p; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',') {
            g_ptr_array_add(items, g_string_free(cur, FALSE));
            cur = g_string_new(NULL);
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_ptr_array_add(items, g_string_free(cur, FALSE));
    return items;
}

typedef struct MBModule {
    uint32_t start, end;
    char *string;           /* "path args" */
} MBModule;

/* ---- the information structure ---- */

static GBytes *mb_build_info(MBLoadState *st, uint32_t base, const char *cmdline,
                             const MBModule *mods, unsigned nr_mods, const E820Entry *map,
                             unsigned nr_map, size_t size, size_t off_cmdline, size_t off_name,
                             const size_t *off_mod_strings, size_t off_mods, size_t off_mmap)
{
    uint8_t *info = g_malloc0(size);
    const X86MemoryLayout *layout = &st->opts->layout;
    uint64_t below = layout->below_4g_mem_size;
    uint32_t mem_lower = (uint32_t)(MIN(below, PC_LOW_RAM_END) / 1024);
    uint32_t mem_upper = below > PC_HIGH_RAM_BASE ? (uint32_t)((below - PC_HIGH_RAM_BASE) / 1024) : 0;

    st32(info + MBI_FLAGS, MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
                           MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_LOADER_NAME);
    st32(info + MBI_MEM_LOWER, mem_lower);
    st32(info + MBI_MEM_UPPER, mem_upper);
    st32(info + MBI_CMDLINE, base + (uint32_t)off_cmdline);
    memcpy(info + off_cmdline, cmdline, strlen(cmdline) + 1);
    st32(info + MBI_BOOT_LOADER_NAME, base + (uint32_t)off_name);
    memcpy(info + off_name, MULTIBOOT_LOADER_NAME, sizeof(MULTIBOOT_LOADER_NAME));

    st32(info + MBI_MODS_COUNT, nr_mods);
    st32(info + MBI_MODS_ADDR, base + (uint32_t)off_mods);
    for (unsigned i = 0; i < nr_mods; i++) {
        uint8_t *mod = info + off_mods + (size_t)i * MB_MOD_SIZE;
        st32(mod + 0, mods[i].start);
        st32(mod + 4, mods[i].end);
        st32(mod + 8, base + (uint32_t)off_mod_strings[i]);
        st32(mod + 12, 0);
        memcpy(info + off_mod_strings[i], mods[i].string, strlen(mods[i].string) + 1);
    }

    st32(info + MBI_MMAP_LENGTH, nr_map * MB_MMAP_ENTRY_SIZE);
    st32(info + MBI_MMAP_ADDR, base + (uint32_t)off_mmap);
    for (unsigned i = 0; i < nr_map; i++) {
        uint8_t *ent = info + off_mmap + (size_t)i * MB_MMAP_ENTRY_SIZE;
        st32(ent + 0, MB_MMAP_ENTRY_SIZE - 4);   /* size excludes the size field */
        st64(ent + 4, map[i].addr);
        st64(ent + 12, map[i].len);
        st32(ent + 20, map[i].type);
    }
    return g_bytes_new_take(info, size);
}

X86BootPlan *multiboot_load(const X86KernelLoadOptions *opts, GBytes *image, GError **errp)
{
    MBLoadState st = { .opts = opts, .filename = opts->kernel_filename };
    size_t len;
    const uint8_t *data = g_bytes_get_data(image, &len);
    long bad, hdr_off = multiboot_find_header(data, len, &bad);
    uint32_t flags, entry = 0;
    E820Entry map[PC_MAX_E820_ENTRIES];
    unsigned nr_map = x86_memory_layout_e820(&opts->layout, map, PC_MAX_E820_ENTRIES);
    g_autoptr(GPtrArray) items = NULL;
    g_autofree MBModule *mods = NULL;
    g_autofree size_t *off_mod_strings = NULL;
    g_autofree char *cmdline = NULL;
    unsigned nr_mods = 0;
    uint64_t kernel_end = 0, info_addr;
    size_t info_size, off_cmdline, off_name, off_mods, off_mmap;
    GBytes *info;

    if (hdr_off < 0) {
        error_setg(errp, "could not load kernel '%s': not a multiboot kernel (%s)",
                   st.filename, bad >= 0 ? "bad header checksum" : "no multiboot header");
        return NULL;
    }
    for (unsigned i = 0; i < nr_map; i++) {
        if (map[i].type == E820_RAM && map[i].addr < 0x100000000ULL) {
            st.usable[st.nr_usable].start = map[i].addr;
            st.usable[st.nr_usable].end = MIN(map[i].addr + map[i].len, 0x100000000ULL);
            st.nr_usable++;
        }
    }

    flags = ld32(data + hdr_off + 4);
    /* Bits 0-15 are requirements: refuse what we do not understand. Video
     * mode (bit 2) is a preference we may ignore: no framebuffer info. */
    if (flags & 0x0000fff8u) {
        error_setg(errp, "could not load kernel '%s': multiboot header requires unsupported "
                   "features (flags 0x%08x)", st.filename, flags);
        return NULL;
    }

    st.plan = x86_boot_plan_new("multiboot");
    if (flags & MULTIBOOT_AOUT_KLUDGE) {
        if (!mb_load_aout_kludge(&st, image, (size_t)hdr_off, &entry, errp)) {
            goto fail;
        }
    } else if (!mb_load_elf(&st, image, &entry, errp)) {
        goto fail;
    }
    for (unsigned i = 0; i < st.nr_used; i++) {
        kernel_end = MAX(kernel_end, st.used[i].end);
    }
    /* Page 0 is never handed out for modules or the information structure
     * (a null info pointer would confuse kernels). */
    if (!mb_reserve(&st, 0, KESTREL_PAGE_SIZE, errp)) {
        goto fail;
    }
    st.plan->kernel_file = g_bytes_ref(image);

    /* Modules: page-aligned, after the kernel. */
    if (opts->initrd_filename && opts->initrd_filename[0]) {
        items = mb_split_modules(opts->initrd_filename);
        mods = g_new0(MBModule, items->len);
        for (unsigned i = 0; i < items->len; i++) {
            const char *item = g_ptr_array_index(items, i);
            g_autofree char *path = g_strndup(item, strcspn(item, " "));
            g_autoptr(GBytes) file = NULL;
            g_autofree char *what = NULL;
            uint64_t addr, size;

            if (path[0] == '\0') {
                error_setg(errp, "could not load kernel '%s': empty module name in -initrd '%s'",
                           st.filename, opts->initrd_filename);
                goto fail;
            }
            file = x86_boot_read_file("multiboot module", path, opts->layout.below_4g_mem_size,
                                      errp);
            if (file == NULL) {
                goto fail;
            }
            size = g_bytes_get_size(file);
            if (!mb_allocate(&st, size, KESTREL_PAGE_SIZE, kernel_end, &addr)) {
                error_setg(errp, "could not load multiboot module '%s': no room in guest RAM "
                           "for %" PRIu64 " bytes", path, size);
                goto fail;
            }
            what = g_strdup_printf("module '%s'", path);
            if (!mb_reserve(&st, addr, addr + size, errp)) {
                goto fail;
            }
            x86_boot_plan_add_blob(st.plan, what, addr, file, 0);
            mods[i].start = (uint32_t)addr;
            mods[i].end = (uint32_t)(addr + size);
            mods[i].string = (char *)item;
            if (i == 0) {
                st.plan->initrd_file = g_bytes_ref(file);
                st.plan->initrd_addr = (uint32_t)addr;
            }
            nr_mods++;
        }
    }

    /* The information structure and everything it points to, in one blob:
     * info, command line, loader name, module strings, module list, mmap. */
    cmdline = (opts->kernel_cmdline && opts->kernel_cmdline[0])
        ? g_strdup_printf("%s %s", opts->kernel_filename, opts->kernel_cmdline)
        : g_strdup(opts->kernel_filename);
    off_cmdline = 128;   /* room for the VBE/framebuffer fields, left zero */
    off_name = off_cmdline + strlen(cmdline) + 1;
    info_size = off_name + sizeof(MULTIBOOT_LOADER_NAME);
    off_mod_strings = g_new0(size_t, nr_mods + 1);
    for (unsigned i = 0; i < nr_mods; i++) {
        off_mod_strings[i] = info_size;
        info_size += strlen(mods[i].string) + 1;
    }
    off_mods = KESTREL_ALIGN_UP(info_size, 8);
    off_mmap = off_mods + (size_t)nr_mods * MB_MOD_SIZE;
    info_size = off_mmap + (size_t)nr_map * MB_MMAP_ENTRY_SIZE;
    if (!mb_allocate(&st, info_size, KESTREL_PAGE_SIZE, kernel_end, &info_addr)) {
        error_setg(errp, "could not load kernel '%s': no room in guest RAM for the multiboot "
                   "information (%zu bytes)", st.filename, info_size);
        goto fail;
    }
    info = mb_build_info(&st, (uint32_t)info_addr, cmdline, mods, nr_mods, map, nr_map,
                         info_size, off_cmdline, off_name, off_mod_strings, off_mods, off_mmap);
    x86_boot_plan_add_blob(st.plan, "multiboot information", info_addr, info, 0);
    g_bytes_unref(info);

    st.plan->entry = entry;
    st.plan->eax = MULTIBOOT_BOOTLOADER_MAGIC;
    st.plan->ebx = (uint32_t)info_addr;
    g_free(st.plan->cmdline);
    st.plan->cmdline = g_strdup(opts->kernel_cmdline ? opts->kernel_cmdline : "");
    st.plan->cmdline_addr = (uint32_t)info_addr + (uint32_t)off_cmdline;
    return st.plan;

fail:
    x86_boot_plan_free(st.plan);
    return NULL;
}
