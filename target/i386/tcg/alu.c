/*
 * Semantics of the integer instructions: ALU, shifts, multiply/divide, bit
 * operations, data movement and string instructions.
 *
 * Rule that keeps exceptions precise: every memory access that may fault
 * happens before any register or flag of the instruction is written.
 */
#include "target/i386/tcg/tcg-cpu.h"

typedef struct CcState {
    uint32_t op;
    uint64_t dst, src, src2;
} CcState;

static inline void cc_commit(CPUX86State *env, const CcState *cc)
{
    env->cc_op = cc->op;
    env->cc_dst = cc->dst;
    env->cc_src = cc->src;
    env->cc_src2 = cc->src2;
}

/* Flags given as a full set (eagerly computed). */
static inline void cc_eflags(CcState *cc, uint32_t flags)
{
    cc->op = CC_OP_EFLAGS;
    cc->src = flags & CC_ARITH_MASK;
    cc->dst = 0;
    cc->src2 = 0;
}

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/* Pure ALU: result of `a op b` (cin = carry in for ADC/SBB) and its flags. */
static inline uint64_t alu_compute(unsigned op, unsigned size, uint64_t a, uint64_t b, uint64_t cin,
                            CcState *cc)
{
    uint64_t m = size_mask(size), r;
    unsigned base;
    cc->src2 = 0;
    switch (op) {
    case ALU_ADD: r = a + b; base = CC_OP_ADDB; break;
    case ALU_OR: r = a | b; base = CC_OP_LOGICB; b = 0; break;
    case ALU_ADC: r = a + b + cin; base = CC_OP_ADCB; cc->src2 = cin; break;
    case ALU_SBB: r = a - b - cin; base = CC_OP_SBBB; cc->src2 = cin; break;
    case ALU_AND: r = a & b; base = CC_OP_LOGICB; b = 0; break;
    case ALU_XOR: r = a ^ b; base = CC_OP_LOGICB; b = 0; break;
    default: r = a - b; base = CC_OP_SUBB; break;   /* SUB, CMP */
    }
    r &= m;
    cc->op = cc_op_sized(base, size);
    cc->dst = r;
    cc->src = b & m;
    return r;
}

/* A read-modify-write of the r/m operand; LOCKed memory forms are atomic. */
typedef uint64_t RmwFn(uint64_t old, uint64_t arg, uint64_t aux, unsigned size, unsigned sub,
                       CcState *cc);

