/*
 * Internal interface of the x86 TCG front end: decoder tables, semantic
 * functions, lazy flags, and helpers to read operands. See docs/tcg.md.
 */
#ifndef TARGET_I386_TCG_CPU_H
#define TARGET_I386_TCG_CPU_H

#include "exec/tcg.h"
#include "kestrel/log.h"

/* ---- exceptions ---- */
enum {
    EXCP_DE = 0, EXCP_DB = 1, EXCP_NMI = 2, EXCP_BP = 3, EXCP_OF = 4, EXCP_BR = 5,
    EXCP_UD = 6, EXCP_NM = 7, EXCP_DF = 8, EXCP_TS = 10, EXCP_NP = 11, EXCP_SS = 12,
    EXCP_GP = 13, EXCP_PF = 14, EXCP_MF = 16, EXCP_AC = 17, EXCP_MC = 18, EXCP_XM = 19,
};

#define PF_ERR_P    (1u << 0)
#define PF_ERR_W    (1u << 1)
#define PF_ERR_U    (1u << 2)
#define PF_ERR_RSVD (1u << 3)
#define PF_ERR_I    (1u << 4)

/* ---- lazy condition codes ----
 * cc_op selects how the arithmetic flags follow from cc_dst (the result),
 * cc_src (the second operand, or an auxiliary value) and cc_src2. */
enum {
    CC_OP_EFLAGS_ = CC_OP_EFLAGS,  /* cc_src = the flags */
    CC_OP_ADDB, CC_OP_ADDW, CC_OP_ADDL, CC_OP_ADDQ,       /* src = operand 2 */
    CC_OP_ADCB, CC_OP_ADCW, CC_OP_ADCL, CC_OP_ADCQ,       /* src2 = carry in */
    CC_OP_SUBB, CC_OP_SUBW, CC_OP_SUBL, CC_OP_SUBQ,       /* src = operand 2 */
    CC_OP_SBBB, CC_OP_SBBW, CC_OP_SBBL, CC_OP_SBBQ,       /* src2 = borrow in */
    CC_OP_LOGICB, CC_OP_LOGICW, CC_OP_LOGICL, CC_OP_LOGICQ,
    CC_OP_INCB, CC_OP_INCW, CC_OP_INCL, CC_OP_INCQ,       /* src = old CF */
    CC_OP_DECB, CC_OP_DECW, CC_OP_DECL, CC_OP_DECQ,       /* src = old CF */
    CC_OP_SHLB, CC_OP_SHLW, CC_OP_SHLL, CC_OP_SHLQ,       /* src = operand << (n-1) */
    CC_OP_SARB, CC_OP_SARW, CC_OP_SARL, CC_OP_SARQ,       /* src = operand >> (n-1) */
    CC_OP_SHRB, CC_OP_SHRW, CC_OP_SHRL, CC_OP_SHRQ,       /* ditto, src2 = operand */
    CC_OP_MULB, CC_OP_MULW, CC_OP_MULL, CC_OP_MULQ,       /* src != 0: CF=OF=1 */
    CC_OP_NB,
};

static inline unsigned size_log2(unsigned size)
{
    return (unsigned)__builtin_ctz(size);
}
static inline unsigned cc_op_sized(unsigned base_b, unsigned size)
{
    return base_b + size_log2(size);
}

static inline uint64_t size_mask(unsigned size)
{
    return size == 8 ? ~(uint64_t)0 : ((uint64_t)1 << (size * 8)) - 1;
}
static inline uint64_t sign_bit(unsigned size)
{
    return (uint64_t)1 << (size * 8 - 1);
}
static inline int64_t sext(uint64_t v, unsigned size)
{
    switch (size) {
    case 1: return (int8_t)v;
    case 2: return (int16_t)v;
    case 4: return (int32_t)v;
    default: return (int64_t)v;
    }
}

/* PF, ZF and SF of a result of `size` bytes. */
static inline uint32_t pzs_flags(uint64_t v, unsigned size)
{
    uint32_t f = 0;
    v &= size_mask(size);
    if (!__builtin_parity((unsigned)(v & 0xff))) {
        f |= CC_P;
    }
    if (!v) {
        f |= CC_Z;
    }
    if (v & sign_bit(size)) {
        f |= CC_S;
    }
    return f;
}

