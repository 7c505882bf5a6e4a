/*
 * Differential tests of the integer instruction-set extensions and decoder
 * corner cases: the same bytes run natively and under TCG (64-bit guest);
 * registers, a 32-byte memory area and the architecturally defined flags
 * must match. Covers BMI1, BMI2 (VEX), ADX, MOVBE, LZCNT/TZCNT, POPCNT,
 * CMPXCHG8B/16B, LOCKed read-modify-writes, NOP forms and prefix rules.
 * Then guest-only checks of the faults (#UD/#GP) and of the instructions
 * whose results cannot be compared (RDRAND, RDSEED, RDPID, FSGSBASE).
 */
#include <sys/mman.h>
#include "kestrel/osdep.h"
#include "tcg-test-machine.h"

#define RAM_SIZE (4u << 20)
#define GDT_ADDR 0x800u
#define IDT_ADDR 0x2000u
#define STUBS_ADDR 0x4000u
#define PML4_ADDR 0x10000u
#define CODE_ADDR 0x100000u
#define STACK_TOP 0x200000u
/* Mapped at the same address natively and in the guest. */
#define DATA_ADDR 0x300000u
#define DATA_SIZE 32u

#define SEL_CODE64 TM_SEL_CODE64
#define SEL_CODE32 TM_SEL_CODE32
#define SEL_DATA TM_SEL_DATA

/* No exception: the stubs put the vector in RBP. */
#define NO_VECTOR 0xdeadull

typedef struct RegState {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, flags;
} RegState;

static TcgTestMachine machine;
static CPUState *cpu;
static CPUX86State *env;
static uint8_t *native_page;
static uint8_t *native_data;
static unsigned long cases_run;

/* Loads RAX..RSI, RFLAGS and last RDI from the RegState RDI points to. */
#define LOAD_REGSTATE_FROM_RDI                                                     \
    "  mov 0(%rdi), %rax\n"                                                        \
    "  mov 8(%rdi), %rbx\n"                                                        \
    "  mov 16(%rdi), %rcx\n"                                                       \
    "  mov 24(%rdi), %rdx\n"                                                       \
    "  mov 32(%rdi), %rsi\n"                                                       \
    "  pushq 48(%rdi)\n"                                                           \
    "  popfq\n"                                                                    \
    "  mov 40(%rdi), %rdi\n"

/* Stores RAX..RSI into the RegState RDI points to. */
#define STORE_REGSTATE_GPRS_TO_RDI                                                 \
    "  mov %rax, 0(%rdi)\n"                                                        \
    "  mov %rbx, 8(%rdi)\n"                                                        \
    "  mov %rcx, 16(%rdi)\n"                                                       \
    "  mov %rdx, 24(%rdi)\n"                                                       \
    "  mov %rsi, 32(%rdi)\n"

/* Native trampoline around the instruction under test (rdi = RegState*). */
__asm__(".pushsection .rodata\n"
        ".globl ins_head, ins_head_end, ins_tail, ins_tail_end\n"
        "ins_head:\n"
        "  push %rbx\n"
        "  push %rdi\n"
        LOAD_REGSTATE_FROM_RDI
        "ins_head_end:\n"
        "ins_tail:\n"
        "  pushfq\n"
        "  xchg %rdi, 8(%rsp)\n"
        "  popq 48(%rdi)\n"
        STORE_REGSTATE_GPRS_TO_RDI
        "  popq 40(%rdi)\n"
        "  pop %rbx\n"
        "  ret\n"
        "ins_tail_end:\n"
        ".popsection\n");
extern const uint8_t ins_head[], ins_head_end[], ins_tail[], ins_tail_end[];

/* The same for 32-bit code (BCD instructions do not exist in 64-bit mode):
 * a far return into the process's 32-bit user code segment (Linux keeps one
 * in the GDT, selector 0x23) and a 32-bit far return back. The blob runs
 * from a page below 4 GiB with its own stack there. */
__asm__(".pushsection .rodata\n"
        ".globl c32_blob, c32_code, c32_blob_end\n"
        "c32_blob:\n"
        "c32_saved_rsp: .quad 0\n"
        "c32_saved_state: .quad 0\n"
        "  push %rbx\n"
        "  push %rbp\n"
        "  push %r12\n"
        "  push %r13\n"
        "  push %r14\n"
        "  push %r15\n"
        "  mov %rsp, c32_saved_rsp(%rip)\n"
        "  mov %rdi, c32_saved_state(%rip)\n"
        "  lea c32_blob+8192(%rip), %rsp\n"
        /* The frame the 32-bit LRET pops: EIP (4 bytes), then CS (4). */
        "  lea c32_back(%rip), %rax\n"
        "  xor %ecx, %ecx\n"
        "  mov %cs, %cx\n"
        "  shl $32, %rcx\n"
        "  or %rcx, %rax\n"
        "  push %rax\n"
        "  pushq $0x23\n"
        "  lea c32_code(%rip), %rax\n"
        "  push %rax\n"
        LOAD_REGSTATE_FROM_RDI
        "  lretq\n"
        "c32_back:\n"
        "  pushfq\n"
        "  push %rdi\n"
        "  mov c32_saved_state(%rip), %rdi\n"
        "  popq 40(%rdi)\n"
        "  popq 48(%rdi)\n"
        STORE_REGSTATE_GPRS_TO_RDI
        "  mov c32_saved_rsp(%rip), %rsp\n"
        "  pop %r15\n"
        "  pop %r14\n"
        "  pop %r13\n"
        "  pop %r12\n"
        "  pop %rbp\n"
        "  pop %rbx\n"
        "  ret\n"
        "c32_code:\n"
        "c32_blob_end:\n"
        ".popsection\n");
extern const uint8_t c32_blob[], c32_code[], c32_blob_end[];
static uint8_t *native_page32;     /* 8 KiB below 4 GiB: code, then stack */

static void run_native32(const uint8_t *insn, size_t len, RegState *st)
{
    size_t h = (size_t)(c32_blob_end - c32_blob);
    memcpy(native_page32, c32_blob, h);
    memcpy(native_page32 + h, insn, len);
    native_page32[h + len] = 0xcb;      /* lret (32-bit) */
    __builtin___clear_cache((char *)native_page32, (char *)native_page32 + h + len + 1);
    ((void (*)(RegState *))(void *)(native_page32 + 16))(st);
}

static void run_native(const uint8_t *insn, size_t len, RegState *st)
{
    tm_run_native(native_page, ins_head, ins_head_end, insn, len, ins_tail, ins_tail_end, st);
}

/* ---- guest ---- */

/* Exception stubs (tm_build_exception_stubs): "mov $v, %ebp; [pop %rsi;]
 * hlt"; the GDT; the identity map of the first 1 GiB with 2 MiB pages. */
static void build_stubs_and_tables(void)
{
    tm_build_flat_gdt(GDT_ADDR);
    tm_build_exception_stubs(STUBS_ADDR, 32, false);
    for (unsigned v = 0; v < 32; v++) {
        tm_write_gate64(IDT_ADDR, v, SEL_CODE64, tm_stub_addr(STUBS_ADDR, v), 0);
    }
    tm_build_long_identity_map(PML4_ADDR, false);
}

static void guest_load_code(const uint8_t *insn, size_t len)
{
    tm_load_with_hlt(CODE_ADDR, insn, len);
}

/* 64-bit mode; compat selects a 32-bit code segment (compatibility mode).
 * DS/ES/SS get non-zero bases: 64-bit mode must ignore them. */
