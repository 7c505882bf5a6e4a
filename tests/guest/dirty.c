/*
 * dirty: writes a known pattern to known pages, then exits with code 0.
 * Dirty-page tracking tests (the functional test dirty-log with
 * -debug-dirty-log, and the KVM harness) check that exactly these pages
 * show up as written:
 *
 *   written:   every 4 KiB page of 0x800000-0x80ffff (16 pages)
 *              the page 0xa00000-0xa00fff
 *   untouched: the page 0x900000-0x900fff (neither read nor written)
 *
 * Every 32-bit word at physical address A in a written page receives
 * A ^ 0xd1a7d1a7 ("dirty"). The payload reads the pattern back, and prints
 * the ranges in the form the tests parse: "dirty: wrote 0xSTART-0xEND" and
 * "dirty: untouched 0xSTART-0xEND" (END inclusive). Besides these pages the
 * payload only writes its own image (stack, data) around 1 MiB. Needs -m 16
 * or more.
 */
#include "runtime.h"

#define PAGE 0x1000u
#define PATTERN_KEY 0xd1a7d1a7u

struct range {
    uint32_t start, end;         /* end exclusive */
};

static const struct range written[] = {
    { 0x800000, 0x810000 },
    { 0xa00000, 0xa01000 },
};
static const struct range untouched = { 0x900000, 0x901000 };

static void write_pattern(const struct range *r)
{
    for (uint32_t a = r->start; a < r->end; a += 4) {
        *(volatile uint32_t *)phys_to_ptr(a) = a ^ PATTERN_KEY;
    }
}

static bool pattern_holds(const struct range *r)
{
    for (uint32_t a = r->start; a < r->end; a += 4) {
        uint32_t got = *(volatile uint32_t *)phys_to_ptr(a);
        if (got != (a ^ PATTERN_KEY)) {
            printf("dirty: FAIL: 0x%x holds 0x%x, expected 0x%x\n", a, got, a ^ PATTERN_KEY);
            return false;
        }
    }
    return true;
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    unsigned n = sizeof(written) / sizeof(written[0]);
    for (unsigned i = 0; i < n; i++) {
        if (!multiboot_range_is_ram(mbi, written[i].start, written[i].end)) {
            panic("0x%x-0x%x is not RAM: run with -m 16 or more",
                  written[i].start, written[i].end - 1);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        write_pattern(&written[i]);
    }
    bool ok = true;
    for (unsigned i = 0; i < n; i++) {
        uint32_t pages = (written[i].end - written[i].start) / PAGE;
        printf("dirty: wrote 0x%x-0x%x (%u page%s)\n", written[i].start,
               written[i].end - 1, pages, pages == 1 ? "" : "s");
        ok &= pattern_holds(&written[i]);
    }
    printf("dirty: untouched 0x%x-0x%x\n", untouched.start, untouched.end - 1);
    printf("dirty: %s\n", ok ? "pattern verified" : "pattern check failed");
    return ok ? 0 : 1;
}
