/*
 * Linux bzImage loader (x86 boot protocol 2.06+, 32-bit entry).
 *
 * The image is untrusted input: every header field that decides a size or
 * an address is checked against the file and against guest RAM, in 64-bit
 * arithmetic, before anything is planned. The result is an X86BootPlan; the
 * boot_params page is built here and only written to guest RAM when the plan
 * is applied (at every reset).
 *
 * Why the 32-bit entry: it needs no real-mode code to run (there is no BIOS
 * yet), only a zero page, and works for every bzImage since protocol 2.00.
 * The real-mode setup is still copied to 0x90000 with the patched header, so
 * fw_cfg's setup item describes what a 16-bit loader would see.
 */
#include "hw/i386/linux-boot.h"
#include "hw/i386/pc.h"

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ld64(const uint8_t *p)
{
    return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static void st16(uint8_t *p, uint16_t v)
{
    p[0] = v; p[1] = v >> 8;
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

bool linux_boot_probe(const uint8_t *image, size_t len, char **why_not)
{
    if (len >= LINUX_HEADER + 4 && ld32(image + LINUX_HEADER) == LINUX_HDR_MAGIC) {
        return true;
    }
    if (why_not) {
        bool boot_sector = len >= LINUX_BOOT_FLAG + 2 &&
                           ld16(image + LINUX_BOOT_FLAG) == LINUX_BOOT_FLAG_MAGIC;
        *why_not = boot_sector
            ? g_strdup("Linux boot sector without a setup header: boot protocol older than "
                       "2.00, 2.06 or later needed")
            : g_strdup("no Linux setup header ('HdrS' at offset 0x202)");
    }
    return false;
}

/* A flat 4 GiB descriptor: base 0, limit 0xfffff pages, 32-bit, present,
 * DPL 0, with the given type (code execute/read or data read/write). */
static uint64_t flat_descriptor(unsigned type)
{
    return 0xffffULL |                       /* limit 15:0 */
           (uint64_t)(type | 0x10 | 0x80) << 40 |   /* type, S=1, P=1 */
           0xfULL << 48 |                    /* limit 19:16 */
           (uint64_t)0xc << 52;              /* D/B=1, G=1 */
}

static GBytes *linux_boot_build_gdt(void)
{
    uint8_t *gdt = g_malloc0(LINUX_BOOT_GDT_SIZE);

    /* Entries 0 and 1 (selectors 0x00, 0x08) stay null; the protocol names
     * 0x10 (__BOOT_CS) and 0x18 (__BOOT_DS). */
    st64(gdt + 0x10, flat_descriptor(0xb));   /* code: execute/read, accessed */
    st64(gdt + 0x18, flat_descriptor(0x3));   /* data: read/write, accessed */
    return g_bytes_new_take(gdt, LINUX_BOOT_GDT_SIZE);
}

X86BootPlan *linux_boot_load(const X86KernelLoadOptions *opts, GBytes *image, GError **errp)
{
    const char *fn = opts->kernel_filename;
    const uint64_t below = opts->layout.below_4g_mem_size;
    size_t len;
    const uint8_t *data = g_bytes_get_data(image, &len);
    const char *cmdline = opts->kernel_cmdline ? opts->kernel_cmdline : "";
    size_t cmdline_len = strlen(cmdline);
    unsigned protocol, setup_sects;
    uint64_t setup_len, hdr_end, prot_needed, prot_len, image_end, kernel_end;
    uint64_t cmdline_max, initrd_max, initrd_addr = 0, initrd_size = 0;
    uint64_t runtime_start = 0, init_size = 0;
    g_autoptr(GBytes) initrd = NULL;
    E820Entry map[PC_MAX_E820_ENTRIES];
    unsigned nr_map;
    uint8_t *bp, *setup;
    X86BootPlan *plan;
    GBytes *blob;

    if (len < LINUX_VERSION + 2) {
        error_setg(errp, "could not load kernel '%s': file truncated inside the Linux setup "
                   "header (%zu bytes)", fn, len);
        return NULL;
    }
    protocol = ld16(data + LINUX_VERSION);
    if (protocol < LINUX_MIN_PROTOCOL) {
        error_setg(errp, "could not load kernel '%s': Linux boot protocol %u.%02u is too old "
                   "(2.06 or later needed)", fn, protocol >> 8, protocol & 0xff);
        return NULL;
    }
    setup_sects = data[LINUX_SETUP_SECTS] ? data[LINUX_SETUP_SECTS] : 4;
    setup_len = (uint64_t)(setup_sects + 1) * 512;   /* boot sector + setup */
    /* The header's own length: 0x202 plus the jump's displacement byte. */
    hdr_end = MIN((uint64_t)LINUX_HEADER + data[LINUX_JUMP + 1], LINUX_SETUP_HEADER_LIMIT);
    if (len < hdr_end || len < LINUX_CMDLINE_SIZE + 4) {
        error_setg(errp, "could not load kernel '%s': file truncated inside the Linux setup "
                   "header (%zu bytes)", fn, len);
        return NULL;
    }
    if (hdr_end < LINUX_CMDLINE_SIZE + 4) {
        error_setg(errp, "could not load kernel '%s': Linux setup header ends at 0x%" PRIx64
                   ", too short for boot protocol %u.%02u", fn, hdr_end,
                   protocol >> 8, protocol & 0xff);
        return NULL;
    }
    if (!(data[LINUX_LOADFLAGS] & LINUX_LOADED_HIGH)) {
        error_setg(errp, "could not load kernel '%s': not a bzImage (a zImage: loadflags "
                   "lack LOADED_HIGH, it must be loaded below 1 MiB)", fn);
        return NULL;
    }
    prot_needed = (uint64_t)ld32(data + LINUX_SYSSIZE) * 16;
    if (len <= setup_len || len - setup_len < prot_needed) {
        error_setg(errp, "could not load kernel '%s': file truncated (%" PRIu64 " bytes of "
                   "setup and %" PRIu64 " bytes of kernel expected, file has %zu bytes)",
                   fn, setup_len, prot_needed, len);
        return NULL;
    }
    if (setup_len > LINUX_BOOT_HEAP_END - 0x200) {
        error_setg(errp, "could not load kernel '%s': real-mode setup of %u sectors does "
                   "not fit its 64 KiB segment with a heap", fn, setup_sects);
        return NULL;
    }
    /* Everything after the setup is the protected-mode kernel (trailing
     * signatures included, harmless). */
    prot_len = len - setup_len;

    /* RAM the kernel occupies before it can read the memory map: the
     * image at 1 MiB and, from 2.10, init_size bytes from where it will
     * run (the load address rounded up to kernel_alignment, but never
     * below pref_address, the address it was linked for). */
    image_end = LINUX_BOOT_KERNEL_ADDR + prot_len;
    kernel_end = image_end;
    if (protocol >= 0x020a && hdr_end >= LINUX_INIT_SIZE + 4) {
        uint64_t align = ld32(data + LINUX_KERNEL_ALIGNMENT);
        uint64_t pref = ld64(data + LINUX_PREF_ADDRESS);

        runtime_start = LINUX_BOOT_KERNEL_ADDR;
        if (data[LINUX_RELOCATABLE_KERNEL] && align != 0 && (align & (align - 1)) == 0) {
            runtime_start = KESTREL_ALIGN_UP(runtime_start, align);
        }
        runtime_start = MAX(runtime_start, pref);
        init_size = ld32(data + LINUX_INIT_SIZE);
        if (runtime_start < 0x100000000ULL) {
            kernel_end = MAX(kernel_end, runtime_start + init_size);
        } else {
            init_size = 0;   /* runs above 4 GiB: nothing to avoid below */
        }
    }
    if (below < LINUX_BOOT_KERNEL_ADDR + prot_len) {
        error_setg(errp, "could not load kernel '%s': the %" PRIu64 "-byte kernel at 1 MiB "
                   "does not fit in guest RAM (RAM below 4 GiB ends at 0x%" PRIx64 ")",
                   fn, prot_len, below);
        return NULL;
    }
    if (below < kernel_end) {
        error_setg(errp, "could not load kernel '%s': the kernel needs RAM up to 0x%" PRIx64
                   " while it starts (init_size 0x%" PRIx64 " from 0x%" PRIx64 "), but RAM "
                   "below 4 GiB ends at 0x%" PRIx64 "; give the guest more memory (-m)",
                   fn, kernel_end, init_size, runtime_start, below);
        return NULL;
    }

    /* cmdline_size excludes the NUL; our window bounds it too. */
    cmdline_max = MIN((uint64_t)ld32(data + LINUX_CMDLINE_SIZE), LINUX_BOOT_CMDLINE_MAX - 1);
    if (cmdline_len > cmdline_max) {
        error_setg(errp, "could not load kernel '%s': the command line (-append) is %zu "
                   "bytes, the kernel accepts at most %" PRIu64, fn, cmdline_len, cmdline_max);
        return NULL;
    }

    /* The initrd goes as high as the kernel allows, page-aligned, clear of
     * the image at 1 MiB and of the area the kernel decompresses into. */
    if (opts->initrd_filename && opts->initrd_filename[0]) {
        uint64_t top;
        bool fits = false;

        initrd = x86_boot_read_file("initrd", opts->initrd_filename, below, errp);
        if (initrd == NULL) {
            return NULL;
        }
        initrd_size = g_bytes_get_size(initrd);
        initrd_max = ld32(data + LINUX_INITRD_ADDR_MAX);
        top = MIN(initrd_max + 1, below);
        if (initrd_size <= top) {
            initrd_addr = KESTREL_ALIGN_DOWN(top - initrd_size, KESTREL_PAGE_SIZE);
            if (init_size && initrd_addr < runtime_start + init_size &&
                initrd_addr + initrd_size > runtime_start) {
                /* Overlaps the decompression area: try just below it. */
                initrd_addr = initrd_size <= runtime_start
                    ? KESTREL_ALIGN_DOWN(runtime_start - initrd_size, KESTREL_PAGE_SIZE) : 0;
            }
            fits = initrd_addr >= image_end;
        }
        if (!fits) {
            g_autofree char *decompress = init_size
                ? g_strdup_printf(", decompressing at 0x%" PRIx64 "-0x%" PRIx64,
                                  runtime_start, runtime_start + init_size)
                : g_strdup("");
            error_setg(errp, "could not load initrd '%s': %" PRIu64 " bytes do not fit in "
                       "guest RAM below 0x%" PRIx64 " (%s) without overlapping the kernel "
                       "(0x%x-0x%" PRIx64 "%s)", opts->initrd_filename, initrd_size, top,
                       top == below ? "end of RAM below 4 GiB" : "the kernel's initrd_addr_max",
                       LINUX_BOOT_KERNEL_ADDR, image_end, decompress);
            return NULL;
        }
    }

    /* The zero page: zeroed, the image's setup header copied in, then the
     * loader's fields. */
    bp = g_malloc0(LINUX_BP_SIZE);
    memcpy(bp + LINUX_SETUP_SECTS, data + LINUX_SETUP_SECTS, hdr_end - LINUX_SETUP_SECTS);
    bp[LINUX_TYPE_OF_LOADER] = LINUX_TYPE_OF_LOADER_UNDEFINED;
    bp[LINUX_LOADFLAGS] |= LINUX_CAN_USE_HEAP;
    st16(bp + LINUX_HEAP_END_PTR, LINUX_BOOT_HEAP_END - 0x200);
    st32(bp + LINUX_CODE32_START, LINUX_BOOT_KERNEL_ADDR);
    st32(bp + LINUX_CMD_LINE_PTR, LINUX_BOOT_CMDLINE_ADDR);
    st32(bp + LINUX_RAMDISK_IMAGE, (uint32_t)initrd_addr);
    st32(bp + LINUX_RAMDISK_SIZE, (uint32_t)initrd_size);
    st64(bp + LINUX_BP_ACPI_RSDP_ADDR, opts->acpi_rsdp_addr);
    st32(bp + LINUX_BP_ALT_MEM_K, (uint32_t)((below - PC_HIGH_RAM_BASE) / 1024));
    nr_map = x86_memory_layout_e820(&opts->layout, map, PC_MAX_E820_ENTRIES);
    bp[LINUX_BP_E820_ENTRIES] = (uint8_t)nr_map;
    for (unsigned i = 0; i < nr_map; i++) {
        uint8_t *ent = bp + LINUX_BP_E820_TABLE + i * LINUX_BP_E820_ENTRY_SIZE;
        st64(ent, map[i].addr);
        st64(ent + 8, map[i].len);
        st32(ent + 16, map[i].type);
    }

    /* The real-mode part as a 16-bit loader would leave it. */
    setup = g_memdup2(data, setup_len);
    memcpy(setup + LINUX_SETUP_SECTS, bp + LINUX_SETUP_SECTS, hdr_end - LINUX_SETUP_SECTS);

    plan = x86_boot_plan_new("linux");
    blob = linux_boot_build_gdt();
    x86_boot_plan_add_blob(plan, "boot GDT", LINUX_BOOT_GDT_ADDR, blob, 0);
    g_bytes_unref(blob);
    blob = g_bytes_new_take(bp, LINUX_BP_SIZE);
    x86_boot_plan_add_blob(plan, "Linux boot_params", LINUX_BOOT_PARAMS_ADDR, blob, 0);
    g_bytes_unref(blob);
    blob = g_bytes_new(cmdline, cmdline_len + 1);
    x86_boot_plan_add_blob(plan, "kernel command line", LINUX_BOOT_CMDLINE_ADDR, blob, 0);
    g_bytes_unref(blob);
    plan->setup_file = g_bytes_new_take(setup, setup_len);
    plan->setup_addr = LINUX_BOOT_SETUP_ADDR;
    x86_boot_plan_add_blob(plan, "Linux real-mode setup", LINUX_BOOT_SETUP_ADDR,
                           plan->setup_file, 0);
    plan->kernel_file = g_bytes_new_from_bytes(image, setup_len, prot_len);
    plan->kernel_load_addr = LINUX_BOOT_KERNEL_ADDR;
    x86_boot_plan_add_blob(plan, "Linux kernel", LINUX_BOOT_KERNEL_ADDR, plan->kernel_file, 0);
    if (initrd) {
        plan->initrd_file = g_bytes_ref(initrd);
        plan->initrd_addr = (uint32_t)initrd_addr;
        x86_boot_plan_add_blob(plan, "initrd", initrd_addr, initrd, 0);
    }

    g_free(plan->cmdline);
    plan->cmdline = g_strdup(cmdline);
    plan->cmdline_addr = LINUX_BOOT_CMDLINE_ADDR;
    plan->entry = LINUX_BOOT_KERNEL_ADDR;
    plan->esi = LINUX_BOOT_PARAMS_ADDR;
    plan->gdt_base = LINUX_BOOT_GDT_ADDR;
    plan->gdt_limit = LINUX_BOOT_GDT_SIZE - 1;
    return plan;
}
