/*
 * The PCI bus and the i440FX/PIIX3 host through their guest interface:
 * configuration mechanism #1 at 0xcf8/0xcfc in address_space_io, BARs of
 * a test function seen in address_space_memory/io, INTx through the PIIX3
 * PIRQ routers onto recorded GSI lines, and the 0xcf9 reset.
 */
#include "hw/pci-host/i440fx.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"

#define NR_GSIS   24
#define TEST_SLOT 3
#define TEST_DEVFN PCI_DEVFN(TEST_SLOT, 0)

static PCIBus *bus;
static qemu_irq gsis[NR_GSIS];
static int gsi_level[NR_GSIS];

typedef struct TestDev {
    PCIDevice pci;
    MemoryRegion mmio;     /* BAR 0: 4 KiB */
    MemoryRegion io;       /* BAR 1: 32 ports */
    MemoryRegion mmio64;   /* BAR 2-3: 1 MiB, 64-bit, prefetchable */
    unsigned reset_count;
} TestDev;

static TestDev testdev;

static void record_gsi(void *opaque, int n, int level)
{
    gsi_level[n] = level;
}

static uint64_t testdev_read(void *opaque, hwaddr addr, unsigned size)
{
    /* A tag per region plus the offset, so the test sees who answered. */
    return (uintptr_t)opaque + addr;
}

static void testdev_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
}