static void guest_reset(bool compat)
{
    x86_cpu_reset(env);
    tm_set_long_mode(env, PML4_ADDR, compat ? SEL_CODE32 : SEL_CODE64, SEL_DATA, compat);
    if (!compat) {
        env->segs[R_ES].base = 0x1000000;
        env->segs[R_SS].base = 0x1000000;
        env->segs[R_DS].base = 0x1000000;
    }
    tm_set_descriptor_tables(env, GDT_ADDR, 0x1f, IDT_ADDR, 32 * 16 - 1);
    env->rip = CODE_ADDR;
    env->regs[R_ESP] = STACK_TOP;
    env->regs[R_EBP] = NO_VECTOR;
}

static void guest_exec(void)
{
    tlb_flush(tcg_cpu(cpu));
    g_assert_cmpint(tcg_exec_vcpu(cpu), ==, VCPU_EXIT_HALT);
}

static void guest_run(const RegState *in, RegState *out)
{
    guest_reset(false);
    env->regs[R_EAX] = in->rax;
    env->regs[R_EBX] = in->rbx;
    env->regs[R_ECX] = in->rcx;
    env->regs[R_EDX] = in->rdx;
    env->regs[R_ESI] = in->rsi;
    env->regs[R_EDI] = in->rdi;
    x86_cpu_set_eflags(env, in->flags);
    guest_exec();
    if (env->regs[R_EBP] != NO_VECTOR) {
        g_test_message("unexpected exception %" PRIu64 " at rip %" PRIx64,
                       env->regs[R_EBP], env->rip);
        g_assert_not_reached();
    }
    out->rax = env->regs[R_EAX];
    out->rbx = env->regs[R_EBX];
    out->rcx = env->regs[R_ECX];
    out->rdx = env->regs[R_EDX];
    out->rsi = env->regs[R_ESI];
    out->rdi = env->regs[R_EDI];
    out->flags = x86_cpu_get_eflags(env);
}

/* ---- the differential cases ---- */

enum { ENC_LEGACY, ENC_VEX };

typedef struct Op {
    const char *name;
    uint8_t enc;
    uint8_t pfx;             /* legacy: mandatory prefix (0 = none), before REX.W */
    uint8_t bytes[12];       /* legacy: opcode onwards; VEX: from C4 */
    uint8_t len;
    uint8_t sizes;           /* bit mask: 1<<1 (16), 1<<2 (32), 1<<3 (64), 1<<0 (none) */
    unsigned defined;        /* flags compared */
    bool mem;                /* rsi points at the data area */
    /* Inputs the host can run (no #DE natively); NULL = all. */
    bool (*valid)(const RegState *in, unsigned size);
} Op;

