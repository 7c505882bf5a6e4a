/*
 * MOVS and STOS, with a fast path for REP on RAM.
 *
 * Element by element, REP MOVS costs two TLB lookups, two accesses and
 * three register updates per byte. Instead, each step here takes the
 * longest run of elements that stays inside one page of the source and
 * one page of the destination (and does not wrap the address size), gets
 * host pointers for both through the TLB (tcg_probe_read_host /
 * tcg_probe_write_host, which fill the TLB, raise #PF and do the dirty
 * tracking and translated-code invalidation for the whole run), copies
 * the run with one memcpy/memset, then updates RCX/RSI/RDI. So:
 *
 * - a #PF can only happen at the start of a run, before anything of the
 *   run is stored: RCX/RSI/RDI then describe exactly the element that
 *   faults, as element-at-a-time execution would;
 * - overlapping source and destination (in host memory, so aliases of the
 *   same RAM count) are copied element by element through a temporary, in
 *   the direction of the instruction, which reproduces the architectural
 *   result (e.g. "rep movsb" with rdi = rsi + 1 replicates one byte);
 * - MMIO (and elements that straddle a page or the address-size wrap) go
 *   through the ordinary one-element path;
 * - after every REP_SLICE_BYTES the loop looks for kicks, interrupts and
 *   flush requests and, if any, leaves with RIP at the instruction, which
 *   resumes where it stopped. A store that invalidated the running TB
 *   (self-modifying code) ends the instruction the same way after the run.
 *
 * LODS, CMPS, SCAS, INS and OUTS stay element-wise (alu.c).
 */
#include "target/i386/tcg/tcg-cpu.h"

/* Bytes a REP instruction moves between checks for pending events. */
#define REP_SLICE_BYTES (64u * 1024)
/* What one element through the slow path counts for in that budget. */
#define REP_SLOW_ELEMENT_COST 64u

static inline uint64_t str_reg(const CPUX86State *env, unsigned r, unsigned asz)
{
    return addr_trunc(env->regs[r], asz);
}

static inline void str_advance(CPUX86State *env, unsigned r, unsigned asz, int64_t delta)
{
    set_reg(env, r, asz, env->regs[r] + (uint64_t)delta);
}

static inline bool rep_events_pending(TcgCpu *c)
{
    return __atomic_load_n(&c->cs->exit_request, __ATOMIC_RELAXED) ||
           __atomic_load_n(&c->cs->interrupt_request, __ATOMIC_RELAXED) ||
           __atomic_load_n(&c->flush_request, __ATOMIC_RELAXED);
}

/* Leave the TB with RIP at the instruction: it resumes with what is left. */
static inline void rep_pause(TcgCpu *c, const Insn *i)
{
    c->env->rip = i->eip;
    tcg_stop_tb(c);
}

/*
 * How many elements of `size` bytes, starting at linear address la (the
 * element with the lowest address, going up; or the highest, going down)
 * and offset off in the address size asz, fit in la's page without
 * wrapping the offset. 0 when the first element itself straddles a page
 * or the wrap (the slow path handles it).
 */
static uint64_t elements_in_page(uint64_t la, uint64_t off, unsigned asz, unsigned size, bool down)
{
    uint64_t in_page = la & (KESTREL_PAGE_SIZE - 1);
    uint64_t n;
    if (in_page + size > KESTREL_PAGE_SIZE) {
        return 0;
    }
    if (!down) {
        n = (KESTREL_PAGE_SIZE - in_page) / size;
        if (asz < 8) {
            uint64_t mask = size_mask(asz);
            if (off + size - 1 > mask) {
                return 0;
            }
            n = MIN(n, (mask - off - (size - 1)) / size + 1);
        }
    } else {
        n = in_page / size + 1;
        if (asz < 8) {
            if (off + size - 1 > size_mask(asz)) {
                return 0;
            }
            n = MIN(n, off / size + 1);
        }
    }
    return n;
}

/* Copies n elements from s to d (host), element by element in the
 * instruction's direction: s and d point at the first element moved
 * (the highest one when down). Used when the two runs overlap. */
