/*
 * The memory API: a tree of MemoryRegions rendered into flat views of
 * AddressSpaces, with listeners told about every change. See docs/memory.md.
 *
 * Locking: the tree is changed only with the big lock held (bql). Lookups
 * (address_space_read/write/translate) may run on any thread: they take a
 * reference to the current FlatView, which is replaced atomically on commit.
 */
#ifndef EXEC_MEMORY_H
#define EXEC_MEMORY_H

#include "kestrel/osdep.h"

typedef struct MemoryRegion MemoryRegion;
typedef struct MemoryRegionOps MemoryRegionOps;
typedef struct MemoryRegionSection MemoryRegionSection;
typedef struct MemoryListener MemoryListener;
typedef struct AddressSpace AddressSpace;
typedef struct FlatView FlatView;
typedef struct FlatRange FlatRange;
typedef struct RAMBlock RAMBlock;

typedef enum MemTxResult {
    MEMTX_OK = 0,
    MEMTX_ERROR = 1,        /* the device reported an error */
    MEMTX_DECODE_ERROR = 2, /* nothing is mapped there */
} MemTxResult;

/* Dirty-tracking clients: one bitmap each, over ram_addr_t pages. */
typedef enum DirtyMemoryClient {
    DIRTY_MEMORY_VGA = 0,
    DIRTY_MEMORY_CODE = 1,
    DIRTY_MEMORY_MIGRATION = 2,
    DIRTY_MEMORY_NUM = 3,
} DirtyMemoryClient;

#define DIRTY_CLIENTS_ALL ((1u << DIRTY_MEMORY_NUM) - 1)
#define DIRTY_CLIENTS_NOCODE (DIRTY_CLIENTS_ALL & ~(1u << DIRTY_MEMORY_CODE))

struct MemoryRegionOps {
    /* addr is the offset within the region; size is 1, 2, 4 or 8. Values are
     * little-endian (the x86 view). Called with the big lock held. */
    uint64_t (*read)(void *opaque, hwaddr addr, unsigned size);
    void (*write)(void *opaque, hwaddr addr, uint64_t data, unsigned size);
    /* Access sizes the callbacks implement (0 means 1 and 4). The dispatcher
     * splits a larger access into several of max_access_size, and widens a
     * smaller one to min_access_size (extracting/shifting the bytes). */
    unsigned min_access_size;
    unsigned max_access_size;
    /* Accesses crossing a max_access_size boundary are split when false. */
    bool unaligned;
};

typedef enum MemoryRegionKind {
    MR_CONTAINER,
    MR_RAM,
    MR_ROM,     /* RAM-backed, read-only to the guest, writable by loaders */
    MR_MMIO,
    MR_ALIAS,
} MemoryRegionKind;

struct MemoryRegion {
    char *name;
    MemoryRegionKind kind;
    uint64_t size;
    void *owner;                   /* the device that made it (or NULL) */

    /* Placement in the parent container. */
    MemoryRegion *container;
    hwaddr addr;
    int priority;
    bool enabled;
    bool may_overlap;
    unsigned add_order;            /* later-added wins among equal priorities */
    GPtrArray *subregions;         /* MemoryRegion*, highest priority first */

    /* MR_RAM / MR_ROM */
    RAMBlock *ram_block;
    bool readonly;                 /* forced read-only (ROM is always) */
    uint8_t dirty_log_mask;        /* clients logging writes to this region */

    /* MR_MMIO */
    const MemoryRegionOps *ops;
    void *opaque;

    /* MR_ALIAS */
    MemoryRegion *alias;
    hwaddr alias_offset;

    unsigned refcount;
};

/* A piece of a region as it appears in an address space. */
struct MemoryRegionSection {
    MemoryRegion *mr;            /* terminal region: RAM, ROM or MMIO */
    AddressSpace *as;
    hwaddr offset_within_region;
    hwaddr offset_within_address_space;
    uint64_t size;
    bool readonly;
    uint8_t dirty_log_mask;      /* clients logging writes here (1 << DirtyMemoryClient) */
};

struct FlatRange {
    hwaddr start;
    uint64_t size;
    MemoryRegion *mr;            /* terminal region (never container/alias) */
    hwaddr offset_in_region;
    bool readonly;
    uint8_t dirty_log_mask;
};

struct FlatView {
    gint refcount;
    FlatRange *ranges;           /* sorted by start, non-overlapping */
    unsigned nr;
};

