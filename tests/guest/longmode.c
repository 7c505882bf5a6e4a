/*
 * longmode: 64-bit paging and memory.
 *
 * crt0-64.S entered long mode with 2 MiB identity pages over 4 GiB. Here,
 * in 64-bit C, we
 *  1. check that long mode is really active (EFER.LMA, CR0.PG, CR4.PAE) and
 *     that 64-bit arithmetic keeps the upper halves;
 *  2. replace the first 2 MiB (where this code runs) with 512 identity
 *     4 KiB pages and keep running;
 *  3. build non-identity mappings at VIRT_WINDOW (512 GiB, PML4 slot 1):
 *     a writable 4 KiB page and a read-only alias of the same physical page,
 *     a 2 MiB page, and a remap of a low 4 KiB page; write through one
 *     mapping, read through the others; check accessed/dirty bits and that
 *     INVLPG makes a changed mapping visible;
 *  4. run walking ones/zeros and address-in-address over MEMTEST_BASE..+32 MiB.
 * Needs at least 64 MiB of RAM (run with -m 128). Exit code 0 on success,
 * 1 if any check failed.
 */
#include "runtime.h"
#include "paging64.h"
#include "memtest.h"

#define MiB (1024ull * 1024)
#define MEMTEST_BASE   (4 * MiB)
#define MEMTEST_SIZE   (32 * MiB)
#define PHYS_PAGE_A    0x2800000ull      /* 40 MiB */
#define PHYS_PAGE_B    0x2801000ull
#define PHYS_LARGE     0x2a00000ull      /* 42 MiB, 2 MiB aligned */
#define LOW_REMAP_VA   0x1f0000ull       /* in the first 2 MiB, above the image */
#define VIRT_WINDOW    0x0000008000000000ull
#define VA_RW          (VIRT_WINDOW)                 /* -> PHYS_PAGE_A, writable */
#define VA_RO          (VIRT_WINDOW + 0x1000)        /* -> PHYS_PAGE_A, read-only */
#define VA_LARGE       (VIRT_WINDOW + 2 * MiB)       /* 2 MiB page -> PHYS_LARGE */

static uint64_t low_page_table[512] __attribute__((aligned(4096)));
static uint64_t window_pdpt[512] __attribute__((aligned(4096)));
static uint64_t window_pd[512] __attribute__((aligned(4096)));
static uint64_t window_pt[512] __attribute__((aligned(4096)));

static unsigned failures;

static void check(const char *what, bool ok)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
    failures += !ok;
}

static volatile uint64_t *va(uint64_t addr)
{
    return (volatile uint64_t *)(uintptr_t)addr;
}

static uint64_t pattern(uint64_t i, uint64_t seed)
{
    return (i * 0x9e3779b97f4a7c15ull) ^ seed;
}

static void fill(uint64_t addr, uint64_t seed)
{
    for (uint64_t i = 0; i < 512; i++) {
        va(addr)[i] = pattern(i, seed);
    }
}

static bool holds(uint64_t addr, uint64_t seed)
{
    for (uint64_t i = 0; i < 512; i++) {
        if (va(addr)[i] != pattern(i, seed)) {
            printf("  mismatch at 0x%llx word %llu: 0x%016llx, expected 0x%016llx\n",
                   (unsigned long long)addr, (unsigned long long)i,
                   (unsigned long long)va(addr)[i], (unsigned long long)pattern(i, seed));
            return false;
        }
    }
    return true;
}

static void flush_tlb(void)
{
    write_cr3(read_cr3());
}

static void check_long_mode(void)
{
    check("EFER.LMA set (long mode active)", rdmsr(MSR_EFER) & EFER_LMA);
    check("CR0.PG and CR4.PAE set", (read_cr0() >> 31) & (read_cr4() >> 5) & 1);
    volatile uint64_t x = 0xfedcba9876543210ull;
    x += 0x0123456789abcdefull;
    volatile uint64_t y = x;
    y = (y << 4) | (y >> 60);
    check("64-bit arithmetic", x == 0xffffffffffffffffull && y == 0xffffffffffffffffull);
    volatile uint64_t z = 0x8000000000000000ull;
    check("64-bit shifts", (z >> 63) == 1 && (int64_t)z >> 63 == -1);
}

static void use_small_pages_low(void)
{
    for (uint64_t i = 0; i < 512; i++) {
        low_page_table[i] = (i * PAGE_SIZE) | PTE_PRESENT | PTE_WRITABLE;
    }
    page_directories[0] = (uintptr_t)low_page_table | PTE_PRESENT | PTE_WRITABLE;
    flush_tlb();
    /* Still alive, and data in the image reads the same. */
    static volatile uint64_t marker = 0x1122334455667788ull;
    check("first 2 MiB mapped with 4 KiB pages", marker == 0x1122334455667788ull);
}