static void copy_elements_overlapping(uint8_t *d, const uint8_t *s, uint64_t n, unsigned size,
                                      bool down)
{
    for (uint64_t k = 0; k < n; k++) {
        /* Offsets from the first element; never points outside the run. */
        ptrdiff_t off = down ? -(ptrdiff_t)(k * size) : (ptrdiff_t)(k * size);
        uint64_t tmp;
        memcpy(&tmp, s + off, size);
        memcpy(d + off, &tmp, size);
    }
}

/* True when misaligned elements must raise #AC (CPL 3, CR0.AM, EFLAGS.AC):
 * the runs then go element by element through ld_data/st_data. */
static inline bool align_checked(TcgCpu *c, unsigned size)
{
#ifdef HF_ALIGN_CHECK
    return size > 1 && (c->tb_flags & HF_ALIGN_CHECK);
#else
    return false;
#endif
}

/* True when accesses through segment seg need limit and rights checks
 * (a segment that is not flat, outside 64-bit mode): the runs then go
 * element by element. */
static inline bool seg_needs_check(TcgCpu *c, unsigned seg)
{
#ifdef HF_SEGCHK_SHIFT
    return (c->tb_flags >> (HF_SEGCHK_SHIFT + seg)) & 1;
#else
    return false;
#endif
}

static void movs_one(TcgCpu *c, const Insn *i)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, asz = i->addrsize;
    int64_t d = (env->eflags & DF_MASK) ? -(int64_t)size : (int64_t)size;
    uint64_t off_s = str_reg(env, R_ESI, asz), off_d = str_reg(env, R_EDI, asz), v;
    seg_check(c, i->seg, off_s, size, false);
    v = ld_data(c, str_linear_src(c, i, off_s), size);
    seg_check(c, R_ES, off_d, size, true);
    st_data(c, seg_linear(c, R_ES, off_d), v, size);
    str_advance(env, R_ESI, asz, d);
    str_advance(env, R_EDI, asz, d);
}

static void stos_one(TcgCpu *c, const Insn *i, uint64_t v)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, asz = i->addrsize;
    int64_t d = (env->eflags & DF_MASK) ? -(int64_t)size : (int64_t)size;
    uint64_t off_d = str_reg(env, R_EDI, asz);
    seg_check(c, R_ES, off_d, size, true);
    st_data(c, seg_linear(c, R_ES, off_d), v, size);
    str_advance(env, R_EDI, asz, d);
}

/* Host pointer for the run [lo, lo + bytes) whose first element (the one a
 * fault must name in CR2) is at `first`: lo, or the top element when the
 * instruction goes down. NULL if the run is not plain RAM. */
static uint8_t *probe_run(TcgCpu *c, uint64_t first, uint64_t lo, uint64_t bytes, unsigned size,
                          bool write, int mmu)
{
    if (first != lo) {
        /* Fault (if at all) exactly where element-wise execution would. */
        void *h = write ? tcg_probe_write_host(c, first, size, mmu)
                        : tcg_probe_read_host(c, first, size, mmu);
        if (!h) {
            return NULL;
        }
    }
    return write ? tcg_probe_write_host(c, lo, (unsigned)bytes, mmu)
                 : tcg_probe_read_host(c, lo, (unsigned)bytes, mmu);
}

/* One run of REP MOVS inside one source and one destination page; the
 * number of elements moved, 0 if the next element needs the slow path. */
