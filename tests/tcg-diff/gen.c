/*
 * Sequence generator: picks table forms, random registers, immediates and
 * addressing forms, and encodes them. Every memory operand's base/index
 * registers are loaded by a "mov r64, imm64" set-up instruction right before
 * the instruction, with values solved so the access lands in the data
 * window (or, on purpose, in a guard page, the read-only page, or at a
 * non-canonical address); the native run must never touch anything else.
 *
 * It also tracks statically which arithmetic flags the SDM defines at each
 * point (over all paths: branches only go forward), so instructions that
 * read flags are only generated when their inputs are defined, and the
 * comparison masks out undefined flags.
 */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include "tcg-diff.h"

static bool host_feat[FEAT_NB];
uint64_t gen_fs_base;

void gen_init_features(void)
{
    unsigned a, b, c, d;
    host_feat[FEAT_NONE] = true;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        host_feat[FEAT_MOVBE] = c & (1u << 22);
        host_feat[FEAT_POPCNT] = c & (1u << 23);
        host_feat[FEAT_CX16] = c & (1u << 13);
        host_feat[FEAT_SSE42] = c & (1u << 20);
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        host_feat[FEAT_BMI1] = b & (1u << 3);
        host_feat[FEAT_BMI2] = b & (1u << 8);
        host_feat[FEAT_ADX] = b & (1u << 19);
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d)) {
        host_feat[FEAT_LAHF] = c & 1u;
        host_feat[FEAT_LZCNT] = c & (1u << 5);
        host_feat[FEAT_PRFCHW] = c & (1u << 8);
    }
}

bool form_available(const Form *f)
{
    return host_feat[f->feat];
}

/* ---- flags ---- */

static uint32_t cc_reads(unsigned cc)
{
    static const uint32_t r[8] = { F_OF, F_CF, F_ZF, F_CF | F_ZF, F_SF, F_PF, F_SF | F_OF,
                                   F_ZF | F_SF | F_OF };
    return r[(cc >> 1) & 7];
}

/* Which arithmetic flags the instruction writes, and which of those the SDM
 * defines. count: the shift count before masking. */
static void flags_effect(const Form *f, unsigned size, unsigned count, uint32_t *w, uint32_t *d)
{
    unsigned masked = count & (size == 8 ? 63 : 31);
    *w = F_ARITH;
    switch (f->fclass) {
    case FC_NONE: case FC_DFONLY: *w = 0; *d = 0; break;
    case FC_ARITH: case FC_ALL: case FC_POPF: *d = F_ARITH; break;
    case FC_INCDEC: *w = *d = F_ARITH & ~F_CF; break;
    case FC_LOGIC: *d = F_ARITH & ~F_AF; break;
    case FC_MUL: *d = F_CF | F_OF; break;
    case FC_DIV: *d = 0; break;
    case FC_BT: *w = F_CF | F_OF | F_SF | F_AF | F_PF; *d = F_CF; break;
    case FC_BSF: *d = F_ZF; break;
    case FC_LZCNT: *d = F_CF | F_ZF; break;
    case FC_CF: *w = *d = F_CF; break;
    case FC_SAHF: *w = *d = F_SF | F_ZF | F_AF | F_PF | F_CF; break;
    case FC_ZF: *w = *d = F_ZF; break;
    case FC_ANDN: case FC_BLS: case FC_BZHI: *d = F_SF | F_ZF | F_OF | F_CF; break;
    case FC_BEXTR: *d = F_ZF | F_CF | F_OF; break;
    case FC_ADCX: *w = *d = F_CF; break;
    case FC_ADOX: *w = *d = F_OF; break;
    case FC_DAA: *d = F_CF | F_AF | F_SF | F_ZF | F_PF; break;
    case FC_AAA: *d = F_AF | F_CF; break;
    case FC_AAM: *d = F_SF | F_ZF | F_PF; break;
    case FC_SHIFT:
        if (masked == 0) {
            *w = *d = 0;
        } else if (f->ext <= 3) {          /* rotates: CF always, OF for 1 */
            *w = F_CF | F_OF;
            *d = F_CF | (masked == 1 ? F_OF : 0);
        } else {
            *d = F_CF | F_PF | F_ZF | F_SF | (masked == 1 ? F_OF : 0);
            if (f->ext != 7 && masked >= size * 8) {
                *d &= ~F_CF;           /* SHL/SHR by >= the width */
            }
        }
        break;
    case FC_SHLD: case FC_SHRD:
        if (masked == 0) {
            *w = *d = 0;
        } else {
            *d = F_CF | F_PF | F_ZF | F_SF | (masked == 1 ? F_OF : 0);
        }
        break;
    default:
        *d = 0;
        break;
    }
}

/* ---- encoding ---- */

typedef struct Mem {
    int base;           /* -1 none, -2 RIP, -3 16-bit form (index = r/m), else register */
    int index;          /* -1 none */
    int scale;
    int disp_size;      /* 0, 1, 4 */
    int32_t disp;
} Mem;

typedef struct Enc {
    const Form *f;
    unsigned size;
    unsigned cc;
    uint8_t seg;
    bool a32, lock, rexw, rex40, no66;
    bool mode32;        /* 32-bit mode: addresses are 32-bit without 67 */
    bool a16;           /* 32-bit mode: 67, 16-bit addressing */
    uint8_t rep;
    int reg, rm, vvvv;
    bool is_mem;
    Mem m;
    uint64_t imm;
    unsigned imm_size;
    uint64_t imm2;
    unsigned imm2_size;
    uint64_t rip_target;   /* RIP-relative: wanted EA (before the segment) */
} Enc;

