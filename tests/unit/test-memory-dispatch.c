/*
 * Dispatch of accesses: MMIO size fitting (split, widen, alignment), RAM and
 * ROM, unassigned space, sized accesses, translate, map/unmap, bounds.
 */
#include "kestrel/osdep.h"
#include "exec/memory.h"
#include "exec/ramblock.h"

/* A device that records every call and returns bytes derived from the address. */
typedef struct LogDevice {
    MemoryRegion mr;
    MemoryRegionOps ops;
    GString *calls;
    uint8_t regs[64];
} LogDevice;

static uint64_t log_read(void *opaque, hwaddr addr, unsigned size)
{
    LogDevice *d = opaque;
    uint64_t value = 0;
    g_string_append_printf(d->calls, "r%" PRIx64 "/%u;", addr, size);
    for (unsigned i = 0; i < size; i++) {
        value |= (uint64_t)d->regs[(addr + i) % sizeof(d->regs)] << (i * 8);
    }
    return value;
}

static void log_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    LogDevice *d = opaque;
    g_string_append_printf(d->calls, "w%" PRIx64 "/%u=%" PRIx64 ";", addr, size, data);
    for (unsigned i = 0; i < size; i++) {
        d->regs[(addr + i) % sizeof(d->regs)] = (uint8_t)(data >> (i * 8));
    }
}

static void log_device_init(LogDevice *d, const char *name, unsigned min, unsigned max,
                            bool unaligned)
{
    memset(d, 0, sizeof(*d));
    d->ops = (MemoryRegionOps) {
        .read = log_read, .write = log_write,
        .min_access_size = min, .max_access_size = max, .unaligned = unaligned,
    };
    d->calls = g_string_new("");
    for (unsigned i = 0; i < sizeof(d->regs); i++) {
        d->regs[i] = (uint8_t)(0x10 + i);
    }
    memory_region_init_io(&d->mr, d, &d->ops, d, name, sizeof(d->regs));
}

static char *take_calls(LogDevice *d)
{
    char *text = g_strdup(d->calls->str);
    g_string_truncate(d->calls, 0);
    return text;
}

#define assert_calls(d, expected) do { \
        g_autofree char *calls_ = take_calls(d); \
        g_assert_cmpstr(calls_, ==, expected); \
    } while (0)

static void log_device_destroy(LogDevice *d)
{
    memory_region_destroy(&d->mr);
    g_string_free(d->calls, TRUE);
}

typedef struct Fixture {
    MemoryRegion root;
    AddressSpace as;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    memory_region_init(&f->root, NULL, "root", UINT64_MAX);
    address_space_init(&f->as, &f->root, "dispatch");
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    address_space_destroy(&f->as);
    memory_region_destroy(&f->root);
}

static void test_split_to_max(Fixture *f, gconstpointer data)
{
    LogDevice d;
    uint64_t value = 0;

    log_device_init(&d, "max4", 1, 4, false);
    memory_region_add_subregion(&f->root, 0x1000, &d.mr);
    /* 8 bytes on a 4-byte-max device: two accesses, low half first. */
    g_assert_cmpint(address_space_read_sized(&f->as, 0x1008, &value, 8), ==, MEMTX_OK);
    assert_calls(&d, "r8/4;rc/4;");
    g_assert_cmphex(value, ==, 0x1f1e1d1c1b1a1918ULL);
    g_assert_cmpint(address_space_write_sized(&f->as, 0x1000, 0x8877665544332211ULL, 8),
                    ==, MEMTX_OK);
    assert_calls(&d, "w0/4=44332211;w4/4=88776655;");
    /* A buffer access is carried out in naturally aligned pieces. */
    {
        uint8_t buf[7];
        g_assert_cmpint(address_space_read(&f->as, 0x1001, buf, sizeof(buf)), ==, MEMTX_OK);
        assert_calls(&d, "r1/1;r2/2;r4/4;");
        g_assert_cmphex(buf[0], ==, 0x22);
        g_assert_cmphex(buf[6], ==, 0x88);
    }
    log_device_destroy(&d);
}

