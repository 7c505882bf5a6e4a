/*
 * smc: self-modifying code (32-bit). Each check runs code, changes it, and
 * runs it again; the new bytes must take effect without any flush:
 *  - a loop whose store rewrites the immediate of the very next
 *    instruction (same translated block) on every pass;
 *  - a function on another page rewritten with a plain store;
 *  - a function body replaced with REP MOVSB;
 *  - an instruction crossing a page boundary, changed on the second page;
 *  - a page mapped at two virtual addresses (paging on): executed through
 *    one, written through the other (and through the identity mapping).
 * Functions are "mov $imm32, %eax; ret" (b8 imm32 c3).
 */
#include "runtime.h"

#define PAGE 4096u
#define WIN 0x40000000u

static uint8_t code_area[4 * PAGE] __attribute__((aligned(4096)));
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[1024] __attribute__((aligned(4096)));
static int failures;

typedef uint32_t (*fn_t)(void);

static void check(const char *what, uint32_t got, uint32_t want)
{
    bool ok = got == want;
    printf("smc: %s = 0x%x %s\n", what, (unsigned)got, ok ? "ok" : "FAILED");
    if (!ok) {
        printf("smc:   expected 0x%x\n", (unsigned)want);
        failures++;
    }
}

static void put_mov_ret(uint8_t *p, uint32_t imm)
{
    p[0] = 0xb8;
    for (int k = 0; k < 4; k++) {
        p[1 + k] = (uint8_t)(imm >> (8 * k));
    }
    p[5] = 0xc3;
}

static uint32_t call_at(uintptr_t addr)
{
    return ((fn_t)addr)();
}

static void test_same_block(void)
{
    uint32_t sum;
    __asm__ volatile("xorl %%ecx, %%ecx\n\t"
                     "xorl %%ebx, %%ebx\n"
                     "2:\n\t"
                     "movb %%cl, 1f+1\n"
                     "1:\n\t"
                     "movl $0x10101000, %%eax\n\t"
                     "addl %%eax, %%ebx\n\t"
                     "incl %%ecx\n\t"
                     "cmpl $4, %%ecx\n\t"
                     "jb 2b"
                     : "=b"(sum) : : "eax", "ecx", "memory", "cc");
    /* Passes write 0, 1, 2, 3 into the low byte of the immediate. */
    check("loop rewriting the next instruction's immediate (sum of 4 passes)", sum,
          4 * 0x10101000u + 0 + 1 + 2 + 3);
    uint32_t v;
    __asm__ volatile("movl $1f+1, %%edx\n\t"
                     "movl $0x55667788, (%%edx)\n"
                     "1:\n\t"
                     "movl $0x11223344, %%eax"
                     : "=a"(v) : : "edx", "memory");
    check("store to the whole immediate of the next instruction", v, 0x55667788);
}

static void test_other_page(void)
{
    uint8_t *f = code_area + PAGE;
    put_mov_ret(f, 0x1111);
    check("function on another page, first run", call_at((uintptr_t)f), 0x1111);
    check("second run (translated)", call_at((uintptr_t)f), 0x1111);
    f[1] = 0x22;
    f[2] = 0x22;
    check("after a store to its immediate", call_at((uintptr_t)f), 0x2222);
    /* Replace the whole body with REP MOVSB. */
    static const uint8_t body[] = { 0x31, 0xc0, 0x05, 0x78, 0x56, 0x34, 0x12, 0xc3 };
    check("before the REP MOVSB copy", call_at((uintptr_t)f), 0x2222);
    uint8_t *dst = f;
    const uint8_t *src = body;
    size_t n = sizeof(body);
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
    check("body replaced by REP MOVSB (xor; add $0x12345678; ret)", call_at((uintptr_t)f),
          0x12345678);
}

static void test_cross_page(void)
{
    /* "mov $imm32, %eax" starting 3 bytes before a page boundary: opcode
     * and 2 immediate bytes on the first page, 2 bytes and RET on the
     * second. */
    uint8_t *f = code_area + 3 * PAGE - 3;
    put_mov_ret(f, 0xaabbccdd);
    check("instruction crossing a page, first run", call_at((uintptr_t)f), 0xaabbccdd);
    f[3] = 0x01;                       /* second page */
    f[4] = 0x02;
    check("after changing its bytes on the second page", call_at((uintptr_t)f), 0x0201ccdd);
    f[1] = 0x07;                       /* first page */
    check("after changing a byte on the first page", call_at((uintptr_t)f), 0x0201cc07);
    f[5] = 0x90;                       /* NOP, then RET on the second page */
    f[6] = 0xc3;
    check("after inserting a NOP on the second page", call_at((uintptr_t)f), 0x0201cc07);
}

static void test_alias(void)
{
    uint32_t cr0, cr4;
    __asm__ volatile("movl %%cr0, %0\n\tmovl %%cr4, %1" : "=r"(cr0), "=r"(cr4));
    for (uint32_t i = 0; i < 4; i++) {
        pd[i] = (i << 22) | 0x83;            /* P, RW, PS: identity 0-16 MiB */
    }
    pd[WIN >> 22] = (uintptr_t)pt | 0x3;
    uintptr_t phys = (uintptr_t)code_area;   /* first page of the area */
    pt[0] = phys | 0x3;                      /* WIN: executed */
    pt[1] = phys | 0x3;                      /* WIN + 4 KiB: written */
    put_mov_ret(code_area, 0x300);
    __asm__ volatile("movl %0, %%cr4\n\tmovl %1, %%cr3\n\tmovl %2, %%cr0"
                     : : "r"(cr4 | 0x10), "r"((uintptr_t)pd), "r"(cr0 | 0x80000000u)
                     : "memory");
    check("alias: run through the first mapping", call_at(WIN), 0x300);
    check("alias: run through the second mapping", call_at(WIN + PAGE), 0x300);
    *(volatile uint8_t *)(WIN + PAGE + 1) = 0x31;
    check("alias: run through the first after a write through the second", call_at(WIN),
          0x331);
    *(volatile uint8_t *)(phys + 1) = 0x32;
    check("alias: after a write through the identity mapping", call_at(WIN), 0x332);
    check("alias: the second mapping sees it too", call_at(WIN + PAGE), 0x332);
    *(volatile uint16_t *)(WIN + 1) = 0x4444;
    check("alias: after a write through the executed mapping itself", call_at(WIN + PAGE),
          0x4444);
    __asm__ volatile("movl %0, %%cr0\n\tmovl %1, %%cr4" : : "r"(cr0), "r"(cr4) : "memory");
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    (void)mb_magic;
    (void)mbi;
    test_same_block();
    test_other_page();
    test_cross_page();
    test_alias();
    printf("smc: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
