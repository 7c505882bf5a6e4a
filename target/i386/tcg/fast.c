/*
 * Specialised semantic functions for the most frequent instruction forms,
 * chosen once per TB after decoding (x86_tcg_specialize_tb, called by the
 * TB cache right after x86_translate_tb).
 *
 * The generic functions (alu.c) handle every operand size, register and
 * memory operands, segments and LOCK; each instruction pays for those
 * switches on every execution. The copies here are picked only when the
 * decoded operands make them exact: 32/64-bit register operands (no
 * high-byte registers), and for memory operands 64-bit code with a
 * flat segment (DS/ES/SS/CS: base 0, no limit checks) and 64-bit
 * addressing. They write the same registers and the same lazy-flags state
 * (cc_op/cc_dst/cc_src/cc_src2) as the generic versions, so everything
 * downstream (Jcc, PUSHF, flag materialisation) is unchanged.
 *
 * Compare-and-branch fusion: when a TB ends with Jcc right after an
 * instruction that is not itself a branch, the pair runs as one call (the
 * flag setter, then the condition) and the TB's interpreter runs one entry
 * less (n_exec). The flag setter's function is kept in the Jcc entry's
 * unused imm2; a setter that leaves the TB early (stop_tb: self-modifying
 * store, device access) skips the branch, which then runs from a fresh TB.
 */
#include "target/i386/tcg/tcg-cpu.h"

enum { OP_ADD = 0, OP_OR = 1, OP_AND = 4, OP_SUB = 5, OP_XOR = 6, OP_CMP = 7 };

static inline __attribute__((always_inline))
void fast_alu(CPUX86State *env, unsigned op, unsigned size, unsigned dst, uint64_t a, uint64_t b)
{
    uint64_t m = size == 8 ? ~(uint64_t)0 : 0xffffffffu, r, src = 0;
    unsigned base;
    switch (op) {
    case OP_ADD: r = a + b; base = CC_OP_ADDB; src = b & m; break;
    case OP_OR: r = a | b; base = CC_OP_LOGICB; break;
    case OP_AND: r = a & b; base = CC_OP_LOGICB; break;
    case OP_XOR: r = a ^ b; base = CC_OP_LOGICB; break;
    default: r = a - b; base = CC_OP_SUBB; src = b & m; break;   /* SUB, CMP */
    }
    r &= m;
    env->cc_op = cc_op_sized(base, size);
    env->cc_dst = r;
    env->cc_src = src;
    env->cc_src2 = 0;
    if (op != OP_CMP) {
        env->regs[dst] = r;    /* 32-bit results zero-extend */
    }
}

#define FAST_ALU(OP, SIZE)                                                               \
static void fast_alu_rm_r_##OP##_##SIZE(TcgCpu *c, const Insn *i)                        \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu(env, OP, SIZE, i->rm, env->regs[i->rm], env->regs[i->reg]);                 \
}                                                                                        \
static void fast_alu_r_rm_##OP##_##SIZE(TcgCpu *c, const Insn *i)                        \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu(env, OP, SIZE, i->reg, env->regs[i->reg], env->regs[i->rm]);                \
}                                                                                        \
static void fast_alu_rm_imm_##OP##_##SIZE(TcgCpu *c, const Insn *i)                      \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu(env, OP, SIZE, i->rm, env->regs[i->rm], i->imm);                            \
}                                                                                        \
static void fast_alu_acc_imm_##OP##_##SIZE(TcgCpu *c, const Insn *i)                     \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu(env, OP, SIZE, R_EAX, env->regs[R_EAX], i->imm);                            \
}

/* The same with the flags dead (see flags_dead_after): result only. */
static inline __attribute__((always_inline))
void fast_alu_nf(CPUX86State *env, unsigned op, unsigned size, unsigned dst, uint64_t a,
                 uint64_t b)
{
    uint64_t m = size == 8 ? ~(uint64_t)0 : 0xffffffffu, r;
    switch (op) {
    case OP_ADD: r = a + b; break;
    case OP_OR: r = a | b; break;
    case OP_AND: r = a & b; break;
    case OP_XOR: r = a ^ b; break;
    default: r = a - b; break;
    }
    env->regs[dst] = r & m;
}