static void test_widen_to_min(Fixture *f, gconstpointer data)
{
    LogDevice d;
    uint64_t value = 0;

    log_device_init(&d, "min4", 4, 4, false);
    memory_region_add_subregion(&f->root, 0x2000, &d.mr);
    /* A 1-byte read of offset 2: one aligned 4-byte access, byte 2 extracted. */
    g_assert_cmpint(address_space_read_sized(&f->as, 0x2002, &value, 1), ==, MEMTX_OK);
    assert_calls(&d, "r0/4;");
    g_assert_cmphex(value, ==, 0x12);
    /* A 2-byte read crossing the 4-byte boundary: both units. */
    g_assert_cmpint(address_space_read_sized(&f->as, 0x2003, &value, 2), ==, MEMTX_OK);
    assert_calls(&d, "r0/4;r4/4;");
    g_assert_cmphex(value, ==, 0x1413);
    /* A 1-byte write merges into the unit it belongs to. */
    g_assert_cmpint(address_space_write_sized(&f->as, 0x2001, 0xab, 1), ==, MEMTX_OK);
    assert_calls(&d, "r0/4;w0/4=1312ab10;");
    log_device_destroy(&d);
}

static void test_unaligned(Fixture *f, gconstpointer data)
{
    LogDevice aligned, free_align;
    uint64_t value = 0;

    log_device_init(&aligned, "aligned", 1, 4, false);
    log_device_init(&free_align, "unaligned", 1, 4, true);
    memory_region_add_subregion(&f->root, 0x3000, &aligned.mr);
    memory_region_add_subregion(&f->root, 0x4000, &free_align.mr);
    /* Sized accesses reach the region as one access; it splits at 4-byte
     * boundaries unless the device accepts unaligned ones. */
    g_assert_cmpint(address_space_read_sized(&f->as, 0x3002, &value, 4), ==, MEMTX_OK);
    assert_calls(&aligned, "r0/4;r4/4;");
    g_assert_cmphex(value, ==, 0x15141312);
    g_assert_cmpint(address_space_read_sized(&f->as, 0x4002, &value, 4), ==, MEMTX_OK);
    assert_calls(&free_align, "r2/4;");
    g_assert_cmphex(value, ==, 0x15141312);
    /* Direct region dispatch with a bad size is refused, not crashed on. */
    g_assert_cmpint(memory_region_dispatch_read(&aligned.mr, 0, &value, 3), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(memory_region_dispatch_write(&aligned.mr, 62, 0, 4), ==,
                    MEMTX_DECODE_ERROR);
    assert_calls(&aligned, "");
    log_device_destroy(&aligned);
    log_device_destroy(&free_align);
}

static void test_unassigned(Fixture *f, gconstpointer data)
{
    uint8_t buf[16];
    uint64_t value = 0;
    LogDevice d;

    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(&f->as, 0x5000, buf, sizeof(buf)), ==,
                    MEMTX_DECODE_ERROR);
    for (unsigned i = 0; i < sizeof(buf); i++) {
        g_assert_cmphex(buf[i], ==, 0xff);
    }
    g_assert_cmpint(address_space_read_sized(&f->as, 0x5000, &value, 4), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(value, ==, 0xffffffff);
    g_assert_cmpint(address_space_write(&f->as, 0x5000, buf, sizeof(buf)), ==,
                    MEMTX_DECODE_ERROR);

    /* Half mapped: the device part is read, the rest is all ones. */
    log_device_init(&d, "half", 1, 8, false);
    memory_region_add_subregion(&f->root, 0x6000, &d.mr);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(&f->as, 0x6000 + 56, buf, sizeof(buf)), ==,
                    MEMTX_DECODE_ERROR);
    assert_calls(&d, "r38/8;");
    g_assert_cmphex(buf[0], ==, 0x48);
    g_assert_cmphex(buf[7], ==, 0x4f);
    g_assert_cmphex(buf[8], ==, 0xff);
    g_assert_cmphex(buf[15], ==, 0xff);
    /* Writes into the hole go nowhere; the device only sees its part. */
    g_assert_cmpint(address_space_write(&f->as, 0x6000 + 60, buf, 8), ==, MEMTX_DECODE_ERROR);
    assert_calls(&d, "w3c/4=4b4a4948;");
    log_device_destroy(&d);
}