static const MemoryRegionOps testdev_ops = {
    .read = testdev_read,
    .write = testdev_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static void testdev_reset(PCIDevice *dev)
{
    container_of(dev, TestDev, pci)->reset_count++;
}

/* ---- config access helpers ---- */

static uint32_t config_address(unsigned busnr, unsigned devfn, unsigned reg)
{
    return 0x80000000u | (busnr << 16) | (devfn << 8) | (reg & 0xfc);
}

static void outl(uint16_t port, uint32_t val)
{
    g_assert_cmpint(address_space_write_sized(&address_space_io, port, val, 4), ==, MEMTX_OK);
}

static uint64_t in_sized(uint16_t port, unsigned size)
{
    uint64_t v = 0xdead;
    address_space_read_sized(&address_space_io, port, &v, size);
    return v;
}

static void out_sized(uint16_t port, uint64_t val, unsigned size)
{
    address_space_write_sized(&address_space_io, port, val, size);
}

static uint32_t cfg_read(unsigned busnr, unsigned devfn, unsigned reg, unsigned size)
{
    outl(0xcf8, config_address(busnr, devfn, reg));
    return (uint32_t)in_sized(0xcfc + (reg & 3), size);
}

static void cfg_write(unsigned devfn, unsigned reg, uint32_t val, unsigned size)
{
    outl(0xcf8, config_address(0, devfn, reg));
    out_sized(0xcfc + (reg & 3), val, size);
}

static uint64_t mem_read32(hwaddr addr)
{
    uint64_t v = 0xdead;
    address_space_read_sized(&address_space_memory, addr, &v, 4);
    return v;
}

/* ---- tests ---- */

static void test_scan_bus0(void)
{
    unsigned found = 0;

    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t id = cfg_read(0, devfn, 0, 4);
        if (devfn == I440FX_HOST_DEVFN) {
            g_assert_cmphex(id, ==, 0x12378086);
            found++;
        } else if (devfn == PIIX3_DEVFN) {
            g_assert_cmphex(id, ==, 0x70008086);
            found++;
        } else if (devfn == TEST_DEVFN) {
            g_assert_cmphex(id, ==, 0x56781234);
        } else {
            g_assert_cmphex(id, ==, 0xffffffff);
            g_assert_cmphex(cfg_read(0, devfn, 0, 2), ==, 0xffff);
        }
    }
    g_assert_cmpuint(found, ==, 2);
    /* No other bus exists. */
    g_assert_cmphex(cfg_read(1, 0, 0, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_read(255, PIIX3_DEVFN, 0, 4), ==, 0xffffffff);

    /* Class codes and header types. */
    g_assert_cmphex(cfg_read(0, I440FX_HOST_DEVFN, PCI_CLASS_DEVICE, 2), ==, 0x0600);
    g_assert_cmphex(cfg_read(0, I440FX_HOST_DEVFN, PCI_REVISION_ID, 1), ==, 0x02);
    g_assert_cmphex(cfg_read(0, I440FX_HOST_DEVFN, PCI_HEADER_TYPE, 1), ==, 0x00);
    g_assert_cmphex(cfg_read(0, PIIX3_DEVFN, PCI_CLASS_DEVICE, 2), ==, 0x0601);
    g_assert_cmphex(cfg_read(0, PIIX3_DEVFN, PCI_HEADER_TYPE, 1), ==, 0x80);
    /* The PIIX3's other functions are absent. */
    for (unsigned fn = 1; fn < 8; fn++) {
        g_assert_cmphex(cfg_read(0, PCI_DEVFN(1, fn), 0, 4), ==, 0xffffffff);
    }
}

static void test_config_mechanism(void)
{
    uint64_t v;

    /* The address register keeps enable, bus, device, function, register. */
    outl(0xcf8, 0xfffffffF);
    g_assert_cmphex(in_sized(0xcf8, 4), ==, 0x80fffffc);
    outl(0xcf8, config_address(0, I440FX_HOST_DEVFN, 0));
    g_assert_cmphex(in_sized(0xcf8, 4), ==, 0x80000000);

    /* Byte and word accesses anywhere in the data dword. */
    g_assert_cmphex(in_sized(0xcfc, 1), ==, 0x86);
    g_assert_cmphex(in_sized(0xcfd, 1), ==, 0x80);
    g_assert_cmphex(in_sized(0xcfe, 1), ==, 0x37);
    g_assert_cmphex(in_sized(0xcff, 1), ==, 0x12);
    g_assert_cmphex(in_sized(0xcfc, 2), ==, 0x8086);
    g_assert_cmphex(in_sized(0xcfd, 2), ==, 0x3780);
    g_assert_cmphex(in_sized(0xcfe, 2), ==, 0x1237);

    /* Writing bytes of the interrupt line register (offset 0x3c) of the
     * test function through 0xcfc..0xcff with the address at 0x3c. */
    cfg_write(TEST_DEVFN, PCI_INTERRUPT_LINE, 0x0b, 1);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, 0x3c, 4) & 0xffff, ==, 0x010b);
    /* A byte write at 0xcfd (the pin, read-only) changes nothing. */
    cfg_write(TEST_DEVFN, PCI_INTERRUPT_PIN, 0x04, 1);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, PCI_INTERRUPT_PIN, 1), ==, 0x01);
    /* Word write at 0xcfe lands on 0x3e/0x3f (read-only here). */
    cfg_write(TEST_DEVFN, 0x3e, 0xffff, 2);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, 0x3e, 2), ==, 0x0000);

    /* Read-only IDs stay. */
    cfg_write(I440FX_HOST_DEVFN, 0, 0xffffffff, 4);
    g_assert_cmphex(cfg_read(0, I440FX_HOST_DEVFN, 0, 4), ==, 0x12378086);

    /* Disabled: the data port decodes nothing. */
    outl(0xcf8, 0x00000000);
    g_assert_cmphex(in_sized(0xcfc, 4), ==, 0xffffffff);
    out_sized(0xcfc, 0, 4);
    g_assert_cmphex(cfg_read(0, I440FX_HOST_DEVFN, 0, 4), ==, 0x12378086);

    /* Non-dword accesses to 0xcf8 do not touch the address register. */
    outl(0xcf8, config_address(0, PIIX3_DEVFN, 0));
    out_sized(0xcf8, 0, 2);
    out_sized(0xcf8, 0, 1);
    g_assert_cmphex(in_sized(0xcf8, 4), ==, config_address(0, PIIX3_DEVFN, 0));
    g_assert_cmphex(in_sized(0xcf8, 2), ==, 0xffff);

    /* PIIX3 PIRQ route registers: bit 7 and bits 3-0 writable. */
    v = cfg_read(0, PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE, 4);
    g_assert_cmphex(v, ==, 0x80808080);
    cfg_write(PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE + 1, 0xff, 1);
    g_assert_cmphex(cfg_read(0, PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE + 1, 1), ==, 0x8f);
    cfg_write(PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE + 1, 0x80, 1);
}