uint32_t cc_compute_all(const CPUX86State *env);
uint32_t cc_compute_c(const CPUX86State *env);
/* Evaluates condition code cc (0..15, as in Jcc's low nibble). */
static inline bool cc_test(const CPUX86State *env, unsigned cc)
{
    unsigned op = env->cc_op;
    bool r;

    /* Fast paths for the common compare-and-branch and test-and-branch. */
    if (op >= CC_OP_SUBB && op <= CC_OP_SUBQ) {
        unsigned size = 1u << (op - CC_OP_SUBB);
        uint64_t m = size_mask(size);
        uint64_t b = env->cc_src & m;
        uint64_t a = (env->cc_dst + b) & m;
        switch (cc >> 1) {
        case 1: r = a < b; goto out;                            /* B */
        case 2: r = a == b; goto out;                           /* Z */
        case 3: r = a <= b; goto out;                           /* BE */
        case 6: r = sext(a, size) < sext(b, size); goto out;    /* L */
        case 7: r = sext(a, size) <= sext(b, size); goto out;   /* LE */
        default: break;
        }
    } else if (op >= CC_OP_LOGICB && op <= CC_OP_LOGICQ) {
        unsigned size = 1u << (op - CC_OP_LOGICB);
        int64_t v = sext(env->cc_dst, size);
        switch (cc >> 1) {
        case 0: r = false; goto out;      /* O */
        case 1: r = false; goto out;      /* B */
        case 2: r = v == 0; goto out;
        case 3: r = v == 0; goto out;     /* BE = CF|ZF */
        case 4: r = v < 0; goto out;      /* S */
        case 6: r = v < 0; goto out;      /* L = SF^OF */
        case 7: r = v <= 0; goto out;     /* LE */
        default: break;
        }
    }

    {
        uint32_t f = cc_compute_all(env);
        switch (cc >> 1) {
        case 0: r = f & CC_O; break;
        case 1: r = f & CC_C; break;
        case 2: r = f & CC_Z; break;
        case 3: r = f & (CC_C | CC_Z); break;
        case 4: r = f & CC_S; break;
        case 5: r = f & CC_P; break;
        case 6: r = !(f & CC_S) != !(f & CC_O); break;
        default: r = (f & CC_Z) || (!(f & CC_S) != !(f & CC_O)); break;
        }
    }
out:
    return (cc & 1) ? !r : r;
}

/* Folds the lazy flags into CC_OP_EFLAGS form; returns the flags. */
static inline uint32_t cc_materialize(CPUX86State *env)
{
    if (env->cc_op != CC_OP_EFLAGS) {
        env->cc_src = cc_compute_all(env);
        env->cc_op = CC_OP_EFLAGS;
    }
    return (uint32_t)env->cc_src;
}
static inline void cc_set_result(CPUX86State *env, unsigned op, uint64_t dst, uint64_t src)
{
    env->cc_op = op;
    env->cc_dst = dst;
    env->cc_src = src;
}

/* ---- registers ---- */
static inline uint64_t get_reg(const CPUX86State *env, unsigned r, unsigned size)
{
    switch (size) {
    case 1:
        if (r >= REG_HIGH_BYTE) {
            return (env->regs[r - REG_HIGH_BYTE] >> 8) & 0xff;
        }
        return env->regs[r] & 0xff;
    case 2: return env->regs[r] & 0xffff;
    case 4: return (uint32_t)env->regs[r];
    default: return env->regs[r];
    }
}

static inline void set_reg(CPUX86State *env, unsigned r, unsigned size, uint64_t v)
{
    switch (size) {
    case 1:
        if (r >= REG_HIGH_BYTE) {
            uint64_t *p = &env->regs[r - REG_HIGH_BYTE];
            *p = (*p & ~(uint64_t)0xff00) | ((v & 0xff) << 8);
        } else {
            env->regs[r] = (env->regs[r] & ~(uint64_t)0xff) | (v & 0xff);
        }
        break;
    case 2:
        env->regs[r] = (env->regs[r] & ~(uint64_t)0xffff) | (v & 0xffff);
        break;
    case 4:
        env->regs[r] = (uint32_t)v;
        break;
    default:
        env->regs[r] = v;
        break;
    }
}

