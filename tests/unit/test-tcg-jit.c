/*
 * The TCG code generator (accel/tcg/jit.c, target/i386/tcg/jit.c): guest
 * snippets run once interpreted and once as generated host code, and the
 * registers, arithmetic flags and memory must be identical; faults in the
 * middle of a generated block must restart at the faulting instruction
 * with the earlier instructions' results in place; a store into the
 * running block must make the next instruction run from the new bytes;
 * and the -accel tcg,jit= switch parses its values.
 */
#include "kestrel/osdep.h"
#include "sysemu/cpus.h"
#include "accel/tcg/tcg-internal.h"
#include "accel/tcg/jit.h"
#include "tcg-test-machine.h"

#define RAM_SIZE (16u << 20)
#define GDT_ADDR 0x800u
#define IDT_ADDR 0x2000u
#define STUBS_ADDR 0x4000u
#define CODE_ADDR 0x10000u
#define PT_ADDR 0x20000u
#define DATA_ADDR 0x100000u
#define STACK_TOP 0x200000u
#define UNMAPPED 0x600000u

#define GUEST TM_GUEST

/* Every natively generated form, with Jcc after each kind of setter,
 * both outcomes of each branch, loads and stores of every size. */
GUEST(mix64, ".code64\n"
      "  mov $0x100000, %rdi\n"
      "  mov $300, %ecx\n"
      "  mov $0x123456789abcdef, %rax\n"
      "  mov $7, %ebx\n"
      "  xor %edx, %edx\n"
      "  xor %esi, %esi\n"
      "  mov $-5, %r10\n"
      "  mov $0x80000000, %r11\n"
      "  xor %r12d, %r12d\n"
      "  mov $1, %r13d\n"
      "  xor %r15d, %r15d\n"
      "1: add %rax, %rbx\n"
      "  imul $0x5851f42d, %rbx, %rdx\n"
      "  rol $5, %rax\n"
      "  xor %rdx, %rax\n"
      "  mov %rax, %r8\n"
      "  shr $3, %r8\n"
      "  sar $2, %edx\n"
      "  mov %rbx, %r9\n"
      "  shl $7, %r9\n"
      "  sub %r8d, %esi\n"
      "  cmovs %rax, %r10\n"
      "  cmovb %ebx, %r11d\n"
      "  inc %r12\n"
      "  dec %r13d\n"
      "  lea 3(%rbx,%rcx,4), %r14\n"
      "  movslq %esi, %r15\n"
      "  and $0xff8, %r14d\n"
      "  mov %rax, (%rdi,%r14)\n"
      "  movb %bl, 7(%rdi,%rcx)\n"
      "  movw %dx, 0x1020(%rdi)\n"
      "  movl $0x55aa, 0x2000(%rdi,%rcx,8)\n"
      "  movq $-3, 0x1008(%rdi)\n"
      "  mov 0x2008(%rdi), %rbp\n"
      "  movzbl 7(%rdi,%rcx), %ebp\n"
      "  movswq 0x1020(%rdi), %r9\n"
      "  movsbl 9(%rdi,%rcx), %r8d\n"
      "  movzwq 0x1020(%rdi), %r8\n"
      "  mov 0x1008(%rdi), %r8d\n"
      "  cmpb $0x40, 7(%rdi,%rcx)\n"
      "  seta %dl\n"
      "  add (%rdi,%r14), %r10\n"
      "  cmp %r10, %r11\n"
      "  cmovl %r10, %r11\n"
      "  test %esi, %esi\n"
      "  cmovz %ecx, %edx\n"
      "  cltq\n"
      "  imul %rbx, %r9\n"
      "  imul %ecx, %r8d\n"
      "  test %r8, %r8\n"
      "  js 3f\n"
      "  add $1, %r15\n"
      "3: cmp %rbx, %rax\n"
      "  jle 4f\n"
      "  xor $1, %r12\n"
      "4: inc %r13\n"
      "  jno 5f\n"
      "  or $2, %r12\n"
      "5: add %rax, %rbx\n"
      "  jc 6f\n"
      "  sub $1, %r15\n"
      "6: and %rdx, %r9\n"
      "  jp 7f\n"
      "  not %r9\n"
      "7: cmp $0x10, %cl\n"
      "  jbe 8f\n"
      "  add %r9, %rsi\n"
      "8: sub $1, %ecx\n"
      "  jnz 1b\n"
      "  call 9f\n"                 /* CALL/RET, PUSH/POP (also of RSP) */
      "  jmp 10f\n"
      "9: push %rbx\n"
      "  push %rsp\n"
      "  pop %r9\n"
      "  pop %r8\n"
      "  sub %rsp, %r9\n"
      "  ret\n"
      "10: add %r8, %r9\n"
      "  add %rsi, %rbx\n"          /* lazy flags read by PUSHF, ADC, SETcc */
      "  pushf\n"
      "  pop %r8\n"
      "  sub %rax, %r11\n"
      "  adc $5, %rdx\n"
      "  imul %rbx, %rsi\n"
      "  seto %al\n"
      "  shl $3, %r9\n"
      "  setc %ah\n"
      "  test %r12, %r12\n"
      "  setnz %r10b\n"
      "  cmp %rsi, %rbx\n"
      "  hlt\n");

