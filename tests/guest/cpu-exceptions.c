/*
 * cpu-exceptions: CPU exceptions raised on purpose and handled, built as a
 * 32-bit payload (cpu-exceptions32) and a 64-bit one (cpu-exceptions64).
 * Each case arms the runtime's expected-exception handler (see runtime.h),
 * runs one faulting instruction, and checks the vector, the error code, the
 * saved instruction pointer (a fault points at the instruction, a trap after
 * it), CR2 for page faults, and that registers survive the handler.
 * Prints "PASS <name>" or "FAIL <name>: ..." per case.
 *
 * Exit code: 0 if every case passed, 1 otherwise.
 */
#include "runtime.h"
#ifdef __x86_64__
#include "paging64.h"
#endif

static unsigned passed, failed;

static void check(const char *name, bool ok)
{
    if (ok) {
        passed++;
        printf("PASS %s\n", name);
        return;
    }
    failed++;
    const struct expected_exception *x = &expected_exception;
    printf("FAIL %s: taken %d, error 0x%lx, ip 0x%lx, cr2 0x%lx\n", name, x->taken,
           (unsigned long)x->error, (unsigned long)x->ip, (unsigned long)x->cr2);
}

/* Runs `insn` with the handler armed for `vector`, inputs in the variadic
 * part (asm input operands). A faulting instruction completes nothing, so
 * it writes no register: only flags and memory are declared clobbered.
 * Declares `fault_ip_`, the instruction's own address: a fault must report
 * it as the saved IP. */
#define FAULT(vector, insn, ...)                                               \
    uintptr_t fault_ip_;                                                       \
    expect_exception(vector);                                                  \
    __asm__ volatile(ASM_SET_RESUME("1f") ASM_MOV_PTR " $0f, %[fip]\n\t"       \
                     "0: " insn "\n1:"                                         \
                     : [fip] "=m"(fault_ip_) : __VA_ARGS__ : "cc", "memory")

static bool faulted_at(unsigned vector, uintptr_t ip)
{
    return expected_exception.taken && expected_exception.vector == vector &&
           expected_exception.ip == ip;
}

static void test_divide(void)
{
    {
        FAULT(0, "divl %[d]", "a"(1u), "d"(0u), [d] "r"(0u));
        check("div by zero: #DE at the instruction", faulted_at(0, fault_ip_));
    }
    {
        FAULT(0, "idivl %[d]", "a"(0x80000000u), "d"(0xffffffffu), [d] "r"((uint32_t)-1));
        check("idiv 0x80000000 / -1: #DE", faulted_at(0, fault_ip_));
    }
    {
        FAULT(0, "divl %[d]", "a"(0u), "d"(0x10u), [d] "r"(0x10u));
        check("div quotient too large: #DE", faulted_at(0, fault_ip_));
    }
    {
        FAULT(0, "divb %[d]", "a"(0x1000u), [d] "q"((uint8_t)0x10));
        check("divb quotient too large: #DE", faulted_at(0, fault_ip_));
    }
}

static void test_invalid_opcode(void)
{
    {
        FAULT(6, "ud2", "r"(0));
        check("ud2: #UD at the instruction", faulted_at(6, fault_ip_));
    }
    {
        /* LOCK on an instruction that cannot take it. */
        FAULT(6, ".byte 0xf0, 0x90", "r"(0));
        check("lock nop: #UD", faulted_at(6, fault_ip_));
    }
}

static void test_registers_survive(void)
{
    uint32_t b = 0x0b0b0b0b, si = 0x51515151, di = 0xd1d1d1d1;
    expect_exception(6);
    __asm__ volatile(ASM_SET_RESUME("1f") "ud2\n1:"
                     : "+b"(b), "+S"(si), "+D"(di) : : "memory");
    check("registers unchanged across the handler",
          expected_exception.taken && b == 0x0b0b0b0b && si == 0x51515151 && di == 0xd1d1d1d1);
}

static void test_protection(void)
{
    {
        /* Selector 0x1230: index 0x246, far beyond our 4-entry GDT. */
        FAULT(13, "movw %w[s], %%fs", [s] "r"(0x1230));
        check("selector beyond the GDT: #GP(0x1230)",
              faulted_at(13, fault_ip_) && expected_exception.error == 0x1230);
    }
    {
        /* A data selector loaded into SS with RPL 3 at CPL 0. */
        FAULT(13, "movw %w[s], %%ss", [s] "r"(0x13));
        check("SS selector with RPL != CPL: #GP(0x10)",
              faulted_at(13, fault_ip_) && expected_exception.error == 0x10);
    }
    {
        /* The null selector in SS. */
#ifdef __x86_64__
        /* ... is allowed at CPL 0 in 64-bit mode. */
        expect_exception(13);
        __asm__ volatile("movw %w[z], %%ss\n\tmovw %w[d], %%ss"
                         : : [z] "r"(0), [d] "r"(0x10) : "memory");
        check("null selector in SS is allowed in 64-bit mode", !expected_exception.taken);
        expected_exception.armed = false;
#else
        FAULT(13, "movw %w[s], %%ss", [s] "r"(0));
        check("null selector in SS: #GP(0)",
              faulted_at(13, fault_ip_) && expected_exception.error == 0);
#endif
    }
}

