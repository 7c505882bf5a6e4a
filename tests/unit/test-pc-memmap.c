/*
 * The pc machine's memory map for several -m sizes, read back from the
 * rendered FlatView, plus the whole machine's init/reset on a tiny kernel.
 */
#include "hw/i386/pc.h"
#include "hw/i386/multiboot.h"
#include "hw/nvram/fw_cfg.h"
#include "sysemu/cpus.h"
#include "exec/memory.h"

#include <glib/gstdio.h>

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

/* A stand-in for RAM that reads back its own offset: cheap at any size,
 * and it shows which part of "RAM" each guest address reaches. */
static uint64_t fake_ram_read(void *opaque, hwaddr addr, unsigned size)
{
    return addr;
}

static void fake_ram_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
}

static const MemoryRegionOps fake_ram_ops = {
    .read = fake_ram_read,
    .write = fake_ram_write,
    .min_access_size = 1,
    .max_access_size = 8,
};

typedef struct MapCase {
    uint64_t ram_size;
    uint64_t below, above;
} MapCase;

static const MapCase map_cases[] = {
    { 128 * MiB, 128 * MiB, 0 },
    { 1 * GiB, 1 * GiB, 0 },
    { 3 * GiB, 3 * GiB, 0 },
    { 0xe0000000ULL - 4096, 0xe0000000ULL - 4096, 0 },   /* just under 3.5 GiB */
    { 0xe0000000ULL, 3 * GiB, 0x20000000ULL },           /* exactly 3.5 GiB: split */
    { 4 * GiB, 3 * GiB, 1 * GiB },
    { 6 * GiB, 3 * GiB, 3 * GiB },
};

static const FlatRange *lookup(FlatView *view, hwaddr addr)
{
    return flatview_lookup(view, addr);
}

static void check_map(const MapCase *c)
{
    PCMachineState pcms = { 0 };
    MemoryRegion fake;
    FlatView *view;
    const FlatRange *fr;
    uint64_t below, above, v;
    E820Entry e820[PC_MAX_E820_ENTRIES];
    unsigned n;

    pc_ram_split(c->ram_size, &below, &above);
    g_assert_cmphex(below, ==, c->below);
    g_assert_cmphex(above, ==, c->above);

    memory_region_init_io(&fake, NULL, &fake_ram_ops, NULL, "fake-ram", c->ram_size);
    pc_memory_init(&pcms, get_system_memory(), &fake, c->ram_size);
    g_assert_cmphex(pcms.layout.below_4g_mem_size, ==, c->below);
    g_assert_cmphex(pcms.layout.above_4g_mem_size, ==, c->above);
    g_assert_cmpstr(pcms.ram_below_4g.name, ==, "ram-below-4g");
    g_assert_cmphex(pcms.ram_below_4g.addr, ==, 0);
    g_assert_cmphex(pcms.ram_below_4g.size, ==, c->below);

    view = address_space_get_flatview(&address_space_memory);
    /* Below 4 GiB: one range from 0, offset 0 in RAM, ending at `below`. */
    fr = lookup(view, 0);
    g_assert_nonnull(fr);
    g_assert_true(fr->mr == &fake);
    g_assert_cmphex(fr->start, ==, 0);
    g_assert_cmphex(fr->size, ==, c->below);
    g_assert_cmphex(fr->offset_in_region, ==, 0);
    g_assert_null(lookup(view, c->below));          /* the hole starts right after */
    g_assert_null(lookup(view, 0xfffffffcULL));
    if (c->above) {
        g_assert_cmpstr(pcms.ram_above_4g.name, ==, "ram-above-4g");
        fr = lookup(view, PC_ABOVE_4G_BASE);
        g_assert_nonnull(fr);
        g_assert_true(fr->mr == &fake);
        g_assert_cmphex(fr->start, ==, PC_ABOVE_4G_BASE);
        g_assert_cmphex(fr->size, ==, c->above);
        g_assert_cmphex(fr->offset_in_region, ==, c->below);
        g_assert_null(lookup(view, PC_ABOVE_4G_BASE + c->above));
    } else {
        g_assert_null(lookup(view, PC_ABOVE_4G_BASE));
    }
    flatview_unref(view);

    /* Through the dispatcher: guest address -> RAM offset. */
    g_assert_cmpint(address_space_read_sized(&address_space_memory, 0x1234, &v, 4), ==,
                    MEMTX_OK);
    g_assert_cmphex(v, ==, 0x1234);
    if (c->above) {
        g_assert_cmpint(address_space_read_sized(&address_space_memory,
                                                 PC_ABOVE_4G_BASE + 0x10, &v, 8), ==, MEMTX_OK);
        g_assert_cmphex(v, ==, c->below + 0x10);
    }

    /* The e820 map the loaders report. */
    n = x86_memory_layout_e820(&pcms.layout, e820, PC_MAX_E820_ENTRIES);
    g_assert_cmpuint(n, ==, c->above ? 4 : 3);
    g_assert_cmphex(e820[0].addr, ==, 0);
    g_assert_cmphex(e820[0].len, ==, 0xa0000);
    g_assert_cmpuint(e820[0].type, ==, E820_RAM);
    g_assert_cmphex(e820[1].addr, ==, 0xa0000);
    g_assert_cmphex(e820[1].len, ==, 0x60000);
    g_assert_cmpuint(e820[1].type, ==, E820_RESERVED);
    g_assert_cmphex(e820[2].addr, ==, 0x100000);
    g_assert_cmphex(e820[2].addr + e820[2].len, ==, c->below);
    g_assert_cmpuint(e820[2].type, ==, E820_RAM);
    if (c->above) {
        g_assert_cmphex(e820[3].addr, ==, PC_ABOVE_4G_BASE);
        g_assert_cmphex(e820[3].len, ==, c->above);
    }

    memory_region_transaction_begin();
    memory_region_del_subregion(get_system_memory(), &pcms.ram_below_4g);
    memory_region_destroy(&pcms.ram_below_4g);
    if (c->above) {
        memory_region_del_subregion(get_system_memory(), &pcms.ram_above_4g);
        memory_region_destroy(&pcms.ram_above_4g);
    }
    memory_region_transaction_commit();
    memory_region_destroy(&fake);
}