static unsigned emit(const Enc *e, uint8_t *out, uint64_t addr)
{
    const Form *f = e->f;
    unsigned n = 0, rex = 0, opc = f->opc;
    int rip_pos = -1;
    bool modrm = f->kind == K_MODRM || f->kind == K_GRP || f->kind == K_VEX || f->kind == K_MOVSEG ||
                 f->kind == K_PUSH_RM || f->kind == K_POP_RM || f->kind == K_JMP_IND;
    int rmreg = e->is_mem ? e->m.base : e->rm;

    if (e->seg) {
        out[n++] = e->seg;
    }
    if (e->a16 || (e->a32 && !e->mode32)) {
        out[n++] = 0x67;
    }
    if (e->lock) {
        out[n++] = 0xf0;
    }
    if (e->rep) {
        out[n++] = e->rep;
    }
    if (f->kind != K_VEX) {
        if (e->size == 2 && !e->no66) {
            out[n++] = 0x66;
        }
        if (f->mpfx) {
            out[n++] = f->mpfx;
        }
    }
    if (e->rexw) {
        rex |= 8;
    }
    if (modrm) {
        if (f->kind != K_GRP && f->kind != K_PUSH_RM && f->kind != K_POP_RM &&
            f->kind != K_JMP_IND && !(f->kind == K_VEX && f->vex_role == 2) && e->reg >= 8) {
            rex |= 4;
        }
        if (e->is_mem && e->m.index >= 8) {
            rex |= 2;
        }
        if (rmreg >= 8) {
            rex |= 1;
        }
    } else if (f->kind == K_OPREG || f->kind == K_PUSH || f->kind == K_POP) {
        if (e->reg >= 8) {
            rex |= 1;
        }
    }
    if (f->kind == K_VEX) {
        unsigned pp = f->mpfx == 0x66 ? 1 : f->mpfx == 0xf3 ? 2 : f->mpfx == 0xf2 ? 3 : 0;
        out[n++] = 0xc4;
        out[n++] = (uint8_t)((((~rex >> 2) & 1) << 7) | (((~rex >> 1) & 1) << 6) |
                             (((~rex) & 1) << 5) | (f->map == MAP_0F38 ? 2 : 3));
        out[n++] = (uint8_t)(((e->size == 8) << 7) | ((~e->vvvv & 15) << 3) | pp);
    } else {
        if (rex || e->rex40) {
            out[n++] = (uint8_t)(0x40 | rex);
        }
        if (f->map != MAP_1) {
            out[n++] = 0x0f;
            if (f->map == MAP_0F38) {
                out[n++] = 0x38;
            } else if (f->map == MAP_0F3A) {
                out[n++] = 0x3a;
            }
        }
    }
    if (f->opt & O_CC) {
        opc += e->cc;
    }
    if (f->kind == K_OPREG || f->kind == K_PUSH || f->kind == K_POP) {
        opc += (unsigned)(e->reg & 7);
    }
    out[n++] = (uint8_t)opc;
    if (modrm) {
        unsigned regf;
        if (f->kind == K_GRP || f->kind == K_PUSH_RM || f->kind == K_POP_RM ||
            f->kind == K_JMP_IND || (f->kind == K_VEX && f->vex_role == 2)) {
            regf = (unsigned)f->ext;
        } else {
            regf = (unsigned)e->reg & 7;
        }
        if (!e->is_mem) {
            out[n++] = (uint8_t)(0xc0 | (regf << 3) | ((unsigned)e->rm & 7));
        } else {
            const Mem *m = &e->m;
            unsigned mod = m->disp_size == 0 ? 0 : m->disp_size == 1 ? 1 : 2;
            if (m->base == -3) {
                /* 16-bit ModRM: mod 0 with r/m 6 is a bare disp16. */
                unsigned mod16 = m->scale ? 0 : m->disp_size == 0 ? 0 : m->disp_size == 1 ? 1 : 2;
                out[n++] = (uint8_t)((mod16 << 6) | (regf << 3) | (unsigned)m->index);
                memcpy(out + n, &m->disp, m->disp_size);
                n += m->disp_size;
            } else if (m->base == -2) {
                out[n++] = (uint8_t)((regf << 3) | 5);
                rip_pos = (int)n;
                memcpy(out + n, &m->disp, 4);
                n += 4;
            } else if (m->base == -1 || m->index != -1 || (m->base & 7) == 4) {
                unsigned idx = m->index == -1 ? 4 : (unsigned)m->index & 7;
                unsigned base = m->base == -1 ? 5 : (unsigned)m->base & 7;
                if (m->base == -1) {
                    mod = 0;
                }
                out[n++] = (uint8_t)((mod << 6) | (regf << 3) | 4);
                out[n++] = (uint8_t)((m->scale << 6) | (idx << 3) | base);
                if (m->base == -1) {
                    memcpy(out + n, &m->disp, 4);
                    n += 4;
                } else if (m->disp_size) {
                    memcpy(out + n, &m->disp, m->disp_size);
                    n += m->disp_size;
                }
            } else {
                out[n++] = (uint8_t)((mod << 6) | (regf << 3) | ((unsigned)m->base & 7));
                if (m->disp_size) {
                    memcpy(out + n, &m->disp, m->disp_size);
                    n += m->disp_size;
                }
            }
        }
    }
    memcpy(out + n, &e->imm, e->imm_size);
    n += e->imm_size;
    memcpy(out + n, &e->imm2, e->imm2_size);
    n += e->imm2_size;
    if (rip_pos >= 0) {
        uint64_t next = addr + n;
        int32_t disp = (int32_t)(uint32_t)(e->rip_target - next);
        memcpy(out + rip_pos, &disp, 4);
    }
    return n;
}

/* ---- generator state ---- */

typedef struct Setup {
    int reg;
    uint64_t value;
    int fixup_group;    /* >= 0: value is the address of that group */
} Setup;

typedef struct Fixup {
    unsigned pos, width;
    uint64_t rel_from;  /* 0: absolute address; else the next-instruction address */
    unsigned group;
} Fixup;

typedef struct Path {
    bool reached;
    uint32_t known;
    bool df;
    bool rsp_known;
    uint64_t rsp;
} Path;

typedef struct Gen {
    Rng *rng;
    Seq *seq;
    unsigned ngroups, cur;
    unsigned group_start[16];
    Path pending[16];
    Path st;            /* the fall-through path */
    Setup setups[6];
    unsigned nsetups;
    uint32_t reserved;  /* registers set up in this group */
    Fixup fixups[32];
    unsigned nfixups;
    bool failed;
    bool mode32;
} Gen;

static uint64_t rnd(Gen *g)
{
    return rng_next(g->rng);
}

static unsigned below(Gen *g, unsigned n)
{
    return rng_below(g->rng, n);
}

/* Random values biased towards boundaries. */
static uint64_t rand_value(Gen *g)
{
    static const uint64_t special[] = {
        0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff,
        0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
        ~0ull, ~0ull - 1,
    };
    uint64_t v = rnd(g);
    switch (below(g, 8)) {
    case 0: return special[below(g, sizeof(special) / sizeof(special[0]))];
    case 1: return v & 0xff;
    case 2: return v & 0xffff;
    case 3: return v & 0xffffffff;
    case 4: return (uint64_t)(int64_t)(int8_t)v;
    case 5: return (uint64_t)(int64_t)(int32_t)v;
    default: return v;
    }
}

static int nreg(Gen *g)
{
    return (int)below(g, g->mode32 ? 8 : 16);
}

/* No FS/GS bases in 32-bit mode (null selectors there): plain DS. */
static uint8_t fix_seg(const Gen *g, uint8_t seg)
{
    return g->mode32 && (seg == 0x64 || seg == 0x65) ? 0 : seg;
}

static void add_setup(Gen *g, int reg, uint64_t value)
{
    g->setups[g->nsetups++] = (Setup){ reg, value, -1 };
    g->reserved |= 1u << reg;
}

