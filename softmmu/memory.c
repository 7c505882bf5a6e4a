/*
 * The memory API: the region tree, its rendering into FlatViews, listeners,
 * and dispatch of accesses. See docs/memory.md.
 */
#include "kestrel/osdep.h"

#include <pthread.h>
#include "kestrel/log.h"
#include "exec/memory.h"
#include "exec/ramblock.h"

/*
 * Ranges are computed in 128-bit arithmetic: a region may cover the whole
 * 2^64 space, and base addresses of alias targets may lie below zero.
 */
typedef __int128 Addr128;
#define SPACE_END ((Addr128)1 << 64)

/* Recursion guard against alias cycles (an alias of its own container...). */
#define RENDER_MAX_DEPTH 64

AddressSpace address_space_memory;
AddressSpace address_space_io;
static MemoryRegion system_memory;
static MemoryRegion system_io;
static bool memory_system_ready;

static unsigned transaction_depth;
static bool update_pending;
static bool global_dirty_log;
static unsigned region_add_counter;
static unsigned vga_log_regions;          /* regions with VGA logging on */

static GPtrArray *address_spaces;         /* AddressSpace* */
static GPtrArray *all_listeners;          /* MemoryListener*, sorted by priority */
static pthread_mutex_t flatview_lock = PTHREAD_MUTEX_INITIALIZER;              /* guards AddressSpace.current_map swaps */

static void memory_update_topology(void);
static void memory_render_pending(void);
static bool region_in_current_views(const MemoryRegion *mr);

/* "Whole space" is spelled UINT64_MAX by callers (a size of 2^64 does not fit). */
static Addr128 region_size128(const MemoryRegion *mr)
{
    return mr->size == UINT64_MAX ? SPACE_END : (Addr128)mr->size;
}

static GPtrArray *ptr_array_lazy(GPtrArray **array)
{
    if (!*array) {
        *array = g_ptr_array_new();
    }
    return *array;
}

/* ------------------------------------------------------------------------ */
/* Transactions                                                              */
/* ------------------------------------------------------------------------ */

void memory_region_transaction_begin(void)
{
    transaction_depth++;
}

/* Renders and notifies until no change is pending. Listeners may change
 * the tree from their callbacks: those changes are collected as a nested
 * transaction and rendered in the next round. */
static void memory_render_pending(void)
{
    for (unsigned round = 0; update_pending && round < 16; round++) {
        update_pending = false;
        transaction_depth++;
        memory_update_topology();
        transaction_depth--;
    }
}

void memory_region_transaction_commit(void)
{
    g_assert(transaction_depth > 0);
    if (--transaction_depth == 0) {
        memory_render_pending();
    }
}

/* Every tree change is a transaction of its own unless inside one. */
static void memory_changed(void)
{
    memory_region_transaction_begin();
    update_pending = true;
    memory_region_transaction_commit();
}

void memory_dirty_log_masks_changed(void)
{
    memory_changed();
}

/* ------------------------------------------------------------------------ */
/* Regions                                                                   */
/* ------------------------------------------------------------------------ */

void memory_region_init(MemoryRegion *mr, void *owner, const char *name, uint64_t size)
{
    memset(mr, 0, sizeof(*mr));
    mr->name = g_strdup(name ? name : "anonymous");
    mr->kind = MR_CONTAINER;
    mr->size = size;
    mr->owner = owner;
    mr->enabled = true;
}

void memory_region_init_io(MemoryRegion *mr, void *owner, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size)
{
    memory_region_init(mr, owner, name, size);
    mr->kind = MR_MMIO;
    mr->ops = ops;
    mr->opaque = opaque;
}

static bool memory_region_init_ram_kind(MemoryRegion *mr, void *owner, const char *name,
                                        uint64_t size, MemoryRegionKind kind, GError **errp)
{
    RAMBlock *block;

    memory_region_init(mr, owner, name, size);
    block = ram_block_new(mr->name, size, NULL, errp);
    if (!block) {
        return false;
    }
    mr->kind = kind;
    mr->ram_block = block;
    mr->readonly = kind == MR_ROM;
    block->mr = mr;
    return true;
}

bool memory_region_init_ram(MemoryRegion *mr, void *owner, const char *name,
                            uint64_t size, GError **errp)
{
    return memory_region_init_ram_kind(mr, owner, name, size, MR_RAM, errp);
}

bool memory_region_init_rom(MemoryRegion *mr, void *owner, const char *name,
                            uint64_t size, GError **errp)
{
    return memory_region_init_ram_kind(mr, owner, name, size, MR_ROM, errp);
}

void memory_region_init_ram_from_block(MemoryRegion *mr, void *owner, const char *name,
                                       RAMBlock *block)
{
    memory_region_init(mr, owner, name, block->used_length);
    mr->kind = MR_RAM;
    mr->ram_block = block;
    block->mr = mr;
}

void memory_region_init_alias(MemoryRegion *mr, void *owner, const char *name,
                              MemoryRegion *orig, hwaddr offset, uint64_t size)
{
    memory_region_init(mr, owner, name, size);
    mr->kind = MR_ALIAS;
    mr->alias = orig;
    mr->alias_offset = offset;
}

/* True if a current FlatView still points at mr. */
static bool region_in_current_views(const MemoryRegion *mr)
{
    GPtrArray *spaces = ptr_array_lazy(&address_spaces);
    for (guint i = 0; i < spaces->len; i++) {
        const FlatView *view = ((AddressSpace *)g_ptr_array_index(spaces, i))->current_map;
        for (unsigned r = 0; view && r < view->nr; r++) {
            if (view->ranges[r].mr == mr) {
                return true;
            }
        }
    }
    return false;
}

void memory_region_destroy(MemoryRegion *mr)
{
    RAMBlock *block = mr->ram_block;

    if (!mr->name) {
        return;                 /* never initialized, or destroyed already */
    }
    /* Disabled, it renders nothing even through aliases still pointing here. */
    memory_region_transaction_begin();
    mr->enabled = false;
    update_pending = true;
    if (mr->container) {
        memory_region_del_subregion(mr->container, mr);
    }
    if (mr->subregions) {
        for (guint i = 0; i < mr->subregions->len; i++) {
            MemoryRegion *sub = g_ptr_array_index(mr->subregions, i);
            sub->container = NULL;
        }
    }
    memory_region_transaction_commit();
    if (region_in_current_views(mr)) {
        /* Inside an outer transaction: listeners must hear about the region
         * while it is still intact, so this flushes the transaction now. */
        update_pending = true;
        memory_render_pending();
    }
    if ((mr->dirty_log_mask & (1u << DIRTY_MEMORY_VGA)) && --vga_log_regions == 0) {
        dirty_client_enable(DIRTY_MEMORY_VGA, false);
    }
    if (mr->subregions) {
        g_ptr_array_unref(mr->subregions);
    }
    g_free(mr->name);
    memset(mr, 0, sizeof(*mr));
    if (block) {
        if (block->mr == mr) {
            block->mr = NULL;
        }
        ram_block_free(block);
    }
}

