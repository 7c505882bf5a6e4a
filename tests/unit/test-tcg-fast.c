/*
 * The specialised semantic functions and flag liveness of the TCG
 * interpreter (target/i386/tcg/fast.c): loops with fused compare and
 * branch, rotates and ALU operations whose flags are dead (the result
 * must still be right), and flags that are live across register moves,
 * LEA and into ADC, Jcc and PUSHF (they must be exact). Expected values
 * are computed in C with the same operations.
 */
#include "kestrel/osdep.h"
#include "sysemu/cpus.h"
#include "tcg-test-machine.h"

#define RAM_SIZE (16u << 20)

#define GUEST TM_GUEST

GUEST(loop32, ".code32\n"
      "  xor %eax, %eax\n"
      "  mov $1000, %ecx\n"
      "  mov $0x12345678, %ebx\n"
      "1: rol $3, %ebx\n"            /* flags dead: XOR follows */
      "  xor %ebx, %eax\n"
      "  add $7, %eax\n"             /* flags dead: SUB follows */
      "  mov %eax, %edx\n"
      "  xor $0x55, %edx\n"            /* ADD's flags are dead up to here */
      "  sub %edx, %ebx\n"
      "  lea -1(%ecx), %ecx\n"
      "  cmp $0, %ecx\n"             /* fused with JNE */
      "  jne 1b\n"
      "  hlt\n");
GUEST(live32, ".code32\n"
      "  mov $0x80000001, %edx\n"
      "  rol $1, %edx\n"             /* live: PUSHF reads CF and OF */
      "  pushf\n"
      "  pop %esi\n"
      "  mov $5, %eax\n"
      "  add $-5, %eax\n"            /* live: ADC reads CF after a MOV */
      "  mov %eax, %ebx\n"
      "  adc $0, %ebx\n"
      "  xor %edi, %edi\n"
      "  mov $3, %eax\n"
      "  sub $3, %eax\n"             /* live: JZ after a LEA */
      "  lea 1(%eax), %edx\n"
      "  jz 2f\n"
      "  mov $1, %edi\n"
      "2: mov $10, %ecx\n"
      "  xor %ebp, %ebp\n"
      "3: add $1, %ebp\n"
      "  cmp $4, %ebp\n"             /* fused CMP + JB, both outcomes */
      "  jb 3b\n"
      "  hlt\n");

static TcgTestMachine machine;
static CPUState *cpu;
static CPUX86State *env;

/* Flat 32-bit protected mode, paging off, the snippet at CODE_ADDR. */
static void reset_pm32(const uint8_t *start, const uint8_t *end)
{
    tm_reset_pm32_halting(cpu, start, end);
}

static int run(void)
{
    return tm_run(cpu, 1000);
}

static uint32_t rol32(uint32_t v, unsigned n)
{
    return (v << n) | (v >> (32 - n));
}

static void test_loop_dead_flags(void)
{
    uint32_t a = 0, b = 0x12345678, c = 1000, d;
    do {
        b = rol32(b, 3);
        a ^= b;
        a += 7;
        d = a ^ 0x55;
        b -= d;
        c--;
    } while (c != 0);
    reset_pm32(loop32_start, loop32_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0);
    g_assert_cmphex(env->regs[R_EAX], ==, a);
    g_assert_cmphex(env->regs[R_EBX], ==, b);
    g_assert_cmphex(env->regs[R_ECX], ==, 0);
}

static void test_live_flags(void)
{
    reset_pm32(live32_start, live32_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EDX], ==, 1);                   /* LEA 1(0) */
    g_assert_cmphex(env->regs[R_ESI] & (CC_C | CC_O), ==, CC_C | CC_O);
    g_assert_cmphex(env->regs[R_EBX], ==, 1);                   /* 0 + 0 + CF */
    g_assert_cmphex(env->regs[R_EDI], ==, 0);                   /* JZ taken */
    g_assert_cmphex(env->regs[R_EBP], ==, 4);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    tm_machine_init(&machine, RAM_SIZE);
    cpu = machine.cpu;
    env = machine.env;

    g_test_add_func("/tcg/fast/loop-dead-flags", test_loop_dead_flags);
    g_test_add_func("/tcg/fast/live-flags", test_live_flags);
    return g_test_run();
}
