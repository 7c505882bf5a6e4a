/*
 * Differential test of the TCG integer ALU against the host CPU: the same
 * instruction bytes run natively (in an executable page) and under TCG (in
 * 64-bit guest mode); results and the architecturally defined flags must
 * match for a table of inputs, at all four operand sizes.
 */
#include <sys/mman.h>
#include "kestrel/osdep.h"
#include "tcg-test-machine.h"

#define RAM_SIZE (4u << 20)
#define CODE_ADDR 0x100000u
#define PML4_ADDR 0x10000u

typedef struct RegState {
    uint64_t rax, rbx, rcx, rdx, flags;
} RegState;

static TcgTestMachine machine;
static CPUState *cpu;
static uint8_t *native_page;
static unsigned long cases_run;

/* Native trampoline around the instruction under test (rdi = RegState*). */
__asm__(".pushsection .rodata\n"
        ".globl tramp_head, tramp_head_end, tramp_tail, tramp_tail_end\n"
        "tramp_head:\n"
        "  push %rbx\n"
        "  mov 0(%rdi), %rax\n"
        "  mov 8(%rdi), %rbx\n"
        "  mov 16(%rdi), %rcx\n"
        "  mov 24(%rdi), %rdx\n"
        "  pushq 32(%rdi)\n"
        "  popfq\n"
        "tramp_head_end:\n"
        "tramp_tail:\n"
        "  pushfq\n"
        "  popq 32(%rdi)\n"
        "  mov %rax, 0(%rdi)\n"
        "  mov %rbx, 8(%rdi)\n"
        "  mov %rcx, 16(%rdi)\n"
        "  mov %rdx, 24(%rdi)\n"
        "  pop %rbx\n"
        "  ret\n"
        "tramp_tail_end:\n"
        ".popsection\n");
extern const uint8_t tramp_head[], tramp_head_end[], tramp_tail[], tramp_tail_end[];

static void run_native(const uint8_t *insn, size_t len, RegState *st)
{
    tm_run_native(native_page, tramp_head, tramp_head_end, insn, len, tramp_tail, tramp_tail_end,
                  st);
}

static void guest_load_code(const uint8_t *insn, size_t len)
{
    tm_load_with_hlt(CODE_ADDR, insn, len);
}

/* 64-bit mode; no GDT or IDT: the snippets neither load segments nor fault. */
static void guest_enter_long_mode(CPUX86State *env)
{
    x86_cpu_reset(env);
    tm_set_long_mode(env, PML4_ADDR, 0x08, 0x10, false);
    env->rip = CODE_ADDR;
}

static void guest_run(const RegState *in, RegState *out)
{
    CPUX86State *env = &cpu->env;
    guest_enter_long_mode(env);
    env->regs[R_EAX] = in->rax;
    env->regs[R_EBX] = in->rbx;
    env->regs[R_ECX] = in->rcx;
    env->regs[R_EDX] = in->rdx;
    x86_cpu_set_eflags(env, in->flags);
    tlb_flush(tcg_cpu(cpu));
    g_assert_cmpint(tcg_exec_vcpu(cpu), ==, VCPU_EXIT_HALT);
    out->rax = env->regs[R_EAX];
    out->rbx = env->regs[R_EBX];
    out->rcx = env->regs[R_ECX];
    out->rdx = env->regs[R_EDX];
    out->flags = x86_cpu_get_eflags(env);
}

/* Which flags an instruction defines for the given inputs. */
typedef unsigned DefinedFn(const RegState *in, unsigned size);

static unsigned def_all(const RegState *in, unsigned size) { return F_ALL; }
static unsigned def_logic(const RegState *in, unsigned size) { return F_ALL & ~F_AF; }
static unsigned def_mul(const RegState *in, unsigned size) { return F_CF | F_OF; }
static unsigned def_bt(const RegState *in, unsigned size) { return F_CF; }
static unsigned def_bsf(const RegState *in, unsigned size) { return F_ZF; }

static unsigned count_of(const RegState *in, unsigned size)
{
    return (unsigned)(in->rcx & (size == 8 ? 0x3f : 0x1f));
}

static unsigned def_shift(const RegState *in, unsigned size)
{
    unsigned n = count_of(in, size);
    if (n == 0) {
        return F_ALL;
    }
    if (n == 1) {
        return F_ALL & ~F_AF;
    }
    return F_CF | F_PF | F_ZF | F_SF;
}

/* Shifts by the constant 1: OF defined, AF not. */
static unsigned def_shift1(const RegState *in, unsigned size) { return F_ALL & ~F_AF; }

