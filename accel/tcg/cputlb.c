/*
 * The software TLB: per vCPU, per MMU index, direct mapped. Hits are
 * handled inline (include/exec/tcg.h); this file fills entries from the
 * guest page walk and the memory map, and runs the slow paths: MMIO
 * dispatch (big lock taken), ROM writes, NOTDIRTY stores (dirty bitmaps
 * and translated-code invalidation) and page-crossing accesses.
 */
#include "accel/tcg/tcg-internal.h"
#include "sysemu/cpus.h"
#include "kestrel/log.h"

static inline bool tag_hit(uint64_t tag, uint64_t page)
{
    return (tag & (KESTREL_PAGE_MASK | TLB_INVALID)) == page;
}

static void tlb_clear_entries(TcgCpu *c)
{
    memset(c->tlb, 0xff, sizeof(c->tlb));
    for (int m = 0; m < MMU_IDX_NB; m++) {
        for (unsigned k = 0; k < TLB_SIZE; k++) {
            c->tlb[m][k].addend = 0;
            c->tlb_full[m][k].ram_addr = RAM_ADDR_INVALID;
            c->tlb_full[m][k].global = false;
        }
    }
}

void tlb_flush(TcgCpu *c)
{
    FlatView *old = c->flatview;
    tlb_clear_entries(c);
    c->tlb_has_large_pages = false;
    c->last_a20 = c->env->a20_enabled;
    c->flatview = address_space_get_flatview(&address_space_memory);
    if (old) {
        flatview_unref(old);
    }
    tb_jmp_cache_clear(c);
}

void tlb_flush_nonglobal(TcgCpu *c)
{
    for (int m = 0; m < MMU_IDX_NB; m++) {
        for (unsigned k = 0; k < TLB_SIZE; k++) {
            TLBEntryFull *f = &c->tlb_full[m][k];
            if (!f->global) {
                TLBEntry *e = &c->tlb[m][k];
                e->addr_read = e->addr_write = e->addr_code = ~(uint64_t)0;
                e->addend = 0;
                f->ram_addr = RAM_ADDR_INVALID;
            }
        }
    }
    /* tlb_has_large_pages stays: global large pages may remain. */
    tb_jmp_cache_clear(c);
}

void tlb_flush_page(TcgCpu *c, uint64_t addr)
{
    uint64_t page = addr & KESTREL_PAGE_MASK;
    if (c->tlb_has_large_pages) {
        /* Entries of a large page are spread over 4K slots: flush all. */
        tlb_flush(c);
        return;
    }
    for (int m = 0; m < MMU_IDX_NB; m++) {
        TLBEntry *e = tlb_entry(c, m, addr);
        if (tag_hit(e->addr_read, page) || tag_hit(e->addr_write, page) ||
            tag_hit(e->addr_code, page)) {
            e->addr_read = e->addr_write = e->addr_code = ~(uint64_t)0;
        }
    }
    tb_jmp_cache_clear_page(c, addr);
}

static void request_flush(TcgCpu *c, void *opaque)
{
    __atomic_fetch_or(&c->flush_request, TCG_FLUSH_TLB, __ATOMIC_SEQ_CST);
    if (!tcg_standalone) {
        cpu_exit(c->cs);
    }
}

void tlb_flush_all_cpus(void)
{
    tcg_cpu_list_foreach(request_flush, NULL);
}

/* The dirty clients a store to this RAM range must satisfy. */
static unsigned store_clients(void)
{
    return dirty_clients_active();
}