struct MemoryListener {
    /* Transactions: begin (every listener of every space), then for each
     * address space: region_del for each removed range (listeners in reverse
     * priority order), then in address order region_add for each new range
     * (priority order; followed by log_start(0, mask) when the range is
     * logged) and log_start/log_stop for kept ranges whose dirty_log_mask
     * changed; then commit (every listener). A range that changes size,
     * offset or read-only state is removed and added again. */
    void (*begin)(MemoryListener *listener);
    void (*commit)(MemoryListener *listener);
    void (*region_add)(MemoryListener *listener, MemoryRegionSection *section);
    void (*region_del)(MemoryListener *listener, MemoryRegionSection *section);
    /* A section's dirty_log_mask changed (old -> new). */
    void (*log_start)(MemoryListener *listener, MemoryRegionSection *section,
                      unsigned old_mask, unsigned new_mask);
    void (*log_stop)(MemoryListener *listener, MemoryRegionSection *section,
                     unsigned old_mask, unsigned new_mask);
    /* Bring the shared dirty bitmaps up to date for this section. */
    void (*log_sync)(MemoryListener *listener, MemoryRegionSection *section);
    /* Global (migration) dirty logging switched on/off for all RAM. */
    bool (*log_global_start)(MemoryListener *listener, GError **errp);
    void (*log_global_stop)(MemoryListener *listener);
    /* Lower numbers are told first on add/start, last on del/stop. */
    int priority;
    const char *name;

    /* Private to memory.c. */
    AddressSpace *address_space;
};

struct AddressSpace {
    char *name;
    MemoryRegion *root;
    FlatView *current_map;       /* read with address_space_get_flatview() */
    GPtrArray *listeners;        /* MemoryListener*, sorted by priority */
};

/* ---- regions ---- */

/* Initializes a region the caller owns (mr is usually embedded in a device). */
void memory_region_init(MemoryRegion *mr, void *owner, const char *name, uint64_t size);
void memory_region_init_io(MemoryRegion *mr, void *owner, const MemoryRegionOps *ops,
                           void *opaque, const char *name, uint64_t size);
/* Allocates an anonymous private RAMBlock of `size` named `name`. */
bool memory_region_init_ram(MemoryRegion *mr, void *owner, const char *name,
                            uint64_t size, GError **errp);
/* Wraps an existing RAMBlock (memory backends create theirs themselves). */
void memory_region_init_ram_from_block(MemoryRegion *mr, void *owner, const char *name,
                                       RAMBlock *block);
bool memory_region_init_rom(MemoryRegion *mr, void *owner, const char *name,
                            uint64_t size, GError **errp);
void memory_region_init_alias(MemoryRegion *mr, void *owner, const char *name,
                              MemoryRegion *orig, hwaddr offset, uint64_t size);
/* Detaches from its container and releases the RAMBlock, if it has one.
 * Listeners hear region_del while the region is still intact: inside an
 * open transaction this renders at once (the pending changes go with it).
 * Aliases still pointing here render nothing afterwards. */
void memory_region_destroy(MemoryRegion *mr);

void memory_region_add_subregion(MemoryRegion *container, hwaddr offset, MemoryRegion *sub);
void memory_region_add_subregion_overlap(MemoryRegion *container, hwaddr offset,
                                         MemoryRegion *sub, int priority);
void memory_region_del_subregion(MemoryRegion *container, MemoryRegion *sub);
void memory_region_set_enabled(MemoryRegion *mr, bool enabled);
void memory_region_set_address(MemoryRegion *mr, hwaddr addr);
void memory_region_set_size(MemoryRegion *mr, uint64_t size);
void memory_region_set_alias_offset(MemoryRegion *mr, hwaddr offset);
void memory_region_set_readonly(MemoryRegion *mr, bool readonly);
/* Turns logging of guest writes for one client on or off for this region. */
void memory_region_set_log(MemoryRegion *mr, bool log, DirtyMemoryClient client);
/* Resizes a RAM region's block (within its max length); listeners see it. */
bool memory_region_ram_resize(MemoryRegion *mr, uint64_t new_size, GError **errp);

/* The clients logging writes to a RAM/ROM region now: its own (set_log)
 * plus the global ones (CODE under TCG, MIGRATION during global logging). */
unsigned memory_region_get_dirty_log_mask(const MemoryRegion *mr);

bool memory_region_is_ram(const MemoryRegion *mr);   /* RAM or ROM */
bool memory_region_is_rom(const MemoryRegion *mr);
/* Host pointer to the start of a RAM/ROM region's memory. */
void *memory_region_get_ram_ptr(MemoryRegion *mr);
ram_addr_t memory_region_get_ram_addr(MemoryRegion *mr);

