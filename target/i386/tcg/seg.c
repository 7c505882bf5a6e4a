/*
 * Segmentation and privilege: descriptor loads, far transfers, IRET, and
 * exception/interrupt delivery through the IVT (real mode) or the IDT
 * (protected and long mode). Also control-register side effects and the
 * mode bits that key translation blocks.
 */
#include "target/i386/tcg/tcg-cpu.h"
#include "exec/tcg.h"

#define SEL_RPL(s) ((s) & 3)
#define EXCP_TRIPLE EXCP_TRIPLE_FAULT

/* ---- mode bits ---- */

static bool data_breakpoints_enabled(const CPUX86State *env);
static bool insn_breakpoints_enabled(const CPUX86State *env);

/* Segments whose data accesses need limit/rights checks (bit per R_*):
 * all but flat writable expand-up data segments; CS always in protected
 * mode (writes through it fault, reads need the R bit). */
static uint32_t segs_needing_checks(const CPUX86State *env, bool protected_rights)
{
    const uint32_t flat_rights = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK;
    const uint32_t rights_mask = flat_rights | DESC_CS_MASK | DESC_E_MASK;
    bool compat = (env->efer & EFER_LMA) != 0;
    uint32_t mask = 0;
    for (unsigned s = 0; s < 6; s++) {
        const SegmentCache *sc = &env->segs[s];
        bool flat = sc->limit == 0xffffffffu;
        if (compat && s != R_CS && s != R_SS && (sc->selector & ~3u) == 0 &&
            !(sc->flags & DESC_P_MASK) && sc->limit == 0xffffffffu) {
            /* A data segment nulled by a return to an outer level in long
             * mode (nullify_data_segs keeps base and limit) and then used
             * in compatibility mode, e.g. after SYSRETL: the reference
             * (QEMU) keeps it usable. An explicit null load
             * (load_null_seg: limit 0) still faults on use, as on AMD. */
            continue;
        }
        if (protected_rights) {
            flat = flat && s != R_CS && (sc->flags & rights_mask) == flat_rights;
        }
        if (!flat) {
            mask |= 1u << s;
        }
    }
    return mask;
}

uint32_t x86_recompute_hflags(const CPUX86State *env)
{
    uint32_t f = (uint32_t)x86_cpl(env);
    bool pe = env->cr[0] & CR0_PE, vm = env->eflags & VM_MASK;
    if (pe) {
        f |= HF_PE;
    }
    if (vm) {
        f |= HF_VM86;
    }
    if (env->efer & EFER_LMA) {
        f |= HF_LMA;
        if (env->segs[R_CS].flags & DESC_L_MASK) {
            f |= HF_CS64;
        }
    }
    if (!(f & HF_CS64) && pe && !vm && (env->segs[R_CS].flags & DESC_B_MASK)) {
        f |= HF_CS32;
    }
    if (pe && !vm && (env->segs[R_SS].flags & DESC_B_MASK)) {
        f |= HF_SS32;
    }
    if (env->eflags & TF_MASK) {
        f |= HF_TF;
    }
    if (!(f & HF_CS64)) {
        f |= segs_needing_checks(env, pe && !vm) << HF_SEGCHK_SHIFT;
    }
    if ((f & HF_CPL_MASK) == 3 && (env->cr[0] & CR0_AM) && (env->eflags & AC_MASK)) {
        f |= HF_ALIGN_CHECK;
    }
    if ((f & HF_CPL_MASK) != 3 && (env->cr[4] & CR4_SMAP) && (env->eflags & AC_MASK)) {
        f |= HF_SMAP_AC;
    }
    if ((env->dr[7] & 0xff) && data_breakpoints_enabled(env)) {
        f |= HF_DATA_BP;
    }
    if ((env->dr[7] & 0xff) && insn_breakpoints_enabled(env)) {
        f |= HF_INSN_BP;
    }
    return f;
}

/* ---- segment limit and rights checks ---- */

void seg_check_slow(TcgCpu *c, unsigned seg, uint64_t off, unsigned size, bool write)
{
    const SegmentCache *sc = &c->env->segs[seg];
    int vector = seg == R_SS ? EXCP_SS : EXCP_GP;
    uint64_t last = off + size - 1;

    if ((c->tb_flags & HF_PE) && !(c->tb_flags & HF_VM86)) {
        uint32_t f = sc->flags;
        if (!(f & DESC_P_MASK)) {
            raise_exception_err(c, vector, 0);      /* null or unusable */
        }
        if (f & DESC_CS_MASK) {
            if (write || !(f & DESC_R_MASK)) {
                raise_exception_err(c, vector, 0);
            }
        } else {
            if (write && !(f & DESC_W_MASK)) {
                raise_exception_err(c, vector, 0);
            }
            if (f & DESC_E_MASK) {
                /* Expand-down: valid offsets are limit+1 .. 64K-1 or 4G-1. */
                uint64_t upper = (f & DESC_B_MASK) ? 0xffffffffull : 0xffffull;
                if (off <= sc->limit || last > upper) {
                    raise_exception_err(c, vector, 0);
                }
                return;
            }
        }
    }
    /* Real and virtual-8086 mode check only the limit. */
    if (last > sc->limit) {
        raise_exception_err(c, vector, 0);
    }
}

/* ---- debug registers ---- */

#define DR7_ENABLED(dr7, n) (((dr7) >> ((n) * 2)) & 3)
#define DR7_RW(dr7, n) (((dr7) >> (16 + (n) * 4)) & 3)
#define DR7_LEN(dr7, n) (((dr7) >> (18 + (n) * 4)) & 3)

static bool data_breakpoints_enabled(const CPUX86State *env)
{
    for (unsigned n = 0; n < 4; n++) {
        if (DR7_ENABLED(env->dr[7], n) && (DR7_RW(env->dr[7], n) & 1)) {
            return true;
        }
    }
    return false;
}

void data_access_check_slow(TcgCpu *c, uint64_t la, unsigned size, bool write)
{
    CPUX86State *env = c->env;
    uint64_t dr7 = env->dr[7];

    if ((c->tb_flags & HF_ALIGN_CHECK) && (la & (size - 1))) {
        raise_exception_err(c, EXCP_AC, 0);
    }
    if (!(c->tb_flags & HF_DATA_BP)) {
        return;
    }
    for (unsigned n = 0; n < 4; n++) {
        unsigned rw = DR7_RW(dr7, n), len = DR7_LEN(dr7, n);
        uint64_t blen = len == 0 ? 1 : len == 1 ? 2 : len == 3 ? 4 : 8, start;
        /* R/W 01: writes; 11: reads and writes (00 execute, 10 I/O). */
        if (!DR7_ENABLED(dr7, n) || !(rw & 1) || (rw == 1 && !write)) {
            continue;
        }
        start = env->dr[n] & ~(blen - 1);
        if (la <= start + blen - 1 && start <= la + size - 1) {
            env->pending_dr6 |= 1u << n;
            tcg_stop_tb(c);     /* the trap comes at the next block lookup */
        }
    }
}

static bool insn_breakpoints_enabled(const CPUX86State *env)
{
    for (unsigned n = 0; n < 4; n++) {
        if (DR7_ENABLED(env->dr[7], n) && DR7_RW(env->dr[7], n) == 0) {
            return true;
        }
    }
    return false;
}

/* At a block boundary: takes the #DB trap of data breakpoints the last
 * instruction hit, then checks instruction breakpoints at the block's first
 * instruction (a fault, suppressed once by RF, which is cleared here: the
 * instruction it covered is about to run). While an instruction breakpoint
 * is enabled every block is one instruction and unchained (HF_INSN_BP), so
 * this sees every instruction start. */
static void debug_at_block_start(CPUX86State *env, uint64_t pc)
{
    TcgCpu *c = tcg_cpu(container_of(env, CPUState, env));
    uint64_t dr7 = env->dr[7];

    c->cur_insn = NULL;
    if (env->pending_dr6) {
        env->dr[6] = (env->dr[6] & ~(uint64_t)0xf) | env->pending_dr6 | 0xffff0ff0u;
        env->pending_dr6 = 0;
        raise_exception(c, EXCP_DB);
    }
    if (env->eflags & RF_MASK) {
        env->eflags &= ~(uint64_t)RF_MASK;
        return;
    }
    for (unsigned n = 0; n < 4; n++) {
        if (DR7_ENABLED(dr7, n) && DR7_RW(dr7, n) == 0 && env->dr[n] == pc) {
            env->dr[6] = (env->dr[6] & ~(uint64_t)0xf) | (1u << n) | 0xffff0ff0u;
            raise_exception(c, EXCP_DB);
        }
    }
}

void x86_tcg_get_tb_key(CPUX86State *env, uint64_t *pc, uint64_t *cs_base, uint32_t *flags)
{
    uint32_t f;
    if (__builtin_expect(env->pending_dr6 || (env->dr[7] & 0xff) || (env->eflags & RF_MASK), 0)) {
        debug_at_block_start(env, (env->efer & EFER_LMA) && (env->segs[R_CS].flags & DESC_L_MASK)
                                  ? env->rip : (uint32_t)(env->segs[R_CS].base + env->rip));
    }
    f = x86_recompute_hflags(env);
    *flags = f;
    if (f & HF_CS64) {
        *cs_base = 0;
        *pc = env->rip;
    } else {
        *cs_base = env->segs[R_CS].base;
        *pc = (uint32_t)(env->segs[R_CS].base + env->rip);
    }
}

/* ---- exceptions ---- */

static bool is_contributory(int v)
{
    return v == EXCP_DE || (v >= EXCP_TS && v <= EXCP_GP);
}

/* Exceptions reported before the instruction completes (restartable). */
static bool is_fault_class(int v)
{
    switch (v) {
    case EXCP_DE: case EXCP_BR: case EXCP_UD: case EXCP_NM: case EXCP_TS: case EXCP_NP:
    case EXCP_SS: case EXCP_GP: case EXCP_PF: case EXCP_MF: case EXCP_AC: case EXCP_XM:
    case 20:    /* #VE */
        return true;
    default:
        return false;
    }
}