static void set_page(TcgCpu *c, uint64_t vaddr, int mmu_idx, const TLBFillResult *r)
{
    CPUX86State *env = c->env;
    uint64_t page = vaddr & KESTREL_PAGE_MASK;
    hwaddr phys = r->phys;
    TLBEntry *e = tlb_entry(c, mmu_idx, vaddr);
    TLBEntryFull *f = &c->tlb_full[mmu_idx][(vaddr >> KESTREL_PAGE_BITS) & (TLB_SIZE - 1)];
    const FlatRange *fr;

    if (!env->a20_enabled) {
        phys &= ~(hwaddr)(1u << 20);
    }
    if (r->large_page) {
        c->tlb_has_large_pages = true;
    }
    f->phys = phys;
    f->always_notdirty = false;
    f->global = r->global;
    fr = flatview_lookup(c->flatview, phys);
    if (fr && memory_region_is_ram(fr->mr) && fr->start <= phys &&
        phys + KESTREL_PAGE_SIZE - 1 <= fr->start + fr->size - 1) {
        hwaddr off = fr->offset_in_region + (phys - fr->start);
        uint8_t *host = (uint8_t *)memory_region_get_ram_ptr(fr->mr) + off;
        ram_addr_t ram = memory_region_get_ram_addr(fr->mr) + off;
        f->ram_addr = ram;
        e->addend = (uintptr_t)host - (uintptr_t)page;
        e->addr_read = (r->prot & PAGE_READ) ? page : ~(uint64_t)0;
        e->addr_code = (r->prot & PAGE_EXEC) ? page : ~(uint64_t)0;
        if (!(r->prot & PAGE_WRITE)) {
            e->addr_write = ~(uint64_t)0;
        } else if (fr->readonly || memory_region_is_rom(fr->mr)) {
            e->addr_write = page | TLB_MMIO;      /* dispatch drops it */
        } else {
            unsigned clients = store_clients();
            /* While migration logs (or a display watches this region),
             * bits are cleared behind our back at any time: never let
             * stores bypass the bitmaps. */
            f->always_notdirty = (clients & (1u << DIRTY_MEMORY_MIGRATION)) ||
                                 (fr->dirty_log_mask & (1u << DIRTY_MEMORY_VGA));
            e->addr_write = page;
            if (f->always_notdirty ||
                (clients && !dirty_bitmap_all_dirty(ram, KESTREL_PAGE_SIZE, clients))) {
                e->addr_write |= TLB_NOTDIRTY;
            }
        }
    } else {
        f->ram_addr = RAM_ADDR_INVALID;
        e->addend = 0;
        e->addr_read = (r->prot & PAGE_READ) ? page | TLB_MMIO : ~(uint64_t)0;
        e->addr_write = (r->prot & PAGE_WRITE) ? page | TLB_MMIO : ~(uint64_t)0;
        e->addr_code = (r->prot & PAGE_EXEC) ? page | TLB_MMIO : ~(uint64_t)0;
    }
}

static void tlb_fill(TcgCpu *c, uint64_t addr, MMUAccessType access, int mmu_idx)
{
    TLBFillResult r;
    x86_tlb_fill(c, addr, access, mmu_idx, false, &r);
    set_page(c, addr, mmu_idx, &r);
}

static inline TLBEntryFull *full_entry(TcgCpu *c, int mmu_idx, uint64_t addr)
{
    return &c->tlb_full[mmu_idx][(addr >> KESTREL_PAGE_BITS) & (TLB_SIZE - 1)];
}

void tcg_bql_lock(void)
{
    if (!tcg_standalone) {
        bql_lock();
    }
}

void tcg_bql_unlock(void)
{
    if (!tcg_standalone) {
        bql_unlock();
    }
}

/* After device dispatch, leave the TB after this instruction when a
 * memory-map change requested a flush of this vCPU's TLB (the rest of the
 * TB must not use stale entries), or when the device asked the vCPU to
 * stop or exit (isa-debug-exit, shutdown, reset: nothing after the
 * access may run). */
static inline void after_dispatch(TcgCpu *c)
{
    if (c->flush_request || __atomic_load_n(&c->cs->exit_request, __ATOMIC_RELAXED) ||
        __atomic_load_n(&c->cs->stop, __ATOMIC_RELAXED)) {
        tcg_stop_tb(c);
    }
}