/* Reads/writes an MMIO region with size fitting (split/widen per its ops). */
MemTxResult memory_region_dispatch_read(MemoryRegion *mr, hwaddr addr,
                                        uint64_t *data, unsigned size);
MemTxResult memory_region_dispatch_write(MemoryRegion *mr, hwaddr addr,
                                         uint64_t data, unsigned size);

/* Nested transactions: only the outermost commit renders and notifies. */
void memory_region_transaction_begin(void);
void memory_region_transaction_commit(void);

/* ---- address spaces ---- */

void address_space_init(AddressSpace *as, MemoryRegion *root, const char *name);
void address_space_destroy(AddressSpace *as);
/* Returns a referenced FlatView; drop it with flatview_unref(). */
FlatView *address_space_get_flatview(AddressSpace *as);
void flatview_unref(FlatView *view);
/* The range containing addr, or NULL. */
const FlatRange *flatview_lookup(const FlatView *view, hwaddr addr);

MemTxResult address_space_read(AddressSpace *as, hwaddr addr, void *buf, hwaddr len);
MemTxResult address_space_write(AddressSpace *as, hwaddr addr, const void *buf, hwaddr len);
MemTxResult address_space_rw(AddressSpace *as, hwaddr addr, void *buf, hwaddr len,
                             bool is_write);
/* Writes even read-only (ROM) RAM: for loaders. Marks dirty like any write. */
MemTxResult address_space_write_rom(AddressSpace *as, hwaddr addr, const void *buf,
                                    hwaddr len);
/* Little-endian single accesses (size 1, 2, 4 or 8), e.g. for port I/O. */
MemTxResult address_space_read_sized(AddressSpace *as, hwaddr addr, uint64_t *val,
                                     unsigned size);
MemTxResult address_space_write_sized(AddressSpace *as, hwaddr addr, uint64_t val,
                                      unsigned size);

/* Finds the terminal region at addr. *xlat = offset within it; *plen is
 * clipped to the bytes contiguous in that region. NULL when unassigned.
 * The returned region stays valid while the caller holds the big lock or
 * a FlatView reference. */
MemoryRegion *address_space_translate(AddressSpace *as, hwaddr addr, hwaddr *xlat,
                                      hwaddr *plen, bool is_write);

/* Zero-copy DMA: returns a host pointer to guest RAM for up to *plen bytes
 * (clipped) or NULL if the range is not RAM (or is ROM and is_write). After
 * use, unmap with the length actually accessed; writes mark dirty bitmaps. */
void *address_space_map(AddressSpace *as, hwaddr addr, hwaddr *plen, bool is_write);
void address_space_unmap(AddressSpace *as, void *buffer, hwaddr len, bool is_write,
                         hwaddr access_len);

/* ---- listeners ---- */

/* Registers and replays the current view to this listener only: begin,
 * region_add (+ log_start for logged ranges) per range, commit. If global
 * dirty logging is on, log_global_start is called first. Unregistering
 * replays region_del for every range (highest address first). */
void memory_listener_register(MemoryListener *listener, AddressSpace *as);
void memory_listener_unregister(MemoryListener *listener);
/* Starts/stops MIGRATION logging on all RAM; all listeners are told.
 * Start: log_global_start on each listener in priority order (on failure the
 * ones already started get log_global_stop, newest first, and false is
 * returned), then one transaction with log_start for every RAM range.
 * Stop: one transaction with log_stop, then log_global_stop in reverse. */
bool memory_global_dirty_log_start(GError **errp);
void memory_global_dirty_log_stop(void);
bool memory_global_dirty_log_active(void);
/* Asks every listener to log_sync every RAM section (imports KVM logs). */
void memory_global_dirty_log_sync(void);

/* ---- the machine's two address spaces ---- */

MemoryRegion *get_system_memory(void);
MemoryRegion *get_system_io(void);
extern AddressSpace address_space_memory;
extern AddressSpace address_space_io;
/* Creates the root regions and the two address spaces (once, at start-up). */
void memory_system_init(void);   /* idempotent */

/* ---- inspection ---- */

/* Private to softmmu: physmem.c tells memory.c that dirty_clients_active()
 * changed, so RAM ranges get new dirty_log_masks (log_start/log_stop). */
void memory_dirty_log_masks_changed(void);

/* Appends `info mtree` text: the region tree of each address space, then
 * "memory-region:" trees of alias targets not in any space, then (with
 * flat_views) each space's FlatView. */
void memory_tree_dump(GString *out, bool flat_views);

#endif