static void G_NORETURN raise_full(TcgCpu *c, int vector, uint32_t err, bool has_err, bool soft,
                                  uint64_t next_eip)
{
    CPUX86State *env = c->env;
    if (c->cur_insn) {
        /* Faults restart the instruction, which did not complete: no data
         * breakpoint trap for it. */
        env->rip = c->cur_insn->eip;
        env->pending_dr6 = 0;
    }
    if (c->excp_delivering >= 0 && !soft) {
        int first = c->excp_delivering;
        bool serious = is_contributory(vector) || vector == EXCP_PF;
        if (first == EXCP_DF && serious) {
            vector = EXCP_TRIPLE;
        } else if ((is_contributory(first) && is_contributory(vector)) ||
                   (first == EXCP_PF && (vector == EXCP_PF || is_contributory(vector)))) {
            vector = EXCP_DF;
            err = 0;
            has_err = true;
        }
    }
    c->excp_vector = vector;
    c->excp_error = err;
    c->excp_has_error = has_err;
    c->excp_soft = soft;
    c->excp_next_eip = next_eip;
    tcg_cpu_loop_exit(c);
}

void raise_exception(TcgCpu *c, int vector)
{
    raise_full(c, vector, 0, false, false, 0);
}

void raise_exception_err(TcgCpu *c, int vector, uint32_t error_code)
{
    raise_full(c, vector, error_code, true, false, 0);
}

void raise_soft_interrupt(TcgCpu *c, int vector, uint64_t next_eip)
{
    raise_full(c, vector, 0, false, true, next_eip);
}

/* ---- descriptors ---- */

void segcache_from_desc(SegmentCache *sc, uint16_t sel, uint32_t lo, uint32_t hi)
{
    uint32_t limit = (lo & 0xffff) | (hi & 0x000f0000);
    if (hi & DESC_G_MASK) {
        limit = (limit << 12) | 0xfff;
    }
    sc->selector = sel;
    sc->base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    sc->limit = limit;
    sc->flags = hi & 0x00f0ff00;
}

bool read_descriptor(TcgCpu *c, uint16_t selector, uint32_t *lo, uint32_t *hi)
{
    CPUX86State *env = c->env;
    uint64_t base, limit, index = selector & ~7u;
    if (selector & 4) {
        if (!(env->ldt.flags & DESC_P_MASK) && env->ldt.selector == 0) {
            return false;
        }
        base = env->ldt.base;
        limit = env->ldt.limit;
    } else {
        base = env->gdt.base;
        limit = env->gdt.limit;
    }
    if (index + 7 > limit) {
        return false;
    }
    *lo = cpu_ldl(c, base + index, MMU_IDX_KERNEL);
    *hi = cpu_ldl(c, base + index + 4, MMU_IDX_KERNEL);
    return true;
}

static uint64_t descriptor_addr(TcgCpu *c, uint16_t selector)
{
    CPUX86State *env = c->env;
    return ((selector & 4) ? env->ldt.base : env->gdt.base) + (selector & ~7u);
}

static void set_accessed(TcgCpu *c, uint16_t selector, uint32_t *hi)
{
    if (!(*hi & DESC_A_MASK)) {
        *hi |= DESC_A_MASK;
        cpu_stl(c, descriptor_addr(c, selector) + 4, *hi, MMU_IDX_KERNEL);
    }
}

void load_seg_real(CPUX86State *env, unsigned seg, uint16_t selector)
{
    SegmentCache *sc = &env->segs[seg];
    sc->selector = selector;
    sc->base = (uint64_t)selector << 4;
    if (env->eflags & VM_MASK) {
        sc->limit = 0xffff;
        sc->flags = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK | (3u << DESC_DPL_SHIFT);
        if (seg == R_CS) {
            sc->flags |= DESC_CS_MASK | DESC_R_MASK;
        }
    } else {
        /* Real mode keeps the cached limit and attributes ("unreal" mode). */
        sc->flags |= DESC_P_MASK | DESC_S_MASK | DESC_A_MASK;
    }
}

static void load_null_seg(CPUX86State *env, unsigned seg, uint16_t selector, int cpl)
{
    SegmentCache *sc = &env->segs[seg];
    sc->selector = selector;
    sc->base = 0;
    sc->limit = 0;
    sc->flags = 0;
    if (seg == R_SS) {
        /* A null SS in 64-bit mode is usable; keep the DPL = CPL. */
        sc->flags = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_B_MASK |
                    ((unsigned)cpl << DESC_DPL_SHIFT);
    }
}

void load_seg(TcgCpu *c, unsigned seg, uint16_t selector)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    uint32_t lo, hi, dpl, type;

    if (!(env->cr[0] & CR0_PE) || (env->eflags & VM_MASK)) {
        load_seg_real(env, seg, selector);
        return;
    }
    if ((selector & ~3u) == 0) {
        if (seg == R_SS) {
            if (!(env->efer & EFER_LMA) || !(c->tb_flags & HF_CS64) || cpl == 3 ||
                SEL_RPL(selector) != (unsigned)cpl) {
                raise_exception_err(c, EXCP_GP, 0);
            }
        }
        if ((seg == R_FS || seg == R_GS) && (c->tb_flags & HF_CS64)) {
            /* Keep the 64-bit base (it comes from the MSRs). */
            env->segs[seg].selector = selector;
            env->segs[seg].flags = 0;
            return;
        }
        load_null_seg(env, seg, selector, cpl);
        return;
    }
    if (!read_descriptor(c, selector, &lo, &hi)) {
        raise_exception_err(c, EXCP_GP, selector & 0xfffc);
    }
    dpl = (hi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
    type = (hi & DESC_TYPE_MASK) >> DESC_TYPE_SHIFT;
    if (!(hi & DESC_S_MASK)) {
        raise_exception_err(c, EXCP_GP, selector & 0xfffc);
    }
    if (seg == R_SS) {
        if (SEL_RPL(selector) != (unsigned)cpl || dpl != (unsigned)cpl ||
            (type & 8) || !(type & 2)) {
            raise_exception_err(c, EXCP_GP, selector & 0xfffc);
        }
        if (!(hi & DESC_P_MASK)) {
            raise_exception_err(c, EXCP_SS, selector & 0xfffc);
        }
    } else {
        /* Data, or readable code. */
        if ((type & 8) && !(type & 2)) {
            raise_exception_err(c, EXCP_GP, selector & 0xfffc);
        }
        if (!((type & 8) && (type & 4))) {
            unsigned rpl = SEL_RPL(selector);
            if (dpl < (unsigned)cpl || dpl < rpl) {
                raise_exception_err(c, EXCP_GP, selector & 0xfffc);
            }
        }
        if (!(hi & DESC_P_MASK)) {
            raise_exception_err(c, EXCP_NP, selector & 0xfffc);
        }
    }
    set_accessed(c, selector, &hi);
    segcache_from_desc(&env->segs[seg], selector, lo, hi);
}

/* Checks a code-segment descriptor as the target of a far JMP/CALL/RET. */
static void load_cs_checked(TcgCpu *c, uint16_t selector, uint32_t lo, uint32_t hi, int new_cpl)
{
    CPUX86State *env = c->env;
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, selector & 0xfffc);
    }
    if ((env->efer & EFER_LMA) && (hi & DESC_L_MASK) && (hi & DESC_B_MASK)) {
        raise_exception_err(c, EXCP_GP, selector & 0xfffc);
    }
    set_accessed(c, selector, &hi);
    segcache_from_desc(&env->segs[R_CS], (uint16_t)((selector & 0xfffc) | (unsigned)new_cpl),
                       lo, hi);
}

/* The new instruction pointer of a far transfer. The offset was already
 * read with the instruction's operand size (a 16-bit one is zero-extended);
 * the D bit of the new CS does not truncate it: a 32-bit far jump may
 * enter a 16-bit segment above 0xffff when its limit allows. */
static uint64_t truncate_ip(const CPUX86State *env, uint64_t ip)
{
    if ((env->efer & EFER_LMA) && (env->segs[R_CS].flags & DESC_L_MASK)) {
        return ip;
    }
    return (uint32_t)ip;
}

static void check_code_target(TcgCpu *c, uint16_t sel, uint32_t hi, int cpl)
{
    unsigned dpl = (hi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
    unsigned type = (hi & DESC_TYPE_MASK) >> DESC_TYPE_SHIFT;
    if (!(hi & DESC_S_MASK) || !(type & 8)) {
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);
    }
    if (type & 4) {
        if (dpl > (unsigned)cpl) {
            raise_exception_err(c, EXCP_GP, sel & 0xfffc);
        }
    } else if (SEL_RPL(sel) > (unsigned)cpl || dpl != (unsigned)cpl) {
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);
    }
}

/* Reads and checks the code descriptor of a protected-mode far JMP/CALL
 * (`what` names it for the log); its presence is left to the caller. */
static void read_far_code_target(TcgCpu *c, uint16_t sel, int cpl, const char *what,
                                 uint32_t *lo, uint32_t *hi)
{
    if ((sel & ~3u) == 0) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    if (!read_descriptor(c, sel, lo, hi)) {
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);
    }
    if (!(*hi & DESC_S_MASK)) {
        /* Gates and TSSs were handled by far_system_target. */
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);
    }
    check_code_target(c, sel, *hi, cpl);
}

/* Pushes the far return address (CS, then IP) below sp; returns the new sp. */
static uint64_t push_far_return(TcgCpu *c, uint64_t sp, unsigned ss, unsigned opsize,
                                uint64_t next_eip)
{
    sp = addr_trunc(sp - opsize, ss);
    ss_st(c, sp, c->env->segs[R_CS].selector, opsize);
    sp = addr_trunc(sp - opsize, ss);
    ss_st(c, sp, next_eip, opsize);
    return sp;
}

/* ---- call gates and hardware task switching ---- */

static void push_at(TcgCpu *c, uint64_t *sp, uint64_t ss_base, unsigned stack_sz,
                    uint64_t v, unsigned size, int mmu, bool long_mode);
static void tss_stack(TcgCpu *c, unsigned dpl, uint16_t *ss_out, uint64_t *sp_out, uint32_t ext);
static uint64_t tss64_stack(TcgCpu *c, uint64_t off, uint32_t ext);