/* A #PF on a load after native instructions of the same block. */
extern const uint8_t fault64_insn[];
GUEST(fault64, ".code64\n"
      "  mov $5, %eax\n"
      "  add $1, %eax\n"
      "  mov $0x600010, %rbx\n"
      "  mov $9, %ecx\n"
      "fault64_insn: mov (%rbx), %rdx\n"
      "  mov $1, %ecx\n"
      "  hlt\n");

/* A store into the running block: the next instruction must run from the
 * new bytes (the immediate of the MOV is rewritten to 42). */
GUEST(smc64, ".code64\n"
      "  lea 2f(%rip), %rdi\n"
      "  xor %ecx, %ecx\n"
      "  add $1, %ecx\n"
      "  movl $42, 1(%rdi)\n"
      "2: mov $1, %eax\n"
      "  add %ecx, %eax\n"
      "  hlt\n");

static TcgTestMachine machine;
static CPUState *cpu;
static CPUX86State *env;

static void build_idt64(void)
{
    for (unsigned v = 0; v < 256; v++) {
        tm_write_gate64(IDT_ADDR, v, TM_SEL_CODE64, tm_stub_addr(STUBS_ADDR, v), 0);
    }
}

/* 64-bit mode, identity map of the first GiB (2 MiB pages) except
 * UNMAPPED's 2 MiB page; the snippet at CODE_ADDR; every TB dropped. */
static void reset_lm64(const uint8_t *start, const uint8_t *end, bool jit)
{
    tm_reset_flat_pm32(cpu, CODE_ADDR, start, end);
    tm_build_flat_gdt(GDT_ADDR);
    build_idt64();
    tm_build_long_identity_map(PT_ADDR, false);
    tm_write64(PT_ADDR + 0x2000 + (UNMAPPED >> 21) * 8, 0);
    tm_set_descriptor_tables(env, GDT_ADDR, TM_GDT_LIMIT, IDT_ADDR, 256 * 16 - 1);
    tm_set_long_mode(env, PT_ADDR, TM_SEL_CODE64, TM_SEL_DATA, false);
    env->regs[R_ESP] = STACK_TOP;
    tm_flush(cpu);
    tb_flush_locked_exclusive();
    tcg_jit_set_enabled(jit);
}

typedef struct Outcome {
    uint64_t regs[16];
    uint64_t rip;
    uint32_t flags;
    uint8_t data[0x3000];
} Outcome;