static void test_memory_map(gconstpointer data)
{
    check_map(data);
}

/* ---- the machine ---- */

static char *tmpdir;

/* A minimal multiboot ELF32: one segment at 1 MiB of `code`. */
static char *write_kernel(void)
{
    static const uint8_t code[] = { 0xf4, 0xeb, 0xfd };   /* hlt; jmp $-1 */
    uint8_t img[0x200] = { 0 };
    uint32_t flags = 3, magic = MULTIBOOT_HEADER_MAGIC, sum = -(magic + flags);
    uint32_t v;
    char *path = g_build_filename(tmpdir, "tiny.elf", NULL);

    memcpy(img, "\177ELF\1\1\1", 7);
#define W16(off, val) do { uint16_t t = GUINT16_TO_LE(val); memcpy(img + (off), &t, 2); } while (0)
#define W32(off, val) do { v = GUINT32_TO_LE(val); memcpy(img + (off), &v, 4); } while (0)
    W16(16, 2); W16(18, 3); W32(20, 1); W32(24, 0x100000); W32(28, 52);
    W16(40, 52); W16(42, 32); W16(44, 1);
    W32(52, 1); W32(56, 0x100); W32(60, 0x100000); W32(64, 0x100000);
    W32(68, sizeof(code)); W32(72, 0x1000); W32(76, 5);
    W32(0x80, magic); W32(0x84, flags); W32(0x88, sum);
#undef W16
#undef W32
    memcpy(img + 0x100, code, sizeof(code));
    g_assert_true(g_file_set_contents(path, (char *)img, sizeof(img), NULL));
    return path;
}

