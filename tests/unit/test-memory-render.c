/*
 * Rendering of MemoryRegion trees into FlatViews: priorities, overlaps,
 * aliases, containers, enable/disable, merging, and the mtree dump.
 */
#include "kestrel/osdep.h"
#include "exec/memory.h"
#include "exec/ramblock.h"

static uint64_t dummy_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0x1234;
}

static void dummy_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
}

static const MemoryRegionOps dummy_ops = {
    .read = dummy_read,
    .write = dummy_write,
    .min_access_size = 1,
    .max_access_size = 8,
};

/* A root container with its own address space, per test. */
typedef struct Fixture {
    MemoryRegion root;
    AddressSpace as;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    memory_region_init(&f->root, NULL, "root", UINT64_MAX);
    address_space_init(&f->as, &f->root, "test");
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    address_space_destroy(&f->as);
    memory_region_destroy(&f->root);
}

static void mmio(MemoryRegion *mr, const char *name, uint64_t size)
{
    memory_region_init_io(mr, NULL, &dummy_ops, NULL, name, size);
}

/* One line per range: "start-last name@offset[ ro]". */
static char *view_text(AddressSpace *as)
{
    FlatView *view = address_space_get_flatview(as);
    GString *s = g_string_new("");
    for (unsigned i = 0; i < view->nr; i++) {
        const FlatRange *r = &view->ranges[i];
        g_string_append_printf(s, "%" PRIx64 "-%" PRIx64 " %s@%" PRIx64 "%s\n", r->start,
                               r->start + (r->size - 1), r->mr->name, r->offset_in_region,
                               r->readonly ? " ro" : "");
    }
    flatview_unref(view);
    return g_string_free(s, FALSE);
}

#define assert_view(as, expected) do { \
        g_autofree char *text_ = view_text(as); \
        g_assert_cmpstr(text_, ==, expected); \
    } while (0)

static void test_priority(Fixture *f, gconstpointer data)
{
    MemoryRegion low, high;
    mmio(&low, "low", 0x1000);
    mmio(&high, "high", 0x1000);
    /* The higher priority wins even though it was added first. */
    memory_region_add_subregion_overlap(&f->root, 0x800, &high, 1);
    memory_region_add_subregion_overlap(&f->root, 0x0, &low, 0);
    assert_view(&f->as, "0-7ff low@0\n800-17ff high@0\n");
    memory_region_destroy(&low);
    memory_region_destroy(&high);
    assert_view(&f->as, "");
}

static void test_equal_priority_later_wins(Fixture *f, gconstpointer data)
{
    MemoryRegion a, b;
    mmio(&a, "a", 0x1000);
    mmio(&b, "b", 0x1000);
    memory_region_add_subregion_overlap(&f->root, 0x0, &a, 0);
    memory_region_add_subregion_overlap(&f->root, 0x800, &b, 0);
    assert_view(&f->as, "0-7ff a@0\n800-17ff b@0\n");
    /* Re-adding a makes it the later one. */
    memory_region_del_subregion(&f->root, &a);
    memory_region_add_subregion_overlap(&f->root, 0x0, &a, 0);
    assert_view(&f->as, "0-fff a@0\n1000-17ff b@800\n");
    /* Moving a region does not change its rank. */
    memory_region_set_address(&a, 0x1000);
    assert_view(&f->as, "800-fff b@0\n1000-1fff a@0\n");
    memory_region_destroy(&a);
    memory_region_destroy(&b);
}

static void test_partial_overlaps(Fixture *f, gconstpointer data)
{
    MemoryRegion base, left, right;
    mmio(&base, "base", 0x1000);
    mmio(&left, "left", 0x1000);
    mmio(&right, "right", 0x1000);
    memory_region_add_subregion_overlap(&f->root, 0x10000, &base, 0);
    /* Covers base's first half from below. */
    memory_region_add_subregion_overlap(&f->root, 0xf800, &left, 1);
    assert_view(&f->as, "f800-107ff left@0\n10800-10fff base@800\n");
    /* Covers base's last quarter and beyond. */
    memory_region_add_subregion_overlap(&f->root, 0x10c00, &right, 1);
    assert_view(&f->as, "f800-107ff left@0\n10800-10bff base@800\n10c00-11bff right@0\n");
    memory_region_destroy(&base);
    memory_region_destroy(&left);
    memory_region_destroy(&right);
}

