/*
 * The translation-block cache.
 *
 * TBs are keyed by the RAM address of their first byte (the guest physical
 * PC resolved to its backing page, so aliases of the same RAM share code)
 * plus the mode bits and the CS base. Lookup goes through a per-vCPU jump
 * cache indexed by the linear PC, then a global hash table. Each RAM page
 * holding code has a PageDesc listing its TBs and a bitmap of the bytes
 * they cover; the CODE dirty bitmap is clean for such pages, which makes
 * guest stores take the NOTDIRTY slow path (cputlb.c) and device writes set
 * the CODE bit, which the lookup notices.
 *
 * Invalidated TBs are unlinked and retired, not freed: another vCPU (or
 * this one) may still be executing them. Memory comes back at a full flush,
 * done exclusively when the budget is exceeded.
 */
#include "accel/tcg/tcg-internal.h"
#include "accel/tcg/jit.h"
#include "kestrel/log.h"

#define TB_HASH_BITS 16
#define TB_HASH_SIZE (1u << TB_HASH_BITS)
#define TB_BUDGET_BYTES ((size_t)256 << 20)

typedef struct PageDesc {
    uintptr_t first_tb;                 /* tagged: tb | index of this page in tb */
    unsigned long code_bitmap[KESTREL_PAGE_SIZE / (8 * sizeof(unsigned long))];
} PageDesc;

static GMutex tb_lock;
static TranslationBlock *tb_hash[TB_HASH_SIZE];
static GHashTable *page_descs;          /* ram page number + 1 -> PageDesc */
static TranslationBlock *retired;
static size_t tb_bytes;
TcgStats tcg_stats;

static inline unsigned tb_hash_func(ram_addr_t ram_pc, uint32_t flags)
{
    uint64_t h = ram_pc * 0x9e3779b97f4a7c15ull ^ (uint64_t)flags * 0xc2b2ae3d27d4eb4full;
    return (unsigned)(h >> (64 - TB_HASH_BITS));
}

static inline ram_addr_t tb_ram_pc(const TranslationBlock *tb)
{
    return tb->page_ram[0] + (tb->pc & ~KESTREL_PAGE_MASK);
}

static PageDesc *page_find(ram_addr_t ram_page, bool create)
{
    gpointer key = (gpointer)(uintptr_t)((ram_page >> KESTREL_PAGE_BITS) + 1);
    PageDesc *pd;
    if (!page_descs) {
        page_descs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    }
    pd = g_hash_table_lookup(page_descs, key);
    if (!pd && create) {
        pd = g_new0(PageDesc, 1);
        g_hash_table_insert(page_descs, key, pd);
    }
    return pd;
}

static void page_remove(ram_addr_t ram_page)
{
    gpointer key = (gpointer)(uintptr_t)((ram_page >> KESTREL_PAGE_BITS) + 1);
    if (page_descs) {
        g_hash_table_remove(page_descs, key);
    }
}

TranslationBlock *tcg_tb_alloc(unsigned n_insns)
{
    size_t sz = sizeof(TranslationBlock) + n_insns * sizeof(Insn);
    TranslationBlock *tb = g_malloc0(sz);
    __atomic_fetch_add(&tb_bytes, sz, __ATOMIC_RELAXED);
    return tb;
}

bool tb_budget_exceeded(void)
{
    return __atomic_load_n(&tb_bytes, __ATOMIC_RELAXED) > TB_BUDGET_BYTES ||
           tcg_jit_buffer_low();
}

/* ---- jump cache ---- */

void tb_jmp_cache_clear(TcgCpu *c)
{
    memset(c->jmp_cache, 0, sizeof(c->jmp_cache));
}

