/*
 * multiboot: checks what the multiboot v1 loader handed over and prints it
 * in a form that does not depend on where things were placed, so the same
 * .expected holds for every correct loader.
 *
 * Command-line keys (from -append):
 *   expect_mem=N   the guest's -m in MiB; enables the mem_upper and memory
 *                  map consistency checks.
 *
 * Each check prints "<what>: ok" or "<what>: FAIL (<details>)"; the exit
 * code is the number of failed checks (0: all passed).
 */
#include "runtime.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define LOW_HOLE_START 0xa0000ull      /* VGA window and BIOS area: never RAM */
#define LOW_HOLE_END   0x100000ull
/* Firmware may reserve a little RAM (EBDA, ACPI tables) out of -m. */
#define RAM_SLACK      (2 * MiB)

static unsigned failures;

/* Must still be zero at entry: the loader zeroes the ELF's bss. */
static uint32_t bss_canary[1024];

static void check(const char *what, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check(const char *what, bool ok, const char *fmt, ...)
{
    if (ok) {
        printf("%s: ok\n", what);
        return;
    }
    failures++;
    printf("%s: FAIL (", what);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(")\n");
}

static uint32_t fnv1a(const uint8_t *p, uint32_t len)
{
    uint32_t h = 0x811c9dc5u;
    for (uint32_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x01000193u;
    }
    return h;
}

static bool overlaps(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end)
{
    return a_start < b_end && b_start < a_end;
}

/* Walks the memory map; false if an entry is malformed. */
typedef void (*mmap_fn)(const struct multiboot_mmap_entry *e, void *opaque);

static bool mmap_walk(const struct multiboot_info *mbi, mmap_fn fn, void *opaque)
{
    uint64_t p = mbi->mmap_addr;
    uint64_t end = (uint64_t)mbi->mmap_addr + mbi->mmap_length;
    while (p < end) {
        const struct multiboot_mmap_entry *e = phys_to_ptr((uint32_t)p);
        if (e->size < 20 || p + 4 + e->size > end) {
            return false;
        }
        fn(e, opaque);
        p += 4 + e->size;
    }
    return true;
}

struct mmap_facts {
    unsigned entries;
    uint64_t available_total;
    bool low_available_from_zero;
    bool hole_is_available;
    uint64_t high_available_end;     /* end of the available entry starting at 1 MiB */
};

static void mmap_collect(const struct multiboot_mmap_entry *e, void *opaque)
{
    struct mmap_facts *f = opaque;
    f->entries++;
    if (e->type != MB_MMAP_AVAILABLE) {
        return;
    }
    uint64_t end = e->addr + e->len;
    f->available_total += e->len;
    if (e->addr == 0 && e->len >= 512 * KiB) {
        f->low_available_from_zero = true;
    }
    if (overlaps(e->addr, end, LOW_HOLE_START, LOW_HOLE_END)) {
        f->hole_is_available = true;
    }
    if (e->addr == LOW_HOLE_END) {
        f->high_available_end = end;
    }
}

static const char *basename_of(const char *path, size_t len, size_t *out_len)
{
    const char *base = path;
    for (size_t i = 0; i < len; i++) {
        if (path[i] == '/') {
            base = path + i + 1;
        }
    }
    *out_len = len - (size_t)(base - path);
    return base;
}

/* Prints "<basename of the first word>" and "<the rest>" of a loader
 * string "PATH ARGS" (QEMU's form for both the command line and modules). */
static void print_path_and_args(const char *label, const char *s)
{
    size_t first = 0;
    while (s[first] && s[first] != ' ') {
        first++;
    }
    size_t base_len;
    const char *base = basename_of(s, first, &base_len);
    const char *rest = s[first] ? s + first + 1 : "";
    printf("%s: file \"", label);
    for (size_t i = 0; i < base_len; i++) {
        putchar_serial(base[i]);
    }
    printf("\", arguments \"%s\"\n", rest);
}

/* Prints the first line of a module that holds text, escaped. */
static void print_first_line(unsigned index, const uint8_t *p, uint32_t len)
{
    printf("module %u first line: \"", index);
    for (uint32_t i = 0; i < len && i < 60 && p[i] != '\n'; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            putchar_serial((char)p[i]);
        } else {
            printf("\\x%02x", p[i]);
        }
    }
    printf("\"\n");
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    uint64_t image_start = (uintptr_t)_image_start;
    uint64_t image_end = (uintptr_t)_image_end;
    uint64_t mbi_addr = (uintptr_t)mbi;

    printf("multiboot: magic 0x%x\n", mb_magic);

    bool bss_zero = true;
    for (unsigned i = 0; i < sizeof(bss_canary) / sizeof(bss_canary[0]); i++) {
        bss_zero &= bss_canary[i] == 0;
    }
    check("bss zeroed by the loader", bss_zero, "found non-zero bytes");
    check("information structure outside the image",
          !overlaps(mbi_addr, mbi_addr + sizeof(*mbi), image_start, image_end),
          "mbi at 0x%lx", (unsigned long)mbi_addr);

    check("flags: memory", mbi->flags & MB_INFO_MEMORY, "flags 0x%x", mbi->flags);
    check("flags: memory map", mbi->flags & MB_INFO_MEM_MAP, "flags 0x%x", mbi->flags);

    uint64_t expect_mem = cmdline_uint(mbi, "expect_mem", 0) * MiB;

    if (mbi->flags & MB_INFO_MEMORY) {
        check("mem_lower between 512 and 640 KiB",
              mbi->mem_lower >= 512 && mbi->mem_lower <= 640,
              "mem_lower %u KiB", mbi->mem_lower);
        if (expect_mem) {
            uint64_t top = LOW_HOLE_END + mbi->mem_upper * KiB;
            uint64_t want = expect_mem < 3072 * MiB ? expect_mem : 3072 * MiB;
            /* Above 3 GiB the PCI hole may start anywhere; only bound it. */
            bool ok = expect_mem < 3072 * MiB ? (top <= want && top + RAM_SLACK >= want)
                                              : (top <= 4096 * MiB && top >= 2048 * MiB);
            check("mem_upper consistent with expect_mem", ok,
                  "1 MiB + mem_upper = 0x%llx, -m = 0x%llx",
                  (unsigned long long)top, (unsigned long long)expect_mem);
        }
    }

    if (mbi->flags & MB_INFO_MEM_MAP) {
        struct mmap_facts f = { 0 };
        bool well_formed = mmap_walk(mbi, mmap_collect, &f) && f.entries > 0;
        check("memory map well formed", well_formed, "%u entries, length %u",
              f.entries, mbi->mmap_length);
        check("memory map: available RAM from 0", f.low_available_from_zero,
              "no available entry at 0 of at least 512 KiB");
        check("memory map: no available RAM in 0xa0000-0xfffff", !f.hole_is_available,
              "an available entry overlaps the hole");
        check("memory map: available RAM from 1 MiB", f.high_available_end > LOW_HOLE_END,
              "no available entry at 0x100000");
        if (mbi->flags & MB_INFO_MEMORY) {
            check("memory map agrees with mem_upper",
                  f.high_available_end >= LOW_HOLE_END + mbi->mem_upper * KiB,
                  "entry at 1 MiB ends at 0x%llx, mem_upper %u KiB",
                  (unsigned long long)f.high_available_end, mbi->mem_upper);
        }
        if (expect_mem) {
            check("memory map: available RAM consistent with expect_mem",
                  f.available_total <= expect_mem &&
                  f.available_total + RAM_SLACK >= expect_mem,
                  "available 0x%llx, -m 0x%llx",
                  (unsigned long long)f.available_total, (unsigned long long)expect_mem);
        }
        check("memory map: the image is in available RAM",
              multiboot_range_is_ram(mbi, image_start, image_end),
              "image 0x%llx-0x%llx", (unsigned long long)image_start,
              (unsigned long long)image_end);
    }

    if ((mbi->flags & MB_INFO_CMDLINE) && mbi->cmdline) {
        print_path_and_args("cmdline", phys_to_ptr(mbi->cmdline));
    } else {
        printf("cmdline: none\n");
    }

    uint32_t mods = (mbi->flags & MB_INFO_MODS) ? mbi->mods_count : 0;
    printf("modules: %u\n", mods);
    if (mods > 16) {
        check("module count", false, "%u modules", mods);
        mods = 0;
    }
    const struct multiboot_module *mod = phys_to_ptr(mbi->mods_addr);
    for (uint32_t i = 0; i < mods; i++) {
        char label[64];
        snprintf(label, sizeof(label), "module %u", i);
        if (mod[i].string) {
            print_path_and_args(label, phys_to_ptr(mod[i].string));
        } else {
            printf("%s: no string\n", label);
        }
        uint32_t start = mod[i].mod_start, end = mod[i].mod_end;
        bool sane = end >= start && multiboot_range_is_ram(mbi, start, end);
        snprintf(label, sizeof(label), "module %u in available RAM", i);
        check(label, sane, "0x%x-0x%x", start, end);
        if (!sane) {
            continue;
        }
        snprintf(label, sizeof(label), "module %u page aligned", i);
        check(label, (start & 0xfff) == 0, "starts at 0x%x", start);
        snprintf(label, sizeof(label), "module %u outside the image", i);
        check(label, !overlaps(start, end, image_start, image_end), "0x%x-0x%x", start, end);
        bool disjoint = true;
        for (uint32_t j = 0; j < i; j++) {
            disjoint &= !overlaps(start, end, mod[j].mod_start, mod[j].mod_end);
        }
        snprintf(label, sizeof(label), "module %u disjoint from earlier ones", i);
        check(label, disjoint, "0x%x-0x%x", start, end);
        const uint8_t *data = phys_to_ptr(start);
        printf("module %u size %u fnv1a 0x%08x\n", i, end - start, fnv1a(data, end - start));
        print_first_line(i, data, end - start);
    }

    if (failures) {
        printf("result: %u checks failed\n", failures);
    } else {
        printf("result: all checks passed\n");
    }
    return failures > 60 ? 60 : (int)failures;
}
