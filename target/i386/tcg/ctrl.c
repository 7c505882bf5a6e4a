/*
 * Semantics of control transfers and stack instructions: near branches,
 * calls and returns, push/pop, ENTER/LEAVE, and the entry points of far
 * transfers and software interrupts (whose protected-mode logic is in seg.c).
 */
#include "target/i386/tcg/tcg-cpu.h"

/* ---- stack helpers ---- */

void push_v(TcgCpu *c, uint64_t v, unsigned size)
{
    CPUX86State *env = c->env;
    unsigned ss = stack_size(c);
    uint64_t sp = addr_trunc(env->regs[R_ESP] - size, ss);
    ss_st(c, sp, v, size);
    set_reg(env, R_ESP, ss, sp);
}

uint64_t peek_v(TcgCpu *c, unsigned size, uint64_t offset)
{
    CPUX86State *env = c->env;
    unsigned ss = stack_size(c);
    uint64_t sp = addr_trunc(env->regs[R_ESP] + offset, ss);
    return ss_ld(c, sp, size);
}

void stack_adjust(TcgCpu *c, int64_t delta)
{
    CPUX86State *env = c->env;
    unsigned ss = stack_size(c);
    set_reg(env, R_ESP, ss, env->regs[R_ESP] + (uint64_t)delta);
}

uint64_t pop_v(TcgCpu *c, unsigned size)
{
    uint64_t v = peek_v(c, size, 0);
    stack_adjust(c, size);
    return v;
}

/* ---- near branches ---- */

void op_jmp_rel(TcgCpu *c, const Insn *i)
{
    c->env->rip = i->imm;
}

/* 70-7F, 0F 80-8F: one copy per condition (picked by the decoder). */
#define JCC_SPECIALIZE(n)                                                                   void op_jcc_##n(TcgCpu *c, const Insn *i)                                               {                                                                                           if (cc_test(c->env, n)) {                                                                   c->env->rip = i->imm;                                                               }                                                                                   }
JCC_SPECIALIZE(0) JCC_SPECIALIZE(1) JCC_SPECIALIZE(2) JCC_SPECIALIZE(3)
JCC_SPECIALIZE(4) JCC_SPECIALIZE(5) JCC_SPECIALIZE(6) JCC_SPECIALIZE(7)
JCC_SPECIALIZE(8) JCC_SPECIALIZE(9) JCC_SPECIALIZE(10) JCC_SPECIALIZE(11)
JCC_SPECIALIZE(12) JCC_SPECIALIZE(13) JCC_SPECIALIZE(14) JCC_SPECIALIZE(15)

void op_call_rel(TcgCpu *c, const Insn *i)
{
    push_v(c, i->next_eip, i->opsize);
    c->env->rip = i->imm;
}

void op_ret(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t target = peek_v(c, i->opsize, 0);
    stack_adjust(c, (int64_t)i->opsize + (int64_t)(i->imm & 0xffff));
    env->rip = i->opsize == 8 ? target : target & size_mask(i->opsize);
}

void op_jmp_rm(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, target = ld_rm(c, i, i->opsize, &la);
    c->env->rip = target;
}

void op_call_rm(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, target = ld_rm(c, i, i->opsize, &la);
    push_v(c, i->next_eip, i->opsize);
    c->env->rip = target;
}

/* E0-E2: LOOPNE / LOOPE / LOOP, counting in rCX of the address size */
void op_loop(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t cnt = addr_trunc(env->regs[R_ECX] - 1, i->addrsize);
    bool take;
    set_reg(env, R_ECX, i->addrsize, cnt);
    take = cnt != 0;
    if (take && i->sub != 2) {
        bool zf = (cc_compute_all(env) & CC_Z) != 0;
        take = i->sub == 1 ? zf : !zf;
    }
    if (take) {
        env->rip = i->imm;
    }
}

void op_jcxz(TcgCpu *c, const Insn *i)
{
    if (addr_trunc(c->env->regs[R_ECX], i->addrsize) == 0) {
        c->env->rip = i->imm;
    }
}

/* ---- push / pop ---- */

void op_push_reg(TcgCpu *c, const Insn *i)
{
    push_v(c, get_reg(c->env, i->reg, i->opsize), i->opsize);
}