static void test_ram_rom(Fixture *f, gconstpointer data)
{
    MemoryRegion ram, rom;
    GError *err = NULL;
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint8_t back[8];
    uint64_t value = 0;
    ram_addr_t ram_base;

    g_assert_true(memory_region_init_ram(&ram, NULL, "dispatch.ram", 0x10000, &err));
    g_assert_true(memory_region_init_rom(&rom, NULL, "dispatch.rom", 0x1000, &err));
    g_assert_no_error(err);
    memory_region_add_subregion(&f->root, 0x100000, &ram);
    memory_region_add_subregion(&f->root, 0x200000, &rom);
    ram_base = memory_region_get_ram_addr(&ram);

    /* RAM writes land in host memory and are dirty for every client. */
    for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
        dirty_bitmap_test_and_clear_range(ram_base, 0x10000, c);
    }
    g_assert_cmpint(address_space_write(&f->as, 0x102ffc, buf, sizeof(buf)), ==, MEMTX_OK);
    g_assert_cmpmem((uint8_t *)memory_region_get_ram_ptr(&ram) + 0x2ffc, 8, buf, 8);
    for (unsigned c = 0; c < DIRTY_MEMORY_NUM; c++) {
        g_assert_true(dirty_bitmap_test_range(ram_base + 0x2000, 0x1000, c));
        g_assert_true(dirty_bitmap_test_range(ram_base + 0x3000, 0x1000, c));
        g_assert_false(dirty_bitmap_test_range(ram_base + 0x4000, 0x1000, c));
        g_assert_false(dirty_bitmap_test_range(ram_base + 0x1000, 0x1000, c));
    }
    g_assert_cmpint(address_space_read_sized(&f->as, 0x102ffe, &value, 4), ==, MEMTX_OK);
    g_assert_cmphex(value, ==, 0x06050403);

    /* ROM: reads fine, guest writes dropped, loader writes land. */
    g_assert_cmpint(address_space_write(&f->as, 0x200010, buf, sizeof(buf)), ==, MEMTX_ERROR);
    g_assert_cmpint(address_space_read(&f->as, 0x200010, back, sizeof(back)), ==, MEMTX_OK);
    for (unsigned i = 0; i < sizeof(back); i++) {
        g_assert_cmphex(back[i], ==, 0);
    }
    g_assert_cmpint(address_space_write_rom(&f->as, 0x200010, buf, sizeof(buf)), ==, MEMTX_OK);
    g_assert_cmpint(address_space_read(&f->as, 0x200010, back, sizeof(back)), ==, MEMTX_OK);
    g_assert_cmpmem(back, 8, buf, 8);
    g_assert_cmpint(address_space_write_sized(&f->as, 0x200010, 0, 4), ==, MEMTX_ERROR);
    g_assert_cmpint(address_space_read_sized(&f->as, 0x200010, &value, 1), ==, MEMTX_OK);
    g_assert_cmphex(value, ==, 1);

    memory_region_destroy(&ram);
    memory_region_destroy(&rom);
}