#define DESC_DPL(hi) (((hi) & DESC_DPL_MASK) >> DESC_DPL_SHIFT)

/* Why a task switch happens: decides the busy bits, NT and the back link. */
enum { TASK_FROM_JMP, TASK_FROM_CALL, TASK_FROM_IRET, TASK_FROM_INT };

/* Sets or clears the busy bit of the TSS descriptor `sel` in the GDT. */
static void set_tss_busy(TcgCpu *c, uint16_t sel, bool busy)
{
    uint64_t addr = c->env->gdt.base + (sel & ~7u) + 4;
    uint32_t hi = cpu_ldl(c, addr, MMU_IDX_KERNEL);
    hi = busy ? hi | (2u << 8) : hi & ~(2u << 8);
    cpu_stl(c, addr, hi, MMU_IDX_KERNEL);
}

/* Loads segment register `seg` from the incoming task's TSS; descriptor
 * problems are #TS (not-present #NP, or #SS for SS) with the selector. */
static void task_load_seg(TcgCpu *c, unsigned seg, uint16_t sel)
{
    CPUX86State *env = c->env;
    uint32_t lo, hi, err = sel & 0xfffc;
    unsigned dpl, rpl = SEL_RPL(sel), cpl = (unsigned)x86_cpl(env);
    bool code, conforming;

    if ((sel & ~3u) == 0) {
        if (seg == R_CS || seg == R_SS) {
            raise_exception_err(c, EXCP_TS, 0);
        }
        load_null_seg(env, seg, sel, (int)cpl);
        return;
    }
    if (!read_descriptor(c, sel, &lo, &hi) || !(hi & DESC_S_MASK)) {
        raise_exception_err(c, EXCP_TS, err);
    }
    dpl = DESC_DPL(hi);
    code = (hi & DESC_CS_MASK) != 0;
    conforming = code && (hi & DESC_C_MASK);
    switch (seg) {
    case R_CS:
        if (!code || (conforming ? dpl > rpl : dpl != rpl)) {
            raise_exception_err(c, EXCP_TS, err);
        }
        break;
    case R_SS:
        if (code || !(hi & DESC_W_MASK) || rpl != cpl || dpl != cpl) {
            raise_exception_err(c, EXCP_TS, err);
        }
        if (!(hi & DESC_P_MASK)) {
            raise_exception_err(c, EXCP_SS, err);
        }
        break;
    default:
        if ((code && !(hi & DESC_R_MASK)) || (!conforming && (dpl < cpl || dpl < rpl))) {
            raise_exception_err(c, EXCP_TS, err);
        }
        break;
    }
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, err);
    }
    set_accessed(c, sel, &hi);
    segcache_from_desc(&env->segs[seg], sel, lo, hi);
}

/* The LDT of the incoming task (a GDT selector of an LDT descriptor). */
static void task_load_ldt(TcgCpu *c, uint16_t sel)
{
    CPUX86State *env = c->env;
    uint32_t lo, hi;
    if ((sel & ~3u) == 0) {
        memset(&env->ldt, 0, sizeof(env->ldt));
        env->ldt.selector = sel;
        return;
    }
    if ((sel & 4) || (sel | 7u) > env->gdt.limit) {
        raise_exception_err(c, EXCP_TS, sel & 0xfffc);
    }
    lo = cpu_ldl(c, env->gdt.base + (sel & ~7u), MMU_IDX_KERNEL);
    hi = cpu_ldl(c, env->gdt.base + (sel & ~7u) + 4, MMU_IDX_KERNEL);
    if (((hi >> 8) & 0x1f) != 0x02 || !(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_TS, sel & 0xfffc);
    }
    segcache_from_desc(&env->ldt, sel, lo, hi);
}

/*
 * Switches to the task whose TSS descriptor (lo, hi) selector tss_sel is:
 * saves the current state into the current TSS (ret_eip as its EIP), loads
 * the new one, and updates busy bits, NT and the back link as `source`
 * requires. Legacy protected mode only (the caller checks). Faults before
 * the commit point leave the old task intact; later ones are taken in the
 * context of the new task.
 */
static void switch_task(TcgCpu *c, uint16_t tss_sel, uint32_t lo, uint32_t hi, int source,
                        uint64_t ret_eip)
{
    CPUX86State *env = c->env;
    bool new32 = (hi & (8u << 8)) != 0;
    bool old32 = (env->tr.flags & (8u << 8)) != 0;
    SegmentCache ntss;
    uint64_t nb, ob = env->tr.base, old_flags;
    uint32_t n_cr3 = 0, n_eip, n_eflags, n_regs[8];
    uint16_t n_segs[6] = { 0 }, n_ldt;

    tcg_stop_tb(c);
    segcache_from_desc(&ntss, tss_sel, lo, hi);
    nb = ntss.base;
    if (ntss.limit < (new32 ? 0x67u : 0x2bu)) {
        raise_exception_err(c, EXCP_TS, tss_sel & 0xfffc);
    }
    if (!(env->tr.flags & DESC_P_MASK) || env->tr.limit < (old32 ? 0x5fu : 0x29u)) {
        raise_exception_err(c, EXCP_TS, env->tr.selector & 0xfffc);
    }

    /* Read the whole new state first (it may fault; nothing changed yet). */
    if (new32) {
        n_cr3 = cpu_ldl(c, nb + 0x1c, MMU_IDX_KERNEL);
        n_eip = cpu_ldl(c, nb + 0x20, MMU_IDX_KERNEL);
        n_eflags = cpu_ldl(c, nb + 0x24, MMU_IDX_KERNEL);
        for (int r = 0; r < 8; r++) {
            n_regs[r] = cpu_ldl(c, nb + 0x28 + r * 4, MMU_IDX_KERNEL);
        }
        for (int s = 0; s < 6; s++) {
            n_segs[s] = cpu_lduw(c, nb + 0x48 + s * 4, MMU_IDX_KERNEL);
        }
        n_ldt = cpu_lduw(c, nb + 0x60, MMU_IDX_KERNEL);
    } else {
        n_eip = cpu_lduw(c, nb + 0x0e, MMU_IDX_KERNEL);
        n_eflags = cpu_lduw(c, nb + 0x10, MMU_IDX_KERNEL);
        for (int r = 0; r < 8; r++) {
            n_regs[r] = cpu_lduw(c, nb + 0x12 + r * 2, MMU_IDX_KERNEL);
        }
        for (int s = 0; s < 4; s++) {
            n_segs[s] = cpu_lduw(c, nb + 0x22 + s * 2, MMU_IDX_KERNEL);
        }
        n_ldt = cpu_lduw(c, nb + 0x2a, MMU_IDX_KERNEL);
    }

    /* Save the outgoing task. */
    old_flags = x86_cpu_get_eflags(env);
    if (source == TASK_FROM_IRET) {
        old_flags &= ~(uint64_t)NT_MASK;
    }
    if (old32) {
        cpu_stl(c, ob + 0x20, (uint32_t)ret_eip, MMU_IDX_KERNEL);
        cpu_stl(c, ob + 0x24, (uint32_t)old_flags, MMU_IDX_KERNEL);
        for (int r = 0; r < 8; r++) {
            cpu_stl(c, ob + 0x28 + r * 4, (uint32_t)env->regs[r], MMU_IDX_KERNEL);
        }
        for (int s = 0; s < 6; s++) {
            cpu_stw(c, ob + 0x48 + s * 4, env->segs[s].selector, MMU_IDX_KERNEL);
        }
    } else {
        cpu_stw(c, ob + 0x0e, (uint16_t)ret_eip, MMU_IDX_KERNEL);
        cpu_stw(c, ob + 0x10, (uint16_t)old_flags, MMU_IDX_KERNEL);
        for (int r = 0; r < 8; r++) {
            cpu_stw(c, ob + 0x12 + r * 2, (uint16_t)env->regs[r], MMU_IDX_KERNEL);
        }
        for (int s = 0; s < 4; s++) {
            cpu_stw(c, ob + 0x22 + s * 2, env->segs[s].selector, MMU_IDX_KERNEL);
        }
    }
    if (source == TASK_FROM_JMP || source == TASK_FROM_IRET) {
        set_tss_busy(c, env->tr.selector, false);
    }
    if (source != TASK_FROM_IRET) {
        set_tss_busy(c, tss_sel, true);
        hi |= 2u << 8;
    }
    if (source == TASK_FROM_CALL || source == TASK_FROM_INT) {
        cpu_stw(c, nb, env->tr.selector, MMU_IDX_KERNEL);
        n_eflags |= NT_MASK;
    }

    /* Commit: from here on faults belong to the new task. */
    c->cur_insn = NULL;
    segcache_from_desc(&env->tr, tss_sel, lo, hi | (2u << 8));
    env->cr[0] |= CR0_TS;
    if (new32 && (env->cr[0] & CR0_PG)) {
        env->cr[3] = n_cr3;
        tlb_flush_nonglobal(c);
    }
    env->rip = n_eip;
    if (new32) {
        x86_cpu_set_eflags(env, n_eflags | RFLAGS_FIXED_1);
        for (int r = 0; r < 8; r++) {
            env->regs[r] = n_regs[r];
        }
    } else {
        x86_cpu_set_eflags(env, (x86_cpu_get_eflags(env) & ~(uint64_t)0xffff) |
                                (n_eflags & 0xffff) | RFLAGS_FIXED_1);
        for (int r = 0; r < 8; r++) {
            set_reg(env, (unsigned)r, 2, n_regs[r]);
        }
    }
    if (env->eflags & VM_MASK) {
        for (int s = 0; s < 6; s++) {
            load_seg_real(env, (unsigned)s, n_segs[s]);
        }
        task_load_ldt(c, n_ldt);
        return;
    }
    /* Selectors first (CPL comes from CS.RPL), descriptors after the LDT. */
    for (int s = 0; s < 6; s++) {
        env->segs[s].selector = n_segs[s];
        env->segs[s].flags = 0;
    }
    task_load_ldt(c, n_ldt);
    task_load_seg(c, R_CS, n_segs[R_CS]);
    task_load_seg(c, R_SS, n_segs[R_SS]);
    task_load_seg(c, R_ES, n_segs[R_ES]);
    task_load_seg(c, R_DS, n_segs[R_DS]);
    task_load_seg(c, R_FS, n_segs[R_FS]);
    task_load_seg(c, R_GS, n_segs[R_GS]);
    if (new32 && source != TASK_FROM_INT && (cpu_lduw(c, nb + 0x64, MMU_IDX_KERNEL) & 1)) {
        /* The TSS T bit: a #DB trap before the new task's first
         * instruction, with DR6.BT (not for a switch made by an event,
         * whose error code is pushed after this returns). */
        env->dr[6] |= 1u << 15;
        raise_exception(c, EXCP_DB);
    }
}

