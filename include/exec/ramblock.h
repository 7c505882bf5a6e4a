/*
 * RAMBlocks (host memory holding guest RAM) and the shared dirty bitmaps.
 * See docs/memory.md.
 */
#ifndef EXEC_RAMBLOCK_H
#define EXEC_RAMBLOCK_H

#include "exec/memory.h"

typedef enum RAMBlockBacking {
    RAM_BACKING_ANON,    /* mmap(MAP_ANONYMOUS) */
    RAM_BACKING_MEMFD,   /* memfd_create(), can be shared with other processes */
    RAM_BACKING_FILE,    /* a file or hugetlbfs path */
} RAMBlockBacking;

struct RAMBlock {
    char idstr[256];          /* stable name used by migration */
    ram_addr_t offset;        /* start in the packed ram_addr_t space */
    uint64_t used_length;
    uint64_t max_length;      /* reserved; used_length may grow up to this */
    uint8_t *host;            /* host mapping of max_length bytes */
    int fd;                   /* -1 for anonymous memory */
    bool shared;              /* MAP_SHARED */
    RAMBlockBacking backing;
    uint64_t page_size;       /* host page size of the mapping */
    MemoryRegion *mr;
};

typedef struct RAMBlockOptions {
    RAMBlockBacking backing;
    bool shared;
    const char *mem_path;     /* RAM_BACKING_FILE */
    bool prealloc;
    uint64_t max_length;      /* 0: same as size */
} RAMBlockOptions;

/* Allocates and maps a block and adds it to the RAM list; opts may be NULL
 * (anonymous, private). Fails cleanly if the host cannot provide the memory
 * (the kernel's overcommit check) or the packed space would pass 4 TiB.
 * Duplicate idstr is an error. The new block is dirty for every client.
 * mem_path: a directory gets an unlinked temporary file, otherwise the file
 * itself is used (created if missing, grown if short, never shrunk). */
RAMBlock *ram_block_new(const char *idstr, uint64_t size, const RAMBlockOptions *opts,
                        GError **errp);
void ram_block_free(RAMBlock *block);
bool ram_block_resize(RAMBlock *block, uint64_t new_size, GError **errp);
RAMBlock *ram_block_by_id(const char *idstr);
/* The block holding ram_addr, or NULL. */
RAMBlock *ram_block_from_ram_addr(ram_addr_t addr);
/* Block containing a host pointer; *offset gets the offset inside it. */
RAMBlock *ram_block_from_host(const void *ptr, ram_addr_t *offset);
/* Calls fn for each block in ram_addr order. */
void ram_block_foreach(void (*fn)(RAMBlock *block, void *opaque), void *opaque);
/* End of the packed space (the dirty bitmaps cover [0, end)). */
ram_addr_t ram_list_end(void);

/* ---- dirty bitmaps: one per client, one bit per 4 KiB ram_addr_t page ----
 * Setting is atomic and lock-free (vCPU threads and devices write concurrently). */

/* Marks [start, start+length) dirty for the clients in `client_mask`. */
void dirty_bitmap_set_range(ram_addr_t start, ram_addr_t length, unsigned client_mask);
/* True if any page of the range is dirty for `client`. */
bool dirty_bitmap_test_range(ram_addr_t start, ram_addr_t length, DirtyMemoryClient client);
/* Clears the range for `client`; returns true if any page was dirty. */
bool dirty_bitmap_test_and_clear_range(ram_addr_t start, ram_addr_t length,
                                       DirtyMemoryClient client);
/* Marks host-side pages (from the KVM log format: one bit per page, bit 0 of
 * word 0 = the first page) dirty for every client in `client_mask`. */
void dirty_bitmap_set_from_le_words(const unsigned long *words, ram_addr_t start,
                                    ram_addr_t pages, unsigned client_mask);

/* A copy of one client's bits for a range, taken and cleared atomically. */
typedef struct DirtyBitmapSnapshot {
    ram_addr_t start;       /* page aligned */
    ram_addr_t end;
    unsigned long *bits;    /* bit i = page start/4K + i */
} DirtyBitmapSnapshot;

DirtyBitmapSnapshot *dirty_bitmap_snapshot_and_clear(ram_addr_t start, ram_addr_t length,
                                                     DirtyMemoryClient client);
bool dirty_bitmap_snapshot_test(const DirtyBitmapSnapshot *snap, ram_addr_t page_addr);
void dirty_bitmap_snapshot_free(DirtyBitmapSnapshot *snap);

/* Clients that currently want writes tracked: CODE while translated code
 * exists for TCG, MIGRATION while global logging is on, VGA per region.
 * TCG uses this to decide which pages need the NOTDIRTY slow path. */
unsigned dirty_clients_active(void);
/* Call with the big lock held: a change re-renders the views so RAM ranges'
 * dirty_log_mask follows (listeners get log_start/log_stop). */
void dirty_client_enable(DirtyMemoryClient client, bool enable);

/* True if [start,len) is dirty for every client in client_mask (a write there
 * can take the fast path). */
bool dirty_bitmap_all_dirty(ram_addr_t start, ram_addr_t length, unsigned client_mask);

/* The write path of devices (address_space_write, address_space_unmap,
 * memory_region_dispatch_write on RAM): if CODE tracking is active and some
 * page of the range is clean for CODE (it holds translated code), calls the
 * code-write hook first (TCG invalidates its blocks there), then marks the
 * range dirty for DIRTY_CLIENTS_ALL. */
void dirty_bitmap_mark_written(ram_addr_t start, ram_addr_t length);
typedef void (*DirtyCodeWriteHook)(ram_addr_t start, ram_addr_t length);
/* Installed by TCG; NULL removes it. Called with the big lock held. */
void dirty_code_write_hook_set(DirtyCodeWriteHook hook);

#endif
