/*
 * Integer instruction-set extensions: BMI1, BMI2 (VEX encoded), ADX,
 * MOVBE, RDRAND/RDSEED, RDPID and the FSGSBASE instructions.
 *
 * Each is gated on its CPUID bit of the vCPU model, so a model that does not
 * advertise an extension gets #UD like the hardware it imitates. VEX forms
 * find their extra source register (VEX.vvvv) in Insn.imm2.
 */
#include <sys/random.h>
#include "target/i386/tcg/tcg-cpu.h"

/* CPUID bits (leaf 1 ECX, leaf 7 EBX/ECX). */
#define CPUID_1_ECX_MOVBE   (1u << 22)
#define CPUID_1_ECX_RDRAND  (1u << 30)
#define CPUID_7_EBX_FSGSBASE (1u << 0)
#define CPUID_7_EBX_BMI1    (1u << 3)
#define CPUID_7_EBX_BMI2    (1u << 8)
#define CPUID_7_EBX_RDSEED  (1u << 18)
#define CPUID_7_EBX_ADX     (1u << 19)
#define CPUID_7_ECX_RDPID   (1u << 22)

static inline void require(TcgCpu *c, bool present)
{
    if (!present) {
        raise_exception(c, EXCP_UD);
    }
}

static inline uint64_t vex_reg(const CPUX86State *env, const Insn *i)
{
    return get_reg(env, (unsigned)i->imm2, i->opsize);
}

/* The flags of a BMI result: SF/ZF/PF from the value, CF as given, OF=AF=0. */
static void set_bmi_flags(CPUX86State *env, uint64_t r, unsigned size, bool cf)
{
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = pzs_flags(r, size) | (cf ? CC_C : 0);
}

/* ---- BMI1 ---- */

/* VEX.0F38 F2: ANDN Gy, By, Ey */
void op_andn(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la = 0, b, r;
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_BMI1);
    b = ld_rm(c, i, i->opsize, &la);
    r = ~vex_reg(env, i) & b & size_mask(i->opsize);
    set_reg(env, i->reg, i->opsize, r);
    cc_set_result(env, cc_op_sized(CC_OP_LOGICB, i->opsize), r, 0);
}

/* VEX.0F38 F3 /1 /2 /3: BLSR, BLSMSK, BLSI By, Ey (sub = ModRM.reg) */
void op_bls(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize;
    uint64_t la = 0, m = size_mask(size), s, r;
    bool cf;
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_BMI1);
    s = ld_rm(c, i, size, &la);
    switch (i->sub) {
    case 1:     /* BLSR: clear the lowest set bit */
        r = s & (s - 1) & m;
        cf = s == 0;
        break;
    case 2:     /* BLSMSK: mask up to the lowest set bit; ZF is always 0 */
        r = (s ^ (s - 1)) & m;
        cf = s == 0;
        break;
    default:    /* BLSI: isolate the lowest set bit */
        r = s & (0 - s) & m;
        cf = s != 0;
        break;
    }
    set_reg(env, (unsigned)i->imm2, size, r);
    set_bmi_flags(env, r, size, cf);
}

/* VEX.0F38 F7: BEXTR Gy, Ey, By (start = By[7:0], length = By[15:8]) */
void op_bextr(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, bits = size * 8;
    uint64_t la = 0, s, ctl, r;
    unsigned start, len;
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_BMI1);
    s = ld_rm(c, i, size, &la);
    ctl = vex_reg(env, i);
    start = ctl & 0xff;
    len = (ctl >> 8) & 0xff;
    r = start >= bits ? 0 : s >> start;
    if (len < 64) {
        r &= ((uint64_t)1 << len) - 1;
    }
    r &= size_mask(size);
    set_reg(env, i->reg, size, r);
    cc_set_result(env, cc_op_sized(CC_OP_LOGICB, size), r, 0);
}

/* ---- BMI2 ---- */