static uint64_t mmio_read(TcgCpu *c, hwaddr phys, unsigned size)
{
    uint64_t v = 0;
    tcg_bql_lock();
    address_space_read_sized(&address_space_memory, phys, &v, size);
    tcg_bql_unlock();
    after_dispatch(c);
    return v;
}

static void mmio_write(TcgCpu *c, hwaddr phys, uint64_t v, unsigned size)
{
    tcg_bql_lock();
    address_space_write_sized(&address_space_memory, phys, v, size);
    tcg_bql_unlock();
    after_dispatch(c);
}

/* A store to a RAM page that is clean for some dirty client. e/f: the TLB
 * entry to switch to the fast path once everything is dirty (or NULL). */
static void notdirty_write(TcgCpu *c, TLBEntry *e, const TLBEntryFull *f, ram_addr_t ram,
                           unsigned size)
{
    unsigned clients = store_clients();
    if ((clients & (1u << DIRTY_MEMORY_CODE)) &&
        !dirty_bitmap_test_range(ram, size, DIRTY_MEMORY_CODE)) {
        tb_invalidate_phys_range(c, ram, size);
    }
    dirty_bitmap_set_range(ram, size, clients & ~(1u << DIRTY_MEMORY_CODE));
    if (e && !f->always_notdirty && dirty_bitmap_all_dirty(ram & KESTREL_PAGE_MASK, KESTREL_PAGE_SIZE, clients)) {
        e->addr_write &= ~TLB_NOTDIRTY;
    }
}

uint64_t tcg_ld_slow(TcgCpu *c, uint64_t addr, unsigned size, int mmu_idx)
{
    uint64_t page = addr & KESTREL_PAGE_MASK, v = 0;
    TLBEntry *e;

    if (!tlb_same_page(addr, size)) {
        /* Split at the page boundary; both halves may fault. */
        for (unsigned k = 0; k < size; k++) {
            v |= (uint64_t)cpu_ldub(c, addr + k, mmu_idx) << (8 * k);
        }
        return v;
    }
    e = tlb_entry(c, mmu_idx, addr);
    if (!tag_hit(e->addr_read, page)) {
        tlb_fill(c, addr, MMU_DATA_LOAD, mmu_idx);
    }
    if (e->addr_read & TLB_MMIO) {
        return mmio_read(c, full_entry(c, mmu_idx, addr)->phys + (addr & ~KESTREL_PAGE_MASK),
                         size);
    }
    memcpy(&v, (void *)(uintptr_t)(addr + e->addend), size);
    return v;
}

/* The TLB entry of addr, filled for a store (or faulting) on a miss. */
static TLBEntry *tlb_write_entry(TcgCpu *c, uint64_t addr, int mmu_idx)
{
    TLBEntry *e = tlb_entry(c, mmu_idx, addr);
    if (!tag_hit(e->addr_write, addr & KESTREL_PAGE_MASK)) {
        tlb_fill(c, addr, MMU_DATA_STORE, mmu_idx);
    }
    return e;
}

/* A store that crosses a page: faults now unless both pages are writable. */
static void tlb_check_write_both_pages(TcgCpu *c, uint64_t addr, unsigned size, int mmu_idx)
{
    tlb_write_entry(c, addr, mmu_idx);
    tlb_write_entry(c, (addr + size - 1) & KESTREL_PAGE_MASK, mmu_idx);
}

/* Dirty tracking for a store of `size` bytes at addr through RAM entry e
 * (the probe does it just before its caller's host store). */
static void tlb_store_notdirty(TcgCpu *c, TLBEntry *e, uint64_t addr, unsigned size,
                               int mmu_idx)
{
    if (e->addr_write & TLB_NOTDIRTY) {
        const TLBEntryFull *f = full_entry(c, mmu_idx, addr);
        notdirty_write(c, e, f, f->ram_addr + (addr & ~KESTREL_PAGE_MASK), size);
    }
}