static uint64_t mask_of(unsigned size)
{
    return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* DIV r/m = rCX (CL for bytes): no #DE. */
static bool div_ok(const RegState *in, unsigned size)
{
    uint64_t d = in->rcx & mask_of(size);
    if (d == 0) {
        return false;
    }
    if (size == 1) {
        return (in->rax & 0xffff) / d <= 0xff;
    }
    /* The quotient fits iff the high half is below the divisor. */
    return (in->rdx & mask_of(size)) < d;
}

static bool idiv_ok(const RegState *in, unsigned size)
{
    __int128 n, q;
    int64_t d;
    unsigned bits = size * 8;
    switch (size) {
    case 1: d = (int8_t)in->rcx; n = (int16_t)in->rax; break;
    case 2: d = (int16_t)in->rcx; n = (int32_t)(((in->rdx & 0xffff) << 16) | (in->rax & 0xffff));
        break;
    case 4: d = (int32_t)in->rcx; n = (int64_t)((in->rdx << 32) | (uint32_t)in->rax); break;
    default:
        d = (int64_t)in->rcx;
        n = (__int128)(((unsigned __int128)in->rdx << 64) | in->rax);
        break;
    }
    if (d == 0 || (d == -1 && size == 8)) {
        return false;
    }
    q = n / d;
    return q >= -((__int128)1 << (bits - 1)) && q < ((__int128)1 << (bits - 1));
}

static bool div8_ok(const RegState *in, unsigned size)
{
    return div_ok(in, 1);
}

static bool idiv8_ok(const RegState *in, unsigned size)
{
    return idiv_ok(in, 1);
}

/* A bit offset (rBX) inside the 32-byte data area. */
static bool bit_offset_ok(const RegState *in, unsigned size)
{
    return (uint32_t)in->rbx < DATA_SIZE * 8;
}

/* VEX3(map, vvvv, pp, opcode, modrm): W is set per size; R/X/B clear. */
#define VEX3(map, v, pp, op, modrm) \
    0xc4, 0xe0 | (map), (uint8_t)(((~(v) & 15) << 3) | (pp)), op, modrm
#define S16 (1u << 1)
#define S32 (1u << 2)
#define S64 (1u << 3)
#define SNONE (1u << 0)
#define SVEX (S32 | S64)
#define SALL (S16 | S32 | S64)
#define FL_SZC (F_SF | F_ZF | F_CF | F_OF)

/* ModRM 0xc1: reg = rax, r/m = rcx; VEX.vvvv = rbx (3). 0x06: reg = rax, [rsi]. */
static const Op ops[] = {
    /* BMI1 */
    { "andn", ENC_VEX, 0, { VEX3(2, 3, 0, 0xf2, 0xc1) }, 5, SVEX, FL_SZC },
    { "blsr", ENC_VEX, 0, { VEX3(2, 3, 0, 0xf3, 0xc9) }, 5, SVEX, FL_SZC },
    { "blsmsk", ENC_VEX, 0, { VEX3(2, 3, 0, 0xf3, 0xd1) }, 5, SVEX, FL_SZC },
    { "blsi", ENC_VEX, 0, { VEX3(2, 3, 0, 0xf3, 0xd9) }, 5, SVEX, FL_SZC },
    { "bextr", ENC_VEX, 0, { VEX3(2, 3, 0, 0xf7, 0xc1) }, 5, SVEX, F_ZF | F_CF | F_OF },
    { "bextr mem", ENC_VEX, 0, { VEX3(2, 3, 0, 0xf7, 0x06) }, 5, SVEX, F_ZF | F_CF | F_OF,
      true },
    { "tzcnt", ENC_LEGACY, 0xf3, { 0x0f, 0xbc, 0xc1 }, 3, SALL, F_ZF | F_CF },
    { "lzcnt", ENC_LEGACY, 0xf3, { 0x0f, 0xbd, 0xc1 }, 3, SALL, F_ZF | F_CF },
    /* With a zero source the destination keeps all its bits (AMD documents
     * it, Intel does it). */
    { "bsf", ENC_LEGACY, 0, { 0x0f, 0xbc, 0xc1 }, 3, SALL, F_ZF },
    { "bsr", ENC_LEGACY, 0, { 0x0f, 0xbd, 0xc1 }, 3, SALL, F_ZF },
    { "popcnt", ENC_LEGACY, 0xf3, { 0x0f, 0xb8, 0xc1 }, 3, SALL, F_ALL },
    /* BMI2 */
    { "bzhi", ENC_VEX, 0, { VEX3(2, 3, 0, 0xf5, 0xc1) }, 5, SVEX, FL_SZC },
    { "pext", ENC_VEX, 0, { VEX3(2, 3, 2, 0xf5, 0xc1) }, 5, SVEX, F_ALL },
    { "pdep", ENC_VEX, 0, { VEX3(2, 3, 3, 0xf5, 0xc1) }, 5, SVEX, F_ALL },
    { "mulx", ENC_VEX, 0, { VEX3(2, 3, 3, 0xf6, 0xc1) }, 5, SVEX, F_ALL },
    { "mulx same", ENC_VEX, 0, { VEX3(2, 0, 3, 0xf6, 0xc1) }, 5, SVEX, F_ALL },
    { "mulx mem", ENC_VEX, 0, { VEX3(2, 3, 3, 0xf6, 0x06) }, 5, SVEX, F_ALL, true },
    { "rorx", ENC_VEX, 0, { VEX3(3, 0, 3, 0xf0, 0xc1), 0x25 }, 6, SVEX, F_ALL },
    { "rorx 1", ENC_VEX, 0, { VEX3(3, 0, 3, 0xf0, 0xc1), 0x01 }, 6, SVEX, F_ALL },
    { "shlx", ENC_VEX, 0, { VEX3(2, 3, 1, 0xf7, 0xc1) }, 5, SVEX, F_ALL },
    { "sarx", ENC_VEX, 0, { VEX3(2, 3, 2, 0xf7, 0xc1) }, 5, SVEX, F_ALL },
    { "shrx", ENC_VEX, 0, { VEX3(2, 3, 3, 0xf7, 0xc1) }, 5, SVEX, F_ALL },
    /* Two-byte VEX (C5) form of ANDN does not exist (map 0F38 needs C4);
     * C5 with map 0F only has SIMD forms: covered by the #UD checks. */
    /* ADX */
    { "adcx", ENC_LEGACY, 0x66, { 0x0f, 0x38, 0xf6, 0xc1 }, 4, S32 | S64, F_ALL },
    { "adox", ENC_LEGACY, 0xf3, { 0x0f, 0x38, 0xf6, 0xc1 }, 4, S32 | S64, F_ALL },
    { "adcx mem", ENC_LEGACY, 0x66, { 0x0f, 0x38, 0xf6, 0x06 }, 4, S32 | S64, F_ALL, true },
    /* MOVBE */
    { "movbe load", ENC_LEGACY, 0, { 0x0f, 0x38, 0xf0, 0x06 }, 4, SALL, F_ALL, true },
    { "movbe store", ENC_LEGACY, 0, { 0x0f, 0x38, 0xf1, 0x06 }, 4, SALL, F_ALL, true },
    /* Compare-exchange and locked read-modify-writes on memory */
    { "cmpxchg8b", ENC_LEGACY, 0, { 0x0f, 0xc7, 0x0e }, 3, SNONE, F_ZF, true },
    { "lock cmpxchg8b", ENC_LEGACY, 0xf0, { 0x0f, 0xc7, 0x0e }, 3, SNONE, F_ZF, true },
    { "cmpxchg16b", ENC_LEGACY, 0xf0, { 0x48, 0x0f, 0xc7, 0x0e }, 4, SNONE, F_ZF, true },
    { "lock cmpxchg", ENC_LEGACY, 0xf0, { 0x0f, 0xb1, 0x06 }, 3, SALL, F_ALL, true },
    { "lock xadd", ENC_LEGACY, 0xf0, { 0x0f, 0xc1, 0x06 }, 3, SALL, F_ALL, true },
    { "xchg mem", ENC_LEGACY, 0, { 0x87, 0x06 }, 2, SALL, F_ALL, true },
    { "lock add", ENC_LEGACY, 0xf0, { 0x01, 0x06 }, 2, SALL, F_ALL, true },
    { "lock adc", ENC_LEGACY, 0xf0, { 0x11, 0x06 }, 2, SALL, F_ALL, true },
    { "lock sbb imm", ENC_LEGACY, 0xf0, { 0x83, 0x1e, 0x85 }, 3, SALL, F_ALL, true },
    { "lock and", ENC_LEGACY, 0xf0, { 0x21, 0x06 }, 2, SALL, F_ALL & ~F_AF, true },
    { "lock neg", ENC_LEGACY, 0xf0, { 0xf7, 0x1e }, 2, SALL, F_ALL, true },
    { "lock not", ENC_LEGACY, 0xf0, { 0xf7, 0x16 }, 2, SALL, F_ALL, true },
    { "lock inc", ENC_LEGACY, 0xf0, { 0xff, 0x06 }, 2, SALL, F_ALL, true },
    { "lock dec", ENC_LEGACY, 0xf0, { 0xff, 0x0e }, 2, SALL, F_ALL, true },
    { "lock bts imm", ENC_LEGACY, 0xf0, { 0x0f, 0xba, 0x2e, 0x05 }, 4, SALL, F_CF, true },
    { "lock btc imm", ENC_LEGACY, 0xf0, { 0x0f, 0xba, 0x3e, 0x21 }, 4, SALL, F_CF, true },
    /* NOP forms (with memory operands that are never accessed) */
    { "nop Ev", ENC_LEGACY, 0, { 0x0f, 0x1f, 0x00 }, 3, SALL, F_ALL },
    { "nop 8", ENC_LEGACY, 0, { 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0 }, 8, SNONE, F_ALL },
    { "nop 10", ENC_LEGACY, 0x66,
      { 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0 }, 9, SNONE, F_ALL },
    { "prefetcht0", ENC_LEGACY, 0, { 0x0f, 0x18, 0x0e }, 3, SNONE, F_ALL, true },
    { "prefetchnta", ENC_LEGACY, 0, { 0x0f, 0x18, 0x06 }, 3, SNONE, F_ALL, true },
    { "hint nop 0f19", ENC_LEGACY, 0, { 0x0f, 0x19, 0xc0 }, 3, SNONE, F_ALL },
    { "hint nop 0f1e", ENC_LEGACY, 0, { 0x0f, 0x1e, 0xc8 }, 3, SNONE, F_ALL },
    { "endbr64", ENC_LEGACY, 0xf3, { 0x0f, 0x1e, 0xfa }, 3, SNONE, F_ALL },
    { "pause", ENC_LEGACY, 0xf3, { 0x90 }, 1, SNONE, F_ALL },
    { "xchg r8 (rex.b 90)", ENC_LEGACY, 0, { 0x41, 0x90, 0x4c, 0x87, 0xc0 }, 5, SNONE,
      F_ALL },
    /* Data movement and conversions */
    { "cbw", ENC_LEGACY, 0, { 0x98 }, 1, SALL, F_ALL },
    { "cwd", ENC_LEGACY, 0, { 0x99 }, 1, SALL, F_ALL },
    { "bswap", ENC_LEGACY, 0, { 0x0f, 0xc8 }, 2, SALL, F_ALL },
    { "movzx b", ENC_LEGACY, 0, { 0x0f, 0xb6, 0xc1 }, 3, SALL, F_ALL },
    { "movzx b high", ENC_LEGACY, 0, { 0x0f, 0xb6, 0xc5 }, 3, S16 | S32, F_ALL },
    { "movzx w", ENC_LEGACY, 0, { 0x0f, 0xb7, 0xc1 }, 3, S32 | S64, F_ALL },
    { "movsx b", ENC_LEGACY, 0, { 0x0f, 0xbe, 0xc1 }, 3, SALL, F_ALL },
    { "movsx w", ENC_LEGACY, 0, { 0x0f, 0xbf, 0xc1 }, 3, S32 | S64, F_ALL },
    { "movsxd", ENC_LEGACY, 0, { 0x63, 0xc1 }, 2, SALL, F_ALL },
    { "xchg acc", ENC_LEGACY, 0, { 0x91 }, 1, SALL, F_ALL },
    { "xchg reg", ENC_LEGACY, 0, { 0x87, 0xc1 }, 2, SALL, F_ALL },
    { "lea sib", ENC_LEGACY, 0, { 0x8d, 0x44, 0x8b, 0x85 }, 4, SALL, F_ALL },
    { "lea addr32", ENC_LEGACY, 0x67, { 0x8d, 0x44, 0x4b, 0x7f }, 4, SALL, F_ALL },
    { "movnti", ENC_LEGACY, 0, { 0x0f, 0xc3, 0x06 }, 3, S32 | S64, F_ALL, true },
    { "movbe mem 16 keeps high", ENC_LEGACY, 0x66, { 0x0f, 0x38, 0xf0, 0x46, 0x03 }, 5, SNONE,
      F_ALL, true },
    { "popcnt mem", ENC_LEGACY, 0xf3, { 0x0f, 0xb8, 0x06 }, 3, SALL, F_ALL, true },
    /* Flag instructions */
    { "lahf", ENC_LEGACY, 0, { 0x9f }, 1, SNONE, F_ALL },
    { "sahf", ENC_LEGACY, 0, { 0x9e }, 1, SNONE, F_ALL },
    { "cmc", ENC_LEGACY, 0, { 0xf5 }, 1, SNONE, F_ALL },
    { "clc", ENC_LEGACY, 0, { 0xf8 }, 1, SNONE, F_ALL },
    { "stc", ENC_LEGACY, 0, { 0xf9 }, 1, SNONE, F_ALL },
    /* Immediate forms the flags test does not cover */
    { "adc imm8", ENC_LEGACY, 0, { 0x83, 0xd1, 0x85 }, 3, SALL, F_ALL },
    { "sbb imm8", ENC_LEGACY, 0, { 0x83, 0xd9, 0x01 }, 3, SALL, F_ALL },
    { "test imm", ENC_LEGACY, 0, { 0xf7, 0xc1, 0x80, 0x00, 0x00, 0x80 }, 6, S32 | S64,
      F_ALL & ~F_AF },
    { "imul imm32", ENC_LEGACY, 0, { 0x69, 0xc1, 0x01, 0x00, 0x01, 0x80 }, 6, S32 | S64,
      F_CF | F_OF },
    { "rol imm", ENC_LEGACY, 0, { 0xc1, 0xc1, 0x05 }, 3, SALL, F_ALL & ~F_OF },
    { "ror imm", ENC_LEGACY, 0, { 0xc1, 0xc9, 0x05 }, 3, SALL, F_ALL & ~F_OF },
    { "rcl imm 9", ENC_LEGACY, 0, { 0xc1, 0xd1, 0x09 }, 3, SALL, F_ALL & ~F_OF },
    { "rcr imm 17", ENC_LEGACY, 0, { 0xc1, 0xd9, 0x11 }, 3, SALL, F_ALL & ~F_OF },
    { "rcl 1", ENC_LEGACY, 0, { 0xd1, 0xd1 }, 2, SALL, F_ALL },
    { "ror 1", ENC_LEGACY, 0, { 0xd1, 0xc9 }, 2, SALL, F_ALL },
    { "sar imm", ENC_LEGACY, 0, { 0xc1, 0xf9, 0x07 }, 3, SALL, F_CF | F_ZF | F_SF | F_PF },
    { "shld imm", ENC_LEGACY, 0, { 0x0f, 0xa4, 0xd9, 0x05 }, 4, SALL, F_CF | F_ZF | F_SF | F_PF },
    { "shrd imm", ENC_LEGACY, 0, { 0x0f, 0xac, 0xd9, 0x07 }, 4, SALL, F_CF | F_ZF | F_SF | F_PF },
    { "shld imm 1", ENC_LEGACY, 0, { 0x0f, 0xa4, 0xd9, 0x01 }, 4, SALL, F_ALL & ~F_AF },
    { "bt imm", ENC_LEGACY, 0, { 0x0f, 0xba, 0xe1, 0x23 }, 4, SALL, F_CF },
    { "btr mem reg", ENC_LEGACY, 0, { 0x0f, 0xb3, 0x1e }, 3, SNONE, F_CF, true,
      bit_offset_ok },
    { "div", ENC_LEGACY, 0, { 0xf7, 0xf1 }, 2, SALL, 0, false, div_ok },
    { "div byte", ENC_LEGACY, 0, { 0xf6, 0xf1 }, 2, SNONE, 0, false, div8_ok },
    { "idiv", ENC_LEGACY, 0, { 0xf7, 0xf9 }, 2, SALL, 0, false, idiv_ok },
    { "idiv byte", ENC_LEGACY, 0, { 0xf6, 0xf9 }, 2, SNONE, 0, false, idiv8_ok },
    /* Prefixes */
    { "66 66 add", ENC_LEGACY, 0x66, { 0x66, 0x01, 0xd8 }, 3, SNONE, F_ALL },
    { "rex then 66 (rex ignored)", ENC_LEGACY, 0, { 0x48, 0x66, 0x01, 0xd8 }, 4, SNONE, F_ALL },
    { "66 rex.w (64-bit wins)", ENC_LEGACY, 0x66, { 0x48, 0x01, 0xd8 }, 3, SNONE, F_ALL },
    { "two rex (last counts)", ENC_LEGACY, 0, { 0x48, 0x40, 0x01, 0xd8 }, 4, SNONE, F_ALL },
    { "es cs ss ds overrides ignored", ENC_LEGACY, 0x26,
      { 0x2e, 0x36, 0x3e, 0x8b, 0x06 }, 5, SALL, F_ALL, true },
    { "f3 f3 popcnt", ENC_LEGACY, 0xf3, { 0xf3, 0x0f, 0xb8, 0xc1 }, 4, SALL, F_ALL },
    { "f2 f3 popcnt (last wins)", ENC_LEGACY, 0xf2, { 0xf3, 0x0f, 0xb8, 0xc1 }, 4, SNONE, F_ALL },
    { "lock lock add", ENC_LEGACY, 0xf0, { 0xf0, 0x01, 0x06 }, 3, SNONE, F_ALL, true },
};

static const uint64_t values[] = {
    0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
    0x100000000ull, 0x8000000000000000ull, 0xffffffffffffffffull, 0x123456789abcdef0ull,
    0xfedcba9876543210ull, 0x0f0f0f0f0f0f0f0full, 0x1f08ull, 0x2010ull, 0x4005ull,
};

/* Encodes op at size: VEX.W for 64-bit VEX; 66 and REX.W around the
 * mandatory prefix for legacy encodings. */
static size_t encode(const Op *op, unsigned size, uint8_t *out)
{
    size_t n = 0;
    if (op->enc == ENC_VEX) {
        memcpy(out, op->bytes, op->len);
        if (size == 8) {
            out[2] |= 0x80;
        }
        return op->len;
    }
    if (size == 2) {
        out[n++] = 0x66;
    }
    if (op->pfx) {
        out[n++] = op->pfx;
    }
    if (size == 8) {
        out[n++] = 0x48;
    }
    memcpy(out + n, op->bytes, op->len);
    return n + op->len;
}

static void fill_data(uint8_t *d, uint64_t seed)
{
    for (unsigned k = 0; k < DATA_SIZE / 8; k++) {
        uint64_t v = values[(seed + k * 7) % G_N_ELEMENTS(values)] ^ (seed * 0x9e3779b97f4a7c15ull);
        memcpy(d + k * 8, &v, 8);
    }
}

static void check_case(const Op *op, unsigned size, const uint8_t *insn, size_t len,
                       const RegState *in, uint64_t data_seed)
{
    RegState native = *in, emu;
    uint8_t data[DATA_SIZE], emu_data[DATA_SIZE];

    if (op->valid && !op->valid(in, size ? size : 4)) {
        return;
    }

    fill_data(data, data_seed);
    if (op->mem) {
        /* The compare-exchange forms compare against the data sometimes. */
        if ((data_seed & 3) == 0) {
            memcpy(data, &in->rax, 8);
            memcpy(data + 8, &in->rdx, 8);
        }
    }
    memcpy(native_data, data, DATA_SIZE);
    tm_write(DATA_ADDR, data, DATA_SIZE);
    run_native(insn, len, &native);
    guest_run(in, &emu);
    tm_read(DATA_ADDR, emu_data, DATA_SIZE);
    cases_run++;

    if (native.rax != emu.rax || native.rbx != emu.rbx || native.rcx != emu.rcx ||
        native.rdx != emu.rdx || native.rsi != emu.rsi || native.rdi != emu.rdi) {
        g_test_message("%s/%u in rax=%" PRIx64 " rbx=%" PRIx64 " rcx=%" PRIx64 " rdx=%" PRIx64
                       ": native rax=%" PRIx64 " rbx=%" PRIx64 " rcx=%" PRIx64 " rdx=%" PRIx64
                       " rdi=%" PRIx64 ", tcg rax=%" PRIx64 " rbx=%" PRIx64 " rcx=%" PRIx64
                       " rdx=%" PRIx64 " rdi=%" PRIx64,
                       op->name, size, in->rax, in->rbx, in->rcx, in->rdx, native.rax,
                       native.rbx, native.rcx, native.rdx, native.rdi, emu.rax, emu.rbx,
                       emu.rcx, emu.rdx, emu.rdi);
        g_assert_not_reached();
    }
    if (memcmp(native_data, emu_data, DATA_SIZE)) {
        uint64_t n0, e0;
        memcpy(&n0, native_data, 8);
        memcpy(&e0, emu_data, 8);
        g_test_message("%s/%u in rax=%" PRIx64 " rbx=%" PRIx64 ": memory differs "
                       "(first qword native %" PRIx64 " tcg %" PRIx64 ")",
                       op->name, size, in->rax, in->rbx, n0, e0);
        g_assert_not_reached();
    }
    if ((native.flags & op->defined) != (emu.flags & op->defined)) {
        g_test_message("%s/%u in rax=%" PRIx64 " rbx=%" PRIx64 " rcx=%" PRIx64 " flags=%" PRIx64
                       ": native flags=%03" PRIx64 " tcg flags=%03" PRIx64 " (defined %03x)",
                       op->name, size, in->rax, in->rbx, in->rcx, in->flags,
                       native.flags & F_ALL, emu.flags & F_ALL, op->defined);
        g_assert_not_reached();
    }
}

static void test_op(gconstpointer data)
{
    const Op *op = data;
    static const uint64_t flag_inputs[] = { 0x2, 0x2 | F_ALL };

    for (unsigned size = 0; size <= 8; size = size ? size * 2 : 2) {
        uint8_t insn[24];
        size_t len;
        unsigned bit = size ? (unsigned)__builtin_ctz(size) : 0;
        if (!(op->sizes & (1u << bit))) {
            continue;
        }
        len = encode(op, size, insn);
        guest_load_code(insn, len);
        for (unsigned a = 0; a < G_N_ELEMENTS(values); a++) {
            for (unsigned b = 0; b < G_N_ELEMENTS(values); b++) {
                for (unsigned f = 0; f < G_N_ELEMENTS(flag_inputs); f++) {
                    RegState in = {
                        .rax = values[a], .rbx = values[b],
                        .rcx = values[(a * 3 + b) % G_N_ELEMENTS(values)],
                        .rdx = values[(a + b) % G_N_ELEMENTS(values)],
                        .rsi = DATA_ADDR, .rdi = 0x5555aaaa5555aaaaull,
                        .flags = flag_inputs[f],
                    };
                    check_case(op, size, insn, len, &in, a * 31 + b + f);
                }
            }
        }
        for (unsigned k = 0; k < 300; k++) {
            RegState in = {
                .rax = tm_rand_operand(), .rbx = tm_rand_operand(),
                .rcx = tm_rand_operand(), .rdx = tm_rand_operand(),
                .rsi = DATA_ADDR, .rdi = tm_rand_operand(),
                .flags = 0x2 | ((uint64_t)g_test_rand_int() & F_ALL),
            };
            check_case(op, size, insn, len, &in, (uint64_t)g_test_rand_int());
        }
    }
}

/* Every condition (SETcc, CMOVcc, Jcc) read from the lazy flags each
 * flag-setting operation leaves behind, at 16/32/64 bits. */
static void test_conditions(void)
{
    static const struct { const char *name; uint8_t bytes[2]; } producers[] = {
        { "add", { 0x01, 0xd8 } }, { "adc", { 0x11, 0xd8 } }, { "sub", { 0x29, 0xd8 } },
        { "sbb", { 0x19, 0xd8 } }, { "and", { 0x21, 0xd8 } }, { "or", { 0x09, 0xd8 } },
        { "xor", { 0x31, 0xd8 } }, { "cmp", { 0x39, 0xd8 } }, { "test", { 0x85, 0xd8 } },
        { "inc", { 0xff, 0xc0 } }, { "dec", { 0xff, 0xc8 } }, { "neg", { 0xf7, 0xd8 } },
        { "shl1", { 0xd1, 0xe0 } }, { "shr1", { 0xd1, 0xe8 } }, { "sar1", { 0xd1, 0xf8 } },
    };
    static const unsigned sizes[] = { 2, 4, 8 };

    for (unsigned p = 0; p < G_N_ELEMENTS(producers); p++) {
        for (unsigned cc = 0; cc < 16; cc++) {
            for (unsigned z = 0; z < G_N_ELEMENTS(sizes); z++) {
                unsigned size = sizes[z];
                Op op = { .name = producers[p].name, .defined = F_ALL & ~F_AF };
                uint8_t insn[24];
                size_t n = 0;
                if (size == 2) {
                    insn[n++] = 0x66;
                } else if (size == 8) {
                    insn[n++] = 0x48;
                }
                insn[n++] = producers[p].bytes[0];
                insn[n++] = producers[p].bytes[1];
                /* setcc %cl; cmovcc %ebx, %edx; jcc +2; inc %esi; inc %esi */
                insn[n++] = 0x0f; insn[n++] = (uint8_t)(0x90 + cc); insn[n++] = 0xc1;
                insn[n++] = 0x0f; insn[n++] = (uint8_t)(0x40 + cc); insn[n++] = 0xd3;
                insn[n++] = (uint8_t)(0x70 + cc); insn[n++] = 0x02;
                insn[n++] = 0xff; insn[n++] = 0xc6; insn[n++] = 0xff; insn[n++] = 0xc6;
                guest_load_code(insn, n);
                for (unsigned a = 0; a < 12; a++) {
                    for (unsigned b = 0; b < 12; b++) {
                        RegState in = {
                            .rax = values[a * 7 % G_N_ELEMENTS(values)],
                            .rbx = values[b * 5 % G_N_ELEMENTS(values)],
                            .rcx = 0x1111111111111111ull, .rdx = 0x2222222222222222ull,
                            .rsi = DATA_ADDR, .rdi = 0,
                            .flags = 0x2 | (((a + b) & 1) ? F_ALL : 0),
                        };
                        check_case(&op, size, insn, n, &in, a + b);
                    }
                }
            }
        }
    }
}

static void test_cases_counted(void)
{
    g_test_message("%lu cases compared against the host CPU", cases_run);
    g_assert_cmpuint(cases_run, >, 10000);
}

/* ---- BCD arithmetic in 32-bit code ---- */

static bool host_is_amd(void)
{
    uint32_t a, b, c, d;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    return b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;   /* AuthenticAMD */
}

typedef struct Op32 {
    const char *name;
    uint8_t bytes[4];
    uint8_t len;
    unsigned defined;
} Op32;

static const Op32 bcd_ops[] = {
    { "daa", { 0x27 }, 1, F_ALL & ~F_OF },
    { "das", { 0x2f }, 1, F_ALL & ~F_OF },
    { "aaa", { 0x37 }, 1, F_AF | F_CF },
    { "aas", { 0x3f }, 1, F_AF | F_CF },
    { "aam 10", { 0xd4, 0x0a }, 2, F_SF | F_ZF | F_PF },
    { "aam 16", { 0xd4, 0x10 }, 2, F_SF | F_ZF | F_PF },
    { "aam 3", { 0xd4, 0x03 }, 2, F_SF | F_ZF | F_PF },
    { "aad 10", { 0xd5, 0x0a }, 2, F_SF | F_ZF | F_PF },
    { "aad 7", { 0xd5, 0x07 }, 2, F_SF | F_ZF | F_PF },
    { "aad 0", { 0xd5, 0x00 }, 2, F_SF | F_ZF | F_PF },
};

static void test_bcd(gconstpointer data)
{
    const Op32 *op = data;
    static const uint64_t ah_values[] = { 0, 0x01, 0x12, 0x99, 0xff };
    /* The undefined flags follow what AMD hardware computes (the intermediate
     * additions); compared too on AMD hosts, reported elsewhere. */
    unsigned compared = host_is_amd() ? F_ALL : op->defined;
    unsigned undefined_diffs = 0, undefined_which = 0;

    guest_load_code(op->bytes, op->len);
    for (unsigned al = 0; al < 256; al++) {
        for (unsigned h = 0; h < G_N_ELEMENTS(ah_values); h++) {
            for (unsigned f = 0; f < 4; f++) {
                RegState in = {
                    .rax = 0x5a5a0000u | (ah_values[h] << 8) | al,
                    .rbx = 0x11111111, .rcx = 0x22222222, .rdx = 0x33333333,
                    .rsi = 0x44444444, .rdi = 0x55555555,
                    .flags = 0x2 | ((f & 1) ? F_CF : 0) | ((f & 2) ? F_AF : 0) |
                             ((uint64_t)g_test_rand_int() & (F_SF | F_ZF | F_PF | F_OF)),
                };
                RegState native = in, emu;
                run_native32(op->bytes, op->len, &native);
                guest_reset(true);
                env->regs[R_EAX] = in.rax;
                env->regs[R_EBX] = in.rbx;
                env->regs[R_ECX] = in.rcx;
                env->regs[R_EDX] = in.rdx;
                x86_cpu_set_eflags(env, in.flags);
                guest_exec();
                g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
                emu.rax = env->regs[R_EAX];
                emu.flags = x86_cpu_get_eflags(env);
                cases_run++;
                if ((uint32_t)native.rax != (uint32_t)emu.rax ||
                    (native.flags & compared) != (emu.flags & compared)) {
                    g_test_message("%s: in eax=%08" PRIx64 " flags=%03" PRIx64 ": native "
                                   "eax=%08" PRIx64 " flags=%03" PRIx64 ", tcg eax=%08" PRIx64
                                   " flags=%03" PRIx64, op->name, in.rax, in.flags & F_ALL,
                                   native.rax & 0xffffffff, native.flags & F_ALL,
                                   emu.rax & 0xffffffff, emu.flags & F_ALL);
                    g_assert_not_reached();
                }
                if ((native.flags ^ emu.flags) & F_ALL) {
                    undefined_diffs++;
                    undefined_which |= (unsigned)((native.flags ^ emu.flags) & F_ALL);
                }
            }
        }
    }
    if (undefined_diffs) {
        g_test_message("%s: %u cases differ in undefined flags (%03x) from this host",
                       op->name, undefined_diffs, undefined_which);
    }
}

/* ---- guest-only checks ---- */

/* Runs bytes in the guest; returns the exception vector or NO_VECTOR. */
static uint64_t guest_try(bool compat, const uint8_t *code, size_t len)
{
    guest_reset(compat);
    guest_load_code(code, len);
    env->regs[R_ESI] = DATA_ADDR;
    guest_exec();
    return env->regs[R_EBP];
}

typedef struct FaultCase {
    const char *name;
    uint8_t bytes[20];
    uint8_t len;
    uint8_t vector;
    bool compat;
} FaultCase;

static const FaultCase faults[] = {
    { "vex after 66", { 0x66, VEX3(2, 3, 0, 0xf2, 0xc1) }, 6, 6 },
    { "vex after f3", { 0xf3, VEX3(2, 3, 0, 0xf2, 0xc1) }, 6, 6 },
    { "vex after f2", { 0xf2, VEX3(2, 3, 0, 0xf2, 0xc1) }, 6, 6 },
    { "vex after lock", { 0xf0, VEX3(2, 3, 0, 0xf2, 0xc1) }, 6, 6 },
    { "vex after rex", { 0x48, VEX3(2, 3, 0, 0xf2, 0xc1) }, 6, 6 },
    { "vex.l=1", { 0xc4, 0xe2, 0x64, 0xf2, 0xc1 }, 5, 6 },
    { "vex bad map", { 0xc4, 0xe4, 0x60, 0xf2, 0xc1 }, 5, 6 },
    { "vex wrong pp", { VEX3(2, 3, 1, 0xf2, 0xc1) }, 5, 6 },
    { "c5 vex (simd)", { 0xc5, 0xf8, 0x77 }, 3, 6 },
    { "rorx vvvv!=1111", { VEX3(3, 3, 3, 0xf0, 0xc1), 1 }, 6, 6 },
    { "lock reg dest", { 0xf0, 0x01, 0xc0 }, 3, 6 },
    { "lock cmp", { 0xf0, 0x39, 0x06 }, 3, 6 },
    { "lock mov", { 0xf0, 0x89, 0x06 }, 3, 6 },
    { "lock nop", { 0xf0, 0x90 }, 2, 6 },
    { "lock andn", { 0xf0, VEX3(2, 3, 0, 0xf2, 0x06) }, 6, 6 },
    { "lock movbe", { 0xf0, 0x0f, 0x38, 0xf1, 0x06 }, 5, 6 },
    { "movbe reg", { 0x0f, 0x38, 0xf0, 0xc1 }, 4, 6 },
    { "cmpxchg8b reg", { 0x0f, 0xc7, 0xc9 }, 3, 6 },
    { "cmpxchg16b unaligned", { 0x48, 0x0f, 0xc7, 0x4e, 0x08 }, 5, 13 },
    { "rdrand f3", { 0xf3, 0x0f, 0xc7, 0xf0 }, 4, 6 },
    { "rdrand mem", { 0x0f, 0xc7, 0x36 }, 3, 6 },
    { "aam in 64-bit", { 0xd4, 0x0a }, 2, 6 },
    { "daa in 64-bit", { 0x27 }, 1, 6 },
    { "adcx no prefix", { 0x0f, 0x38, 0xf6, 0xc1 }, 4, 6 },
    { "rdfsbase cr4 off", { 0xf3, 0x48, 0x0f, 0xae, 0xc0 }, 5, 6 },
    { "15 bytes ok", { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                       0x2e, 0x0f, 0x1f, 0x00 }, 15, (uint8_t)NO_VECTOR },
    { "16 bytes", { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                    0x2e, 0x0f, 0x1f, 0x00 }, 16, 13 },
    { "f3 f2 popcnt (f2 last)", { 0xf3, 0xf2, 0x0f, 0xb8, 0xc1 }, 5, 6 },
    { "66 movnti", { 0x66, 0x0f, 0xc3, 0x06 }, 4, 6 },
    { "prefetchw reg", { 0x0f, 0x0d, 0xc0 }, 3, 6 },
    { "ud1", { 0x0f, 0xb9, 0xc0 }, 3, 6 },
    { "ud0", { 0x0f, 0xff, 0xc0 }, 3, 6 },
    { "salc in 64-bit", { 0xd6 }, 1, 6 },
    { "aam 0 (compat)", { 0xd4, 0x00 }, 2, 0, true },
    { "rdfsbase in compat", { 0xf3, 0x0f, 0xae, 0xc0 }, 4, 6, true },
};

static void test_faults(void)
{
    for (unsigned k = 0; k < G_N_ELEMENTS(faults); k++) {
        const FaultCase *f = &faults[k];
        uint64_t want = f->vector == (uint8_t)NO_VECTOR ? NO_VECTOR : f->vector;
        uint64_t got = guest_try(f->compat, f->bytes, f->len);
        if (got != want) {
            g_test_message("%s: vector %" PRIx64 ", expected %" PRIx64, f->name, got, want);
        }
        g_assert_cmphex(got, ==, want);
        /* The faulting instruction did not retire. */
        if (want != NO_VECTOR) {
            g_assert_cmphex(env->rip, ==, STUBS_ADDR + want * 16 + 5 +
                            ((want == 13) ? 1 : 0) + 1);
        }
    }
}

/* In compatibility mode C4/C5 with a memory ModRM are LES/LDS, and with a
 * register ModRM are VEX. */
static void test_les_vs_vex_compat(void)
{
    static const uint8_t les[] = { 0xc4, 0x06 };   /* les (%esi), %eax */
    static const uint8_t andn[] = { VEX3(2, 3, 0, 0xf2, 0xc1) };
    uint8_t far_ptr[6] = { 0x78, 0x56, 0x34, 0x12, SEL_DATA, 0 };

    tm_write(DATA_ADDR, far_ptr, sizeof(far_ptr));
    g_assert_cmphex(guest_try(true, les, sizeof(les)), ==, NO_VECTOR);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x12345678);
    g_assert_cmphex(env->segs[R_ES].selector, ==, SEL_DATA);

    guest_reset(true);
    guest_load_code(andn, sizeof(andn));
    env->regs[R_EBX] = 0xff00ff00;
    env->regs[R_ECX] = 0x12345678;
    env->regs[R_EAX] = 0xffffffffffffffffull;
    guest_exec();
    g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x00340078);
}