void tb_jmp_cache_clear_page(TcgCpu *c, uint64_t vaddr)
{
    unsigned half = JMP_CACHE_BITS / 2;
    unsigned start = tb_jmp_cache_hash(vaddr & KESTREL_PAGE_MASK) & ~((1u << half) - 1);
    memset(&c->jmp_cache[start], 0, sizeof(c->jmp_cache[0]) << half);
    /* A TB may start on the previous page and continue on this one. */
    start = tb_jmp_cache_hash((vaddr & KESTREL_PAGE_MASK) - KESTREL_PAGE_SIZE) &
            ~((1u << half) - 1);
    memset(&c->jmp_cache[start], 0, sizeof(c->jmp_cache[0]) << half);
}

/* ---- chaining ---- */

void tb_add_jump(TranslationBlock *tb, int n, TranslationBlock *dest)
{
    g_mutex_lock(&tb_lock);
    if (!tb->invalid && !dest->invalid && !tb->jmp_dest[n]) {
        tb->jmp_next[n] = dest->jmp_incoming;
        dest->jmp_incoming = (uintptr_t)tb | (uintptr_t)n;
        __atomic_store_n(&tb->jmp_dest[n], dest, __ATOMIC_RELEASE);
        tcg_stats.chain_links++;
    }
    g_mutex_unlock(&tb_lock);
}

/* Removes (tb, n) from its destination's incoming list. */
static void tb_unlink_outgoing(TranslationBlock *tb, int n)
{
    TranslationBlock *dest = tb->jmp_dest[n];
    uintptr_t *pp, me = (uintptr_t)tb | (uintptr_t)n;
    if (!dest) {
        return;
    }
    for (pp = &dest->jmp_incoming; *pp; ) {
        TranslationBlock *src = (TranslationBlock *)(*pp & ~(uintptr_t)1);
        int sn = (int)(*pp & 1);
        if (*pp == me) {
            *pp = src->jmp_next[sn];
            break;
        }
        pp = &src->jmp_next[sn];
    }
    __atomic_store_n(&tb->jmp_dest[n], NULL, __ATOMIC_RELEASE);
}

static void tb_unlink_incoming(TranslationBlock *tb)
{
    uintptr_t p = tb->jmp_incoming;
    while (p) {
        TranslationBlock *src = (TranslationBlock *)(p & ~(uintptr_t)1);
        int sn = (int)(p & 1);
        p = src->jmp_next[sn];
        __atomic_store_n(&src->jmp_dest[sn], NULL, __ATOMIC_RELEASE);
        src->jmp_next[sn] = 0;
    }
    tb->jmp_incoming = 0;
}

/* ---- insertion / removal (tb_lock held) ---- */

void tb_page_range(const TranslationBlock *tb, int idx, uint64_t *start, uint64_t *end)
{
    uint64_t offset = tb->pc & ~KESTREL_PAGE_MASK;
    uint64_t last = offset + tb->size;      /* relative to the first page */

    if (idx == 0) {
        *start = offset;
        *end = last < KESTREL_PAGE_SIZE ? last : KESTREL_PAGE_SIZE;
    } else {
        *start = 0;
        if (last <= KESTREL_PAGE_SIZE) {
            *end = 0;
        } else if (last - KESTREL_PAGE_SIZE > KESTREL_PAGE_SIZE) {
            *end = KESTREL_PAGE_SIZE;
        } else {
            *end = last - KESTREL_PAGE_SIZE;
        }
    }
}

static void page_add_tb(TranslationBlock *tb, int idx)
{
    ram_addr_t ram_page = tb->page_ram[idx];
    PageDesc *pd = page_find(ram_page, true);
    bool first = pd->first_tb == 0;
    uint64_t start, end;

    tb->page_next[idx] = (TranslationBlock *)pd->first_tb;
    pd->first_tb = (uintptr_t)tb | (uintptr_t)idx;

    /* Mark the bytes of this page the TB covers, never past the page
     * whatever tb->size says. */
    tb_page_range(tb, idx, &start, &end);
    for (uint64_t b = start; b < end; b++) {
        pd->code_bitmap[b / (8 * sizeof(unsigned long))] |= 1ul << (b % (8 * sizeof(unsigned long)));
    }
    /* Stores to this page must now come through the NOTDIRTY path. */
    if (dirty_bitmap_test_and_clear_range(ram_page, KESTREL_PAGE_SIZE, DIRTY_MEMORY_CODE) ||
        first) {
        tlb_protect_code_page(ram_page);
    }
}

