/*
 * Semantics of system instructions: HLT, CLI/STI, port I/O, segment and
 * descriptor-table registers, control/debug registers, MSRs, CPUID, TSC,
 * SYSCALL/SYSRET, SYSENTER/SYSEXIT, and the #UD paths.
 */
#include "target/i386/tcg/tcg-cpu.h"
#include "sysemu/cpus.h"

static inline void require_cpl0(TcgCpu *c)
{
    if (x86_cpl(c->env) != 0) {
        raise_exception_err(c, EXCP_GP, 0);
    }
}

static inline bool protected_mode(const CPUX86State *env)
{
    return (env->cr[0] & CR0_PE) && !(env->eflags & VM_MASK);
}

void op_ud(TcgCpu *c, const Insn *i)
{
    raise_exception(c, EXCP_UD);
}

void op_ud_unimp(TcgCpu *c, const Insn *i)
{
    static const char *const map_prefix[] = { "", "0f ", "0f 38 ", "0f 3a " };
    log_mask(LOG_UNIMP, "tcg: unimplemented opcode %s%02x at %04x:%" PRIx64 " -> #UD\n",
             map_prefix[i->sub & 3], i->op, c->env->segs[R_CS].selector, i->eip);
    raise_exception(c, EXCP_UD);
}

void op_gp_too_long(TcgCpu *c, const Insn *i)
{
    raise_exception_err(c, EXCP_GP, 0);
}

void op_hlt(TcgCpu *c, const Insn *i)
{
    require_cpl0(c);
    c->env->halted = true;
    tcg_stop_tb(c);
}

void op_cli(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned iopl = (env->eflags & IOPL_MASK) >> 12;
    if (protected_mode(env) ? (unsigned)x86_cpl(env) > iopl
                            : ((env->eflags & VM_MASK) && iopl < 3)) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    env->eflags &= ~(uint64_t)IF_MASK;
}

void op_sti(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned iopl = (env->eflags & IOPL_MASK) >> 12;
    if (protected_mode(env) ? (unsigned)x86_cpl(env) > iopl
                            : ((env->eflags & VM_MASK) && iopl < 3)) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    if (!(env->eflags & IF_MASK)) {
        /* Interrupts stay blocked until after the next instruction. */
        env->interrupt_shadow = 1;
    }
    env->eflags |= IF_MASK;
}

/* E4/E5/EC/ED */
void op_in(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize == 8 ? 4 : i->opsize;
    uint16_t port = (i->op == 0xe4 || i->op == 0xe5) ? (uint16_t)i->imm
                                                      : (uint16_t)env->regs[R_EDX];
    check_io_permission(c, port, size);
    set_reg(env, R_EAX, size, tcg_io_read(c, port, size));
}

void op_out(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize == 8 ? 4 : i->opsize;
    uint16_t port = (i->op == 0xe6 || i->op == 0xe7) ? (uint16_t)i->imm
                                                      : (uint16_t)env->regs[R_EDX];
    check_io_permission(c, port, size);
    tcg_io_write(c, port, get_reg(env, R_EAX, size), size);
}

/* 8C: MOV r/m, Sreg */
void op_mov_rm_sreg(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la;
    if (i->reg > R_GS) {
        raise_exception(c, EXCP_UD);
    }
    if (i->is_mem) {
        la = insn_linear_access(c, i, 2, true);
        st_data(c, la, env->segs[i->reg].selector, 2);
    } else {
        set_reg(env, i->rm, i->opsize == 2 ? 2 : i->opsize, env->segs[i->reg].selector);
    }
}

/* 8E: MOV Sreg, r/m */
void op_mov_sreg_rm(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, v;
    if (i->reg > R_GS || i->reg == R_CS) {
        raise_exception(c, EXCP_UD);
    }
    v = ld_rm(c, i, 2, &la);
    load_seg(c, i->reg, (uint16_t)v);
    if (i->reg == R_SS) {
        c->env->interrupt_shadow = 1;
    }
    tcg_stop_tb(c);
}

/* C4/C5/0F B2/B4/B5: LES/LDS/LSS/LFS/LGS */
void op_lxs(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la = insn_linear_access(c, i, i->opsize + 2, false);
    uint64_t off = ld_data(c, la, i->opsize);
    uint16_t sel = (uint16_t)ld_data(c, la + i->opsize, 2);
    load_seg(c, i->sub, sel);
    set_reg(env, i->reg, i->opsize, off);
    tcg_stop_tb(c);
}