void op_pop_reg(TcgCpu *c, const Insn *i)
{
    uint64_t v = pop_v(c, i->opsize);
    set_reg(c->env, i->reg, i->opsize, v);
}

void op_push_imm(TcgCpu *c, const Insn *i)
{
    push_v(c, i->imm & size_mask(i->opsize), i->opsize);
}

void op_push_rm(TcgCpu *c, const Insn *i)
{
    uint64_t la = 0, v = ld_rm(c, i, i->opsize, &la);
    push_v(c, v, i->opsize);
}

/* 8F /0: the destination address is computed with the incremented RSP. */
void op_pop_rm(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t v = peek_v(c, i->opsize, 0);
    uint64_t old_sp = env->regs[R_ESP], new_sp, la, ea;
    stack_adjust(c, i->opsize);
    new_sp = env->regs[R_ESP];
    if (!i->is_mem) {
        set_reg(env, i->rm, i->opsize, v);
        return;
    }
    /* An ESP-based address uses the incremented ESP; a fault must leave
     * the old one. */
    ea = insn_ea(env, i);
    env->regs[R_ESP] = old_sp;
    seg_check(c, i->seg, ea, i->opsize, true);
    la = insn_linear_ea(c, i, ea);
    st_data(c, la, v, i->opsize);
    env->regs[R_ESP] = new_sp;
}

void op_push_sreg(TcgCpu *c, const Insn *i)
{
    push_v(c, c->env->segs[i->sub].selector, i->opsize);
}

void op_pop_sreg(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t v = peek_v(c, i->opsize, 0);
    load_seg(c, i->sub, (uint16_t)v);
    stack_adjust(c, i->opsize);
    if (i->sub == R_SS) {
        env->interrupt_shadow = 1;
    }
    /* SS changes the stack size; FS/GS bases are read at run time. */
    tcg_stop_tb(c);
}

void op_pusha(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, ss = stack_size(c);
    uint64_t sp = env->regs[R_ESP], orig = sp;
    for (int r = R_EAX; r <= R_EDI; r++) {
        uint64_t v = r == R_ESP ? orig : env->regs[r];
        sp = addr_trunc(sp - size, ss);
        ss_st(c, sp, v & size_mask(size), size);
    }
    set_reg(env, R_ESP, ss, sp);
}

void op_popa(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, ss = stack_size(c);
    uint64_t vals[8];
    uint64_t sp = env->regs[R_ESP];
    for (int r = R_EDI; r >= R_EAX; r--) {
        vals[r] = ss_ld(c, addr_trunc(sp, ss), size);
        sp += size;
    }
    for (int r = R_EAX; r <= R_EDI; r++) {
        if (r != R_ESP) {
            set_reg(env, (unsigned)r, size, vals[r]);
        }
    }
    set_reg(env, R_ESP, ss, sp);
}

void op_pushf(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    uint64_t f;
    if ((env->eflags & VM_MASK) && ((env->eflags & IOPL_MASK) >> 12) < 3) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    f = x86_cpu_get_eflags(env) & ~(uint64_t)(VM_MASK | RF_MASK);
    push_v(c, f & size_mask(i->opsize), i->opsize);
}

void op_popf(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    int cpl = x86_cpl(env);
    unsigned iopl = (env->eflags & IOPL_MASK) >> 12;
    uint64_t v, mask, old;

    if ((env->eflags & VM_MASK) && iopl < 3) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    v = peek_v(c, i->opsize, 0);
    mask = CC_ARITH_MASK | TF_MASK | DF_MASK | NT_MASK | AC_MASK | ID_MASK | IF_MASK | IOPL_MASK;
    if (cpl > 0) {
        mask &= ~(uint64_t)IOPL_MASK;
    }
    if ((unsigned)cpl > iopl) {
        mask &= ~(uint64_t)IF_MASK;
    }
    if (i->opsize == 2) {
        mask &= 0xffff;
    }
    old = x86_cpu_get_eflags(env);
    stack_adjust(c, i->opsize);
    x86_cpu_set_eflags(env, (old & ~mask) | (v & mask));
    /* IF or TF may have changed: look at interrupts before going on. */
    tcg_stop_tb(c);
}

