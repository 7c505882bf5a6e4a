/*
 * Memory listeners: the exact, ordered callbacks for each kind of change,
 * replay on register, global dirty logging, and listener priorities.
 */
#include "kestrel/osdep.h"
#include "exec/memory.h"
#include "exec/ramblock.h"

static uint64_t dummy_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static void dummy_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
}

static const MemoryRegionOps dummy_ops = {
    .read = dummy_read,
    .write = dummy_write,
};

/* Every callback appends "<tag>:<event> <range> <region>@<offset>;" to one shared log. */
typedef struct TestListener {
    MemoryListener listener;
    const char *tag;
    GString *log;
    bool fail_global_start;
} TestListener;

static GString *event_log;

static void log_event(MemoryListener *l, const char *event, MemoryRegionSection *s)
{
    TestListener *t = container_of(l, TestListener, listener);
    g_string_append_printf(event_log, "%s:%s", t->tag, event);
    if (s) {
        g_string_append_printf(event_log, " %" PRIx64 "-%" PRIx64 " %s@%" PRIx64,
                               s->offset_within_address_space,
                               s->offset_within_address_space + s->size - 1, s->mr->name,
                               s->offset_within_region);
    }
    g_string_append_c(event_log, ';');
}

static void on_begin(MemoryListener *l)
{
    log_event(l, "begin", NULL);
}

static void on_commit(MemoryListener *l)
{
    log_event(l, "commit", NULL);
}

static void on_add(MemoryListener *l, MemoryRegionSection *s)
{
    log_event(l, "add", s);
}

static void on_del(MemoryListener *l, MemoryRegionSection *s)
{
    log_event(l, "del", s);
}

static void on_log_start(MemoryListener *l, MemoryRegionSection *s, unsigned old_mask,
                         unsigned new_mask)
{
    g_autofree char *ev = g_strdup_printf("log_start(%u->%u)", old_mask, new_mask);
    log_event(l, ev, s);
}

static void on_log_stop(MemoryListener *l, MemoryRegionSection *s, unsigned old_mask,
                        unsigned new_mask)
{
    g_autofree char *ev = g_strdup_printf("log_stop(%u->%u)", old_mask, new_mask);
    log_event(l, ev, s);
}

static void on_log_sync(MemoryListener *l, MemoryRegionSection *s)
{
    log_event(l, "sync", s);
}

static bool on_global_start(MemoryListener *l, GError **errp)
{
    TestListener *t = container_of(l, TestListener, listener);
    log_event(l, "global_start", NULL);
    if (t->fail_global_start) {
        error_setg(errp, "listener %s refuses", t->tag);
        return false;
    }
    return true;
}

static void on_global_stop(MemoryListener *l)
{
    log_event(l, "global_stop", NULL);
}

static void test_listener_init(TestListener *t, const char *tag, int priority)
{
    memset(t, 0, sizeof(*t));
    t->tag = tag;
    t->listener = (MemoryListener) {
        .begin = on_begin,
        .commit = on_commit,
        .region_add = on_add,
        .region_del = on_del,
        .log_start = on_log_start,
        .log_stop = on_log_stop,
        .log_sync = on_log_sync,
        .log_global_start = on_global_start,
        .log_global_stop = on_global_stop,
        .priority = priority,
        .name = tag,
    };
}

/* Returns and clears the log. */
static char *take_log(void)
{
    char *text = g_strdup(event_log->str);
    g_string_truncate(event_log, 0);
    return text;
}

#define assert_log(expected) do { \
        g_autofree char *log_ = take_log(); \
        g_assert_cmpstr(log_, ==, expected); \
    } while (0)