void tcg_st_slow(TcgCpu *c, uint64_t addr, uint64_t val, unsigned size, int mmu_idx)
{
    TLBEntry *e;

    if (!tlb_same_page(addr, size)) {
        /* Both pages must be writable before any byte is stored. */
        tlb_check_write_both_pages(c, addr, size, mmu_idx);
        for (unsigned k = 0; k < size; k++) {
            cpu_stb(c, addr + k, (uint8_t)(val >> (8 * k)), mmu_idx);
        }
        return;
    }
    e = tlb_write_entry(c, addr, mmu_idx);
    if (e->addr_write & TLB_MMIO) {
        mmio_write(c, full_entry(c, mmu_idx, addr)->phys + (addr & ~KESTREL_PAGE_MASK), val,
                   size);
        return;
    }
    memcpy((void *)(uintptr_t)(addr + e->addend), &val, size);
    tlb_store_notdirty(c, e, addr, size, mmu_idx);
}

void *tcg_probe_write_host(TcgCpu *c, uint64_t addr, unsigned size, int mmu_idx)
{
    TLBEntry *e;
    if (!tlb_same_page(addr, size)) {
        /* Fault now if either page is not writable; the caller falls back
         * to separate accesses. */
        tlb_check_write_both_pages(c, addr, size, mmu_idx);
        return NULL;
    }
    e = tlb_write_entry(c, addr, mmu_idx);
    if (e->addr_write & TLB_MMIO) {
        return NULL;
    }
    tlb_store_notdirty(c, e, addr, size, mmu_idx);
    return (void *)(uintptr_t)(addr + e->addend);
}

void *tcg_probe_read_host(TcgCpu *c, uint64_t addr, unsigned size, int mmu_idx)
{
    TLBEntry *e;
    if (!tlb_same_page(addr, size)) {
        return NULL;
    }
    e = tlb_entry(c, mmu_idx, addr);
    if (!tag_hit(e->addr_read, addr & KESTREL_PAGE_MASK)) {
        tlb_fill(c, addr, MMU_DATA_LOAD, mmu_idx);
    }
    if (e->addr_read & TLB_MMIO) {
        return NULL;
    }
    return (void *)(uintptr_t)(addr + e->addend);
}

bool tcg_get_code_page(TcgCpu *c, uint64_t addr, int mmu_idx, bool probe,
                       uint8_t **host_page, ram_addr_t *ram_page)
{
    uint64_t page = addr & KESTREL_PAGE_MASK;
    TLBEntry *e = tlb_entry(c, mmu_idx, addr);
    if (!tag_hit(e->addr_code, page)) {
        TLBFillResult r;
        if (!x86_tlb_fill(c, addr, MMU_INST_FETCH, mmu_idx, probe, &r)) {
            return false;
        }
        set_page(c, addr, mmu_idx, &r);
        if (!tag_hit(e->addr_code, page)) {
            return false;
        }
    }
    if (e->addr_code & TLB_MMIO) {
        if (probe) {
            return false;
        }
        log_guest_error("tcg: cpu %d executes from non-RAM physical address 0x%" HWADDR_PRIx
                        "\n", c->cs->index, full_entry(c, mmu_idx, addr)->phys);
        c->excp_vector = EXCP_CANNOT_RUN;
        tcg_cpu_loop_exit(c);
    }
    *host_page = (uint8_t *)(uintptr_t)(page + e->addend);
    *ram_page = full_entry(c, mmu_idx, addr)->ram_addr;
    return true;
}

/* ---- physical accesses for the page walker ---- */

static const FlatRange *phys_ram_range(TcgCpu *c, hwaddr pa, unsigned size)
{
    const FlatRange *fr = flatview_lookup(c->flatview, pa);
    if (fr && memory_region_is_ram(fr->mr) && pa + size - 1 <= fr->start + fr->size - 1) {
        return fr;
    }
    return NULL;
}

static inline hwaddr a20(TcgCpu *c, hwaddr pa)
{
    return c->env->a20_enabled ? pa : pa & ~(hwaddr)(1u << 20);
}