#define FAST_ALU_NF(OP, SIZE)                                                            \
static void fast_alu_rm_r_nf_##OP##_##SIZE(TcgCpu *c, const Insn *i)                     \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu_nf(env, OP, SIZE, i->rm, env->regs[i->rm], env->regs[i->reg]);              \
}                                                                                        \
static void fast_alu_r_rm_nf_##OP##_##SIZE(TcgCpu *c, const Insn *i)                     \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu_nf(env, OP, SIZE, i->reg, env->regs[i->reg], env->regs[i->rm]);             \
}                                                                                        \
static void fast_alu_rm_imm_nf_##OP##_##SIZE(TcgCpu *c, const Insn *i)                   \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu_nf(env, OP, SIZE, i->rm, env->regs[i->rm], i->imm);                         \
}                                                                                        \
static void fast_alu_acc_imm_nf_##OP##_##SIZE(TcgCpu *c, const Insn *i)                  \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu_nf(env, OP, SIZE, R_EAX, env->regs[R_EAX], i->imm);                         \
}

#define FAST_ALU_SIZES(OP) FAST_ALU(OP, 4) FAST_ALU(OP, 8) FAST_ALU_NF(OP, 4) FAST_ALU_NF(OP, 8)
FAST_ALU_SIZES(0) FAST_ALU_SIZES(1) FAST_ALU_SIZES(4)
FAST_ALU_SIZES(5) FAST_ALU_SIZES(6) FAST_ALU_SIZES(7)

/* [generic function][form] -> the fast copies for sizes 4 and 8. */
typedef struct AluFast {
    InsnFn *generic;
    InsnFn *fast4, *fast8;
    bool reg_only;        /* only when the r/m operand is a register */
    InsnFn *nf4, *nf8;    /* flags dead (never for CMP: it has no result) */
} AluFast;

#define ALU_ROWS(OP)                                                                     \
    { op_alu_rm_r_##OP, fast_alu_rm_r_##OP##_4, fast_alu_rm_r_##OP##_8, true,            \
      fast_alu_rm_r_nf_##OP##_4, fast_alu_rm_r_nf_##OP##_8 },                            \
    { op_alu_r_rm_##OP, fast_alu_r_rm_##OP##_4, fast_alu_r_rm_##OP##_8, true,            \
      fast_alu_r_rm_nf_##OP##_4, fast_alu_r_rm_nf_##OP##_8 },                            \
    { op_alu_rm_imm_##OP, fast_alu_rm_imm_##OP##_4, fast_alu_rm_imm_##OP##_8, true,      \
      fast_alu_rm_imm_nf_##OP##_4, fast_alu_rm_imm_nf_##OP##_8 },                        \
    { op_alu_acc_imm_##OP, fast_alu_acc_imm_##OP##_4, fast_alu_acc_imm_##OP##_8, false,  \
      fast_alu_acc_imm_nf_##OP##_4, fast_alu_acc_imm_nf_##OP##_8 },

static const AluFast alu_fast_table[] = {
    ALU_ROWS(0) ALU_ROWS(1) ALU_ROWS(4) ALU_ROWS(5) ALU_ROWS(6) ALU_ROWS(7)
};

/* ---- moves and LEA ---- */

static void fast_mov_rr_8(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->rm] = c->env->regs[i->reg];
}

static void fast_mov_rr_4(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->rm] = (uint32_t)c->env->regs[i->reg];
}

static void fast_mov_r_rr_8(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->reg] = c->env->regs[i->rm];
}

static void fast_mov_r_rr_4(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->reg] = (uint32_t)c->env->regs[i->rm];
}

/* Effective = linear address of a memory operand in 64-bit code with a
 * flat segment and 64-bit addressing. */
static inline uint64_t ea_flat64_off(const CPUX86State *env, const Insn *i)
{
    uint64_t a = (uint64_t)i->disp;
    if (i->base != REG_NONE) {
        a += env->regs[i->base];
    }
    if (i->index != REG_NONE) {
        a += env->regs[i->index] << i->scale;
    }
    return a;
}

/* Through insn_linear_ea all the same (in 64-bit code it only adds the
 * FS/GS base, never used here), so that its checks (#SS for a
 * non-canonical stack address) apply here too. */