static void test_hole_punched(Fixture *f, gconstpointer data)
{
    MemoryRegion ram, dev;
    GError *err = NULL;

    g_assert_true(memory_region_init_ram(&ram, NULL, "render.ram", 0x10000, &err));
    g_assert_no_error(err);
    mmio(&dev, "dev", 0x1000);
    memory_region_add_subregion(&f->root, 0, &ram);
    memory_region_add_subregion_overlap(&f->root, 0x4000, &dev, 1);
    assert_view(&f->as, "0-3fff render.ram@0\n4000-4fff dev@0\n5000-ffff render.ram@5000\n");
    /* Disabling the device closes the hole: one merged RAM range again. */
    memory_region_set_enabled(&dev, false);
    assert_view(&f->as, "0-ffff render.ram@0\n");
    memory_region_set_enabled(&dev, true);
    assert_view(&f->as, "0-3fff render.ram@0\n4000-4fff dev@0\n5000-ffff render.ram@5000\n");
    memory_region_destroy(&dev);
    memory_region_destroy(&ram);
    assert_view(&f->as, "");
}

static void test_disabled(Fixture *f, gconstpointer data)
{
    MemoryRegion a, b, box;
    mmio(&a, "a", 0x100);
    mmio(&b, "b", 0x100);
    memory_region_init(&box, NULL, "box", 0x1000);
    memory_region_add_subregion(&box, 0x0, &a);
    memory_region_add_subregion(&box, 0x200, &b);
    memory_region_set_enabled(&b, false);
    memory_region_add_subregion(&f->root, 0x3000, &box);
    assert_view(&f->as, "3000-30ff a@0\n");
    /* A disabled container hides everything inside. */
    memory_region_set_enabled(&box, false);
    assert_view(&f->as, "");
    memory_region_set_enabled(&box, true);
    memory_region_set_enabled(&b, true);
    assert_view(&f->as, "3000-30ff a@0\n3200-32ff b@0\n");
    memory_region_destroy(&box);
    assert_view(&f->as, "");
    memory_region_destroy(&a);
    memory_region_destroy(&b);
}

static void test_nested_containers(Fixture *f, gconstpointer data)
{
    MemoryRegion outer, inner, dev, big;
    memory_region_init(&outer, NULL, "outer", 0x10000);
    memory_region_init(&inner, NULL, "inner", 0x1000);
    mmio(&dev, "dev", 0x100);
    mmio(&big, "big", 0x4000);
    memory_region_add_subregion(&inner, 0x100, &dev);
    memory_region_add_subregion(&outer, 0x2000, &inner);
    memory_region_add_subregion(&f->root, 0x100000, &outer);
    assert_view(&f->as, "102100-1021ff dev@0\n");
    /* A subregion is clipped to its container: big only shows 0xe00..0xfff. */
    memory_region_add_subregion_overlap(&inner, 0xe00, &big, -1);
    assert_view(&f->as, "102100-1021ff dev@0\n102e00-102fff big@0\n");
    /* A container's priority ranks its whole subtree against its siblings. */
    {
        MemoryRegion cover;
        mmio(&cover, "cover", 0x10000);
        memory_region_add_subregion_overlap(&f->root, 0x100000, &cover, -1);
        assert_view(&f->as, "100000-1020ff cover@0\n102100-1021ff dev@0\n"
                            "102200-102dff cover@2200\n102e00-102fff big@0\n"
                            "103000-10ffff cover@3000\n");
        memory_region_del_subregion(&f->root, &cover);
        memory_region_add_subregion_overlap(&f->root, 0x100000, &cover, 5);
        assert_view(&f->as, "100000-10ffff cover@0\n");
        memory_region_destroy(&cover);
    }
    memory_region_destroy(&outer);
    memory_region_destroy(&inner);
    memory_region_destroy(&dev);
    memory_region_destroy(&big);
}

