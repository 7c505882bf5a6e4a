/*
 * code16-page: a 16-bit code segment (D=0) with base 0 and a 4 GiB limit,
 * executed at EIP above 0xffff with an instruction that crosses a page.
 *
 * Straight-line execution in a 16-bit segment advances the full EIP (only
 * 16-bit operand-size control transfers truncate it), so code entered at
 * a high offset keeps running there. Checked three ways:
 *  - a 32-bit far jump straight to the 16-bit code at page+0xff8;
 *  - a far jump to a 16-bit trampoline doing "66 e9 rel32" to it;
 *  - the same after rewriting the immediate that lies on the second page
 *    (the translated block must be dropped and the new value seen).
 * The 16-bit code loads EAX with a 32-bit immediate crossing the page and
 * far-jumps (66 ea) back to 32-bit code, which checks EAX.
 *
 * Runs under TCG only (code16-page.expected says "# accel: tcg"): the
 * nested KVM harness's "hardware" is QEMU's TCG emulating SVM, which, like
 * QEMU's TCG itself, raises #GP here instead of running the code, so under
 * that KVM the payload hangs in its exception path.
 */
#include "runtime.h"

#define SEL_CODE32 0x08
#define SEL_CODE16 0x18
#define PAGE 4096u

static uint64_t gdt16[4] __attribute__((aligned(8))) = {
    0,
    0x00cf9a000000ffffull,   /* 0x08: flat 32-bit code (as the runtime's) */
    0x00cf92000000ffffull,   /* 0x10: flat data */
    0x008f9a000000ffffull,   /* 0x18: 16-bit code, base 0, limit 4 GiB */
};

/* Three pages: the code straddles the first two, the trampoline is on
 * the third. */
static uint8_t code_area[3 * PAGE] __attribute__((aligned(4096)));

struct far_ptr {
    uint32_t offset;
    uint16_t selector;
} __attribute__((packed));

extern char code16_back[];

/* Far-jumps to target and returns the EAX the 16-bit code left. */
static __attribute__((noinline)) uint32_t run_code16(const struct far_ptr *target)
{
    uint32_t eax;
    __asm__ volatile("ljmpl *(%1)\n\t"
                     ".globl code16_back\n"
                     "code16_back:\n\t"
                     : "=a"(eax)
                     : "r"(target)
                     : "memory");
    return eax;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) {
        p[k] = (uint8_t)(v >> (8 * k));
    }
}

static void check(const char *what, uint32_t got, uint32_t want)
{
    if (got != want) {
        printf("code16-page: %s: EAX 0x%x, expected 0x%x: FAILED\n", what,
               (unsigned)got, (unsigned)want);
        exit(3);
    }
    printf("code16-page: %s: ok\n", what);
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    (void)mb_magic;
    (void)mbi;
    uint32_t base = (uint32_t)(uintptr_t)code_area;
    uint32_t entry = base + PAGE - 8;
    uint8_t *code = code_area + PAGE - 8;
    uint8_t *tramp = code_area + 2 * PAGE;
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gdtr = {
        sizeof(gdt16) - 1, (uint32_t)(uintptr_t)gdt16 };

    /* page-8 .. page-4: five NOPs */
    for (int k = 0; k < 5; k++) {
        code[k] = 0x90;
    }
    /* page-3: mov $0x11223344, %eax (66 b8 imm32), ends at page+3 */
    code[5] = 0x66;
    code[6] = 0xb8;
    put_le32(&code[7], 0x11223344);
    /* page+3: ljmpl $0x08, $code16_back (66 ea off32 sel16) */
    code[11] = 0x66;
    code[12] = 0xea;
    put_le32(&code[13], (uint32_t)(uintptr_t)code16_back);
    code[17] = SEL_CODE32;
    code[18] = 0;

    /* trampoline: jmp rel32 with an operand-size prefix (66 e9) */
    tramp[0] = 0x66;
    tramp[1] = 0xe9;
    put_le32(&tramp[2], entry - (base + 2 * PAGE + 6));

    printf("code16-page: 16-bit code at EIP 0x%x..0x%x\n", (unsigned)entry,
           (unsigned)(entry + 18));
    __asm__ volatile("lgdt %0" :: "m"(gdtr));

    struct far_ptr direct = { entry, SEL_CODE16 };
    struct far_ptr via_tramp = { base + 2 * PAGE, SEL_CODE16 };
    check("far jump to EIP above 0xffff, insn crossing a page", run_code16(&direct),
          0x11223344);
    check("16-bit code jumping there with jmp rel32", run_code16(&via_tramp), 0x11223344);
    /* The last two bytes of the immediate are on the second page. */
    code[9] = 0x66;
    code[10] = 0x55;
    check("immediate rewritten on the second page", run_code16(&direct), 0x55663344);
    check("and again through the trampoline", run_code16(&via_tramp), 0x55663344);
    printf("code16-page: all checks passed\n");
    return 0;
}