/* Resolves a task gate (lo/hi) to its available TSS descriptor. `ext` and
 * the fault vector follow the context (far transfer or IDT). */
static void task_gate_target(TcgCpu *c, uint32_t lo, uint16_t *tss_sel, uint32_t *tlo,
                             uint32_t *thi, uint32_t ext)
{
    uint16_t sel = (uint16_t)(lo >> 16);
    unsigned type;
    if ((sel & 4) || (sel & ~3u) == 0 || !read_descriptor(c, sel, tlo, thi)) {
        raise_exception_err(c, EXCP_GP, (sel & 0xfffc) | ext);
    }
    type = (*thi >> 8) & 0x1f;
    if (type != 0x01 && type != 0x09) {
        raise_exception_err(c, EXCP_GP, (sel & 0xfffc) | ext);
    }
    if (!(*thi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, (sel & 0xfffc) | ext);
    }
    *tss_sel = sel;
}

/* Far CALL/JMP through a call gate (16/32-bit, or 64-bit in long mode). */
static void far_via_call_gate(TcgCpu *c, uint16_t gate_sel, uint32_t lo, uint32_t hi,
                              bool is_call, uint64_t next_eip)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    bool lma = (env->efer & EFER_LMA) != 0;
    unsigned gsize, params = hi & 0x1f, dpl;
    uint16_t cs_sel = (uint16_t)(lo >> 16);
    uint16_t old_cs = env->segs[R_CS].selector, old_ss = env->segs[R_SS].selector;
    uint64_t offset, old_sp = env->regs[R_ESP];
    uint32_t clo, chi;

    if (lma) {
        uint64_t a = ((gate_sel & 4) ? env->ldt.base : env->gdt.base) + (gate_sel & ~7u) + 8;
        uint64_t tlimit = (gate_sel & 4) ? env->ldt.limit : env->gdt.limit;
        uint32_t hi2_lo, hi2_hi;
        if ((gate_sel & ~7u) + 15 > tlimit) {
            raise_exception_err(c, EXCP_GP, gate_sel & 0xfffc);
        }
        hi2_lo = cpu_ldl(c, a, MMU_IDX_KERNEL);
        hi2_hi = cpu_ldl(c, a + 4, MMU_IDX_KERNEL);
        if ((hi2_hi >> 8) & 0x1f) {
            raise_exception_err(c, EXCP_GP, gate_sel & 0xfffc);
        }
        offset = (lo & 0xffff) | (hi & 0xffff0000) | ((uint64_t)hi2_lo << 32);
        gsize = 8;
    } else {
        gsize = (hi & (8u << 8)) ? 4 : 2;
        offset = (lo & 0xffff) | (gsize == 4 ? (hi & 0xffff0000) : 0);
    }
    if ((cs_sel & ~3u) == 0) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    if (!read_descriptor(c, cs_sel, &clo, &chi)) {
        raise_exception_err(c, EXCP_GP, cs_sel & 0xfffc);
    }
    dpl = DESC_DPL(chi);
    if (!(chi & DESC_S_MASK) || !(chi & DESC_CS_MASK) || dpl > (unsigned)cpl ||
        (lma && (!(chi & DESC_L_MASK) || (chi & DESC_B_MASK))) ||
        (!is_call && !(chi & DESC_C_MASK) && dpl != (unsigned)cpl)) {
        raise_exception_err(c, EXCP_GP, cs_sel & 0xfffc);
    }
    if (!(chi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, cs_sel & 0xfffc);
    }
    if (!is_call) {
        load_cs_checked(c, cs_sel, clo, chi, cpl);
        env->rip = offset;
        return;
    }

    if (!(chi & DESC_C_MASK) && dpl < (unsigned)cpl) {
        /* More privileged: switch to the target level's stack from the TSS. */
        int mmu = x86_mmu_idx_for_cpl((int)dpl);
        if (lma) {
            uint64_t sp = tss64_stack(c, 4 + dpl * 8, 0);
            push_at(c, &sp, 0, 8, old_ss, 8, mmu, true);
            push_at(c, &sp, 0, 8, old_sp, 8, mmu, true);
            push_at(c, &sp, 0, 8, old_cs, 8, mmu, true);
            push_at(c, &sp, 0, 8, next_eip, 8, mmu, true);
            load_cs_checked(c, cs_sel, clo, chi, (int)dpl);
            load_null_seg(env, R_SS, (uint16_t)dpl, (int)dpl);
            env->regs[R_ESP] = sp;
        } else {
            uint16_t new_ss;
            uint64_t new_sp, old_base = env->segs[R_SS].base;
            unsigned old_ssz = (env->segs[R_SS].flags & DESC_B_MASK) ? 4 : 2, ssz;
            uint32_t slo, shi;
            SegmentCache tmp;
            tss_stack(c, dpl, &new_ss, &new_sp, 0);
            if ((new_ss & ~3u) == 0 || SEL_RPL(new_ss) != dpl ||
                !read_descriptor(c, new_ss, &slo, &shi) || DESC_DPL(shi) != dpl ||
                !(shi & DESC_S_MASK) || (shi & DESC_CS_MASK) || !(shi & DESC_W_MASK)) {
                raise_exception_err(c, EXCP_TS, new_ss & 0xfffc);
            }
            if (!(shi & DESC_P_MASK)) {
                raise_exception_err(c, EXCP_SS, new_ss & 0xfffc);
            }
            segcache_from_desc(&tmp, new_ss, slo, shi);
            ssz = (shi & DESC_B_MASK) ? 4 : 2;
            push_at(c, &new_sp, tmp.base, ssz, old_ss, gsize, mmu, false);
            push_at(c, &new_sp, tmp.base, ssz, old_sp, gsize, mmu, false);
            /* Copy the parameters, the deepest (last pushed) first. */
            for (int k = (int)params - 1; k >= 0; k--) {
                uint64_t a = addr_trunc(old_sp + (unsigned)k * gsize, old_ssz);
                uint64_t v = ldv(c, (uint32_t)(old_base + a), gsize,
                                 x86_mmu_idx_for_cpl(cpl));
                push_at(c, &new_sp, tmp.base, ssz, v, gsize, mmu, false);
            }
            push_at(c, &new_sp, tmp.base, ssz, old_cs, gsize, mmu, false);
            push_at(c, &new_sp, tmp.base, ssz, next_eip, gsize, mmu, false);
            load_cs_checked(c, cs_sel, clo, chi, (int)dpl);
            set_accessed(c, new_ss, &shi);
            env->segs[R_SS] = tmp;
            set_reg(env, R_ESP, ssz, new_sp);
        }
    } else {
        int mmu = x86_mmu_idx_for_cpl(cpl);
        uint64_t sp = old_sp;
        if (lma) {
            push_at(c, &sp, 0, 8, old_cs, 8, mmu, true);
            push_at(c, &sp, 0, 8, next_eip, 8, mmu, true);
            env->regs[R_ESP] = sp;
        } else {
            unsigned ssz = (env->segs[R_SS].flags & DESC_B_MASK) ? 4 : 2;
            push_at(c, &sp, env->segs[R_SS].base, ssz, old_cs, gsize, mmu, false);
            push_at(c, &sp, env->segs[R_SS].base, ssz, next_eip, gsize, mmu, false);
            set_reg(env, R_ESP, ssz, sp);
        }
        load_cs_checked(c, cs_sel, clo, chi, cpl);
    }
    env->rip = offset;
}

/* A far JMP/CALL whose selector names a system descriptor: call gate, task
 * gate or TSS. */
static void far_via_system_desc(TcgCpu *c, uint16_t sel, uint32_t lo, uint32_t hi, bool is_call,
                                uint64_t next_eip)
{
    CPUX86State *env = c->env;
    unsigned cpl = (unsigned)x86_cpl(env), type = (hi >> 8) & 0x1f, dpl = DESC_DPL(hi);
    bool lma = (env->efer & EFER_LMA) != 0;
    uint16_t tss_sel = sel;
    uint32_t tlo = lo, thi = hi;

    if (lma ? type != 0x0c : (type != 0x04 && type != 0x0c && type != 0x05 &&
                              type != 0x01 && type != 0x09)) {
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);
    }
    if (dpl < cpl || dpl < SEL_RPL(sel)) {
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);
    }
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, sel & 0xfffc);
    }
    if (type == 0x04 || type == 0x0c) {
        far_via_call_gate(c, sel, lo, hi, is_call, next_eip);
        return;
    }
    if (type == 0x05) {
        task_gate_target(c, lo, &tss_sel, &tlo, &thi, 0);
    } else if (sel & 4) {
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);     /* a TSS lives in the GDT */
    }
    switch_task(c, tss_sel, tlo, thi, is_call ? TASK_FROM_CALL : TASK_FROM_JMP, next_eip);
}

/* Reads the descriptor of a protected-mode far JMP/CALL target; true when
 * it is a system descriptor (gate or TSS) the transfer went through. */
static bool far_system_target(TcgCpu *c, uint16_t sel, bool is_call, uint64_t next_eip)
{
    uint32_t lo, hi;
    if ((sel & ~3u) == 0 || !read_descriptor(c, sel, &lo, &hi) || (hi & DESC_S_MASK)) {
        return false;
    }
    far_via_system_desc(c, sel, lo, hi, is_call, next_eip);
    return true;
}