static void test_nested_aliases(Fixture *f, gconstpointer data)
{
    MemoryRegion target, alias1, alias2;
    mmio(&target, "target", 0x10000);
    memory_region_init_alias(&alias1, NULL, "alias1", &target, 0x1000, 0x4000);
    memory_region_init_alias(&alias2, NULL, "alias2", &alias1, 0x800, 0x1000);
    memory_region_add_subregion(&f->root, 0x50000, &alias2);
    /* alias2 offset 0 = alias1 offset 0x800 = target offset 0x1800. */
    assert_view(&f->as, "50000-50fff target@1800\n");
    /* An alias window larger than what remains of its target is clipped. */
    memory_region_set_alias_offset(&alias1, 0xf000);
    assert_view(&f->as, "50000-507ff target@f800\n");
    memory_region_destroy(&alias2);
    memory_region_destroy(&alias1);
    memory_region_destroy(&target);
}

static void test_alias_of_container(Fixture *f, gconstpointer data)
{
    MemoryRegion box, m1, m2, window;
    memory_region_init(&box, NULL, "box", 0x2000);
    mmio(&m1, "m1", 0x1000);
    mmio(&m2, "m2", 0x1000);
    memory_region_add_subregion(&box, 0x0, &m1);
    memory_region_add_subregion(&box, 0x1000, &m2);
    memory_region_init_alias(&window, NULL, "window", &box, 0x800, 0x1000);
    memory_region_add_subregion(&f->root, 0x9000, &window);
    assert_view(&f->as, "9000-97ff m1@800\n9800-9fff m2@0\n");
    /* The container itself is also mapped elsewhere; both views agree. */
    memory_region_add_subregion(&f->root, 0x20000, &box);
    assert_view(&f->as, "9000-97ff m1@800\n9800-9fff m2@0\n20000-20fff m1@0\n21000-21fff m2@0\n");
    memory_region_destroy(&window);
    memory_region_destroy(&box);
    memory_region_destroy(&m1);
    memory_region_destroy(&m2);
}

static void test_merge_adjacent(Fixture *f, gconstpointer data)
{
    MemoryRegion target, lo, hi, gap;
    mmio(&target, "target", 0x4000);
    memory_region_init_alias(&lo, NULL, "lo", &target, 0x0, 0x1000);
    memory_region_init_alias(&hi, NULL, "hi", &target, 0x1000, 0x1000);
    memory_region_init_alias(&gap, NULL, "gap", &target, 0x3000, 0x1000);
    memory_region_add_subregion(&f->root, 0x0, &lo);
    memory_region_add_subregion(&f->root, 0x1000, &hi);
    /* Same region, contiguous offsets: one range. Non-contiguous: two. */
    memory_region_add_subregion(&f->root, 0x2000, &gap);
    assert_view(&f->as, "0-1fff target@0\n2000-2fff target@3000\n");
    memory_region_destroy(&lo);
    memory_region_destroy(&hi);
    memory_region_destroy(&gap);
    memory_region_destroy(&target);
}

static void test_readonly_and_rom(Fixture *f, gconstpointer data)
{
    MemoryRegion rom, ram, ro_alias;
    GError *err = NULL;
    g_assert_true(memory_region_init_rom(&rom, NULL, "render.rom", 0x1000, &err));
    g_assert_true(memory_region_init_ram(&ram, NULL, "render.ram2", 0x1000, &err));
    g_assert_no_error(err);
    memory_region_init_alias(&ro_alias, NULL, "ro-alias", &ram, 0, 0x1000);
    memory_region_set_readonly(&ro_alias, true);
    memory_region_add_subregion(&f->root, 0x0, &rom);
    memory_region_add_subregion(&f->root, 0x1000, &ram);
    memory_region_add_subregion(&f->root, 0x2000, &ro_alias);
    assert_view(&f->as, "0-fff render.rom@0 ro\n1000-1fff render.ram2@0\n"
                        "2000-2fff render.ram2@0 ro\n");
    memory_region_destroy(&ro_alias);
    memory_region_destroy(&rom);
    memory_region_destroy(&ram);
}

static void test_whole_space(Fixture *f, gconstpointer data)
{
    MemoryRegion all;
    FlatView *view;
    uint64_t value = 0;

    mmio(&all, "all", UINT64_MAX);
    memory_region_add_subregion(&f->root, 0, &all);
    view = address_space_get_flatview(&f->as);
    g_assert_nonnull(flatview_lookup(view, 0));
    g_assert_nonnull(flatview_lookup(view, UINT64_MAX));
    g_assert_true(flatview_lookup(view, UINT64_MAX)->mr == &all);
    flatview_unref(view);
    g_assert_cmpint(address_space_read_sized(&f->as, UINT64_MAX, &value, 1), ==, MEMTX_OK);
    g_assert_cmphex(value, ==, 0x34);
    memory_region_destroy(&all);
}

