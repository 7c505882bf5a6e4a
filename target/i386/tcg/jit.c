/*
 * Host code generation for x86 TBs on x86-64 hosts (see docs/tcg.md,
 * "Host code generation").
 *
 * A TB's decoded Insn array becomes one host function (TcgHostCode). Each
 * instruction is either generated natively (register moves, ALU operations,
 * shifts by an immediate, LEA, Jcc/JMP, loads and stores through an inline
 * software-TLB hit path) or called through its semantic function with the
 * state the interpreter sets first (cur_insn, rip = next_eip), followed by
 * the interpreter's stop_tb check. Native code writes the guest registers
 * and the lazy-flags fields (cc_op/cc_dst/cc_src/cc_src2) exactly as the
 * specialised functions of fast.c do, so everything that reads them later
 * (helpers, flag materialisation, the exec loop) sees the same state.
 *
 * Registers: rbx = TcgCpu *, rbp = CPUX86State * (callee-saved, so helper
 * calls keep them), everything else is scratch. Nothing is kept in host
 * registers across guest instructions, so a helper that unwinds with
 * siglongjmp leaves no state behind: the sigsetjmp in cpu_exec_inner
 * restores its own callee-saved registers. Native instructions never
 * fault; every native memory access falls back to the semantic function
 * (which redoes the whole instruction: nothing was written yet) on a TLB
 * miss or a flagged entry, with cur_insn and rip set as the interpreter
 * does before any call.
 *
 * The generic semantic function of each instruction (from the decoder,
 * before fast.c specialises it) identifies the form; the call-threaded
 * fallback uses the specialised function.
 */
#include "target/i386/tcg/tcg-cpu.h"
#include "accel/tcg/jit.h"
#include <stddef.h>

#if defined(__x86_64__)

G_STATIC_ASSERT(sizeof(TLBEntry) == 32);
G_STATIC_ASSERT(KESTREL_PAGE_BITS == 12);
G_STATIC_ASSERT(TLB_SIZE == 256);

enum { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7 };

/* ---- assembler ---- */

typedef struct Asm {
    uint8_t *buf;
    size_t len, cap;
    /* rel32 fields that jump to the epilogue */
    size_t exits[4 * TB_MAX_INSNS + 8];
    unsigned n_exits;
    bool overflow;
} Asm;

static void b1(Asm *a, uint8_t v)
{
    if (a->len == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4096;
        a->buf = g_realloc(a->buf, a->cap);
    }
    a->buf[a->len++] = v;
}

static void b4(Asm *a, uint32_t v)
{
    for (int k = 0; k < 4; k++) {
        b1(a, (uint8_t)(v >> (8 * k)));
    }
}

static void b8(Asm *a, uint64_t v)
{
    b4(a, (uint32_t)v);
    b4(a, (uint32_t)(v >> 32));
}

static bool fits_s32(int64_t v)
{
    return v == (int32_t)v;
}

static void rex(Asm *a, bool w, int r, int x, int b)
{
    uint8_t p = 0x40 | (w ? 8 : 0) | ((r & 8) ? 4 : 0) | ((x & 8) ? 2 : 0) | ((b & 8) ? 1 : 0);
    if (p != 0x40) {
        b1(a, p);
    }
}

/* ModRM for [base + disp] (base is never rsp/r12 here: no SIB). */
static void modrm_mem(Asm *a, int reg, int base, int32_t disp)
{
    g_assert((base & 7) != RSP);
    if (disp == 0 && (base & 7) != RBP) {
        b1(a, (uint8_t)(((reg & 7) << 3) | (base & 7)));
    } else if (disp == (int8_t)disp) {
        b1(a, (uint8_t)(0x40 | ((reg & 7) << 3) | (base & 7)));
        b1(a, (uint8_t)disp);
    } else {
        b1(a, (uint8_t)(0x80 | ((reg & 7) << 3) | (base & 7)));
        b4(a, (uint32_t)disp);
    }
}

/* opcode reg, [base + disp] */
static void op_mem(Asm *a, bool w, uint8_t opc, int reg, int base, int32_t disp)
{
    rex(a, w, reg, 0, base);
    b1(a, opc);
    modrm_mem(a, reg, base, disp);
}