#define ea_flat64(env, i) insn_linear_ea(c, (i), ea_flat64_off(env, i))

static void fast_load_8(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->reg] = ld_data(c, ea_flat64(c->env, i), 8);
}

static void fast_load_4(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->reg] = ld_data(c, ea_flat64(c->env, i), 4);
}

static void fast_store_8(TcgCpu *c, const Insn *i)
{
    st_data(c, ea_flat64(c->env, i), c->env->regs[i->reg], 8);
}

static void fast_store_4(TcgCpu *c, const Insn *i)
{
    st_data(c, ea_flat64(c->env, i), c->env->regs[i->reg], 4);
}

/* Byte and word stores (the register may be AH..BH). */
static void fast_store_1(TcgCpu *c, const Insn *i)
{
    st_data(c, ea_flat64(c->env, i), get_reg(c->env, i->reg, 1), 1);
}

static void fast_store_2(TcgCpu *c, const Insn *i)
{
    st_data(c, ea_flat64(c->env, i), get_reg(c->env, i->reg, 2), 2);
}

static void fast_lea_8(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->reg] = ea_flat64_off(c->env, i);
}

static void fast_lea_4(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->reg] = (uint32_t)ea_flat64_off(c->env, i);
}

/* ---- shifts by an immediate count (C1 /4 /5 /7), register operand ---- */

enum { SH_SHL = 4, SH_SHR = 5, SH_SAL = 6, SH_SAR = 7 };

static inline __attribute__((always_inline))
void fast_shift(CPUX86State *env, const Insn *i, unsigned kind, unsigned size)
{
    uint64_t m = size == 8 ? ~(uint64_t)0 : 0xffffffffu;
    uint64_t count = i->imm & (size == 8 ? 0x3f : 0x1f);   /* never 0 here */
    uint64_t a = env->regs[i->rm] & m, r, pre;
    switch (kind) {
    case SH_SHL:
        pre = a << (count - 1);
        r = (pre << 1) & m;
        env->cc_op = cc_op_sized(CC_OP_SHLB, size);
        env->cc_src = pre & m;
        env->cc_src2 = 0;
        break;
    case SH_SHR:
        pre = a >> (count - 1);
        r = (a >> count) & m;
        env->cc_op = cc_op_sized(CC_OP_SHRB, size);
        env->cc_src = pre;
        env->cc_src2 = a;
        break;
    default: {
        int64_t s = size == 8 ? (int64_t)a : (int64_t)(int32_t)a;
        pre = (uint64_t)(s >> (count - 1));
        r = (uint64_t)(s >> count) & m;
        env->cc_op = cc_op_sized(CC_OP_SARB, size);
        env->cc_src = pre;
        env->cc_src2 = 0;
        break;
    }
    }
    env->cc_dst = r;
    env->regs[i->rm] = r;
}

static void fast_shl_4(TcgCpu *c, const Insn *i) { fast_shift(c->env, i, SH_SHL, 4); }
static void fast_shl_8(TcgCpu *c, const Insn *i) { fast_shift(c->env, i, SH_SHL, 8); }
static void fast_shr_4(TcgCpu *c, const Insn *i) { fast_shift(c->env, i, SH_SHR, 4); }
static void fast_shr_8(TcgCpu *c, const Insn *i) { fast_shift(c->env, i, SH_SHR, 8); }
static void fast_sar_4(TcgCpu *c, const Insn *i) { fast_shift(c->env, i, SH_SAR, 4); }
static void fast_sar_8(TcgCpu *c, const Insn *i) { fast_shift(c->env, i, SH_SAR, 8); }

/* ROL/ROR by an immediate whose flags are dead: a later instruction of
 * the TB overwrites every arithmetic flag before anything can read them
 * (see flags_dead_after), so only the result is computed. */
static inline __attribute__((always_inline))
void fast_rotate_nf(CPUX86State *env, const Insn *i, bool left, unsigned size)
{
    unsigned bits = size * 8, n = (unsigned)(i->imm & (bits - 1));   /* never 0 here */
    uint64_t m = size == 8 ? ~(uint64_t)0 : 0xffffffffu, a = env->regs[i->rm] & m;
    uint64_t r = left ? (a << n) | (a >> (bits - n)) : (a >> n) | (a << (bits - n));
    env->regs[i->rm] = r & m;
}