/* VEX.R/X/B and the fourth bit of VEX.vvvv reach r8-r15 in 64-bit mode. */
static void test_vex_extended_registers(void)
{
    static const uint8_t andn_regs[] = { 0xc4, 0x42, 0xa8, 0xf2, 0xc3 };  /* andn %r11,%r10,%r8 */
    /* andn (%rsi,%r9,8), %rbx, %rax */
    static const uint8_t andn_sib[] = { 0xc4, 0xa2, 0xe0, 0xf2, 0x04, 0xce };
    uint64_t v = 0x0123456789abcdefull;

    guest_reset(false);
    guest_load_code(andn_regs, sizeof(andn_regs));
    env->regs[10] = 0xff00ff00ff00ff00ull;
    env->regs[11] = 0x123456789abcdef0ull;
    guest_exec();
    g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
    g_assert_cmphex(env->regs[8], ==, 0x0034007800bc00f0ull);

    tm_write(DATA_ADDR, &v, 8);
    guest_reset(false);
    guest_load_code(andn_sib, sizeof(andn_sib));
    env->regs[R_ESI] = DATA_ADDR - 16;
    env->regs[9] = 2;
    env->regs[R_EBX] = 0xffffffff00000000ull;
    guest_exec();
    g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x89abcdefull);
}