static void test_translate_and_map(Fixture *f, gconstpointer data)
{
    MemoryRegion ram, rom;
    LogDevice d;
    GError *err = NULL;
    hwaddr xlat = 0, len;
    uint8_t *host;
    ram_addr_t ram_base;

    g_assert_true(memory_region_init_ram(&ram, NULL, "map.ram", 0x2000, &err));
    g_assert_true(memory_region_init_rom(&rom, NULL, "map.rom", 0x1000, &err));
    g_assert_no_error(err);
    log_device_init(&d, "map.dev", 1, 4, false);
    memory_region_add_subregion(&f->root, 0x10000, &ram);
    memory_region_add_subregion(&f->root, 0x12000, &d.mr);
    memory_region_add_subregion(&f->root, 0x13000, &rom);
    ram_base = memory_region_get_ram_addr(&ram);

    len = 0x10000;
    g_assert_true(address_space_translate(&f->as, 0x11800, &xlat, &len, false) == &ram);
    g_assert_cmphex(xlat, ==, 0x1800);
    g_assert_cmphex(len, ==, 0x800);
    len = 0x100;
    g_assert_true(address_space_translate(&f->as, 0x12010, &xlat, &len, true) == &d.mr);
    g_assert_cmphex(xlat, ==, 0x10);
    g_assert_cmphex(len, ==, 0x30);
    len = 0x100;
    g_assert_null(address_space_translate(&f->as, 0x20000, &xlat, &len, false));

    /* map is clipped to the RAM range. */
    len = 0x4000;
    host = address_space_map(&f->as, 0x11800, &len, true);
    g_assert_nonnull(host);
    g_assert_true(host == (uint8_t *)memory_region_get_ram_ptr(&ram) + 0x1800);
    g_assert_cmphex(len, ==, 0x800);
    dirty_bitmap_test_and_clear_range(ram_base, 0x2000, DIRTY_MEMORY_MIGRATION);
    memset(host, 0x77, 0x10);
    address_space_unmap(&f->as, host, len, true, 0x10);
    g_assert_true(dirty_bitmap_test_range(ram_base + 0x1000, 0x1000, DIRTY_MEMORY_MIGRATION));
    g_assert_false(dirty_bitmap_test_range(ram_base, 0x1000, DIRTY_MEMORY_MIGRATION));

    /* Not RAM, or ROM for writing: no direct pointer. */
    len = 0x10;
    g_assert_null(address_space_map(&f->as, 0x12000, &len, false));
    g_assert_cmphex(len, ==, 0);
    len = 0x10;
    g_assert_null(address_space_map(&f->as, 0x13000, &len, true));
    len = 0x10;
    g_assert_nonnull(address_space_map(&f->as, 0x13000, &len, false));
    g_assert_cmphex(len, ==, 0x10);
    len = 0x10;
    g_assert_null(address_space_map(&f->as, 0x30000, &len, false));

    memory_region_destroy(&ram);
    memory_region_destroy(&rom);
    log_device_destroy(&d);
}

