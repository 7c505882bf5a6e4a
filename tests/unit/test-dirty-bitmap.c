/*
 * The shared dirty bitmaps: set/test/clear over page ranges (including word
 * boundaries), snapshots, KVM-format import, growth while writers run, the
 * active-client mask, and the RAM list bookkeeping behind them.
 */
#include "kestrel/osdep.h"
#include "exec/memory.h"
#include "exec/ramblock.h"

#define PAGE KESTREL_PAGE_SIZE
#define ALL_CLIENTS DIRTY_CLIENTS_ALL

static RAMBlock *test_block;           /* 8 MiB, 2048 pages */
static ram_addr_t base;

static void clear_all(void)
{
    for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
        dirty_bitmap_test_and_clear_range(base, test_block->used_length, c);
    }
}

/* Which of pages [first, first+n) are dirty for client, as a '0'/'1' string. */
static char *pages_text(uint64_t first, unsigned n, DirtyMemoryClient client)
{
    GString *s = g_string_new("");
    for (unsigned i = 0; i < n; i++) {
        g_string_append_c(s, dirty_bitmap_test_range(base + (first + i) * PAGE, 1, client)
                             ? '1' : '0');
    }
    return g_string_free(s, FALSE);
}

#define assert_pages(first, n, client, expected) do { \
        g_autofree char *text_ = pages_text(first, n, client); \
        g_assert_cmpstr(text_, ==, expected); \
    } while (0)

static void test_new_block_is_dirty(void)
{
    for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
        g_assert_true(dirty_bitmap_all_dirty(base, test_block->used_length, 1u << c));
    }
    g_assert_true(dirty_bitmap_all_dirty(base, test_block->used_length, ALL_CLIENTS));
    clear_all();
    for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
        g_assert_false(dirty_bitmap_test_range(base, test_block->used_length, c));
    }
}

static void test_set_test_clear(void)
{
    clear_all();
    /* Pages 62..65 straddle the first word boundary (64 pages per word). */
    dirty_bitmap_set_range(base + 62 * PAGE, 4 * PAGE, 1u << DIRTY_MEMORY_VGA);
    assert_pages(60, 8, DIRTY_MEMORY_VGA, "00111100");
    assert_pages(60, 8, DIRTY_MEMORY_CODE, "00000000");
    /* Partial pages count: one byte of page 70 and the last byte of page 71. */
    dirty_bitmap_set_range(base + 70 * PAGE + 5, 1, 1u << DIRTY_MEMORY_CODE);
    dirty_bitmap_set_range(base + 72 * PAGE - 1, 1, 1u << DIRTY_MEMORY_CODE);
    assert_pages(69, 4, DIRTY_MEMORY_CODE, "0110");
    g_assert_true(dirty_bitmap_test_range(base + 69 * PAGE, PAGE + 1, DIRTY_MEMORY_CODE));
    g_assert_false(dirty_bitmap_test_range(base + 69 * PAGE, PAGE, DIRTY_MEMORY_CODE));

    g_assert_true(dirty_bitmap_all_dirty(base + 62 * PAGE, 4 * PAGE, 1u << DIRTY_MEMORY_VGA));
    g_assert_false(dirty_bitmap_all_dirty(base + 61 * PAGE, 4 * PAGE, 1u << DIRTY_MEMORY_VGA));
    g_assert_false(dirty_bitmap_all_dirty(base + 62 * PAGE, 4 * PAGE,
                                          (1u << DIRTY_MEMORY_VGA) | (1u << DIRTY_MEMORY_CODE)));
    g_assert_true(dirty_bitmap_all_dirty(base, 0, ALL_CLIENTS));
    g_assert_true(dirty_bitmap_all_dirty(base, PAGE, 0));

    /* Clearing part of the run reports and clears only that part. */
    g_assert_true(dirty_bitmap_test_and_clear_range(base + 63 * PAGE, 2 * PAGE,
                                                    DIRTY_MEMORY_VGA));
    assert_pages(60, 8, DIRTY_MEMORY_VGA, "00100100");
    g_assert_false(dirty_bitmap_test_and_clear_range(base + 63 * PAGE, 2 * PAGE,
                                                     DIRTY_MEMORY_VGA));

    /* A long run over several whole words, for several clients at once. */
    dirty_bitmap_set_range(base + 100 * PAGE, 300 * PAGE, ALL_CLIENTS);
    g_assert_true(dirty_bitmap_all_dirty(base + 100 * PAGE, 300 * PAGE, ALL_CLIENTS));
    assert_pages(98, 4, DIRTY_MEMORY_MIGRATION, "0011");
    assert_pages(398, 4, DIRTY_MEMORY_MIGRATION, "1100");
    /* Bad client numbers are ignored. */
    g_assert_false(dirty_bitmap_test_range(base, PAGE, (DirtyMemoryClient)7));
}