/* 0F 20/22: MOV r, CRn / MOV CRn, r */
void op_mov_cr(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned cr = i->reg;
    unsigned size = x86_code64(c) ? 8 : 4;
    if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8) {
        raise_exception(c, EXCP_UD);
    }
    require_cpl0(c);
    if (i->op == 0x20) {
        uint64_t v = cr == 8 ? env->cr8 : env->cr[cr];
        set_reg(env, i->rm, size, v);
    } else {
        x86_write_cr(c, (int)cr, get_reg(env, i->rm, size));
    }
}

/* 0F 21/23: MOV r, DRn / MOV DRn, r. The registers keep their
 * architectural fixed bits; seg.c implements the breakpoints. */
#define DR6_FIXED_1 0xffff0ff0u
#define DR6_WRITABLE 0xe00fu        /* B0-B3, BD, BS, BT */
#define DR6_BD (1u << 13)
#define DR7_FIXED_1 0x400u
#define DR7_WRITABLE 0xffff23ffu    /* L/G enables, LE/GE, GD, R/W and LEN fields */
#define DR7_GD (1u << 13)

void op_mov_dr(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned dr = i->reg;
    unsigned size = x86_code64(c) ? 8 : 4;
    if (dr > 7) {
        raise_exception(c, EXCP_UD);
    }
    if ((dr == 4 || dr == 5) && (env->cr[4] & CR4_DE)) {
        raise_exception(c, EXCP_UD);
    }
    require_cpl0(c);
    if (env->dr[7] & DR7_GD) {
        /* General detect: #DB (a fault) before the access; the handler
         * finds BD in DR6 and GD cleared so it can use the registers. */
        env->dr[6] = (env->dr[6] & ~(uint64_t)0xf) | DR6_BD | DR6_FIXED_1;
        env->dr[7] &= ~(uint64_t)DR7_GD;
        raise_exception(c, EXCP_DB);
    }
    if (dr == 4) {
        dr = 6;
    } else if (dr == 5) {
        dr = 7;
    }
    if (i->op == 0x21) {
        uint64_t v = env->dr[dr];
        if (dr == 6) {
            v = (v & DR6_WRITABLE) | DR6_FIXED_1;
        } else if (dr == 7) {
            v = (v & DR7_WRITABLE) | DR7_FIXED_1;
        }
        set_reg(env, i->rm, size, v);
    } else {
        uint64_t v = get_reg(env, i->rm, size);
        if (dr >= 6 && (v >> 32)) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        if (dr == 6) {
            v = (v & DR6_WRITABLE) | DR6_FIXED_1;
        } else if (dr == 7) {
            v = (v & DR7_WRITABLE) | DR7_FIXED_1;
        }
        env->dr[dr] = v;
        tcg_stop_tb(c);     /* DR7 and DR0-3 change the breakpoint TB flags */
    }
}

void op_clts(TcgCpu *c, const Insn *i)
{
    require_cpl0(c);
    c->env->cr[0] &= ~(uint64_t)CR0_TS;
}

void op_invd(TcgCpu *c, const Insn *i)
{
    require_cpl0(c);
}

/* ---- TSC ---- */

static uint64_t guest_tsc(TcgCpu *c)
{
    return (uint64_t)(g_get_monotonic_time() * 1000 + c->tsc_offset);
}

void op_rdtsc(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t t;
    if ((env->cr[4] & CR4_TSD) && x86_cpl(env) != 0 && (env->cr[0] & CR0_PE)) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    t = guest_tsc(c);
    env->regs[R_EAX] = (uint32_t)t;
    env->regs[R_EDX] = t >> 32;
}

void op_rdtscp(TcgCpu *c, const Insn *i)
{
    op_rdtsc(c, i);
    c->env->regs[R_ECX] = (uint32_t)c->env->tsc_aux;
}

void op_rdpmc(TcgCpu *c, const Insn *i)
{
    log_mask(LOG_UNIMP, "tcg: rdpmc\n");
    raise_exception_err(c, EXCP_GP, 0);
}

/* ---- MSRs ---- */

/* MTRRcap: 8 variable ranges, fixed ranges, write-combining. */
#define MTRR_CAP ((1u << 10) | (1u << 8) | 8u)