/* Sorted: higher priority first; among equals, later-added first. */
static void container_insert_sorted(MemoryRegion *container, MemoryRegion *sub)
{
    GPtrArray *subs = ptr_array_lazy(&container->subregions);
    guint index = 0;

    while (index < subs->len) {
        MemoryRegion *other = g_ptr_array_index(subs, index);
        if (other->priority < sub->priority ||
            (other->priority == sub->priority && other->add_order < sub->add_order)) {
            break;
        }
        index++;
    }
    g_ptr_array_insert(subs, (gint)index, sub);
}

static void add_subregion_common(MemoryRegion *container, hwaddr offset, MemoryRegion *sub,
                                 int priority, bool may_overlap)
{
    g_assert(container && sub && container != sub);
    g_assert(!sub->container);
    sub->container = container;
    sub->addr = offset;
    sub->priority = priority;
    sub->may_overlap = may_overlap;
    sub->add_order = ++region_add_counter;
    container_insert_sorted(container, sub);
    memory_changed();
}

void memory_region_add_subregion(MemoryRegion *container, hwaddr offset, MemoryRegion *sub)
{
    add_subregion_common(container, offset, sub, 0, false);
}

void memory_region_add_subregion_overlap(MemoryRegion *container, hwaddr offset,
                                         MemoryRegion *sub, int priority)
{
    add_subregion_common(container, offset, sub, priority, true);
}

void memory_region_del_subregion(MemoryRegion *container, MemoryRegion *sub)
{
    g_assert(sub->container == container);
    g_ptr_array_remove(container->subregions, sub);
    sub->container = NULL;
    memory_changed();
}

void memory_region_set_enabled(MemoryRegion *mr, bool enabled)
{
    if (mr->enabled != enabled) {
        mr->enabled = enabled;
        memory_changed();
    }
}

void memory_region_set_address(MemoryRegion *mr, hwaddr addr)
{
    /* The region keeps its place among equal priorities: moving it is not
     * adding it again. */
    if (mr->addr != addr) {
        mr->addr = addr;
        memory_changed();
    }
}

void memory_region_set_size(MemoryRegion *mr, uint64_t size)
{
    if (mr->ram_block && size > mr->ram_block->used_length) {
        log_printf("memory: region '%s' cannot grow past its RAM block (%" PRIu64
                   " > %" PRIu64 "); use memory_region_ram_resize\n", mr->name, size,
                   mr->ram_block->used_length);
        return;
    }
    if (mr->size != size) {
        mr->size = size;
        memory_changed();
    }
}

void memory_region_set_alias_offset(MemoryRegion *mr, hwaddr offset)
{
    if (mr->alias_offset != offset) {
        mr->alias_offset = offset;
        memory_changed();
    }
}

void memory_region_set_readonly(MemoryRegion *mr, bool readonly)
{
    if (mr->kind == MR_ROM) {
        return;                 /* a ROM is read-only to the guest, always */
    }
    if (mr->readonly != readonly) {
        mr->readonly = readonly;
        memory_changed();
    }
}

void memory_region_set_log(MemoryRegion *mr, bool log, DirtyMemoryClient client)
{
    uint8_t bit = (uint8_t)(1u << client);
    uint8_t mask;

    if ((unsigned)client >= DIRTY_MEMORY_NUM) {
        return;
    }
    mask = log ? (mr->dirty_log_mask | bit) : (mr->dirty_log_mask & ~bit);
    if (mask == mr->dirty_log_mask) {
        return;
    }
    memory_region_transaction_begin();
    mr->dirty_log_mask = mask;
    if (client == DIRTY_MEMORY_VGA) {
        if (log && vga_log_regions++ == 0) {
            dirty_client_enable(DIRTY_MEMORY_VGA, true);
        } else if (!log && --vga_log_regions == 0) {
            dirty_client_enable(DIRTY_MEMORY_VGA, false);
        }
    }
    update_pending = true;
    memory_region_transaction_commit();
}

bool memory_region_ram_resize(MemoryRegion *mr, uint64_t new_size, GError **errp)
{
    uint64_t old_size = mr->size;

    if (!mr->ram_block) {
        error_setg(errp, "memory region '%s' is not RAM", mr->name ? mr->name : "?");
        return false;
    }
    if (new_size == old_size) {
        return true;
    }
    if (new_size < old_size) {
        /* Views must stop using the tail before the block gives it back. */
        if (new_size == 0) {
            error_setg(errp, "cannot resize RAM region '%s' to 0 bytes", mr->name);
            return false;
        }
        memory_region_transaction_begin();
        mr->size = new_size;
        update_pending = true;
        memory_region_transaction_commit();
        if (region_in_current_views(mr) && transaction_depth > 0) {
            memory_render_pending();     /* see memory_region_destroy() */
        }
        if (!ram_block_resize(mr->ram_block, new_size, errp)) {
            return false;   /* cannot happen when shrinking; the region is smaller anyway */
        }
        return true;
    }
    if (!ram_block_resize(mr->ram_block, new_size, errp)) {
        return false;
    }
    memory_region_transaction_begin();
    mr->size = new_size;
    update_pending = true;
    memory_region_transaction_commit();
    return true;
}

unsigned memory_region_get_dirty_log_mask(const MemoryRegion *mr)
{
    unsigned global;
    if (!mr || !mr->ram_block) {
        return 0;
    }
    global = dirty_clients_active() & ((1u << DIRTY_MEMORY_CODE) |
                                       (1u << DIRTY_MEMORY_MIGRATION));
    if (global_dirty_log) {
        global |= 1u << DIRTY_MEMORY_MIGRATION;
    }
    return (mr->dirty_log_mask | global) & DIRTY_CLIENTS_ALL;
}

bool memory_region_is_ram(const MemoryRegion *mr)
{
    return mr && (mr->kind == MR_RAM || mr->kind == MR_ROM) && mr->ram_block;
}

bool memory_region_is_rom(const MemoryRegion *mr)
{
    return mr && mr->kind == MR_ROM;
}

/* Follows aliases to a RAM region; *offset accumulates the alias offsets. */
static MemoryRegion *memory_region_resolve_ram(MemoryRegion *mr, hwaddr *offset)
{
    for (unsigned depth = 0; mr && depth < RENDER_MAX_DEPTH; depth++) {
        if (memory_region_is_ram(mr)) {
            return mr;
        }
        if (mr->kind != MR_ALIAS) {
            return NULL;
        }
        *offset += mr->alias_offset;
        mr = mr->alias;
    }
    return NULL;
}