static void tb_insert(TranslationBlock *tb)
{
    unsigned h = tb_hash_func(tb_ram_pc(tb), tb->flags);
    tb->hash_next = tb_hash[h];
    tb_hash[h] = tb;
    page_add_tb(tb, 0);
    if (tb->page_ram[1] != RAM_ADDR_INVALID) {
        page_add_tb(tb, 1);
    }
    tcg_stats.tbs_translated++;
}

static void page_list_remove(TranslationBlock *tb, int idx)
{
    PageDesc *pd = page_find(tb->page_ram[idx], false);
    uintptr_t *pp;
    if (!pd) {
        return;
    }
    for (pp = &pd->first_tb; *pp; ) {
        TranslationBlock *t = (TranslationBlock *)(*pp & ~(uintptr_t)1);
        int n = (int)(*pp & 1);
        if (t == tb && n == idx) {
            *pp = (uintptr_t)t->page_next[n];
            return;
        }
        pp = (uintptr_t *)&t->page_next[n];
    }
}

static void tb_remove_from_hash(TranslationBlock *tb)
{
    unsigned h = tb_hash_func(tb_ram_pc(tb), tb->flags);
    TranslationBlock **pp;
    for (pp = &tb_hash[h]; *pp; pp = &(*pp)->hash_next) {
        if (*pp == tb) {
            *pp = tb->hash_next;
            return;
        }
    }
}

/* Invalidates one TB; `skip_page` is the page whose list is being torn
 * down by the caller (-1 for none). */
static void tb_phys_invalidate(TranslationBlock *tb, int skip_page)
{
    if (tb->invalid) {
        return;
    }
    __atomic_store_n(&tb->invalid, true, __ATOMIC_RELEASE);
    tb_remove_from_hash(tb);
    for (int k = 0; k < 2; k++) {
        if (k != skip_page && tb->page_ram[k] != RAM_ADDR_INVALID) {
            page_list_remove(tb, k);
        }
    }
    tb_unlink_incoming(tb);
    tb_unlink_outgoing(tb, 0);
    tb_unlink_outgoing(tb, 1);
    tb->retired_next = retired;
    retired = tb;
    tcg_stats.tbs_invalidated++;
}

/* Drops every TB of a page (tb_lock held). Returns true if `current` was
 * among them. */
static bool invalidate_page_locked(ram_addr_t ram_page, TranslationBlock *current)
{
    PageDesc *pd = page_find(ram_page, false);
    bool hit_current = false;
    uintptr_t p;
    if (!pd) {
        return false;
    }
    p = pd->first_tb;
    pd->first_tb = 0;
    while (p) {
        TranslationBlock *tb = (TranslationBlock *)(p & ~(uintptr_t)1);
        int n = (int)(p & 1);
        p = (uintptr_t)tb->page_next[n];
        if (tb == current) {
            hit_current = true;
        }
        /* The other page of a two-page TB still lists it. */
        tb_phys_invalidate(tb, n);
    }
    page_remove(ram_page);
    /* No code left: stores may take the fast path again. */
    dirty_bitmap_set_range(ram_page, KESTREL_PAGE_SIZE, 1u << DIRTY_MEMORY_CODE);
    return hit_current;
}