/* Shifts by 5: OF and AF undefined. */
static unsigned def_shift5(const RegState *in, unsigned size) { return F_CF | F_PF | F_ZF | F_SF; }

static unsigned def_shl_shr(const RegState *in, unsigned size)
{
    unsigned f = def_shift(in, size);
    if (count_of(in, size) >= size * 8) {
        f &= ~F_CF;
    }
    return f;
}

static unsigned def_rotate(const RegState *in, unsigned size)
{
    unsigned n = count_of(in, size);
    if (n == 0) {
        return F_ALL;
    }
    /* CF always; OF only for 1-bit rotates; the rest are unaffected. */
    return n == 1 ? F_ALL : F_ALL & ~F_OF;
}

static unsigned def_shld(const RegState *in, unsigned size)
{
    unsigned n = count_of(in, size);
    if (n > size * 8) {
        return 0;
    }
    return def_shift(in, size);
}

typedef struct Op {
    const char *name;
    uint8_t bytes[8];        /* without size prefix; the byte form when byte_op */
    uint8_t len;
    bool has_byte_form;      /* opcode - 1 (or given) for 8-bit */
    uint8_t byte_opcode_index;   /* which byte is the opcode to decrement for 8-bit */
    bool no_byte;            /* no 8-bit form */
    bool no_word;
    DefinedFn *defined;
    bool result_undefined_if_zero_src;  /* BSF/BSR: destination kept */
    bool shift_count;        /* iterate rcx over shift counts */
    bool shld;               /* 16-bit results with count > 16 are undefined */
} Op;