static void test_bar_sizing_and_mapping(void)
{
    const unsigned bar0 = PCI_BASE_ADDRESS_0, bar1 = bar0 + 4, bar2 = bar0 + 8,
                   bar3 = bar0 + 12, bar4 = bar0 + 16;

    /* Type bits before anything is written. */
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar0, 4), ==, 0x00000000);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar1, 4), ==, 0x00000001);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar2, 4), ==, 0x0000000c);

    /* The sizing protocol: all ones in, size mask out. */
    cfg_write(TEST_DEVFN, bar0, 0xffffffff, 4);
    cfg_write(TEST_DEVFN, bar1, 0xffffffff, 4);
    cfg_write(TEST_DEVFN, bar2, 0xffffffff, 4);
    cfg_write(TEST_DEVFN, bar3, 0xffffffff, 4);
    cfg_write(TEST_DEVFN, bar4, 0xffffffff, 4);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar0, 4), ==, 0xfffff000);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar1, 4), ==, 0xffffffe1);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar2, 4), ==, 0xfff0000c);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar3, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar4, 4), ==, 0x00000000);   /* unimplemented */
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, PCI_ROM_ADDRESS, 4), ==, 0);

    /* Even with decoding on, the all-ones sizing values map nothing. */
    cfg_write(TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        g_assert_cmphex(pci_bar_address(&testdev.pci, i), ==, PCI_BAR_UNMAPPED);
    }
    cfg_write(TEST_DEVFN, PCI_COMMAND, 0, 2);

    /* Place them; nothing decodes until the command register says so. */
    cfg_write(TEST_DEVFN, bar0, 0xfebf0000, 4);
    cfg_write(TEST_DEVFN, bar1, 0xc000, 4);
    cfg_write(TEST_DEVFN, bar2, 0x00000000, 4);
    cfg_write(TEST_DEVFN, bar3, 0x00000001, 4);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar0, 4), ==, 0xfebf0000);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, bar1, 4), ==, 0x0000c001);
    g_assert_cmphex(mem_read32(0xfebf0010), ==, 0xffffffff);
    g_assert_cmphex(in_sized(0xc004, 1), ==, 0xff);

    cfg_write(TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    g_assert_cmphex(pci_bar_address(&testdev.pci, 0), ==, 0xfebf0000);
    g_assert_cmphex(pci_bar_address(&testdev.pci, 2), ==, 0x100000000ull);
    g_assert_cmphex(pci_bar_address(&testdev.pci, 1), ==, PCI_BAR_UNMAPPED);
    g_assert_cmphex(mem_read32(0xfebf0010), ==, 0x1000 + 0x10);
    g_assert_cmphex(mem_read32(0x100000020ull), ==, 0x3000 + 0x20);

    cfg_write(TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
    g_assert_cmphex(in_sized(0xc004, 1), ==, (0x2000 + 4) & 0xff);
    g_assert_cmphex(in_sized(0xc004, 2), ==, 0x2004);

    /* Moving a BAR moves the window. */
    cfg_write(TEST_DEVFN, bar1, 0xd020, 4);
    g_assert_cmphex(in_sized(0xc004, 1), ==, 0xff);
    g_assert_cmphex(in_sized(0xd024, 2), ==, 0x2004);
    /* An io BAR beyond 64 KiB decodes nothing; the last window fits. */
    cfg_write(TEST_DEVFN, bar1, 0xffe0, 4);
    g_assert_cmphex(pci_bar_address(&testdev.pci, 1), ==, 0xffe0);
    cfg_write(TEST_DEVFN, bar1, 0x1ffe0, 4);
    g_assert_cmphex(pci_bar_address(&testdev.pci, 1), ==, PCI_BAR_UNMAPPED);
    cfg_write(TEST_DEVFN, bar1, 0xd020, 4);

    /* Memory decode off: memory BARs vanish, io stays. */
    cfg_write(TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    g_assert_cmphex(mem_read32(0xfebf0010), ==, 0xffffffff);
    g_assert_cmphex(pci_bar_address(&testdev.pci, 2), ==, PCI_BAR_UNMAPPED);
    g_assert_cmphex(in_sized(0xd024, 2), ==, 0x2004);
    cfg_write(TEST_DEVFN, PCI_COMMAND, 0, 2);
    g_assert_cmphex(in_sized(0xd024, 2), ==, 0xffff);
}

static void test_intx_routing(void)
{
    int pirq = i440fx_slot_pirq(TEST_SLOT, 0);

    g_assert_cmpint(pirq, ==, 3);
    i440fx_firmware_init(bus);
    g_assert_cmphex(cfg_read(0, PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE, 4), ==, 0x0b0b0a0a);
    g_assert_cmpint(i440fx_pirq_to_isa_irq(bus, pirq), ==, 11);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, PCI_INTERRUPT_LINE, 1), ==, 11);

    pci_set_irq(&testdev.pci, 1);
    g_assert_cmpint(gsi_level[11], ==, 1);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, ==,
                    PCI_STATUS_INTERRUPT);

    /* INTx disable masks the pin but keeps the status bit. */
    cfg_write(TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
    g_assert_cmpint(gsi_level[11], ==, 0);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, ==,
                    PCI_STATUS_INTERRUPT);
    cfg_write(TEST_DEVFN, PCI_COMMAND, 0, 2);
    g_assert_cmpint(gsi_level[11], ==, 1);

    /* Rerouting PIRQD moves the level to the new ISA IRQ. */
    cfg_write(PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE + 3, 0x05, 1);
    g_assert_cmpint(gsi_level[11], ==, 0);
    g_assert_cmpint(gsi_level[5], ==, 1);
    /* Disabled or reserved targets drive nothing. */
    cfg_write(PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE + 3, 0x85, 1);
    g_assert_cmpint(gsi_level[5], ==, 0);
    cfg_write(PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE + 3, 0x02, 1);
    for (int i = 0; i < 16; i++) {
        g_assert_cmpint(gsi_level[i], ==, 0);
    }
    cfg_write(PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE + 3, 0x0b, 1);
    g_assert_cmpint(gsi_level[11], ==, 1);

    pci_set_irq(&testdev.pci, 0);
    g_assert_cmpint(gsi_level[11], ==, 0);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, ==, 0);
}