static void test_snapshot(void)
{
    DirtyBitmapSnapshot *snap;
    clear_all();
    dirty_bitmap_set_range(base + 10 * PAGE, PAGE, 1u << DIRTY_MEMORY_MIGRATION);
    dirty_bitmap_set_range(base + 63 * PAGE, 3 * PAGE, 1u << DIRTY_MEMORY_MIGRATION);
    dirty_bitmap_set_range(base + 200 * PAGE, PAGE, 1u << DIRTY_MEMORY_MIGRATION);
    dirty_bitmap_set_range(base + 20 * PAGE, PAGE, 1u << DIRTY_MEMORY_VGA);

    /* Unaligned start: the snapshot begins at the page holding it. */
    snap = dirty_bitmap_snapshot_and_clear(base + 5 * PAGE + 17, 100 * PAGE,
                                           DIRTY_MEMORY_MIGRATION);
    g_assert_cmphex(snap->start, ==, base + 5 * PAGE);
    g_assert_cmphex(snap->end, ==, base + 106 * PAGE);
    g_assert_true(dirty_bitmap_snapshot_test(snap, base + 10 * PAGE));
    g_assert_false(dirty_bitmap_snapshot_test(snap, base + 11 * PAGE));
    g_assert_true(dirty_bitmap_snapshot_test(snap, base + 63 * PAGE));
    g_assert_true(dirty_bitmap_snapshot_test(snap, base + 64 * PAGE));
    g_assert_true(dirty_bitmap_snapshot_test(snap, base + 65 * PAGE));
    g_assert_false(dirty_bitmap_snapshot_test(snap, base + 66 * PAGE));
    /* Outside the snapshot: false even though page 200 is dirty. */
    g_assert_false(dirty_bitmap_snapshot_test(snap, base + 200 * PAGE));
    g_assert_false(dirty_bitmap_snapshot_test(snap, base));
    dirty_bitmap_snapshot_free(snap);

    /* Taken means cleared, for this client only. */
    assert_pages(9, 3, DIRTY_MEMORY_MIGRATION, "000");
    assert_pages(62, 5, DIRTY_MEMORY_MIGRATION, "00000");
    assert_pages(200, 1, DIRTY_MEMORY_MIGRATION, "1");
    assert_pages(20, 1, DIRTY_MEMORY_VGA, "1");
}

static void test_from_le_words(void)
{
    unsigned long words[3] = { 0 };
    const unsigned long one = 1;

    clear_all();
    words[0] = one | (one << 63);
    words[1] = one << 1;
    words[2] = ~0UL;                 /* only 4 pages of this word are in range */
    /* Word-aligned start page. */
    dirty_bitmap_set_from_le_words(words, base + 128 * PAGE, 64 * 2 + 4,
                                   1u << DIRTY_MEMORY_MIGRATION);
    assert_pages(127, 3, DIRTY_MEMORY_MIGRATION, "010");
    assert_pages(190, 4, DIRTY_MEMORY_MIGRATION, "0101");
    assert_pages(255, 6, DIRTY_MEMORY_MIGRATION, "011110");
    assert_pages(128, 1, DIRTY_MEMORY_VGA, "0");

    /* Unaligned start page (page 1000 = word 15 bit 40): bits straddle words. */
    clear_all();
    dirty_bitmap_set_from_le_words(words, base + 1000 * PAGE, 64 * 2 + 4,
                                   (1u << DIRTY_MEMORY_VGA) | (1u << DIRTY_MEMORY_CODE));
    assert_pages(999, 3, DIRTY_MEMORY_VGA, "010");
    assert_pages(1062, 4, DIRTY_MEMORY_CODE, "0101");
    assert_pages(1127, 6, DIRTY_MEMORY_VGA, "011110");
    g_assert_false(dirty_bitmap_test_range(base + 1002 * PAGE, 60 * PAGE, DIRTY_MEMORY_VGA));
    assert_pages(1000, 1, DIRTY_MEMORY_MIGRATION, "0");
}