static void test_rdrand_rdseed_rdpid(void)
{
    /* rdrand %rax; rdrand %rcx; rdseed %edx; rdrand %bx (66) */
    static const uint8_t code[] = { 0x48, 0x0f, 0xc7, 0xf0, 0x48, 0x0f, 0xc7, 0xf1,
                                    0x0f, 0xc7, 0xfa, 0x66, 0x0f, 0xc7, 0xf3 };
    static const uint8_t rdpid[] = { 0xf3, 0x0f, 0xc7, 0xf8 };   /* rdpid %rax */

    guest_reset(false);
    guest_load_code(code, sizeof(code));
    env->regs[R_EDX] = 0xffffffffffffffffull;
    env->regs[R_EBX] = 0xffffffffffff0000ull;
    x86_cpu_set_eflags(env, 0x2 | F_ALL);
    guest_exec();
    g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
    /* Two 64-bit random numbers are equal with probability 2^-64. */
    g_assert_cmphex(env->regs[R_EAX], !=, env->regs[R_ECX]);
    g_assert_cmphex(env->regs[R_EDX] >> 32, ==, 0);
    g_assert_cmphex(env->regs[R_EBX] >> 16, ==, 0xffffffffffffull);
    g_assert_cmphex(x86_cpu_get_eflags(env) & F_ALL, ==, F_CF);

    guest_reset(false);
    guest_load_code(rdpid, sizeof(rdpid));
    env->tsc_aux = 0x1234;
    env->regs[R_EAX] = 0xffffffffffffffffull;
    guest_exec();
    g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x1234);
}