static bool atomic_cas(void *p, unsigned size, uint64_t *expected, uint64_t desired)
{
    switch (size) {
    case 1: {
        uint8_t e = (uint8_t)*expected;
        bool ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, false,
                                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *expected = e;
        return ok;
    }
    case 2: {
        uint16_t e = (uint16_t)*expected;
        bool ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, false,
                                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *expected = e;
        return ok;
    }
    case 4: {
        uint32_t e = (uint32_t)*expected;
        bool ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, false,
                                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *expected = e;
        return ok;
    }
    default:
        return __atomic_compare_exchange_n((uint64_t *)p, expected, desired, false,
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
}

static uint64_t atomic_load_sized(void *p, unsigned size)
{
    switch (size) {
    case 1: return __atomic_load_n((uint8_t *)p, __ATOMIC_SEQ_CST);
    case 2: return __atomic_load_n((uint16_t *)p, __ATOMIC_SEQ_CST);
    case 4: return __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
    default: return __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
    }
}

/* Always inlined so each caller gets its own copy with fn resolved. */
static inline __attribute__((always_inline))
void rmw_rm(TcgCpu *c, const Insn *i, unsigned size, RmwFn *fn, uint64_t arg,
            uint64_t aux, unsigned sub, bool writeback)
{
    CPUX86State *env = c->env;
    CcState cc;
    uint64_t old, res, la;

    if (!i->is_mem) {
        old = get_reg(env, i->rm, size);
        res = fn(old, arg, aux, size, sub, &cc);
        if (writeback) {
            set_reg(env, i->rm, size, res);
        }
        cc_commit(env, &cc);
        return;
    }
    la = insn_linear_access(c, i, size, writeback);
    if (writeback) {
        /* Like the hardware, a read-modify-write checks write access before
         * it reads: a fault reports W=1, and an operand crossing pages faults
         * on the first page that is not writable (tests/tcg-diff). */
        void *p = tcg_probe_write_host(c, la, size, cur_mmu(c));
        if (p && (i->prefixes & PFX_LOCK)) {
            old = atomic_load_sized(p, size);
            do {
                res = fn(old, arg, aux, size, sub, &cc);
            } while (!atomic_cas(p, size, &old, res));
            cc_commit(env, &cc);
            return;
        }
        if (p) {
            old = 0;
            memcpy(&old, p, size);
            res = fn(old, arg, aux, size, sub, &cc);
            memcpy(p, &res, size);
            cc_commit(env, &cc);
            return;
        }
    }
    old = ld_data(c, la, size);
    res = fn(old, arg, aux, size, sub, &cc);
    if (writeback) {
        st_data(c, la, res, size);
    }
    cc_commit(env, &cc);
}

static uint64_t rmw_alu(uint64_t old, uint64_t arg, uint64_t aux, unsigned size, unsigned sub,
                        CcState *cc)
{
    return alu_compute(sub, size, old, arg, aux, cc);
}

static uint64_t carry_in(CPUX86State *env, unsigned op)
{
    return (op == ALU_ADC || op == ALU_SBB) ? cc_compute_c(env) : 0;
}

/* The ALU forms take the operation from i->sub; the decoder picks the
 * per-operation copies below (op_alu_*_N) so the operation switch folds. */
static inline __attribute__((always_inline))
void alu_rm_r(TcgCpu *c, const Insn *i, unsigned op)
{
    unsigned size = i->opsize;
    uint64_t b = get_reg(c->env, i->reg, size);
    rmw_rm(c, i, size, rmw_alu, b, carry_in(c->env, op), op, op != ALU_CMP);
}

/* `reg op b` into the register (CMP only sets the flags). */
static inline __attribute__((always_inline))
void alu_into_reg(CPUX86State *env, unsigned op, unsigned reg, unsigned size, uint64_t b)
{
    CcState cc;
    uint64_t r = alu_compute(op, size, get_reg(env, reg, size), b, carry_in(env, op), &cc);
    if (op != ALU_CMP) {
        set_reg(env, reg, size, r);
    }
    cc_commit(env, &cc);
}

static inline __attribute__((always_inline))
void alu_r_rm(TcgCpu *c, const Insn *i, unsigned op)
{
    uint64_t la = 0, b = ld_rm(c, i, i->opsize, &la);
    alu_into_reg(c->env, op, i->reg, i->opsize, b);
}

static inline __attribute__((always_inline))
void alu_acc_imm(TcgCpu *c, const Insn *i, unsigned op)
{
    alu_into_reg(c->env, op, R_EAX, i->opsize, i->imm);
}

static inline __attribute__((always_inline))
void alu_rm_imm(TcgCpu *c, const Insn *i, unsigned op)
{
    rmw_rm(c, i, i->opsize, rmw_alu, i->imm & size_mask(i->opsize), carry_in(c->env, op), op,
           op != ALU_CMP);
}

/* 00/08/.../38: op Eb,Gb / Ev,Gv; 02/0A/...: op Gb,Eb / Gv,Ev;
 * 04/05/...: op AL/eAX, imm; 80/81/83: group 1 (N = the operation). */
#define ALU_SPECIALIZE(n)                                                                   void op_alu_rm_r_##n(TcgCpu *c, const Insn *i) { alu_rm_r(c, i, n); }                   void op_alu_r_rm_##n(TcgCpu *c, const Insn *i) { alu_r_rm(c, i, n); }                   void op_alu_acc_imm_##n(TcgCpu *c, const Insn *i) { alu_acc_imm(c, i, n); }             void op_alu_rm_imm_##n(TcgCpu *c, const Insn *i) { alu_rm_imm(c, i, n); }
ALU_SPECIALIZE(0) ALU_SPECIALIZE(1) ALU_SPECIALIZE(2) ALU_SPECIALIZE(3)
ALU_SPECIALIZE(4) ALU_SPECIALIZE(5) ALU_SPECIALIZE(6) ALU_SPECIALIZE(7)

/* TEST: the flags of `a & b`, nothing written. */
static void test_flags(CPUX86State *env, unsigned size, uint64_t a, uint64_t b)
{
    CcState cc;
    alu_compute(ALU_AND, size, a, b, 0, &cc);
    cc_commit(env, &cc);
}

void op_test_rm_r(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, a = ld_rm(c, i, i->opsize, &la);
    test_flags(c->env, i->opsize, a, get_reg(c->env, i->reg, i->opsize));
}

void op_test_acc_imm(TcgCpu *c, const Insn *i)
{
    test_flags(c->env, i->opsize, get_reg(c->env, R_EAX, i->opsize), i->imm);
}

void op_test_rm_imm(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, a = ld_rm(c, i, i->opsize, &la);
    test_flags(c->env, i->opsize, a, i->imm);
}

static uint64_t rmw_incdec(uint64_t old, uint64_t arg, uint64_t aux, unsigned size,
                           unsigned sub, CcState *cc)
{
    uint64_t r = (sub == 0 ? old + 1 : old - 1) & size_mask(size);
    cc->op = cc_op_sized(sub == 0 ? CC_OP_INCB : CC_OP_DECB, size);
    cc->dst = r;
    cc->src = aux;      /* the carry flag is preserved */
    cc->src2 = 0;
    return r;
}

/* FE/FF /0 /1 */
void op_inc_dec_rm(TcgCpu *c, const Insn *i)
{
    rmw_rm(c, i, i->opsize, rmw_incdec, 0, cc_compute_c(c->env), i->sub, true);
}

/* 40-4F outside 64-bit mode */
void op_inc_dec_reg(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    CcState cc;
    uint64_t r = rmw_incdec(get_reg(env, i->reg, i->opsize), 0, cc_compute_c(env), i->opsize,
                            i->sub, &cc);
    set_reg(env, i->reg, i->opsize, r);
    cc_commit(env, &cc);
}

/* F6/F7 /2: NOT leaves the flags alone. */
void op_not_rm(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    uint64_t la, old;
    if (!i->is_mem) {
        set_reg(env, i->rm, size, ~get_reg(env, i->rm, size));
        return;
    }
    la = insn_linear_access(c, i, size, true);
    {
        /* Probed for write first even without LOCK: faults report W=1. */
        void *p = tcg_probe_write_host(c, la, size, cur_mmu(c));
        if (p) {
            old = atomic_load_sized(p, size);
            while (!atomic_cas(p, size, &old, ~old & size_mask(size))) {
            }
            return;
        }
    }
    old = ld_data(c, la, size);
    st_data(c, la, ~old & size_mask(size), size);
}

static uint64_t rmw_neg(uint64_t old, uint64_t arg, uint64_t aux, unsigned size, unsigned sub,
                        CcState *cc)
{
    return alu_compute(ALU_SUB, size, 0, old, 0, cc);
}

void op_neg_rm(TcgCpu *c, const Insn *i)
{
    rmw_rm(c, i, i->opsize, rmw_neg, 0, 0, 0, true);
}

/* ---- multiply / divide ---- */

void op_mul_rm(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    uint64_t la = 0, b = ld_rm(c, i, size, &la);
    uint64_t lo, hi;
    switch (size) {
    case 1: {
        uint64_t r = (env->regs[R_EAX] & 0xff) * b;
        set_reg(env, R_EAX, 2, r);
        lo = r & 0xff;
        hi = (r >> 8) & 0xff;
        break;
    }
    case 2: {
        uint64_t r = (env->regs[R_EAX] & 0xffff) * b;
        lo = r & 0xffff;
        hi = (r >> 16) & 0xffff;
        set_reg(env, R_EAX, 2, lo);
        set_reg(env, R_EDX, 2, hi);
        break;
    }
    case 4: {
        uint64_t r = (uint32_t)env->regs[R_EAX] * b;
        lo = (uint32_t)r;
        hi = r >> 32;
        set_reg(env, R_EAX, 4, lo);
        set_reg(env, R_EDX, 4, hi);
        break;
    }
    default: {
        unsigned __int128 r = (unsigned __int128)env->regs[R_EAX] * b;
        lo = (uint64_t)r;
        hi = (uint64_t)(r >> 64);
        env->regs[R_EAX] = lo;
        env->regs[R_EDX] = hi;
        break;
    }
    }
    cc_set_result(env, cc_op_sized(CC_OP_MULB, size), lo, hi != 0);
}

/* Signed a*b at `size`: returns the truncated product, *ovf if it did not fit. */
static uint64_t imul_compute(int64_t a, int64_t b, unsigned size, uint64_t *hi_out, bool *ovf)
{
    __int128 r = (__int128)a * b;
    uint64_t lo = (uint64_t)r & size_mask(size);
    *ovf = r != (__int128)sext(lo, size);
    if (hi_out) {
        *hi_out = (uint64_t)(r >> (size * 8)) & size_mask(size);
    }
    return lo;
}

void op_imul_rm(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    uint64_t la = 0, b = ld_rm(c, i, size, &la), hi, lo;
    bool ovf;
    lo = imul_compute(sext(get_reg(env, R_EAX, size), size), sext(b, size), size, &hi, &ovf);
    if (size == 1) {
        set_reg(env, R_EAX, 2, lo | (hi << 8));
    } else {
        set_reg(env, R_EAX, size, lo);
        set_reg(env, R_EDX, size, hi);
    }
    cc_set_result(env, cc_op_sized(CC_OP_MULB, size), lo, ovf);
}

/* The two- and three-operand forms: the truncated product goes to i->reg. */
static void imul_into_reg(CPUX86State *env, const Insn *i, uint64_t a, uint64_t b)
{
    unsigned size = i->opsize;
    bool ovf;
    uint64_t lo = imul_compute(sext(a, size), sext(b, size), size, NULL, &ovf);
    set_reg(env, i->reg, size, lo);
    cc_set_result(env, cc_op_sized(CC_OP_MULB, size), lo, ovf);
}

/* 0F AF: IMUL Gv, Ev */
void op_imul_r_rm(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, b = ld_rm(c, i, i->opsize, &la);
    imul_into_reg(c->env, i, get_reg(c->env, i->reg, i->opsize), b);
}

/* 69/6B: IMUL Gv, Ev, imm */
void op_imul_r_rm_imm(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, b = ld_rm(c, i, i->opsize, &la);
    imul_into_reg(c->env, i, b, i->imm);
}

void op_div_rm(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    uint64_t la = 0, d = ld_rm(c, i, size, &la);
    if (d == 0) {
        raise_exception(c, EXCP_DE);
    }
    if (size == 8) {
        unsigned __int128 n = ((unsigned __int128)env->regs[R_EDX] << 64) | env->regs[R_EAX];
        unsigned __int128 q = n / d;
        if (q >> 64) {
            raise_exception(c, EXCP_DE);
        }
        env->regs[R_EAX] = (uint64_t)q;
        env->regs[R_EDX] = (uint64_t)(n % d);
        return;
    }
    {
        unsigned bits = size * 8;
        uint64_t n;
        if (size == 1) {
            n = env->regs[R_EAX] & 0xffff;
        } else {
            n = (get_reg(env, R_EDX, size) << bits) | get_reg(env, R_EAX, size);
        }
        uint64_t q = n / d, r = n % d;
        if (q > size_mask(size)) {
            raise_exception(c, EXCP_DE);
        }
        if (size == 1) {
            set_reg(env, R_EAX, 2, q | (r << 8));
        } else {
            set_reg(env, R_EAX, size, q);
            set_reg(env, R_EDX, size, r);
        }
    }
}

void op_idiv_rm(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    uint64_t la = 0;
    int64_t d = sext(ld_rm(c, i, size, &la), size);
    __int128 n, q, r;
    if (d == 0) {
        raise_exception(c, EXCP_DE);
    }
    if (size == 8) {
        n = (__int128)(((unsigned __int128)env->regs[R_EDX] << 64) | env->regs[R_EAX]);
    } else if (size == 1) {
        n = (int16_t)env->regs[R_EAX];
    } else {
        n = (int64_t)((get_reg(env, R_EDX, size) << (size * 8)) | get_reg(env, R_EAX, size));
        n = sext((uint64_t)n, size * 2);
    }
    if (d == -1) {
        /* n / -1 overflows __int128 for its minimum: negate unsigned. */
        unsigned __int128 un = (unsigned __int128)n;
        if (un == (unsigned __int128)1 << 127) {
            raise_exception(c, EXCP_DE);
        }
        q = -n;
        r = 0;
    } else {
        q = n / d;
        r = n % d;
    }
    if (q != (__int128)sext((uint64_t)q, size)) {
        raise_exception(c, EXCP_DE);
    }
    if (size == 1) {
        set_reg(env, R_EAX, 2, ((uint64_t)q & 0xff) | (((uint64_t)r & 0xff) << 8));
    } else {
        set_reg(env, R_EAX, size, (uint64_t)q);
        set_reg(env, R_EDX, size, (uint64_t)r);
    }
}

/* ---- shifts and rotates ---- */

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

/* Always inlined so the specialised SHL/SHR/SAR entry points fold `sub`. */
static inline __attribute__((always_inline))
uint64_t rmw_shift(uint64_t a, uint64_t count, uint64_t cur_flags, unsigned size,
                   unsigned sub, CcState *cc)
{
    unsigned bits = size * 8;
    uint64_t m = size_mask(size), sb = sign_bit(size), r;
    uint32_t f;
    a &= m;
    switch (sub) {
    case SH_SHL:
    case SH_SAL: {
        uint64_t pre = a << (count - 1);
        r = (pre << 1) & m;
        if (count > bits) {
            pre = 0;
        }
        cc->op = cc_op_sized(CC_OP_SHLB, size);
        cc->dst = r;
        cc->src = pre & m;
        cc->src2 = 0;
        return r;
    }
    case SH_SHR: {
        uint64_t pre = count - 1 >= 64 ? 0 : a >> (count - 1);
        r = count >= 64 ? 0 : (a >> count) & m;
        cc->op = cc_op_sized(CC_OP_SHRB, size);
        cc->dst = r;
        cc->src = pre;
        cc->src2 = a;
        return r;
    }
    case SH_SAR: {
        int64_t s = sext(a, size);
        uint64_t pre = (uint64_t)(s >> (count - 1 > 63 ? 63 : count - 1));
        r = (uint64_t)(s >> (count > 63 ? 63 : count)) & m;
        cc->op = cc_op_sized(CC_OP_SARB, size);
        cc->dst = r;
        cc->src = pre;
        cc->src2 = 0;
        return r;
    }
    case SH_ROL: {
        unsigned n = (unsigned)(count % bits);
        r = n ? ((a << n) | (a >> (bits - n))) & m : a;
        f = (uint32_t)cur_flags & ~(uint32_t)(CC_C | CC_O);
        if (r & 1) {
            f |= CC_C;
        }
        if (((r & sb) != 0) != ((r & 1) != 0)) {
            f |= CC_O;
        }
        cc_eflags(cc, f);
        return r;
    }
    case SH_ROR: {
        unsigned n = (unsigned)(count % bits);
        r = n ? ((a >> n) | (a << (bits - n))) & m : a;
        f = (uint32_t)cur_flags & ~(uint32_t)(CC_C | CC_O);
        if (r & sb) {
            f |= CC_C;
        }
        if (((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1) {
            f |= CC_O;
        }
        cc_eflags(cc, f);
        return r;
    }
    case SH_RCL:
    case SH_RCR: {
        unsigned n = (unsigned)(count % (bits + 1)), k;
        uint64_t cf = (cur_flags & CC_C) ? 1 : 0;
        r = a;
        for (k = 0; k < n; k++) {
            uint64_t out;
            if (sub == SH_RCL) {
                out = (r & sb) ? 1 : 0;
                r = ((r << 1) | cf) & m;
            } else {
                out = r & 1;
                r = (r >> 1) | (cf ? sb : 0);
            }
            cf = out;
        }
        f = (uint32_t)cur_flags & ~(uint32_t)(CC_C | CC_O);
        if (cf) {
            f |= CC_C;
        }
        if (sub == SH_RCL) {
            if (((r & sb) != 0) != (cf != 0)) {
                f |= CC_O;
            }
        } else if (((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1) {
            f |= CC_O;
        }
        cc_eflags(cc, f);
        return r;
    }
    }
    cc_eflags(cc, (uint32_t)cur_flags);   /* not reached: sub is 0..7 */
    return a;
}

/* A shift or rotate of the r/m operand by `count` (not yet masked). */
static inline __attribute__((always_inline))
void shift_rm(TcgCpu *c, const Insn *i, uint64_t count, unsigned sub)
{
    CPUX86State *env = c->env;
    count &= i->opsize == 8 ? 0x3f : 0x1f;
    if (count == 0) {
        /* No flags change; a memory operand is still read (and may fault),
         * a 32-bit register is still written (zero-extended). */
        uint64_t la = 0, v;
        if (i->is_mem) {
            /* Still a read-modify-write access: faults as a write. */
            tcg_probe_write_host(c, insn_linear_access(c, i, i->opsize, true), i->opsize,
                                 cur_mmu(c));
        }
        v = ld_rm(c, i, i->opsize, &la);
        if (!i->is_mem && i->opsize == 4) {
            set_reg(env, i->rm, 4, v);
        }
        return;
    }
    {
        uint64_t flags = (sub <= SH_RCR) ? cc_materialize(env) : 0;
        rmw_rm(c, i, i->opsize, rmw_shift, count, flags, sub, true);
    }
}

/* C0/C1 (imm8), D0/D1 (by 1), D2/D3 (by CL): rotates (sub = ModRM.reg). */
void op_shift_rm(TcgCpu *c, const Insn *i)
{
    uint64_t count;
    if (i->op == 0xd0 || i->op == 0xd1) {
        count = 1;
    } else if (i->op == 0xd2 || i->op == 0xd3) {
        count = c->env->regs[R_ECX] & 0xff;
    } else {
        count = i->imm & 0xff;
    }
    shift_rm(c, i, count, i->sub);
}

/* The common shifts, one copy per operation and count source. */
#define SHIFT_SPECIALIZE(name, sub)                                                 \
    void op_##name##_1(TcgCpu *c, const Insn *i) { shift_rm(c, i, 1, sub); }        \
    void op_##name##_cl(TcgCpu *c, const Insn *i)                                   \
    {                                                                               \
        shift_rm(c, i, c->env->regs[R_ECX] & 0xff, sub);                            \
    }                                                                               \
    void op_##name##_imm(TcgCpu *c, const Insn *i) { shift_rm(c, i, i->imm & 0xff, sub); }
SHIFT_SPECIALIZE(shl, SH_SHL)
SHIFT_SPECIALIZE(shr, SH_SHR)
SHIFT_SPECIALIZE(sar, SH_SAR)

/* 0F A4/A5 SHLD, 0F AC/AD SHRD */
void op_shld_shrd(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, bits = size * 8;
    bool left = i->op == 0xa4 || i->op == 0xa5;
    uint64_t count = (i->op == 0xa4 || i->op == 0xac) ? i->imm : env->regs[R_ECX];
    uint64_t m = size_mask(size), la = 0, a, b, r, cf;
    uint32_t f;
    count &= size == 8 ? 0x3f : 0x1f;
    if (i->is_mem) {
        /* A read-modify-write access even for count 0: faults as a write. */
        tcg_probe_write_host(c, insn_linear_access(c, i, size, true), size, cur_mmu(c));
    }
    a = ld_rm(c, i, size, &la);
    if (count == 0) {
        if (!i->is_mem && size == 4) {
            set_reg(env, i->rm, 4, a);    /* zero-extends like any 32-bit write */
        }
        return;
    }
    b = get_reg(env, i->reg, size);
    /* 16-bit operands with count > 16 are undefined; the 128-bit
     * arithmetic below gives some value without overflowing. */
    if (left) {
        unsigned __int128 v = ((unsigned __int128)a << bits) | b;
        r = (uint64_t)((v << count) >> bits) & m;
        cf = (uint64_t)(v >> (2 * bits - count)) & 1;
    } else {
        unsigned __int128 v = ((unsigned __int128)b << bits) | a;
        r = (uint64_t)(v >> count) & m;
        cf = (uint64_t)(v >> (count - 1)) & 1;
    }
    st_rm(c, i, size, la, r);
    f = pzs_flags(r, size) | (cf ? CC_C : 0);
    if ((r ^ a) & sign_bit(size)) {
        f |= CC_O;
    }
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = f;
}

/* ---- bit operations ---- */

static uint64_t rmw_bt(uint64_t old, uint64_t bit, uint64_t flags, unsigned size, unsigned sub,
                       CcState *cc)
{
    uint64_t mask = (uint64_t)1 << bit, r;
    uint32_t f = ((uint32_t)flags & ~(uint32_t)CC_C) | ((old & mask) ? CC_C : 0);
    switch (sub) {
    case 1: r = old | mask; break;    /* BTS */
    case 2: r = old & ~mask; break;   /* BTR */
    case 3: r = old ^ mask; break;    /* BTC */
    default: r = old; break;          /* BT */
    }
    cc_eflags(cc, f);
    return r;
}

static void bt_common(TcgCpu *c, const Insn *i, int64_t offset, bool from_reg)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, bits = size * 8;
    uint64_t flags = cc_materialize(env);
    uint64_t bit;

    if (i->is_mem && from_reg) {
        /* The bit string extends beyond the operand (signed offset). */
        Insn moved = *i;
        int64_t units = offset >= 0 ? offset / bits : -((-offset + bits - 1) / bits);
        moved.disp = i->disp + units * (int64_t)size;
        bit = (uint64_t)(offset - units * (int64_t)bits);
        rmw_rm(c, &moved, size, rmw_bt, bit, flags, i->sub, i->sub != 0);
        return;
    }
    bit = (uint64_t)offset & (bits - 1);
    rmw_rm(c, i, size, rmw_bt, bit, flags, i->sub, i->sub != 0);
}

/* 0F A3/AB/B3/BB: BT/BTS/BTR/BTC Ev,Gv */
void op_bt_rm_r(TcgCpu *c, const Insn *i)
{
    bt_common(c, i, sext(get_reg(c->env, i->reg, i->opsize), i->opsize), true);
}

/* 0F BA /4-/7 */
void op_bt_rm_imm(TcgCpu *c, const Insn *i)
{
    bt_common(c, i, (int64_t)(i->imm & 0xff), false);
}

/* 0F BC/BD: BSF/BSR, or TZCNT/LZCNT with F3 when the CPU model has them. */
void op_bsf_bsr(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, bits = size * 8;
    uint64_t la = 0, v = ld_rm(c, i, size, &la);
    bool forward = i->op == 0xbc;
    uint32_t f = cc_materialize(env);

    if (i->prefixes & PFX_REP) {
        bool has = forward ? (env->cpuid_7_0_ebx & (1u << 3)) != 0      /* BMI1 */
                           : (env->cpuid_features[3] & (1u << 5)) != 0; /* ABM */
        if (has) {
            uint64_t n;
            if (v == 0) {
                n = bits;
            } else if (forward) {
                n = (uint64_t)__builtin_ctzll(v);
            } else {
                n = (uint64_t)(__builtin_clzll(v) - (64 - (int)bits));
            }
            set_reg(env, i->reg, size, n);
            f &= ~(uint32_t)(CC_C | CC_Z);
            f |= v == 0 ? CC_C : 0;
            f |= n == 0 ? CC_Z : 0;
            env->cc_src = f;
            return;
        }
    }
    if (v == 0) {
        env->cc_src = (f & ~(uint32_t)CC_ARITH_MASK) | CC_Z;
        return;
    }
    set_reg(env, i->reg, size,
            forward ? (uint64_t)__builtin_ctzll(v) : (uint64_t)(63 - __builtin_clzll(v)));
    env->cc_src = 0;
}

/* F3 0F B8 */
void op_popcnt(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la = 0, v;
    if (!(i->prefixes & PFX_REP) || !(env->cpuid_features[1] & (1u << 23))) {
        raise_exception(c, EXCP_UD);
    }
    v = ld_rm(c, i, i->opsize, &la);
    set_reg(env, i->reg, i->opsize, (uint64_t)__builtin_popcountll(v));
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = v ? 0 : CC_Z;
}

void op_setcc(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0;
    bool v = cc_test(c->env, i->op & 15);
    if (i->is_mem) {
        la = insn_linear(c, i);
    }
    st_rm(c, i, 1, la, v);
}

void op_cmovcc(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la = 0, v = ld_rm(c, i, i->opsize, &la);
    if (cc_test(env, i->op & 15)) {
        set_reg(env, i->reg, i->opsize, v);
    } else if (i->opsize == 4) {
        set_reg(env, i->reg, 4, get_reg(env, i->reg, 4));   /* zero-extends */
    }
}

/* ---- moves ---- */

void op_mov_rm_r(TcgCpu *c, const Insn *i)
{
    uint64_t v = get_reg(c->env, i->reg, i->opsize);
    uint64_t la = i->is_mem ? insn_linear(c, i) : 0;
    st_rm(c, i, i->opsize, la, v);
}

void op_mov_r_rm(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, v = ld_rm(c, i, i->opsize, &la);
    set_reg(c->env, i->reg, i->opsize, v);
}

void op_mov_rm_imm(TcgCpu *c, const Insn *i)
{
    uint64_t la = i->is_mem ? insn_linear(c, i) : 0;
    st_rm(c, i, i->opsize, la, i->imm);
}

void op_mov_reg_imm(TcgCpu *c, const Insn *i)
{
    set_reg(c->env, i->reg, i->opsize, i->imm);
}

/* The moffs operand of A0-A3, with the segment limit/rights check. */
static inline uint64_t moffs_linear(TcgCpu *c, const Insn *i, bool write)
{
    seg_check(c, i->seg, i->imm, i->opsize, write);
    return insn_linear_ea(c, i, i->imm);
}

/* A0/A1: mov AL/eAX, moffs */
void op_mov_acc_moffs(TcgCpu *c, const Insn *i)
{
    uint64_t v = ld_data(c, moffs_linear(c, i, false), i->opsize);
    set_reg(c->env, R_EAX, i->opsize, v);
}

void op_mov_moffs_acc(TcgCpu *c, const Insn *i)
{
    st_data(c, moffs_linear(c, i, true), get_reg(c->env, R_EAX, i->opsize), i->opsize);
}

void op_lea(TcgCpu *c, const Insn *i)
{
    set_reg(c->env, i->reg, i->opsize, insn_ea(c->env, i));
}

/* 0F B6/B7: the source size is in sub (1 or 2). */
void op_movzx(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, v = ld_rm(c, i, i->sub, &la);
    set_reg(c->env, i->reg, i->opsize, v);
}

void op_movsx(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, v = ld_rm(c, i, i->sub, &la);
    set_reg(c->env, i->reg, i->opsize, (uint64_t)sext(v, i->sub));
}

/* 63: MOVSXD in 64-bit mode, ARPL elsewhere. */
void op_movsxd_or_arpl(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la = 0;
    if (x86_code64(c)) {
        uint64_t v = ld_rm(c, i, 4, &la);
        set_reg(env, i->reg, i->opsize, i->opsize == 8 ? (uint64_t)(int64_t)(int32_t)v : v);
        return;
    }
    if (!(c->tb_flags & HF_PE) || (c->tb_flags & HF_VM86)) {
        raise_exception(c, EXCP_UD);
    }
    {
        uint64_t dst = ld_rm(c, i, 2, &la);
        uint64_t src = get_reg(env, i->reg, 2);
        uint32_t f = cc_materialize(env) & ~(uint32_t)CC_Z;
        if ((dst & 3) < (src & 3)) {
            dst = (dst & ~(uint64_t)3) | (src & 3);
            st_rm(c, i, 2, la, dst);
            f |= CC_Z;
        }
        env->cc_src = f;
    }
}

static uint64_t atomic_xchg_sized(void *p, uint64_t v, unsigned size)
{
    switch (size) {
    case 1: return __atomic_exchange_n((uint8_t *)p, (uint8_t)v, __ATOMIC_SEQ_CST);
    case 2: return __atomic_exchange_n((uint16_t *)p, (uint16_t)v, __ATOMIC_SEQ_CST);
    case 4: return __atomic_exchange_n((uint32_t *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
    default: return __atomic_exchange_n((uint64_t *)p, v, __ATOMIC_SEQ_CST);
    }
}

/* 86/87: XCHG with memory is always locked. */
void op_xchg_rm_r(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    uint64_t r = get_reg(env, i->reg, size), old, la;
    if (!i->is_mem) {
        old = get_reg(env, i->rm, size);
        set_reg(env, i->rm, size, r);
        set_reg(env, i->reg, size, old);
        return;
    }
    la = insn_linear_access(c, i, size, true);
    {
        void *p = tcg_probe_write_host(c, la, size, cur_mmu(c));
        if (p) {
            old = atomic_xchg_sized(p, r, size);
        } else {
            old = ld_data(c, la, size);
            st_data(c, la, r, size);
        }
    }
    set_reg(env, i->reg, size, old);
}

/* 90+r: XCHG eAX, r (90 itself is NOP, handled by op_nop unless REX.B). */
void op_xchg_acc_reg(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t a = get_reg(env, R_EAX, i->opsize), b = get_reg(env, i->reg, i->opsize);
    set_reg(env, R_EAX, i->opsize, b);
    set_reg(env, i->reg, i->opsize, a);
}

/* Compare-exchange of `size` bytes at la: returns the old value. The
 * destination is written either way (with itself on failure), as the
 * hardware does. */
static uint64_t guest_cmpxchg(TcgCpu *c, uint64_t la, unsigned size, uint64_t expect,
                              uint64_t desired)
{
    void *p = tcg_probe_write_host(c, la, size, cur_mmu(c));
    uint64_t old;
    if (p) {
        old = expect;
        atomic_cas(p, size, &old, desired);
    } else {
        old = ld_data(c, la, size);
        st_data(c, la, old == expect ? desired : old, size);
    }
    return old;
}

/* 0F B0/B1 */
void op_cmpxchg(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    uint64_t acc = get_reg(env, R_EAX, size), src = get_reg(env, i->reg, size), old, la;
    CcState cc;

    if (!i->is_mem) {
        old = get_reg(env, i->rm, size);
        alu_compute(ALU_SUB, size, acc, old, 0, &cc);
        if (old == acc) {
            set_reg(env, i->rm, size, src);
        } else {
            set_reg(env, R_EAX, size, old);
        }
        cc_commit(env, &cc);
        return;
    }
    la = insn_linear_access(c, i, size, true);
    old = guest_cmpxchg(c, la, size, acc, src);
    alu_compute(ALU_SUB, size, acc, old, 0, &cc);
    if (old != acc) {
        set_reg(env, R_EAX, size, old);
    }
    cc_commit(env, &cc);
}

/* A 16-byte compare-exchange on guest RAM (16-byte aligned): returns the
 * old value. On an x86-64 host this is LOCK CMPXCHG16B itself, atomic
 * against the other vCPUs' plain and locked accesses; elsewhere a lock
 * (atomic only against other CMPXCHG16Bs). */
static unsigned __int128 host_cmpxchg16(void *p, unsigned __int128 expect,
                                        unsigned __int128 desired)
{
#if defined(__x86_64__)
    uint64_t lo = (uint64_t)expect, hi = (uint64_t)(expect >> 64);
    __asm__ volatile("lock cmpxchg16b %0"
                     : "+m"(*(unsigned __int128 *)p), "+a"(lo), "+d"(hi)
                     : "b"((uint64_t)desired), "c"((uint64_t)(desired >> 64))
                     : "memory", "cc");
    return ((unsigned __int128)hi << 64) | lo;
#else
    static GMutex cx16_lock;
    unsigned __int128 cur;
    g_mutex_lock(&cx16_lock);
    memcpy(&cur, p, 16);
    if (cur == expect) {
        memcpy(p, &desired, 16);
    }
    g_mutex_unlock(&cx16_lock);
    return cur;
#endif
}

/* 0F C7 /1: CMPXCHG8B / CMPXCHG16B (REX.W) */
void op_cmpxchg8b_16b(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la;
    uint32_t f;

    /* CMPXCHG16B (64-bit mode only): a misaligned operand raises #GP(0)
     * before the canonical check (#SS for RSP/RBP bases), as the hardware
     * does (tests/tcg-diff). */
    if ((i->prefixes & PFX_REXW) &&
        ((insn_ea(env, i) + (i->seg >= R_FS ? env->segs[i->seg].base : 0)) & 15)) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    la = insn_linear_access(c, i, (i->prefixes & PFX_REXW) ? 16 : 8, true);
    f = cc_materialize(env) & ~(uint32_t)CC_Z;

    if (i->prefixes & PFX_REXW) {
        uint64_t lo, hi;
        if (la & 15) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        {
            void *p = tcg_probe_write_host(c, la, 16, cur_mmu(c));
            unsigned __int128 expect = ((unsigned __int128)env->regs[R_EDX] << 64) |
                                       env->regs[R_EAX];
            unsigned __int128 desired = ((unsigned __int128)env->regs[R_ECX] << 64) |
                                        env->regs[R_EBX];
            if (p) {
                unsigned __int128 cur = host_cmpxchg16(p, expect, desired);
                lo = (uint64_t)cur;
                hi = (uint64_t)(cur >> 64);
            } else {
                lo = ld_data(c, la, 8);
                hi = ld_data(c, la + 8, 8);
                if (lo == (uint64_t)expect && hi == (uint64_t)(expect >> 64)) {
                    st_data(c, la, env->regs[R_EBX], 8);
                    st_data(c, la + 8, env->regs[R_ECX], 8);
                } else {
                    st_data(c, la, lo, 8);
                    st_data(c, la + 8, hi, 8);
                }
            }
            if (lo == (uint64_t)expect && hi == (uint64_t)(expect >> 64)) {
                f |= CC_Z;
            } else {
                env->regs[R_EAX] = lo;
                env->regs[R_EDX] = hi;
            }
        }
    } else {
        uint64_t expect = ((uint64_t)(uint32_t)env->regs[R_EDX] << 32) |
                          (uint32_t)env->regs[R_EAX];
        uint64_t desired = ((uint64_t)(uint32_t)env->regs[R_ECX] << 32) |
                           (uint32_t)env->regs[R_EBX];
        uint64_t old = guest_cmpxchg(c, la, 8, expect, desired);
        if (old == expect) {
            f |= CC_Z;
        } else {
            env->regs[R_EAX] = (uint32_t)old;
            env->regs[R_EDX] = old >> 32;
        }
    }
    env->cc_src = f;
}

static uint64_t rmw_xadd(uint64_t old, uint64_t arg, uint64_t aux, unsigned size, unsigned sub,
                         CcState *cc)
{
    return alu_compute(ALU_ADD, size, old, arg, 0, cc);
}

/* 0F C0/C1 */
void op_xadd(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    uint64_t src = get_reg(env, i->reg, size), old, la;
    CcState cc;
    if (!i->is_mem) {
        old = get_reg(env, i->rm, size);
        uint64_t r = rmw_xadd(old, src, 0, size, 0, &cc);
        set_reg(env, i->reg, size, old);
        set_reg(env, i->rm, size, r);
        cc_commit(env, &cc);
        return;
    }
    la = insn_linear_access(c, i, size, true);
    {
        /* Probed for write first even without LOCK: faults report W=1. */
        void *p = tcg_probe_write_host(c, la, size, cur_mmu(c));
        if (p) {
            old = atomic_load_sized(p, size);
            uint64_t r;
            do {
                r = rmw_xadd(old, src, 0, size, 0, &cc);
            } while (!atomic_cas(p, size, &old, r));
        } else {
            old = ld_data(c, la, size);
            st_data(c, la, rmw_xadd(old, src, 0, size, 0, &cc), size);
        }
    }
    set_reg(env, i->reg, size, old);
    cc_commit(env, &cc);
}

/* 98: CBW / CWDE / CDQE */
void op_cbw(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned half = i->opsize / 2;
    set_reg(env, R_EAX, i->opsize, (uint64_t)sext(get_reg(env, R_EAX, half), half));
}

/* 99: CWD / CDQ / CQO */
void op_cwd(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    int64_t v = sext(get_reg(env, R_EAX, i->opsize), i->opsize);
    set_reg(env, R_EDX, i->opsize, v < 0 ? ~(uint64_t)0 : 0);
}

void op_bswap(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    if (i->opsize == 8) {
        env->regs[i->reg] = __builtin_bswap64(env->regs[i->reg]);
    } else if (i->opsize == 4) {
        set_reg(env, i->reg, 4, __builtin_bswap32((uint32_t)env->regs[i->reg]));
    } else {
        set_reg(env, i->reg, 2, 0);   /* undefined; zero like current CPUs */
    }
}

void op_lahf(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint32_t f = cc_compute_all(env) | RFLAGS_FIXED_1;
    set_reg(env, REG_HIGH_BYTE + R_EAX, 1, f & 0xff);
}

void op_sahf(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint32_t f = cc_materialize(env);
    uint32_t ah = (env->regs[R_EAX] >> 8) & (CC_S | CC_Z | CC_A | CC_P | CC_C);
    env->cc_src = (f & CC_O) | ah;
}

void op_cmc(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    env->cc_src = cc_materialize(env) ^ CC_C;
}

void op_clc(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    env->cc_src = cc_materialize(env) & ~(uint32_t)CC_C;
}

void op_stc(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    env->cc_src = cc_materialize(env) | CC_C;
}

void op_cld(TcgCpu *c, const Insn *i)
{
    c->env->eflags &= ~(uint64_t)DF_MASK;
}

void op_std(TcgCpu *c, const Insn *i)
{
    c->env->eflags |= DF_MASK;
}

/* 27/2F: DAA / DAS. OF is undefined; the value is that of the 8-bit add
 * (subtract) of the whole adjustment, as the hardware computes it. */
void op_daa_das(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint32_t f = cc_materialize(env);
    unsigned al = env->regs[R_EAX] & 0xff, old_al = al, adj = 0;
    bool old_cf = f & CC_C, cf = false, af = false, das = i->op == 0x2f;
    uint32_t nf;
    if ((al & 0xf) > 9 || (f & CC_A)) {
        if (das) {
            cf = old_cf || al < 6;
            al = (al - 6) & 0xff;
        } else {
            cf = old_cf || al + 6 > 0xff;
            al = (al + 6) & 0xff;
        }
        adj = 6;
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al = (das ? al - 0x60 : al + 0x60) & 0xff;
        adj |= 0x60;
        cf = true;
    } else if (!das) {
        cf = false;
    }
    set_reg(env, R_EAX, 1, al);
    nf = pzs_flags(al, 1) | (cf ? CC_C : 0) | (af ? CC_A : 0);
    if (das ? ((old_al ^ adj) & (old_al ^ al) & 0x80) : (~(old_al ^ adj) & (old_al ^ al) & 0x80)) {
        nf |= CC_O;
    }
    env->cc_src = nf;
}

/* 37/3F: AAA / AAS. SF/ZF/PF/OF are undefined; the hardware's values are
 * those of the 16-bit AX -/+ 0x106 before the high nibble of AL is cleared
 * (SF and ZF from all 16 bits, PF from the low byte). */
void op_aaa_aas(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint32_t f = cc_materialize(env);
    uint64_t ax = env->regs[R_EAX] & 0xffff;
    uint32_t nf = 0;
    if ((ax & 0xf) > 9 || (f & CC_A)) {
        ax = (i->op == 0x37 ? ax + 0x106 : ax - 0x106) & 0xffff;
        nf = CC_A | CC_C;
    }
    nf |= pzs_flags(ax, 2) & ~(uint32_t)CC_P;
    nf |= pzs_flags(ax & 0xff, 1) & CC_P;
    set_reg(env, R_EAX, 2, ax & 0xff0f);
    env->cc_src = nf;
}

/* D4 ib: AAM. AF/CF/OF are undefined: cleared, as the hardware does. */
void op_aam(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned base = i->imm & 0xff, al = env->regs[R_EAX] & 0xff;
    if (base == 0) {
        raise_exception(c, EXCP_DE);
    }
    al = ((al / base) << 8) | (al % base);
    set_reg(env, R_EAX, 2, al);
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = pzs_flags(al & 0xff, 1);
}

/* D5 ib: AAD. AL = AL + AH * imm8; the undefined AF/CF/OF are those of that
 * 8-bit addition, as the hardware computes them (lazily, as an ADD). */
void op_aad(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned base = i->imm & 0xff;
    unsigned al = env->regs[R_EAX] & 0xff, ah = (env->regs[R_EAX] >> 8) & 0xff;
    unsigned t = (ah * base) & 0xff, r = (al + t) & 0xff;
    set_reg(env, R_EAX, 2, r);
    cc_set_result(env, CC_OP_ADDB, r, t);
}

void op_salc(TcgCpu *c, const Insn *i)
{
    set_reg(c->env, R_EAX, 1, cc_compute_c(c->env) ? 0xff : 0);
}

void op_xlat(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t off = addr_trunc(env->regs[R_EBX] + (env->regs[R_EAX] & 0xff), i->addrsize);
    set_reg(env, R_EAX, 1, ld_data(c, insn_linear_ea(c, i, off), 1));
}

void op_nop(TcgCpu *c, const Insn *i)
{
}

/* ---- string instructions ---- */

/* Iterations of a REP instruction between checks for pending events. */
#define REP_CHUNK 4096

static inline uint64_t str_reg(CPUX86State *env, unsigned r, unsigned asz)
{
    return addr_trunc(env->regs[r], asz);
}

/* Linear addresses of the source (seg:rSI, seg overridable) and the
 * destination (ES:rDI) of a string instruction. */
static inline uint64_t str_src(TcgCpu *c, const Insn *i, unsigned size)
{
    uint64_t off = str_reg(c->env, R_ESI, i->addrsize);
    seg_check(c, i->seg, off, size, false);
    return str_linear_src(c, i, off);
}

static inline uint64_t str_dst(TcgCpu *c, const Insn *i, unsigned size, bool write)
{
    uint64_t off = str_reg(c->env, R_EDI, i->addrsize);
    seg_check(c, R_ES, off, size, write);
    return seg_linear(c, R_ES, off);
}

static inline void str_advance(CPUX86State *env, unsigned r, unsigned asz, int64_t delta)
{
    set_reg(env, r, asz, env->regs[r] + (uint64_t)delta);
}

static inline int64_t str_delta(CPUX86State *env, unsigned size)
{
    return (env->eflags & DF_MASK) ? -(int64_t)size : (int64_t)size;
}

/* Stops a long REP so events are noticed; the instruction resumes after. */
static inline bool rep_should_pause(TcgCpu *c, unsigned done)
{
    if (c->stop_tb) {
        /* An iteration asked to leave the TB (e.g. an I/O write that
         * stopped the machine): resume the rest later, if ever. */
        return true;
    }
    if (done < REP_CHUNK) {
        return false;
    }
    return c->cs->exit_request || c->cs->interrupt_request || c->flush_request;
}

static inline void rep_pause(TcgCpu *c, const Insn *i)
{
    c->env->rip = i->eip;
    tcg_stop_tb(c);
}

#define REP_LOOP(body, cond_exit)                                                 \
    do {                                                                          \
        unsigned asz = i->addrsize, done = 0;                                     \
        bool rep = (i->prefixes & (PFX_REP | PFX_REPNE)) != 0;                    \
        if (!rep) {                                                               \
            body;                                                                 \
            break;                                                                \
        }                                                                         \
        while (str_reg(env, R_ECX, asz) != 0) {                                   \
            if (rep_should_pause(c, done)) {                                      \
                rep_pause(c, i);                                                  \
                break;                                                            \
            }                                                                     \
            body;                                                                 \
            set_reg(env, R_ECX, asz, env->regs[R_ECX] - 1);                       \
            done++;                                                               \
            if (cond_exit) {                                                      \
                break;                                                            \
            }                                                                     \
        }                                                                         \
    } while (0)

/* op_movs and op_stos (with the REP fast path on RAM) are in string.c. */

void op_lods(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    int64_t d = str_delta(env, size);
    REP_LOOP({
        uint64_t v = ld_data(c, str_src(c, i, size), size);
        set_reg(env, R_EAX, size, v);
        str_advance(env, R_ESI, i->addrsize, d);
    }, false);
}

void op_cmps(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    int64_t d = str_delta(env, size);
    bool want_eq = (i->prefixes & PFX_REP) != 0;
    bool src_first = want_eq && size == 1;
    CcState cc = { 0 };
    REP_LOOP({
        /* Which operand faults first when both would is not architectural;
         * this is the order the reference hosts show (tests/tcg-diff):
         * ES:rDI first, except REPE CMPSB, which reads the source first. */
        uint64_t a;
        uint64_t b;
        if (src_first) {
            a = ld_data(c, str_src(c, i, size), size);
            b = ld_data(c, str_dst(c, i, size, false), size);
        } else {
            b = ld_data(c, str_dst(c, i, size, false), size);
            a = ld_data(c, str_src(c, i, size), size);
        }
        alu_compute(ALU_SUB, size, a, b, 0, &cc);
        cc_commit(env, &cc);
        str_advance(env, R_ESI, i->addrsize, d);
        str_advance(env, R_EDI, i->addrsize, d);
    }, ((cc.dst == 0) != want_eq));
}

void op_scas(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    int64_t d = str_delta(env, size);
    bool want_eq = (i->prefixes & PFX_REP) != 0;
    uint64_t a = get_reg(env, R_EAX, size);
    CcState cc = { 0 };
    REP_LOOP({
        uint64_t b = ld_data(c, str_dst(c, i, size, false), size);
        alu_compute(ALU_SUB, size, a, b, 0, &cc);
        cc_commit(env, &cc);
        str_advance(env, R_EDI, i->addrsize, d);
    }, ((cc.dst == 0) != want_eq));
}

void op_ins(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    int64_t d = str_delta(env, size);
    uint16_t port = env->regs[R_EDX] & 0xffff;
    check_io_permission(c, port, size);
    REP_LOOP({
        uint64_t la = str_dst(c, i, size, true);
        /* Probe the destination first so a fault does not lose port data. */
        tcg_probe_write_host(c, la, size, cur_mmu(c));
        st_data(c, la, tcg_io_read(c, port, size), size);
        str_advance(env, R_EDI, i->addrsize, d);
    }, false);
}

void op_outs(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    int64_t d = str_delta(env, size);
    uint16_t port = env->regs[R_EDX] & 0xffff;
    check_io_permission(c, port, size);
    REP_LOOP({
        uint64_t v = ld_data(c, str_src(c, i, size), size);
        tcg_io_write(c, port, v, size);
        str_advance(env, R_ESI, i->addrsize, d);
    }, false);
}