static int free_reg(Gen *g)
{
    for (int tries = 0; tries < 64; tries++) {
        int r = nreg(g);
        if (r == RSP || (g->reserved & (1u << r))) {
            continue;
        }
        return r;
    }
    g->failed = true;
    return RAX == RSP ? 0 : RBX;
}

static bool fits_int(int64_t v, unsigned bytes)
{
    if (bytes == 1) {
        return v >= -128 && v <= 127;
    }
    return v >= INT32_MIN && v <= INT32_MAX;
}

/* Inverse of an odd number modulo 2^64. */
static uint64_t inv_odd(uint64_t m)
{
    uint64_t x = m;
    for (int i = 0; i < 6; i++) {
        x *= 2 - m * x;
    }
    return x;
}

static uint64_t seg_base_of(uint8_t seg)
{
    return seg == 0x64 ? gen_fs_base : seg == 0x65 ? GS_BASE : 0;
}

/* Chooses the address an access of acc bytes goes to. */
static uint64_t choose_target(Gen *g, unsigned acc, unsigned align)
{
    unsigned r = below(g, 100);
    uint64_t t;
    if (acc == 0) {
        acc = 1;
    }
    if (r < 86) {
        t = DATA_VA + below(g, DATA_SIZE - 16);
    } else if (r < 90) {
        t = RO_VA + below(g, 0x1000 - 16);
    } else if (r < 93) {
        t = DATA_VA - 1 - below(g, acc > 1 ? acc - 1 : 1);
    } else if (r < 95) {
        t = GUARD1_VA - 1 - below(g, acc > 1 ? acc - 1 : 1);
    } else if (r < 97) {
        t = GUARD1_VA + below(g, 0x1000 - 16);
    } else if (g->mode32) {
        /* Unmapped in both; clear of the 4 GiB wrap even with XLAT's AL. */
        t = 0xfffff000ull + below(g, 0xe00);
    } else {
        t = (DATA_VA + below(g, DATA_SIZE - 16)) ^ (1ull << (47 + below(g, 16)));
    }
    if (align > 1 && below(g, 10) != 0) {
        t &= ~(uint64_t)(align - 1);
    }
    return t;
}

/* Fills e->m so that the effective address (plus the segment base) is t,
 * adding set-ups for the registers it uses. fixed_rsp: the value RSP has
 * when the address is computed, if known. */
/* 32-bit mode, prefix 67: a 16-bit ModRM form with random registers. The
 * address is below 64 KiB, which neither side maps: it faults (#PF with the
 * address in CR2) unless nothing is accessed (LEA, NOP, PREFETCH). */
bool gen_allow_a16;

static void gen_mem16(Gen *g, Enc *e)
{
    static const int regs16[8][2] = {
        { RBX, RSI }, { RBX, RDI }, { RBP, RSI }, { RBP, RDI },
        { RSI, -1 }, { RDI, -1 }, { RBP, -1 }, { RBX, -1 },
    };
    Mem *m = &e->m;
    unsigned rm = below(g, 8);
    bool bare = false;
    m->base = -3;
    m->index = (int)rm;
    m->scale = 0;
    m->disp_size = (int)below(g, 3);
    if (rm == 6 && m->disp_size == 0) {
        bare = true;          /* mod 0, r/m 6: a bare disp16 */
        m->scale = 1;
        m->disp_size = 2;
    }
    m->disp = m->disp_size == 1 ? (int8_t)rnd(g) : (int32_t)(rnd(g) & 0xffff);
    for (int k = 0; k < 2 && !bare; k++) {
        int r = regs16[rm][k];
        if (r >= 0 && !(g->reserved & (1u << r))) {
            add_setup(g, r, rnd(g));
        }
    }
    e->a16 = true;
    e->a32 = false;
    e->mode32 = true;
}