static void test_fsgsbase(void)
{
    /* wrfsbase %rax; wrgsbase %ecx; rdfsbase %rdx; rdgsbase %rbx;
     * mov %fs:8, %rsi */
    static const uint8_t code[] = {
        0xf3, 0x48, 0x0f, 0xae, 0xd0, 0xf3, 0x0f, 0xae, 0xd9,
        0xf3, 0x48, 0x0f, 0xae, 0xc2, 0xf3, 0x48, 0x0f, 0xae, 0xcb,
        0x64, 0x48, 0x8b, 0x34, 0x25, 0x08, 0x00, 0x00, 0x00,
    };
    static const uint8_t bad[] = { 0xf3, 0x48, 0x0f, 0xae, 0xd0 };
    uint64_t marker = 0x1122334455667788ull;

    tm_write(DATA_ADDR + 8, &marker, 8);
    guest_reset(false);
    guest_load_code(code, sizeof(code));
    env->cr[4] |= CR4_FSGSBASE;
    env->regs[R_EAX] = DATA_ADDR;
    env->regs[R_ECX] = 0xffffffff87654321ull;
    guest_exec();
    g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
    g_assert_cmphex(env->segs[R_FS].base, ==, DATA_ADDR);
    g_assert_cmphex(env->segs[R_GS].base, ==, 0x87654321);
    g_assert_cmphex(env->regs[R_EDX], ==, DATA_ADDR);
    g_assert_cmphex(env->regs[R_EBX], ==, 0x87654321);
    g_assert_cmphex(env->regs[R_ESI], ==, marker);

    /* A non-canonical base: #GP. */
    guest_reset(false);
    guest_load_code(bad, sizeof(bad));
    env->cr[4] |= CR4_FSGSBASE;
    env->regs[R_EAX] = 0x0000800000000000ull;
    guest_exec();
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
}