/* VEX.0F38 F5 (no prefix): BZHI Gy, Ey, By */
void op_bzhi(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, bits = size * 8;
    uint64_t la = 0, s, r;
    unsigned n;
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_BMI2);
    s = ld_rm(c, i, size, &la);
    n = vex_reg(env, i) & 0xff;
    r = n < bits ? s & (((uint64_t)1 << n) - 1) : s;
    set_reg(env, i->reg, size, r);
    set_bmi_flags(env, r, size, n > bits - 1);
}

/* VEX.F2.0F38 F5: PDEP Gy, By, Ey (deposit By's low bits at Ey's mask) */
void op_pdep(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la = 0, mask, src, r = 0, k = 1;
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_BMI2);
    mask = ld_rm(c, i, i->opsize, &la);
    src = vex_reg(env, i);
    while (mask) {
        uint64_t low = mask & (0 - mask);
        if (src & k) {
            r |= low;
        }
        k <<= 1;
        mask &= mask - 1;
    }
    set_reg(env, i->reg, i->opsize, r);
}

/* VEX.F3.0F38 F5: PEXT Gy, By, Ey (gather By's bits at Ey's mask) */
void op_pext(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la = 0, mask, src, r = 0, k = 1;
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_BMI2);
    mask = ld_rm(c, i, i->opsize, &la);
    src = vex_reg(env, i);
    while (mask) {
        uint64_t low = mask & (0 - mask);
        if (src & low) {
            r |= k;
        }
        k <<= 1;
        mask &= mask - 1;
    }
    set_reg(env, i->reg, i->opsize, r);
}

/* VEX.F2.0F38 F6: MULX Gy(high), By(low), Ey; rDX is the implicit factor.
 * The high half is written last, so it wins when both name one register. */
void op_mulx(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la = 0, b, lo, hi;
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_BMI2);
    b = ld_rm(c, i, i->opsize, &la);
    if (i->opsize == 8) {
        unsigned __int128 p = (unsigned __int128)env->regs[R_EDX] * b;
        lo = (uint64_t)p;
        hi = (uint64_t)(p >> 64);
    } else {
        uint64_t p = (uint64_t)(uint32_t)env->regs[R_EDX] * (uint32_t)b;
        lo = (uint32_t)p;
        hi = p >> 32;
    }
    set_reg(env, (unsigned)i->imm2, i->opsize, lo);
    set_reg(env, i->reg, i->opsize, hi);
}

/* VEX.F2.0F3A F0: RORX Gy, Ey, ib */
void op_rorx(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned bits = i->opsize * 8, n = (unsigned)(i->imm & (bits - 1));
    uint64_t la = 0, s, r;
    /* VEX.vvvv must be 1111b (no register). */
    require(c, (env->cpuid_7_0_ebx & CPUID_7_EBX_BMI2) && i->imm2 == 0);
    s = ld_rm(c, i, i->opsize, &la);
    r = n ? (s >> n) | (s << (bits - n)) : s;
    set_reg(env, i->reg, i->opsize, r & size_mask(i->opsize));
}

/* VEX.66/F3/F2.0F38 F7: SHLX / SARX / SHRX Gy, Ey, By (sub = 0/1/2) */
void op_shiftx(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, n;
    uint64_t la = 0, s, r;
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_BMI2);
    s = ld_rm(c, i, size, &la);
    n = (unsigned)(vex_reg(env, i) & (size * 8 - 1));
    switch (i->sub) {
    case 0: r = s << n; break;
    case 1: r = (uint64_t)(sext(s, size) >> n); break;
    default: r = s >> n; break;
    }
    set_reg(env, i->reg, size, r & size_mask(size));
}

/* ---- ADX ---- */

/* 66 0F38 F6: ADCX Gy, Ey (carry through CF); F3 0F38 F6: ADOX (through OF).
 * No other flag changes. */