void far_jump(TcgCpu *c, uint16_t sel, uint64_t offset, uint64_t next_eip)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    uint32_t lo, hi;

    tcg_stop_tb(c);
    if (!(env->cr[0] & CR0_PE) || (env->eflags & VM_MASK)) {
        load_seg_real(env, R_CS, sel);
        env->rip = offset;
        return;
    }
    if (far_system_target(c, sel, false, next_eip)) {
        return;
    }
    read_far_code_target(c, sel, cpl, "jmp", &lo, &hi);
    load_cs_checked(c, sel, lo, hi, cpl);
    env->rip = truncate_ip(env, offset);
}

void far_call(TcgCpu *c, uint16_t sel, uint64_t offset, unsigned opsize, uint64_t next_eip)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    unsigned ss = stack_size(c);
    uint64_t sp = env->regs[R_ESP];
    uint32_t lo, hi;

    tcg_stop_tb(c);
    if (!(env->cr[0] & CR0_PE) || (env->eflags & VM_MASK)) {
        sp = push_far_return(c, sp, ss, opsize, next_eip);
        set_reg(env, R_ESP, ss, sp);
        load_seg_real(env, R_CS, sel);
        env->rip = offset;
        return;
    }
    if (far_system_target(c, sel, true, next_eip)) {
        return;
    }
    read_far_code_target(c, sel, cpl, "call", &lo, &hi);
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, sel & 0xfffc);
    }
    sp = push_far_return(c, sp, ss, opsize, next_eip);
    load_cs_checked(c, sel, lo, hi, cpl);
    set_reg(env, R_ESP, ss, sp);
    env->rip = truncate_ip(env, offset);
}

/* Data segments not accessible at the new (outer) privilege become null. */
static void nullify_data_segs(CPUX86State *env, int cpl)
{
    static const unsigned segs[] = { R_ES, R_DS, R_FS, R_GS };
    for (unsigned k = 0; k < G_N_ELEMENTS(segs); k++) {
        SegmentCache *sc = &env->segs[segs[k]];
        unsigned dpl = (sc->flags & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
        bool conforming_code = (sc->flags & DESC_CS_MASK) && (sc->flags & DESC_C_MASK);
        if ((sc->selector & ~3u) && !conforming_code && dpl < (unsigned)cpl) {
            sc->selector = 0;
            sc->flags = 0;
        }
    }
}

/* Loads SS for a return/interrupt to privilege `cpl` (checks as #GP). */
static void load_ss_for_cpl(TcgCpu *c, uint16_t sel, int cpl, bool allow_null, int excp)
{
    CPUX86State *env = c->env;
    uint32_t lo, hi;
    unsigned dpl, type;

    if ((sel & ~3u) == 0) {
        if (!allow_null) {
            raise_exception_err(c, excp, 0);
        }
        load_null_seg(env, R_SS, sel, cpl);
        return;
    }
    if (SEL_RPL(sel) != (unsigned)cpl || !read_descriptor(c, sel, &lo, &hi)) {
        raise_exception_err(c, excp, sel & 0xfffc);
    }
    dpl = (hi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
    type = (hi & DESC_TYPE_MASK) >> DESC_TYPE_SHIFT;
    if (!(hi & DESC_S_MASK) || (type & 8) || !(type & 2) || dpl != (unsigned)cpl) {
        raise_exception_err(c, excp, sel & 0xfffc);
    }
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, excp == EXCP_TS ? EXCP_TS : EXCP_SS, sel & 0xfffc);
    }
    set_accessed(c, sel, &hi);
    segcache_from_desc(&env->segs[R_SS], sel, lo, hi);
}

void far_return(TcgCpu *c, unsigned opsize, uint16_t pop_bytes)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    unsigned ss = stack_size(c);
    uint64_t sp = env->regs[R_ESP], new_ip, new_sp;
    uint16_t new_cs, new_ss;
    uint32_t lo, hi;
    int rpl;

    tcg_stop_tb(c);
    new_ip = ss_ld(c, addr_trunc(sp, ss), opsize);
    new_cs = (uint16_t)ss_ld(c, addr_trunc(sp + opsize, ss), 2);
    if (!(env->cr[0] & CR0_PE) || (env->eflags & VM_MASK)) {
        load_seg_real(env, R_CS, new_cs);
        env->rip = new_ip;
        set_reg(env, R_ESP, ss, sp + 2 * opsize + pop_bytes);
        return;
    }
    rpl = SEL_RPL(new_cs);
    if ((new_cs & ~3u) == 0 || rpl < cpl || !read_descriptor(c, new_cs, &lo, &hi)) {
        raise_exception_err(c, EXCP_GP, new_cs & 0xfffc);
    }
    if (!(hi & DESC_S_MASK) || !(hi & DESC_CS_MASK)) {
        raise_exception_err(c, EXCP_GP, new_cs & 0xfffc);
    }
    {
        unsigned dpl = (hi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
        if ((hi & DESC_C_MASK) ? dpl > (unsigned)rpl : dpl != (unsigned)rpl) {
            raise_exception_err(c, EXCP_GP, new_cs & 0xfffc);
        }
    }
    if (rpl == cpl) {
        load_cs_checked(c, new_cs, lo, hi, rpl);
        set_reg(env, R_ESP, ss, sp + 2 * opsize + pop_bytes);
        env->rip = truncate_ip(env, new_ip);
        return;
    }
    /* Return to an outer privilege level: SS:ESP follow. */
    new_sp = ss_ld(c, addr_trunc(sp + 2 * opsize + pop_bytes, ss), opsize);
    new_ss = (uint16_t)ld_data(c, seg_linear(c, R_SS,
                                              addr_trunc(sp + 3 * opsize + pop_bytes, ss)), 2);
    load_cs_checked(c, new_cs, lo, hi, rpl);
    load_ss_for_cpl(c, new_ss, rpl, (env->efer & EFER_LMA) && rpl != 3, EXCP_GP);
    if (env->segs[R_SS].flags & DESC_B_MASK || (env->segs[R_CS].flags & DESC_L_MASK)) {
        env->regs[R_ESP] = opsize == 8 ? new_sp : (uint32_t)(new_sp + pop_bytes);
    } else {
        set_reg(env, R_ESP, 2, new_sp + pop_bytes);
    }
    env->rip = truncate_ip(env, new_ip);
    nullify_data_segs(env, rpl);
}

/* The flags an IRET/POPF at privilege cpl may change. */
static uint64_t iret_flags_mask(const CPUX86State *env, int cpl, unsigned opsize)
{
    unsigned iopl = (env->eflags & IOPL_MASK) >> 12;
    uint64_t mask = CC_ARITH_MASK | TF_MASK | DF_MASK | NT_MASK | AC_MASK | ID_MASK | RF_MASK;
    if ((unsigned)cpl <= iopl) {
        mask |= IF_MASK;
    }
    if (cpl == 0) {
        mask |= IOPL_MASK | VIF_MASK | VIP_MASK;
    }
    if (opsize == 2) {
        mask &= 0xffff;
    }
    return mask;
}

/* IRET with NT set: return to the task in the current TSS's back link. */
static void iret_task_return(TcgCpu *c)
{
    CPUX86State *env = c->env;
    uint16_t back = cpu_lduw(c, env->tr.base, MMU_IDX_KERNEL);
    uint32_t lo, hi, type;
    if ((back & 4) || (back & ~3u) == 0 || !read_descriptor(c, back, &lo, &hi)) {
        raise_exception_err(c, EXCP_TS, back & 0xfffc);
    }
    type = (hi >> 8) & 0x1f;
    if (type != 0x03 && type != 0x0b) {
        raise_exception_err(c, EXCP_TS, back & 0xfffc);
    }
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, back & 0xfffc);
    }
    /* rip already points after the IRET: the outgoing task resumes there. */
    switch_task(c, back, lo, hi, TASK_FROM_IRET, env->rip);
}

/* A 32-bit IRET at CPL 0 whose EFLAGS image has VM set: pops EIP, CS,
 * EFLAGS, ESP, SS, ES, DS, FS, GS and enters virtual-8086 mode. */
static void iret_to_vm86(TcgCpu *c, uint64_t sp, unsigned ss, uint64_t new_ip, uint16_t new_cs,
                         uint64_t new_flags)
{
    CPUX86State *env = c->env;
    uint16_t sels[6];
    uint64_t new_sp = ss_ld(c, addr_trunc(sp + 12, ss), 4);
    static const unsigned order[4] = { R_ES, R_DS, R_FS, R_GS };
    sels[R_SS] = (uint16_t)ss_ld(c, addr_trunc(sp + 16, ss), 2);
    for (unsigned k = 0; k < 4; k++) {
        sels[order[k]] = (uint16_t)ld_data(c, seg_linear(c, R_SS,
                                                          addr_trunc(sp + 20 + 4 * k, ss)), 2);
    }
    x86_cpu_set_eflags(env, (new_flags & 0x3f7fd7) | RFLAGS_FIXED_1);
    load_seg_real(env, R_CS, new_cs);
    load_seg_real(env, R_SS, sels[R_SS]);
    for (unsigned k = 0; k < 4; k++) {
        load_seg_real(env, order[k], sels[order[k]]);
    }
    env->regs[R_ESP] = (uint32_t)new_sp;
    env->rip = new_ip & 0xffff;
}