static void run_mix(bool jit, Outcome *o)
{
    uint8_t zero[0x3000] = { 0 };
    tm_write(DATA_ADDR, zero, sizeof(zero));
    reset_lm64(mix64_start, mix64_end, jit);
    g_assert_cmpint(tm_run(cpu, 1000), ==, VCPU_EXIT_HALT);
    memcpy(o->regs, env->regs, sizeof(o->regs));
    o->rip = env->rip;
    o->flags = (uint32_t)x86_cpu_get_eflags(env) & F_ALL;
    tm_read(DATA_ADDR, o->data, sizeof(o->data));
}

static void test_same_as_interpreter(void)
{
    static Outcome interp, jit;
    uint64_t native_before;

    run_mix(false, &interp);
    g_assert_cmpuint(env->regs[R_ECX], ==, 0);
    native_before = tcg_jit_stats.native_insns;
    run_mix(true, &jit);
    /* The generated code really ran (and generated native forms). */
    g_assert_cmpuint(tcg_jit_stats.native_insns, >, native_before + 40);
    for (unsigned r = 0; r < 16; r++) {
        if (interp.regs[r] != jit.regs[r]) {
            g_test_message("register %u: interpreter %#" PRIx64 ", jit %#" PRIx64, r,
                           interp.regs[r], jit.regs[r]);
        }
        g_assert_cmphex(interp.regs[r], ==, jit.regs[r]);
    }
    g_assert_cmphex(interp.rip, ==, jit.rip);
    g_assert_cmphex(interp.flags, ==, jit.flags);
    g_assert_cmpmem(interp.data, sizeof(interp.data), jit.data, sizeof(jit.data));
}

static void test_fault_in_block(void)
{
    for (int jit = 0; jit < 2; jit++) {
        uint64_t fault_rip = CODE_ADDR + (uint64_t)(fault64_insn - fault64_start);
        reset_lm64(fault64_start, fault64_end, jit);
        g_assert_cmpint(tm_run(cpu, 100), ==, VCPU_EXIT_HALT);
        g_assert_cmphex(env->regs[R_EBP], ==, 14);
        g_assert_cmphex(env->regs[R_EDI], ==, UNMAPPED + 0x10);     /* CR2 */
        g_assert_cmphex(env->regs[R_EAX], ==, 6);
        g_assert_cmphex(env->regs[R_ECX], ==, 9);
        /* The saved RIP (below the popped error code) is the load. */
        g_assert_cmphex(tm_read64(STACK_TOP - 40), ==, fault_rip);
    }
}

static void test_self_modifying_block(void)
{
    for (int jit = 0; jit < 2; jit++) {
        reset_lm64(smc64_start, smc64_end, jit);
        g_assert_cmpint(tm_run(cpu, 100), ==, VCPU_EXIT_HALT);
        g_assert_cmphex(env->regs[R_EAX], ==, 43);
    }
}

static void test_switch_values(void)
{
    bool on = false;
    g_assert_true(tcg_jit_parse_switch("on", &on) && on);
    g_assert_true(tcg_jit_parse_switch("off", &on) && !on);
    g_assert_true(tcg_jit_parse_switch("1", &on) && on);
    g_assert_true(tcg_jit_parse_switch("no", &on) && !on);
    g_assert_false(tcg_jit_parse_switch("maybe", &on));
    tcg_jit_set_enabled(true);
    g_assert_true(tcg_jit_enabled());
    tcg_jit_set_enabled(false);
    g_assert_false(tcg_jit_enabled());
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    tm_machine_init(&machine, RAM_SIZE);
    cpu = machine.cpu;
    env = machine.env;
    tm_build_exception_stubs(STUBS_ADDR, 256, true);

    g_test_add_func("/tcg/jit/same-as-interpreter", test_same_as_interpreter);
    g_test_add_func("/tcg/jit/fault-in-block", test_fault_in_block);
    g_test_add_func("/tcg/jit/self-modifying-block", test_self_modifying_block);
    g_test_add_func("/tcg/jit/switch", test_switch_values);
    return g_test_run();
}