/* ModRM 0xd8: reg = rbx, r/m = rax. 0xc3: reg = rax, r/m = rbx. */
static const Op ops[] = {
    { "add", { 0x01, 0xd8 }, 2, true, 0, false, false, def_all },
    { "or", { 0x09, 0xd8 }, 2, true, 0, false, false, def_logic },
    { "adc", { 0x11, 0xd8 }, 2, true, 0, false, false, def_all },
    { "sbb", { 0x19, 0xd8 }, 2, true, 0, false, false, def_all },
    { "and", { 0x21, 0xd8 }, 2, true, 0, false, false, def_logic },
    { "sub", { 0x29, 0xd8 }, 2, true, 0, false, false, def_all },
    { "xor", { 0x31, 0xd8 }, 2, true, 0, false, false, def_logic },
    { "cmp", { 0x39, 0xd8 }, 2, true, 0, false, false, def_all },
    { "add r,rm", { 0x03, 0xc3 }, 2, true, 0, false, false, def_all },
    { "sbb r,rm", { 0x1b, 0xc3 }, 2, true, 0, false, false, def_all },
    { "test", { 0x85, 0xd8 }, 2, true, 0, false, false, def_logic },
    { "inc", { 0xff, 0xc0 }, 2, true, 0, false, false, def_all },
    { "dec", { 0xff, 0xc8 }, 2, true, 0, false, false, def_all },
    { "neg", { 0xf7, 0xd8 }, 2, true, 0, false, false, def_all },
    { "not", { 0xf7, 0xd0 }, 2, true, 0, false, false, def_all },
    { "mul", { 0xf7, 0xe3 }, 2, true, 0, false, false, def_mul },
    { "imul1", { 0xf7, 0xeb }, 2, true, 0, false, false, def_mul },
    { "imul2", { 0x0f, 0xaf, 0xc3 }, 3, false, 0, true, false, def_mul },
    { "imul3", { 0x6b, 0xc3, 0x85 }, 3, false, 0, true, false, def_mul },
    { "rol cl", { 0xd3, 0xc0 }, 2, true, 0, false, false, def_rotate, false, true },
    { "ror cl", { 0xd3, 0xc8 }, 2, true, 0, false, false, def_rotate, false, true },
    { "rcl cl", { 0xd3, 0xd0 }, 2, true, 0, false, false, def_rotate, false, true },
    { "rcr cl", { 0xd3, 0xd8 }, 2, true, 0, false, false, def_rotate, false, true },
    { "shl cl", { 0xd3, 0xe0 }, 2, true, 0, false, false, def_shl_shr, false, true },
    { "shr cl", { 0xd3, 0xe8 }, 2, true, 0, false, false, def_shl_shr, false, true },
    { "sar cl", { 0xd3, 0xf8 }, 2, true, 0, false, false, def_shift, false, true },
    { "shl 1", { 0xd1, 0xe0 }, 2, true, 0, false, false, def_shift1 },
    { "shr 1", { 0xd1, 0xe8 }, 2, true, 0, false, false, def_shift1 },
    { "sar 1", { 0xd1, 0xf8 }, 2, true, 0, false, false, def_shift1 },
    { "rol 1", { 0xd1, 0xc0 }, 2, true, 0, false, false, def_all },
    { "rcr 1", { 0xd1, 0xd8 }, 2, true, 0, false, false, def_all },
    { "shl imm", { 0xc1, 0xe0, 0x05 }, 3, true, 0, false, false, def_shift5 },
    { "bt", { 0x0f, 0xa3, 0xd8 }, 3, false, 0, true, false, def_bt },
    { "bts", { 0x0f, 0xab, 0xd8 }, 3, false, 0, true, false, def_bt },
    { "btr", { 0x0f, 0xb3, 0xd8 }, 3, false, 0, true, false, def_bt },
    { "btc", { 0x0f, 0xbb, 0xd8 }, 3, false, 0, true, false, def_bt },
    { "bsf", { 0x0f, 0xbc, 0xc3 }, 3, false, 0, true, false, def_bsf, true },
    { "bsr", { 0x0f, 0xbd, 0xc3 }, 3, false, 0, true, false, def_bsf, true },
    { "shld cl", { 0x0f, 0xa5, 0xd8 }, 3, false, 0, true, false, def_shld, false, true, true },
    { "shrd cl", { 0x0f, 0xad, 0xd8 }, 3, false, 0, true, false, def_shld, false, true, true },
    { "xadd", { 0x0f, 0xc1, 0xd8 }, 3, true, 1, false, false, def_all },
    { "cmpxchg", { 0x0f, 0xb1, 0xda }, 3, true, 1, false, false, def_all },
    { "cmovl", { 0x0f, 0x4c, 0xc3 }, 3, false, 0, true, false, def_all },
    /* A compare followed by every SETcc into CL: exercises condition codes. */
    { "cmp+setb", { 0x39, 0xd8, 0x0f, 0x92, 0xc1 }, 5, false, 0, true, false, def_all },
    { "cmp+setbe", { 0x39, 0xd8, 0x0f, 0x96, 0xc1 }, 5, false, 0, true, false, def_all },
    { "cmp+setl", { 0x39, 0xd8, 0x0f, 0x9c, 0xc1 }, 5, false, 0, true, false, def_all },
    { "cmp+setle", { 0x39, 0xd8, 0x0f, 0x9e, 0xc1 }, 5, false, 0, true, false, def_all },
    { "cmp+seto", { 0x39, 0xd8, 0x0f, 0x90, 0xc1 }, 5, false, 0, true, false, def_all },
    { "cmp+setp", { 0x39, 0xd8, 0x0f, 0x9a, 0xc1 }, 5, false, 0, true, false, def_all },
    { "cmp+sets", { 0x39, 0xd8, 0x0f, 0x98, 0xc1 }, 5, false, 0, true, false, def_all },
    { "test+setle", { 0x85, 0xd8, 0x0f, 0x9e, 0xc1 }, 5, false, 0, true, false, def_logic },
    { "sub+setg", { 0x29, 0xd8, 0x0f, 0x9f, 0xc1 }, 5, false, 0, true, false, def_all },
    { "add+seta", { 0x01, 0xd8, 0x0f, 0x97, 0xc1 }, 5, false, 0, true, false, def_all },
    { "inc+setle", { 0xff, 0xc0, 0x0f, 0x9e, 0xc1 }, 5, false, 0, true, false, def_all },
    { "shl+setbe", { 0xd3, 0xe0, 0x0f, 0x96, 0xc1 }, 5, false, 0, true, false, def_shl_shr,
      false, true },
};

static const uint64_t values[] = {
    0, 1, 2, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0x100000000ull,
    0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
    0x123456789abcdef0ull, 0xfedcba9876543210ull, 0x0f0f0f0f0f0f0f0full, 0x5a5a5a5aa5a5a5a5ull,
};

static const uint64_t counts[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 0x41 };

/* Encodes op at size: 66 for 16-bit, REX.W for 64-bit, opcode-1 for 8-bit. */
static size_t encode(const Op *op, unsigned size, uint8_t *out)
{
    size_t n = 0;
    /* Multi-instruction sequences: the size prefix goes on the first one. */
    if (size == 2) {
        out[n++] = 0x66;
    } else if (size == 8) {
        out[n++] = 0x48;
    }
    memcpy(out + n, op->bytes, op->len);
    if (size == 1) {
        out[n + op->byte_opcode_index] -= 1;
    }
    return n + op->len;
}