static void fast_rol_nf_4(TcgCpu *c, const Insn *i) { fast_rotate_nf(c->env, i, true, 4); }
static void fast_rol_nf_8(TcgCpu *c, const Insn *i) { fast_rotate_nf(c->env, i, true, 8); }
static void fast_ror_nf_4(TcgCpu *c, const Insn *i) { fast_rotate_nf(c->env, i, false, 4); }
static void fast_ror_nf_8(TcgCpu *c, const Insn *i) { fast_rotate_nf(c->env, i, false, 8); }

/* MOV r/m, imm: register (32/64-bit) or a flat 64-bit memory operand. */
static void fast_mov_r_imm_8(TcgCpu *c, const Insn *i) { c->env->regs[i->rm] = i->imm; }
static void fast_mov_r_imm_4(TcgCpu *c, const Insn *i) { c->env->regs[i->rm] = (uint32_t)i->imm; }
#define FAST_STORE_IMM(SIZE)                                                             \
static void fast_store_imm_##SIZE(TcgCpu *c, const Insn *i)                              \
{                                                                                        \
    st_data(c, ea_flat64(c->env, i), i->imm, SIZE);                     \
}
FAST_STORE_IMM(1) FAST_STORE_IMM(2) FAST_STORE_IMM(4) FAST_STORE_IMM(8)

/* MOVSXD r64, r/m32 (64-bit code, register source). */
static void fast_movsxd_rr(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->reg] = (uint64_t)(int64_t)(int32_t)c->env->regs[i->rm];
}

/* MOVSXD r64, [mem]; MOVZX/MOVSX r32/r64, byte/word [mem] (flat 64-bit). */
static void fast_movsxd_load(TcgCpu *c, const Insn *i)
{
    c->env->regs[i->reg] = (uint64_t)(int64_t)(int32_t)ld_data(c, ea_flat64(c->env, i), 4);
}

#define FAST_MOVX_LOAD(SRC)                                                              \
static void fast_movzx_load_##SRC(TcgCpu *c, const Insn *i)                              \
{                                                                                        \
    c->env->regs[i->reg] = ld_data(c, ea_flat64(c->env, i), SRC);                        \
}                                                                                        \
static void fast_movsx_load_##SRC##_4(TcgCpu *c, const Insn *i)                          \
{                                                                                        \
    uint64_t v = ld_data(c, ea_flat64(c->env, i), SRC);                                  \
    c->env->regs[i->reg] = (uint32_t)sext(v, SRC);                                       \
}                                                                                        \
static void fast_movsx_load_##SRC##_8(TcgCpu *c, const Insn *i)                          \
{                                                                                        \
    uint64_t v = ld_data(c, ea_flat64(c->env, i), SRC);                                  \
    c->env->regs[i->reg] = (uint64_t)sext(v, SRC);                                       \
}
FAST_MOVX_LOAD(1) FAST_MOVX_LOAD(2)

/* reg op= [mem] with a flat 64-bit memory operand (32/64-bit). */
#define FAST_ALU_R_MEM(OP, SIZE)                                                         \
static void fast_alu_r_mem_##OP##_##SIZE(TcgCpu *c, const Insn *i)                       \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    uint64_t b = ld_data(c, ea_flat64(env, i), SIZE);                   \
    fast_alu(env, OP, SIZE, i->reg, env->regs[i->reg], b);                               \
}
#define FAST_ALU_R_MEM_SIZES(OP) FAST_ALU_R_MEM(OP, 4) FAST_ALU_R_MEM(OP, 8)
FAST_ALU_R_MEM_SIZES(0) FAST_ALU_R_MEM_SIZES(1) FAST_ALU_R_MEM_SIZES(4)
FAST_ALU_R_MEM_SIZES(5) FAST_ALU_R_MEM_SIZES(6) FAST_ALU_R_MEM_SIZES(7)

