/* Private interfaces between the files of the TCG engine (accel/tcg). */
#ifndef ACCEL_TCG_INTERNAL_H
#define ACCEL_TCG_INTERNAL_H

#include "exec/tcg.h"
#include "exec/ramblock.h"


/* ---- vCPU registry (all TCG vCPUs, for cross-vCPU TLB updates) ---- */
void tcg_cpu_list_add(TcgCpu *c);
void tcg_cpu_list_remove(TcgCpu *c);
/* Calls fn for each vCPU with the list lock held. */
void tcg_cpu_list_foreach(void (*fn)(TcgCpu *c, void *opaque), void *opaque);

/* ---- big lock around device dispatch ---- */
void tcg_bql_lock(void);
void tcg_bql_unlock(void);

/* ---- TB cache (tb.c) ---- */
/* Finds or translates the TB for the current state; may raise a fetch
 * fault (unwinds). */
TranslationBlock *tb_find(TcgCpu *c);
void tb_add_jump(TranslationBlock *tb, int n, TranslationBlock *dest);
/* A guest or device store hit [ram_addr, ram_addr+len) of a page that may
 * hold code: invalidate what overlaps. c (may be NULL) is the writing vCPU,
 * told to leave its TB if the TB was invalidated. */
void tb_invalidate_phys_range(TcgCpu *c, ram_addr_t ram_addr, ram_addr_t len);
/* Drops every TB on the pages of [start, start+len) (device writes). */
void tb_invalidate_phys_pages(TcgCpu *c, ram_addr_t start, ram_addr_t len);
/* Drops every TB and frees them (all vCPUs must be outside TB execution). */
void tb_flush_locked_exclusive(void);
bool tb_budget_exceeded(void);
/* The byte offsets [*start, *end) of page idx (0 or 1) that tb covers,
 * always within the page. */
void tb_page_range(const TranslationBlock *tb, int idx, uint64_t *start, uint64_t *end);
void tb_jmp_cache_clear(TcgCpu *c);
void tb_jmp_cache_clear_page(TcgCpu *c, uint64_t vaddr);
static inline unsigned tb_jmp_cache_hash(uint64_t pc)
{
    /* The upper half of the index comes from the page number so a page's
     * entries can be cleared together (invlpg). */
    unsigned half = JMP_CACHE_BITS / 2;
    uint64_t page = pc >> KESTREL_PAGE_BITS;
    return (unsigned)((((page ^ (page >> half)) & ((1u << half) - 1)) << half) |
                      ((pc ^ (pc >> half)) & ((1u << half) - 1)));
}
/* Counts, for tests and statistics. */
typedef struct TcgStats {
    uint64_t tbs_translated;
    uint64_t tbs_invalidated;
    uint64_t tb_flushes;
    uint64_t chain_links;
} TcgStats;
extern TcgStats tcg_stats;

/* ---- TLB (cputlb.c) ---- */
/* A page just got its first TB: make every vCPU's stores to it take the
 * NOTDIRTY path again. */
void tlb_protect_code_page(ram_addr_t ram_page);
/* Global dirty logging restarted or a sync cleared bits: every RAM write
 * must go through the slow path once more. */
void tlb_reset_dirty_all_cpus(void);

/* ---- exec (cpu-exec.c) ---- */
void tcg_exec_start_exclusive(TcgCpu *self);
void tcg_exec_end_exclusive(TcgCpu *self);

#endif
