/*
 * demo: the default guest of the Kestrel demo. Prints a banner naming the
 * CPU mode, then a visible memory test (address in address, four passes with
 * progress bars) over the RAM the multiboot memory map reports between
 * 2 MiB and 4 GiB (the range the runtime identity-maps), a summary, and
 * exits with code 0 (1 if the memory test found errors).
 *
 * The output does not depend on where the loader put things: the RAM size is
 * the sum of the available memory-map entries rounded up to 2 MiB, and the
 * progress bars have a fixed number of steps.
 */
#include "runtime.h"
#include "memtest.h"

#define MiB (1024ull * 1024)
#define TEST_START (2 * MiB)                 /* above the image and its tables */
#define TEST_END   (4096 * MiB)              /* identity-mapped by crt0-64.S */
#define MAX_RANGES 32
#define BAR_STEPS  20

struct range {
    uint64_t start, end;
};

static struct range ranges[MAX_RANGES];
static unsigned range_count;
static uint64_t available_total;
static bool too_many_ranges;
static bool above_window;

static void collect(uint64_t addr, uint64_t len, uint32_t type, void *opaque)
{
    if (type != MB_MMAP_AVAILABLE) {
        return;
    }
    available_total += len;
    uint64_t start = addr, end = addr + len;
    /* Whole pages only, within the tested window. */
    start = (start + 4095) & ~4095ull;
    end &= ~4095ull;
    if (start < TEST_START) {
        start = TEST_START;
    }
    if (end > TEST_END) {
        above_window = true;
        end = TEST_END;
    }
    if (start >= end) {
        return;
    }
    if (range_count == MAX_RANGES) {
        too_many_ranges = true;
        return;
    }
    ranges[range_count++] = (struct range){ start, end };
}

/* Runs one pass over all ranges, drawing a bar of BAR_STEPS marks. */
static void run_pass(int pass, uint64_t total, struct memtest_report *r)
{
    printf("pass %d/%d %-18s [", pass + 1, MEMTEST_AIA_PASSES, memtest_aia_pass_names[pass]);
    uint64_t done = 0;
    int marks = 0;
    for (unsigned i = 0; i < range_count; i++) {
        for (uint64_t at = ranges[i].start; at < ranges[i].end;) {
            uint64_t piece = ranges[i].end - at;
            if (piece > MiB) {
                piece = MiB;
            }
            memtest_aia_pass(at, piece, pass, r);
            at += piece;
            done += piece;
            while (marks < BAR_STEPS && done * BAR_STEPS >= total * (uint64_t)(marks + 1)) {
                putchar_serial('#');
                marks++;
            }
        }
    }
    while (marks++ < BAR_STEPS) {
        putchar_serial('#');
    }
    printf("] %s\n", (pass & 1) ? (r->errors ? "errors" : "ok") : "done");
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    printf("\n");
    printf("  +----------------------------------------------+\n");
    printf("  |              Kestrel demo guest              |\n");
    printf("  |   64-bit long mode, 4-level paging, ring 0   |\n");
    printf("  +----------------------------------------------+\n\n");

    if (!multiboot_mmap_foreach(mbi, collect, NULL)) {
        panic("the loader gave no usable memory map");
    }
    if (too_many_ranges) {
        panic("more than %d available memory ranges", MAX_RANGES);
    }
    uint64_t tested = 0;
    for (unsigned i = 0; i < range_count; i++) {
        tested += ranges[i].end - ranges[i].start;
    }
    uint64_t ram_mib = ((available_total + 2 * MiB - 1) & ~(2 * MiB - 1)) / MiB;
    printf("RAM reported by the boot loader: %llu MiB\n", (unsigned long long)ram_mib);
    printf("memory test: address in address, 4 passes over the RAM above 2 MiB\n");
    if (above_window) {
        printf("(RAM above 4 GiB is not mapped and not tested)\n");
    }
    if (!tested) {
        panic("no RAM to test above 2 MiB: give the guest more memory (-m)");
    }

    struct memtest_report report = { 0 };
    for (int pass = 0; pass < MEMTEST_AIA_PASSES; pass++) {
        run_pass(pass, tested, &report);
    }
    bool ok = memtest_print("memory test", &report);
    printf("\nKestrel demo guest: %s, exiting with code %d\n",
           ok ? "all done" : "memory errors found", ok ? 0 : 1);
    return ok ? 0 : 1;
}