static InsnFn *const alu_r_mem_fast[8][2] = {
    [0] = { fast_alu_r_mem_0_4, fast_alu_r_mem_0_8 },
    [1] = { fast_alu_r_mem_1_4, fast_alu_r_mem_1_8 },
    [4] = { fast_alu_r_mem_4_4, fast_alu_r_mem_4_8 },
    [5] = { fast_alu_r_mem_5_4, fast_alu_r_mem_5_8 },
    [6] = { fast_alu_r_mem_6_4, fast_alu_r_mem_6_8 },
    [7] = { fast_alu_r_mem_7_4, fast_alu_r_mem_7_8 },
};

/* CMP [mem], imm and CMP [mem], reg at any size (nothing is written back). */
static inline __attribute__((always_inline))
void fast_cmp_flags(CPUX86State *env, unsigned size, uint64_t a, uint64_t b)
{
    uint64_t m = size_mask(size);
    env->cc_op = cc_op_sized(CC_OP_SUBB, size);
    env->cc_dst = (a - b) & m;
    env->cc_src = b & m;
    env->cc_src2 = 0;
}
#define FAST_CMP_MEM(SIZE)                                                               \
static void fast_cmp_mem_imm_##SIZE(TcgCpu *c, const Insn *i)                            \
{                                                                                        \
    uint64_t a = ld_data(c, ea_flat64(c->env, i), SIZE);                \
    fast_cmp_flags(c->env, SIZE, a, i->imm);                                             \
}                                                                                        \
static void fast_cmp_mem_r_##SIZE(TcgCpu *c, const Insn *i)                              \
{                                                                                        \
    uint64_t a = ld_data(c, ea_flat64(c->env, i), SIZE);                \
    fast_cmp_flags(c->env, SIZE, a, get_reg(c->env, i->reg, SIZE));                      \
}
FAST_CMP_MEM(1) FAST_CMP_MEM(2) FAST_CMP_MEM(4) FAST_CMP_MEM(8)

static InsnFn *sized_fn(unsigned size, InsnFn *f1, InsnFn *f2, InsnFn *f4, InsnFn *f8)
{
    switch (size) {
    case 1: return f1;
    case 2: return f2;
    case 4: return f4;
    default: return f8;
    }
}

/* ---- flag setter + Jcc ---- */

static void fused_setter_jcc(TcgCpu *c, const Insn *i)
{
    const Insn *j = i + 1;
    InsnFn *setter = (InsnFn *)(uintptr_t)j->imm2;
    setter(c, i);
    if (__builtin_expect(c->stop_tb, 0)) {
        return;     /* rip = the Jcc: it runs from a new TB */
    }
    c->env->rip = cc_test(c->env, j->op & 15) ? j->imm : j->next_eip;
}

/* The common compares fused with their Jcc without the indirect call:
 * the flags state is written and read back in one function. */
static inline __attribute__((always_inline)) void fused_branch(TcgCpu *c, const Insn *i)
{
    const Insn *j = i + 1;
    c->env->rip = cc_test(c->env, j->op & 15) ? j->imm : j->next_eip;
}

#define FUSED_CMP_REG(SIZE)                                                              \
static void fused_cmp_rm_r_##SIZE(TcgCpu *c, const Insn *i)                              \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu(env, OP_CMP, SIZE, 0, env->regs[i->rm], env->regs[i->reg]);                 \
    fused_branch(c, i);                                                                  \
}                                                                                        \
static void fused_cmp_r_rm_##SIZE(TcgCpu *c, const Insn *i)                              \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu(env, OP_CMP, SIZE, 0, env->regs[i->reg], env->regs[i->rm]);                 \
    fused_branch(c, i);                                                                  \
}                                                                                        \
static void fused_cmp_rm_imm_##SIZE(TcgCpu *c, const Insn *i)                            \
{                                                                                        \
    CPUX86State *env = c->env;                                                           \
    fast_alu(env, OP_CMP, SIZE, 0, env->regs[i->rm], i->imm);                            \
    fused_branch(c, i);                                                                  \
}
FUSED_CMP_REG(4) FUSED_CMP_REG(8)

#define FUSED_CMP_MEM(SIZE)                                                              \
static void fused_cmp_mem_imm_##SIZE(TcgCpu *c, const Insn *i)                           \
{                                                                                        \
    fast_cmp_mem_imm_##SIZE(c, i);                                                       \
    if (__builtin_expect(!c->stop_tb, 1)) {                                              \
        fused_branch(c, i);                                                              \
    }                                                                                    \
}
FUSED_CMP_MEM(1) FUSED_CMP_MEM(4) FUSED_CMP_MEM(8)