void do_iret(TcgCpu *c, unsigned opsize)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    unsigned ss = stack_size(c);
    uint64_t sp = env->regs[R_ESP], new_ip, new_flags, new_sp = 0, old_flags;
    uint16_t new_cs, new_ss = 0;
    uint32_t lo, hi;
    int rpl;
    bool long64 = (c->tb_flags & HF_CS64) != 0;

    tcg_stop_tb(c);
    new_ip = ss_ld(c, addr_trunc(sp, ss), opsize);
    new_cs = (uint16_t)ss_ld(c, addr_trunc(sp + opsize, ss), 2);
    new_flags = ss_ld(c, addr_trunc(sp + 2 * opsize, ss), opsize);
    old_flags = x86_cpu_get_eflags(env);

    if (!(env->cr[0] & CR0_PE)) {
        uint64_t mask = iret_flags_mask(env, 0, opsize);
        load_seg_real(env, R_CS, new_cs);
        env->rip = new_ip & 0xffff;
        if (opsize == 4) {
            env->rip = (uint32_t)new_ip;
        }
        set_reg(env, R_ESP, ss, sp + 3 * opsize);
        x86_cpu_set_eflags(env, (old_flags & ~mask) | (new_flags & mask));
        return;
    }
    if (env->eflags & VM_MASK) {
        uint64_t mask;
        if (((env->eflags & IOPL_MASK) >> 12) != 3) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        mask = iret_flags_mask(env, 3, opsize) & ~(uint64_t)IOPL_MASK;
        load_seg_real(env, R_CS, new_cs);
        env->rip = new_ip & (opsize == 2 ? 0xffff : 0xffffffff);
        set_reg(env, R_ESP, ss, sp + 3 * opsize);
        x86_cpu_set_eflags(env, (old_flags & ~mask) | (new_flags & mask));
        return;
    }
    if (env->eflags & NT_MASK) {
        if (env->efer & EFER_LMA) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        iret_task_return(c);
        return;
    }
    if ((new_flags & VM_MASK) && cpl == 0 && !(env->efer & EFER_LMA) && opsize == 4) {
        iret_to_vm86(c, sp, ss, new_ip, new_cs, new_flags);
        return;
    }
    rpl = SEL_RPL(new_cs);
    if ((new_cs & ~3u) == 0 || rpl < cpl || !read_descriptor(c, new_cs, &lo, &hi) ||
        !(hi & DESC_S_MASK) || !(hi & DESC_CS_MASK)) {
        raise_exception_err(c, EXCP_GP, new_cs & 0xfffc);
    }
    {
        unsigned dpl = (hi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
        if ((hi & DESC_C_MASK) ? dpl > (unsigned)rpl : dpl != (unsigned)rpl) {
            raise_exception_err(c, EXCP_GP, new_cs & 0xfffc);
        }
    }
    if (long64 || rpl != cpl) {
        new_sp = ss_ld(c, addr_trunc(sp + 3 * opsize, ss), opsize);
        new_ss = (uint16_t)ss_ld(c, addr_trunc(sp + 4 * opsize, ss), 2);
    }
    {
        uint64_t mask = iret_flags_mask(env, cpl, opsize);
        load_cs_checked(c, new_cs, lo, hi, rpl);
        if (long64 || rpl != cpl) {
            bool null_ok = (env->efer & EFER_LMA) && (hi & DESC_L_MASK) && rpl != 3;
            load_ss_for_cpl(c, new_ss, rpl, null_ok, EXCP_GP);
            if (opsize == 8 || (env->segs[R_SS].flags & DESC_B_MASK) || (hi & DESC_L_MASK)) {
                env->regs[R_ESP] = opsize == 8 ? new_sp : (uint32_t)new_sp;
            } else {
                set_reg(env, R_ESP, 2, new_sp);
            }
        } else {
            set_reg(env, R_ESP, ss, sp + 3 * opsize);
        }
        env->rip = truncate_ip(env, new_ip);
        x86_cpu_set_eflags(env, (old_flags & ~mask) | (new_flags & mask));
        if (rpl > cpl) {
            nullify_data_segs(env, rpl);
        }
    }
}

/* ---- I/O permission ---- */

/* I/O breakpoints (DR7 R/W 10, defined with CR4.DE): a hit records the
 * #DB trap taken after the instruction (at the next block lookup, as for
 * data breakpoints; a fault of the instruction drops it). A REP INS/OUTS
 * stops after the element, so the trap comes between iterations. */
static void io_breakpoint_check(TcgCpu *c, uint16_t port, unsigned size)
{
    CPUX86State *env = c->env;
    uint64_t dr7 = env->dr[7];

    if (!(dr7 & 0xff) || !(env->cr[4] & CR4_DE)) {
        return;
    }
    for (unsigned n = 0; n < 4; n++) {
        unsigned len = DR7_LEN(dr7, n);
        uint32_t blen = len == 0 ? 1 : len == 1 ? 2 : len == 3 ? 4 : 8;
        uint32_t start = (uint32_t)(env->dr[n] & 0xffff) & ~(blen - 1);
        if (DR7_ENABLED(dr7, n) && DR7_RW(dr7, n) == 2 && port <= start + blen - 1 &&
            start <= (uint32_t)port + size - 1) {
            env->pending_dr6 |= 1u << n;
            tcg_stop_tb(c);
        }
    }
}

void check_io_permission(TcgCpu *c, uint16_t port, unsigned size)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    unsigned iopl = (env->eflags & IOPL_MASK) >> 12;
    unsigned type = (env->tr.flags & DESC_TYPE_MASK) >> DESC_TYPE_SHIFT;
    uint64_t off;
    uint16_t bits;

    io_breakpoint_check(c, port, size);
    if (!(env->cr[0] & CR0_PE) || (!(env->eflags & VM_MASK) && (unsigned)cpl <= iopl)) {
        return;
    }
    /* Only a (busy) 32-bit or 64-bit TSS has an I/O bitmap; a 16-bit one
     * (type 3) means #GP. */
    if (!(env->tr.flags & DESC_P_MASK) || (type & 0xf) != 0xb || env->tr.limit < 0x67) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    off = cpu_lduw(c, env->tr.base + 0x66, MMU_IDX_KERNEL) + (port >> 3);
    if (off + 1 > env->tr.limit) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    bits = cpu_lduw(c, env->tr.base + off, MMU_IDX_KERNEL);
    if ((bits >> (port & 7)) & ((1u << size) - 1)) {
        raise_exception_err(c, EXCP_GP, 0);
    }
}

/* ---- interrupt and exception delivery ---- */

static void push_at(TcgCpu *c, uint64_t *sp, uint64_t ss_base, unsigned stack_sz,
                    uint64_t v, unsigned size, int mmu, bool long_mode)
{
    *sp = addr_trunc(*sp - size, stack_sz);
    if (long_mode) {
        cpu_stq(c, *sp, v, mmu);
    } else if (size == 4) {
        cpu_stl(c, (uint32_t)(ss_base + *sp), (uint32_t)v, mmu);
    } else {
        cpu_stw(c, (uint32_t)(ss_base + *sp), (uint16_t)v, mmu);
    }
}

static void deliver_real(TcgCpu *c, int vector, uint64_t ret_ip)
{
    CPUX86State *env = c->env;
    uint64_t sp = env->regs[R_ESP];
    uint16_t ip, cs;
    uint64_t ss_base = env->segs[R_SS].base;
    unsigned ssz = 2;

    if ((unsigned)vector * 4 + 3 > env->idt.limit) {
        raise_exception_err(c, EXCP_GP, (uint32_t)vector * 8 + 2);
    }
    ip = cpu_lduw(c, env->idt.base + (unsigned)vector * 4, MMU_IDX_KERNEL);
    cs = cpu_lduw(c, env->idt.base + (unsigned)vector * 4 + 2, MMU_IDX_KERNEL);
    push_at(c, &sp, ss_base, ssz, x86_cpu_get_eflags(env), 2, MMU_IDX_KERNEL, false);
    push_at(c, &sp, ss_base, ssz, env->segs[R_CS].selector, 2, MMU_IDX_KERNEL, false);
    push_at(c, &sp, ss_base, ssz, ret_ip, 2, MMU_IDX_KERNEL, false);
    set_reg(env, R_ESP, 2, sp);
    env->eflags &= ~(uint64_t)(IF_MASK | TF_MASK | AC_MASK | RF_MASK);
    load_seg_real(env, R_CS, cs);
    env->rip = ip;
}

/* Reads the stack pointer for privilege `dpl` from the current TSS. */
static void tss_stack(TcgCpu *c, unsigned dpl, uint16_t *ss_out, uint64_t *sp_out, uint32_t ext)
{
    CPUX86State *env = c->env;
    unsigned type = (env->tr.flags & DESC_TYPE_MASK) >> DESC_TYPE_SHIFT;
    if (!(env->tr.flags & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_TS, (env->tr.selector & 0xfffc) | ext);
    }
    if (type & 8) {
        uint64_t off = 4 + dpl * 8;
        if (off + 5 > env->tr.limit) {
            raise_exception_err(c, EXCP_TS, (env->tr.selector & 0xfffc) | ext);
        }
        *sp_out = cpu_ldl(c, env->tr.base + off, MMU_IDX_KERNEL);
        *ss_out = cpu_lduw(c, env->tr.base + off + 4, MMU_IDX_KERNEL);
    } else {
        uint64_t off = 2 + dpl * 4;
        if (off + 3 > env->tr.limit) {
            raise_exception_err(c, EXCP_TS, (env->tr.selector & 0xfffc) | ext);
        }
        *sp_out = cpu_lduw(c, env->tr.base + off, MMU_IDX_KERNEL);
        *ss_out = cpu_lduw(c, env->tr.base + off + 2, MMU_IDX_KERNEL);
    }
}

/* Last step of delivery through an interrupt/trap gate of `gate_type`: CS
 * (descriptor clo/chi at new_cpl) and RIP to the handler, then the flags
 * the gate clears. */
static void enter_handler(TcgCpu *c, uint16_t sel, uint32_t clo, uint32_t chi, int new_cpl,
                          uint64_t offset, unsigned gate_type)
{
    CPUX86State *env = c->env;
    set_accessed(c, sel, &chi);
    segcache_from_desc(&env->segs[R_CS], (uint16_t)((sel & 0xfffc) | (unsigned)new_cpl), clo, chi);
    env->rip = offset;
    if (!(gate_type & 1)) {
        env->eflags &= ~(uint64_t)IF_MASK;    /* interrupt gate */
    }
    env->eflags &= ~(uint64_t)(TF_MASK | NT_MASK | RF_MASK | VM_MASK);
}

/* Delivery through a task gate in the IDT: switch to the gate's task and
 * push the error code, if any, on its stack. */
