/*
 * RAMBlocks (host memory holding guest RAM) and the dirty bitmaps shared by
 * every write path. See docs/memory.md.
 */
#include "kestrel/osdep.h"

#include <pthread.h>
#include "kestrel/log.h"
#include "exec/ramblock.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

/*
 * The packed ram_addr_t space is capped: the dirty bitmaps cover all of it
 * (3 bits per 4 KiB page), and a guest bigger than this is certainly a typo
 * (-m 100T) rather than a machine we can run.
 */
#define RAM_SPACE_LIMIT ((uint64_t)4 << 40)    /* 4 TiB */

/* ------------------------------------------------------------------------ */
/* The RAM list                                                              */
/* ------------------------------------------------------------------------ */

/* Protects ram_list. Taken briefly by lookups from any thread. */
static pthread_mutex_t ram_list_lock = PTHREAD_MUTEX_INITIALIZER;
static GPtrArray *ram_list;          /* RAMBlock*, sorted by offset */

static void dirty_bitmaps_grow(uint64_t end_page);

static GPtrArray *ram_list_get(void)
{
    if (!ram_list) {
        ram_list = g_ptr_array_new();
    }
    return ram_list;
}

static uint64_t host_page_size(void)
{
    long size = sysconf(_SC_PAGESIZE);
    return size > 0 ? (uint64_t)size : KESTREL_PAGE_SIZE;
}

/* Rounds up to a power-of-two alignment; false on overflow. */
static bool align_up_checked(uint64_t value, uint64_t align, uint64_t *out)
{
    uint64_t rounded = value + align - 1;
    if (rounded < value) {
        return false;
    }
    *out = rounded & ~(align - 1);
    return true;
}

static RAMBlock *ram_block_by_id_locked(const char *idstr)
{
    GPtrArray *list = ram_list_get();
    for (guint i = 0; i < list->len; i++) {
        RAMBlock *block = g_ptr_array_index(list, i);
        if (strcmp(block->idstr, idstr) == 0) {
            return block;
        }
    }
    return NULL;
}

/* First offset after the last block, aligned for a block of `align` pages. */
static ram_addr_t ram_list_next_offset_locked(uint64_t align)
{
    GPtrArray *list = ram_list_get();
    ram_addr_t end = 0;
    if (list->len) {
        RAMBlock *last = g_ptr_array_index(list, list->len - 1);
        end = last->offset + last->max_length;
    }
    return KESTREL_ALIGN_UP(end, align);
}

/*
 * Opens the file behind a file-backed block. A directory gets a fresh
 * temporary file that is unlinked at once (it lives as long as the fd); a
 * path that names a file (existing or not) is used as it is.
 */