static void test_traps(void)
{
    /* INT 3 in its two-byte form (gas would emit the one-byte INT3): a trap,
     * so the saved IP is the next instruction. */
    uintptr_t after;
    expect_exception(3);
    __asm__ volatile(ASM_SET_RESUME("1f") ".byte 0xcd, 0x03\n1:\n\t"
                     ASM_MOV_PTR " $1b, %[a]" : [a] "=r"(after) : : "memory");
    check("int $3: #BP with the IP after the instruction",
          expected_exception.taken && expected_exception.ip == after);
    expect_exception(3);
    __asm__ volatile(ASM_SET_RESUME("1f") "int3\n1:\n\t"
                     ASM_MOV_PTR " $1b, %[a]" : [a] "=r"(after) : : "memory");
    check("int3: #BP with the IP after the instruction",
          expected_exception.taken && expected_exception.ip == after);
#ifndef __x86_64__
    expect_exception(4);
    __asm__ volatile(ASM_SET_RESUME("1f") "movb $0x7f, %%al\n\taddb $1, %%al\n\tinto\n1:\n\t"
                     ASM_MOV_PTR " $1b, %[a]" : [a] "=r"(after) : : "eax", "cc", "memory");
    check("into with OF set: #OF with the IP after the instruction",
          expected_exception.taken && expected_exception.ip == after);
#endif
}

#ifdef __x86_64__
static uint64_t window_pdpt[512] __attribute__((aligned(4096)));
static uint64_t window_pd[512] __attribute__((aligned(4096)));
static uint64_t window_pt[512] __attribute__((aligned(4096)));
static uint8_t target_page[4096] __attribute__((aligned(4096)));

#define WINDOW 0x0000008000000000ull          /* PML4 slot 1 */
#define CR0_WP (1ull << 16)

static void test_page_faults(void)
{
    {
        FAULT(14, "movq 0x8000000000, %%rax", "r"(0));
        check("read of an unmapped page: #PF(0), CR2 = address",
              faulted_at(14, fault_ip_) && expected_exception.error == 0 &&
              expected_exception.cr2 == WINDOW);
    }
    {
        FAULT(14, "movq %%rax, 0x8000000010", "a"(0));
        check("write to an unmapped page: #PF(2), CR2 = address",
              faulted_at(14, fault_ip_) && expected_exception.error == 2 &&
              expected_exception.cr2 == WINDOW + 0x10);
    }
    {
        FAULT(13, "movq (%[p]), %%rax", [p] "r"(0x0000800000000000ull));
        check("non-canonical address: #GP(0)",
              faulted_at(13, fault_ip_) && expected_exception.error == 0);
    }

    /* A read-only page at WINDOW, with CR0.WP so ring 0 honours it. */
    window_pt[0] = (uintptr_t)target_page | PTE_PRESENT;
    window_pd[0] = (uintptr_t)window_pt | PTE_PRESENT | PTE_WRITABLE;
    window_pdpt[0] = (uintptr_t)window_pd | PTE_PRESENT | PTE_WRITABLE;
    pml4[1] = (uintptr_t)window_pdpt | PTE_PRESENT | PTE_WRITABLE;
    write_cr3(read_cr3());
    uint64_t cr0 = read_cr0();
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | CR0_WP) : "memory");
    target_page[8] = 0x5a;
    check("read through a read-only mapping", *(volatile uint8_t *)(WINDOW + 8) == 0x5a);
    {
        FAULT(14, "movb $1, (%[p])", [p] "r"(WINDOW + 8));
        check("write to a read-only page with CR0.WP: #PF(3)",
              faulted_at(14, fault_ip_) && expected_exception.error == 3 &&
              expected_exception.cr2 == WINDOW + 8);
    }
    check("the read-only page is unchanged", target_page[8] == 0x5a);
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
    pml4[1] = 0;
    write_cr3(read_cr3());
}
#endif

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
#ifdef __x86_64__
    printf("cpu-exceptions: 64-bit long mode\n");
#else
    printf("cpu-exceptions: 32-bit protected mode\n");
#endif
    test_divide();
    test_invalid_opcode();
    test_registers_survive();
    test_protection();
    test_traps();
#ifdef __x86_64__
    test_page_faults();
#endif
    printf("cpu-exceptions: %u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