static bool gen_mem(Gen *g, Enc *e, uint64_t t, bool lea)
{
    Mem *m = &e->m;
    uint64_t segbase, want, mask;
    unsigned form;
    if (g->mode32 && gen_allow_a16 && below(g, 20) == 0) {
        gen_mem16(g, e);
        e->seg = fix_seg(g, below(g, 4) == 0 ? 0x36 : 0);
        return true;
    }
    for (int attempt = 0; attempt < 20; attempt++) {
        unsigned sr = below(g, 100);
        e->seg = 0;
        if (!lea || below(g, 4) == 0) {
            if (sr < 10) {
                e->seg = 0x64;
            } else if (sr < 22) {
                e->seg = 0x65;
            } else if (sr < 28) {
                static const uint8_t ignored[] = { 0x26, 0x2e, 0x36, 0x3e };
                e->seg = ignored[below(g, 4)];
            }
        }
        e->seg = fix_seg(g, e->seg);
        e->a32 = g->mode32 || below(g, 10) == 0;
        e->mode32 = g->mode32;
        segbase = lea ? 0 : seg_base_of(e->seg);
        mask = e->a32 ? 0xffffffffull : ~0ull;
        want = t - segbase;
        if (e->a32 && !lea && want > 0xffffffffull) {
            continue;
        }
        want &= mask;
        m->base = m->index = -1;
        m->scale = (int)below(g, 4);
        m->disp_size = (int)below(g, 3);
        m->disp_size = m->disp_size == 2 ? 4 : m->disp_size;
        m->disp = 0;
        form = below(g, 100);
        if (form < 10 && !g->mode32) {                     /* RIP-relative */
            int64_t d = (int64_t)(want - (CODE_VA + 0x100));
            if (!e->a32 && !fits_int(d, 4) && !lea) {
                continue;
            }
            m->base = -2;
            e->rip_target = want;
            return true;
        }
        if (form < 15) {                                   /* [disp32] */
            if (e->a32 ? false : !fits_int((int64_t)want, 4)) {
                continue;
            }
            m->disp_size = 4;
            m->disp = (int32_t)(uint32_t)want;
            return true;
        }
        if (form < 25 && g->st.rsp_known) {                /* RSP base */
            uint64_t rsp = g->st.rsp + (e->f->kind == K_POP_RM ?
                                        (e->size == 2 ? 2 : g->mode32 ? 4 : 8) : 0);
            int64_t d = (int64_t)((want - rsp) & mask);
            if (e->a32) {
                d = (int32_t)(uint32_t)d;
            }
            m->base = RSP;
            if (below(g, 2)) {                             /* with an index */
                int idx = free_reg(g);
                uint64_t v = rand_value(g);
                m->index = idx;
                m->disp_size = 4;
                d = (int64_t)((want - rsp - (v << m->scale)) & mask);
                if (e->a32) {
                    d = (int32_t)(uint32_t)d;
                }
                if (!fits_int(d, 4)) {
                    /* Solve for the index instead. */
                    uint64_t rem = (want - rsp) & mask;
                    m->scale = 0;
                    m->disp = (int32_t)below(g, 256) - 128;
                    v = (rem - (uint64_t)(int64_t)m->disp) & mask;
                    if (e->a32) {
                        v |= rnd(g) << 32;
                    }
                    add_setup(g, idx, v);
                    return true;
                }
                add_setup(g, idx, v);
                m->disp = (int32_t)d;
                return true;
            }
            if (!fits_int(d, 4)) {
                continue;
            }
            m->disp_size = fits_int(d, 1) ? (d == 0 && below(g, 2) ? 0 : 1) : 4;
            m->disp = (int32_t)d;
            return true;
        }
        {
            /* Settable base and/or index. */
            bool has_base = form < 95, has_index = !has_base || below(g, 2);
            int32_t disp = 0;
            if (!has_base) {
                m->disp_size = 4;
            }
            if (m->disp_size == 1) {
                disp = (int8_t)rnd(g);
            } else if (m->disp_size == 4) {
                disp = (int32_t)rand_value(g);
            }
            if (disp > INT32_MAX - 8) {
                disp -= 8;      /* room for the adjustments below */
            }
            m->disp = disp;
            if (has_base) {
                m->base = free_reg(g);
                if ((m->base & 7) == 5 && m->disp_size == 0) {
                    m->disp_size = 1;
                }
            }
            if (has_index) {
                if (has_base && below(g, 8) == 0) {
                    m->index = m->base;              /* same register twice */
                } else {
                    m->index = free_reg(g);
                    if (m->index == m->base) {
                        m->index = -1;
                    }
                }
            }
            if (has_base && m->index != m->base) {
                uint64_t vi = m->index >= 0 ? rand_value(g) : 0;
                uint64_t vb = (want - (vi << m->scale) - (uint64_t)(int64_t)m->disp) & mask;
                if (e->a32) {
                    vb |= rnd(g) << 32;
                    vi = (vi & 0xffffffffull) | (rnd(g) << 32);
                }
                add_setup(g, m->base, vb);
                if (m->index >= 0) {
                    add_setup(g, m->index, vi);
                }
                return true;
            }
            if (has_base) {                            /* base == index */
                uint64_t mul = 1 + (1ull << m->scale);
                uint64_t x = (want - (uint64_t)(int64_t)m->disp) & mask, v;
                if (mul == 2) {
                    if (x & 1) {
                        if (m->disp_size == 0) {
                            m->disp_size = 1;
                            m->disp = 0;
                        }
                        m->disp += 1;
                        x = (x - 1) & mask;
                    }
                    v = x >> 1;
                    if (!e->a32 && below(g, 2)) {
                        v |= 1ull << 63;
                    }
                } else {
                    v = x * inv_odd(mul);
                }
                v &= mask;
                if (e->a32) {
                    v |= rnd(g) << 32;
                }
                add_setup(g, m->base, v);
                return true;
            }
            {                                          /* index only */
                uint64_t x = (want - (uint64_t)(int64_t)m->disp) & mask;
                uint64_t low = x & ((1ull << m->scale) - 1), v;
                m->disp += (int32_t)low;
                x -= low;
                v = (x >> m->scale) | (m->scale ? rnd(g) << (64 - m->scale) : 0);
                if (m->index < 0) {
                    m->index = free_reg(g);
                }
                v &= mask >> 0;
                if (e->a32) {
                    v = ((x & 0xffffffffull) >> m->scale) | (rnd(g) << 32);
                }
                add_setup(g, m->index, v);
                return true;
            }
        }
    }
    return false;
}

/* Registers: an operand register that the instruction writes must not be RSP. */
static bool writes_rsp(int r, unsigned opsize, bool rex)
{
    if (opsize == 1 && !rex && r >= 4 && r <= 7) {
        return false;   /* AH..BH */
    }
    return r == RSP;
}

static unsigned shift_count(Gen *g, unsigned size)
{
    unsigned w = size * 8;
    switch (below(g, 8)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return w - 1;
    case 3: return w;
    case 4: return w + 1;
    case 5: return 32 + below(g, 32);
    case 6: return (unsigned)(rnd(g) & 0xff);
    default: return below(g, w);
    }
}

static void emit_setup(Gen *g, const Setup *s)
{
    Seq *seq = g->seq;
    uint8_t *p = seq->code + seq->len;
    if (g->mode32) {
        /* mov r32, imm32 */
        p[0] = (uint8_t)(0xb8 + (s->reg & 7));
        memcpy(p + 1, &s->value, 4);
        if (s->fixup_group >= 0) {
            g->fixups[g->nfixups++] = (Fixup){ seq->len + 1, 4, 0, (unsigned)s->fixup_group };
        }
        seq->insns[seq->n++] = (SeqInsn){ (uint16_t)seq->len, 5, -1, 4, g->st.known };
        seq->len += 5;
        return;
    }
    p[0] = (uint8_t)(0x48 | (s->reg >= 8 ? 1 : 0));
    p[1] = (uint8_t)(0xb8 + (s->reg & 7));
    memcpy(p + 2, &s->value, 8);
    if (s->fixup_group >= 0) {
        g->fixups[g->nfixups++] = (Fixup){ seq->len + 2, 8, 0, (unsigned)s->fixup_group };
    }
    seq->insns[seq->n++] = (SeqInsn){ (uint16_t)seq->len, 10, -1, 8, g->st.known };
    seq->len += 10;
}

static void emit_raw(Gen *g, const uint8_t *b, unsigned n, int form, unsigned size)
{
    Seq *seq = g->seq;
    memcpy(seq->code + seq->len, b, n);
    seq->insns[seq->n++] = (SeqInsn){ (uint16_t)seq->len, (uint16_t)n, (int16_t)form,
                                      (uint8_t)size, g->st.known };
    seq->len += n;
}

static void merge_into(Gen *g, unsigned target)
{
    Path *p = &g->pending[target];
    if (!p->reached) {
        *p = g->st;
        p->reached = true;
        return;
    }
    p->known &= g->st.known;
    if (p->df != g->st.df) {
        g->failed = true;   /* keep DF static: retry */
    }
    if (!p->rsp_known || !g->st.rsp_known || p->rsp != g->st.rsp) {
        p->rsp_known = false;
    }
}

static unsigned pick_target(Gen *g, bool short_range)
{
    unsigned lo = g->cur + 1, hi = g->ngroups;
    if (short_range && hi > g->cur + 2) {
        hi = g->cur + 2;
    }
    return lo + below(g, hi - lo + 1);
}