/* The storage of an MTRR MSR (the caller checked that msr is one). */
static uint64_t *mtrr_slot(CPUX86State *env, uint32_t msr)
{
    if (msr == MSR_MTRRdefType) {
        return &env->mtrr_deftype;
    }
    if (msr >= MSR_MTRRphysBase0 && msr < MSR_MTRRphysBase0 + 16) {
        return &env->mtrr_var[msr - MSR_MTRRphysBase0];
    }
    if (msr == MSR_MTRRfix64K_00000) {
        return &env->mtrr_fixed[0];
    }
    if (msr == MSR_MTRRfix16K_80000 || msr == MSR_MTRRfix16K_A0000) {
        return &env->mtrr_fixed[1 + msr - MSR_MTRRfix16K_80000];
    }
    return &env->mtrr_fixed[3 + (msr - MSR_MTRRfix4K_C0000)];
}

/* Memory types valid in MTRRs (UC, WC, WT, WP, WB) and in the PAT (also UC-). */
static bool mem_type_valid(unsigned t, bool pat)
{
    return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

/* Whether `val` is a valid value for MTRR msr (reserved bits, types). */
static bool mtrr_value_valid(const CPUX86State *env, uint32_t msr, uint64_t val)
{
    uint32_t phys_bits, unused;
    uint64_t addr_mask;
    x86_cpu_get_cpuid(env, 0x80000008, 0, &phys_bits, &unused, &unused, &unused);
    phys_bits &= 0xff;
    addr_mask = ((1ull << (phys_bits ? phys_bits : 36)) - 1) & ~0xfffull;
    if (msr == MSR_MTRRdefType) {
        return !(val & ~0xcffull) && mem_type_valid(val & 0xff, false);
    }
    if (msr >= MSR_MTRRphysBase0 && msr < MSR_MTRRphysBase0 + 16) {
        if ((msr - MSR_MTRRphysBase0) & 1) {
            return !(val & ~(addr_mask | 0x800));          /* PHYSMASK: V bit 11 */
        }
        return !(val & ~(addr_mask | 0xff)) && mem_type_valid(val & 0xff, false);
    }
    for (unsigned k = 0; k < 8; k++) {
        if (!mem_type_valid((val >> (k * 8)) & 0xff, false)) {
            return false;
        }
    }
    return true;
}

static bool msr_read(TcgCpu *c, uint32_t msr, uint64_t *val)
{
    CPUX86State *env = c->env;
    switch (msr) {
    case MSR_IA32_TSC: *val = guest_tsc(c); return true;
    case MSR_IA32_APICBASE: *val = env->apic_base; return true;
    case MSR_IA32_SYSENTER_CS: *val = env->sysenter_cs; return true;
    case MSR_IA32_SYSENTER_ESP: *val = env->sysenter_esp; return true;
    case MSR_IA32_SYSENTER_EIP: *val = env->sysenter_eip; return true;
    case MSR_IA32_MISC_ENABLE: *val = env->misc_enable; return true;
    case MSR_IA32_PAT: *val = env->pat; return true;
    case MSR_EFER: *val = env->efer; return true;
    case MSR_STAR: *val = env->star; return true;
    case MSR_LSTAR: *val = env->lstar; return true;
    case MSR_CSTAR: *val = env->cstar; return true;
    case MSR_FMASK: *val = env->fmask; return true;
    case MSR_FS_BASE: *val = env->segs[R_FS].base; return true;
    case MSR_GS_BASE: *val = env->segs[R_GS].base; return true;
    case MSR_KERNEL_GS_BASE: *val = env->kernel_gs_base; return true;
    case MSR_TSC_AUX: *val = env->tsc_aux; return true;
    case MSR_MTRRcap:
        *val = MTRR_CAP;
        return true;
    case MSR_MTRRdefType:
    case MSR_MTRRphysBase0 ... MSR_MTRRphysBase0 + 15:
    case MSR_MTRRfix64K_00000:
    case MSR_MTRRfix16K_80000:
    case MSR_MTRRfix16K_A0000:
    case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_C0000 + 7:
        *val = *mtrr_slot(env, msr);
        return true;
    case 0x179:         /* MCG_CAP: no machine-check banks */
    case 0x17a:         /* MCG_STATUS */
        *val = 0;
        return true;
    default:
        return false;
    }
}

static bool canonical(uint64_t v)
{
    return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

static bool msr_write(TcgCpu *c, uint32_t msr, uint64_t val)
{
    CPUX86State *env = c->env;
    switch (msr) {
    case MSR_IA32_TSC:
        c->tsc_offset = (int64_t)(val - (uint64_t)(g_get_monotonic_time() * 1000));
        return true;
    case MSR_IA32_APICBASE: return cpu_apic_base_write(c->cs, val);   /* hw/intc/apic.c */
    case MSR_IA32_SYSENTER_CS: env->sysenter_cs = val & 0xffff; return true;
    case MSR_IA32_SYSENTER_ESP:
        if (!canonical(val)) {
            return false;
        }
        env->sysenter_esp = val;
        return true;
    case MSR_IA32_SYSENTER_EIP:
        if (!canonical(val)) {
            return false;
        }
        env->sysenter_eip = val;
        return true;
    case MSR_IA32_MISC_ENABLE: env->misc_enable = val; return true;
    case MSR_IA32_PAT:
        for (unsigned k = 0; k < 8; k++) {
            if (!mem_type_valid((val >> (k * 8)) & 0xff, true)) {
                return false;
            }
        }
        env->pat = val;
        return true;
    case MSR_MTRRdefType:
    case MSR_MTRRphysBase0 ... MSR_MTRRphysBase0 + 15:
    case MSR_MTRRfix64K_00000:
    case MSR_MTRRfix16K_80000:
    case MSR_MTRRfix16K_A0000:
    case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_C0000 + 7:
        if (!mtrr_value_valid(env, msr, val)) {
            return false;
        }
        *mtrr_slot(env, msr) = val;
        return true;
    case MSR_EFER: x86_update_efer(c, val); return true;
    case MSR_STAR: env->star = val; return true;
    case MSR_LSTAR:
        if (!canonical(val)) {
            return false;
        }
        env->lstar = val;
        return true;
    case MSR_CSTAR:
        if (!canonical(val)) {
            return false;
        }
        env->cstar = val;
        return true;
    case MSR_FMASK: env->fmask = (uint32_t)val; return true;
    case MSR_FS_BASE:
        if (!canonical(val)) {
            return false;
        }
        env->segs[R_FS].base = val;
        return true;
    case MSR_GS_BASE:
        if (!canonical(val)) {
            return false;
        }
        env->segs[R_GS].base = val;
        return true;
    case MSR_KERNEL_GS_BASE:
        if (!canonical(val)) {
            return false;
        }
        env->kernel_gs_base = val;
        return true;
    case MSR_TSC_AUX: env->tsc_aux = (uint32_t)val; return true;
    case 0x17a:
        return true;
    default:
        return false;
    }
}

void op_rdmsr(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint32_t msr = (uint32_t)env->regs[R_ECX];
    uint64_t val;
    require_cpl0(c);
    if (!msr_read(c, msr, &val)) {
        log_mask(LOG_UNIMP, "tcg: rdmsr of unknown MSR 0x%x -> #GP\n", msr);
        raise_exception_err(c, EXCP_GP, 0);
    }
    env->regs[R_EAX] = (uint32_t)val;
    env->regs[R_EDX] = val >> 32;
}

void op_wrmsr(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint32_t msr = (uint32_t)env->regs[R_ECX];
    uint64_t val = ((uint64_t)(uint32_t)env->regs[R_EDX] << 32) | (uint32_t)env->regs[R_EAX];
    require_cpl0(c);
    if (!msr_write(c, msr, val)) {
        log_mask(LOG_UNIMP, "tcg: wrmsr of unknown MSR 0x%x (value 0x%" PRIx64 ") -> #GP\n",
                 msr, val);
        raise_exception_err(c, EXCP_GP, 0);
    }
    tcg_stop_tb(c);
}

void op_cpuid(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint32_t a, b, cx, d;
    x86_cpu_get_cpuid(env, (uint32_t)env->regs[R_EAX], (uint32_t)env->regs[R_ECX], &a, &b, &cx, &d);
    env->regs[R_EAX] = a;
    env->regs[R_EBX] = b;
    env->regs[R_ECX] = cx;
    env->regs[R_EDX] = d;
}

/* ---- descriptor tables ---- */

static void load_system_desc(TcgCpu *c, uint16_t sel, bool is_tr)
{
    CPUX86State *env = c->env;
    SegmentCache *dst = is_tr ? &env->tr : &env->ldt;
    uint32_t lo, hi, type;
    uint64_t desc_addr;

    if ((sel & ~3u) == 0) {
        if (is_tr) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        memset(dst, 0, sizeof(*dst));
        return;
    }
    if (sel & 4) {
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);
    }
    if ((sel | 7u) > env->gdt.limit ||
        ((env->efer & EFER_LMA) && (sel & ~7u) + 15 > env->gdt.limit)) {
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);
    }
    desc_addr = env->gdt.base + (sel & ~7u);
    lo = cpu_ldl(c, desc_addr, MMU_IDX_KERNEL);
    hi = cpu_ldl(c, desc_addr + 4, MMU_IDX_KERNEL);
    type = (hi >> 8) & 0x1f;
    /* Long mode has only 64-bit TSSs (type 9); 16-bit ones are #GP. */
    if (is_tr ? (type != 0x09 && (type != 0x01 || (env->efer & EFER_LMA))) : type != 0x02) {
        raise_exception_err(c, EXCP_GP, sel & 0xfffc);
    }
    if (!(hi & DESC_P_MASK)) {
        raise_exception_err(c, EXCP_NP, sel & 0xfffc);
    }
    segcache_from_desc(dst, sel, lo, hi);
    if (env->efer & EFER_LMA) {
        uint32_t hi2 = cpu_ldl(c, desc_addr + 8, MMU_IDX_KERNEL);
        dst->base |= (uint64_t)hi2 << 32;
    }
    if (is_tr) {
        hi |= 2u << 8;      /* busy */
        cpu_stl(c, desc_addr + 4, hi, MMU_IDX_KERNEL);
        dst->flags = hi & 0x00f0ff00;
    }
}