void tb_invalidate_phys_range(TcgCpu *c, ram_addr_t ram_addr, ram_addr_t len)
{
    ram_addr_t page = ram_addr & KESTREL_PAGE_MASK;
    PageDesc *pd;
    bool overlap = false;

    g_mutex_lock(&tb_lock);
    pd = page_find(page, false);
    if (!pd) {
        /* Nothing translated here (any more): stop tracking the page. */
        dirty_bitmap_set_range(page, KESTREL_PAGE_SIZE, 1u << DIRTY_MEMORY_CODE);
        g_mutex_unlock(&tb_lock);
        return;
    }
    for (ram_addr_t a = ram_addr; a < ram_addr + len && (a & KESTREL_PAGE_MASK) == page; a++) {
        uint64_t b = a & ~KESTREL_PAGE_MASK;
        if (pd->code_bitmap[b / (8 * sizeof(unsigned long))] &
            (1ul << (b % (8 * sizeof(unsigned long))))) {
            overlap = true;
            break;
        }
    }
    if (overlap) {
        bool self = invalidate_page_locked(page, c ? c->cur_tb : NULL);
        if (self && c && c->in_exec) {
            /* The running block changed under us: finish this instruction,
             * then retranslate from the next one. */
            tcg_stop_tb(c);
        }
    }
    g_mutex_unlock(&tb_lock);
}

void tb_invalidate_phys_pages(TcgCpu *c, ram_addr_t start, ram_addr_t len)
{
    ram_addr_t page = start & KESTREL_PAGE_MASK;
    if (len == 0) {
        return;
    }
    for (; page < start + len; page += KESTREL_PAGE_SIZE) {
        bool self;
        g_mutex_lock(&tb_lock);
        self = invalidate_page_locked(page, c ? c->cur_tb : NULL);
        g_mutex_unlock(&tb_lock);
        if (self && c && c->in_exec) {
            tcg_stop_tb(c);
        }
    }
}

/* True if something wrote one of the TB's pages without going through
 * the invalidation paths (a write racing with translation); the page's
 * TBs are then invalidated. */
static bool tb_pages_written(TranslationBlock *tb)
{
    bool dirty = dirty_bitmap_test_range(tb->page_ram[0], 1, DIRTY_MEMORY_CODE) ||
                 (tb->page_ram[1] != RAM_ADDR_INVALID &&
                  dirty_bitmap_test_range(tb->page_ram[1], 1, DIRTY_MEMORY_CODE));
    if (!dirty) {
        return false;
    }
    g_mutex_lock(&tb_lock);
    if (!tb->invalid) {
        invalidate_page_locked(tb->page_ram[0], NULL);
        if (tb->page_ram[1] != RAM_ADDR_INVALID) {
            invalidate_page_locked(tb->page_ram[1], NULL);
        }
    }
    g_mutex_unlock(&tb_lock);
    return true;
}

static TranslationBlock *tb_lookup_locked(uint64_t pc, uint64_t cs_base, uint32_t flags,
                                          ram_addr_t ram_pc)
{
    unsigned h = tb_hash_func(ram_pc, flags);
    for (TranslationBlock *tb = tb_hash[h]; tb; tb = tb->hash_next) {
        if (tb->pc == pc && tb->cs_base == cs_base && tb->flags == flags &&
            tb_ram_pc(tb) == ram_pc && !tb->invalid) {
            return tb;
        }
    }
    return NULL;
}

/* A TB spilling onto a second page is only valid while that page maps to
 * the same RAM (checked outside tb_lock: the probe may walk page tables). */
static bool tb_second_page_matches(TcgCpu *c, TranslationBlock *tb)
{
    uint8_t *host;
    ram_addr_t ram1;
    int mmu = (tb->flags & HF_CPL_MASK) == 3 ? MMU_IDX_USER : MMU_IDX_KERNEL;
    if (tb->page_ram[1] == RAM_ADDR_INVALID) {
        return true;
    }
    return tcg_get_code_page(c, tb->page_vaddr[1], mmu, true, &host, &ram1) &&
           ram1 == tb->page_ram[1];
}