static void deliver_task_gate(TcgCpu *c, uint32_t lo, uint32_t hi, bool soft, bool has_err,
                              uint32_t err, uint64_t ret_ip, uint32_t idt_err, uint32_t ext)
{
    CPUX86State *env = c->env;
    uint16_t tss_sel;
    uint32_t tlo, thi;
    if (soft && DESC_DPL(hi) < (unsigned)x86_cpl(env)) {
        raise_exception_err(c, EXCP_GP, idt_err);
    }
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, idt_err);
    }
    task_gate_target(c, lo, &tss_sel, &tlo, &thi, ext);
    switch_task(c, tss_sel, tlo, thi, TASK_FROM_INT, ret_ip);
    if (has_err) {
        unsigned size = (thi & (8u << 8)) ? 4 : 2;
        unsigned ssz = (env->segs[R_SS].flags & DESC_B_MASK) ? 4 : 2;
        uint64_t sp = env->regs[R_ESP];
        push_at(c, &sp, env->segs[R_SS].base, ssz, err, size, x86_mmu_idx_for_cpl(x86_cpl(env)),
                false);
        set_reg(env, R_ESP, ssz, sp);
    }
}

static void deliver_protected(TcgCpu *c, int vector, bool soft, bool hw, bool has_err,
                              uint32_t err, uint64_t ret_ip)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    uint32_t ext = (soft || !hw) ? 0 : 1;
    uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
    uint32_t lo, hi, clo, chi;
    unsigned type, gate_dpl, dpl, gsize;
    uint16_t sel;
    uint64_t offset, sp, ss_base, old_flags = x86_cpu_get_eflags(env);
    uint16_t old_ss = env->segs[R_SS].selector, old_cs = env->segs[R_CS].selector;
    uint64_t old_sp = env->regs[R_ESP];
    unsigned ssz;
    int new_cpl;
    bool inner;

    if ((unsigned)vector * 8 + 7 > env->idt.limit) {
        raise_exception_err(c, EXCP_GP, idt_err);
    }
    lo = cpu_ldl(c, env->idt.base + (unsigned)vector * 8, MMU_IDX_KERNEL);
    hi = cpu_ldl(c, env->idt.base + (unsigned)vector * 8 + 4, MMU_IDX_KERNEL);
    type = (hi >> 8) & 0x1f;
    gate_dpl = (hi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
    switch (type) {
    case 0x06: case 0x07: case 0x0e: case 0x0f:
        break;
    case 0x05:
        deliver_task_gate(c, lo, hi, soft, has_err, err, ret_ip, idt_err, ext);
        return;
    default:
        raise_exception_err(c, EXCP_GP, idt_err);
    }
    if (soft && gate_dpl < (unsigned)cpl) {
        raise_exception_err(c, EXCP_GP, idt_err);
    }
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, idt_err);
    }
    gsize = (type & 8) ? 4 : 2;
    sel = (uint16_t)(lo >> 16);
    offset = (lo & 0xffff) | (gsize == 4 ? (hi & 0xffff0000) : 0);
    if ((sel & ~3u) == 0) {
        raise_exception_err(c, EXCP_GP, ext);
    }
    if (!read_descriptor(c, sel, &clo, &chi)) {
        raise_exception_err(c, EXCP_GP, (sel & 0xfffc) | ext);
    }
    dpl = (chi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
    if (!(chi & DESC_S_MASK) || !(chi & DESC_CS_MASK) || dpl > (unsigned)cpl) {
        raise_exception_err(c, EXCP_GP, (sel & 0xfffc) | ext);
    }
    if (!(chi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, (sel & 0xfffc) | ext);
    }
    if ((env->eflags & VM_MASK) && ((chi & DESC_C_MASK) || dpl != 0)) {
        /* From virtual-8086 mode only a ring-0 non-conforming handler. */
        raise_exception_err(c, EXCP_GP, (sel & 0xfffc) | ext);
    }
    inner = !(chi & DESC_C_MASK) && dpl < (unsigned)cpl;
    new_cpl = inner ? (int)dpl : cpl;

    if (inner) {
        uint16_t new_ss;
        uint64_t new_sp;
        uint32_t slo, shi;
        tss_stack(c, dpl, &new_ss, &new_sp, ext);
        if ((new_ss & ~3u) == 0 || SEL_RPL(new_ss) != dpl ||
            !read_descriptor(c, new_ss, &slo, &shi)) {
            raise_exception_err(c, EXCP_TS, (new_ss & 0xfffc) | ext);
        }
        if (((shi & DESC_DPL_MASK) >> DESC_DPL_SHIFT) != dpl || !(shi & DESC_S_MASK) ||
            (shi & DESC_CS_MASK) || !(shi & DESC_W_MASK)) {
            raise_exception_err(c, EXCP_TS, (new_ss & 0xfffc) | ext);
        }
        if (!(shi & DESC_P_MASK)) {
            raise_exception_err(c, EXCP_SS, (new_ss & 0xfffc) | ext);
        }
        {
            SegmentCache tmp;
            segcache_from_desc(&tmp, new_ss, slo, shi);
            ss_base = tmp.base;
            ssz = (shi & DESC_B_MASK) ? 4 : 2;
            sp = new_sp;
            if (env->eflags & VM_MASK) {
                static const unsigned vm_segs[4] = { R_GS, R_FS, R_DS, R_ES };
                for (unsigned k = 0; k < 4; k++) {
                    push_at(c, &sp, ss_base, ssz, env->segs[vm_segs[k]].selector, gsize,
                            x86_mmu_idx_for_cpl(new_cpl), false);
                }
            }
            push_at(c, &sp, ss_base, ssz, old_ss, gsize, x86_mmu_idx_for_cpl(new_cpl), false);
            push_at(c, &sp, ss_base, ssz, old_sp, gsize, x86_mmu_idx_for_cpl(new_cpl), false);
            push_at(c, &sp, ss_base, ssz, old_flags, gsize, x86_mmu_idx_for_cpl(new_cpl), false);
            push_at(c, &sp, ss_base, ssz, old_cs, gsize, x86_mmu_idx_for_cpl(new_cpl), false);
            push_at(c, &sp, ss_base, ssz, ret_ip, gsize, x86_mmu_idx_for_cpl(new_cpl), false);
            if (has_err) {
                push_at(c, &sp, ss_base, ssz, err, gsize, x86_mmu_idx_for_cpl(new_cpl), false);
            }
            env->segs[R_SS] = tmp;
            set_accessed(c, new_ss, &shi);
            if (env->eflags & VM_MASK) {
                static const unsigned vm_segs[4] = { R_ES, R_DS, R_FS, R_GS };
                for (unsigned k = 0; k < 4; k++) {
                    load_null_seg(env, vm_segs[k], 0, new_cpl);
                }
            }
        }
    } else {
        ss_base = env->segs[R_SS].base;
        ssz = (env->segs[R_SS].flags & DESC_B_MASK) ? 4 : 2;
        sp = env->regs[R_ESP];
        push_at(c, &sp, ss_base, ssz, old_flags, gsize, x86_mmu_idx_for_cpl(cpl), false);
        push_at(c, &sp, ss_base, ssz, old_cs, gsize, x86_mmu_idx_for_cpl(cpl), false);
        push_at(c, &sp, ss_base, ssz, ret_ip, gsize, x86_mmu_idx_for_cpl(cpl), false);
        if (has_err) {
            push_at(c, &sp, ss_base, ssz, err, gsize, x86_mmu_idx_for_cpl(cpl), false);
        }
    }
    set_reg(env, R_ESP, ssz, sp);
    enter_handler(c, sel, clo, chi, new_cpl, offset, type);
}

/* A 64-bit TSS stack pointer (RSPn or ISTn) at byte offset off. */
static uint64_t tss64_stack(TcgCpu *c, uint64_t off, uint32_t ext)
{
    CPUX86State *env = c->env;
    if (off + 7 > env->tr.limit) {
        raise_exception_err(c, EXCP_TS, (env->tr.selector & 0xfffc) | ext);
    }
    return cpu_ldq(c, env->tr.base + off, MMU_IDX_KERNEL);
}

static void deliver_long(TcgCpu *c, int vector, bool soft, bool hw, bool has_err, uint32_t err,
                         uint64_t ret_ip)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    uint32_t ext = (soft || !hw) ? 0 : 1;
    uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
    uint64_t gate = env->idt.base + (unsigned)vector * 16;
    uint32_t lo, hi, hi2, clo, chi;
    unsigned type, gate_dpl, dpl, ist;
    uint16_t sel;
    uint64_t offset, sp, old_flags = x86_cpu_get_eflags(env);
    uint16_t old_ss = env->segs[R_SS].selector, old_cs = env->segs[R_CS].selector;
    uint64_t old_sp = env->regs[R_ESP];
    int new_cpl, mmu;

    if ((unsigned)vector * 16 + 15 > env->idt.limit) {
        raise_exception_err(c, EXCP_GP, idt_err);
    }
    lo = cpu_ldl(c, gate, MMU_IDX_KERNEL);
    hi = cpu_ldl(c, gate + 4, MMU_IDX_KERNEL);
    hi2 = cpu_ldl(c, gate + 8, MMU_IDX_KERNEL);
    type = (hi >> 8) & 0x1f;
    gate_dpl = (hi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
    if (type != 0x0e && type != 0x0f) {
        raise_exception_err(c, EXCP_GP, idt_err);
    }
    if (soft && gate_dpl < (unsigned)cpl) {
        raise_exception_err(c, EXCP_GP, idt_err);
    }
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, idt_err);
    }
    sel = (uint16_t)(lo >> 16);
    offset = (lo & 0xffff) | (hi & 0xffff0000) | ((uint64_t)hi2 << 32);
    ist = hi & 7;
    if ((sel & ~3u) == 0) {
        raise_exception_err(c, EXCP_GP, ext);
    }
    if (!read_descriptor(c, sel, &clo, &chi)) {
        raise_exception_err(c, EXCP_GP, (sel & 0xfffc) | ext);
    }
    dpl = (chi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
    if (!(chi & DESC_S_MASK) || !(chi & DESC_CS_MASK) || dpl > (unsigned)cpl ||
        !(chi & DESC_L_MASK) || (chi & DESC_B_MASK)) {
        raise_exception_err(c, EXCP_GP, (sel & 0xfffc) | ext);
    }
    if (!(chi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, (sel & 0xfffc) | ext);
    }
    new_cpl = (!(chi & DESC_C_MASK) && dpl < (unsigned)cpl) ? (int)dpl : cpl;
    mmu = x86_mmu_idx_for_cpl(new_cpl);
    if (ist) {
        sp = tss64_stack(c, 0x24 + (ist - 1) * 8, ext);
    } else if (new_cpl != cpl) {
        sp = tss64_stack(c, 4 + (unsigned)new_cpl * 8, ext);
    } else {
        sp = env->regs[R_ESP];
    }
    sp &= ~(uint64_t)15;
    push_at(c, &sp, 0, 8, old_ss, 8, mmu, true);
    push_at(c, &sp, 0, 8, old_sp, 8, mmu, true);
    push_at(c, &sp, 0, 8, old_flags, 8, mmu, true);
    push_at(c, &sp, 0, 8, old_cs, 8, mmu, true);
    push_at(c, &sp, 0, 8, ret_ip, 8, mmu, true);
    if (has_err) {
        push_at(c, &sp, 0, 8, err, 8, mmu, true);
    }
    if (new_cpl != cpl) {
        load_null_seg(env, R_SS, (uint16_t)new_cpl, new_cpl);
    }
    env->regs[R_ESP] = sp;
    enter_handler(c, sel, clo, chi, new_cpl, offset, type);
}