/* ---- mode ---- */
static inline int x86_cpl(const CPUX86State *env)
{
    if (!(env->cr[0] & CR0_PE)) {
        return 0;
    }
    if (env->eflags & VM_MASK) {
        return 3;
    }
    return env->segs[R_CS].selector & 3;
}
static inline bool x86_code64(TcgCpu *c)
{
    return (c->tb_flags & HF_CS64) != 0;
}
static inline int x86_mmu_idx_for_cpl(int cpl)
{
    return cpl == 3 ? MMU_IDX_USER : MMU_IDX_KERNEL;
}
/* TB flag: CPL < 3 with CR4.SMAP and EFLAGS.AC set: explicit supervisor
 * data accesses may touch user pages (MMU_IDX_KERNEL_AC). Every change of
 * AC ends the TB (STAC/CLAC/POPF/IRET ... are D_NOCHAIN). */
#define HF_SMAP_AC (1u << 23)
static inline int cur_mmu(TcgCpu *c)
{
    if ((c->tb_flags & HF_CPL_MASK) == 3) {
        return MMU_IDX_USER;
    }
    return (c->tb_flags & HF_SMAP_AC) ? MMU_IDX_KERNEL_AC : MMU_IDX_KERNEL;
}

/* ---- segment limit and rights checks (seg.c) ----
 * Outside 64-bit mode, TB flag bit HF_SEGCHK_SHIFT + seg is set when
 * segment register `seg` is not flat (limit below 4 GiB, expand-down, not
 * a writable data segment, unusable/null, or CS): its data accesses then go
 * through seg_check_slow, which raises #GP(0) (#SS(0) for SS). Flat
 * segments cost one bit test. seg_linear checks the first byte as a read
 * (never a false fault); ld_rm/st_rm and the stack helpers check the whole
 * access with its direction. */
#define HF_SEGCHK_SHIFT 16
#define HF_SEGCHK_MASK  (0x3fu << HF_SEGCHK_SHIFT)
void seg_check_slow(TcgCpu *c, unsigned seg, uint64_t off, unsigned size, bool write);
static inline void seg_check(TcgCpu *c, unsigned seg, uint64_t off, unsigned size, bool write)
{
    if (__builtin_expect((c->tb_flags >> (HF_SEGCHK_SHIFT + seg)) & 1, 0)) {
        seg_check_slow(c, seg, off, size, write);
    }
}
/* The offset in segment seg of a linear address computed by seg_linear
 * (only meaningful outside 64-bit mode, where checks happen). */
static inline uint64_t seg_offset_of(TcgCpu *c, unsigned seg, uint64_t la)
{
    return (uint32_t)(la - c->env->segs[seg].base);
}

/* Segment base + offset as a linear address (32-bit wrap outside long mode). */
static inline uint64_t seg_linear(TcgCpu *c, unsigned seg, uint64_t off)
{
    if (c->tb_flags & HF_CS64) {
        return seg >= R_FS ? off + c->env->segs[seg].base : off;
    }
    seg_check(c, seg, off, 1, false);
    return (uint32_t)(off + c->env->segs[seg].base);
}

static inline uint64_t addr_trunc(uint64_t a, unsigned addrsize)
{
    return addrsize == 8 ? a : addrsize == 4 ? (uint32_t)a : (uint16_t)a;
}

/* Effective address (offset within the segment) of the memory operand. */
static inline uint64_t insn_ea(const CPUX86State *env, const Insn *i)
{
    uint64_t a = (uint64_t)i->disp;
    if (i->base != REG_NONE) {
        a += env->regs[i->base];
    }
    if (i->index != REG_NONE) {
        a += env->regs[i->index] << i->scale;
    }
    return addr_trunc(a, i->addrsize);
}

/* The linear address of the memory operand at offset ea. 64-bit mode: a
 * non-canonical address based on RSP/RBP (or with an SS override) is
 * #SS(0), not the #GP(0) of the page walk. */
static inline uint64_t insn_linear_ea(TcgCpu *c, const Insn *i, uint64_t ea)
{
    if (__builtin_expect(i->seg == R_SS, 0) && (c->tb_flags & HF_CS64) &&
        (uint64_t)((int64_t)(ea << 16) >> 16) != ea &&
        ((i->prefixes & PFX_SEG) || i->base == R_ESP || i->base == R_EBP)) {
        raise_exception_err(c, EXCP_SS, 0);
    }
    return seg_linear(c, i->seg, ea);
}
static inline uint64_t insn_linear(TcgCpu *c, const Insn *i)
{
    return insn_linear_ea(c, i, insn_ea(c->env, i));
}
/* insn_linear for an access of `size` bytes that reads or writes: the full
 * segment limit and rights check (use it for stores and read-modify-write
 * outside st_rm). */