TranslationBlock *tb_find(TcgCpu *c)
{
    CPUX86State *env = c->env;
    uint64_t pc, cs_base;
    uint32_t flags;
    unsigned jh;
    TranslationBlock *tb;
    uint8_t *host;
    ram_addr_t ram_page, ram_pc;
    int mmu;

    x86_tcg_get_tb_key(env, &pc, &cs_base, &flags);
    jh = tb_jmp_cache_hash(pc);
    tb = c->jmp_cache[jh];
    if (tb && tb->pc == pc && tb->cs_base == cs_base && tb->flags == flags && !tb->invalid) {
        /* Guest stores and device writes invalidate eagerly (NOTDIRTY path
         * and the code-write hook), so a valid cached TB is current. */
        return tb;
    }

    mmu = (flags & HF_CPL_MASK) == 3 ? MMU_IDX_USER : MMU_IDX_KERNEL;
    c->tb_flags = flags;
    /* Raises the fetch fault (#PF/#GP) with rip at the block start. */
    tcg_get_code_page(c, pc, mmu, false, &host, &ram_page);
    ram_pc = ram_page + (pc & ~KESTREL_PAGE_MASK);

    for (;;) {
        g_mutex_lock(&tb_lock);
        tb = tb_lookup_locked(pc, cs_base, flags, ram_pc);
        g_mutex_unlock(&tb_lock);
        if (tb && tb_pages_written(tb)) {
            continue;
        }
        if (tb && !tb_second_page_matches(c, tb)) {
            tb = NULL;
        }
        break;
    }
    if (!tb) {
        TranslationBlock *other;
        tb = x86_translate_tb(c, pc, cs_base, flags, ram_page);
        x86_jit_translate_tb(tb);   /* specialises, then host code */
        g_mutex_lock(&tb_lock);
        other = tb_lookup_locked(pc, cs_base, flags, ram_pc);
        if (other && other->page_ram[1] == tb->page_ram[1]) {
            /* Another vCPU translated it meanwhile. */
            __atomic_fetch_sub(&tb_bytes, sizeof(*tb) + tb->n_insns * sizeof(Insn),
                               __ATOMIC_RELAXED);
            g_free(tb);
            tb = other;
        } else {
            tb_insert(tb);
        }
        g_mutex_unlock(&tb_lock);
        c->tb_flush_wanted = tb_budget_exceeded();
        if (tb != other) {
            /* A write that raced with the translation invalidates the new
             * TB here; it still runs once (as decoded), then is redone. */
            tb_pages_written(tb);
        }
    }
    c->jmp_cache[jh] = tb;
    return tb;
}

static void free_tb_chain_hash(void)
{
    for (unsigned h = 0; h < TB_HASH_SIZE; h++) {
        TranslationBlock *tb = tb_hash[h];
        while (tb) {
            TranslationBlock *next = tb->hash_next;
            g_free(tb);
            tb = next;
        }
        tb_hash[h] = NULL;
    }
    while (retired) {
        TranslationBlock *next = retired->retired_next;
        g_free(retired);
        retired = next;
    }
}

static void mark_page_untracked(gpointer key, gpointer value, gpointer opaque)
{
    ram_addr_t page = ((ram_addr_t)(uintptr_t)key - 1) << KESTREL_PAGE_BITS;
    dirty_bitmap_set_range(page, KESTREL_PAGE_SIZE, 1u << DIRTY_MEMORY_CODE);
}

static void clear_jmp_cache_cb(TcgCpu *c, void *opaque)
{
    tb_jmp_cache_clear(c);
}

void tb_flush_locked_exclusive(void)
{
    g_mutex_lock(&tb_lock);
    if (page_descs) {
        g_hash_table_foreach(page_descs, mark_page_untracked, NULL);
        g_hash_table_remove_all(page_descs);
    }
    free_tb_chain_hash();
    tcg_jit_flush();
    __atomic_store_n(&tb_bytes, 0, __ATOMIC_RELAXED);
    tcg_stats.tb_flushes++;
    g_mutex_unlock(&tb_lock);
    tcg_cpu_list_foreach(clear_jmp_cache_cb, NULL);
}

void tb_flush_all(TcgCpu *c)
{
    tcg_exec_start_exclusive(c);
    tb_flush_locked_exclusive();
    tcg_exec_end_exclusive(c);
}