static void test_active_clients(void)
{
    unsigned before = dirty_clients_active();
    g_assert_false(before & (1u << DIRTY_MEMORY_CODE));
    dirty_client_enable(DIRTY_MEMORY_CODE, true);
    g_assert_true(dirty_clients_active() & (1u << DIRTY_MEMORY_CODE));
    dirty_client_enable(DIRTY_MEMORY_CODE, true);
    dirty_client_enable(DIRTY_MEMORY_CODE, false);
    g_assert_cmpuint(dirty_clients_active(), ==, before);
}

static GString *hook_log;

static void code_hook(ram_addr_t start, ram_addr_t length)
{
    g_string_append_printf(hook_log, "%" PRIx64 "+%" PRIx64 ";", start - base, length);
}

static void test_code_write_hook(void)
{
    hook_log = g_string_new("");
    dirty_code_write_hook_set(code_hook);
    clear_all();
    /* Without CODE tracking, writes only mark. */
    dirty_bitmap_mark_written(base + 0x3000, 8);
    g_assert_cmpstr(hook_log->str, ==, "");
    g_assert_true(dirty_bitmap_all_dirty(base + 0x3000, 8, ALL_CLIENTS));

    dirty_client_enable(DIRTY_MEMORY_CODE, true);
    /* Page 3 is CODE-dirty already (no translated code): no hook. */
    dirty_bitmap_mark_written(base + 0x3000, 8);
    g_assert_cmpstr(hook_log->str, ==, "");
    /* Page 4 is CODE-clean (translated code there): hook first, then dirty. */
    dirty_bitmap_mark_written(base + 0x4010, 4);
    g_assert_cmpstr(hook_log->str, ==, "4010+4;");
    g_assert_true(dirty_bitmap_all_dirty(base + 0x4000, PAGE, ALL_CLIENTS));
    dirty_client_enable(DIRTY_MEMORY_CODE, false);
    dirty_code_write_hook_set(NULL);
    g_string_free(hook_log, TRUE);
}

/* A writer sets bits on the first block while the main thread grows the
 * bitmaps past several chunk boundaries: no bit may be lost. */
typedef struct Writer {
    uint64_t pages_done;
} Writer;

static gpointer writer_thread(gpointer opaque)
{
    Writer *w = opaque;
    uint64_t page = 0;
    while (page < 2048) {
        dirty_bitmap_set_range(base + page * PAGE, 1, 1u << DIRTY_MEMORY_MIGRATION);
        page++;
        if (page % 64 == 0) {
            g_thread_yield();
        }
    }
    w->pages_done = page;
    return NULL;
}