/* opcode rm, reg (register direct) */
static void op_rr(Asm *a, bool w, uint8_t opc, int reg, int rm)
{
    rex(a, w, reg, 0, rm);
    b1(a, opc);
    b1(a, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

/* opcode reg, [base + index + disp32] */
static void op_sib(Asm *a, bool w, uint8_t opc, int reg, int base, int index, int32_t disp)
{
    rex(a, w, reg, index, base);
    b1(a, opc);
    b1(a, (uint8_t)(0x80 | ((reg & 7) << 3) | 4));
    b1(a, (uint8_t)(((index & 7) << 3) | (base & 7)));
    b4(a, (uint32_t)disp);
}

static void mov_r_imm(Asm *a, int r, uint64_t v)
{
    if (v == (uint32_t)v) {
        rex(a, false, 0, 0, r);
        b1(a, (uint8_t)(0xb8 + (r & 7)));
        b4(a, (uint32_t)v);
    } else if (fits_s32((int64_t)v)) {
        rex(a, true, 0, 0, r);
        b1(a, 0xc7);
        b1(a, (uint8_t)(0xc0 | (r & 7)));
        b4(a, (uint32_t)v);
    } else {
        rex(a, true, 0, 0, r);
        b1(a, (uint8_t)(0xb8 + (r & 7)));
        b8(a, v);
    }
}

static void ld64(Asm *a, int r, int base, int32_t disp) { op_mem(a, true, 0x8b, r, base, disp); }
static void ld32(Asm *a, int r, int base, int32_t disp) { op_mem(a, false, 0x8b, r, base, disp); }
static void st64(Asm *a, int r, int base, int32_t disp) { op_mem(a, true, 0x89, r, base, disp); }

/* mov qword [base + disp], v (through rax when v does not fit simm32:
 * callers never hold a live value in rax then, see st_imm_scratch). */
static void st64_imm(Asm *a, int base, int32_t disp, uint64_t v, int scratch)
{
    if (fits_s32((int64_t)v)) {
        op_mem(a, true, 0xc7, 0, base, disp);
        b4(a, (uint32_t)v);
    } else {
        mov_r_imm(a, scratch, v);
        st64(a, scratch, base, disp);
    }
}

static void st32_imm(Asm *a, int base, int32_t disp, uint32_t v)
{
    op_mem(a, false, 0xc7, 0, base, disp);
    b4(a, v);
}

/* jcc rel32 / jmp rel32 with a placeholder; returns the rel32's offset. */
static size_t jcc_fwd(Asm *a, unsigned cc)
{
    b1(a, 0x0f);
    b1(a, (uint8_t)(0x80 | cc));
    b4(a, 0);
    return a->len - 4;
}

static size_t jmp_fwd(Asm *a)
{
    b1(a, 0xe9);
    b4(a, 0);
    return a->len - 4;
}

static void patch_here(Asm *a, size_t at)
{
    int32_t rel = (int32_t)(a->len - (at + 4));
    memcpy(a->buf + at, &rel, 4);
}

static void add_exit(Asm *a, size_t at)
{
    if (a->n_exits < G_N_ELEMENTS(a->exits)) {
        a->exits[a->n_exits++] = at;
    } else {
        a->overflow = true;
    }
}

static void jcc_exit(Asm *a, unsigned cc) { add_exit(a, jcc_fwd(a, cc)); }
static void jmp_exit(Asm *a) { add_exit(a, jmp_fwd(a)); }

static void call_abs(Asm *a, const void *fn)
{
    mov_r_imm(a, RAX, (uint64_t)(uintptr_t)fn);
    b1(a, 0xff);
    b1(a, 0xd0);      /* call rax */
}

/* ---- state offsets ---- */

#define ENV_REG(r)  ((int32_t)(offsetof(CPUX86State, regs) + 8 * (r)))
#define ENV_RIP     ((int32_t)offsetof(CPUX86State, rip))
#define ENV_CC_OP   ((int32_t)offsetof(CPUX86State, cc_op))
#define ENV_CC_DST  ((int32_t)offsetof(CPUX86State, cc_dst))
#define ENV_CC_SRC  ((int32_t)offsetof(CPUX86State, cc_src))
#define ENV_CC_SRC2 ((int32_t)offsetof(CPUX86State, cc_src2))
#define CPU_ENV     ((int32_t)offsetof(TcgCpu, env))
#define CPU_CUR_INSN ((int32_t)offsetof(TcgCpu, cur_insn))
#define CPU_STOP_TB ((int32_t)offsetof(TcgCpu, stop_tb))

/* ---- generation context ---- */

enum { CC_UNKNOWN = -1 };

typedef struct Gen {
    Asm a;
    const TranslationBlock *tb;
    int known_cc_op;        /* cc_op the last flag setter left, or CC_UNKNOWN */
    bool ended;             /* the last instruction left the block itself */
    bool chain;             /* direct jumps into linked successors */
    /* Guest registers cached in r12-r15 for the whole block: host_of[r] is
     * the host register or -1, valid[r] whether it holds the value now
     * (helpers may change env->regs: they drop the cache), dirty[r] whether
     * env->regs[r] is behind it (written back before every helper call,
     * which may also fault, and at every exit). */
    int8_t host_of[16];
    bool valid[16];
    bool dirty[16];
    /* The host flags still hold the flags of the previous instruction's
     * operation (same operation and size as the guest's). */
    bool host_flags_live;
    bool host_flags_live_next;
    bool write_through;     /* st_guest also updates env->regs */
    /* The arithmetic flags this instruction writes are overwritten later in
     * the block before anything can read them or fault: skip the stores. */
    bool flags_dead;
    size_t prologue_len;
    uint64_t n_native, n_helper;    /* statistics */
} Gen;

static void cache_drop_all(Gen *g)
{
    memset(g->valid, 0, sizeof(g->valid));
    memset(g->dirty, 0, sizeof(g->dirty));
}

/* Writes the dirty cached registers back to env (plain moves: the host
 * flags survive). */
static void flush_dirty(Gen *g)
{
    for (unsigned r = 0; r < 16; r++) {
        if (g->dirty[r]) {
            st64(&g->a, g->host_of[r], RBP, ENV_REG(r));
            g->dirty[r] = false;
        }
    }
}

/* Loads guest register r (size 4: zero-extended) into host register h. */
static void ld_guest(Gen *g, int h, unsigned r, unsigned size)
{
    Asm *a = &g->a;
    int hr = g->host_of[r];
    if (hr < 0) {
        if (size == 8) {
            ld64(a, h, RBP, ENV_REG(r));
        } else {
            ld32(a, h, RBP, ENV_REG(r));
        }
        return;
    }
    if (!g->valid[r]) {
        ld64(a, hr, RBP, ENV_REG(r));
        g->valid[r] = true;
    }
    op_rr(a, size == 8, 0x89, hr, h);                         /* mov h, hr */
}

/* Writes host register h (the full 64-bit value) to guest register r. */
static void st_guest(Gen *g, int h, unsigned r)
{
    Asm *a = &g->a;
    int hr = g->host_of[r];
    if (hr >= 0 && !g->write_through) {
        op_rr(a, true, 0x89, h, hr);                          /* mov hr, h */
        g->valid[r] = true;
        g->dirty[r] = true;
    } else {
        st64(a, h, RBP, ENV_REG(r));
        if (hr >= 0) {
            op_rr(a, true, 0x89, h, hr);
            g->valid[r] = true;
            g->dirty[r] = false;
        }
    }
}

/* st_guest that also updates env->regs at once (for a value written on
 * one path of a fast/slow split, see gen_mem). */
static void st_guest_through(Gen *g, int h, unsigned r)
{
    int hr = g->host_of[r];
    st64(&g->a, h, RBP, ENV_REG(r));
    if (hr >= 0) {
        op_rr(&g->a, true, 0x89, h, hr);
        g->valid[r] = true;
        g->dirty[r] = false;
    }
}

static void st_guest_imm(Gen *g, unsigned r, uint64_t v)
{
    int hr = g->host_of[r];
    if (hr >= 0) {
        mov_r_imm(&g->a, hr, v);
        g->valid[r] = true;
        g->dirty[r] = true;
    } else {
        st64_imm(&g->a, RBP, ENV_REG(r), v, RAX);
    }
}

/* Undoes the prologue's frame (before ret or a jump into the next block). */
static void gen_frame_pop(Asm *a)
{
    b1(a, 0x48); b1(a, 0x83); b1(a, 0xc4); b1(a, 8);          /* add rsp, 8 */
    b1(a, 0x41); b1(a, 0x5f);                                 /* pop r15 */
    b1(a, 0x41); b1(a, 0x5e);                                 /* pop r14 */
    b1(a, 0x41); b1(a, 0x5d);                                 /* pop r13 */
    b1(a, 0x41); b1(a, 0x5c);                                 /* pop r12 */
    b1(a, 0x5d);                                              /* pop rbp */
    b1(a, 0x5b);                                              /* pop rbx */
}

/* Picks the (up to) four guest registers the block's instructions name
 * most often for r12-r15. */
static void choose_cached_regs(Gen *g)
{
    unsigned uses[16] = { 0 };
    const TranslationBlock *tb = g->tb;
    memset(g->host_of, -1, sizeof(g->host_of));
    memset(g->valid, 0, sizeof(g->valid));
    for (uint32_t k = 0; k < tb->n_insns; k++) {
        const Insn *i = &tb->insns[k];
        if (i->reg < 16) {
            uses[i->reg]++;
        }
        if (!i->is_mem && i->rm < 16) {
            uses[i->rm]++;
        }
        if (i->is_mem && i->base < 16) {
            uses[i->base]++;
        }
        if (i->is_mem && i->index < 16) {
            uses[i->index]++;
        }
    }
    for (int h = 12; h < 16; h++) {
        unsigned best = 16, best_uses = 1;
        for (unsigned r = 0; r < 16; r++) {
            if (g->host_of[r] < 0 && uses[r] > best_uses) {
                best = r;
                best_uses = uses[r];
            }
        }
        if (best == 16) {
            break;
        }
        g->host_of[best] = (int8_t)h;
    }
}

static void set_rip(Gen *g, uint64_t v)
{
    st64_imm(&g->a, RBP, ENV_RIP, v, RAX);
}

/* The interpreter's step for one instruction: cur_insn, rip = next_eip,
 * the call, then leave the block if the instruction asked to. */
static void gen_helper(Gen *g, const Insn *i, InsnFn *fn)
{
    Asm *a = &g->a;
    flush_dirty(g);
    mov_r_imm(a, RSI, (uint64_t)(uintptr_t)i);
    st64(a, RSI, RBX, CPU_CUR_INSN);
    set_rip(g, i->next_eip);
    op_rr(a, true, 0x89, RBX, RDI);            /* mov rdi, rbx */
    call_abs(a, (const void *)fn);
    op_mem(a, false, 0x80, 7, RBX, CPU_STOP_TB);   /* cmp byte [rbx+stop_tb], 0 */
    b1(a, 0);
    jcc_exit(a, 0x5);                          /* jne exit */
    g->known_cc_op = CC_UNKNOWN;
    cache_drop_all(g);
    g->n_helper++;
}

/* ---- forms ---- */

enum { OP_ADD = 0, OP_OR = 1, OP_AND = 4, OP_SUB = 5, OP_XOR = 6, OP_CMP = 7 };

static InsnFn *const alu_rm_r[8] = {
    op_alu_rm_r_0, op_alu_rm_r_1, op_alu_rm_r_2, op_alu_rm_r_3,
    op_alu_rm_r_4, op_alu_rm_r_5, op_alu_rm_r_6, op_alu_rm_r_7,
};
static InsnFn *const alu_r_rm[8] = {
    op_alu_r_rm_0, op_alu_r_rm_1, op_alu_r_rm_2, op_alu_r_rm_3,
    op_alu_r_rm_4, op_alu_r_rm_5, op_alu_r_rm_6, op_alu_r_rm_7,
};
static InsnFn *const alu_rm_imm[8] = {
    op_alu_rm_imm_0, op_alu_rm_imm_1, op_alu_rm_imm_2, op_alu_rm_imm_3,
    op_alu_rm_imm_4, op_alu_rm_imm_5, op_alu_rm_imm_6, op_alu_rm_imm_7,
};
static InsnFn *const alu_acc_imm[8] = {
    op_alu_acc_imm_0, op_alu_acc_imm_1, op_alu_acc_imm_2, op_alu_acc_imm_3,
    op_alu_acc_imm_4, op_alu_acc_imm_5, op_alu_acc_imm_6, op_alu_acc_imm_7,
};
static InsnFn *const jcc_fns[16] = {
    op_jcc_0, op_jcc_1, op_jcc_2, op_jcc_3, op_jcc_4, op_jcc_5, op_jcc_6, op_jcc_7,
    op_jcc_8, op_jcc_9, op_jcc_10, op_jcc_11, op_jcc_12, op_jcc_13, op_jcc_14, op_jcc_15,
};

static int find_fn(InsnFn *const *table, unsigned n, InsnFn *fn)
{
    for (unsigned k = 0; k < n; k++) {
        if (table[k] == fn) {
            return (int)k;
        }
    }
    return -1;
}

static bool wide(const Insn *i)
{
    return i->opsize == 4 || i->opsize == 8;
}

/* The lazy-flags store of a two-operand ALU result in rax, second operand
 * in rcx (as fast_alu: cc_src = operand 2 for ADD/SUB, 0 for logic). */
static void gen_alu_core(Gen *g, unsigned op, unsigned size, int dst_reg)
{
    Asm *a = &g->a;
    bool w = size == 8;
    static const uint8_t opc[8] = { 0x01, 0x09, 0, 0, 0x21, 0x29, 0x31, 0x29 };
    unsigned base;

    op_rr(a, w, opc[op], RCX, RAX);          /* op eax/rax, ecx/rcx */
    if (g->flags_dead) {
        if (op != OP_CMP && dst_reg >= 0) {
            st_guest(g, RAX, (unsigned)dst_reg);
        }
        return;
    }
    switch (op) {
    case OP_ADD: base = CC_OP_ADDB; break;
    case OP_SUB: case OP_CMP: base = CC_OP_SUBB; break;
    default: base = CC_OP_LOGICB; break;
    }
    st32_imm(a, RBP, ENV_CC_OP, cc_op_sized(base, size));
    st64(a, RAX, RBP, ENV_CC_DST);
    if (base == CC_OP_LOGICB) {
        st64_imm(a, RBP, ENV_CC_SRC, 0, RDX);
    } else {
        if (!w) {
            op_rr(a, false, 0x89, RCX, RCX);     /* mov ecx, ecx: operand & m */
        }
        st64(a, RCX, RBP, ENV_CC_SRC);
    }
    st64_imm(a, RBP, ENV_CC_SRC2, 0, RDX);
    if (op != OP_CMP && dst_reg >= 0) {
        st_guest(g, RAX, (unsigned)dst_reg);
    }
    g->known_cc_op = (int)cc_op_sized(base, size);
    /* Only plain moves were emitted after the operation. */
    g->host_flags_live_next = true;
}

static bool gen_alu(Gen *g, const Insn *i, InsnFn *gfn)
{
    Asm *a = &g->a;
    int op;
    unsigned size = i->opsize;

    if (!wide(i) || (i->prefixes & PFX_LOCK)) {
        return false;
    }
    if ((op = find_fn(alu_rm_r, 8, gfn)) >= 0 && !i->is_mem) {
        if (op == 2 || op == 3) {
            return false;
        }
        ld_guest(g, RAX, i->rm, size);
        ld_guest(g, RCX, i->reg, size);
        gen_alu_core(g, (unsigned)op, size, i->rm);
        return true;
    }
    if ((op = find_fn(alu_r_rm, 8, gfn)) >= 0 && !i->is_mem) {
        if (op == 2 || op == 3) {
            return false;
        }
        ld_guest(g, RAX, i->reg, size);
        ld_guest(g, RCX, i->rm, size);
        gen_alu_core(g, (unsigned)op, size, i->reg);
        return true;
    }
    if ((op = find_fn(alu_rm_imm, 8, gfn)) >= 0 && !i->is_mem) {
        if (op == 2 || op == 3) {
            return false;
        }
        ld_guest(g, RAX, i->rm, size);
        mov_r_imm(a, RCX, size == 8 ? i->imm : (uint32_t)i->imm);
        gen_alu_core(g, (unsigned)op, size, i->rm);
        return true;
    }
    if ((op = find_fn(alu_acc_imm, 8, gfn)) >= 0) {
        if (op == 2 || op == 3) {
            return false;
        }
        ld_guest(g, RAX, R_EAX, size);
        mov_r_imm(a, RCX, size == 8 ? i->imm : (uint32_t)i->imm);
        gen_alu_core(g, (unsigned)op, size, R_EAX);
        return true;
    }
    if ((gfn == op_test_rm_r && !i->is_mem) || gfn == op_test_acc_imm ||
        (gfn == op_test_rm_imm && !i->is_mem)) {
        ld_guest(g, RAX, gfn == op_test_acc_imm ? R_EAX : i->rm, size);
        if (gfn == op_test_rm_r) {
            ld_guest(g, RCX, i->reg, size);
        } else {
            mov_r_imm(a, RCX, size == 8 ? i->imm : (uint32_t)i->imm);
        }
        gen_alu_core(g, OP_AND, size, -1);
        return true;
    }
    return false;
}

static bool gen_mov_reg(Gen *g, const Insn *i, InsnFn *gfn)
{
    Asm *a = &g->a;
    unsigned size = i->opsize;
    if (!wide(i)) {
        return false;
    }
    if (gfn == op_mov_rm_r && !i->is_mem) {
        ld_guest(g, RAX, i->reg, size);
        st_guest(g, RAX, i->rm);
        return true;
    }
    if (gfn == op_mov_r_rm && !i->is_mem) {
        ld_guest(g, RAX, i->rm, size);
        st_guest(g, RAX, i->reg);
        return true;
    }
    if ((gfn == op_mov_rm_imm && !i->is_mem) || gfn == op_mov_reg_imm) {
        unsigned r = gfn == op_mov_reg_imm ? i->reg : i->rm;
        st_guest_imm(g, r, size == 8 ? i->imm : (uint32_t)i->imm);
        return true;
    }
    if (gfn == op_movsxd_or_arpl && !i->is_mem && size == 8 && (g->tb->flags & HF_CS64)) {
        ld_guest(g, RAX, i->rm, 4);
        op_rr(a, true, 0x63, RAX, RAX);                      /* movsxd rax, eax */
        st_guest(g, RAX, i->reg);
        return true;
    }
    return false;
}

/* rax = the effective address (64-bit sum; the caller truncates). */
static void gen_ea(Gen *g, const Insn *i)
{
    Asm *a = &g->a;
    mov_r_imm(a, RAX, (uint64_t)i->disp);
    if (i->base != REG_NONE) {
        if (g->host_of[i->base] >= 0) {
            ld_guest(g, RCX, i->base, 8);
            op_rr(a, true, 0x01, RCX, RAX);                  /* add rax, rcx */
        } else {
            op_mem(a, true, 0x03, RAX, RBP, ENV_REG(i->base)); /* add rax, [base] */
        }
    }
    if (i->index != REG_NONE) {
        ld_guest(g, RCX, i->index, 8);
        if (i->scale) {
            op_rr(a, true, 0xc1, 4, RCX);                    /* shl rcx, scale */
            b1(a, i->scale);
        }
        op_rr(a, true, 0x01, RCX, RAX);                      /* add rax, rcx */
    }
}

static bool gen_lea(Gen *g, const Insn *i, InsnFn *gfn)
{
    Asm *a = &g->a;
    if (gfn != op_lea || !wide(i) || !i->is_mem || (i->addrsize != 4 && i->addrsize != 8)) {
        return false;
    }
    gen_ea(g, i);
    if (i->opsize == 4 || i->addrsize == 4) {
        op_rr(a, false, 0x89, RAX, RAX);                     /* mov eax, eax */
    }
    st_guest(g, RAX, i->reg);
    return true;
}

/* The decoder's functions for C1 /n (the sub-opcode is in Insn.sub). */
static bool is_shift_imm(InsnFn *gfn)
{
    return gfn == op_shift_rm || gfn == op_shl_imm || gfn == op_shr_imm || gfn == op_sar_imm;
}

static bool gen_shift(Gen *g, const Insn *i, InsnFn *gfn)
{
    Asm *a = &g->a;
    unsigned size = i->opsize, count;
    bool w = size == 8;
    unsigned base;

    if (!is_shift_imm(gfn) || i->is_mem || i->op != 0xc1 || !wide(i) ||
        (i->prefixes & PFX_LOCK)) {
        return false;
    }
    count = (unsigned)(i->imm & (w ? 0x3f : 0x1f));
    if (count == 0) {
        return false;
    }
    switch (i->sub) {
    case 4: case 6:     /* SHL/SAL */
        ld_guest(g, RAX, i->rm, size);
        if (count > 1) {
            op_rr(a, w, 0xc1, 4, RAX);
            b1(a, (uint8_t)(count - 1));
        }
        if (!g->flags_dead) {
            st64(a, RAX, RBP, ENV_CC_SRC);
            st64_imm(a, RBP, ENV_CC_SRC2, 0, RDX);
        }
        op_rr(a, w, 0xc1, 4, RAX);
        b1(a, 1);
        base = CC_OP_SHLB;
        break;
    case 5:             /* SHR */
        ld_guest(g, RAX, i->rm, size);
        if (!g->flags_dead) {
            st64(a, RAX, RBP, ENV_CC_SRC2);
            op_rr(a, true, 0x89, RAX, RCX);                  /* mov rcx, rax */
            if (count > 1) {
                op_rr(a, true, 0xc1, 5, RCX);
                b1(a, (uint8_t)(count - 1));
            }
            st64(a, RCX, RBP, ENV_CC_SRC);
        }
        op_rr(a, true, 0xc1, 5, RAX);
        b1(a, (uint8_t)count);
        base = CC_OP_SHRB;
        break;
    case 7:             /* SAR */
        ld_guest(g, RAX, i->rm, size);
        if (!w) {
            op_rr(a, true, 0x63, RAX, RAX);                  /* movsxd rax, eax */
        }
        if (!g->flags_dead) {
            op_rr(a, true, 0x89, RAX, RCX);
            if (count > 1) {
                op_rr(a, true, 0xc1, 7, RCX);
                b1(a, (uint8_t)(count - 1));
            }
            st64(a, RCX, RBP, ENV_CC_SRC);
            st64_imm(a, RBP, ENV_CC_SRC2, 0, RDX);
        }
        op_rr(a, true, 0xc1, 7, RAX);
        b1(a, (uint8_t)count);
        if (!w) {
            op_rr(a, false, 0x89, RAX, RAX);                 /* mov eax, eax */
        }
        base = CC_OP_SARB;
        break;
    default:
        return false;
    }
    if (!g->flags_dead) {
        st32_imm(a, RBP, ENV_CC_OP, cc_op_sized(base, size));
        st64(a, RAX, RBP, ENV_CC_DST);
        g->known_cc_op = (int)cc_op_sized(base, size);
    }
    st_guest(g, RAX, i->rm);
    return true;
}

static bool gen_flags_for_cc(Gen *g, unsigned cc);
static unsigned gen_cond(Gen *g, unsigned cc);

static bool jit_cc_test(CPUX86State *env, unsigned cc)
{
    return cc_test(env, cc);
}

/* ---- block chaining ----
 * A block that leaves through a fixed successor already linked by the
 * exec loop (jmp_dest) enters it directly, after the same checks the loop
 * makes at every block boundary: exit_request, interrupt_request, flush
 * requests, A20, the TB-flush request, halted, -d exec/cpu logging, and the
 * link's validity. Only 64-bit code blocks chain (no CS-limit checks), and
 * the loop reads c->cur_tb afterwards to know which block ran last. */

#define TB_FIELD(f) ((int32_t)offsetof(TranslationBlock, f))

static void gen_enter_next(Gen *g);

static void gen_goto_tb(Gen *g, uint64_t target)
{
    Asm *a = &g->a;
    const TranslationBlock *tb = g->tb;
    int slot = target == tb->jmp_eip[0] ? 0 : target == tb->jmp_eip[1] ? 1 : -1;

    if (slot < 0 || !(tb->flags & HF_CS64) || (tb->cflags & TB_NOCHAIN) || !g->chain) {
        jmp_exit(a);
        return;
    }
    mov_r_imm(a, RAX, (uint64_t)(uintptr_t)&tb->jmp_dest[slot]);
    ld64(a, RAX, RAX, 0);                                     /* next = jmp_dest[slot] */
    gen_enter_next(g);
}

/* rax = the next TB (or NULL): the exec loop's boundary checks, then a
 * jump into its code (or to the epilogue). */
static void gen_enter_next(Gen *g)
{
    Asm *a = &g->a;
    op_rr(a, true, 0x85, RAX, RAX);
    jcc_exit(a, 0x4);                                         /* NULL */
    op_mem(a, false, 0x80, 7, RAX, TB_FIELD(invalid));        /* cmp byte [next.invalid], 0 */
    b1(a, 0);
    jcc_exit(a, 0x5);
    ld64(a, RCX, RBX, (int32_t)offsetof(TcgCpu, cs));
    op_mem(a, false, 0x83, 7, RCX, (int32_t)offsetof(CPUState, exit_request));
    b1(a, 0);
    jcc_exit(a, 0x5);
    op_mem(a, false, 0x83, 7, RCX, (int32_t)offsetof(CPUState, interrupt_request));
    b1(a, 0);
    jcc_exit(a, 0x5);
    op_mem(a, false, 0x83, 7, RBX, (int32_t)offsetof(TcgCpu, flush_request));
    b1(a, 0);
    jcc_exit(a, 0x5);
    op_mem(a, false, 0x80, 7, RBX, (int32_t)offsetof(TcgCpu, tb_flush_wanted));
    b1(a, 0);
    jcc_exit(a, 0x5);
    op_mem(a, false, 0x80, 7, RBP, (int32_t)offsetof(CPUX86State, halted));
    b1(a, 0);
    jcc_exit(a, 0x5);
    rex(a, false, RDX, 0, RBP);                               /* movzx edx, byte [a20] */
    b1(a, 0x0f); b1(a, 0xb6);
    modrm_mem(a, RDX, RBP, (int32_t)offsetof(CPUX86State, a20_enabled));
    op_mem(a, false, 0x3a, RDX, RBX, (int32_t)offsetof(TcgCpu, last_a20)); /* cmp dl, [..] */
    jcc_exit(a, 0x5);
    mov_r_imm(a, RDX, (uint64_t)(uintptr_t)&kestrel_log_mask);
    op_mem(a, false, 0xf7, 0, RDX, 0);                        /* test dword [rdx], imm */
    b4(a, LOG_EXEC | LOG_CPU);
    jcc_exit(a, 0x5);
    ld64(a, RDX, RAX, TB_FIELD(host_code));
    op_rr(a, true, 0x85, RDX, RDX);
    jcc_exit(a, 0x4);
    /* What the loop does before running a block. */
    st32_imm(a, RBP, (int32_t)offsetof(CPUX86State, interrupt_shadow), 0);
    st64(a, RAX, RBX, (int32_t)offsetof(TcgCpu, cur_tb));
    /* Every block starts with the same prologue: enter the next one
     * right after it, in this block's frame (rbx and rbp are the same). */
    op_rr(a, true, 0x83, 0, RDX);                             /* add rdx, prologue */
    b1(a, (uint8_t)g->prologue_len);
    b1(a, 0xff); b1(a, 0xe2);                                 /* jmp rdx */
}

/* ---- more register forms ---- */

static bool gen_misc(Gen *g, const Insn *i, InsnFn *gfn)
{
    Asm *a = &g->a;
    unsigned size = i->opsize;
    bool w = size == 8;

    if (!wide(i) || (i->prefixes & PFX_LOCK)) {
        return false;
    }
    /* IMUL Gv, Ev / IMUL Gv, Ev, imm (register source). */
    if ((gfn == op_imul_r_rm || gfn == op_imul_r_rm_imm) && !i->is_mem) {
        if (gfn == op_imul_r_rm) {
            ld_guest(g, RAX, i->reg, size);
            ld_guest(g, RCX, i->rm, size);
        } else {
            ld_guest(g, RAX, i->rm, size);
            mov_r_imm(a, RCX, w ? i->imm : (uint32_t)i->imm);
        }
        rex(a, w, RAX, 0, RCX);                               /* imul rax, rcx */
        b1(a, 0x0f); b1(a, 0xaf); b1(a, 0xc1);
        b1(a, 0x0f); b1(a, 0x90); b1(a, 0xc2);                /* seto dl */
        b1(a, 0x0f); b1(a, 0xb6); b1(a, 0xd2);                /* movzx edx, dl */
        st_guest(g, RAX, i->reg);
        if (!g->flags_dead) {
            st32_imm(a, RBP, ENV_CC_OP, cc_op_sized(CC_OP_MULB, size));
            st64(a, RAX, RBP, ENV_CC_DST);
            st64(a, RDX, RBP, ENV_CC_SRC);
            g->known_cc_op = (int)cc_op_sized(CC_OP_MULB, size);
        }
        return true;
    }
    /* CMOVcc Gv, Ev (register source); 32-bit always zero-extends. */
    if (gfn == op_cmovcc && !i->is_mem) {
        unsigned cc = gen_cond(g, i->op & 15);
        ld_guest(g, RAX, i->reg, size);
        ld_guest(g, RDX, i->rm, size);
        rex(a, true, RAX, 0, RDX);                            /* cmovcc rax, rdx */
        b1(a, 0x0f); b1(a, (uint8_t)(0x40 | cc)); b1(a, 0xc2);
        st_guest(g, RAX, i->reg);
        return true;
    }
    /* ROL/ROR by an immediate whose flags fast.c found dead (it then
     * replaced the generic function): the result only. */
    if (gfn == op_shift_rm && i->fn != gfn && !i->is_mem && i->op == 0xc1 &&
        (i->sub == 0 || i->sub == 1) && (i->imm & (w ? 0x3f : 0x1f)) != 0) {
        ld_guest(g, RAX, i->rm, size);
        op_rr(a, w, 0xc1, i->sub, RAX);                       /* rol/ror eax/rax, n */
        b1(a, (uint8_t)(i->imm & (w ? 0x3f : 0x1f)));
        st_guest(g, RAX, i->rm);
        return true;
    }
    /* INC/DEC r (32/64-bit): CF is kept in cc_src. */
    if (gfn == op_inc_dec_reg || (gfn == op_inc_dec_rm && !i->is_mem)) {
        unsigned r = gfn == op_inc_dec_reg ? i->reg : i->rm;
        unsigned base = i->sub == 0 ? CC_OP_INCB : CC_OP_DECB;
        if (i->sub > 1) {
            return false;
        }
        if (gen_flags_for_cc(g, 2)) {
            b1(a, 0x0f); b1(a, 0x92); b1(a, 0xc2);            /* setb dl */
            b1(a, 0x0f); b1(a, 0xb6); b1(a, 0xd2);            /* movzx edx, dl */
        } else {
            op_rr(a, true, 0x89, RBP, RDI);
            call_abs(a, (const void *)cc_compute_c);
            op_rr(a, false, 0x89, RAX, RDX);                  /* mov edx, eax */
        }
        ld_guest(g, RAX, r, size);
        op_rr(a, w, 0xff, i->sub, RAX);                       /* inc/dec eax/rax */
        st_guest(g, RAX, r);
        st32_imm(a, RBP, ENV_CC_OP, cc_op_sized(base, size));
        st64(a, RAX, RBP, ENV_CC_DST);
        st64(a, RDX, RBP, ENV_CC_SRC);
        st64_imm(a, RBP, ENV_CC_SRC2, 0, RCX);
        g->known_cc_op = (int)cc_op_sized(base, size);
        return true;
    }
    /* CDQE / CWDE. */
    if (gfn == op_cbw) {
        ld_guest(g, RAX, R_EAX, 8);
        if (w) {
            op_rr(a, true, 0x63, RAX, RAX);                   /* movsxd rax, eax */
        } else {
            b1(a, 0x0f); b1(a, 0xbf); b1(a, 0xc0);            /* movsx eax, ax */
        }
        st_guest(g, RAX, R_EAX);
        return true;
    }
    return false;
}

/* ---- branches ---- */

/* Sets the host flags so that host condition cc equals the guest's, or
 * returns false (then al holds the outcome of cc_test instead). */
/* op reg, rm at an operand size (1, 2, 4, 8) on host registers < 4. */
static void op_rr_sized(Asm *a, unsigned size, uint8_t opc, int reg, int rm)
{
    if (size == 1) {
        op_rr(a, false, (uint8_t)(opc - 1), reg, rm);      /* the byte form */
        return;
    }
    if (size == 2) {
        b1(a, 0x66);
    }
    op_rr(a, size == 8, opc, reg, rm);
}

static bool gen_flags_for_cc(Gen *g, unsigned cc)
{
    Asm *a = &g->a;
    int op = g->known_cc_op;
    (void)cc;
    if (op >= CC_OP_SUBB && op <= CC_OP_SUBQ) {
        unsigned size = 1u << (op - CC_OP_SUBB);
        /* a = dst + src; cmp a, src gives every flag of a - src. */
        ld64(a, RAX, RBP, ENV_CC_DST);
        ld64(a, RCX, RBP, ENV_CC_SRC);
        op_rr(a, true, 0x01, RCX, RAX);                      /* add rax, rcx */
        op_rr_sized(a, size, 0x39, RCX, RAX);                /* cmp a, src */
        return true;
    }
    if (op >= CC_OP_ADDB && op <= CC_OP_ADDQ) {
        unsigned size = 1u << (op - CC_OP_ADDB);
        ld64(a, RAX, RBP, ENV_CC_DST);
        ld64(a, RCX, RBP, ENV_CC_SRC);
        op_rr(a, true, 0x29, RCX, RAX);                      /* sub rax, rcx */
        op_rr_sized(a, size, 0x01, RCX, RAX);                /* add a, src */
        return true;
    }
    if (op >= CC_OP_LOGICB && op <= CC_OP_LOGICQ) {
        unsigned size = 1u << (op - CC_OP_LOGICB);
        ld64(a, RAX, RBP, ENV_CC_DST);
        op_rr_sized(a, size, 0x85, RAX, RAX);                /* test r, r */
        return true;
    }
    return false;
}

/* Host flags (or al through cc_test) for guest condition cc; returns the
 * host condition to test. */
static unsigned gen_cond(Gen *g, unsigned cc)
{
    Asm *a = &g->a;
    if (g->host_flags_live) {
        return cc;
    }
    if (gen_flags_for_cc(g, cc)) {
        return cc;
    }
    op_rr(a, true, 0x89, RBP, RDI);                          /* mov rdi, rbp */
    mov_r_imm(a, RSI, cc);
    call_abs(a, (const void *)jit_cc_test);
    b1(a, 0x84);                                              /* test al, al */
    b1(a, 0xc0);
    return 0x5;                                               /* jne/setne/cmovne */
}

static void gen_jcc(Gen *g, const Insn *i, unsigned cc)
{
    Asm *a = &g->a;
    size_t not_taken;
    flush_dirty(g);
    not_taken = jcc_fwd(a, gen_cond(g, cc) ^ 1);
    set_rip(g, i->imm);
    gen_goto_tb(g, i->imm);
    patch_here(a, not_taken);
    set_rip(g, i->next_eip);
    gen_goto_tb(g, i->next_eip);
    g->ended = true;
}

/* ---- memory through the inline TLB ---- */

static int tb_mmu(const TranslationBlock *tb)
{
    if ((tb->flags & HF_CPL_MASK) == 3) {
        return MMU_IDX_USER;
    }
    return (tb->flags & HF_SMAP_AC) ? MMU_IDX_KERNEL_AC : MMU_IDX_KERNEL;
}

/* A memory operand the inline path can take: 64-bit code, 64-bit
 * addressing, a flat segment, no per-access checks. */
static bool flat64_mem(const Gen *g, const Insn *i)
{
    return (g->tb->flags & HF_CS64) && i->is_mem && i->addrsize == 8 && i->seg < R_FS &&
           !(i->prefixes & PFX_LOCK) && !(g->tb->flags & (HF_ALIGN_CHECK | HF_DATA_BP));
}

/* rax = guest linear address -> rax = host address, or a jump to the
 * returned fixup (the slow path) on a miss, a flagged entry or a
 * page-crossing access. */
static size_t gen_tlb_lookup(Gen *g, unsigned size, bool write)
{
    Asm *a = &g->a;
    int32_t base = (int32_t)(offsetof(TcgCpu, tlb) +
                             (size_t)tb_mmu(g->tb) * TLB_SIZE * sizeof(TLBEntry));
    int32_t tag = base + (int32_t)(write ? offsetof(TLBEntry, addr_write)
                                         : offsetof(TLBEntry, addr_read));
    size_t miss;

    op_rr(a, true, 0x89, RAX, RCX);                          /* mov rcx, rax */
    op_rr(a, true, 0xc1, 5, RCX);                            /* shr rcx, 7 */
    b1(a, 7);
    op_rr(a, false, 0x81, 4, RCX);                           /* and ecx, 0x1fe0 */
    b4(a, (TLB_SIZE - 1) * sizeof(TLBEntry));
    op_mem(a, true, 0x8d, RDX, RAX, (int32_t)size - 1);      /* lea rdx, [rax+size-1] */
    op_rr(a, true, 0x81, 4, RDX);                            /* and rdx, -4096 */
    b4(a, (uint32_t)KESTREL_PAGE_MASK);
    op_sib(a, true, 0x3b, RDX, RBX, RCX, tag);               /* cmp rdx, [rbx+rcx+tag] */
    miss = jcc_fwd(a, 0x5);
    op_sib(a, true, 0x03, RAX, RBX, RCX,                     /* add rax, [..addend] */
           base + (int32_t)offsetof(TLBEntry, addend));
    return miss;
}

static bool gen_mem(Gen *g, const Insn *i, InsnFn *gfn, InsnFn *fn)
{
    Asm *a = &g->a;
    unsigned size = i->opsize, r = i->reg;
    bool store;
    size_t miss, done;
    bool valid_before[16], dirty_before[16];
    enum { LD, LDZX, LDSX, ST_REG, ST_IMM, ALU_R_MEM, CMP_MEM_IMM, CMP_MEM_R } kind;
    int alu_op = -1;

    if (!flat64_mem(g, i)) {
        return false;
    }
    if ((alu_op = find_fn(alu_r_rm, 8, gfn)) >= 0 && alu_op != 2 && alu_op != 3 && wide(i)) {
        kind = ALU_R_MEM;
    } else if (gfn == op_alu_rm_imm_7) {
        kind = CMP_MEM_IMM;
    } else if (gfn == op_alu_rm_r_7 && (wide(i) || r < REG_HIGH_BYTE)) {
        kind = CMP_MEM_R;
    } else if (gfn == op_mov_r_rm && wide(i)) {
        kind = LD;
    } else if ((gfn == op_movzx || gfn == op_movsx) && wide(i) && (i->sub == 1 || i->sub == 2)) {
        kind = gfn == op_movzx ? LDZX : LDSX;
    } else if (gfn == op_mov_rm_r && (wide(i) || r < REG_HIGH_BYTE)) {
        kind = ST_REG;
    } else if (gfn == op_mov_rm_imm) {
        kind = ST_IMM;
    } else {
        return false;
    }
    /* Whether no guest register is written (for the merge below). */
    store = kind == ST_REG || kind == ST_IMM || kind == CMP_MEM_IMM || kind == CMP_MEM_R ||
            (kind == ALU_R_MEM && alu_op == OP_CMP);

    gen_ea(g, i);
    miss = gen_tlb_lookup(g, (kind == LDZX || kind == LDSX) ? i->sub : size,
                          kind == ST_REG || kind == ST_IMM);
    /* The cache state both paths share (the fast path may add to it). */
    memcpy(valid_before, g->valid, sizeof(valid_before));
    memcpy(dirty_before, g->dirty, sizeof(dirty_before));
    switch (kind) {
    case ALU_R_MEM:
        /* reg op= [mem]; the register is written through to env (the
         * slow path writes env->regs). */
        op_mem(a, size == 8, 0x8b, RCX, RAX, 0);             /* mov ecx/rcx, [rax] */
        ld_guest(g, RAX, r, size);
        g->write_through = true;
        gen_alu_core(g, (unsigned)alu_op, size, (int)r);
        g->write_through = false;
        break;
    case CMP_MEM_IMM:
    case CMP_MEM_R:
        /* CMP [mem], imm/reg at any size (as fast_cmp_flags). */
        switch (size) {
        case 1: b1(a, 0x0f); b1(a, 0xb6); modrm_mem(a, RAX, RAX, 0); break;
        case 2: b1(a, 0x0f); b1(a, 0xb7); modrm_mem(a, RAX, RAX, 0); break;
        default: op_mem(a, size == 8, 0x8b, RAX, RAX, 0); break;
        }
        if (kind == CMP_MEM_IMM) {
            mov_r_imm(a, RCX, i->imm & size_mask(size));
        } else {
            ld_guest(g, RCX, r, size == 8 ? 8 : 4);
            if (size < 4) {
                b1(a, 0x0f); b1(a, size == 1 ? 0xb6 : 0xb7); b1(a, 0xc9); /* movzx ecx, cl/cx */
            }
        }
        op_rr(a, true, 0x29, RCX, RAX);                      /* sub rax, rcx */
        switch (size) {
        case 1: b1(a, 0x0f); b1(a, 0xb6); b1(a, 0xc0); break; /* movzx eax, al */
        case 2: b1(a, 0x0f); b1(a, 0xb7); b1(a, 0xc0); break; /* movzx eax, ax */
        case 4: op_rr(a, false, 0x89, RAX, RAX); break;        /* mov eax, eax */
        default: break;
        }
        st32_imm(a, RBP, ENV_CC_OP, cc_op_sized(CC_OP_SUBB, size));
        st64(a, RAX, RBP, ENV_CC_DST);
        st64(a, RCX, RBP, ENV_CC_SRC);
        st64_imm(a, RBP, ENV_CC_SRC2, 0, RDX);
        g->known_cc_op = (int)cc_op_sized(CC_OP_SUBB, size);
        break;
    case LD:
        op_mem(a, size == 8, 0x8b, RAX, RAX, 0);             /* mov eax/rax, [rax] */
        st_guest_through(g, RAX, r);
        break;
    case LDZX:
    case LDSX:
        rex(a, kind == LDSX && size == 8, RAX, 0, RAX);
        b1(a, 0x0f);
        b1(a, (uint8_t)((kind == LDZX ? 0xb6 : 0xbe) + (i->sub == 2)));
        modrm_mem(a, RAX, RAX, 0);
        st_guest_through(g, RAX, r);
        break;
    default:
        if (kind == ST_REG) {
            ld_guest(g, RCX, r, 8);
        } else {
            mov_r_imm(a, RCX, i->imm);
        }
        switch (size) {
        case 1: op_mem(a, false, 0x88, RCX, RAX, 0); break;
        case 2: b1(a, 0x66); op_mem(a, false, 0x89, RCX, RAX, 0); break;
        case 4: op_mem(a, false, 0x89, RCX, RAX, 0); break;
        default: op_mem(a, true, 0x89, RCX, RAX, 0); break;
        }
        break;
    }
    done = jmp_fwd(a);
    patch_here(a, miss);
    /* The slow path starts from the state before the fast path. */
    memcpy(g->valid, valid_before, sizeof(valid_before));
    memcpy(g->dirty, dirty_before, sizeof(dirty_before));
    {
        /* The semantic function redoes the whole access (TLB fill, #PF,
         * MMIO, dirty tracking); the lazy flags are untouched either way. */
        int keep = g->known_cc_op;   /* the fast path's (same as the helper's) */
        gen_helper(g, i, fn);
        g->known_cc_op = keep;
        g->n_helper--;
    }
    patch_here(a, done);
    /* Both paths: the registers valid before; those dirty before are
     * still dirty on the fast path (writing them back twice is harmless);
     * a loaded register is current in env->regs on both. */
    memcpy(g->valid, valid_before, sizeof(valid_before));
    memcpy(g->dirty, dirty_before, sizeof(dirty_before));
    if (!store) {
        g->valid[r] = false;
        g->dirty[r] = false;
    }
    if (kind == ALU_R_MEM || kind == CMP_MEM_IMM || kind == CMP_MEM_R) {
        /* Both paths leave the same lazy flags; only the fast path has
         * them in the host flags. */
        g->host_flags_live_next = false;
    }
    return true;
}

/* ---- the block ---- */

/* ---- flag liveness ---- */

enum { FE_READS, FE_NEUTRAL, FE_WRITES_ALL };

/* How a natively generated instruction treats the arithmetic flags. Only
 * register forms that cannot fault count as writers or neutral (a fault
 * shows the flags to the exception handler); anything else, including
 * every helper call, counts as a reader. Must match the generators. */
static int flag_effect(const TranslationBlock *tb, const Insn *i, InsnFn *gfn)
{
    bool reg = !i->is_mem, w8 = i->opsize == 8;
    int op;

    if (!wide(i) || (i->prefixes & PFX_LOCK)) {
        return FE_READS;
    }
    if (reg && ((op = find_fn(alu_rm_r, 8, gfn)) >= 0 || (op = find_fn(alu_r_rm, 8, gfn)) >= 0 ||
                (op = find_fn(alu_rm_imm, 8, gfn)) >= 0)) {
        return op == 2 || op == 3 ? FE_READS : FE_WRITES_ALL;
    }
    if ((op = find_fn(alu_acc_imm, 8, gfn)) >= 0) {
        return op == 2 || op == 3 ? FE_READS : FE_WRITES_ALL;
    }
    if (((gfn == op_test_rm_r || gfn == op_test_rm_imm) && reg) || gfn == op_test_acc_imm) {
        return FE_WRITES_ALL;
    }
    if ((gfn == op_imul_r_rm || gfn == op_imul_r_rm_imm) && reg) {
        return FE_WRITES_ALL;
    }
    if (is_shift_imm(gfn) && reg && i->op == 0xc1 && (i->imm & (w8 ? 0x3f : 0x1f)) != 0) {
        if (i->sub >= 4) {
            return FE_WRITES_ALL;
        }
        if ((i->sub == 0 || i->sub == 1) && i->fn != gfn) {
            return FE_NEUTRAL;      /* fast.c's result-only rotate */
        }
        return FE_READS;
    }
    if (((gfn == op_mov_rm_r || gfn == op_mov_r_rm || gfn == op_mov_rm_imm) && reg) ||
        gfn == op_mov_reg_imm || gfn == op_cbw) {
        return FE_NEUTRAL;
    }
    if (gfn == op_lea && i->is_mem && (i->addrsize == 4 || i->addrsize == 8)) {
        return FE_NEUTRAL;
    }
    if (gfn == op_movsxd_or_arpl && reg && w8 && (tb->flags & HF_CS64)) {
        return FE_NEUTRAL;
    }
    return FE_READS;
}

/* JMP r/m64 in 64-bit code: the target (through the inline TLB for a
 * memory operand; a miss runs the semantic function and returns to the
 * loop), then the successor from the jump cache as jmp_cache_peek finds it
 * (same pc, CS base and flags). */
static void gen_lookup_and_enter(Gen *g);

static bool gen_jmp_indirect(Gen *g, const Insn *i, InsnFn *gfn, InsnFn *fn)
{
    Asm *a = &g->a;
    const TranslationBlock *tb = g->tb;

    if (gfn != op_jmp_rm || i->opsize != 8 || !(tb->flags & HF_CS64) ||
        (tb->cflags & TB_NOCHAIN) || (i->is_mem && !flat64_mem(g, i))) {
        return false;
    }
    flush_dirty(g);
    if (i->is_mem) {
        size_t miss, done;
        gen_ea(g, i);
        miss = gen_tlb_lookup(g, 8, false);
        ld64(a, RAX, RAX, 0);
        done = jmp_fwd(a);
        patch_here(a, miss);
        gen_helper(g, i, fn);
        g->n_helper--;
        jmp_exit(a);
        patch_here(a, done);
    } else {
        ld_guest(g, RAX, i->rm, 8);
    }
    st64(a, RAX, RBP, ENV_RIP);
    gen_lookup_and_enter(g);
    g->ended = true;
    return true;
}

/* rax = the new rip (already stored): the successor from the jump cache
 * as jmp_cache_peek finds it (same pc, CS base and flags), entered after
 * the loop's checks; else back to the loop. */
static void gen_lookup_and_enter(Gen *g)
{
    Asm *a = &g->a;
    const TranslationBlock *tb = g->tb;
    if (!g->chain || !(tb->flags & HF_CS64) || (tb->cflags & TB_NOCHAIN)) {
        jmp_exit(a);
        return;
    }
    /* rcx = tb_jmp_cache_hash(rax) */
    op_rr(a, true, 0x89, RAX, RCX);                           /* mov rcx, rax */
    op_rr(a, true, 0xc1, 5, RCX); b1(a, KESTREL_PAGE_BITS);   /* shr rcx, 12: page */
    op_rr(a, true, 0x89, RCX, RDX);                           /* mov rdx, rcx */
    op_rr(a, true, 0xc1, 5, RDX); b1(a, JMP_CACHE_BITS / 2);  /* shr rdx, 6 */
    op_rr(a, true, 0x31, RDX, RCX);                           /* xor rcx, rdx */
    op_rr(a, false, 0x83, 4, RCX); b1(a, (1u << (JMP_CACHE_BITS / 2)) - 1);
    op_rr(a, false, 0xc1, 4, RCX); b1(a, JMP_CACHE_BITS / 2); /* shl ecx, 6 */
    op_rr(a, true, 0x89, RAX, RDX);                           /* mov rdx, rax */
    op_rr(a, true, 0xc1, 5, RDX); b1(a, JMP_CACHE_BITS / 2);  /* shr rdx, 6 */
    op_rr(a, true, 0x31, RAX, RDX);                           /* xor rdx, rax */
    op_rr(a, false, 0x83, 4, RDX); b1(a, (1u << (JMP_CACHE_BITS / 2)) - 1);
    op_rr(a, false, 0x09, RDX, RCX);                          /* or ecx, edx */
    /* rdx = c->jmp_cache[rcx] */
    rex(a, true, RDX, RCX, RBX);
    b1(a, 0x8b);
    b1(a, (uint8_t)(0x80 | ((RDX & 7) << 3) | 4));
    b1(a, (uint8_t)(0xc0 | ((RCX & 7) << 3) | (RBX & 7)));   /* SIB: scale 8 */
    b4(a, (uint32_t)offsetof(TcgCpu, jmp_cache));
    op_rr(a, true, 0x85, RDX, RDX);
    jcc_exit(a, 0x4);
    op_mem(a, true, 0x3b, RAX, RDX, TB_FIELD(pc));            /* cmp rax, [next.pc] */
    jcc_exit(a, 0x5);
    mov_r_imm(a, RCX, tb->cs_base);
    op_mem(a, true, 0x3b, RCX, RDX, TB_FIELD(cs_base));
    jcc_exit(a, 0x5);
    op_mem(a, false, 0x81, 7, RDX, TB_FIELD(flags));          /* cmp dword [next.flags], imm */
    b4(a, tb->flags);
    jcc_exit(a, 0x5);
    op_rr(a, true, 0x89, RDX, RAX);                           /* mov rax, rdx */
    gen_enter_next(g);
}

/* PUSH/POP r64, CALL rel32 and RET in 64-bit code: the stack access
 * through the inline TLB (SS is flat; a non-canonical RSP never hits), a
 * miss runs the semantic function. RSP and the popped register are
 * written through to env so both paths leave the same state. */
static bool gen_stack(Gen *g, const Insn *i, InsnFn *gfn, InsnFn *fn)
{
    Asm *a = &g->a;
    const TranslationBlock *tb = g->tb;
    bool push, valid_before[16], dirty_before[16];
    size_t miss, done;
    enum { PUSH_REG, POP_REG, CALL_REL, RET } kind;

    if (!(tb->flags & HF_CS64) || i->opsize != 8 || (i->prefixes & PFX_LOCK) ||
        (tb->flags & (HF_ALIGN_CHECK | HF_DATA_BP))) {
        return false;
    }
    if (gfn == op_push_reg && i->reg < 16) {
        kind = PUSH_REG;
    } else if (gfn == op_pop_reg && i->reg < 16) {
        kind = POP_REG;
    } else if (gfn == op_call_rel) {
        kind = CALL_REL;
    } else if (gfn == op_ret && (i->imm & 0xffff) == 0) {
        kind = RET;
    } else {
        return false;
    }
    push = kind == PUSH_REG || kind == CALL_REL;
    if (kind == CALL_REL || kind == RET) {
        flush_dirty(g);
    }
    ld_guest(g, RAX, R_ESP, 8);
    if (push) {
        op_rr(a, true, 0x83, 5, RAX);                         /* sub rax, 8 */
        b1(a, 8);
    }
    op_rr(a, true, 0x89, RAX, RSI);                           /* mov rsi, rax */
    miss = gen_tlb_lookup(g, 8, push);
    memcpy(valid_before, g->valid, sizeof(valid_before));
    memcpy(dirty_before, g->dirty, sizeof(dirty_before));
    if (kind == PUSH_REG) {
        ld_guest(g, RCX, i->reg, 8);
    } else if (kind == CALL_REL) {
        mov_r_imm(a, RCX, i->next_eip);
    }
    if (push) {
        st64(a, RCX, RAX, 0);                                 /* mov [rax], rcx */
    } else {
        ld64(a, RAX, RAX, 0);                                 /* mov rax, [rax] */
        op_rr(a, true, 0x83, 0, RSI);                         /* add rsi, 8 */
        b1(a, 8);
    }
    st_guest_through(g, RSI, R_ESP);
    if (kind == POP_REG) {
        st_guest_through(g, RAX, i->reg);
    }
    done = jmp_fwd(a);
    patch_here(a, miss);
    memcpy(g->valid, valid_before, sizeof(valid_before));
    memcpy(g->dirty, dirty_before, sizeof(dirty_before));
    gen_helper(g, i, fn);
    g->n_helper--;
    if (kind == CALL_REL || kind == RET) {
        jmp_exit(a);            /* the helper set rip */
    }
    patch_here(a, done);
    memcpy(g->valid, valid_before, sizeof(valid_before));
    memcpy(g->dirty, dirty_before, sizeof(dirty_before));
    g->valid[R_ESP] = g->dirty[R_ESP] = false;
    if (kind == POP_REG) {
        g->valid[i->reg] = g->dirty[i->reg] = false;
    }
    if (kind == CALL_REL) {
        set_rip(g, i->imm);
        gen_goto_tb(g, i->imm);
        g->ended = true;
    } else if (kind == RET) {
        st64(a, RAX, RBP, ENV_RIP);
        gen_lookup_and_enter(g);
        g->ended = true;
    }
    return true;
}

static bool gen_native(Gen *g, const Insn *i, InsnFn *gfn, InsnFn *fn)
{
    int cc;
    if (gen_mov_reg(g, i, gfn) || gen_alu(g, i, gfn) || gen_lea(g, i, gfn) ||
        gen_shift(g, i, gfn) || gen_misc(g, i, gfn) || gen_mem(g, i, gfn, fn)) {
        return true;
    }
    if ((cc = find_fn(jcc_fns, 16, gfn)) >= 0) {
        gen_jcc(g, i, (unsigned)cc);
        return true;
    }
    if (gen_jmp_indirect(g, i, gfn, fn) || gen_stack(g, i, gfn, fn)) {
        return true;
    }
    if (gfn == op_jmp_rel) {
        flush_dirty(g);
        set_rip(g, i->imm);
        gen_goto_tb(g, i->imm);
        g->ended = true;
        return true;
    }
    return false;
}

static TcgHostCode *jit_compile(TranslationBlock *tb, InsnFn *const *generic)
{
    Gen g = { .tb = tb, .known_cc_op = CC_UNKNOWN, .chain = true };
    Asm *a = &g.a;
    bool fused = tb->n_exec < tb->n_insns;
    bool last_native = false;
    bool dead_after[TB_MAX_INSNS + 1];
    void *code;

    choose_cached_regs(&g);
    /* Prologue: six pushes and 8 bytes keep calls 16-byte aligned. */
    b1(a, 0x53);                                              /* push rbx */
    b1(a, 0x55);                                              /* push rbp */
    b1(a, 0x41); b1(a, 0x54);                                 /* push r12 */
    b1(a, 0x41); b1(a, 0x55);                                 /* push r13 */
    b1(a, 0x41); b1(a, 0x56);                                 /* push r14 */
    b1(a, 0x41); b1(a, 0x57);                                 /* push r15 */
    b1(a, 0x48); b1(a, 0x83); b1(a, 0xec); b1(a, 8);          /* sub rsp, 8 */
    op_rr(a, true, 0x89, RDI, RBX);                           /* mov rbx, rdi */
    ld64(a, RBP, RBX, CPU_ENV);                               /* mov rbp, [rbx+env] */
    g.prologue_len = a->len;
    g_assert(g.prologue_len < 0x80);

    /* Backwards: are the flags live after instruction k? (They are at the
     * end of the block.) */
    {
        bool live = true;
        for (uint32_t k = tb->n_insns; k-- > 0;) {
            int fe = flag_effect(tb, &tb->insns[k], generic[k]);
            dead_after[k] = !live;
            if (fe == FE_WRITES_ALL) {
                live = false;
            } else if (fe == FE_READS) {
                live = true;
            }
        }
    }
    for (uint32_t k = 0; k < tb->n_insns && !g.ended; k++) {
        const Insn *i = &tb->insns[k];
        g.flags_dead = dead_after[k] && flag_effect(tb, i, generic[k]) == FE_WRITES_ALL;
        g.host_flags_live = g.host_flags_live_next;
        g.host_flags_live_next = false;
        InsnFn *fn = i->fn;
        if (fused && k == tb->n_insns - 2) {
            /* The unfused setter (fast.c keeps it in the Jcc's imm2). */
            fn = (InsnFn *)(uintptr_t)tb->insns[k + 1].imm2;
        }
        if (gen_native(&g, i, generic[k], fn)) {
            g.n_native++;
            last_native = true;
        } else {
            gen_helper(&g, i, fn);
            last_native = false;
        }
    }
    if (!g.ended && last_native) {
        flush_dirty(&g);
        set_rip(&g, tb->insns[tb->n_insns - 1].next_eip);
    }
    /* Epilogue (every exit jumps here). */
    for (unsigned k = 0; k < a->n_exits; k++) {
        patch_here(a, a->exits[k]);
    }
    gen_frame_pop(a);
    b1(a, 0xc3);                                              /* ret */

    code = a->overflow ? NULL : tcg_jit_commit(a->buf, a->len);
    g_free(a->buf);
    if (code) {
        /* Several vCPUs may translate at once. */
        __atomic_fetch_add(&tcg_jit_stats.tbs_compiled, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&tcg_jit_stats.native_insns, g.n_native, __ATOMIC_RELAXED);
        __atomic_fetch_add(&tcg_jit_stats.helper_insns, g.n_helper, __ATOMIC_RELAXED);
    }
    return (TcgHostCode *)code;
}

void x86_jit_translate_tb(TranslationBlock *tb)
{
    InsnFn *generic[TB_MAX_INSNS + 1];
    bool compile = tcg_jit_enabled() && tb->n_insns <= G_N_ELEMENTS(generic) &&
                   !(tb->flags & HF_TF);

    if (compile) {
        for (uint32_t k = 0; k < tb->n_insns; k++) {
            generic[k] = tb->insns[k].fn;
        }
    }
    x86_tcg_specialize_tb(tb);
    tb->host_code = compile ? jit_compile(tb, generic) : NULL;
}

#else   /* !__x86_64__ */

void x86_jit_translate_tb(TranslationBlock *tb)
{
    x86_tcg_specialize_tb(tb);
    tb->host_code = NULL;
}

#endif