static inline uint64_t insn_linear_access(TcgCpu *c, const Insn *i, unsigned size, bool write)
{
    uint64_t ea = insn_ea(c->env, i);
    seg_check(c, i->seg, ea, size, write);
    return insn_linear_ea(c, i, ea);
}

/* Linear address of a string instruction's source seg:rSI at offset off
 * (segment limit/rights checked by the caller): in 64-bit mode an SS
 * override with a non-canonical rSI is #SS(0). */
static inline uint64_t str_linear_src(TcgCpu *c, const Insn *i, uint64_t off)
{
    if (__builtin_expect(i->seg == R_SS, 0) && (c->tb_flags & HF_CS64) &&
        (uint64_t)((int64_t)(off << 16) >> 16) != off) {
        raise_exception_err(c, EXCP_SS, 0);
    }
    if (c->tb_flags & HF_CS64) {
        return i->seg >= R_FS ? off + c->env->segs[i->seg].base : off;
    }
    return (uint32_t)(off + c->env->segs[i->seg].base);
}

/* ---- memory ---- */
/* Checks on every data access, off unless a TB flag asks for them:
 * HF_ALIGN_CHECK (CPL 3, CR0.AM and EFLAGS.AC): misaligned is #AC(0);
 * HF_DATA_BP (a DR7 data breakpoint is enabled): a hit records the #DB
 * trap taken after the instruction (seg.c). */
#define HF_ALIGN_CHECK (1u << 22)
#define HF_DATA_BP     (1u << 24)
/* A DR7 instruction breakpoint (R/W 00) is enabled: TBs are one
 * instruction long and never chained, so every instruction start goes
 * through the block lookup, where breakpoints are checked (seg.c). */
#define HF_INSN_BP     (1u << 25)
void data_access_check_slow(TcgCpu *c, uint64_t la, unsigned size, bool write);
static inline __attribute__((always_inline))
void data_access_check(TcgCpu *c, uint64_t la, unsigned size, bool write)
{
    if (__builtin_expect(c->tb_flags & (HF_ALIGN_CHECK | HF_DATA_BP), 0)) {
        data_access_check_slow(c, la, size, write);
    }
}
/* Always inlined (one TLB lookup, see cpu_ld_sized): out-of-line copies
 * cost a call per guest memory access. */
static inline __attribute__((always_inline))
uint64_t ldv(TcgCpu *c, uint64_t la, unsigned size, int mmu)
{
    return cpu_ld_sized(c, la, size, mmu);
}
static inline __attribute__((always_inline))
void stv(TcgCpu *c, uint64_t la, uint64_t v, unsigned size, int mmu)
{
    cpu_st_sized(c, la, v, size, mmu);
}
/* Loads through the data mmu index of the current privilege level. */
static inline __attribute__((always_inline))
uint64_t ld_data(TcgCpu *c, uint64_t la, unsigned size)
{
    data_access_check(c, la, size, false);
    return ldv(c, la, size, cur_mmu(c));
}
static inline __attribute__((always_inline))
void st_data(TcgCpu *c, uint64_t la, uint64_t v, unsigned size)
{
    data_access_check(c, la, size, true);
    stv(c, la, v, size, cur_mmu(c));
}

/* Stack accesses at offset off in SS, with its limit and rights checks;
 * in 64-bit mode a non-canonical stack address is #SS(0), not #GP(0). */
static inline void ss_check(TcgCpu *c, uint64_t off, unsigned size, bool write)
{
    if (c->tb_flags & HF_CS64) {
        if (__builtin_expect((uint64_t)((int64_t)(off << 16) >> 16) != off, 0)) {
            raise_exception_err(c, EXCP_SS, 0);
        }
    } else {
        seg_check(c, R_SS, off, size, write);
    }
}
static inline uint64_t ss_ld(TcgCpu *c, uint64_t off, unsigned size)
{
    ss_check(c, off, size, false);
    return ld_data(c, seg_linear(c, R_SS, off), size);
}
static inline void ss_st(TcgCpu *c, uint64_t off, uint64_t v, unsigned size)
{
    ss_check(c, off, size, true);
    st_data(c, seg_linear(c, R_SS, off), v, size);
}