static uint64_t movs_run(TcgCpu *c, const Insn *i, uint64_t count, int mmu)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, asz = i->addrsize;
    bool down = (env->eflags & DF_MASK) != 0;
    uint64_t off_s = str_reg(env, R_ESI, asz), off_d = str_reg(env, R_EDI, asz);
    uint64_t la_s, la_d, n, bytes, back;
    uint8_t *hs, *hd;

    /* Segments with checks take the element path (movs_one), which checks
     * the source before the destination as the hardware does. */
    if (seg_needs_check(c, i->seg) || seg_needs_check(c, R_ES) || align_checked(c, size)) {
        return 0;
    }
    la_s = str_linear_src(c, i, off_s);
    la_d = seg_linear(c, R_ES, off_d);
    n = MIN(count, MIN(elements_in_page(la_s, off_s, asz, size, down),
                       elements_in_page(la_d, off_d, asz, size, down)));
    bytes = n * size;
    back = down ? bytes - size : 0;
    if (n == 0) {
        return 0;
    }
    /* Source first: its fault comes first element-wise too. */
    hs = probe_run(c, la_s, la_s - back, bytes, size, false, mmu);
    if (!hs) {
        return 0;
    }
    hd = probe_run(c, la_d, la_d - back, bytes, size, true, mmu);
    if (!hd) {
        return 0;
    }
    if (hd == hs) {
        /* Copy onto itself: nothing changes. */
    } else if (hd >= hs + bytes || hs >= hd + bytes) {
        memcpy(hd, hs, bytes);
    } else if (down ? hd > hs : hd < hs) {
        /* The destination trails the source: no element reads a byte an
         * earlier element of the run wrote, so this equals a move. */
        memmove(hd, hs, bytes);
    } else {
        /* The destination runs ahead of the source: elements read bytes
         * the run itself just stored (pattern replication). */
        copy_elements_overlapping(hd + back, hs + back, n, size, down);
    }
    set_reg(env, R_ECX, asz, env->regs[R_ECX] - n);
    str_advance(env, R_ESI, asz, down ? -(int64_t)bytes : (int64_t)bytes);
    str_advance(env, R_EDI, asz, down ? -(int64_t)bytes : (int64_t)bytes);
    return n;
}

static uint64_t stos_run(TcgCpu *c, const Insn *i, uint64_t count, uint64_t v, int mmu)
{
    CPUX86State *env = c->env;
    unsigned size = i->opsize, asz = i->addrsize;
    bool down = (env->eflags & DF_MASK) != 0;
    uint64_t off_d = str_reg(env, R_EDI, asz);
    uint64_t la_d = seg_linear(c, R_ES, off_d);
    uint64_t n = MIN(count, elements_in_page(la_d, off_d, asz, size, down));
    uint64_t bytes = n * size, back = down ? bytes - size : 0;
    uint8_t *hd;

    if (n == 0 || seg_needs_check(c, R_ES) || align_checked(c, size)) {
        return 0;
    }
    hd = probe_run(c, la_d, la_d - back, bytes, size, true, mmu);
    if (!hd) {
        return 0;
    }
    if (size == 1) {
        memset(hd, (int)(v & 0xff), bytes);
    } else {
        for (uint64_t k = 0; k < bytes; k += size) {
            memcpy(hd + k, &v, size);   /* little-endian host */
        }
    }
    set_reg(env, R_ECX, asz, env->regs[R_ECX] - n);
    str_advance(env, R_EDI, asz, down ? -(int64_t)bytes : (int64_t)bytes);
    return n;
}

static void rep_movs_stos(TcgCpu *c, const Insn *i, bool movs)
{
    CPUX86State *env = c->env;
    unsigned asz = i->addrsize, size = i->opsize;
    uint64_t v = movs ? 0 : get_reg(env, R_EAX, size);
    int mmu = cur_mmu(c);
    uint64_t work = 0;

    for (;;) {
        uint64_t count = str_reg(env, R_ECX, asz), n;
        if (count == 0) {
            return;
        }
        if (c->stop_tb) {
            /* The last run invalidated this TB or a device access asked
             * the vCPU to stop: resume the rest later. */
            rep_pause(c, i);
            return;
        }
        if (work >= REP_SLICE_BYTES) {
            if (rep_events_pending(c)) {
                rep_pause(c, i);
                return;
            }
            work = 0;
        }
        n = movs ? movs_run(c, i, count, mmu) : stos_run(c, i, count, v, mmu);
        if (n) {
            work += n * size;
            continue;
        }
        if (movs) {
            movs_one(c, i);
        } else {
            stos_one(c, i, v);
        }
        set_reg(env, R_ECX, asz, env->regs[R_ECX] - 1);
        work += REP_SLOW_ELEMENT_COST;
    }
}

void op_movs(TcgCpu *c, const Insn *i)
{
    if (i->prefixes & (PFX_REP | PFX_REPNE)) {
        rep_movs_stos(c, i, true);
    } else {
        movs_one(c, i);
    }
}

void op_stos(TcgCpu *c, const Insn *i)
{
    if (i->prefixes & (PFX_REP | PFX_REPNE)) {
        rep_movs_stos(c, i, false);
    } else {
        stos_one(c, i, get_reg(c->env, R_EAX, i->opsize));
    }
}