static void test_machine(void)
{
    const MachineClass *mc = machine_class_find("pc");
    MachineState ms = { 0 };
    HostMemoryBackend backend = { 0 };
    g_autoptr(GError) err = NULL;
    g_autofree char *kernel = write_kernel();
    uint64_t v;
    uint8_t sig[4];

    g_assert_nonnull(mc);
    g_assert_true(mc == machine_class_default());
    g_assert_cmpuint(mc->max_cpus, ==, 255);
    g_assert_cmphex(mc->default_ram_size, ==, 128 * MiB);

    ms.mc = mc;
    ms.ram_size = 64 * MiB;
    ms.smp_cpus = 1;
    ms.defaults_enabled = true;
    backend.size = ms.ram_size;
    g_assert_true(memory_region_init_ram(&backend.mr, NULL, "pc.ram", ms.ram_size, &err));
    ms.ram_backend = &backend;

    /* No -kernel: a clear refusal (there is no BIOS). */
    g_assert_false(mc->init(&ms, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "no kernel given"));
    g_clear_error(&err);
    g_free(ms.board);
    ms.board = NULL;

    ms.kernel_filename = kernel;
    ms.kernel_cmdline = (char *)"hello";
    cpus_create(1);
    g_assert_true(mc->init(&ms, &err));
    g_assert_no_error(err);
    g_assert_nonnull(ms.fw_cfg);

    /* fw_cfg answers on the standard ports. */
    address_space_write_sized(&address_space_io, 0x510, FW_CFG_SIGNATURE, 2);
    for (int i = 0; i < 4; i++) {
        address_space_read_sized(&address_space_io, 0x511, &v, 1);
        sig[i] = (uint8_t)v;
    }
    g_assert_cmpmem(sig, 4, "QEMU", 4);
    address_space_write_sized(&address_space_io, 0x510, FW_CFG_RAM_SIZE, 2);
    {
        uint64_t size = 0;
        for (int i = 0; i < 8; i++) {
            address_space_read_sized(&address_space_io, 0x511, &v, 1);
            size |= v << (8 * i);
        }
        g_assert_cmphex(size, ==, 64 * MiB);
    }
    {
        GBytes *nb = fw_cfg_get_item(ms.fw_cfg, FW_CFG_NB_CPUS);
        GBytes *cmd = fw_cfg_get_item(ms.fw_cfg, FW_CFG_CMDLINE_DATA);
        g_assert_cmpuint(g_bytes_get_size(nb), ==, 2);
        g_assert_cmpuint(((const uint8_t *)g_bytes_get_data(nb, NULL))[0], ==, 1);
        g_assert_cmpstr(g_bytes_get_data(cmd, NULL), ==, "hello");
    }

    /* Reset loads the kernel and points the CPU at it. */
    mc->reset(&ms);
    g_assert_cmphex(cpus[0]->env.rip, ==, 0x100000);
    g_assert_cmphex(cpus[0]->env.regs[R_EAX], ==, MULTIBOOT_BOOTLOADER_MAGIC);
    g_assert_true(cpus[0]->env.a20_enabled);
    g_assert_cmpint(address_space_read_sized(&address_space_memory, 0x100000, &v, 4), ==,
                    MEMTX_OK);
    g_assert_cmphex(v, ==, 0x00fdebf4);
    /* The guest clobbers its kernel and CPU state; a reset restores both. */
    address_space_write_sized(&address_space_memory, 0x100000, 0, 4);
    cpus[0]->env.rip = 0xdead;
    mc->reset(&ms);
    g_assert_cmphex(cpus[0]->env.rip, ==, 0x100000);
    address_space_read_sized(&address_space_memory, 0x100000, &v, 4);
    g_assert_cmphex(v, ==, 0x00fdebf4);
    {
        uint32_t mem_upper;
        address_space_read(&address_space_memory, cpus[0]->env.regs[R_EBX] + MBI_MEM_UPPER,
                           &mem_upper, 4);
        g_assert_cmpuint(GUINT32_FROM_LE(mem_upper), ==, (64 * MiB - MiB) / 1024);
    }
    g_unlink(kernel);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    memory_system_init();
    tmpdir = g_dir_make_tmp("kestrel-pc-XXXXXX", &err);
    g_assert_no_error(err);

    for (size_t i = 0; i < G_N_ELEMENTS(map_cases); i++) {
        g_autofree char *name = g_strdup_printf("/pc/memory-map/%" PRIu64 "MiB",
                                                map_cases[i].ram_size >> 20);
        g_test_add_data_func(name, &map_cases[i], test_memory_map);
    }
    /* Last: it leaves the machine's RAM mapped. */
    g_test_add_func("/pc-machine/init-reset", test_machine);
    ret = g_test_run();
    g_rmdir(tmpdir);
    return ret;
}