static int ram_block_open_file(const char *idstr, const char *mem_path, GError **errp)
{
    struct stat st;
    int fd;

    if (!mem_path || !*mem_path) {
        error_setg(errp, "memory for '%s': a file backing needs mem-path", idstr);
        return -1;
    }
    if (stat(mem_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *template = g_strdup_printf("%s/kestrel_back.XXXXXX", mem_path);
        fd = mkostemp(template, O_CLOEXEC);
        if (fd < 0) {
            error_setg(errp, "cannot create backing file in '%s' for '%s': %s",
                       mem_path, idstr, g_strerror(errno));
            g_free(template);
            return -1;
        }
        unlink(template);
        g_free(template);
        return fd;
    }
    fd = open(mem_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_setg(errp, "cannot open backing file '%s' for '%s': %s",
                   mem_path, idstr, g_strerror(errno));
    }
    return fd;
}

/* Makes sure the backing file is at least `size` bytes (never shrinks a user's file). */
static bool ram_block_file_ensure_size(RAMBlock *block, uint64_t size, GError **errp)
{
    struct stat st;
    if (fstat(block->fd, &st) < 0) {
        error_setg(errp, "cannot stat backing file of '%s': %s", block->idstr,
                   g_strerror(errno));
        return false;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size >= size) {
        return true;
    }
    if (ftruncate(block->fd, (off_t)size) < 0) {
        error_setg(errp, "cannot set size of backing file of '%s' to %" PRIu64
                   " bytes: %s", block->idstr, size, g_strerror(errno));
        return false;
    }
    return true;
}

/*
 * Touches every page of [host, host+length) so the memory is really there
 * now rather than failing later (-mem-prealloc, prealloc=on).
 */
static bool ram_block_prealloc(RAMBlock *block, uint64_t start, uint64_t length,
                               GError **errp)
{
    uint8_t *host = block->host + start;
#ifdef MADV_POPULATE_WRITE
    if (madvise(host, length, MADV_POPULATE_WRITE) == 0) {
        return true;
    }
    if (errno != EINVAL) {
        /* The kernel knows the call and could not provide the memory. */
        error_setg(errp, "cannot preallocate memory for '%s': %s", block->idstr,
                   g_strerror(errno));
        return false;
    }
#endif
    /* Older kernels: write each page (preserving file contents). */
    for (uint64_t off = 0; off < length; off += block->page_size) {
        volatile uint8_t *p = host + off;
        *p = *p;
    }
    return true;
}

/* Maps [start, start+length) of the block's reservation readable and writable. */
static bool ram_block_map_range(RAMBlock *block, uint64_t start, uint64_t length,
                                bool prealloc, GError **errp)
{
    int flags = MAP_FIXED | (block->shared ? MAP_SHARED : MAP_PRIVATE);
    void *want = block->host + start;
    void *got;

    if (block->fd >= 0) {
        if (!ram_block_file_ensure_size(block, start + length, errp)) {
            return false;
        }
        got = mmap(want, length, PROT_READ | PROT_WRITE, flags, block->fd, (off_t)start);
    } else {
        /* No MAP_NORESERVE here: the kernel's overcommit check should refuse
         * memory the host cannot plausibly give, with a clean ENOMEM. */
        got = mmap(want, length, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
    }
    if (got == MAP_FAILED) {
        error_setg(errp, "cannot set up guest memory '%s': %s", block->idstr,
                   g_strerror(errno));
        return false;
    }
    if (block->fd < 0 && !block->shared) {
        /* Transparent huge pages make big guests cheaper; failure is harmless. */
        madvise(want, length, MADV_HUGEPAGE);
    }
    if (prealloc && !ram_block_prealloc(block, start, length, errp)) {
        return false;
    }
    return true;
}

/* Returns [start, start+length) of the reservation to inaccessible, discarding it. */
static void ram_block_unmap_range(RAMBlock *block, uint64_t start, uint64_t length)
{
    void *got = mmap(block->host + start, length, PROT_NONE,
                     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (got == MAP_FAILED) {
        /* Keep the old pages mapped: wasteful but safe. */
        log_printf("ram block '%s': cannot release %" PRIu64 " bytes: %s\n",
                   block->idstr, length, g_strerror(errno));
    }
}

RAMBlock *ram_block_new(const char *idstr, uint64_t size, const RAMBlockOptions *opts,
                        GError **errp)
{
    static const RAMBlockOptions default_opts = { .backing = RAM_BACKING_ANON };
    uint64_t page_size = host_page_size();
    uint64_t used_length, max_length, reserve_length;
    RAMBlock *block;
    uint8_t *reserve;

    if (!opts) {
        opts = &default_opts;
    }
    if (!idstr || !*idstr || strlen(idstr) >= sizeof(block->idstr)) {
        error_setg(errp, "invalid RAM block name '%s'", idstr ? idstr : "");
        return NULL;
    }
    if (size == 0) {
        error_setg(errp, "cannot set up guest memory '%s': size is zero", idstr);
        return NULL;
    }
    max_length = opts->max_length ? opts->max_length : size;
    if (max_length < size) {
        error_setg(errp, "cannot set up guest memory '%s': maximum size %" PRIu64
                   " is below the size %" PRIu64, idstr, max_length, size);
        return NULL;
    }

    block = g_new0(RAMBlock, 1);
    g_strlcpy(block->idstr, idstr, sizeof(block->idstr));
    block->fd = -1;
    block->shared = opts->shared;
    block->backing = opts->backing;

    switch (opts->backing) {
    case RAM_BACKING_ANON:
        break;
    case RAM_BACKING_MEMFD:
        block->fd = memfd_create(idstr, MFD_CLOEXEC);
        if (block->fd < 0) {
            error_setg(errp, "cannot create memfd for '%s': %s", idstr, g_strerror(errno));
            goto fail;
        }
        break;
    case RAM_BACKING_FILE: {
        struct statfs fs;
        block->fd = ram_block_open_file(idstr, opts->mem_path, errp);
        if (block->fd < 0) {
            goto fail;
        }
        if (fstatfs(block->fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC &&
            fs.f_bsize > 0 && ((uint64_t)fs.f_bsize & ((uint64_t)fs.f_bsize - 1)) == 0) {
            page_size = (uint64_t)fs.f_bsize;
        }
        break;
    }
    default:
        error_setg(errp, "cannot set up guest memory '%s': unknown backing", idstr);
        goto fail;
    }
    block->page_size = page_size;

    if (!align_up_checked(size, page_size, &used_length) ||
        !align_up_checked(max_length, page_size, &max_length) ||
        max_length > RAM_SPACE_LIMIT) {
        error_setg(errp, "cannot set up guest memory '%s': %" PRIu64 " bytes is more "
                   "than the supported maximum of %" PRIu64 " GiB", idstr, max_length,
                   RAM_SPACE_LIMIT >> 30);
        goto fail;
    }
    block->used_length = used_length;
    block->max_length = max_length;

    /* Reserve address space for max_length (plus slack to align huge pages);
     * nothing is committed until ram_block_map_range(). */
    reserve_length = max_length + (page_size > host_page_size() ? page_size : 0);
    reserve = mmap(NULL, reserve_length, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (reserve == MAP_FAILED) {
        error_setg(errp, "cannot set up guest memory '%s': %s", idstr, g_strerror(errno));
        goto fail;
    }
    block->host = (uint8_t *)KESTREL_ALIGN_UP((uintptr_t)reserve, page_size);
    if (block->host != reserve) {
        munmap(reserve, block->host - reserve);
    }
    if (reserve + reserve_length != block->host + max_length) {
        munmap(block->host + max_length, (reserve + reserve_length) - (block->host + max_length));
    }
    if (!ram_block_map_range(block, 0, used_length, opts->prealloc, errp)) {
        munmap(block->host, max_length);
        block->host = NULL;
        goto fail;
    }

    pthread_mutex_lock(&ram_list_lock);
    if (ram_block_by_id_locked(idstr)) {
        pthread_mutex_unlock(&ram_list_lock);
        error_setg(errp, "a RAM block named '%s' already exists", idstr);
        munmap(block->host, max_length);
        block->host = NULL;
        goto fail;
    }
    block->offset = ram_list_next_offset_locked(MAX(page_size, KESTREL_PAGE_SIZE));
    if (block->offset > RAM_SPACE_LIMIT - max_length) {
        pthread_mutex_unlock(&ram_list_lock);
        error_setg(errp, "cannot set up guest memory '%s': all RAM together would exceed "
                   "%" PRIu64 " GiB", idstr, RAM_SPACE_LIMIT >> 30);
        munmap(block->host, max_length);
        block->host = NULL;
        goto fail;
    }
    dirty_bitmaps_grow((block->offset + max_length) >> KESTREL_PAGE_BITS);
    g_ptr_array_add(ram_list_get(), block);
    pthread_mutex_unlock(&ram_list_lock);

    /* New memory has never been seen by anyone: dirty for every client. */
    dirty_bitmap_set_range(block->offset, block->used_length, DIRTY_CLIENTS_ALL);
    return block;

fail:
    if (block->fd >= 0) {
        close(block->fd);
    }
    g_free(block);
    return NULL;
}

void ram_block_free(RAMBlock *block)
{
    if (!block) {
        return;
    }
    pthread_mutex_lock(&ram_list_lock);
    g_ptr_array_remove(ram_list_get(), block);
    pthread_mutex_unlock(&ram_list_lock);
    if (block->host) {
        munmap(block->host, block->max_length);
    }
    if (block->fd >= 0) {
        close(block->fd);
    }
    g_free(block);
}

bool ram_block_resize(RAMBlock *block, uint64_t new_size, GError **errp)
{
    uint64_t new_used;

    if (new_size == 0 || !align_up_checked(new_size, block->page_size, &new_used) ||
        new_used > block->max_length) {
        error_setg(errp, "cannot resize RAM block '%s' to %" PRIu64 " bytes (maximum %"
                   PRIu64 ")", block->idstr, new_size, block->max_length);
        return false;
    }
    if (new_used > block->used_length) {
        uint64_t old = block->used_length;
        if (!ram_block_map_range(block, old, new_used - old, false, errp)) {
            ram_block_unmap_range(block, old, new_used - old);
            return false;
        }
        block->used_length = new_used;
        dirty_bitmap_set_range(block->offset + old, new_used - old, DIRTY_CLIENTS_ALL);
    } else if (new_used < block->used_length) {
        uint64_t old = block->used_length;
        block->used_length = new_used;
        ram_block_unmap_range(block, new_used, old - new_used);
    }
    return true;
}

RAMBlock *ram_block_by_id(const char *idstr)
{
    RAMBlock *block;
    pthread_mutex_lock(&ram_list_lock);
    block = ram_block_by_id_locked(idstr);
    pthread_mutex_unlock(&ram_list_lock);
    return block;
}

RAMBlock *ram_block_from_ram_addr(ram_addr_t addr)
{
    RAMBlock *found = NULL;
    pthread_mutex_lock(&ram_list_lock);
    GPtrArray *list = ram_list_get();
    for (guint i = 0; i < list->len; i++) {
        RAMBlock *block = g_ptr_array_index(list, i);
        if (addr >= block->offset && addr - block->offset < block->used_length) {
            found = block;
            break;
        }
    }
    pthread_mutex_unlock(&ram_list_lock);
    return found;
}

RAMBlock *ram_block_from_host(const void *ptr, ram_addr_t *offset)
{
    RAMBlock *found = NULL;
    uintptr_t p = (uintptr_t)ptr;
    pthread_mutex_lock(&ram_list_lock);
    GPtrArray *list = ram_list_get();
    for (guint i = 0; i < list->len; i++) {
        RAMBlock *block = g_ptr_array_index(list, i);
        uintptr_t host = (uintptr_t)block->host;
        if (p >= host && p - host < block->used_length) {
            found = block;
            if (offset) {
                *offset = p - host;
            }
            break;
        }
    }
    pthread_mutex_unlock(&ram_list_lock);
    return found;
}

void ram_block_foreach(void (*fn)(RAMBlock *block, void *opaque), void *opaque)
{
    /* Copy first so fn may take other locks (or even add blocks). */
    pthread_mutex_lock(&ram_list_lock);
    GPtrArray *copy = g_ptr_array_copy(ram_list_get(), NULL, NULL);
    pthread_mutex_unlock(&ram_list_lock);
    for (guint i = 0; i < copy->len; i++) {
        fn(g_ptr_array_index(copy, i), opaque);
    }
    g_ptr_array_unref(copy);
}

ram_addr_t ram_list_end(void)
{
    ram_addr_t end;
    pthread_mutex_lock(&ram_list_lock);
    end = ram_list_next_offset_locked(KESTREL_PAGE_SIZE);
    pthread_mutex_unlock(&ram_list_lock);
    return end;
}

/* ------------------------------------------------------------------------ */
/* Dirty bitmaps                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Each client's bitmap is a table of fixed-size chunks. Growing allocates a
 * bigger table that points at the same old chunks plus new zeroed ones and
 * publishes it with one atomic store: a reader that loaded the old table
 * still sees live chunks (they are shared, never freed), so no bit set
 * concurrently with growth is lost. Old tables are kept on a list until exit.
 */
#define BITS_PER_WORD ((uint64_t)sizeof(unsigned long) * 8)
#define DIRTY_CHUNK_PAGES ((uint64_t)1 << 18)              /* 1 GiB of RAM */
#define DIRTY_CHUNK_WORDS (DIRTY_CHUNK_PAGES / BITS_PER_WORD)

typedef struct DirtyBitmaps {
    uint64_t nr_chunks;
    unsigned long **chunks[DIRTY_MEMORY_NUM];
} DirtyBitmaps;

static DirtyBitmaps *dirty_bitmaps;          /* published with __atomic_store */
static GPtrArray *retired_dirty_bitmaps;     /* old tables, still readable */
static unsigned active_clients;              /* atomic */

/* Called with ram_list_lock held (serialises growers). */
static void dirty_bitmaps_grow(uint64_t end_page)
{
    DirtyBitmaps *old = __atomic_load_n(&dirty_bitmaps, __ATOMIC_ACQUIRE);
    uint64_t old_chunks = old ? old->nr_chunks : 0;
    uint64_t want = (end_page + DIRTY_CHUNK_PAGES - 1) / DIRTY_CHUNK_PAGES;
    DirtyBitmaps *grown;

    if (want <= old_chunks) {
        return;
    }
    grown = g_new0(DirtyBitmaps, 1);
    grown->nr_chunks = want;
    for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
        grown->chunks[c] = g_new0(unsigned long *, want);
        for (uint64_t i = 0; i < want; i++) {
            grown->chunks[c][i] = i < old_chunks ? old->chunks[c][i]
                                                 : g_new0(unsigned long, DIRTY_CHUNK_WORDS);
        }
    }
    __atomic_store_n(&dirty_bitmaps, grown, __ATOMIC_RELEASE);
    if (old) {
        if (!retired_dirty_bitmaps) {
            retired_dirty_bitmaps = g_ptr_array_new();
        }
        g_ptr_array_add(retired_dirty_bitmaps, old);
    }
}

/* A run of pages [first, end) clipped to what the bitmaps cover. */
typedef struct PageRun {
    const DirtyBitmaps *bitmaps;
    uint64_t first;
    uint64_t end;
    bool clipped;        /* some pages of the request lie beyond the bitmaps */
} PageRun;

static PageRun page_run(ram_addr_t start, ram_addr_t length)
{
    PageRun run = { .bitmaps = __atomic_load_n(&dirty_bitmaps, __ATOMIC_ACQUIRE) };
    uint64_t limit = run.bitmaps ? run.bitmaps->nr_chunks * DIRTY_CHUNK_PAGES : 0;
    uint64_t last_byte, end;

    if (length == 0) {
        return run;
    }
    if (start >= RAM_SPACE_LIMIT) {
        run.clipped = true;
        return run;
    }
    if (length - 1 > RAM_SPACE_LIMIT - 1 - start) {
        last_byte = RAM_SPACE_LIMIT - 1;
        run.clipped = true;
    } else {
        last_byte = start + length - 1;
    }
    run.first = start >> KESTREL_PAGE_BITS;
    end = (last_byte >> KESTREL_PAGE_BITS) + 1;
    run.end = MIN(end, limit);
    if (run.end < end) {
        run.clipped = true;
    }
    if (run.first > run.end) {
        run.first = run.end;
    }
    return run;
}

static inline unsigned long *dirty_word(const DirtyBitmaps *bitmaps, unsigned client,
                                        uint64_t page)
{
    return &bitmaps->chunks[client][page / DIRTY_CHUNK_PAGES]
                           [(page % DIRTY_CHUNK_PAGES) / BITS_PER_WORD];
}

/* Bits of the word holding `page` that belong to [page, end); *n = their count. */
static inline unsigned long word_mask(uint64_t page, uint64_t end, uint64_t *n)
{
    uint64_t bit = page % BITS_PER_WORD;
    uint64_t count = MIN(BITS_PER_WORD - bit, end - page);
    *n = count;
    return count == BITS_PER_WORD ? ~0UL : ((1UL << count) - 1) << bit;
}

static inline void dirty_word_or(unsigned long *word, unsigned long mask)
{
    /* The plain load avoids bouncing the cache line when already set. */
    if ((__atomic_load_n(word, __ATOMIC_RELAXED) & mask) != mask) {
        __atomic_fetch_or(word, mask, __ATOMIC_SEQ_CST);
    }
}

void dirty_bitmap_set_range(ram_addr_t start, ram_addr_t length, unsigned client_mask)
{
    PageRun run = page_run(start, length);
    uint64_t n;

    for (uint64_t page = run.first; page < run.end; page += n) {
        unsigned long mask = word_mask(page, run.end, &n);
        for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
            if (client_mask & (1u << c)) {
                dirty_word_or(dirty_word(run.bitmaps, c, page), mask);
            }
        }
    }
}

bool dirty_bitmap_test_range(ram_addr_t start, ram_addr_t length, DirtyMemoryClient client)
{
    PageRun run = page_run(start, length);
    uint64_t n;

    if ((unsigned)client >= DIRTY_MEMORY_NUM) {
        return false;
    }
    for (uint64_t page = run.first; page < run.end; page += n) {
        unsigned long mask = word_mask(page, run.end, &n);
        if (__atomic_load_n(dirty_word(run.bitmaps, client, page), __ATOMIC_ACQUIRE) & mask) {
            return true;
        }
    }
    return false;
}

bool dirty_bitmap_test_and_clear_range(ram_addr_t start, ram_addr_t length,
                                       DirtyMemoryClient client)
{
    PageRun run = page_run(start, length);
    bool was_dirty = false;
    uint64_t n;

    if ((unsigned)client >= DIRTY_MEMORY_NUM) {
        return false;
    }
    for (uint64_t page = run.first; page < run.end; page += n) {
        unsigned long mask = word_mask(page, run.end, &n);
        unsigned long *word = dirty_word(run.bitmaps, client, page);
        if (__atomic_load_n(word, __ATOMIC_RELAXED) & mask) {
            if (__atomic_fetch_and(word, ~mask, __ATOMIC_SEQ_CST) & mask) {
                was_dirty = true;
            }
        }
    }
    return was_dirty;
}

bool dirty_bitmap_all_dirty(ram_addr_t start, ram_addr_t length, unsigned client_mask)
{
    PageRun run = page_run(start, length);
    uint64_t n;

    if (length == 0 || (client_mask & DIRTY_CLIENTS_ALL) == 0) {
        return true;
    }
    /* Pages the bitmaps do not cover are never dirty. */
    if (run.clipped) {
        return false;
    }
    for (uint64_t page = run.first; page < run.end; page += n) {
        unsigned long mask = word_mask(page, run.end, &n);
        for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
            if ((client_mask & (1u << c)) &&
                (__atomic_load_n(dirty_word(run.bitmaps, c, page), __ATOMIC_ACQUIRE) & mask)
                    != mask) {
                return false;
            }
        }
    }
    return true;
}

/* ORs `bits` (bit 0 = page) into `client`'s bitmap: at most two words. */
static void dirty_or_run(const DirtyBitmaps *bitmaps, unsigned client, uint64_t page,
                         uint64_t limit, unsigned long bits)
{
    uint64_t shift = page % BITS_PER_WORD;
    uint64_t base = page - shift;

    if (base < limit && (bits << shift)) {
        dirty_word_or(dirty_word(bitmaps, client, base), bits << shift);
    }
    if (shift && base + BITS_PER_WORD < limit && (bits >> (BITS_PER_WORD - shift))) {
        dirty_word_or(dirty_word(bitmaps, client, base + BITS_PER_WORD),
                      bits >> (BITS_PER_WORD - shift));
    }
}

void dirty_bitmap_set_from_le_words(const unsigned long *words, ram_addr_t start,
                                    ram_addr_t pages, unsigned client_mask)
{
    const DirtyBitmaps *bitmaps = __atomic_load_n(&dirty_bitmaps, __ATOMIC_ACQUIRE);
    uint64_t first = start >> KESTREL_PAGE_BITS;
    uint64_t limit;

    if (!bitmaps || start >= RAM_SPACE_LIMIT) {
        return;
    }
    limit = bitmaps->nr_chunks * DIRTY_CHUNK_PAGES;
    pages = MIN(pages, limit > first ? limit - first : 0);
    for (uint64_t i = 0; i * BITS_PER_WORD < pages; i++) {
        unsigned long bits = words[i];
        uint64_t left = pages - i * BITS_PER_WORD;
        if (left < BITS_PER_WORD) {
            bits &= (1UL << left) - 1;
        }
        if (!bits) {
            continue;
        }
        for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
            if (client_mask & (1u << c)) {
                dirty_or_run(bitmaps, c, first + i * BITS_PER_WORD, limit, bits);
            }
        }
    }
}

DirtyBitmapSnapshot *dirty_bitmap_snapshot_and_clear(ram_addr_t start, ram_addr_t length,
                                                     DirtyMemoryClient client)
{
    PageRun run = page_run(start, length);
    DirtyBitmapSnapshot *snap = g_new0(DirtyBitmapSnapshot, 1);
    uint64_t n;

    snap->start = run.first << KESTREL_PAGE_BITS;
    snap->end = run.end << KESTREL_PAGE_BITS;
    snap->bits = g_new0(unsigned long, (run.end - run.first + BITS_PER_WORD - 1)
                                       / BITS_PER_WORD + 1);
    if ((unsigned)client >= DIRTY_MEMORY_NUM) {
        return snap;
    }
    for (uint64_t page = run.first; page < run.end; page += n) {
        unsigned long mask = word_mask(page, run.end, &n);
        unsigned long *word = dirty_word(run.bitmaps, client, page);
        unsigned long taken;

        if (!(__atomic_load_n(word, __ATOMIC_RELAXED) & mask)) {
            continue;
        }
        taken = (__atomic_fetch_and(word, ~mask, __ATOMIC_SEQ_CST) & mask)
                >> (page % BITS_PER_WORD);
        while (taken) {
            uint64_t index = page - run.first + (uint64_t)__builtin_ctzl(taken);
            snap->bits[index / BITS_PER_WORD] |= 1UL << (index % BITS_PER_WORD);
            taken &= taken - 1;
        }
    }
    return snap;
}

bool dirty_bitmap_snapshot_test(const DirtyBitmapSnapshot *snap, ram_addr_t page_addr)
{
    uint64_t index;
    if (!snap || page_addr < snap->start || page_addr >= snap->end) {
        return false;
    }
    index = (page_addr - snap->start) >> KESTREL_PAGE_BITS;
    return (snap->bits[index / BITS_PER_WORD] >> (index % BITS_PER_WORD)) & 1;
}

void dirty_bitmap_snapshot_free(DirtyBitmapSnapshot *snap)
{
    if (snap) {
        g_free(snap->bits);
        g_free(snap);
    }
}

unsigned dirty_clients_active(void)
{
    return __atomic_load_n(&active_clients, __ATOMIC_ACQUIRE);
}

void dirty_client_enable(DirtyMemoryClient client, bool enable)
{
    unsigned bit = 1u << client;
    unsigned old;

    if ((unsigned)client >= DIRTY_MEMORY_NUM) {
        return;
    }
    if (enable) {
        old = __atomic_fetch_or(&active_clients, bit, __ATOMIC_SEQ_CST);
    } else {
        old = __atomic_fetch_and(&active_clients, ~bit, __ATOMIC_SEQ_CST);
    }
    if (!!(old & bit) != enable) {
        /* RAM ranges' dirty_log_mask depends on this: re-render, tell listeners. */
        memory_dirty_log_masks_changed();
    }
}

/* ------------------------------------------------------------------------ */
/* Hook for writes that may hit translated code                              */
/* ------------------------------------------------------------------------ */

static DirtyCodeWriteHook code_write_hook;

void dirty_code_write_hook_set(DirtyCodeWriteHook hook)
{
    __atomic_store_n(&code_write_hook, hook, __ATOMIC_RELEASE);
}

void dirty_bitmap_mark_written(ram_addr_t start, ram_addr_t length)
{
    DirtyCodeWriteHook hook;

    if (length == 0) {
        return;
    }
    hook = __atomic_load_n(&code_write_hook, __ATOMIC_ACQUIRE);
    if (hook && (dirty_clients_active() & (1u << DIRTY_MEMORY_CODE)) &&
        !dirty_bitmap_all_dirty(start, length, 1u << DIRTY_MEMORY_CODE)) {
        /* Some page holds translated code: let TCG drop it first. */
        hook(start, length);
    }
    dirty_bitmap_set_range(start, length, DIRTY_CLIENTS_ALL);
}