/* Setter -> its fused compare-and-branch, or NULL (generic fusion). */
static InsnFn *fused_cmp_for(InsnFn *setter)
{
    static const struct { InsnFn *setter, *fused; } map[] = {
        { fast_alu_rm_r_7_4, fused_cmp_rm_r_4 }, { fast_alu_rm_r_7_8, fused_cmp_rm_r_8 },
        { fast_alu_r_rm_7_4, fused_cmp_r_rm_4 }, { fast_alu_r_rm_7_8, fused_cmp_r_rm_8 },
        { fast_alu_rm_imm_7_4, fused_cmp_rm_imm_4 }, { fast_alu_rm_imm_7_8, fused_cmp_rm_imm_8 },
        { fast_cmp_mem_imm_1, fused_cmp_mem_imm_1 }, { fast_cmp_mem_imm_4, fused_cmp_mem_imm_4 },
        { fast_cmp_mem_imm_8, fused_cmp_mem_imm_8 },
    };
    for (size_t k = 0; k < G_N_ELEMENTS(map); k++) {
        if (map[k].setter == setter) {
            return map[k].fused;
        }
    }
    return NULL;
}

static InsnFn *const jcc_fns[16] = {
    op_jcc_0, op_jcc_1, op_jcc_2, op_jcc_3, op_jcc_4, op_jcc_5, op_jcc_6, op_jcc_7,
    op_jcc_8, op_jcc_9, op_jcc_10, op_jcc_11, op_jcc_12, op_jcc_13, op_jcc_14, op_jcc_15,
};

static bool is_jcc(const Insn *i)
{
    return (i->op & 15) < 16 && i->fn == jcc_fns[i->op & 15];
}

/* Setters worth fusing: the common compare, test and arithmetic forms
 * (generic or fast). Anything that can branch or end the TB is not here. */
/* Fast functions that set every arithmetic flag without reading any. */
static bool writes_all_flags_fast(InsnFn *fn)
{
    static InsnFn *const others[] = {
        fast_shl_4, fast_shl_8, fast_shr_4, fast_shr_8, fast_sar_4, fast_sar_8,
        fast_cmp_mem_imm_1, fast_cmp_mem_imm_2, fast_cmp_mem_imm_4, fast_cmp_mem_imm_8,
        fast_cmp_mem_r_1, fast_cmp_mem_r_2, fast_cmp_mem_r_4, fast_cmp_mem_r_8,
    };
    for (size_t k = 0; k < G_N_ELEMENTS(alu_fast_table); k++) {
        if (fn == alu_fast_table[k].fast4 || fn == alu_fast_table[k].fast8) {
            return true;
        }
    }
    for (size_t k = 0; k < 8; k++) {
        if (fn && (fn == alu_r_mem_fast[k][0] || fn == alu_r_mem_fast[k][1])) {
            return true;
        }
    }
    for (size_t k = 0; k < G_N_ELEMENTS(others); k++) {
        if (fn == others[k]) {
            return true;
        }
    }
    return false;
}

static bool fusable_setter(InsnFn *fn)
{
    if (fn == op_test_rm_r || fn == op_test_acc_imm || fn == op_test_rm_imm ||
        fn == op_inc_dec_rm || fn == op_inc_dec_reg || writes_all_flags_fast(fn)) {
        return true;
    }
    for (size_t k = 0; k < G_N_ELEMENTS(alu_fast_table); k++) {
        if (fn == alu_fast_table[k].generic) {
            return true;
        }
    }
    return false;
}

static bool is_alu_nf(InsnFn *fn)
{
    for (size_t k = 0; k < G_N_ELEMENTS(alu_fast_table); k++) {
        if (fn == alu_fast_table[k].nf4 || fn == alu_fast_table[k].nf8) {
            return true;
        }
    }
    return false;
}

/* True if the arithmetic flags after tb->insns[k] are certainly dead: a
 * later instruction of the TB overwrites all of them, and everything in
 * between is register-only (cannot fault, so no exception handler can see
 * the flags) and does not read them. Anything else counts as a reader. */