static bool stack_or_branch(const Form *f)
{
    switch (f->kind) {
    case K_PUSH: case K_POP: case K_PUSH_RM: case K_POP_RM: case K_PUSH_IMM: case K_POPF:
    case K_ENTER: case K_LEAVE: case K_JCC8: case K_JCC32: case K_JMP8: case K_JMP32:
    case K_CALL32: case K_LOOP: case K_RET: case K_JMP_IND:
        return true;
    default:
        return false;
    }
}

/* 0 when the form has no size usable in this mode. In 32-bit mode the
 * "64-bit" size of stack and branch forms is their default, 32-bit. */
static unsigned pick_size(Gen *g, const Form *f)
{
    unsigned opts[4], n = 0, sizes = f->sizes;
    if (g->mode32) {
        if (stack_or_branch(f) && (sizes & SZ_64)) {
            sizes = (sizes & ~SZ_64) | SZ_32;
        }
        sizes &= ~SZ_64;
    }
    for (unsigned s = 1; s <= 8; s <<= 1) {
        if (sizes & s) {
            opts[n++] = s;
        }
    }
    return n ? opts[below(g, n)] : 0;
}

/* Generates one group (set-ups plus the instruction of form fi). Returns
 * false when the form cannot be used here (flags it reads are undefined). */