static void check_window_mappings(void)
{
    window_pt[0] = PHYS_PAGE_A | PTE_PRESENT | PTE_WRITABLE;
    window_pt[1] = PHYS_PAGE_A | PTE_PRESENT;                  /* read-only alias */
    window_pd[0] = (uintptr_t)window_pt | PTE_PRESENT | PTE_WRITABLE;
    window_pd[1] = PHYS_LARGE | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE;
    window_pdpt[0] = (uintptr_t)window_pd | PTE_PRESENT | PTE_WRITABLE;
    pml4[1] = (uintptr_t)window_pdpt | PTE_PRESENT | PTE_WRITABLE;
    flush_tlb();

    fill(PHYS_PAGE_A, 0);             /* known contents first, via the identity map */
    fill(PHYS_PAGE_B, 0x5555);
    fill(VA_RW, 0xa11ce);
    check("write via 0x8000000000, read physical 0x2800000", holds(PHYS_PAGE_A, 0xa11ce));
    check("read-only alias 0x8000001000 sees the same page", holds(VA_RO, 0xa11ce));
    fill(PHYS_PAGE_A, 0xb0b);
    check("write physical, read via 0x8000000000", holds(VA_RW, 0xb0b));
    check("neighbouring physical page untouched", holds(PHYS_PAGE_B, 0x5555));

    check("accessed and dirty set on the written mapping",
          (window_pt[0] & (PTE_ACCESSED | PTE_DIRTY)) == (PTE_ACCESSED | PTE_DIRTY));
    check("accessed set, dirty clear on the read-only alias",
          (window_pt[1] & (PTE_ACCESSED | PTE_DIRTY)) == PTE_ACCESSED);
    check("accessed set on the page-table entries above",
          (window_pd[0] & PTE_ACCESSED) && (window_pdpt[0] & PTE_ACCESSED) &&
          (pml4[1] & PTE_ACCESSED));

    /* Re-point the writable mapping and flush just that page. */
    window_pt[0] = PHYS_PAGE_B | PTE_PRESENT | PTE_WRITABLE;
    invlpg(va(VA_RW));
    check("INVLPG: 0x8000000000 now shows physical 0x2801000", holds(VA_RW, 0x5555));
    check("the alias still shows physical 0x2800000", holds(VA_RO, 0xb0b));

    /* A 2 MiB page in the window. */
    va(PHYS_LARGE + 0x12340)[0] = 0x0ddba11ull;
    va(VA_LARGE + 0x1ff000)[0] = 0xcafef00dull;
    check("2 MiB page at 0x8000200000 maps physical 0x2a00000",
          va(VA_LARGE + 0x12340)[0] == 0x0ddba11ull &&
          va(PHYS_LARGE + 0x1ff000)[0] == 0xcafef00dull);
    check("dirty set on the 2 MiB page",
          (window_pd[1] & (PTE_ACCESSED | PTE_DIRTY)) == (PTE_ACCESSED | PTE_DIRTY));

    /* A low 4 KiB page moved away from its identity mapping. */
    low_page_table[LOW_REMAP_VA / PAGE_SIZE] = PHYS_PAGE_A | PTE_PRESENT | PTE_WRITABLE;
    invlpg(va(LOW_REMAP_VA));
    fill(LOW_REMAP_VA, 0xc0ffee);
    check("low page 0x1f0000 remapped to physical 0x2800000", holds(VA_RO, 0xc0ffee));
    low_page_table[LOW_REMAP_VA / PAGE_SIZE] = LOW_REMAP_VA | PTE_PRESENT | PTE_WRITABLE;
    invlpg(va(LOW_REMAP_VA));
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    printf("longmode: 64-bit code running\n");
    if (!multiboot_range_is_ram(mbi, MEMTEST_BASE, PHYS_LARGE + 2 * MiB)) {
        panic("RAM 0x%llx-0x%llx is not available: run with -m 128",
              MEMTEST_BASE, PHYS_LARGE + 2 * MiB);
    }
    uint64_t mbi_addr = (uintptr_t)mbi;
    if (mbi_addr + sizeof(*mbi) > MEMTEST_BASE && mbi_addr < PHYS_LARGE + 2 * MiB) {
        panic("the multiboot information at 0x%llx is in the test area",
              (unsigned long long)mbi_addr);
    }
    if ((uintptr_t)_image_end > LOW_REMAP_VA) {
        panic("the image grew past 0x%llx", LOW_REMAP_VA);
    }

    check_long_mode();
    use_small_pages_low();
    check_window_mappings();

    struct memtest_report walking = { 0 }, addr = { 0 };
    memtest_walking_bits(MEMTEST_BASE, MEMTEST_SIZE, &walking);
    failures += !memtest_print("memtest 0x400000-0x2400000 walking ones/zeros", &walking);
    memtest_address_in_address(MEMTEST_BASE, MEMTEST_SIZE, &addr);
    failures += !memtest_print("memtest 0x400000-0x2400000 address in address", &addr);

    if (failures) {
        printf("longmode: %u checks failed\n", failures);
        return 1;
    }
    printf("longmode: all checks passed\n");
    return 0;
}