typedef struct Fixture {
    MemoryRegion root;
    AddressSpace as;
    MemoryRegion a, b;
    TestListener l;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    if (!event_log) {
        event_log = g_string_new("");
    }
    memory_region_init(&f->root, NULL, "root", 0x100000);
    address_space_init(&f->as, &f->root, "test");
    memory_region_init_io(&f->a, NULL, &dummy_ops, NULL, "a", 0x1000);
    memory_region_init_io(&f->b, NULL, &dummy_ops, NULL, "b", 0x1000);
    test_listener_init(&f->l, "L", 0);
    g_string_truncate(event_log, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    memory_listener_unregister(&f->l.listener);
    address_space_destroy(&f->as);
    memory_region_destroy(&f->a);
    memory_region_destroy(&f->b);
    memory_region_destroy(&f->root);
    g_string_truncate(event_log, 0);
}

static void test_replay_on_register(Fixture *f, gconstpointer data)
{
    memory_region_add_subregion(&f->root, 0x2000, &f->b);
    memory_region_add_subregion(&f->root, 0x1000, &f->a);
    g_string_truncate(event_log, 0);
    memory_listener_register(&f->l.listener, &f->as);
    assert_log("L:begin;L:add 1000-1fff a@0;L:add 2000-2fff b@0;L:commit;");
    /* Unregistering removes everything (highest address first). */
    memory_listener_unregister(&f->l.listener);
    assert_log("L:begin;L:del 2000-2fff b@0;L:del 1000-1fff a@0;L:commit;");
    /* Nothing reaches an unregistered listener. */
    memory_region_set_enabled(&f->a, false);
    assert_log("");
}

static void test_add_remove(Fixture *f, gconstpointer data)
{
    memory_listener_register(&f->l.listener, &f->as);
    assert_log("L:begin;L:commit;");
    memory_region_add_subregion(&f->root, 0x1000, &f->a);
    assert_log("L:begin;L:add 1000-1fff a@0;L:commit;");
    /* b hides the top half of a: a shrinks (del+add), b appears. */
    memory_region_add_subregion_overlap(&f->root, 0x1800, &f->b, 1);
    assert_log("L:begin;L:del 1000-1fff a@0;L:add 1000-17ff a@0;L:add 1800-27ff b@0;"
               "L:commit;");
    memory_region_del_subregion(&f->root, &f->b);
    assert_log("L:begin;L:del 1000-17ff a@0;L:del 1800-27ff b@0;L:add 1000-1fff a@0;"
               "L:commit;");
    memory_region_del_subregion(&f->root, &f->a);
    assert_log("L:begin;L:del 1000-1fff a@0;L:commit;");
}

static void test_resize_enable_move(Fixture *f, gconstpointer data)
{
    memory_listener_register(&f->l.listener, &f->as);
    memory_region_add_subregion(&f->root, 0x4000, &f->a);
    take_log();

    memory_region_set_size(&f->a, 0x2000);
    assert_log("L:begin;L:del 4000-4fff a@0;L:add 4000-5fff a@0;L:commit;");
    memory_region_set_enabled(&f->a, false);
    assert_log("L:begin;L:del 4000-5fff a@0;L:commit;");
    memory_region_set_enabled(&f->a, true);
    assert_log("L:begin;L:add 4000-5fff a@0;L:commit;");
    memory_region_set_address(&f->a, 0x8000);
    assert_log("L:begin;L:del 4000-5fff a@0;L:add 8000-9fff a@0;L:commit;");
    /* Setting what is already set changes nothing and tells nobody. */
    memory_region_set_address(&f->a, 0x8000);
    memory_region_set_enabled(&f->a, true);
    assert_log("");
    /* A change invisible in the view still makes a (quiet) transaction. */
    memory_region_set_enabled(&f->b, false);
    assert_log("L:begin;L:commit;");
}

static void test_nested_transactions(Fixture *f, gconstpointer data)
{
    memory_listener_register(&f->l.listener, &f->as);
    take_log();

    memory_region_transaction_begin();
    memory_region_add_subregion(&f->root, 0x3000, &f->b);
    memory_region_transaction_begin();
    memory_region_add_subregion(&f->root, 0x1000, &f->a);
    memory_region_set_address(&f->b, 0x5000);
    memory_region_transaction_commit();
    /* Inner commit: nothing yet, and the view is still the old one. */
    assert_log("");
    {
        FlatView *view = address_space_get_flatview(&f->as);
        g_assert_cmpuint(view->nr, ==, 0);
        flatview_unref(view);
    }
    memory_region_transaction_commit();
    /* Only the net result: b never appears at 0x3000. */
    assert_log("L:begin;L:add 1000-1fff a@0;L:add 5000-5fff b@0;L:commit;");

    /* A region added and removed inside one transaction is never seen. */
    memory_region_transaction_begin();
    memory_region_del_subregion(&f->root, &f->a);
    memory_region_add_subregion(&f->root, 0x1000, &f->a);
    memory_region_transaction_commit();
    assert_log("L:begin;L:commit;");
}

static void test_listener_priorities(Fixture *f, gconstpointer data)
{
    TestListener late, early;
    test_listener_init(&late, "late", 20);
    test_listener_init(&early, "early", 10);
    /* Registration order does not matter, priority does. */
    memory_listener_register(&late.listener, &f->as);
    memory_listener_register(&early.listener, &f->as);
    take_log();

    memory_region_add_subregion(&f->root, 0x1000, &f->a);
    assert_log("early:begin;late:begin;early:add 1000-1fff a@0;late:add 1000-1fff a@0;"
               "early:commit;late:commit;");
    memory_region_del_subregion(&f->root, &f->a);
    assert_log("early:begin;late:begin;late:del 1000-1fff a@0;early:del 1000-1fff a@0;"
               "early:commit;late:commit;");
    memory_listener_unregister(&late.listener);
    memory_listener_unregister(&early.listener);
    assert_log("late:begin;late:commit;early:begin;early:commit;");
}

static void test_other_space_not_told(Fixture *f, gconstpointer data)
{
    MemoryRegion other_root;
    AddressSpace other;
    TestListener o;

    memory_region_init(&other_root, NULL, "other-root", 0x10000);
    address_space_init(&other, &other_root, "other");
    test_listener_init(&o, "O", 0);
    memory_listener_register(&o.listener, &other);
    memory_listener_register(&f->l.listener, &f->as);
    take_log();
    /* Begin/commit go to everybody; ranges only to the space's listeners. */
    memory_region_add_subregion(&f->root, 0x1000, &f->a);
    assert_log("O:begin;L:begin;L:add 1000-1fff a@0;O:commit;L:commit;");
    address_space_destroy(&other);
    memory_region_destroy(&other_root);
    take_log();
}

static void test_vga_log(Fixture *f, gconstpointer data)
{
    MemoryRegion vram;
    GError *err = NULL;
    const unsigned vga = 1u << DIRTY_MEMORY_VGA;

    g_assert_true(memory_region_init_ram(&vram, NULL, "listener.vram", 0x2000, &err));
    g_assert_no_error(err);
    memory_region_add_subregion(&f->root, 0xa0000, &vram);
    memory_listener_register(&f->l.listener, &f->as);
    assert_log("L:begin;L:add a0000-a1fff listener.vram@0;L:commit;");

    g_assert_false(dirty_clients_active() & vga);
    memory_region_set_log(&vram, true, DIRTY_MEMORY_VGA);
    g_assert_true(dirty_clients_active() & vga);
    g_assert_cmpuint(memory_region_get_dirty_log_mask(&vram), ==, vga);
    assert_log("L:begin;L:log_start(0->1) a0000-a1fff listener.vram@0;L:commit;");

    /* A listener joining later sees the logging state in the replay. */
    {
        TestListener late;
        test_listener_init(&late, "late", 5);
        memory_listener_register(&late.listener, &f->as);
        assert_log("late:begin;late:add a0000-a1fff listener.vram@0;"
                   "late:log_start(0->1) a0000-a1fff listener.vram@0;late:commit;");
        memory_listener_unregister(&late.listener);
        take_log();
    }

    memory_global_dirty_log_sync();
    assert_log("L:sync a0000-a1fff listener.vram@0;");

    memory_region_set_log(&vram, false, DIRTY_MEMORY_VGA);
    assert_log("L:begin;L:log_stop(1->0) a0000-a1fff listener.vram@0;L:commit;");
    g_assert_false(dirty_clients_active() & vga);
    memory_region_destroy(&vram);
    assert_log("L:begin;L:del a0000-a1fff listener.vram@0;L:commit;");
}

static void test_global_dirty_log(Fixture *f, gconstpointer data)
{
    MemoryRegion ram;
    TestListener second;
    GError *err = NULL;
    const unsigned mig = 1u << DIRTY_MEMORY_MIGRATION;

    g_assert_true(memory_region_init_ram(&ram, NULL, "listener.ram", 0x4000, &err));
    g_assert_no_error(err);
    memory_region_add_subregion(&f->root, 0x10000, &ram);
    memory_region_add_subregion(&f->root, 0x0, &f->a);
    test_listener_init(&second, "M", 1);
    memory_listener_register(&f->l.listener, &f->as);
    memory_listener_register(&second.listener, &f->as);
    take_log();

    g_assert_true(memory_global_dirty_log_start(&err));
    g_assert_no_error(err);
    g_assert_true(memory_global_dirty_log_active());
    g_assert_true(dirty_clients_active() & mig);
    /* Global start for all, then log_start for RAM only (not the MMIO a). */
    assert_log("L:global_start;M:global_start;L:begin;M:begin;"
               "L:log_start(0->4) 10000-13fff listener.ram@0;"
               "M:log_start(0->4) 10000-13fff listener.ram@0;L:commit;M:commit;");
    /* Starting twice is a no-op. */
    g_assert_true(memory_global_dirty_log_start(&err));
    assert_log("");

    memory_global_dirty_log_sync();
    assert_log("L:sync 10000-13fff listener.ram@0;M:sync 10000-13fff listener.ram@0;");

    memory_global_dirty_log_stop();
    g_assert_false(memory_global_dirty_log_active());
    g_assert_false(dirty_clients_active() & mig);
    assert_log("L:begin;M:begin;L:log_stop(4->0) 10000-13fff listener.ram@0;"
               "M:log_stop(4->0) 10000-13fff listener.ram@0;L:commit;M:commit;"
               "M:global_stop;L:global_stop;");

    /* Nothing is logged now, so sync asks nobody. */
    memory_global_dirty_log_sync();
    assert_log("");

    /* A refusing listener: the ones already started are stopped again. */
    second.fail_global_start = true;
    g_assert_false(memory_global_dirty_log_start(&err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "M refuses"));
    g_clear_error(&err);
    g_assert_false(memory_global_dirty_log_active());
    g_assert_false(dirty_clients_active() & mig);
    assert_log("L:global_start;M:global_start;L:global_stop;");

    memory_listener_unregister(&second.listener);
    memory_listener_unregister(&f->l.listener);
    memory_region_destroy(&ram);
    take_log();
}

static void test_ram_resize(Fixture *f, gconstpointer data)
{
    MemoryRegion ram;
    RAMBlock *block;
    RAMBlockOptions opts = { .backing = RAM_BACKING_ANON, .max_length = 0x10000 };
    GError *err = NULL;

    block = ram_block_new("listener.resizable", 0x4000, &opts, &err);
    g_assert_no_error(err);
    memory_region_init_ram_from_block(&ram, NULL, "resizable", block);
    memory_region_add_subregion(&f->root, 0x20000, &ram);
    memory_listener_register(&f->l.listener, &f->as);
    assert_log("L:begin;L:add 20000-23fff resizable@0;L:commit;");

    g_assert_true(memory_region_ram_resize(&ram, 0x8000, &err));
    g_assert_no_error(err);
    assert_log("L:begin;L:del 20000-23fff resizable@0;L:add 20000-27fff resizable@0;L:commit;");
    g_assert_cmpuint(block->used_length, ==, 0x8000);
    /* The new part is usable memory. */
    memset(block->host + 0x7000, 0x5a, 0x1000);

    /* Shrinking first removes the range, then releases the memory. */
    g_assert_true(memory_region_ram_resize(&ram, 0x2000, &err));
    assert_log("L:begin;L:del 20000-27fff resizable@0;L:add 20000-21fff resizable@0;L:commit;");
    g_assert_cmpuint(block->used_length, ==, 0x2000);

    g_assert_false(memory_region_ram_resize(&ram, 0x20000, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    assert_log("");
    g_assert_cmpuint(ram.size, ==, 0x2000);

    memory_region_destroy(&ram);
    assert_log("L:begin;L:del 20000-21fff resizable@0;L:commit;");
    g_assert_null(ram_block_by_id("listener.resizable"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/memory/listener/" name, Fixture, NULL, fixture_setup, fn, \
                                 fixture_teardown)
    ADD("replay-on-register", test_replay_on_register);
    ADD("add-remove", test_add_remove);
    ADD("resize-enable-move", test_resize_enable_move);
    ADD("nested-transactions", test_nested_transactions);
    ADD("priorities", test_listener_priorities);
    ADD("other-space", test_other_space_not_told);
    ADD("vga-log", test_vga_log);
    ADD("global-dirty-log", test_global_dirty_log);
    ADD("ram-resize", test_ram_resize);
#undef ADD
    return g_test_run();
}