/* The r/m operand: register or memory (computes the address once). */
static inline uint64_t ld_rm(TcgCpu *c, const Insn *i, unsigned size, uint64_t *la)
{
    if (!i->is_mem) {
        return get_reg(c->env, i->rm, size);
    }
    {
        uint64_t ea = insn_ea(c->env, i);
        seg_check(c, i->seg, ea, size, false);
        *la = insn_linear_ea(c, i, ea);
    }
    return ld_data(c, *la, size);
}
static inline void st_rm(TcgCpu *c, const Insn *i, unsigned size, uint64_t la, uint64_t v)
{
    if (!i->is_mem) {
        set_reg(c->env, i->rm, size, v);
    } else {
        seg_check(c, i->seg, seg_offset_of(c, i->seg, la), size, true);
        st_data(c, la, v, size);
    }
}

/* ---- stack ---- */
static inline unsigned stack_size(TcgCpu *c)
{
    if (c->tb_flags & HF_CS64) {
        return 8;
    }
    return (c->tb_flags & HF_SS32) ? 4 : 2;
}
void push_v(TcgCpu *c, uint64_t v, unsigned size);
uint64_t pop_v(TcgCpu *c, unsigned size);       /* loads and updates RSP */
uint64_t peek_v(TcgCpu *c, unsigned size, uint64_t offset);
void stack_adjust(TcgCpu *c, int64_t delta);

/* ---- decoder tables ---- */
enum {
    IMM_NONE, IMM_IB, IMM_UB, IMM_IW, IMM_IZ, IMM_IV, IMM_MOFFS, IMM_FAR, IMM_ENTER,
    IMM_REL8, IMM_RELZ,
};

#define D_MODRM    (1u << 0)
#define D_BYTE     (1u << 1)    /* byte operands */
#define D_DEF64    (1u << 2)    /* 64-bit default operand size in long mode */
#define D_FORCE64  (1u << 3)    /* always 64-bit in long mode */
#define D_INV64    (1u << 4)    /* #UD in 64-bit mode */
#define D_END      (1u << 5)    /* ends the TB (no fixed successor) */
#define D_NOCHAIN  (1u << 6)    /* may change the mode: end, never chain */
#define D_JMP      (1u << 7)    /* one fixed successor: imm */
#define D_JCC      (1u << 8)    /* two fixed successors: imm and the next insn */
#define D_MEMONLY  (1u << 9)    /* #UD if ModRM.mod == 3 */
#define D_LOCK     (1u << 10)   /* LOCK allowed (with a memory operand) */
#define D_WORD     (1u << 11)   /* 16-bit operand (selectors) */
#define D_IMM_SHIFT 12
#define D_IMM(k)   ((uint32_t)(k) << D_IMM_SHIFT)
#define D_IMM_MASK (15u << D_IMM_SHIFT)
#define D_REGONLY  (1u << 16)   /* #UD unless ModRM.mod == 3 */
#define D_ONLY64   (1u << 17)   /* #UD outside 64-bit mode */

typedef struct OpDesc {
    InsnFn *fn;
    const char *name;
    uint32_t flags;
    uint8_t sub;
    const struct OpDesc *group;   /* 8 entries selected by ModRM.reg */
    /* 4 variants selected by the mandatory prefix (SSE style): none, 66,
     * F3, F2. The chosen variant's flags replace this entry's. */
    const struct OpDesc *pfx;
} OpDesc;

/* Opcode maps (Insn.sub of unimplemented opcodes, for the log). */
enum { MAP_1BYTE, MAP_0F, MAP_0F38, MAP_0F3A };

#define TB_MAX_INSNS 128