static void test_bounds(Fixture *f, gconstpointer data)
{
    MemoryRegion ram;
    GError *err = NULL;
    uint8_t buf[16];
    uint64_t value;

    g_assert_true(memory_region_init_ram(&ram, NULL, "bounds.ram", 0x1000, &err));
    g_assert_no_error(err);
    memory_region_add_subregion(&f->root, UINT64_MAX - 0xfff, &ram);
    /* The last byte of the space is reachable... */
    g_assert_cmpint(address_space_write_sized(&f->as, UINT64_MAX, 0x5a, 1), ==, MEMTX_OK);
    g_assert_cmpint(address_space_read_sized(&f->as, UINT64_MAX, &value, 1), ==, MEMTX_OK);
    g_assert_cmphex(value, ==, 0x5a);
    /* ...but nothing wraps around to address 0. */
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(&f->as, UINT64_MAX - 7, buf, 16), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(buf[0], ==, 0xff);
    g_assert_cmpint(address_space_write(&f->as, UINT64_MAX - 7, buf, 16), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(address_space_read_sized(&f->as, UINT64_MAX - 1, &value, 4), ==,
                    MEMTX_DECODE_ERROR);
    /* Zero-length accesses do nothing. */
    g_assert_cmpint(address_space_read(&f->as, UINT64_MAX, NULL, 0), ==, MEMTX_OK);
    /* Bad access sizes. */
    g_assert_cmpint(address_space_read_sized(&f->as, UINT64_MAX - 0xfff, &value, 3), ==,
                    MEMTX_ERROR);
    g_assert_cmpint(address_space_write_sized(&f->as, UINT64_MAX - 0xfff, 0, 16), ==,
                    MEMTX_ERROR);
    memory_region_destroy(&ram);
}

static void test_io_space(void)
{
    LogDevice d;
    uint64_t value = 0;

    memory_system_init();
    log_device_init(&d, "port", 1, 1, false);
    memory_region_add_subregion(get_system_io(), 0x3f8, &d.mr);
    /* outw on a byte-wide device: two byte accesses. */
    g_assert_cmpint(address_space_write_sized(&address_space_io, 0x3f8, 0xbeef, 2), ==,
                    MEMTX_OK);
    assert_calls(&d, "w0/1=ef;w1/1=be;");
    g_assert_cmpint(address_space_read_sized(&address_space_io, 0x3f9, &value, 1), ==,
                    MEMTX_OK);
    g_assert_cmphex(value, ==, 0xbe);
    /* Ports beyond the 64 KiB space are unassigned. */
    g_assert_cmpint(address_space_read_sized(&address_space_io, 0x10000, &value, 1), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(value, ==, 0xff);
    log_device_destroy(&d);
}

/* Readers keep working while the view is being replaced under them. */
typedef struct ReaderArgs {
    AddressSpace *as;
    gint stop;
    unsigned bad;
} ReaderArgs;

static gpointer reader_thread(gpointer opaque)
{
    ReaderArgs *args = opaque;
    while (!g_atomic_int_get(&args->stop)) {
        uint64_t value = 0;
        MemTxResult r = address_space_read_sized(args->as, 0x1000, &value, 4);
        /* Either the RAM (holding 0x11223344) or nothing (all ones). */
        if (!((r == MEMTX_OK && value == 0x11223344) ||
              (r == MEMTX_DECODE_ERROR && value == 0xffffffff))) {
            args->bad++;
        }
    }
    return NULL;
}

static void test_concurrent_readers(Fixture *f, gconstpointer data)
{
    MemoryRegion ram;
    GError *err = NULL;
    ReaderArgs args = { .as = &f->as };
    GThread *thread;

    g_assert_true(memory_region_init_ram(&ram, NULL, "concurrent.ram", 0x1000, &err));
    g_assert_no_error(err);
    *(uint32_t *)memory_region_get_ram_ptr(&ram) = 0x11223344;
    thread = g_thread_new("reader", reader_thread, &args);
    for (unsigned i = 0; i < 2000; i++) {
        memory_region_add_subregion(&f->root, 0x1000, &ram);
        memory_region_del_subregion(&f->root, &ram);
    }
    g_atomic_int_set(&args.stop, 1);
    g_thread_join(thread);
    g_assert_cmpuint(args.bad, ==, 0);
    memory_region_destroy(&ram);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/memory/dispatch/" name, Fixture, NULL, fixture_setup, fn, \
                                 fixture_teardown)
    ADD("split-to-max", test_split_to_max);
    ADD("widen-to-min", test_widen_to_min);
    ADD("unaligned", test_unaligned);
    ADD("unassigned", test_unassigned);
    ADD("ram-rom", test_ram_rom);
    ADD("translate-and-map", test_translate_and_map);
    ADD("bounds", test_bounds);
    ADD("concurrent-readers", test_concurrent_readers);
#undef ADD
    g_test_add_func("/memory/dispatch/io-space", test_io_space);
    return g_test_run();
}