/* Lowering CR8 (the APIC's TPR) may unblock an interrupt the APIC holds
 * back: the CPU must ask its interrupt controller again. Raising it must
 * not (the controller would only be asked for nothing). */
static void test_cr8_lowering_rechecks_interrupts(void)
{
    static const uint8_t mov_rax_cr8[] = { 0x44, 0x0f, 0x22, 0xc0 };

    guest_reset(false);
    guest_load_code(mov_rax_cr8, sizeof(mov_rax_cr8));
    env->cr8 = 5;
    env->regs[R_EAX] = 9;
    __atomic_store_n(&cpu->interrupt_request, 0, __ATOMIC_SEQ_CST);
    guest_exec();                                   /* IF=0: nothing is taken */
    g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
    g_assert_cmpuint(env->cr8, ==, 9);
    g_assert_cmphex(cpu->interrupt_request & CPU_INTERRUPT_HARD, ==, 0);

    guest_reset(false);
    guest_load_code(mov_rax_cr8, sizeof(mov_rax_cr8));
    env->cr8 = 5;
    env->regs[R_EAX] = 2;
    guest_exec();
    g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
    g_assert_cmpuint(env->cr8, ==, 2);
    g_assert_cmphex(cpu->interrupt_request & CPU_INTERRUPT_HARD, ==, CPU_INTERRUPT_HARD);

    /* With interrupts enabled and no interrupt controller to ask (this
     * test registers none), the request is dropped rather than kept: a
     * halted CPU must not stay awake for it. */
    guest_reset(false);
    guest_load_code((const uint8_t[]){ 0x90 }, 1);
    x86_cpu_set_eflags(env, 0x2 | 0x200);
    guest_exec();
    g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
    g_assert_cmphex(cpu->interrupt_request & CPU_INTERRUPT_HARD, ==, 0);
    __atomic_store_n(&cpu->interrupt_request, 0, __ATOMIC_SEQ_CST);
    env->cr8 = 0;
}