/* ---- semantic functions ---- */
#define DECLARE_OP(n) InsnFn n
/* alu.c */
DECLARE_OP(op_test_rm_r); DECLARE_OP(op_test_acc_imm);
DECLARE_OP(op_test_rm_imm); DECLARE_OP(op_inc_dec_rm); DECLARE_OP(op_inc_dec_reg);
DECLARE_OP(op_not_rm); DECLARE_OP(op_neg_rm); DECLARE_OP(op_mul_rm); DECLARE_OP(op_imul_rm);
DECLARE_OP(op_div_rm); DECLARE_OP(op_idiv_rm); DECLARE_OP(op_imul_r_rm);
DECLARE_OP(op_imul_r_rm_imm); DECLARE_OP(op_shift_rm); DECLARE_OP(op_shld_shrd);
DECLARE_OP(op_bt_rm_r); DECLARE_OP(op_bt_rm_imm); DECLARE_OP(op_bsf_bsr);
DECLARE_OP(op_popcnt); DECLARE_OP(op_setcc); DECLARE_OP(op_cmovcc);
DECLARE_OP(op_mov_rm_r); DECLARE_OP(op_mov_r_rm); DECLARE_OP(op_mov_rm_imm);
DECLARE_OP(op_mov_reg_imm); DECLARE_OP(op_mov_acc_moffs); DECLARE_OP(op_mov_moffs_acc);
DECLARE_OP(op_lea); DECLARE_OP(op_movzx); DECLARE_OP(op_movsx); DECLARE_OP(op_movsxd_or_arpl);
DECLARE_OP(op_xchg_rm_r); DECLARE_OP(op_xchg_acc_reg); DECLARE_OP(op_cmpxchg);
DECLARE_OP(op_cmpxchg8b_16b); DECLARE_OP(op_xadd); DECLARE_OP(op_cbw); DECLARE_OP(op_cwd);
DECLARE_OP(op_bswap); DECLARE_OP(op_lahf); DECLARE_OP(op_sahf); DECLARE_OP(op_cmc);
DECLARE_OP(op_clc); DECLARE_OP(op_stc); DECLARE_OP(op_cld); DECLARE_OP(op_std);
DECLARE_OP(op_daa_das); DECLARE_OP(op_aaa_aas); DECLARE_OP(op_aam); DECLARE_OP(op_aad);
DECLARE_OP(op_salc); DECLARE_OP(op_xlat); DECLARE_OP(op_nop);
DECLARE_OP(op_movs); DECLARE_OP(op_stos); DECLARE_OP(op_lods); DECLARE_OP(op_cmps);
DECLARE_OP(op_scas); DECLARE_OP(op_ins); DECLARE_OP(op_outs);
#define DECLARE_ALU_SPECIALIZED(n) \
    DECLARE_OP(op_alu_rm_r_##n); DECLARE_OP(op_alu_r_rm_##n); \
    DECLARE_OP(op_alu_acc_imm_##n); DECLARE_OP(op_alu_rm_imm_##n);
DECLARE_ALU_SPECIALIZED(0) DECLARE_ALU_SPECIALIZED(1) DECLARE_ALU_SPECIALIZED(2)
DECLARE_ALU_SPECIALIZED(3) DECLARE_ALU_SPECIALIZED(4) DECLARE_ALU_SPECIALIZED(5)
DECLARE_ALU_SPECIALIZED(6) DECLARE_ALU_SPECIALIZED(7)
#define DECLARE_SHIFT_SPECIALIZED(n) \
    DECLARE_OP(op_##n##_1); DECLARE_OP(op_##n##_cl); DECLARE_OP(op_##n##_imm);
DECLARE_SHIFT_SPECIALIZED(shl) DECLARE_SHIFT_SPECIALIZED(shr) DECLARE_SHIFT_SPECIALIZED(sar)
/* ctrl.c */
DECLARE_OP(op_jcc_0); DECLARE_OP(op_jcc_1); DECLARE_OP(op_jcc_2); DECLARE_OP(op_jcc_3);
DECLARE_OP(op_jcc_4); DECLARE_OP(op_jcc_5); DECLARE_OP(op_jcc_6); DECLARE_OP(op_jcc_7);
DECLARE_OP(op_jcc_8); DECLARE_OP(op_jcc_9); DECLARE_OP(op_jcc_10); DECLARE_OP(op_jcc_11);
DECLARE_OP(op_jcc_12); DECLARE_OP(op_jcc_13); DECLARE_OP(op_jcc_14); DECLARE_OP(op_jcc_15);
DECLARE_OP(op_jmp_rel); DECLARE_OP(op_call_rel); DECLARE_OP(op_ret);
DECLARE_OP(op_jmp_rm); DECLARE_OP(op_call_rm); DECLARE_OP(op_loop); DECLARE_OP(op_jcxz);
DECLARE_OP(op_push_reg); DECLARE_OP(op_pop_reg); DECLARE_OP(op_push_imm); DECLARE_OP(op_push_rm);
DECLARE_OP(op_pop_rm); DECLARE_OP(op_push_sreg); DECLARE_OP(op_pop_sreg); DECLARE_OP(op_pusha);
DECLARE_OP(op_popa); DECLARE_OP(op_pushf); DECLARE_OP(op_popf); DECLARE_OP(op_enter);
DECLARE_OP(op_leave); DECLARE_OP(op_jmp_far); DECLARE_OP(op_call_far); DECLARE_OP(op_jmp_far_rm);
DECLARE_OP(op_call_far_rm); DECLARE_OP(op_retf); DECLARE_OP(op_iret); DECLARE_OP(op_int);
DECLARE_OP(op_int3); DECLARE_OP(op_into); DECLARE_OP(op_int1); DECLARE_OP(op_bound);
/* sys.c */
DECLARE_OP(op_hlt); DECLARE_OP(op_cli); DECLARE_OP(op_sti); DECLARE_OP(op_in); DECLARE_OP(op_out);
DECLARE_OP(op_mov_rm_sreg); DECLARE_OP(op_mov_sreg_rm); DECLARE_OP(op_lxs);
DECLARE_OP(op_mov_cr); DECLARE_OP(op_mov_dr); DECLARE_OP(op_clts); DECLARE_OP(op_wrmsr);
DECLARE_OP(op_rdmsr); DECLARE_OP(op_rdtsc); DECLARE_OP(op_rdtscp); DECLARE_OP(op_rdpmc);
DECLARE_OP(op_cpuid); DECLARE_OP(op_grp6); DECLARE_OP(op_grp7); DECLARE_OP(op_lar_lsl);
DECLARE_OP(op_invd); DECLARE_OP(op_syscall); DECLARE_OP(op_sysret); DECLARE_OP(op_sysenter);
DECLARE_OP(op_sysexit); DECLARE_OP(op_grp15); DECLARE_OP(op_fwait); DECLARE_OP(op_x87);
DECLARE_OP(op_ud); DECLARE_OP(op_ud_unimp); DECLARE_OP(op_gp_too_long); DECLARE_OP(op_grp9);

/* intext.c: BMI1/BMI2 (VEX: VEX.vvvv in imm2), ADX, MOVBE, RDRAND/RDSEED,
 * RDPID, FSGSBASE */
DECLARE_OP(op_andn); DECLARE_OP(op_bls); DECLARE_OP(op_bextr); DECLARE_OP(op_bzhi);
DECLARE_OP(op_pdep); DECLARE_OP(op_pext); DECLARE_OP(op_mulx); DECLARE_OP(op_rorx);
DECLARE_OP(op_shiftx); DECLARE_OP(op_adcx_adox); DECLARE_OP(op_movbe); DECLARE_OP(op_rdrand);
DECLARE_OP(op_rdseed_rdpid); DECLARE_OP(op_grp15_int);

/* Insn.prefixes: the instruction was VEX encoded (next to exec/tcg.h's PFX_*). */
#define PFX_VEX     (1u << 15)

/* ---- system helpers (seg.c) ---- */
/* Loads a segment register as MOV/POP would (protected-mode checks). */
void load_seg(TcgCpu *c, unsigned seg, uint16_t selector);
/* Loads a segment register from a real/vm86 selector. */
void load_seg_real(CPUX86State *env, unsigned seg, uint16_t selector);
bool read_descriptor(TcgCpu *c, uint16_t selector, uint32_t *lo, uint32_t *hi);
void far_jump(TcgCpu *c, uint16_t sel, uint64_t offset, uint64_t next_eip);
void far_call(TcgCpu *c, uint16_t sel, uint64_t offset, unsigned opsize, uint64_t next_eip);
void far_return(TcgCpu *c, unsigned opsize, uint16_t pop_bytes);
void do_iret(TcgCpu *c, unsigned opsize);
/* Software interrupt INT n (next_eip is pushed). */
void G_NORETURN raise_soft_interrupt(TcgCpu *c, int vector, uint64_t next_eip);
void check_io_permission(TcgCpu *c, uint16_t port, unsigned size);
/* Control register writes with all side effects (mode, TLB). */
void x86_write_cr(TcgCpu *c, int cr, uint64_t val);
void x86_update_efer(TcgCpu *c, uint64_t val);
uint32_t x86_recompute_hflags(const CPUX86State *env);
void segcache_from_desc(SegmentCache *sc, uint16_t sel, uint32_t lo, uint32_t hi);

#endif