void *memory_region_get_ram_ptr(MemoryRegion *mr)
{
    hwaddr offset = 0;
    MemoryRegion *ram = memory_region_resolve_ram(mr, &offset);
    if (!ram || offset >= ram->ram_block->used_length) {
        return NULL;
    }
    return ram->ram_block->host + offset;
}

ram_addr_t memory_region_get_ram_addr(MemoryRegion *mr)
{
    hwaddr offset = 0;
    MemoryRegion *ram = memory_region_resolve_ram(mr, &offset);
    if (!ram || offset >= ram->ram_block->used_length) {
        return RAM_ADDR_INVALID;
    }
    return ram->ram_block->offset + offset;
}

/* ------------------------------------------------------------------------ */
/* MMIO dispatch with access size fitting                                   */
/* ------------------------------------------------------------------------ */

static bool valid_access_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* The sizes the device implements, sanitised (0 means 1 and 4). */
static void mmio_access_sizes(const MemoryRegionOps *ops, unsigned *min, unsigned *max)
{
    unsigned lo = ops->min_access_size ? ops->min_access_size : 1;
    unsigned hi = ops->max_access_size ? ops->max_access_size : 4;
    if (!valid_access_size(lo)) {
        lo = 1;
    }
    if (!valid_access_size(hi)) {
        hi = 4;
    }
    *min = lo;
    *max = MAX(lo, hi);
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (((uint64_t)1 << (size * 8)) - 1);
}

/* Region offset + size fits inside the region (no wrap). */
static bool access_in_region(const MemoryRegion *mr, hwaddr addr, unsigned size)
{
    Addr128 end = (Addr128)addr + size;
    return end <= region_size128(mr);
}

static uint64_t mmio_call_read(MemoryRegion *mr, hwaddr addr, unsigned size)
{
    if (!mr->ops->read) {
        log_guest_error("memory: read of %u bytes at 0x%" HWADDR_PRIx " in write-only "
                        "region '%s'\n", size, addr, mr->name);
        return size_mask(size);
    }
    return mr->ops->read(mr->opaque, addr, size) & size_mask(size);
}

static void mmio_call_write(MemoryRegion *mr, hwaddr addr, uint64_t data, unsigned size)
{
    if (!mr->ops->write) {
        log_guest_error("memory: write of %u bytes at 0x%" HWADDR_PRIx " to read-only "
                        "region '%s' dropped\n", size, addr, mr->name);
        return;
    }
    mr->ops->write(mr->opaque, addr, data & size_mask(size), size);
}

/*
 * An access of `size` bytes at `addr` is carried out as device accesses of
 * `unit` = clamp(size, min, max) bytes. Without ops->unaligned the units are
 * aligned to their size (so the access may touch one more unit). Units only
 * partly covered are read whole and the wanted bytes extracted (reads), or
 * read, merged and written back (writes).
 */
static void mmio_read(MemoryRegion *mr, hwaddr addr, uint64_t *data, unsigned size)
{
    unsigned min, max, unit;
    uint64_t result = 0;
    hwaddr first;

    mmio_access_sizes(mr->ops, &min, &max);
    unit = MAX(MIN(size, max), min);
    first = mr->ops->unaligned ? addr : addr & ~(hwaddr)(unit - 1);
    /* 128-bit ends: an access may end exactly at 2^64. */
    for (Addr128 at = first; at < (Addr128)addr + size; at += unit) {
        uint64_t value = mmio_call_read(mr, (hwaddr)at, unit);
        /* Copy the bytes of this unit that the access wants. */
        for (unsigned i = 0; i < unit; i++) {
            Addr128 byte_addr = at + i;
            if (byte_addr >= addr && byte_addr < (Addr128)addr + size) {
                result |= ((value >> (i * 8)) & 0xff) << ((unsigned)(byte_addr - addr) * 8);
            }
        }
    }
    *data = result;
}

static void mmio_write(MemoryRegion *mr, hwaddr addr, uint64_t data, unsigned size)
{
    unsigned min, max, unit;
    hwaddr first;

    mmio_access_sizes(mr->ops, &min, &max);
    unit = MAX(MIN(size, max), min);
    first = mr->ops->unaligned ? addr : addr & ~(hwaddr)(unit - 1);
    for (Addr128 at = first; at < (Addr128)addr + size; at += unit) {
        bool whole = at >= addr && at + unit <= (Addr128)addr + size;
        uint64_t value = whole ? 0 : mmio_call_read(mr, (hwaddr)at, unit);
        for (unsigned i = 0; i < unit; i++) {
            Addr128 byte_addr = at + i;
            if (byte_addr >= addr && byte_addr < (Addr128)addr + size) {
                uint64_t byte = (data >> ((unsigned)(byte_addr - addr) * 8)) & 0xff;
                value = (value & ~((uint64_t)0xff << (i * 8))) | (byte << (i * 8));
            }
        }
        mmio_call_write(mr, (hwaddr)at, value, unit);
    }
}

/* Follows aliases to the region that serves a direct access of `size` bytes
 * at *addr (adjusting *addr), or logs and returns NULL when nothing valid
 * serves it. `what` is "read" or "write" for the log. */
static MemoryRegion *dispatch_target(MemoryRegion *mr, hwaddr *addr, unsigned size,
                                     const char *what)
{
    for (unsigned depth = 0; mr && mr->kind == MR_ALIAS && depth < RENDER_MAX_DEPTH; depth++) {
        if ((Addr128)*addr + mr->alias_offset >= SPACE_END ||
            !access_in_region(mr, *addr, size)) {
            break;
        }
        *addr += mr->alias_offset;
        mr = mr->alias;
    }
    if (!mr || !valid_access_size(size) || !access_in_region(mr, *addr, size) ||
        (mr->kind != MR_MMIO && !memory_region_is_ram(mr))) {
        log_guest_error("memory: invalid %s of %u bytes at 0x%" HWADDR_PRIx " in region "
                        "'%s'\n", what, size, *addr, mr && mr->name ? mr->name : "?");
        return NULL;
    }
    return mr;
}

MemTxResult memory_region_dispatch_read(MemoryRegion *mr, hwaddr addr,
                                        uint64_t *data, unsigned size)
{
    *data = valid_access_size(size) ? size_mask(size) : UINT64_MAX;
    mr = dispatch_target(mr, &addr, size, "read");
    if (!mr) {
        return MEMTX_DECODE_ERROR;
    }
    if (mr->kind == MR_MMIO) {
        if (!mr->ops) {
            return MEMTX_DECODE_ERROR;
        }
        mmio_read(mr, addr, data, size);
        return MEMTX_OK;
    }
    if (addr >= mr->ram_block->used_length || size > mr->ram_block->used_length - addr) {
        return MEMTX_DECODE_ERROR;
    }
    {
        uint8_t bytes[8];
        uint64_t value = 0;
        memcpy(bytes, mr->ram_block->host + addr, size);
        for (unsigned i = 0; i < size; i++) {
            value |= (uint64_t)bytes[i] << (i * 8);
        }
        *data = value;
    }
    return MEMTX_OK;
}