void op_adcx_adox(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize == 8 ? 8 : 4;      /* no 16-bit form */
    uint32_t flag = (i->prefixes & PFX_REP) ? CC_O : CC_C;
    uint64_t la = 0, a, b, r;
    uint32_t f;
    bool carry;
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_ADX);
    b = ld_rm(c, i, size, &la);
    f = cc_materialize(env);
    a = get_reg(env, i->reg, size);
    if (size == 8) {
        unsigned __int128 s = (unsigned __int128)a + b + ((f & flag) ? 1 : 0);
        r = (uint64_t)s;
        carry = (s >> 64) != 0;
    } else {
        uint64_t s = (uint64_t)(uint32_t)a + (uint32_t)b + ((f & flag) ? 1 : 0);
        r = (uint32_t)s;
        carry = (s >> 32) != 0;
    }
    set_reg(env, i->reg, size, r);
    env->cc_src = (f & ~flag) | (carry ? flag : 0);
}

/* ---- MOVBE ---- */

static uint64_t byte_swap(uint64_t v, unsigned size)
{
    switch (size) {
    case 2: return __builtin_bswap16((uint16_t)v);
    case 4: return __builtin_bswap32((uint32_t)v);
    default: return __builtin_bswap64(v);
    }
}

/* 0F38 F0: MOVBE Gv, Mv; 0F38 F1: MOVBE Mv, Gv */
void op_movbe(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la;
    require(c, env->cpuid_features[1] & CPUID_1_ECX_MOVBE);
    la = insn_linear_access(c, i, i->opsize, i->op == 0xf1);
    if (i->op == 0xf0) {
        set_reg(env, i->reg, i->opsize, byte_swap(ld_data(c, la, i->opsize), i->opsize));
    } else {
        st_data(c, la, byte_swap(get_reg(env, i->reg, i->opsize), i->opsize), i->opsize);
    }
}

/* ---- random numbers, RDPID ---- */

static uint64_t host_random64(void)
{
    uint64_t v;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v)) {
        return v;
    }
    /* No entropy yet (early boot of the host): still random enough for a
     * guest that asked for it; the guest cannot tell the difference. */
    return ((uint64_t)g_random_int() << 32) | g_random_int();
}

/* The result is always available: CF=1, OF/SF/ZF/AF/PF=0. */
static void random_to_rm(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    if (i->prefixes & (PFX_REP | PFX_REPNE)) {
        raise_exception(c, EXCP_UD);
    }
    set_reg(env, i->rm, i->opsize, host_random64());
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = CC_C;
}

/* 0F C7 /6 (register): RDRAND */
void op_rdrand(TcgCpu *c, const Insn *i)
{
    require(c, c->env->cpuid_features[1] & CPUID_1_ECX_RDRAND);
    random_to_rm(c, i);
}

/* 0F C7 /7 (register): RDSEED; with F3: RDPID */
void op_rdseed_rdpid(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    if (i->prefixes & PFX_REP) {
        require(c, env->cpuid_7_0_ecx & CPUID_7_ECX_RDPID);
        set_reg(env, i->rm, x86_code64(c) ? 8 : 4, env->tsc_aux);
        return;
    }
    require(c, env->cpuid_7_0_ebx & CPUID_7_EBX_RDSEED);
    random_to_rm(c, i);
}

/* ---- FSGSBASE ---- */

static bool is_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* F3 0F AE /0-/3 (register): RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE.
 * 64-bit mode only, and only with CR4.FSGSBASE set. */
static void fsgsbase(TcgCpu *c, const Insn *i, unsigned op)
{
    CPUX86State *env = c->env;
    unsigned seg = (op & 1) ? R_GS : R_FS;
    unsigned size = i->opsize == 8 ? 8 : 4;
    require(c, x86_code64(c) && (env->cr[4] & CR4_FSGSBASE) &&
               (env->cpuid_7_0_ebx & CPUID_7_EBX_FSGSBASE));
    if (op < 2) {
        set_reg(env, i->rm, size, env->segs[seg].base);
        return;
    }
    {
        uint64_t v = get_reg(env, i->rm, size);
        if (!is_canonical(v)) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        env->segs[seg].base = v;
    }
}

/* 0F AE: the FSGSBASE register forms, everything else in op_grp15. */
void op_grp15_int(TcgCpu *c, const Insn *i)
{
    unsigned op = (i->modrm >> 3) & 7;
    if (!i->is_mem && op < 4 && (i->prefixes & PFX_REP)) {
        fsgsbase(c, i, op);
        return;
    }
    op_grp15(c, i);
}