uint64_t tcg_phys_ld(TcgCpu *c, hwaddr pa, unsigned size)
{
    const FlatRange *fr;
    uint64_t v = 0;
    pa = a20(c, pa);
    fr = phys_ram_range(c, pa, size);
    if (fr) {
        uint8_t *host = (uint8_t *)memory_region_get_ram_ptr(fr->mr) + fr->offset_in_region +
                        (pa - fr->start);
        if (size == 8) {
            v = __atomic_load_n((uint64_t *)host, __ATOMIC_RELAXED);
        } else {
            v = __atomic_load_n((uint32_t *)host, __ATOMIC_RELAXED);
        }
        return v;
    }
    return mmio_read(c, pa, size);
}

void tcg_phys_or(TcgCpu *c, hwaddr pa, uint64_t bits, unsigned size)
{
    const FlatRange *fr;
    pa = a20(c, pa);
    fr = phys_ram_range(c, pa, size);
    if (fr && !fr->readonly && !memory_region_is_rom(fr->mr)) {
        hwaddr off = fr->offset_in_region + (pa - fr->start);
        uint8_t *host = (uint8_t *)memory_region_get_ram_ptr(fr->mr) + off;
        ram_addr_t ram = memory_region_get_ram_addr(fr->mr) + off;
        if (size == 8) {
            __atomic_fetch_or((uint64_t *)host, bits, __ATOMIC_SEQ_CST);
        } else {
            __atomic_fetch_or((uint32_t *)host, (uint32_t)bits, __ATOMIC_SEQ_CST);
        }
        if (!dirty_bitmap_all_dirty(ram, size, store_clients())) {
            notdirty_write(c, NULL, NULL, ram, size);
        }
        return;
    }
    if (!fr) {
        uint64_t v = mmio_read(c, pa, size);
        mmio_write(c, pa, v | bits, size);
    }
}

/* ---- cross-vCPU TLB maintenance ---- */

static void protect_one(TcgCpu *c, void *opaque)
{
    ram_addr_t ram_page = *(ram_addr_t *)opaque;
    for (int m = 0; m < MMU_IDX_NB; m++) {
        for (unsigned k = 0; k < TLB_SIZE; k++) {
            if (c->tlb_full[m][k].ram_addr == ram_page) {
                __atomic_fetch_or(&c->tlb[m][k].addr_write, TLB_NOTDIRTY, __ATOMIC_SEQ_CST);
            }
        }
    }
}

void tlb_protect_code_page(ram_addr_t ram_page)
{
    tcg_cpu_list_foreach(protect_one, &ram_page);
}

static void reset_dirty_one(TcgCpu *c, void *opaque)
{
    for (int m = 0; m < MMU_IDX_NB; m++) {
        for (unsigned k = 0; k < TLB_SIZE; k++) {
            if (c->tlb_full[m][k].ram_addr != RAM_ADDR_INVALID) {
                __atomic_fetch_or(&c->tlb[m][k].addr_write, TLB_NOTDIRTY, __ATOMIC_SEQ_CST);
            }
        }
    }
}

void tlb_reset_dirty_all_cpus(void)
{
    tcg_cpu_list_foreach(reset_dirty_one, NULL);
}

/* ---- port I/O ---- */

uint64_t tcg_io_read(TcgCpu *c, uint16_t port, unsigned size)
{
    uint64_t v = 0;
    tcg_bql_lock();
    address_space_read_sized(&address_space_io, port, &v, size);
    tcg_bql_unlock();
    after_dispatch(c);
    return v & (size == 8 ? ~(uint64_t)0 : ((uint64_t)1 << (size * 8)) - 1);
}

void tcg_io_write(TcgCpu *c, uint16_t port, uint64_t val, unsigned size)
{
    tcg_bql_lock();
    address_space_write_sized(&address_space_io, port, val, size);
    tcg_bql_unlock();
    after_dispatch(c);
}
