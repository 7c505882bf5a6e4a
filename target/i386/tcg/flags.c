/*
 * Lazy condition codes: the last flag-setting operation leaves its result
 * and operands in cc_dst/cc_src/cc_src2 and its kind in cc_op; the flags are
 * computed only when something reads them.
 */
#include "target/i386/tcg/tcg-cpu.h"

static inline uint32_t flag_pzs(uint64_t dst, unsigned size)
{
    uint32_t f = 0;
    dst &= size_mask(size);
    if (!__builtin_parity((unsigned)(dst & 0xff))) {
        f |= CC_P;
    }
    if (dst == 0) {
        f |= CC_Z;
    }
    if (dst & sign_bit(size)) {
        f |= CC_S;
    }
    return f;
}

static uint32_t compute_all(unsigned op, uint64_t dst, uint64_t src, uint64_t src2)
{
    unsigned size;
    uint64_t m, sb, src1;
    uint32_t f;

    if (op == CC_OP_EFLAGS || op >= CC_OP_NB) {
        return (uint32_t)src & CC_ARITH_MASK;
    }
    size = 1u << ((op - 1) & 3);
    m = size_mask(size);
    sb = sign_bit(size);
    dst &= m;
    f = flag_pzs(dst, size);

    switch ((op - 1) >> 2) {
    case 0: /* ADD */
        src &= m;
        src1 = (dst - src) & m;
        f |= dst < src ? CC_C : 0;
        f |= (uint32_t)((dst ^ src ^ src1) & 0x10);
        f |= ((src1 ^ dst) & (src ^ dst) & sb) ? CC_O : 0;
        break;
    case 1: /* ADC */
        src &= m;
        src1 = (dst - src - src2) & m;
        f |= (src2 ? dst <= src : dst < src) ? CC_C : 0;
        f |= (uint32_t)((dst ^ src ^ src1) & 0x10);
        f |= ((src1 ^ dst) & (src ^ dst) & sb) ? CC_O : 0;
        break;
    case 2: /* SUB */
        src &= m;
        src1 = (dst + src) & m;
        f |= src1 < src ? CC_C : 0;
        f |= (uint32_t)((dst ^ src ^ src1) & 0x10);
        f |= ((src1 ^ src) & (src1 ^ dst) & sb) ? CC_O : 0;
        break;
    case 3: /* SBB */
        src &= m;
        src1 = (dst + src + src2) & m;
        f |= (src2 ? src1 <= src : src1 < src) ? CC_C : 0;
        f |= (uint32_t)((dst ^ src ^ src1) & 0x10);
        f |= ((src1 ^ src) & (src1 ^ dst) & sb) ? CC_O : 0;
        break;
    case 4: /* LOGIC */
        break;
    case 5: /* INC: src = old CF */
        f |= src ? CC_C : 0;
        f |= (dst & 0xf) == 0 ? CC_A : 0;
        f |= dst == sb ? CC_O : 0;
        break;
    case 6: /* DEC */
        f |= src ? CC_C : 0;
        f |= (dst & 0xf) == 0xf ? CC_A : 0;
        f |= dst == sb - 1 ? CC_O : 0;
        break;
    case 7: /* SHL: src = operand << (count - 1) */
        f |= (src & sb) ? CC_C : 0;
        f |= (((src << 1) ^ src) & sb) ? CC_O : 0;
        break;
    case 8: /* SAR */
        f |= (src & 1) ? CC_C : 0;
        break;
    case 9: /* SHR: src2 = the original operand */
        f |= (src & 1) ? CC_C : 0;
        f |= (src2 & sb) ? CC_O : 0;
        break;
    case 10: /* MUL / IMUL */
        f |= src ? (CC_C | CC_O) : 0;
        break;
    }
    return f;
}

uint32_t cc_compute_all(const CPUX86State *env)
{
    return compute_all(env->cc_op, env->cc_dst, env->cc_src, env->cc_src2);
}

uint32_t cc_compute_c(const CPUX86State *env)
{
    unsigned op = env->cc_op;
    if (op >= CC_OP_ADDB && op <= CC_OP_ADDQ) {
        uint64_t m = size_mask(1u << (op - CC_OP_ADDB));
        return (env->cc_dst & m) < (env->cc_src & m);
    }
    if (op >= CC_OP_SUBB && op <= CC_OP_SUBQ) {
        uint64_t m = size_mask(1u << (op - CC_OP_SUBB));
        return ((env->cc_dst + env->cc_src) & m) < (env->cc_src & m);
    }
    if (op >= CC_OP_LOGICB && op <= CC_OP_LOGICQ) {
        return 0;
    }
    return cc_compute_all(env) & CC_C;
}

uint64_t x86_cpu_get_eflags(const CPUX86State *env)
{
    return (env->eflags & ~(uint64_t)CC_ARITH_MASK) | RFLAGS_FIXED_1 | cc_compute_all(env);
}

void x86_cpu_set_eflags(CPUX86State *env, uint64_t rflags)
{
    env->eflags = (rflags & ~(uint64_t)CC_ARITH_MASK & 0x3fffffull) | RFLAGS_FIXED_1;
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = rflags & CC_ARITH_MASK;
    env->cc_dst = 0;
    env->cc_src2 = 0;
}