static bool flags_dead_after(const TranslationBlock *tb, uint32_t k)
{
    for (uint32_t n = k + 1; n < tb->n_insns; n++) {
        InsnFn *fn = tb->insns[n].fn;
        if (writes_all_flags_fast(fn) && fn != fast_cmp_mem_imm_1 && fn != fast_cmp_mem_imm_2 &&
            fn != fast_cmp_mem_imm_4 && fn != fast_cmp_mem_imm_8 && fn != fast_cmp_mem_r_1 &&
            fn != fast_cmp_mem_r_2 && fn != fast_cmp_mem_r_4 && fn != fast_cmp_mem_r_8) {
            /* A memory operand could fault before the flags are written:
             * only register forms qualify (alu_r_mem too is excluded). */
            bool mem = false;
            for (size_t j = 0; j < 8; j++) {
                if (fn == alu_r_mem_fast[j][0] || fn == alu_r_mem_fast[j][1]) {
                    mem = true;
                }
            }
            return !mem;
        }
        if (fn == fast_mov_rr_8 || fn == fast_mov_rr_4 || fn == fast_mov_r_rr_8 ||
            fn == fast_mov_r_rr_4 || fn == fast_lea_8 || fn == fast_lea_4 ||
            fn == fast_mov_r_imm_8 || fn == fast_mov_r_imm_4 || fn == fast_movsxd_rr ||
            fn == fast_rol_nf_4 || fn == fast_rol_nf_8 || fn == fast_ror_nf_4 ||
            fn == fast_ror_nf_8 || is_alu_nf(fn)) {
            continue;
        }
        return false;
    }
    return false;
}

static InsnFn *specialize_one(const Insn *i, uint32_t tb_flags)
{
    bool reg = !i->is_mem, wide = i->opsize == 4 || i->opsize == 8;
    bool w8 = i->opsize == 8;
    bool flat64 = (tb_flags & HF_CS64) && i->is_mem && i->addrsize == 8 && i->seg < R_FS;

    if (i->prefixes & PFX_LOCK) {
        return NULL;
    }
    /* Any operand size: byte and word stores and compares in memory. */
    if (i->fn == op_mov_rm_r && flat64) {
        return sized_fn(i->opsize, fast_store_1, fast_store_2, fast_store_4, fast_store_8);
    }
    if (i->fn == op_mov_rm_imm && flat64) {
        return sized_fn(i->opsize, fast_store_imm_1, fast_store_imm_2, fast_store_imm_4,
                        fast_store_imm_8);
    }
    if (i->fn == op_alu_rm_imm_7 && flat64) {
        return sized_fn(i->opsize, fast_cmp_mem_imm_1, fast_cmp_mem_imm_2, fast_cmp_mem_imm_4,
                        fast_cmp_mem_imm_8);
    }
    if (i->fn == op_alu_rm_r_7 && flat64) {
        return sized_fn(i->opsize, fast_cmp_mem_r_1, fast_cmp_mem_r_2, fast_cmp_mem_r_4,
                        fast_cmp_mem_r_8);
    }
    if (!wide) {
        return NULL;
    }
    if (i->fn == op_mov_rm_imm && reg) {
        return w8 ? fast_mov_r_imm_8 : fast_mov_r_imm_4;
    }
    if (i->fn == op_mov_rm_r) {
        if (reg) {
            return w8 ? fast_mov_rr_8 : fast_mov_rr_4;
        }
        return flat64 ? (w8 ? fast_store_8 : fast_store_4) : NULL;
    }
    if (i->fn == op_mov_r_rm) {
        if (reg) {
            return w8 ? fast_mov_r_rr_8 : fast_mov_r_rr_4;
        }
        return flat64 ? (w8 ? fast_load_8 : fast_load_4) : NULL;
    }
    if (i->fn == op_lea) {
        return flat64 ? (w8 ? fast_lea_8 : fast_lea_4) : NULL;
    }
    if (i->fn == op_movsxd_or_arpl) {
        if (!w8 || !(tb_flags & HF_CS64)) {
            return NULL;
        }
        return reg ? fast_movsxd_rr : flat64 ? fast_movsxd_load : NULL;
    }
    if ((i->fn == op_movzx || i->fn == op_movsx) && flat64 && (i->sub == 1 || i->sub == 2)) {
        if (i->fn == op_movzx) {
            /* The loaded value is zero-extended whatever the size. */
            return i->sub == 1 ? fast_movzx_load_1 : fast_movzx_load_2;
        }
        if (i->sub == 1) {
            return w8 ? fast_movsx_load_1_8 : fast_movsx_load_1_4;
        }
        return w8 ? fast_movsx_load_2_8 : fast_movsx_load_2_4;
    }
    if (i->fn == op_shift_rm && reg && i->op == 0xc1 && (i->imm & (w8 ? 0x3f : 0x1f)) != 0) {
        switch (i->sub) {
        case SH_SHL: case SH_SAL: return w8 ? fast_shl_8 : fast_shl_4;
        case SH_SHR: return w8 ? fast_shr_8 : fast_shr_4;
        case SH_SAR: return w8 ? fast_sar_8 : fast_sar_4;
        default: return NULL;
        }
    }
    for (size_t k = 0; k < G_N_ELEMENTS(alu_fast_table); k++) {
        const AluFast *a = &alu_fast_table[k];
        if (i->fn == a->generic) {
            if (a->reg_only && !reg) {
                /* op reg, [mem] (the r_rm rows, k % 4 == 1). */
                static const uint8_t row_op[] = { OP_ADD, OP_OR, OP_AND, OP_SUB, OP_XOR, OP_CMP };
                if (flat64 && k % 4 == 1) {
                    return alu_r_mem_fast[row_op[k / 4]][w8];
                }
                return NULL;
            }
            return w8 ? a->fast8 : a->fast4;
        }
    }
    return NULL;
}