void op_enter(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, ss = stack_size(c);
    unsigned level = i->imm2 & 31;
    uint64_t alloc = i->imm & 0xffff;
    uint64_t sp = env->regs[R_ESP], bp = env->regs[R_EBP], frame;

    sp = addr_trunc(sp - size, ss);
    ss_st(c, sp, bp & size_mask(size), size);
    frame = sp;
    if (level > 0) {
        for (unsigned k = 1; k < level; k++) {
            uint64_t v;
            bp = addr_trunc(bp - size, ss);
            v = ss_ld(c, bp, size);
            sp = addr_trunc(sp - size, ss);
            ss_st(c, sp, v, size);
        }
        sp = addr_trunc(sp - size, ss);
        ss_st(c, sp, frame & size_mask(size), size);
    }
    /* Touch the bottom of the new frame so a fault happens before commit. */
    if (alloc) {
        ss_ld(c, addr_trunc(sp - alloc, ss), 1);
    }
    set_reg(env, R_EBP, size == 2 ? 2 : ss, frame);
    set_reg(env, R_ESP, ss, sp - alloc);
}

void op_leave(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned ss = stack_size(c);
    uint64_t sp = addr_trunc(env->regs[R_EBP], ss);
    uint64_t v = ss_ld(c, sp, i->opsize);
    set_reg(env, R_ESP, ss, sp + i->opsize);
    set_reg(env, R_EBP, i->opsize, v);
}

/* ---- far transfers ---- */

void op_jmp_far(TcgCpu *c, const Insn *i)
{
    far_jump(c, (uint16_t)i->imm2, i->imm, i->next_eip);
}

void op_call_far(TcgCpu *c, const Insn *i)
{
    far_call(c, (uint16_t)i->imm2, i->imm, i->opsize, i->next_eip);
}

static void load_far_pointer(TcgCpu *c, const Insn *i, uint16_t *sel, uint64_t *off)
{
    uint64_t la = insn_linear_access(c, i, i->opsize + 2, false);
    unsigned osz = i->opsize;
    *off = ld_data(c, la, osz);
    *sel = (uint16_t)ld_data(c, la + osz, 2);
}

void op_jmp_far_rm(TcgCpu *c, const Insn *i)
{
    uint16_t sel;
    uint64_t off;
    load_far_pointer(c, i, &sel, &off);
    far_jump(c, sel, off, i->next_eip);
}

void op_call_far_rm(TcgCpu *c, const Insn *i)
{
    uint16_t sel;
    uint64_t off;
    load_far_pointer(c, i, &sel, &off);
    far_call(c, sel, off, i->opsize, i->next_eip);
}

void op_retf(TcgCpu *c, const Insn *i)
{
    far_return(c, i->opsize, (uint16_t)i->imm);
}

void op_iret(TcgCpu *c, const Insn *i)
{
    /* Any IRET ends NMI blocking, even one that faults. */
    c->env->nmi_masked = false;
    do_iret(c, i->opsize);
}

void op_int(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    if ((env->eflags & VM_MASK) && ((env->eflags & IOPL_MASK) >> 12) < 3) {
        raise_exception_err(c, EXCP_GP, 0);
    }
    raise_soft_interrupt(c, (int)(i->imm & 0xff), i->next_eip);
}

void op_int3(TcgCpu *c, const Insn *i)
{
    raise_soft_interrupt(c, EXCP_BP, i->next_eip);
}

void op_into(TcgCpu *c, const Insn *i)
{
    if (cc_compute_all(c->env) & CC_O) {
        raise_soft_interrupt(c, EXCP_OF, i->next_eip);
    }
}

void op_int1(TcgCpu *c, const Insn *i)
{
    /* ICEBP: a #DB trap (it returns after the instruction) delivered like
     * an exception, without the gate DPL check of INT n. rip already holds
     * next_eip; forgetting the instruction keeps it there. */
    c->cur_insn = NULL;
    raise_exception(c, EXCP_DB);
}

void op_bound(TcgCpu *c, const Insn *i)
{
    uint64_t la = insn_linear_access(c, i, 2 * i->opsize, false);
    unsigned size = i->opsize;
    int64_t lo = sext(ld_data(c, la, size), size);
    int64_t hi = sext(ld_data(c, la + size, size), size);
    int64_t v = sext(get_reg(c->env, i->reg, size), size);
    if (v < lo || v > hi) {
        raise_exception(c, EXCP_BR);
    }
}