static void test_reset_control(void)
{
    int status = -1;
    unsigned resets = testdev.reset_count;

    /* Program some state the reset must undo. */
    cfg_write(TEST_DEVFN, PCI_BASE_ADDRESS_0, 0xfebf0000, 4);
    cfg_write(TEST_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    g_assert_cmphex(pci_bar_address(&testdev.pci, 0), ==, 0xfebf0000);

    /* Reading 0xcf9 gives the stored type bit; bit 1 alone resets nothing. */
    out_sized(0xcf9, 0x02, 1);
    g_assert_cmphex(in_sized(0xcf9, 1), ==, 0x02);
    g_assert_false(runstate_handle_requests(&status));
    g_assert_cmpuint(testdev.reset_count, ==, resets);

    /* Bit 2 with bit 1: hard reset through the main loop's handler. */
    outl(0xcf8, config_address(0, TEST_DEVFN, 0));
    out_sized(0xcf9, 0x06, 1);
    g_assert_false(runstate_handle_requests(&status));
    g_assert_cmpuint(testdev.reset_count, ==, resets + 1);
    g_assert_cmphex(in_sized(0xcf8, 4), ==, 0);
    g_assert_cmphex(in_sized(0xcf9, 1), ==, 0);
    g_assert_cmphex(pci_bar_address(&testdev.pci, 0), ==, PCI_BAR_UNMAPPED);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, PCI_BASE_ADDRESS_0, 4), ==, 0);
    g_assert_cmphex(cfg_read(0, PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE, 4), ==, 0x80808080);

    /* With -no-reboot the same write shuts the VM down. */
    no_reboot = true;
    out_sized(0xcf9, 0x06, 1);
    g_assert_true(runstate_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
    no_reboot = false;
    runstate_set(RUN_STATE_PRELAUNCH);
}

static void test_hostile(void)
{
    GRand *rand = g_rand_new_with_seed(0x9c1);
    static const unsigned sizes[3] = { 1, 2, 4 };

    for (int i = 0; i < 20000; i++) {
        uint32_t addr = g_rand_int(rand);
        unsigned size = sizes[g_rand_int_range(rand, 0, 3)];
        uint16_t port = 0xcf8 + g_rand_int_range(rand, 0, 8);

        /* Keep to the functions on bus 0, and away from 0xcf9 resets. */
        addr = (addr & 0x8000ffff);
        if (port == 0xcf9) {
            port = 0xcfc;
        }
        outl(0xcf8, addr);
        if (g_rand_boolean(rand)) {
            in_sized(port, size);
        } else {
            out_sized(port, g_rand_int(rand), size);
        }
    }
    g_rand_free(rand);
    /* IDs survived. */
    g_assert_cmphex(cfg_read(0, I440FX_HOST_DEVFN, 0, 4), ==, 0x12378086);
    g_assert_cmphex(cfg_read(0, PIIX3_DEVFN, 0, 4), ==, 0x70008086);
    g_assert_cmphex(cfg_read(0, TEST_DEVFN, 0, 4), ==, 0x56781234);
    /* Direct bus calls with bad offsets/lengths are refused. */
    g_assert_cmphex(pci_bus_config_read(bus, 0, 0, 255, 4), ==, 0xffffffff);
    g_assert_cmphex(pci_bus_config_read(bus, 0, 0, 0, 3), ==, 0xffffffff);
    g_assert_cmphex(pci_bus_config_read(bus, 0, 300, 0, 4), ==, 0xffffffff);
    pci_bus_config_write(bus, 0, 0, 254, 0xffffffff, 4);
    pci_bus_config_write(bus, 0, 0, 1000, 0xffffffff, 1);
    pci_device_reset(&testdev.pci);
}