/* Delivers one event. hw: an exception or external interrupt (EXT = 1 in
 * error codes it generates), not a software INT n. */
static void do_interrupt(TcgCpu *c, int vector, bool soft, bool hw, bool has_err, uint32_t err,
                         uint64_t ret_ip)
{
    CPUX86State *env = c->env;
    if (log_enabled(LOG_INT)) {
        char errbuf[16] = "none";
        if (has_err) {
            snprintf(errbuf, sizeof(errbuf), "0x%x", err);
        }
        log_printf("tcg: cpu %d %s 0x%x err=%s at %04x:%016" PRIx64 " cpl=%d cr2=0x%" PRIx64
                   "\n", c->cs->index, soft ? "software int" : "exception/interrupt", vector,
                   errbuf, env->segs[R_CS].selector, env->rip, x86_cpl(env), env->cr[2]);
    }
    env->halted = false;
    if (!(env->cr[0] & CR0_PE)) {
        deliver_real(c, vector, ret_ip);
    } else if (env->efer & EFER_LMA) {
        deliver_long(c, vector, soft, hw, has_err, err, ret_ip);
    } else {
        deliver_protected(c, vector, soft, hw, has_err, err, ret_ip);
    }
}

bool x86_deliver_pending_exception(TcgCpu *c)
{
    CPUX86State *env = c->env;
    int vector = c->excp_vector;
    uint64_t ret_ip;

    if (vector == EXCP_TRIPLE) {
        c->excp_vector = -1;
        c->excp_delivering = -1;
        return false;
    }
    c->excp_vector = -1;
    ret_ip = c->excp_soft ? c->excp_next_eip : env->rip;
    if (!c->excp_soft && is_fault_class(vector) && (env->cr[0] & CR0_PE)) {
        /* The saved EFLAGS of a fault has RF set, so that returning to the
         * instruction does not hit its instruction breakpoint again. */
        env->eflags |= RF_MASK;
    }
    /* Nested faults raised while delivering combine with this vector; a
     * software interrupt (INT n, INT3, INTO) is benign: a fault while
     * delivering it (e.g. #GP for the gate DPL of INT 13) is taken alone. */
    c->excp_delivering = c->excp_soft ? -1 : vector;
    do_interrupt(c, vector, c->excp_soft, !c->excp_soft, c->excp_has_error, c->excp_error,
                 ret_ip);
    c->excp_delivering = -1;
    return true;
}

bool x86_tcg_check_interrupts(TcgCpu *c)
{
    CPUState *cs = c->cs;
    CPUX86State *env = c->env;
    unsigned req = cs->interrupt_request;

    if (env->pending_dr6) {
        return false;       /* the data breakpoint trap of the last instruction first */
    }

    if ((req & CPU_INTERRUPT_NMI) && !env->nmi_masked) {
        /* Further NMIs stay pending until the next IRET (op_iret). */
        __atomic_fetch_and(&cs->interrupt_request, ~(unsigned)CPU_INTERRUPT_NMI, __ATOMIC_SEQ_CST);
        env->nmi_masked = true;
        c->excp_delivering = EXCP_NMI;
        do_interrupt(c, EXCP_NMI, false, true, false, 0, env->rip);
        c->excp_delivering = -1;
        return true;
    }
    if ((req & CPU_INTERRUPT_HARD) && (env->eflags & IF_MASK) && !env->interrupt_shadow) {
        int vector = cpu_interrupt_ack(cs);
        if (vector < 0) {
            return false;
        }
        vector &= 0xff;
        /* External interrupts are benign for #DF, whatever their vector
         * (a PIC left at vectors 8-15): a fault while delivering one is
         * taken alone. */
        c->excp_delivering = -1;
        do_interrupt(c, vector, false, true, false, 0, env->rip);
        c->excp_delivering = -1;
        return true;
    }
    return false;
}

/* ---- control registers ---- */

void x86_update_efer(TcgCpu *c, uint64_t val)
{
    CPUX86State *env = c->env;
    uint64_t allowed = EFER_SCE | EFER_LME | EFER_NXE | EFER_LMA | (1u << 14) /* FFXSR */;
    if (val & ~allowed) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    if (((val ^ env->efer) & EFER_LME) && (env->cr[0] & CR0_PG)) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    /* LMA is read-only. */
    val = (val & ~(uint64_t)EFER_LMA) | (env->efer & EFER_LMA);
    if ((val ^ env->efer) & EFER_NXE) {
        tlb_flush(c);
    }
    env->efer = val;
    tcg_stop_tb(c);
}

/* The CR4 bits this CPU model supports: those of the features its CPUID
 * advertises (setting another one is #GP, as on the hardware it models). */
static uint64_t cr4_supported(const CPUX86State *env)
{
    uint32_t a, b1, c1, d1, b7, c7, d7;
    uint64_t s = CR4_TSD | CR4_PCE;
    x86_cpu_get_cpuid(env, 1, 0, &a, &b1, &c1, &d1);
    x86_cpu_get_cpuid(env, 7, 0, &a, &b7, &c7, &d7);
    s |= (d1 & (1u << 1)) ? CR4_VME | CR4_PVI : 0;
    s |= (d1 & (1u << 2)) ? CR4_DE : 0;
    s |= (d1 & (1u << 3)) ? CR4_PSE : 0;
    s |= (d1 & (1u << 6)) ? CR4_PAE : 0;
    s |= (d1 & (1u << 7)) ? CR4_MCE : 0;
    s |= (d1 & (1u << 13)) ? CR4_PGE : 0;
    s |= (d1 & (1u << 24)) ? CR4_OSFXSR : 0;
    s |= (d1 & (1u << 25)) ? CR4_OSXMMEXCPT : 0;
    s |= (c1 & (1u << 17)) ? CR4_PCIDE : 0;
    s |= (c1 & (1u << 26)) ? CR4_OSXSAVE : 0;
    s |= (b7 & (1u << 0)) ? CR4_FSGSBASE : 0;
    s |= (b7 & (1u << 7)) ? CR4_SMEP : 0;
    s |= (b7 & (1u << 20)) ? CR4_SMAP : 0;
    s |= (c7 & (1u << 2)) ? CR4_UMIP : 0;
    return s;
}

void x86_write_cr(TcgCpu *c, int cr, uint64_t val)
{
    CPUX86State *env = c->env;
    switch (cr) {
    case 0: {
        uint64_t old = env->cr[0];
        if (val >> 32) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        val |= CR0_ET;
        if ((val & CR0_PG) && !(val & CR0_PE)) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        if ((val & CR0_NW) && !(val & CR0_CD)) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        if ((val & CR0_PG) && !(old & CR0_PG) && (env->efer & EFER_LME)) {
            if (!(env->cr[4] & CR4_PAE)) {
                raise_exception_err(c, EXCP_GP, 0);
            }
            env->efer |= EFER_LMA;
        }
        if (!(val & CR0_PG) && (old & CR0_PG) && (env->efer & EFER_LMA)) {
            if (c->tb_flags & HF_CS64) {
                raise_exception_err(c, EXCP_GP, 0);
            }
            env->efer &= ~(uint64_t)EFER_LMA;
        }
        env->cr[0] = val;
        if ((old ^ val) & (CR0_PG | CR0_WP | CR0_PE)) {
            tlb_flush(c);
        }
        break;
    }
    case 2:
        env->cr[2] = val;
        break;
    case 3:
        if (env->cr[4] & CR4_PCIDE) {
            val &= ~((uint64_t)1 << 63);    /* the "no flush" hint */
        }
        if (!(env->efer & EFER_LMA)) {
            val = (uint32_t)val;
        }
        env->cr[3] = val;
        tlb_flush_nonglobal(c);
        break;
    case 4: {
        uint64_t supported = cr4_supported(env);
        uint64_t old = env->cr[4];
        if (val & ~supported) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) &&
            (!(env->efer & EFER_LMA) || (env->cr[3] & 0xfff))) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        if ((env->efer & EFER_LMA) && !(val & CR4_PAE)) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        env->cr[4] = val;
        if ((old ^ val) & (CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_PCIDE)) {
            tlb_flush(c);
        }
        break;
    }
    case 8:
        if (val & ~(uint64_t)0xf) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        if (val < env->cr8) {
            /* A lower TPR may unblock an interrupt the APIC holds back:
             * let it re-evaluate at the next boundary (it drops the
             * request again if nothing is deliverable). */
            __atomic_fetch_or(&c->cs->interrupt_request, (unsigned)CPU_INTERRUPT_HARD,
                              __ATOMIC_SEQ_CST);
        }
        env->cr8 = val;
        break;
    default:
        raise_exception(c, EXCP_UD);
    }
    tcg_stop_tb(c);
}