MemTxResult memory_region_dispatch_write(MemoryRegion *mr, hwaddr addr,
                                         uint64_t data, unsigned size)
{
    mr = dispatch_target(mr, &addr, size, "write");
    if (!mr) {
        return MEMTX_DECODE_ERROR;
    }
    if (mr->kind == MR_MMIO) {
        if (!mr->ops) {
            return MEMTX_DECODE_ERROR;
        }
        mmio_write(mr, addr, data, size);
        return MEMTX_OK;
    }
    if (mr->readonly || mr->kind == MR_ROM) {
        log_guest_error("memory: write of %u bytes at 0x%" HWADDR_PRIx " to read-only "
                        "region '%s' dropped\n", size, addr, mr->name);
        return MEMTX_ERROR;
    }
    if (addr >= mr->ram_block->used_length || size > mr->ram_block->used_length - addr) {
        return MEMTX_DECODE_ERROR;
    }
    {
        uint8_t bytes[8];
        for (unsigned i = 0; i < size; i++) {
            bytes[i] = (uint8_t)(data >> (i * 8));
        }
        memcpy(mr->ram_block->host + addr, bytes, size);
        dirty_bitmap_mark_written(mr->ram_block->offset + addr, size);
    }
    return MEMTX_OK;
}

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */
/* ------------------------------------------------------------------------ */

/* Inserts the parts of [start, end) not yet covered (higher priority first). */
static void flat_insert_holes(GArray *ranges, MemoryRegion *mr, Addr128 base,
                              Addr128 start, Addr128 end, bool readonly, uint8_t log_mask)
{
    guint i = 0;
    Addr128 cursor = start;

    while (cursor < end) {
        Addr128 hole_end = end;
        /* Skip ranges that end before the cursor. */
        while (i < ranges->len) {
            FlatRange *r = &g_array_index(ranges, FlatRange, i);
            Addr128 r_end = (Addr128)r->start + r->size;
            if (r_end > cursor) {
                break;
            }
            i++;
        }
        if (i < ranges->len) {
            FlatRange *r = &g_array_index(ranges, FlatRange, i);
            if ((Addr128)r->start <= cursor) {
                cursor = (Addr128)r->start + r->size;      /* covered already */
                i++;
                continue;
            }
            hole_end = MIN(end, (Addr128)r->start);
        }
        /* Fill [cursor, hole_end); pieces below 2^64 bytes so size fits. */
        while (cursor < hole_end) {
            Addr128 piece = MIN(hole_end - cursor, (Addr128)1 << 63);
            FlatRange fr = {
                .start = (hwaddr)cursor,
                .size = (uint64_t)piece,
                .mr = mr,
                .offset_in_region = (hwaddr)(cursor - base),
                .readonly = readonly,
                .dirty_log_mask = log_mask,
            };
            g_array_insert_val(ranges, i, fr);
            i++;
            cursor += piece;
        }
    }
}

static void render_region(GArray *ranges, MemoryRegion *mr, Addr128 base,
                          Addr128 clip_start, Addr128 clip_end, bool readonly,
                          unsigned depth)
{
    Addr128 start, end;

    if (!mr || !mr->enabled) {
        return;
    }
    if (depth > RENDER_MAX_DEPTH) {
        log_printf("memory: region '%s' nests too deeply (alias loop?); not rendered\n",
                   mr->name);
        return;
    }
    start = MAX(base, clip_start);
    end = MIN(base + region_size128(mr), clip_end);
    if (start >= end) {
        return;
    }
    readonly = readonly || mr->readonly || mr->kind == MR_ROM;

    if (mr->kind == MR_ALIAS) {
        render_region(ranges, mr->alias, base - (Addr128)mr->alias_offset, start, end,
                      readonly, depth + 1);
        return;
    }
    if (mr->subregions) {
        for (guint i = 0; i < mr->subregions->len; i++) {
            MemoryRegion *sub = g_ptr_array_index(mr->subregions, i);
            render_region(ranges, sub, base + sub->addr, start, end, readonly, depth + 1);
        }
    }
    if (mr->kind == MR_MMIO) {
        flat_insert_holes(ranges, mr, base, start, end, readonly, 0);
    } else if (memory_region_is_ram(mr)) {
        /* Never expose more than the block holds. */
        Addr128 ram_end = MIN(end, base + (Addr128)mr->ram_block->used_length);
        if (start < ram_end) {
            flat_insert_holes(ranges, mr, base, start, ram_end, readonly,
                              (uint8_t)memory_region_get_dirty_log_mask(mr));
        }
    }
}

static bool flat_ranges_mergeable(const FlatRange *a, const FlatRange *b)
{
    return a->mr == b->mr && a->readonly == b->readonly &&
           a->dirty_log_mask == b->dirty_log_mask &&
           (Addr128)a->start + a->size == (Addr128)b->start &&
           (Addr128)a->offset_in_region + a->size == (Addr128)b->offset_in_region &&
           (Addr128)a->size + b->size <= UINT64_MAX;
}

static FlatView *flatview_render(MemoryRegion *root)
{
    GArray *ranges = g_array_new(FALSE, TRUE, sizeof(FlatRange));
    FlatView *view = g_new0(FlatView, 1);
    guint out = 0;

    if (root) {
        render_region(ranges, root, 0, 0, SPACE_END, false, 0);
    }
    for (guint i = 0; i < ranges->len; i++) {
        FlatRange *r = &g_array_index(ranges, FlatRange, i);
        if (out > 0 && flat_ranges_mergeable(&g_array_index(ranges, FlatRange, out - 1), r)) {
            g_array_index(ranges, FlatRange, out - 1).size += r->size;
        } else {
            g_array_index(ranges, FlatRange, out++) = *r;
        }
    }
    g_array_set_size(ranges, out);
    view->refcount = 1;
    view->nr = out;
    view->ranges = (FlatRange *)g_array_free(ranges, FALSE);
    return view;
}

void flatview_unref(FlatView *view)
{
    if (view && g_atomic_int_dec_and_test(&view->refcount)) {
        g_free(view->ranges);
        g_free(view);
    }
}

FlatView *address_space_get_flatview(AddressSpace *as)
{
    FlatView *view;
    pthread_mutex_lock(&flatview_lock);
    view = as->current_map;
    g_atomic_int_inc(&view->refcount);
    pthread_mutex_unlock(&flatview_lock);
    return view;
}