/* Second pass: forms that depend on what follows in the TB. */
static InsnFn *specialize_with_liveness(const TranslationBlock *tb, uint32_t k)
{
    const Insn *i = &tb->insns[k];
    bool w8 = i->opsize == 8;
    if (i->fn == op_shift_rm && !i->is_mem && i->op == 0xc1 && (w8 || i->opsize == 4) &&
        (i->imm & (w8 ? 0x3f : 0x1f)) != 0 && (i->sub == 0 || i->sub == 1) &&
        !(i->prefixes & PFX_LOCK) && flags_dead_after(tb, k)) {
        return i->sub == 0 ? (w8 ? fast_rol_nf_8 : fast_rol_nf_4)
                           : (w8 ? fast_ror_nf_8 : fast_ror_nf_4);
    }
    /* A 32/64-bit register ALU operation (not CMP) whose flags are dead. */
    for (size_t n = 0; n < G_N_ELEMENTS(alu_fast_table); n++) {
        const AluFast *a = &alu_fast_table[n];
        if ((i->fn == a->fast4 || i->fn == a->fast8) && n / 4 != 5 && flags_dead_after(tb, k)) {
            return i->fn == a->fast8 ? a->nf8 : a->nf4;
        }
    }
    return NULL;
}

void x86_tcg_specialize_tb(TranslationBlock *tb)
{
    tb->n_exec = tb->n_insns;
    for (uint32_t k = 0; k < tb->n_insns; k++) {
        Insn *i = &tb->insns[k];
        InsnFn *fast = specialize_one(i, tb->flags);
        if (fast) {
            i->fn = fast;
        }
    }
    /* Backwards, so that a rotate's liveness scan sees the final functions
     * of the instructions after it. */
    for (uint32_t k = tb->n_insns; k-- > 0;) {
        InsnFn *fast = specialize_with_liveness(tb, k);
        if (fast) {
            tb->insns[k].fn = fast;
        }
    }
    if (tb->n_insns >= 2 && !(tb->flags & HF_TF)) {
        Insn *setter = &tb->insns[tb->n_insns - 2], *jcc = &tb->insns[tb->n_insns - 1];
        if (is_jcc(jcc) && fusable_setter(setter->fn)) {
            InsnFn *direct = fused_cmp_for(setter->fn);
            jcc->imm2 = (uint64_t)(uintptr_t)setter->fn;
            setter->fn = direct ? direct : fused_setter_jcc;
            tb->n_exec = tb->n_insns - 1;
        }
    }
}