static void test_growth(void)
{
    RAMBlockOptions big = { .backing = RAM_BACKING_ANON, .max_length = (uint64_t)3 << 30 };
    RAMBlock *blocks[3];
    Writer w = { 0 };
    GThread *thread;
    GError *err = NULL;

    clear_all();
    thread = g_thread_new("writer", writer_thread, &w);
    /* Each reserves 3 GiB of ram_addr_t space (not host memory). */
    for (unsigned i = 0; i < 3; i++) {
        g_autofree char *name = g_strdup_printf("grow%u", i);
        blocks[i] = ram_block_new(name, 0x10000, &big, &err);
        g_assert_no_error(err);
    }
    g_thread_join(thread);
    g_assert_true(dirty_bitmap_all_dirty(base, w.pages_done * PAGE, 1u << DIRTY_MEMORY_MIGRATION));

    /* New blocks are dirty, and only their used part. */
    for (unsigned i = 0; i < 3; i++) {
        g_assert_true(dirty_bitmap_all_dirty(blocks[i]->offset, 0x10000, ALL_CLIENTS));
        g_assert_false(dirty_bitmap_test_range(blocks[i]->offset + 0x10000, 0x10000,
                                               DIRTY_MEMORY_VGA));
    }
    /* Far pages of the space work too. */
    dirty_bitmap_set_range(blocks[2]->offset + ((uint64_t)3 << 30) - PAGE, PAGE,
                           1u << DIRTY_MEMORY_VGA);
    g_assert_true(dirty_bitmap_test_range(blocks[2]->offset + ((uint64_t)3 << 30) - PAGE,
                                          PAGE, DIRTY_MEMORY_VGA));
    g_assert_cmphex(ram_list_end(), >=, blocks[2]->offset + ((uint64_t)3 << 30));
    /* Beyond the end of all RAM nothing is dirty, and setting is ignored. */
    dirty_bitmap_set_range((uint64_t)1 << 50, PAGE, ALL_CLIENTS);
    g_assert_false(dirty_bitmap_test_range((uint64_t)1 << 50, PAGE, DIRTY_MEMORY_VGA));
    g_assert_false(dirty_bitmap_all_dirty((uint64_t)1 << 50, PAGE, ALL_CLIENTS));
    g_assert_false(dirty_bitmap_test_range(UINT64_MAX - 10, 100, DIRTY_MEMORY_VGA));
    for (unsigned i = 0; i < 3; i++) {
        ram_block_free(blocks[i]);
    }
}

static void count_block(RAMBlock *block, void *opaque)
{
    (*(unsigned *)opaque)++;
}

static void test_ram_list(void)
{
    GError *err = NULL;
    RAMBlock *other;
    ram_addr_t offset = 0;
    unsigned count = 0;

    g_assert_true(ram_block_by_id("bitmap-test") == test_block);
    g_assert_null(ram_block_by_id("no-such-block"));
    g_assert_true(ram_block_from_ram_addr(base + 0x1234) == test_block);
    g_assert_null(ram_block_from_ram_addr(base + test_block->used_length + (1ULL << 40)));
    g_assert_true(ram_block_from_host(test_block->host + 0x2345, &offset) == test_block);
    g_assert_cmphex(offset, ==, 0x2345);
    g_assert_null(ram_block_from_host(&count, &offset));

    /* Duplicate names are refused. */
    g_assert_null(ram_block_new("bitmap-test", PAGE, NULL, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "bitmap-test"));
    g_clear_error(&err);

    /* Blocks are packed and page aligned; odd sizes round up. */
    other = ram_block_new("bitmap-other", 5000, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(other->used_length, ==, 2 * PAGE);
    g_assert_cmphex(other->offset % PAGE, ==, 0);
    g_assert_cmphex(other->offset, >=, base + test_block->max_length);
    ram_block_foreach(count_block, &count);
    g_assert_cmpuint(count, >=, 2);
    ram_block_free(other);
    g_assert_null(ram_block_by_id("bitmap-other"));

    /* Impossible sizes fail cleanly. */
    g_assert_null(ram_block_new("too-big", (uint64_t)100 << 40, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_null(ram_block_new("wraps", UINT64_MAX - 5, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_null(ram_block_new("zero", 0, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    {
        RAMBlockOptions bad = { .backing = RAM_BACKING_ANON, .max_length = PAGE };
        g_assert_null(ram_block_new("max-below-size", 2 * PAGE, &bad, &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
}

int main(int argc, char **argv)
{
    GError *err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    test_block = ram_block_new("bitmap-test", 8 << 20, NULL, &err);
    g_assert_no_error(err);
    base = test_block->offset;

    g_test_add_func("/dirty-bitmap/new-block-is-dirty", test_new_block_is_dirty);
    g_test_add_func("/dirty-bitmap/set-test-clear", test_set_test_clear);
    g_test_add_func("/dirty-bitmap/snapshot", test_snapshot);
    g_test_add_func("/dirty-bitmap/from-le-words", test_from_le_words);
    g_test_add_func("/dirty-bitmap/active-clients", test_active_clients);
    g_test_add_func("/dirty-bitmap/code-write-hook", test_code_write_hook);
    g_test_add_func("/dirty-bitmap/growth", test_growth);
    g_test_add_func("/dirty-bitmap/ram-list", test_ram_list);
    ret = g_test_run();
    ram_block_free(test_block);
    return ret;
}