/* 0F 00: SLDT, STR, LLDT, LTR, VERR, VERW */
void op_grp6(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned op = (i->modrm >> 3) & 7;
    uint64_t la = 0;

    if (!protected_mode(env)) {
        raise_exception(c, EXCP_UD);
    }
    switch (op) {
    case 0:
    case 1: {
        uint16_t v = op == 0 ? env->ldt.selector : env->tr.selector;
        if (i->is_mem) {
            st_data(c, insn_linear_access(c, i, 2, true), v, 2);
        } else {
            set_reg(env, i->rm, i->opsize, v);
        }
        break;
    }
    case 2:
    case 3: {
        uint16_t sel;
        require_cpl0(c);
        sel = (uint16_t)ld_rm(c, i, 2, &la);
        load_system_desc(c, sel, op == 3);
        break;
    }
    case 4:
    case 5: {
        uint16_t sel = (uint16_t)ld_rm(c, i, 2, &la);
        uint32_t lo, hi, f = cc_materialize(env) & ~(uint32_t)CC_Z;
        if ((sel & ~3u) && read_descriptor(c, sel, &lo, &hi) && (hi & DESC_S_MASK)) {
            unsigned dpl = (hi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
            bool code = hi & DESC_CS_MASK, conforming = code && (hi & DESC_C_MASK);
            bool ok = conforming || (dpl >= (unsigned)x86_cpl(env) && dpl >= (sel & 3u));
            if (ok && (op == 4 ? (!code || (hi & DESC_R_MASK)) : (!code && (hi & DESC_W_MASK)))) {
                f |= CC_Z;
            }
        }
        env->cc_src = f;
        break;
    }
    default:
        raise_exception(c, EXCP_UD);
    }
}

/* 0F 02/03: LAR, LSL */
void op_lar_lsl(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t la = 0;
    uint16_t sel;
    uint32_t lo, hi, f;
    if (!protected_mode(env)) {
        raise_exception(c, EXCP_UD);
    }
    sel = (uint16_t)ld_rm(c, i, 2, &la);
    f = cc_materialize(env) & ~(uint32_t)CC_Z;
    if ((sel & ~3u) && read_descriptor(c, sel, &lo, &hi)) {
        unsigned dpl = (hi & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
        unsigned type = (hi >> 8) & 0x1f;
        bool conforming = (hi & DESC_S_MASK) && (hi & DESC_CS_MASK) && (hi & DESC_C_MASK);
        /* In long mode only the 64-bit forms (LDT, TSS, call gate for LAR)
         * exist; 16-bit TSSs, task gates and 16-bit call gates do not. */
        bool valid_sys = (env->efer & EFER_LMA)
            ? (type == 0x02 || type == 0x09 || type == 0x0b || (i->op == 0x02 && type == 0x0c))
            : (type == 0x01 || type == 0x02 || type == 0x03 || type == 0x09 || type == 0x0b ||
               (i->op == 0x02 && (type == 0x04 || type == 0x05 || type == 0x0c)));
        bool visible = conforming || (dpl >= (unsigned)x86_cpl(env) && dpl >= (sel & 3u));
        if (((hi & DESC_S_MASK) || valid_sys) && visible) {
            uint64_t v;
            if (i->op == 0x02) {
                v = hi & 0x00f0ff00;
            } else {
                SegmentCache sc;
                segcache_from_desc(&sc, sel, lo, hi);
                v = sc.limit;
            }
            set_reg(env, i->reg, i->opsize, v);
            f |= CC_Z;
        }
    }
    env->cc_src = f;
}

/* 0F 01 */
void op_grp7(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned op = (i->modrm >> 3) & 7;
    bool code64 = x86_code64(c);

    if (!i->is_mem) {
        unsigned rm = i->modrm & 7;
        switch (i->modrm) {
        case 0xc8:      /* MONITOR */
        case 0xc9:      /* MWAIT: no power states; behave like a NOP */
            require_cpl0(c);
            return;
        case 0xca:      /* CLAC */
        case 0xcb:      /* STAC */
            if (!(env->cpuid_7_0_ebx & (1u << 20))) {
                raise_exception(c, EXCP_UD);    /* SMAP not advertised */
            }
            require_cpl0(c);
            if (i->modrm == 0xca) {
                env->eflags &= ~(uint64_t)AC_MASK;
            } else {
                env->eflags |= AC_MASK;
            }
            tcg_stop_tb(c);     /* AC selects the SMAP mmu index (TB flags) */
            return;
        case 0xd0: {    /* XGETBV */
            if (!(env->cr[4] & CR4_OSXSAVE)) {
                raise_exception(c, EXCP_UD);
            }
            if ((uint32_t)env->regs[R_ECX] != 0) {
                raise_exception_err(c, EXCP_GP, 0);
            }
            env->regs[R_EAX] = (uint32_t)env->xcr0;
            env->regs[R_EDX] = env->xcr0 >> 32;
            return;
        }
        case 0xd1: {    /* XSETBV */
            uint64_t v = ((uint64_t)(uint32_t)env->regs[R_EDX] << 32) |
                         (uint32_t)env->regs[R_EAX];
            if (!(env->cr[4] & CR4_OSXSAVE)) {
                raise_exception(c, EXCP_UD);
            }
            require_cpl0(c);
            if ((uint32_t)env->regs[R_ECX] != 0 || !(v & 1) || (v & ~(uint64_t)7) ||
                ((v & 4) && !(v & 2))) {
                raise_exception_err(c, EXCP_GP, 0);
            }
            env->xcr0 = v;
            return;
        }
        case 0xf8:      /* SWAPGS */
            if (!code64) {
                raise_exception(c, EXCP_UD);
            }
            require_cpl0(c);
            {
                uint64_t t = env->segs[R_GS].base;
                env->segs[R_GS].base = env->kernel_gs_base;
                env->kernel_gs_base = t;
            }
            return;
        case 0xf9:      /* RDTSCP */
            op_rdtscp(c, i);
            return;
        default:
            break;
        }
        if (op == 4) {  /* SMSW r */
            set_reg(env, i->rm, i->opsize, env->cr[0] & size_mask(i->opsize));
            return;
        }
        if (op == 6) {  /* LMSW r */
            uint64_t v;
            require_cpl0(c);
            v = get_reg(env, i->rm, 2);
            /* LMSW can set PE but not clear it. */
            x86_write_cr(c, 0, (env->cr[0] & ~(uint64_t)0xe) | (v & 0xf) |
                               (env->cr[0] & CR0_PE));
            return;
        }
        (void)rm;
        log_mask(LOG_UNIMP, "tcg: unimplemented 0f 01 %02x -> #UD\n", i->modrm);
        raise_exception(c, EXCP_UD);
    }

    switch (op) {
    case 0:     /* SGDT */
    case 1: {   /* SIDT */
        DescriptorTable *dt = op == 0 ? &env->gdt : &env->idt;
        uint64_t la = insn_linear_access(c, i, code64 ? 10 : 6, true);
        if ((env->cr[4] & CR4_UMIP) && x86_cpl(env) > 0) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        st_data(c, la, dt->limit, 2);
        if (code64) {
            st_data(c, la + 2, dt->base, 8);
        } else {
            st_data(c, la + 2, (uint32_t)dt->base, 4);
        }
        return;
    }
    case 2:     /* LGDT */
    case 3: {   /* LIDT */
        DescriptorTable *dt = op == 2 ? &env->gdt : &env->idt;
        uint64_t la = insn_linear_access(c, i, code64 ? 10 : 6, false), base;
        uint16_t limit;
        require_cpl0(c);
        limit = (uint16_t)ld_data(c, la, 2);
        if (code64) {
            base = ld_data(c, la + 2, 8);
        } else {
            base = ld_data(c, la + 2, 4);
            if (i->opsize == 2) {
                base &= 0xffffff;
            }
        }
        dt->limit = limit;
        dt->base = base;
        return;
    }
    case 4: {   /* SMSW m16 */
        st_data(c, insn_linear_access(c, i, 2, true), env->cr[0] & 0xffff, 2);
        return;
    }
    case 6: {   /* LMSW m16 */
        uint64_t v;
        require_cpl0(c);
        v = ld_data(c, insn_linear_access(c, i, 2, false), 2);
        x86_write_cr(c, 0, (env->cr[0] & ~(uint64_t)0xe) | (v & 0xf) | (env->cr[0] & CR0_PE));
        return;
    }
    case 7: {   /* INVLPG */
        require_cpl0(c);
        tlb_flush_page(c, insn_linear(c, i));
        return;
    }
    default:
        log_mask(LOG_UNIMP, "tcg: unimplemented 0f 01 /%u -> #UD\n", op);
        raise_exception(c, EXCP_UD);
    }
}

/* 0F C7 */
void op_grp9(TcgCpu *c, const Insn *i)
{
    unsigned op = (i->modrm >> 3) & 7;
    if (op == 1 && i->is_mem) {
        op_cmpxchg8b_16b(c, i);
        return;
    }
    log_mask(LOG_UNIMP, "tcg: unimplemented 0f c7 /%u -> #UD\n", op);
    raise_exception(c, EXCP_UD);
}

/* 0F AE: fences are no-ops for one host thread per vCPU on x86 (TSO). */
void op_grp15(TcgCpu *c, const Insn *i)
{
    unsigned op = (i->modrm >> 3) & 7;
    if (!i->is_mem && op >= 5) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        return;
    }
    if (i->is_mem && op == 7) {     /* CLFLUSH */
        insn_linear(c, i);
        return;
    }
    log_mask(LOG_UNIMP, "tcg: unimplemented 0f ae /%u (mod %s) -> #UD\n", op,
             i->is_mem ? "mem" : "reg");
    raise_exception(c, EXCP_UD);
}

void op_fwait(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    if ((env->cr[0] & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) {
        raise_exception(c, EXCP_NM);
    }
}

void op_x87(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    if (env->cr[0] & (CR0_EM | CR0_TS)) {
        raise_exception(c, EXCP_NM);
    }
    log_mask(LOG_UNIMP, "tcg: x87 instruction %02x /%u at %" PRIx64 " -> #UD\n", i->op,
             (i->modrm >> 3) & 7, i->eip);
    raise_exception(c, EXCP_UD);
}

/* ---- fast system calls ---- */

static void set_flat_seg(SegmentCache *sc, uint16_t sel, uint32_t flags)
{
    sc->selector = sel;
    sc->base = 0;
    sc->limit = 0xffffffff;
    sc->flags = flags | DESC_P_MASK | DESC_S_MASK | DESC_G_MASK | DESC_A_MASK;
}

/* The flat ring-3 code segment SYSRET and SYSEXIT load (64- or 32-bit). */
static void set_user_code_seg(CPUX86State *env, uint16_t sel, bool code64)
{
    set_flat_seg(&env->segs[R_CS], sel | 3, DESC_CS_MASK | DESC_R_MASK |
                 (code64 ? DESC_L_MASK : DESC_B_MASK) | (3u << DESC_DPL_SHIFT));
}

void op_syscall(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint16_t sel = (uint16_t)(env->star >> 32);
    if (!(env->efer & EFER_SCE) || !(env->efer & EFER_LMA)) {
        raise_exception(c, EXCP_UD);
    }
    env->regs[R_ECX] = i->next_eip;
    env->regs[R_R11] = x86_cpu_get_eflags(env) & ~(uint64_t)RF_MASK;
    set_flat_seg(&env->segs[R_CS], sel & 0xfffc, DESC_CS_MASK | DESC_R_MASK | DESC_L_MASK);
    set_flat_seg(&env->segs[R_SS], (sel + 8) & 0xfffc, DESC_W_MASK | DESC_B_MASK);
    x86_cpu_set_eflags(env, x86_cpu_get_eflags(env) & ~(env->fmask | RF_MASK));
    env->rip = x86_code64(c) ? env->lstar : env->cstar;
    tcg_stop_tb(c);
}

void op_sysret(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint16_t sel = (uint16_t)(env->star >> 48);
    bool to64 = (i->prefixes & PFX_REXW) != 0;
    if (!(env->efer & EFER_SCE) || !(env->efer & EFER_LMA) || !x86_code64(c)) {
        raise_exception(c, EXCP_UD);
    }
    require_cpl0(c);
    if (to64) {
        if (!canonical(env->regs[R_ECX])) {
            raise_exception_err(c, EXCP_GP, 0);
        }
        set_user_code_seg(env, sel + 16, true);
        env->rip = env->regs[R_ECX];
    } else {
        set_user_code_seg(env, sel, false);
        env->rip = (uint32_t)env->regs[R_ECX];
    }
    env->segs[R_SS].selector = (uint16_t)((sel + 8) | 3);
    env->segs[R_SS].flags = (env->segs[R_SS].flags & ~(uint32_t)DESC_DPL_MASK) |
                            (3u << DESC_DPL_SHIFT) | DESC_P_MASK | DESC_S_MASK | DESC_W_MASK |
                            DESC_B_MASK;
    x86_cpu_set_eflags(env, (env->regs[R_R11] & 0x3c7fd7) | RFLAGS_FIXED_1);
    tcg_stop_tb(c);
}

void op_sysenter(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint16_t sel = (uint16_t)env->sysenter_cs;
    bool lma = (env->efer & EFER_LMA) != 0;
    if (!(env->cr[0] & CR0_PE) || (sel & 0xfffc) == 0) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    env->eflags &= ~(uint64_t)(VM_MASK | IF_MASK | RF_MASK);
    set_flat_seg(&env->segs[R_CS], sel & 0xfffc,
                 DESC_CS_MASK | DESC_R_MASK | (lma ? DESC_L_MASK : DESC_B_MASK));
    set_flat_seg(&env->segs[R_SS], (sel + 8) & 0xfffc, DESC_W_MASK | DESC_B_MASK);
    env->regs[R_ESP] = lma ? env->sysenter_esp : (uint32_t)env->sysenter_esp;
    env->rip = lma ? env->sysenter_eip : (uint32_t)env->sysenter_eip;
    tcg_stop_tb(c);
}

void op_sysexit(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint16_t sel = (uint16_t)env->sysenter_cs;
    bool to64 = (i->prefixes & PFX_REXW) != 0;
    uint16_t cs = sel + (to64 ? 32 : 16);    /* SS follows CS */
    if (!(env->cr[0] & CR0_PE) || (sel & 0xfffc) == 0) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    require_cpl0(c);
    if (to64 && (!canonical(env->regs[R_ECX]) || !canonical(env->regs[R_EDX]))) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    set_user_code_seg(env, cs, to64);
    set_flat_seg(&env->segs[R_SS], (cs + 8) | 3,
                 DESC_W_MASK | DESC_B_MASK | (3u << DESC_DPL_SHIFT));
    env->regs[R_ESP] = to64 ? env->regs[R_ECX] : (uint32_t)env->regs[R_ECX];
    env->rip = to64 ? env->regs[R_EDX] : (uint32_t)env->regs[R_EDX];
    tcg_stop_tb(c);
}