static bool gen_group(Gen *g, unsigned fi)
{
    const Form *f = &forms[fi];
    Seq *seq = g->seq;
    Enc e;
    unsigned count = 0;
    uint32_t reads = 0, w, d;
    bool rsp_changes = false;
    int64_t rsp_delta = 0;
    unsigned slot;
    bool mem_ok = !(f->opt & O_REG);
    bool mem_must = f->opt & O_MEM;
    int branch_target = -1;
    bool uncond = false, target_short = false;
    bool null_es_first = false;
    uint8_t insn[32];
    unsigned n;

    memset(&e, 0, sizeof(e));
    e.f = f;
    e.size = pick_size(g, f);
    if (e.size == 0 || (f->opt & (g->mode32 ? O_ONLY64 : O_ONLY32))) {
        return false;
    }
    g->nsetups = 0;
    g->reserved = 1u << RSP;

    if (f->opt & O_CC) {
        e.cc = below(g, 16);
        for (int k = 0; k < 16 && (cc_reads(e.cc) & ~g->st.known); k++) {
            e.cc = (e.cc + 1) & 15;
        }
        reads |= cc_reads(e.cc);
    }
    if (f->opt & O_RDCF) {
        reads |= F_CF;
    }
    if (f->opt & O_RDOF) {
        reads |= F_OF;
    }
    if (f->opt & O_RDALL) {
        reads |= F_ARITH;
    }
    if (f->opt & O_RDAF) {
        reads |= F_AF;
    }
    if (f->opt & O_RDLAHF) {
        reads |= F_SF | F_ZF | F_AF | F_PF | F_CF;
    }
    if (f->kind == K_LOOP && (f->opc == 0xe0 || f->opc == 0xe1)) {
        reads |= F_ZF;
    }
    if (reads & ~g->st.known) {
        return false;
    }
    if (f->kind == K_INVALID) {
        emit_raw(g, f->inv, f->inv_len, (int)fi, 4);
        return true;
    }

    e.rexw = e.size == 8;
    e.reg = nreg(g);
    e.rm = nreg(g);
    e.vvvv = nreg(g);
    e.rex40 = !g->mode32 && below(g, 4) == 0;
    e.mode32 = g->mode32;
    if (g->mode32) {
        e.rexw = false;
    }

    /* Implicit set-ups. */
    if (f->opt & O_CNTCL) {
        count = shift_count(g, e.size);
        add_setup(g, RCX, (rnd(g) & ~0xffull) | count);
    }
    if (f->opt & O_CNTIMM) {
        count = shift_count(g, e.size) & 0xff;
        e.imm = count;
        e.imm_size = 1;
    }
    if (f->opt & O_CNT1) {
        count = 1;
    }
    if ((f->fclass == FC_SHLD || f->fclass == FC_SHRD) && e.size == 2 && (count & 31) > 16) {
        return false;   /* result undefined */
    }
    if ((f->opt & O_DIV) && below(g, 10) < 7) {
        uint64_t a = rand_value(g);
        uint64_t sign = e.size == 1 ? 0 : e.size == 2 ? (a >> 15) & 1 : e.size == 4 ? (a >> 31) & 1
                                                                                   : a >> 63;
        if (e.size == 1) {
            a &= 0x3ff;
        }
        add_setup(g, RAX, a);
        add_setup(g, RDX, (f->ext == 7 && sign) ? ~0ull : 0);
    }
    if (f->opt & O_XLAT) {
        uint64_t t = choose_target(g, 256, 1);
        e.seg = fix_seg(g, below(g, 4) == 0 ? 0x65 : 0);
        e.a32 = g->mode32 || below(g, 8) == 0;
        add_setup(g, RBX, ((t - seg_base_of(e.seg)) & (e.a32 ? 0xffffffffull : ~0ull)) |
                              (e.a32 ? rnd(g) << 32 : 0));
    }

    switch (f->kind) {
    case K_MODRM: case K_GRP: case K_VEX: case K_PUSH_RM: case K_POP_RM: {
        bool lea = f->opt & O_LEA;
        unsigned acc = e.size, align = 1;
        if (f->opt & O_RM8) {
            acc = 1;
        } else if (f->opt & O_RM16) {
            acc = 2;
        } else if (f->opt & O_RM32) {
            acc = 4;
        }
        if (f->opc == 0x8c && f->map == MAP_1) {
            e.reg = (int)below(g, 6);       /* segment register */
            acc = 2;
        }
        if (f->opc == 0x62 && f->map == MAP_1) {
            acc = 2 * e.size;     /* BOUND: the bounds pair */
        }
        if (f->opc == 0xc7 && f->map == MAP_0F) {
            acc = e.size == 8 ? 16 : 8;
            align = acc;
        }
        if ((f->opt & O_ATOMIC) || (f->opt & O_LOCK)) {
            align = align > acc ? align : acc;
        }
        e.is_mem = mem_must || (mem_ok && below(g, 2));
        if (f->opt & O_RM0) {
            e.rm = 0;
        }
        if (f->kind == K_VEX && f->vex_role == 4) {
            e.vvvv = 0;
            e.imm = rnd(g) & 0xff;
            e.imm_size = 1;
        }
        if (f->kind == K_VEX && f->vex_role == 2) {
            e.reg = f->ext;
        }
        if ((f->opt & O_BTREG) && e.is_mem) {
            int64_t off = (int64_t)below(g, 2048) - 1024;
            e.reg = free_reg(g);
            add_setup(g, e.reg, (uint64_t)off);
        }
        if (e.is_mem) {
            uint64_t t;
            if (lea) {
                t = rand_value(g);
            } else {
                t = choose_target(g, acc, align);
                if ((f->opt & O_BTREG) && below(g, 10)) {
                    t = DATA_VA + 0x100 + below(g, DATA_SIZE - 0x200);
                }
            }
            if (!gen_mem(g, &e, t, lea)) {
                return false;
            }
            if (f->opt & O_LOCK) {
                e.lock = below(g, 3) == 0;
            } else if (below(g, 200) == 0) {
                e.lock = true;              /* #UD */
            }
        }
        break;
    }
    case K_OPREG: case K_PUSH: case K_POP:
        e.reg = nreg(g);
        break;
    case K_MOFFS: {
        uint64_t t = choose_target(g, e.size, 1);
        unsigned sr = below(g, 4);
        e.seg = fix_seg(g, sr == 0 ? 0x64 : sr == 1 ? 0x65 : sr == 2 ? 0x36 : 0);
        e.a32 = g->mode32 || below(g, 8) == 0;
        t -= seg_base_of(e.seg);
        if (e.a32 && t > 0xffffffffull) {
            /* Not reachable with a 32-bit address: a plain one instead. */
            e.seg = 0;
            t = DATA_VA + below(g, DATA_SIZE - 16);
        }
        e.imm = t;
        e.imm_size = e.a32 ? 4 : 8;
        break;
    }
    case K_STRING: {
        unsigned cnt;
        bool rep = below(g, 3) != 0;
        uint64_t src, dst, amask;
        uint8_t op = f->opc;
        bool uses_src = op == 0xa4 || op == 0xa6 || op == 0xac;
        bool uses_dst = op != 0xac;
        if (g->mode32 && gen_allow_a16 && below(g, 10) == 0) {
            /* 67: SI, DI and CX; a count of 0 accesses nothing, anything
             * else faults below 64 KiB. */
            e.a16 = true;
            if (rep) {
                e.rep = (f->opt & O_REPCC) && below(g, 2) ? 0xf2 : 0xf3;
                add_setup(g, RCX, (rnd(g) << 16) | (below(g, 2) ? 0 : below(g, 4)));
            }
            add_setup(g, RSI, rnd(g));
            add_setup(g, RDI, rnd(g));
            break;
        }
        e.a32 = g->mode32 || below(g, 8) == 0;
        amask = e.a32 ? 0xffffffffull : ~0ull;
        cnt = below(g, 4) == 0 ? 0 : below(g, 24);
        if (rep) {
            e.rep = (f->opt & O_REPCC) && below(g, 2) ? 0xf2 : 0xf3;
            add_setup(g, RCX, cnt | (e.a32 ? rnd(g) << 32 : 0));
        } else {
            cnt = 1;
        }
        if (below(g, 20) == 0) {
            /* Run into the guard page below the window. */
            src = dst = DATA_VA + below(g, 16);
            if (!g->st.df) {
                src = dst = DATA_VA - 1 - below(g, 8);
            }
        } else {
            src = DATA_VA + 0x200 + below(g, DATA_SIZE - 0x400);
            dst = DATA_VA + 0x200 + below(g, DATA_SIZE - 0x400);
        }
        if (g->mode32 && uses_dst && below(g, 12) == 0) {
            /* ES null (a 32-bit mode #GP on the ES:rDI access), half the
             * time with a source in the guard page: which fault comes
             * first must match the host. */
            null_es_first = true;
            seq->null_seg = true;
            if (uses_src && below(g, 2)) {
                src = DATA_VA - 16 + below(g, 8);
            }
        }
        if (uses_src) {
            e.seg = below(g, 4) == 0 ? (below(g, 2) ? 0x64 : 0x65) : 0;
            if (e.a32 && e.seg == 0x64) {
                e.seg = 0x65;
            }
            e.seg = fix_seg(g, e.seg);
            add_setup(g, RSI, ((src - seg_base_of(e.seg)) & amask) | (e.a32 ? rnd(g) << 32 : 0));
        }
        if (uses_dst) {
            add_setup(g, RDI, (dst & amask) | (e.a32 ? rnd(g) << 32 : 0));
        }
        break;
    }
    case K_ACC_IMM: case K_NONE: case K_PUSH_IMM: case K_POPF: case K_ENTER: case K_LEAVE:
    case K_PUSHSEG: case K_POPSEG: case K_PUSHA: case K_MOVSEG:
    case K_JCC8: case K_JCC32: case K_JMP8: case K_JMP32: case K_CALL32: case K_LOOP:
    case K_RET: case K_JMP_IND: case K_INVALID:
        break;
    }

    /* Immediates. */
    if (f->kind != K_STRING && f->kind != K_MOFFS && !(f->opt & (O_CNTIMM)) &&
        !(f->kind == K_VEX && f->vex_role == 4)) {
        uint64_t v = rand_value(g);
        switch (f->imm) {
        case IMM_8: e.imm = v & 0xff; e.imm_size = 1; break;
        case IMM_16: e.imm = v & 0xffff; e.imm_size = 2; break;
        case IMM_Z: e.imm = v & (e.size == 2 ? 0xffff : 0xffffffff); e.imm_size = e.size == 2 ? 2 : 4;
            break;
        case IMM_V: e.imm = v & (e.size == 2 ? 0xffff : e.size == 4 ? 0xffffffff : ~0ull);
            e.imm_size = e.size;
            break;
        default: break;
        }
    }

    if (f->kind == K_NONE && f->map == MAP_1 && f->opc == 0xcd) {
        while (e.imm == 3 || e.imm == 4 || e.imm == 0x80) {
            e.imm = rnd(g) & 0xff;
        }
    }
    if (f->kind == K_MOVSEG) {
        /* ES or DS from a register holding the user data selector or null
         * (rarely CS: #UD). */
        static const int sregs[] = { 0, 3, 0, 3, 0, 3, 0, 1 };
        e.reg = sregs[below(g, 8)];
        e.rm = free_reg(g);
        {
            uint64_t sel = below(g, 4) ? 0x2b : 0;
            add_setup(g, e.rm, (rnd(g) & ~0xffffull) | sel);
            seq->null_seg |= sel == 0 && e.reg != 1;
        }
        e.is_mem = false;
        e.rexw = false;
    }

    /* Written registers must not be RSP. */
    {
        bool rex_present = e.rex40 || e.rexw || e.reg >= 8 || (!e.is_mem && e.rm >= 8) ||
                           (e.is_mem && (e.m.base >= 8 || e.m.index >= 8));
        unsigned rmsize = (f->opt & O_RM8) ? 1 : e.size;
        for (int k = 0; k < 16; k++) {
            bool bad = false;
            if ((f->opt & O_WRM) && !e.is_mem &&
                (f->kind == K_MODRM || f->kind == K_GRP || f->kind == K_POP_RM)) {
                bad |= writes_rsp(e.rm, rmsize, rex_present);
            }
            if ((f->opt & O_WRM) && (f->kind == K_OPREG || f->kind == K_POP)) {
                bad |= writes_rsp(e.reg, e.size, rex_present);
            }
            if ((f->opt & O_WREG) && f->kind != K_GRP) {
                bad |= writes_rsp(e.reg, e.size, rex_present);
            }
            if (f->opt & O_WVVVV) {
                bad |= e.vvvv == RSP;
            }
            if (!bad) {
                break;
            }
            if (k == 15) {
                return false;
            }
            if ((f->opt & O_BTREG) && e.is_mem) {
                return false;
            }
            if (f->opc == 0x8c && f->map == MAP_1) {
                e.rm = nreg(g);
                continue;
            }
            e.rm = nreg(g);
            if (!(f->kind == K_VEX && f->vex_role == 2)) {
                e.reg = nreg(g);
            }
            e.vvvv = nreg(g);
            if (f->kind == K_VEX && f->vex_role == 4) {
                e.vvvv = 0;
            }
        }
    }
    if (f->kind == K_VEX) {
        e.rexw = false;    /* VEX.W carries it */
        e.rex40 = false;
    }

    /* Stack and control flow. */
    slot = e.size == 2 ? 2 : g->mode32 ? 4 : 8;
    switch (f->kind) {
    case K_PUSHSEG:
        rsp_delta = -(int64_t)slot;
        rsp_changes = true;
        break;
    case K_POPSEG: {
        /* A selector to load: the user data segment or null. */
        uint8_t push[3] = { 0x66, 0x6a, below(g, 4) ? 0x2b : 0 };
        seq->null_seg |= push[2] == 0;
        if (e.size == 2) {
            emit_raw(g, push, 3, -1, 2);
        } else {
            emit_raw(g, push + 1, 2, -1, 4);
        }
        break;
    }
    case K_PUSHA:
        rsp_delta = (f->opc == 0x60 ? -8 : 8) * (int64_t)e.size;
        rsp_changes = true;
        break;
    case K_PUSH: case K_PUSH_RM: case K_PUSH_IMM:
        e.rexw = false;
        rsp_delta = -(int64_t)slot;
        if (f->opc == 0x9c) {
            e.imm_size = 0;
        }
        rsp_changes = true;
        break;
    case K_POP: case K_POP_RM:
        e.rexw = false;
        rsp_delta = slot;
        rsp_changes = true;
        break;
    case K_POPF: {
        uint64_t fl = 2 | (rnd(g) & (F_ARITH | F_DF | 0x200 | 0x3000 | 0x200000));
        uint8_t push[6];
        e.rexw = false;
        if (e.size == 2) {
            push[0] = 0x66; push[1] = 0x68; memcpy(push + 2, &fl, 2);
            emit_raw(g, push, 4, -1, 2);
        } else {
            push[0] = 0x68; memcpy(push + 1, &fl, 4);
            emit_raw(g, push, 5, -1, 8);
        }
        g->st.df = (fl & F_DF) != 0;
        break;
    }
    case K_ENTER:
        e.rexw = false;
        add_setup(g, RBP, DATA_VA + 0x400 + (below(g, 0x1000) & ~7u));
        e.imm = below(g, 4) ? below(g, 0x100) : 0;
        e.imm_size = 2;
        e.imm2 = below(g, 3) ? below(g, 3) : below(g, 40);
        e.imm2_size = 1;
        rsp_changes = true;
        g->st.rsp_known = false;
        break;
    case K_LEAVE:
        e.rexw = false;
        add_setup(g, RBP, DATA_VA + 0x800 + (below(g, 0xc00) & ~(below(g, 4) ? 7u : 0u)));
        g->st.rsp_known = false;
        break;
    case K_JCC8: case K_LOOP:
        e.rexw = false;
        e.imm_size = 1;
        target_short = true;
        branch_target = (int)pick_target(g, true);
        if (f->kind == K_LOOP) {
            e.a32 = below(g, 8) == 0;
            if (g->mode32) {
                e.a16 = e.a32;              /* 67: the count is CX */
                e.a32 = false;
            }
            if (below(g, 3) == 0) {
                add_setup(g, RCX, below(g, 2) | (below(g, 2) ? rnd(g) << 32 : 0));
            }
        }
        break;
    case K_JMP8:
        e.rexw = false;
        e.imm_size = 1;
        target_short = true;
        branch_target = (int)pick_target(g, true);
        uncond = true;
        break;
    case K_JCC32:
        e.rexw = false;
        e.imm_size = 4;
        branch_target = (int)pick_target(g, false);
        break;
    case K_JMP32: case K_CALL32:
        e.rexw = false;
        e.imm_size = 4;
        branch_target = (int)pick_target(g, false);
        uncond = true;
        if (f->kind == K_CALL32) {
            rsp_delta = -(int64_t)(g->mode32 ? 4 : 8);
            rsp_changes = true;
        }
        break;
    case K_RET:
        e.rexw = false;
        branch_target = (int)pick_target(g, false);
        uncond = true;
        e.imm = f->imm == IMM_16 ? below(g, 5) * 8 : 0;
        e.imm_size = f->imm == IMM_16 ? 2 : 0;
        rsp_changes = true;
        break;
    case K_JMP_IND: {
        int r = free_reg(g);
        e.rexw = false;
        e.is_mem = false;
        e.rm = r;
        branch_target = (int)pick_target(g, false);
        g->setups[g->nsetups++] = (Setup){ r, 0, branch_target };
        g->reserved |= 1u << r;
        uncond = true;
        if (f->opt & O_CALL) {
            rsp_delta = -(int64_t)(g->mode32 ? 4 : 8);
            rsp_changes = true;
        }
        break;
    }
    default:
        break;
    }
    if (g->failed) {
        return false;
    }

    /* Emit set-ups, then the instruction. */
    for (unsigned k = 0; k < g->nsetups; k++) {
        emit_setup(g, &g->setups[k]);
    }
    if (null_es_first) {
        static const uint8_t load_null_es[3] = { 0x6a, 0x00, 0x07 };   /* push 0; pop es */
        emit_raw(g, load_null_es, 1 + 1, -1, 4);
        emit_raw(g, load_null_es + 2, 1, -1, 4);
    }
    if (f->kind == K_RET) {
        uint8_t push[5] = { 0x68, 0, 0, 0, 0 };
        g->fixups[g->nfixups++] = (Fixup){ seq->len + 1, 4, 0, (unsigned)branch_target };
        emit_raw(g, push, 5, -1, 8);
    }
    {
        uint64_t addr = CODE_VA + seq->len;
        Form shadow;
        if (f->kind == K_STRING && e.size != 1) {
            shadow = *f;
            shadow.opc++;
            e.f = &shadow;
        }
        n = emit(&e, insn, addr);
        e.f = f;
        if (seq->len + n + 64 > CODE_MAX) {
            g->failed = true;
            return false;
        }
        if (branch_target >= 0 && f->kind != K_RET && f->kind != K_JMP_IND) {
            unsigned w = target_short ? 1 : 4;
            g->fixups[g->nfixups++] = (Fixup){ seq->len + n - w, w, addr + n,
                                               (unsigned)branch_target };
        }
        emit_raw(g, insn, n, (int)fi, e.size);
    }

    /* Flag state after the instruction. */
    if (f->kind == K_STRING) {
        bool rep = e.rep != 0;
        uint64_t cnt = 0;
        for (unsigned k = 0; k < g->nsetups; k++) {
            if (g->setups[k].reg == RCX) {
                cnt = g->setups[k].value & (e.a16 ? 0xffffull : e.a32 ? 0xffffffffull : ~0ull);
            }
        }
        if ((f->opt & O_REPCC) && !(rep && cnt == 0)) {
            g->st.known = F_ARITH;
        }
    } else if (f->kind == K_POPF) {
        g->st.known = F_ARITH;
    } else {
        flags_effect(f, e.size, count, &w, &d);
        g->st.known = (g->st.known & ~w) | d;
    }
    if (f->fclass == FC_DFONLY) {
        g->st.df = f->opc == 0xfd;
    }
    if (f->kind == K_RET) {
        rsp_delta = (int64_t)e.imm;
    }
    if (rsp_changes && g->st.rsp_known && f->kind != K_ENTER) {
        g->st.rsp += (uint64_t)rsp_delta;
    }
    if (branch_target >= 0) {
        merge_into(g, (unsigned)branch_target);
    }
    if (uncond) {
        g->st.reached = false;
    }
    return true;
}