/* 64-bit mode: ES/CS/SS/DS prefixes neither override nor cancel FS/GS;
 * between FS and GS the last one counts (as on the host). */
static void test_segment_prefixes_64(void)
{
    static const struct { uint8_t bytes[6]; uint8_t len; uint64_t fs_base, gs_base; } cases[] = {
        { { 0x64, 0x3e, 0x48, 0x8b, 0x06 }, 5, 0x1000, 0 },       /* fs ds: fs */
        { { 0x3e, 0x64, 0x48, 0x8b, 0x06 }, 5, 0x1000, 0 },       /* ds fs: fs */
        { { 0x64, 0x2e, 0x26, 0x48, 0x8b, 0x06 }, 6, 0x1000, 0 }, /* fs cs es: fs */
        { { 0x64, 0x65, 0x48, 0x8b, 0x06 }, 5, 0x2000, 0x1000 },  /* fs gs: gs */
        { { 0x65, 0x64, 0x48, 0x8b, 0x06 }, 5, 0x1000, 0x2000 },  /* gs fs: fs */
    };
    uint64_t marker = 0xfeedfacecafebeefull;

    tm_write(DATA_ADDR, &marker, 8);
    for (unsigned k = 0; k < G_N_ELEMENTS(cases); k++) {
        guest_reset(false);
        guest_load_code(cases[k].bytes, cases[k].len);
        env->segs[R_FS].base = cases[k].fs_base;
        env->segs[R_GS].base = cases[k].gs_base;
        env->regs[R_ESI] = DATA_ADDR - 0x1000;
        guest_exec();
        g_assert_cmphex(env->regs[R_EBP], ==, NO_VECTOR);
        g_assert_cmphex(env->regs[R_EAX], ==, marker);
    }
}

static void test_cpuid_bits(void)
{
    uint32_t a, b, c, d;
    x86_cpu_get_cpuid(env, 1, 0, &a, &b, &c, &d);
    g_assert_cmphex(c & ((1u << 13) | (1u << 22) | (1u << 23) | (1u << 30)), ==,
                    (1u << 13) | (1u << 22) | (1u << 23) | (1u << 30));
    x86_cpu_get_cpuid(env, 7, 0, &a, &b, &c, &d);
    g_assert_cmphex(b & 0xc0109, ==, 0xc0109);      /* FSGSBASE BMI1 BMI2 RDSEED ADX */
    g_assert_cmphex(c & (1u << 22), ==, 1u << 22);  /* RDPID */
    x86_cpu_get_cpuid(env, 0x80000001, 0, &a, &b, &c, &d);
    g_assert_cmphex(c & (1u << 5), ==, 1u << 5);    /* ABM (LZCNT) */
}

/* The host must have what the differential cases run natively. */
static bool host_has_extensions(void)
{
    uint32_t a, b, c, d;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if ((c & ((1u << 22) | (1u << 23) | (1u << 13))) != ((1u << 22) | (1u << 23) | (1u << 13))) {
        return false;
    }
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    if ((b & 0x80108) != 0x80108) {     /* BMI1 BMI2 ADX */
        return false;
    }
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001), "c"(0));
    return (c & (1u << 5)) != 0;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    native_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(native_page != MAP_FAILED);
    native_page32 = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    native_data = mmap((void *)(uintptr_t)DATA_ADDR, 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

    tm_machine_init(&machine, RAM_SIZE);
    cpu = machine.cpu;
    env = machine.env;
    build_stubs_and_tables();

    if (native_data == (void *)(uintptr_t)DATA_ADDR && host_has_extensions()) {
        for (unsigned i = 0; i < G_N_ELEMENTS(ops); i++) {
            char *path = g_strdup_printf("/tcg/insns/%s", ops[i].name);
            for (char *p = path + 1; *p; p++) {
                if (!g_ascii_isalnum(*p) && *p != '/') {
                    *p = '_';
                }
            }
            g_test_add_data_func(path, &ops[i], test_op);
            g_free(path);
        }
        g_test_add_func("/tcg/insns/conditions", test_conditions);
        g_test_add_func("/tcg/insns/zz-count", test_cases_counted);
    } else {
        g_test_message("host lacks the extensions or the data page: differential cases skipped");
    }
    if (native_page32 != MAP_FAILED) {
        for (unsigned i = 0; i < G_N_ELEMENTS(bcd_ops); i++) {
            char *path = g_strdup_printf("/tcg/insns/bcd/%s", bcd_ops[i].name);
            for (char *p = path + 1; *p; p++) {
                if (*p == ' ') {
                    *p = '_';
                }
            }
            g_test_add_data_func(path, &bcd_ops[i], test_bcd);
            g_free(path);
        }
    }
    g_test_add_func("/tcg/insns/faults", test_faults);
    g_test_add_func("/tcg/insns/les-vs-vex-compat", test_les_vs_vex_compat);
    g_test_add_func("/tcg/insns/vex-extended-registers", test_vex_extended_registers);
    g_test_add_func("/tcg/insns/rdrand-rdseed-rdpid", test_rdrand_rdseed_rdpid);
    g_test_add_func("/tcg/insns/fsgsbase", test_fsgsbase);
    g_test_add_func("/tcg/insns/cr8-lowering-rechecks-interrupts",
                    test_cr8_lowering_rechecks_interrupts);
    g_test_add_func("/tcg/insns/segment-prefixes-64", test_segment_prefixes_64);
    g_test_add_func("/tcg/insns/cpuid", test_cpuid_bits);
    return g_test_run();
}