static void test_alias_loop_is_harmless(Fixture *f, gconstpointer data)
{
    MemoryRegion box, loop;
    memory_region_init(&box, NULL, "loopbox", 0x1000);
    memory_region_init_alias(&loop, NULL, "loop", &box, 0, 0x1000);
    memory_region_add_subregion(&box, 0, &loop);
    memory_region_add_subregion(&f->root, 0, &box);
    assert_view(&f->as, "");
    memory_region_destroy(&loop);
    memory_region_destroy(&box);
}

/* The machine's tree as `info mtree` shows it. */
static void test_mtree_dump(void)
{
    MemoryRegion pc_ram, below_4g, above_4g, serial;
    GError *err = NULL;
    g_autoptr(GString) out = g_string_new("");

    memory_system_init();
    memory_system_init();       /* idempotent */
    g_assert_true(memory_region_init_ram(&pc_ram, NULL, "pc.ram", 0x140000000ULL, &err));
    g_assert_no_error(err);
    memory_region_init_alias(&below_4g, NULL, "ram-below-4g", &pc_ram, 0, 0xc0000000);
    memory_region_init_alias(&above_4g, NULL, "ram-above-4g", &pc_ram, 0xc0000000,
                             0x80000000);
    memory_region_add_subregion(get_system_memory(), 0, &below_4g);
    memory_region_add_subregion(get_system_memory(), 0x100000000ULL, &above_4g);
    mmio(&serial, "serial", 8);
    memory_region_add_subregion(get_system_io(), 0x3f8, &serial);

    memory_tree_dump(out, true);
    g_assert_nonnull(strstr(out->str,
        "address-space: memory\n"
        "  0000000000000000-ffffffffffffffff (prio 0, container): system\n"
        "    0000000000000000-00000000bfffffff (prio 0, ram): alias ram-below-4g @pc.ram "
        "0000000000000000-00000000bfffffff\n"
        "    0000000100000000-000000017fffffff (prio 0, ram): alias ram-above-4g @pc.ram "
        "00000000c0000000-000000013fffffff\n\n"));
    g_assert_nonnull(strstr(out->str,
        "address-space: I/O\n"
        "  0000000000000000-000000000000ffff (prio 0, container): io\n"
        "    00000000000003f8-00000000000003ff (prio 0, i/o): serial\n\n"));
    g_assert_nonnull(strstr(out->str,
        "memory-region: pc.ram\n"
        "  0000000000000000-000000013fffffff (prio 0, ram): pc.ram\n"));
    g_assert_nonnull(strstr(out->str,
        " AS \"memory\"\n"
        "  Root memory region: system\n"
        "  0000000000000000-00000000bfffffff (prio 0, ram): pc.ram\n"
        "  0000000100000000-000000017fffffff (prio 0, ram): pc.ram @00000000c0000000\n"));
    g_assert_nonnull(strstr(out->str,
        " AS \"I/O\"\n"
        "  Root memory region: io\n"
        "  00000000000003f8-00000000000003ff (prio 0, i/o): serial\n"));

    memory_region_destroy(&serial);
    memory_region_destroy(&below_4g);
    memory_region_destroy(&above_4g);
    memory_region_destroy(&pc_ram);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/memory/render/" name, Fixture, NULL, fixture_setup, fn, \
                                 fixture_teardown)
    ADD("priority", test_priority);
    ADD("equal-priority-later-wins", test_equal_priority_later_wins);
    ADD("partial-overlaps", test_partial_overlaps);
    ADD("hole-punched", test_hole_punched);
    ADD("disabled", test_disabled);
    ADD("nested-containers", test_nested_containers);
    ADD("nested-aliases", test_nested_aliases);
    ADD("alias-of-container", test_alias_of_container);
    ADD("merge-adjacent", test_merge_adjacent);
    ADD("readonly-and-rom", test_readonly_and_rom);
    ADD("whole-space", test_whole_space);
    ADD("alias-loop", test_alias_loop_is_harmless);
#undef ADD
    g_test_add_func("/memory/render/mtree-dump", test_mtree_dump);
    return g_test_run();
}