static bool try_sequence(Rng *rng, Seq *seq, unsigned max_groups, unsigned pct32)
{
    Gen g;
    memset(&g, 0, sizeof(g));
    g.rng = rng;
    g.seq = seq;
    g.mode32 = seq->mode32 = rng_below(rng, 100) < pct32;
    seq->null_seg = false;
    seq->len = 0;
    seq->n = 0;
    g.ngroups = 1 + rng_below(rng, max_groups);

    for (int r = 0; r < 16; r++) {
        seq->init.r[r] = rand_value(&g);
    }
    seq->init.r[RSP] = STACK_TOP;
    seq->init.rip = CODE_VA;
    seq->init.flags = 0x202 | (rnd(&g) & (F_ARITH | F_DF));
    g.st = (Path){ true, F_ARITH, (seq->init.flags & F_DF) != 0, true, STACK_TOP };

    for (g.cur = 0; g.cur < g.ngroups; g.cur++) {
        Path *p = &g.pending[g.cur];
        g.group_start[g.cur] = seq->len;
        if (p->reached) {
            if (g.st.reached) {
                Path fall = g.st;
                g.st = *p;
                g.st.known &= fall.known;
                if (fall.df != p->df) {
                    return false;
                }
                if (!fall.rsp_known || fall.rsp != p->rsp) {
                    g.st.rsp_known = false;
                }
            } else {
                g.st = *p;
            }
        } else if (!g.st.reached) {
            /* Dead code: nothing reaches it. Still generated. */
            g.st.reached = true;
        }
        g.st.reached = true;
        for (int tries = 0;; tries++) {
            unsigned fi = rng_below(rng, n_forms);
            unsigned save_len = seq->len, save_n = seq->n, save_fix = g.nfixups;
            Path save_st = g.st;
            if (tries > 200) {
                return false;
            }
            if (!form_available(&forms[fi])) {
                continue;
            }
            /* Forms that always fault end the sequence: draw them less. */
            if ((forms[fi].kind == K_INVALID || forms[fi].opc == 0xcc ||
                 (forms[fi].map == MAP_0F && forms[fi].opc == 0x0b)) && rng_below(rng, 8)) {
                continue;
            }
            g.failed = false;
            if (gen_group(&g, fi) && !g.failed) {
                break;
            }
            seq->len = save_len;
            seq->n = save_n;
            g.nfixups = save_fix;
            g.st = save_st;
        }
        if (seq->n > MAX_INSNS - 8) {
            return false;
        }
    }
    /* The end. */
    g.group_start[g.ngroups] = seq->len;
    {
        Path *p = &g.pending[g.ngroups];
        if (p->reached) {
            if (g.st.reached) {
                g.st.known &= p->known;
                if (g.st.df != p->df) {
                    return false;
                }
            } else {
                g.st = *p;
            }
        }
    }
    seq->end_known = g.st.known;
    for (unsigned k = 0; k < g.nfixups; k++) {
        Fixup *fx = &g.fixups[k];
        uint64_t target = CODE_VA + g.group_start[fx->group];
        if (fx->rel_from == 0) {
            memcpy(seq->code + fx->pos, &target, fx->width);
        } else {
            int64_t rel = (int64_t)(target - fx->rel_from);
            if (!fits_int(rel, fx->width)) {
                return false;
            }
            memcpy(seq->code + fx->pos, &rel, fx->width);
        }
    }
    return true;
}

