/*
 * paging32: the two 32-bit paging modes, entered from the flat protected
 * mode the loader sets up.
 *
 * 2-level (CR4.PSE): 4 MiB pages identity-map 0-12 MiB; a page table maps
 * virtual 0xc00000 -> physical 0x900000 (writable), 0xc01000 -> 0x901000
 * (read-only), 0xc02000 not present. Checks aliasing, write-protect (CR0.WP)
 * and not-present faults with their CR2 and error codes, and the A/D bits.
 *
 * PAE (CR4.PAE, EFER.NXE): 2 MiB pages identity-map 0-12 MiB; a page table
 * maps 0xc00000 -> 0x900000, 0xc01000 -> 0x901000 with NX, 0xc02000 not
 * present. Checks aliasing, an instruction fetch from the NX page (#PF with
 * the I/D bit) while reads of it work, and a not-present fault.
 */
#include "runtime.h"

#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define MSR_EFER 0xc0000080u
#define EFER_NXE (1u << 11)

#define PTE_P  (1u << 0)
#define PTE_RW (1u << 1)
#define PTE_A  (1u << 5)
#define PTE_D  (1u << 6)
#define PTE_PS (1u << 7)
#define PTE_NX (1ull << 63)

#define ALIAS_VIRT 0xc00000u
#define ALIAS_PHYS 0x900000u
#define PF_VECTOR 14

static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint32_t pt32[1024] __attribute__((aligned(4096)));
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd_pae[512] __attribute__((aligned(4096)));
static uint64_t pt_pae[512] __attribute__((aligned(4096)));

static int failures;

static void check(const char *what, bool ok)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok) {
        failures++;
    }
}

static uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* Reads a byte at addr, expecting #PF; true if it faulted with that CR2/error. */
static bool read_faults(uintptr_t addr, uintptr_t error)
{
    uint32_t scratch = 0;
    expect_exception(PF_VECTOR);
    __asm__ volatile(ASM_SET_RESUME("1f") "movzbl (%1), %0\n1:"
                     : "+r"(scratch) : "r"(addr) : "memory", "cc");
    return expected_exception.taken && expected_exception.cr2 == addr &&
           expected_exception.error == error;
}

static bool write_faults(uintptr_t addr, uintptr_t error)
{
    expect_exception(PF_VECTOR);
    __asm__ volatile(ASM_SET_RESUME("1f") "movb $0x5a, (%0)\n1:"
                     : : "r"(addr) : "memory", "cc");
    return expected_exception.taken && expected_exception.cr2 == addr &&
           expected_exception.error == error;
}

static void fill_and_compare(const char *mode)
{
    volatile uint32_t *virt = (volatile uint32_t *)ALIAS_VIRT;
    volatile uint32_t *phys = (volatile uint32_t *)ALIAS_PHYS;
    char label[64];
    bool same = true;

    for (uint32_t i = 0; i < 1024; i++) {
        virt[i] = 0xa5000000u ^ (i * 0x01010101u);
    }
    for (uint32_t i = 0; i < 1024; i++) {
        same &= phys[i] == (0xa5000000u ^ (i * 0x01010101u));
    }
    snprintf(label, sizeof(label), "%s: 0xc00000 aliases physical 0x900000", mode);
    check(label, same);
}

static void test_two_level(void)
{
    for (uint32_t i = 0; i < 3; i++) {
        pd32[i] = (i << 22) | PTE_P | PTE_RW | PTE_PS;
    }
    pd32[ALIAS_VIRT >> 22] = (uint32_t)(uintptr_t)pt32 | PTE_P | PTE_RW;
    pt32[0] = ALIAS_PHYS | PTE_P | PTE_RW;
    pt32[1] = (ALIAS_PHYS + 0x1000) | PTE_P;          /* read-only */
    pt32[2] = 0;                                      /* not present */

    write_cr3((uint32_t)(uintptr_t)pd32);
    write_cr4(read_cr4() | CR4_PSE);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);

    fill_and_compare("2-level");
    check("2-level: accessed and dirty set on the written page",
          (pt32[0] & (PTE_A | PTE_D)) == (PTE_A | PTE_D));
    check("2-level: accessed set on the directory entry", (pd32[3] & PTE_A) != 0);
    check("2-level: read-only page is readable", *(volatile uint8_t *)(ALIAS_VIRT + 0x1000) ==
          *(volatile uint8_t *)(ALIAS_PHYS + 0x1000));
    check("2-level: dirty clear on the page only read", (pt32[1] & PTE_D) == 0);
    check("2-level: write to a read-only page with CR0.WP: #PF error 3",
          write_faults(ALIAS_VIRT + 0x1000, 0x3));
    check("2-level: read of a not-present page: #PF error 0",
          read_faults(ALIAS_VIRT + 0x2000, 0x0));
    check("2-level: write to a not-present page: #PF error 2",
          write_faults(ALIAS_VIRT + 0x2345, 0x2));

    write_cr0(read_cr0() & ~CR0_PG);
    write_cr4(read_cr4() & ~CR4_PSE);
}

static void test_pae(void)
{
    /* A `ret` the NX test tries to execute. */
    *(volatile uint8_t *)(ALIAS_PHYS + 0x1000) = 0xc3;

    for (uint32_t i = 0; i < 6; i++) {
        pd_pae[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS;
    }
    pd_pae[ALIAS_VIRT >> 21] = (uint32_t)(uintptr_t)pt_pae | PTE_P | PTE_RW;
    pt_pae[0] = ALIAS_PHYS | PTE_P | PTE_RW;
    pt_pae[1] = (ALIAS_PHYS + 0x1000) | PTE_P | PTE_RW | PTE_NX;
    pt_pae[2] = 0;
    pdpt[0] = (uint32_t)(uintptr_t)pd_pae | PTE_P;

    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    write_cr3((uint32_t)(uintptr_t)pdpt);
    write_cr4(read_cr4() | CR4_PAE);
    write_cr0(read_cr0() | CR0_PG);

    fill_and_compare("PAE");
    check("PAE: accessed and dirty set on the written page",
          (pt_pae[0] & (PTE_A | PTE_D)) == (PTE_A | PTE_D));
    check("PAE: NX page is readable",
          *(volatile uint8_t *)(ALIAS_VIRT + 0x1000) == 0xc3);

    expect_exception(PF_VECTOR);
    __asm__ volatile(ASM_SET_RESUME("1f") "jmp *%0\n1:"
                     : : "r"(ALIAS_VIRT + 0x1000) : "memory", "cc");
    check("PAE: fetch from an NX page: #PF error 0x11 at the target",
          expected_exception.taken && expected_exception.error == 0x11 &&
          expected_exception.cr2 == ALIAS_VIRT + 0x1000 &&
          expected_exception.ip == ALIAS_VIRT + 0x1000);
    check("PAE: read of a not-present page: #PF error 0",
          read_faults(ALIAS_VIRT + 0x2000, 0x0));

    write_cr0(read_cr0() & ~CR0_PG);
    write_cr4(read_cr4() & ~CR4_PAE);
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    test_two_level();
    test_pae();
    printf("paging32: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