static void check_case(const Op *op, unsigned size, const uint8_t *insn, size_t len,
                       const RegState *in)
{
    RegState native = *in, emu;
    unsigned defined = op->defined(in, size);
    bool compare_result = true;

    run_native(insn, len, &native);
    guest_run(in, &emu);
    cases_run++;

    if (op->shld && size == 2 && count_of(in, size) > 16) {
        compare_result = false;
    }
    if (compare_result && (native.rax != emu.rax || native.rbx != emu.rbx ||
                           native.rcx != emu.rcx || native.rdx != emu.rdx)) {
        g_test_message("%s/%u in rax=%" PRIx64 " rbx=%" PRIx64 " rcx=%" PRIx64 " flags=%" PRIx64
                       ": native rax=%" PRIx64 " rbx=%" PRIx64 " rcx=%" PRIx64 " rdx=%" PRIx64
                       ", tcg rax=%" PRIx64 " rbx=%" PRIx64 " rcx=%" PRIx64 " rdx=%" PRIx64,
                       op->name, size, in->rax, in->rbx, in->rcx, in->flags, native.rax,
                       native.rbx, native.rcx, native.rdx, emu.rax, emu.rbx, emu.rcx, emu.rdx);
        g_assert_not_reached();
    }
    if ((native.flags & defined) != (emu.flags & defined)) {
        g_test_message("%s/%u in rax=%" PRIx64 " rbx=%" PRIx64 " rcx=%" PRIx64 " flags=%" PRIx64
                       ": native flags=%03" PRIx64 " tcg flags=%03" PRIx64 " (defined %03x)",
                       op->name, size, in->rax, in->rbx, in->rcx, in->flags,
                       native.flags & F_ALL, emu.flags & F_ALL, defined);
        g_assert_not_reached();
    }
}

static void test_op(gconstpointer data)
{
    const Op *op = data;
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    static const uint64_t flag_inputs[] = { 0x2, 0x2 | F_ALL };

    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        unsigned size = sizes[s];
        uint8_t insn[16];
        size_t len;
        if ((size == 1 && (op->no_byte || !op->has_byte_form)) || (size == 2 && op->no_word)) {
            continue;
        }
        len = encode(op, size, insn);
        /* Sequences with a second instruction: keep it unprefixed (SETcc). */
        guest_load_code(insn, len);
        for (unsigned a = 0; a < G_N_ELEMENTS(values); a++) {
            for (unsigned b = 0; b < G_N_ELEMENTS(values); b++) {
                for (unsigned f = 0; f < G_N_ELEMENTS(flag_inputs); f++) {
                    unsigned nc = op->shift_count ? G_N_ELEMENTS(counts) : 1;
                    for (unsigned k = 0; k < nc; k++) {
                        RegState in = {
                            .rax = values[a], .rbx = values[b],
                            .rcx = op->shift_count ? counts[k] : 0x1111111111111111ull,
                            .rdx = values[(a + b) % G_N_ELEMENTS(values)],
                            .flags = flag_inputs[f],
                        };
                        check_case(op, size, insn, len, &in);
                    }
                }
            }
        }
        /* Random inputs; rerun with --seed to reproduce a failure. */
        for (unsigned k = 0; k < 400; k++) {
            RegState in = {
                .rax = tm_rand_operand(), .rbx = tm_rand_operand(),
                .rcx = tm_rand_operand(), .rdx = tm_rand_operand(),
                .flags = 0x2 | ((uint64_t)g_test_rand_int() & F_ALL),
            };
            if (op->shift_count) {
                in.rcx &= 0xff;
            }
            check_case(op, size, insn, len, &in);
        }
    }
}

static void test_cases_counted(void)
{
    g_test_message("%lu cases compared against the host CPU", cases_run);
    g_assert_cmpuint(cases_run, >, 10000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    native_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(native_page != MAP_FAILED);

    tm_machine_init(&machine, RAM_SIZE);
    cpu = machine.cpu;
    /* Identity map of the first 1 GiB with 2 MiB pages. */
    tm_build_long_identity_map(PML4_ADDR, false);

    for (unsigned i = 0; i < G_N_ELEMENTS(ops); i++) {
        char *path = g_strdup_printf("/tcg/flags/%s", ops[i].name);
        for (char *p = path; *p; p++) {
            if (*p == ' ' || *p == ',' || *p == '+') {
                *p = '_';
            }
        }
        g_test_add_data_func(path, &ops[i], test_op);
        g_free(path);
    }
    g_test_add_func("/tcg/flags/zz-count", test_cases_counted);
    return g_test_run();
}
