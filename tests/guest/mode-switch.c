/*
 * mode-switch: the CPU's operating modes, entered and left in turn:
 * 32-bit protected mode -> 16-bit protected mode -> real mode -> 32-bit
 * protected mode; then PAE paging -> long mode (compatibility mode, then
 * 64-bit mode) -> compatibility mode -> paging and long mode off -> 32-bit
 * protected mode; and real mode once more after that. The transitions are
 * in mode-switch.S; this file sets up the segments and page tables and
 * prints one line per check: the CS selector, the operand size (the stack
 * delta of "push imm8", with and without a 66 prefix), 16-bit stack
 * behaviour (a B=0 SS changes SP only), real-mode segment arithmetic and
 * software interrupts through the IVT, CR0 and EFER.LME/LMA at each step,
 * and mappings that only exist under PAE or 4-level paging.
 */
#include "runtime.h"
#include "sysenv.h"

#define LOW_BASE 0x8000u

extern char low_blob_start[], low_blob_end[];
extern char r_pm16_cs[], r_pm16_push[], r_pm16_push66[], r_pm16_ss16_esp[],
    r_pm16_ss16_word[], r_rm_cs[], r_rm_push[], r_rm_push66[], r_rm_msw[],
    r_rm_alias[], r_rm_int[], r_rm_int_cs[];
extern uint32_t lm_results[32];
extern uint64_t pd_low[512], lm_pml4[512], lm_pdpt[512], pae_pdpt[4];
void mode_down(void);
void mode_long(void);

static int failures;

static void check(const char *what, uint32_t got, uint32_t want)
{
    failures += !sysenv_check("mode-switch", what, got, want);
}

static uint32_t low_result(const char *label)
{
    return *(volatile uint32_t *)(uintptr_t)(LOW_BASE + (uint32_t)(label - low_blob_start));
}

static uint32_t push_size32(void)
{
    uint32_t before, after;
    __asm__ volatile("movl %%esp, %0\n\t.byte 0x6a, 0x00\n\tmovl %%esp, %1\n\taddl $4, %%esp"
                     : "=&r"(before), "=&r"(after) : : "memory");
    return before - after;
}

static void run_down(const char *when)
{
    uint32_t blob_len = (uint32_t)(low_blob_end - low_blob_start);
    memcpy((void *)(uintptr_t)LOW_BASE, low_blob_start, blob_len);
    mode_down();
    printf("mode-switch: %s\n", when);
    check("16-bit PM: CS", low_result(r_pm16_cs) & 0xffff, 0x58);
    check("16-bit PM: push imm8 size", low_result(r_pm16_push), 2);
    check("16-bit PM: push imm8 size with 66", low_result(r_pm16_push66), 4);
    check("16-bit PM: B=0 stack: ESP after push", low_result(r_pm16_ss16_esp), 0xabcd7efe);
    check("16-bit PM: B=0 stack: word at SS:SP", low_result(r_pm16_ss16_word) & 0xffff, 0x1234);
    check("real mode: CS", low_result(r_rm_cs) & 0xffff, LOW_BASE >> 4);
    check("real mode: push imm8 size", low_result(r_rm_push), 2);
    check("real mode: push imm8 size with 66", low_result(r_rm_push66), 4);
    check("real mode: MSW.PE", low_result(r_rm_msw) & 1, 0);
    check("real mode: 0x0a00:0 is 0x0800:0x2000", low_result(r_rm_alias) & 0xffff, 0xbeef);
    check("real mode: INT 0x40 through the IVT ran", low_result(r_rm_int) & 0xffff, 0x4242);
    check("real mode: INT pushed CS", low_result(r_rm_int_cs) & 0xffff, LOW_BASE >> 4);
    uint32_t cs;
    __asm__ volatile("movl %%cs, %0" : "=r"(cs));
    check("back in 32-bit PM: CS", cs & 0xffff, 0x08);
    check("back in 32-bit PM: push imm8 size", push_size32(), 4);
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    (void)mb_magic;
    (void)mbi;
    sysenv_init();
    /* 0x58: 16-bit code, 0x60: 16-bit data (B=0), both based at LOW_BASE. */
    sysenv_gdt[0x58 >> 3] = seg_desc(LOW_BASE, 0xffff, DESC_P | DESC_CODE_RX, 0);
    sysenv_gdt[0x60 >> 3] = seg_desc(LOW_BASE, 0xffff, DESC_P | DESC_DATA_RW, 0);

    uint32_t cs;
    __asm__ volatile("movl %%cs, %0" : "=r"(cs));
    check("32-bit PM: CS", cs & 0xffff, 0x08);
    check("32-bit PM: push imm8 size", push_size32(), 4);

    run_down("down to real mode and back");

    for (unsigned i = 0; i < 4; i++) {
        pd_low[i] = ((uint64_t)i << 21) | 0x83;          /* P, RW, PS */
    }
    pae_pdpt[0] = (uintptr_t)pd_low | 1;                 /* legacy PDPTEs: P only */
    pae_pdpt[1] = (uintptr_t)pd_low | 1;
    lm_pdpt[0] = (uintptr_t)pd_low | 3;
    lm_pml4[0] = (uintptr_t)lm_pdpt | 3;
    lm_pml4[1] = (uintptr_t)lm_pdpt | 3;
    mode_long();
    uint32_t *r = lm_results;
    check("PAE paging: CR0.PG|PE", r[0] & 0x80000001u, 0x80000001u);
    check("PAE paging: read through the 1 GiB alias", r[1], 0x600dcafe);
    check("compatibility mode: EFER.LME|LMA", r[2] & 0x500, 0x500);
    check("compatibility mode: push imm8 size", r[3], 4);
    check("compatibility mode: CS", r[4] & 0xffff, 0x08);
    check("64-bit mode: CS", r[5] & 0xffff, 0x18);
    check("64-bit mode: push imm8 size", r[6], 8);
    check("64-bit mode: push imm8 size with 66", r[7], 2);
    check("64-bit mode: 64-bit add, low half", r[8], 0x13579bde);
    check("64-bit mode: 64-bit add, high half", r[9], 0x02468acf);
    check("64-bit mode: read through the 512 GiB alias", r[10], 0x600dcafe);
    check("64-bit mode: RIP-relative LEA offset", r[11], 0);
    check("compatibility mode again: CS", r[12] & 0xffff, 0x08);
    check("compatibility mode again: push imm8 size", r[13], 4);
    check("paging off: EFER.LME|LMA", r[14] & 0x500, 0x100);
    check("LME cleared: EFER.LME|LMA", r[15] & 0x500, 0);
    check("32-bit PM after long mode: push imm8 size", r[16], 4);
    uint32_t cr0;
    __asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
    check("32-bit PM after long mode: CR0.PG|PE", cr0 & 0x80000001u, 1);

    run_down("down to real mode again after long mode");
    printf("mode-switch: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