const FlatRange *flatview_lookup(const FlatView *view, hwaddr addr)
{
    unsigned lo = 0, hi = view->nr;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const FlatRange *r = &view->ranges[mid];
        if (addr < r->start) {
            hi = mid;
        } else if (addr - r->start >= r->size) {
            lo = mid + 1;
        } else {
            return r;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Listeners                                                                 */
/* ------------------------------------------------------------------------ */

static MemoryRegionSection section_from_range(AddressSpace *as, const FlatRange *fr)
{
    return (MemoryRegionSection) {
        .mr = fr->mr,
        .as = as,
        .offset_within_region = fr->offset_in_region,
        .offset_within_address_space = fr->start,
        .size = fr->size,
        .readonly = fr->readonly,
        .dirty_log_mask = fr->dirty_log_mask,
    };
}

static bool flat_ranges_same(const FlatRange *a, const FlatRange *b)
{
    return a->start == b->start && a->size == b->size && a->mr == b->mr &&
           a->offset_in_region == b->offset_in_region && a->readonly == b->readonly;
}

/* Listener lists are sorted by priority; equal priorities keep registration order. */
static void listener_insert_sorted(GPtrArray *list, MemoryListener *listener)
{
    guint index = list->len;
    while (index > 0 &&
           ((MemoryListener *)g_ptr_array_index(list, index - 1))->priority > listener->priority) {
        index--;
    }
    g_ptr_array_insert(list, (gint)index, listener);
}

static void listeners_begin(void)
{
    if (!all_listeners) {
        return;
    }
    for (guint i = 0; i < all_listeners->len; i++) {
        MemoryListener *l = g_ptr_array_index(all_listeners, i);
        if (l->begin) {
            l->begin(l);
        }
    }
}

static void listeners_commit(void)
{
    if (!all_listeners) {
        return;
    }
    for (guint i = 0; i < all_listeners->len; i++) {
        MemoryListener *l = g_ptr_array_index(all_listeners, i);
        if (l->commit) {
            l->commit(l);
        }
    }
}

static void listener_log_change(MemoryListener *l, MemoryRegionSection *section,
                                unsigned old_mask, unsigned new_mask)
{
    if ((new_mask & ~old_mask) && l->log_start) {
        l->log_start(l, section, old_mask, new_mask);
    }
    if ((old_mask & ~new_mask) && l->log_stop) {
        l->log_stop(l, section, old_mask, new_mask);
    }
}

/* A new range: region_add, then log_start if writes there are logged. */
static void listener_range_added(MemoryListener *l, AddressSpace *as, const FlatRange *fr)
{
    MemoryRegionSection section = section_from_range(as, fr);
    if (l->region_add) {
        l->region_add(l, &section);
    }
    if (fr->dirty_log_mask) {
        listener_log_change(l, &section, 0, fr->dirty_log_mask);
    }
}

static void listener_range_removed(MemoryListener *l, AddressSpace *as, const FlatRange *fr)
{
    MemoryRegionSection section = section_from_range(as, fr);
    if (l->region_del) {
        l->region_del(l, &section);
    }
}

/*
 * Tells the space's listeners how `old` became `new`: first every removed
 * range (listeners in reverse priority order), then in address order every
 * added range (region_add, in priority order) and every kept range whose
 * dirty_log_mask changed (log_start/log_stop).
 */
static void address_space_notify_diff(AddressSpace *as, const FlatView *old,
                                      const FlatView *new)
{
    GPtrArray *ls = as->listeners;
    unsigned i, j;

    if (!ls || ls->len == 0) {
        return;
    }
    /* Pass 1: removals. Both views are sorted; walk them together. */
    for (i = 0, j = 0; i < old->nr; i++) {
        const FlatRange *o = &old->ranges[i];
        while (j < new->nr && new->ranges[j].start < o->start) {
            j++;
        }
        if (j < new->nr && flat_ranges_same(o, &new->ranges[j])) {
            continue;
        }
        for (guint k = ls->len; k-- > 0;) {
            listener_range_removed(g_ptr_array_index(ls, k), as, o);
        }
    }
    /* Pass 2: additions and log changes. */
    for (i = 0, j = 0; j < new->nr; j++) {
        const FlatRange *n = &new->ranges[j];
        const FlatRange *o = NULL;
        while (i < old->nr && old->ranges[i].start < n->start) {
            i++;
        }
        if (i < old->nr && flat_ranges_same(&old->ranges[i], n)) {
            o = &old->ranges[i];
        }
        for (guint k = 0; k < ls->len; k++) {
            MemoryListener *l = g_ptr_array_index(ls, k);
            if (!o) {
                listener_range_added(l, as, n);
            } else if (o->dirty_log_mask != n->dirty_log_mask) {
                MemoryRegionSection section = section_from_range(as, n);
                listener_log_change(l, &section, o->dirty_log_mask, n->dirty_log_mask);
            }
        }
    }
}

static void memory_update_topology(void)
{
    GPtrArray *spaces = ptr_array_lazy(&address_spaces);
    listeners_begin();
    for (guint i = 0; i < spaces->len; i++) {
        AddressSpace *as = g_ptr_array_index(spaces, i);
        FlatView *new = flatview_render(as->root);
        FlatView *old;

        pthread_mutex_lock(&flatview_lock);
        old = as->current_map;
        as->current_map = new;
        pthread_mutex_unlock(&flatview_lock);

        address_space_notify_diff(as, old, new);
        flatview_unref(old);
    }
    listeners_commit();
}

void memory_listener_register(MemoryListener *listener, AddressSpace *as)
{
    FlatView *view;

    g_assert(!listener->address_space);
    listener->address_space = as;
    listener_insert_sorted(ptr_array_lazy(&as->listeners), listener);
    listener_insert_sorted(ptr_array_lazy(&all_listeners), listener);

    if (global_dirty_log && listener->log_global_start) {
        GError *err = NULL;
        if (!listener->log_global_start(listener, &err)) {
            log_printf("memory: listener '%s' cannot join dirty logging: %s\n",
                       listener->name ? listener->name : "?",
                       err ? err->message : "unknown error");
            g_clear_error(&err);
        }
    }
    /* Replay the current view to this listener only. */
    view = address_space_get_flatview(as);
    if (listener->begin) {
        listener->begin(listener);
    }
    for (unsigned i = 0; i < view->nr; i++) {
        listener_range_added(listener, as, &view->ranges[i]);
    }
    if (listener->commit) {
        listener->commit(listener);
    }
    flatview_unref(view);
}

void memory_listener_unregister(MemoryListener *listener)
{
    AddressSpace *as = listener->address_space;
    FlatView *view;

    if (!as) {
        return;
    }
    view = address_space_get_flatview(as);
    if (listener->begin) {
        listener->begin(listener);
    }
    for (unsigned i = view->nr; i-- > 0;) {
        listener_range_removed(listener, as, &view->ranges[i]);
    }
    if (listener->commit) {
        listener->commit(listener);
    }
    flatview_unref(view);
    g_ptr_array_remove(as->listeners, listener);
    g_ptr_array_remove(all_listeners, listener);
    listener->address_space = NULL;
}

bool memory_global_dirty_log_start(GError **errp)
{
    GPtrArray *ls = ptr_array_lazy(&all_listeners);
    guint started;

    if (global_dirty_log) {
        return true;
    }
    for (started = 0; started < ls->len; started++) {
        MemoryListener *l = g_ptr_array_index(ls, started);
        if (l->log_global_start && !l->log_global_start(l, errp)) {
            /* Undo, newest first, and leave everything as it was. */
            while (started-- > 0) {
                MemoryListener *u = g_ptr_array_index(ls, started);
                if (u->log_global_stop) {
                    u->log_global_stop(u);
                }
            }
            return false;
        }
    }
    memory_region_transaction_begin();
    global_dirty_log = true;
    dirty_client_enable(DIRTY_MEMORY_MIGRATION, true);
    update_pending = true;
    memory_region_transaction_commit();
    return true;
}

void memory_global_dirty_log_stop(void)
{
    GPtrArray *ls = ptr_array_lazy(&all_listeners);

    if (!global_dirty_log) {
        return;
    }
    memory_region_transaction_begin();
    global_dirty_log = false;
    dirty_client_enable(DIRTY_MEMORY_MIGRATION, false);
    update_pending = true;
    memory_region_transaction_commit();
    for (guint i = ls->len; i-- > 0;) {
        MemoryListener *l = g_ptr_array_index(ls, i);
        if (l->log_global_stop) {
            l->log_global_stop(l);
        }
    }
}

bool memory_global_dirty_log_active(void)
{
    return global_dirty_log;
}

void memory_global_dirty_log_sync(void)
{
    GPtrArray *spaces = ptr_array_lazy(&address_spaces);
    for (guint i = 0; i < spaces->len; i++) {
        AddressSpace *as = g_ptr_array_index(spaces, i);
        FlatView *view;

        if (!as->listeners || as->listeners->len == 0) {
            continue;
        }
        view = address_space_get_flatview(as);
        for (guint k = 0; k < as->listeners->len; k++) {
            MemoryListener *l = g_ptr_array_index(as->listeners, k);
            if (!l->log_sync) {
                continue;
            }
            for (unsigned r = 0; r < view->nr; r++) {
                if (memory_region_is_ram(view->ranges[r].mr) && view->ranges[r].dirty_log_mask) {
                    MemoryRegionSection section = section_from_range(as, &view->ranges[r]);
                    l->log_sync(l, &section);
                }
            }
        }
        flatview_unref(view);
    }
}

/* ------------------------------------------------------------------------ */
/* Address spaces                                                            */
/* ------------------------------------------------------------------------ */

void address_space_init(AddressSpace *as, MemoryRegion *root, const char *name)
{
    memset(as, 0, sizeof(*as));
    as->name = g_strdup(name);
    as->root = root;
    as->listeners = g_ptr_array_new();
    as->current_map = flatview_render(root);
    g_ptr_array_add(ptr_array_lazy(&address_spaces), as);
}

void address_space_destroy(AddressSpace *as)
{
    while (as->listeners && as->listeners->len) {
        memory_listener_unregister(g_ptr_array_index(as->listeners, as->listeners->len - 1));
    }
    g_ptr_array_remove(ptr_array_lazy(&address_spaces), as);
    pthread_mutex_lock(&flatview_lock);
    FlatView *view = as->current_map;
    as->current_map = NULL;
    pthread_mutex_unlock(&flatview_lock);
    flatview_unref(view);
    if (as->listeners) {
        g_ptr_array_unref(as->listeners);
    }
    g_free(as->name);
    memset(as, 0, sizeof(*as));
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */
/* ------------------------------------------------------------------------ */

/* Rejects accesses running past the end of the 2^64 space. */
static bool access_wraps(hwaddr addr, hwaddr len)
{
    return len > 0 && len - 1 > UINT64_MAX - addr;
}

static MemTxResult worse(MemTxResult a, MemTxResult b)
{
    return a != MEMTX_OK ? a : b;
}

/* Bytes from addr up to the next mapped range (or to the end of the request). */
static hwaddr unassigned_run(const FlatView *view, hwaddr addr, hwaddr len)
{
    unsigned lo = 0, hi = view->nr;
    while (lo < hi) {               /* first range starting after addr */
        unsigned mid = lo + (hi - lo) / 2;
        if (view->ranges[mid].start <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < view->nr && view->ranges[lo].start - addr < len) {
        return view->ranges[lo].start - addr;
    }
    return len;
}

/* Largest naturally aligned power of two ≤ 8 fitting len at addr. */
static unsigned mmio_chunk_size(hwaddr offset, hwaddr len)
{
    unsigned size = 8;
    while (size > 1 && (size > len || (offset & (size - 1)))) {
        size >>= 1;
    }
    return size;
}

typedef enum AccessKind {
    ACCESS_READ,
    ACCESS_WRITE,
    ACCESS_WRITE_ROM,           /* loaders: writes ROM too */
} AccessKind;

static MemTxResult flatview_access(AddressSpace *as, FlatView *view, hwaddr addr,
                                   uint8_t *buf, hwaddr len, AccessKind kind)
{
    MemTxResult result = MEMTX_OK;
    bool is_write = kind != ACCESS_READ;

    while (len > 0) {
        const FlatRange *fr = flatview_lookup(view, addr);
        hwaddr chunk;

        if (!fr) {
            chunk = unassigned_run(view, addr, len);
            if (is_write) {
                log_guest_error("memory: write of %" PRIu64 " bytes to unassigned address "
                                "0x%" HWADDR_PRIx " in %s dropped\n", chunk, addr, as->name);
            } else {
                log_guest_error("memory: read of %" PRIu64 " bytes from unassigned address "
                                "0x%" HWADDR_PRIx " in %s\n", chunk, addr, as->name);
                memset(buf, 0xff, chunk);
            }
            result = worse(result, MEMTX_DECODE_ERROR);
        } else {
            hwaddr offset = fr->offset_in_region + (addr - fr->start);
            MemoryRegion *mr = fr->mr;

            chunk = MIN(len, fr->size - (addr - fr->start));
            if (mr->kind == MR_MMIO) {
                if (is_write && fr->readonly) {
                    log_guest_error("memory: write to read-only mapping of '%s' at 0x%"
                                    HWADDR_PRIx " dropped\n", mr->name, addr);
                    result = worse(result, MEMTX_ERROR);
                } else {
                    /* Device accesses of natural sizes; dispatch fits them further. */
                    for (hwaddr done = 0; done < chunk;) {
                        unsigned size = mmio_chunk_size(offset + done, chunk - done);
                        uint64_t value = 0;
                        if (is_write) {
                            for (unsigned b = 0; b < size; b++) {
                                value |= (uint64_t)buf[done + b] << (b * 8);
                            }
                            result = worse(result,
                                memory_region_dispatch_write(mr, offset + done, value, size));
                        } else {
                            result = worse(result,
                                memory_region_dispatch_read(mr, offset + done, &value, size));
                            for (unsigned b = 0; b < size; b++) {
                                buf[done + b] = (uint8_t)(value >> (b * 8));
                            }
                        }
                        done += size;
                    }
                }
            } else {
                RAMBlock *block = mr->ram_block;
                /* Rendering clips to used_length, but the block may shrink. */
                if (offset >= block->used_length || chunk > block->used_length - offset) {
                    if (!is_write) {
                        memset(buf, 0xff, chunk);
                    }
                    result = worse(result, MEMTX_DECODE_ERROR);
                } else if (!is_write) {
                    memcpy(buf, block->host + offset, chunk);
                } else if (fr->readonly && kind != ACCESS_WRITE_ROM) {
                    log_guest_error("memory: write of %" PRIu64 " bytes to ROM '%s' at 0x%"
                                    HWADDR_PRIx " dropped\n", chunk, mr->name, addr);
                    result = worse(result, MEMTX_ERROR);
                } else {
                    memcpy(block->host + offset, buf, chunk);
                    dirty_bitmap_mark_written(block->offset + offset, chunk);
                }
            }
        }
        addr += chunk;
        buf += chunk;
        len -= chunk;
    }
    return result;
}

static MemTxResult address_space_access(AddressSpace *as, hwaddr addr, uint8_t *buf,
                                        hwaddr len, AccessKind kind)
{
    FlatView *view;
    MemTxResult result;

    if (len == 0) {
        return MEMTX_OK;
    }
    if (access_wraps(addr, len)) {
        log_guest_error("memory: access of %" PRIu64 " bytes at 0x%" HWADDR_PRIx
                        " wraps around the end of %s\n", len, addr, as->name);
        if (kind == ACCESS_READ) {
            memset(buf, 0xff, len);
        }
        return MEMTX_DECODE_ERROR;
    }
    view = address_space_get_flatview(as);
    result = flatview_access(as, view, addr, buf, len, kind);
    flatview_unref(view);
    return result;
}

MemTxResult address_space_read(AddressSpace *as, hwaddr addr, void *buf, hwaddr len)
{
    return address_space_access(as, addr, buf, len, ACCESS_READ);
}

MemTxResult address_space_write(AddressSpace *as, hwaddr addr, const void *buf, hwaddr len)
{
    /* The buffer is only read on this path. */
    return address_space_access(as, addr, (uint8_t *)buf, len, ACCESS_WRITE);
}

MemTxResult address_space_rw(AddressSpace *as, hwaddr addr, void *buf, hwaddr len,
                             bool is_write)
{
    return address_space_access(as, addr, buf, len, is_write ? ACCESS_WRITE : ACCESS_READ);
}

MemTxResult address_space_write_rom(AddressSpace *as, hwaddr addr, const void *buf,
                                    hwaddr len)
{
    return address_space_access(as, addr, (uint8_t *)buf, len, ACCESS_WRITE_ROM);
}

MemTxResult address_space_read_sized(AddressSpace *as, hwaddr addr, uint64_t *val,
                                     unsigned size)
{
    uint8_t bytes[8];
    MemTxResult result;
    FlatView *view;
    const FlatRange *fr;

    if (!valid_access_size(size)) {
        *val = UINT64_MAX;
        return MEMTX_ERROR;
    }
    if (access_wraps(addr, size)) {
        *val = size_mask(size);
        log_guest_error("memory: read of %u bytes at 0x%" HWADDR_PRIx " wraps around %s\n",
                        size, addr, as->name);
        return MEMTX_DECODE_ERROR;
    }
    view = address_space_get_flatview(as);
    fr = flatview_lookup(view, addr);
    if (fr && fr->mr->kind == MR_MMIO && size <= fr->size - (addr - fr->start)) {
        /* One device access of the full size (the device sees e.g. one inl). */
        result = memory_region_dispatch_read(fr->mr, fr->offset_in_region + (addr - fr->start),
                                             val, size);
    } else {
        result = flatview_access(as, view, addr, bytes, size, ACCESS_READ);
        *val = 0;
        for (unsigned i = 0; i < size; i++) {
            *val |= (uint64_t)bytes[i] << (i * 8);
        }
    }
    flatview_unref(view);
    return result;
}

MemTxResult address_space_write_sized(AddressSpace *as, hwaddr addr, uint64_t val,
                                      unsigned size)
{
    uint8_t bytes[8];
    MemTxResult result;
    FlatView *view;
    const FlatRange *fr;

    if (!valid_access_size(size)) {
        return MEMTX_ERROR;
    }
    if (access_wraps(addr, size)) {
        log_guest_error("memory: write of %u bytes at 0x%" HWADDR_PRIx " wraps around %s\n",
                        size, addr, as->name);
        return MEMTX_DECODE_ERROR;
    }
    view = address_space_get_flatview(as);
    fr = flatview_lookup(view, addr);
    if (fr && fr->mr->kind == MR_MMIO && !fr->readonly &&
        size <= fr->size - (addr - fr->start)) {
        result = memory_region_dispatch_write(fr->mr, fr->offset_in_region + (addr - fr->start),
                                              val, size);
    } else {
        for (unsigned i = 0; i < size; i++) {
            bytes[i] = (uint8_t)(val >> (i * 8));
        }
        result = flatview_access(as, view, addr, bytes, size, ACCESS_WRITE);
    }
    flatview_unref(view);
    return result;
}

MemoryRegion *address_space_translate(AddressSpace *as, hwaddr addr, hwaddr *xlat,
                                      hwaddr *plen, bool is_write)
{
    FlatView *view = address_space_get_flatview(as);
    const FlatRange *fr = flatview_lookup(view, addr);
    MemoryRegion *mr = NULL;

    if (fr) {
        hwaddr left = fr->size - (addr - fr->start);
        mr = fr->mr;
        *xlat = fr->offset_in_region + (addr - fr->start);
        if (plen && *plen > left) {
            *plen = left;
        }
    } else if (plen) {
        *plen = MIN(*plen, unassigned_run(view, addr, *plen));
    }
    flatview_unref(view);
    return mr;
}

void *address_space_map(AddressSpace *as, hwaddr addr, hwaddr *plen, bool is_write)
{
    FlatView *view;
    const FlatRange *fr;
    void *host = NULL;

    if (*plen == 0) {
        return NULL;
    }
    view = address_space_get_flatview(as);
    fr = flatview_lookup(view, addr);
    if (fr && memory_region_is_ram(fr->mr) && !(is_write && fr->readonly)) {
        RAMBlock *block = fr->mr->ram_block;
        hwaddr offset = fr->offset_in_region + (addr - fr->start);
        hwaddr len = MIN(*plen, fr->size - (addr - fr->start));
        if (offset < block->used_length) {
            len = MIN(len, block->used_length - offset);
            host = block->host + offset;
            *plen = len;
        }
    }
    flatview_unref(view);
    if (!host) {
        *plen = 0;
    }
    return host;
}

void address_space_unmap(AddressSpace *as, void *buffer, hwaddr len, bool is_write,
                         hwaddr access_len)
{
    ram_addr_t offset;
    RAMBlock *block;

    if (!buffer || !is_write || access_len == 0) {
        return;
    }
    block = ram_block_from_host(buffer, &offset);
    if (!block) {
        return;
    }
    access_len = MIN(access_len, len);
    access_len = MIN(access_len, block->used_length - offset);
    dirty_bitmap_mark_written(block->offset + offset, access_len);
}

/* ------------------------------------------------------------------------ */
/* The machine's two address spaces                                          */
/* ------------------------------------------------------------------------ */

MemoryRegion *get_system_memory(void)
{
    return &system_memory;
}

MemoryRegion *get_system_io(void)
{
    return &system_io;
}

void memory_system_init(void)
{
    if (memory_system_ready) {
        return;
    }
    memory_system_ready = true;
    memory_region_init(&system_memory, NULL, "system", UINT64_MAX);
    memory_region_init(&system_io, NULL, "io", 65536);
    address_space_init(&address_space_memory, &system_memory, "memory");
    address_space_init(&address_space_io, &system_io, "I/O");
}

/* ------------------------------------------------------------------------ */
/* Inspection                                                                */
/* ------------------------------------------------------------------------ */

static const char *region_kind_name(const MemoryRegion *mr, bool readonly)
{
    switch (mr->kind) {
    case MR_CONTAINER:
        return "container";
    case MR_RAM:
        return readonly || mr->readonly ? "rom" : "ram";
    case MR_ROM:
        return "rom";
    case MR_MMIO:
        return "i/o";
    case MR_ALIAS:
        return "alias";
    }
    return "?";
}

static void dump_range(GString *out, unsigned indent, Addr128 start, Addr128 size)
{
    Addr128 last = start + size - 1;
    g_string_append_printf(out, "%*s%016" PRIx64 "-%016" PRIx64, indent, "",
                           (uint64_t)start, (uint64_t)(last >= SPACE_END ? SPACE_END - 1 : last));
}

static gint dump_order(gconstpointer a, gconstpointer b)
{
    const MemoryRegion *x = *(MemoryRegion *const *)a;
    const MemoryRegion *y = *(MemoryRegion *const *)b;
    if (x->addr != y->addr) {
        return x->addr < y->addr ? -1 : 1;
    }
    if (x->priority != y->priority) {
        return x->priority > y->priority ? -1 : 1;
    }
    return x->add_order > y->add_order ? -1 : (x->add_order < y->add_order);
}

static void dump_region(GString *out, MemoryRegion *mr, Addr128 base, unsigned indent,
                        GPtrArray *alias_targets, unsigned depth)
{
    if (depth > RENDER_MAX_DEPTH) {
        return;
    }
    dump_range(out, indent, base, region_size128(mr));
    if (mr->kind == MR_ALIAS && mr->alias) {
        g_string_append_printf(out, " (prio %d, %s): alias %s @%s ", mr->priority,
                               region_kind_name(mr->alias, mr->readonly), mr->name,
                               mr->alias->name);
        dump_range(out, 0, mr->alias_offset, region_size128(mr));
        if (!g_ptr_array_find(alias_targets, mr->alias, NULL)) {
            g_ptr_array_add(alias_targets, mr->alias);
        }
    } else {
        g_string_append_printf(out, " (prio %d, %s): %s", mr->priority,
                               region_kind_name(mr, false), mr->name);
    }
    if (!mr->enabled) {
        g_string_append(out, " [disabled]");
    }
    g_string_append_c(out, '\n');
    if (mr->subregions && mr->subregions->len) {
        GPtrArray *sorted = g_ptr_array_copy(mr->subregions, NULL, NULL);
        g_ptr_array_sort(sorted, dump_order);
        for (guint i = 0; i < sorted->len; i++) {
            MemoryRegion *sub = g_ptr_array_index(sorted, i);
            dump_region(out, sub, base + sub->addr, indent + 2, alias_targets, depth + 1);
        }
        g_ptr_array_unref(sorted);
    }
}

static bool region_in_tree(MemoryRegion *mr, MemoryRegion *root)
{
    for (unsigned depth = 0; mr && depth < RENDER_MAX_DEPTH; depth++) {
        if (mr == root) {
            return true;
        }
        mr = mr->container;
    }
    return false;
}

void memory_tree_dump(GString *out, bool flat_views)
{
    GPtrArray *spaces = ptr_array_lazy(&address_spaces);
    GPtrArray *alias_targets = g_ptr_array_new();

    for (guint i = 0; i < spaces->len; i++) {
        AddressSpace *as = g_ptr_array_index(spaces, i);
        g_string_append_printf(out, "address-space: %s\n", as->name);
        if (as->root) {
            dump_region(out, as->root, 0, 2, alias_targets, 0);
        }
        g_string_append_c(out, '\n');
    }
    /* Regions reached only through aliases get a tree of their own. */
    for (guint i = 0; i < alias_targets->len; i++) {
        MemoryRegion *target = g_ptr_array_index(alias_targets, i);
        bool shown = false;
        for (guint k = 0; k < spaces->len && !shown; k++) {
            shown = region_in_tree(target, ((AddressSpace *)g_ptr_array_index(spaces, k))->root);
        }
        if (!shown) {
            g_string_append_printf(out, "memory-region: %s\n", target->name);
            dump_region(out, target, 0, 2, alias_targets, 0);
            g_string_append_c(out, '\n');
        }
    }
    g_ptr_array_unref(alias_targets);

    if (!flat_views) {
        return;
    }
    for (guint i = 0; i < spaces->len; i++) {
        AddressSpace *as = g_ptr_array_index(spaces, i);
        FlatView *view = address_space_get_flatview(as);
        g_string_append_printf(out, "FlatView #%u\n AS \"%s\"\n  Root memory region: %s\n",
                               i, as->name, as->root ? as->root->name : "(none)");
        if (view->nr == 0) {
            g_string_append(out, "  No rendered FlatView\n");
        }
        for (unsigned r = 0; r < view->nr; r++) {
            const FlatRange *fr = &view->ranges[r];
            dump_range(out, 2, fr->start, fr->size);
            g_string_append_printf(out, " (prio %d, %s): %s", fr->mr->priority,
                                   region_kind_name(fr->mr, fr->readonly), fr->mr->name);
            if (fr->offset_in_region) {
                g_string_append_printf(out, " @%016" PRIx64, fr->offset_in_region);
            }
            g_string_append_c(out, '\n');
        }
        g_string_append_c(out, '\n');
        flatview_unref(view);
    }
}