static void test_register_errors(void)
{
    PCIDevice other = { 0 };
    MemoryRegion odd;
    GError *err = NULL;

    pci_device_init(&other, "other", 0x1234, 0x1, PCI_CLASS_OTHERS);
    g_assert_false(pci_device_register(bus, &other, TEST_DEVFN, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    memory_region_init_io(&odd, NULL, &testdev_ops, NULL, "odd", 3000);
    g_assert_false(pci_register_bar(&other, 0, 0, &odd, &err));
    g_clear_error(&err);
    g_assert_false(pci_register_bar(&other, 5, PCI_BASE_ADDRESS_MEM_TYPE_64, &testdev.mmio,
                                    &err));
    g_clear_error(&err);
    g_assert_false(pci_register_bar(&other, 6, 0, &testdev.mmio, &err));
    g_clear_error(&err);
    memory_region_destroy(&odd);

    /* Auto placement takes the first free slot's function 0. */
    g_assert_true(pci_device_register(bus, &other, -1, &err));
    g_assert_no_error(err);
    g_assert_cmpint(other.devfn, ==, PCI_DEVFN(2, 0));
    g_assert_cmphex(cfg_read(0, PCI_DEVFN(2, 0), 0, 4), ==, 0x00011234);
    pci_device_unregister(&other);
    g_assert_cmphex(cfg_read(0, PCI_DEVFN(2, 0), 0, 4), ==, 0xffffffff);
    g_free(other.name);

    /* Only one host bridge. */
    g_assert_null(i440fx_create(get_system_memory(), get_system_io(), gsis, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
}

static void setup_machine(void)
{
    GError *err = NULL;

    for (int i = 0; i < NR_GSIS; i++) {
        gsis[i] = irq_new(record_gsi, NULL, i);
    }
    bus = i440fx_create(get_system_memory(), get_system_io(), gsis, &err);
    g_assert_no_error(err);
    g_assert_nonnull(bus);
    g_assert_true(pci_get_default_bus() == bus);

    pci_device_init(&testdev.pci, "testdev", 0x1234, 0x5678, PCI_CLASS_OTHERS);
    pci_config_set_interrupt_pin(&testdev.pci, 1);
    testdev.pci.reset = testdev_reset;
    memory_region_init_io(&testdev.mmio, NULL, &testdev_ops, (void *)0x1000, "t-mmio", 0x1000);
    memory_region_init_io(&testdev.io, NULL, &testdev_ops, (void *)0x2000, "t-io", 32);
    memory_region_init_io(&testdev.mmio64, NULL, &testdev_ops, (void *)0x3000, "t-mmio64",
                          0x100000);
    g_assert_true(pci_register_bar(&testdev.pci, 0, 0, &testdev.mmio, &err));
    g_assert_true(pci_register_bar(&testdev.pci, 1, PCI_BASE_ADDRESS_SPACE_IO, &testdev.io,
                                   &err));
    g_assert_true(pci_register_bar(&testdev.pci, 2,
                                   PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH,
                                   &testdev.mmio64, &err));
    g_assert_false(pci_register_bar(&testdev.pci, 3, 0, &testdev.mmio, &err));
    g_clear_error(&err);
    g_assert_true(pci_device_register(bus, &testdev.pci, TEST_DEVFN, &err));
    g_assert_no_error(err);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    bql_lock();
    main_loop_init();
    memory_system_init();
    setup_machine();

    g_test_add_func("/pci/scan-bus0", test_scan_bus0);
    g_test_add_func("/pci/config-mechanism", test_config_mechanism);
    g_test_add_func("/pci/bar-sizing-and-mapping", test_bar_sizing_and_mapping);
    g_test_add_func("/pci/intx-routing", test_intx_routing);
    g_test_add_func("/pci/reset-control", test_reset_control);
    g_test_add_func("/pci/hostile", test_hostile);
    g_test_add_func("/pci/register-errors", test_register_errors);
    ret = g_test_run();

    devices_destroy_all();
    bql_unlock();
    return ret;
}