void gen_sequence(Rng *rng, Seq *seq, unsigned max_groups, unsigned pct32)
{
    while (!try_sequence(rng, seq, max_groups, pct32)) {
    }
}

const SeqInsn *seq_find_insn(const Seq *seq, uint64_t rip)
{
    for (unsigned k = 0; k < seq->n; k++) {
        if (CODE_VA + seq->insns[k].off == rip) {
            return &seq->insns[k];
        }
    }
    return NULL;
}

void seq_describe(const Seq *seq, char *buf, size_t len)
{
    size_t pos = 0;
    for (unsigned k = 0; k < seq->n && pos + 80 < len; k++) {
        const SeqInsn *s = &seq->insns[k];
        pos += (size_t)snprintf(buf + pos, len - pos, "  +%03x %-16s size %u known %03x:", s->off,
                                s->form >= 0 ? forms[s->form].name : "(set-up)", s->size, s->known);
        for (unsigned b = 0; b < s->len && pos + 4 < len; b++) {
            pos += (size_t)snprintf(buf + pos, len - pos, " %02x", seq->code[s->off + b]);
        }
        pos += (size_t)snprintf(buf + pos, len - pos, "\n");
    }
    if (pos + 40 < len) {
        pos += (size_t)snprintf(buf + pos, len - pos, "  mode: %s\n",
                                seq->mode32 ? "32-bit compatibility" : "64-bit");
    }
    if (pos + 40 < len) {
        snprintf(buf + pos, len - pos, "  +%03x end (defined flags %03x)\n", seq->len,
                 seq->end_known);
    }
}
