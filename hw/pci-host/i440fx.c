/*
 * i440FX-style PCI host bridge and PIIX3 ISA bridge. See
 * include/hw/pci-host/i440fx.h and docs/platform-devices.md.
 *
 * Configuration mechanism #1: a dword write to 0xcf8 latches the address
 * (bit 31 enable, bits 23-16 bus, 15-11 device, 10-8 function, 7-2
 * register); byte, word and dword accesses to 0xcfc-0xcff then reach the
 * register plus (port & 3). With bit 31 clear the data ports decode
 * nothing (reads all ones). Only dword accesses hit the address register:
 * a byte at 0xcf9 is the PIIX3 reset control register instead, and other
 * sizes there decode nothing.
 */
#include "hw/pci-host/i440fx.h"
#include "kestrel/log.h"
#include "sysemu/runstate.h"

#define I440FX_DEVICE_ID   0x1237
#define PIIX3_DEVICE_ID    0x7000
#define CONFIG_ENABLE      0x80000000u
#define CONFIG_ADDR_MASK   0x80fffffcu   /* reserved bits 30-24 and 1-0 read 0 */

/* Reset control register (0xcf9). */
#define RCR_SYS_RESET      0x02   /* 1: hard (system) reset, 0: soft (CPU) reset */
#define RCR_RESET_CPU      0x04   /* writing 1 starts the reset */
#define RCR_FULL_RESET     0x08
#define RCR_STORED         (RCR_SYS_RESET | RCR_FULL_RESET)

/* i440FX host bridge registers kept as plain storage (no shadowing yet). */
#define I440FX_PAM0        0x59
#define I440FX_PAM_COUNT   7
#define I440FX_SMRAM       0x72

typedef struct PIIX3State {
    PCIDevice dev;
    struct I440FXState *host;
    uint8_t rcr;
    int pirq_level[PIIX_NUM_PIRQS];
    int isa_level[16];       /* what we drive onto each ISA IRQ line */
} PIIX3State;

typedef struct I440FXState {
    DeviceState parent;
    MemoryRegion *system_memory;
    MemoryRegion *system_io;
    qemu_irq isa_irqs[16];

    PCIBus *bus;
    MemoryRegion config_address_io;
    MemoryRegion config_data_io;
    bool io_mapped;
    uint32_t config_address;

    PCIDevice host_bridge;
    PIIX3State piix3;
} I440FXState;

static I440FXState *the_host;

/* ---- PIIX3: PIRQ routing ---- */

static bool isa_irq_routable(unsigned irq)
{
    /* 0-2, 8 and 13 belong to the timer, keyboard, cascade, RTC and FPU. */
    return irq < 16 && irq != 0 && irq != 1 && irq != 2 && irq != 8 && irq != 13;
}

static int piix3_route(const PIIX3State *s, int pirq)
{
    uint8_t reg = s->dev.config[PIIX3_PIRQ_ROUTE_BASE + pirq];
    unsigned irq = reg & 0x0f;

    if ((reg & PIIX3_PIRQ_DISABLED) || !isa_irq_routable(irq)) {
        return -1;
    }
    return (int)irq;
}

/* Drives each ISA IRQ with the OR of the PIRQs routed to it. */
static void piix3_update_isa_irqs(PIIX3State *s)
{
    int want[16] = { 0 };

    for (int pirq = 0; pirq < PIIX_NUM_PIRQS; pirq++) {
        int irq = piix3_route(s, pirq);
        if (irq >= 0 && s->pirq_level[pirq]) {
            want[irq] = 1;
        }
    }
    for (int irq = 0; irq < 16; irq++) {
        if (want[irq] != s->isa_level[irq]) {
            s->isa_level[irq] = want[irq];
            irq_set_level(s->host->isa_irqs[irq], want[irq]);
        }
    }
}

static void piix3_set_pirq(void *opaque, int pirq, int level)
{
    PIIX3State *s = opaque;

    g_assert(pirq >= 0 && pirq < PIIX_NUM_PIRQS);
    s->pirq_level[pirq] = level != 0;
    piix3_update_isa_irqs(s);
}

int i440fx_slot_pirq(int slot, int pin)
{
    return (slot + pin) & 3;
}

static int piix3_map_irq(PCIDevice *dev, int pin)
{
    return i440fx_slot_pirq(PCI_SLOT(dev->devfn), pin);
}

static void piix3_write_config(PCIDevice *dev, uint32_t offset, uint32_t val, unsigned len)
{
    PIIX3State *s = container_of(dev, PIIX3State, dev);

    pci_default_write_config(dev, offset, val, len);
    if (offset < PIIX3_PIRQ_ROUTE_BASE + PIIX_NUM_PIRQS && offset + len > PIIX3_PIRQ_ROUTE_BASE) {
        piix3_update_isa_irqs(s);
    }
}

static void piix3_reset(PCIDevice *dev)
{
    PIIX3State *s = container_of(dev, PIIX3State, dev);

    pci_set_word(dev->config + PCI_COMMAND,
                 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    for (int i = 0; i < PIIX_NUM_PIRQS; i++) {
        dev->config[PIIX3_PIRQ_ROUTE_BASE + i] = PIIX3_PIRQ_DISABLED;
    }
    dev->config[0x4c] = 0x4d;   /* ISA I/O recovery timer */
    dev->config[0x4e] = 0x03;   /* X-bus chip select */
    dev->config[0x4f] = 0x00;
    dev->config[0x69] = 0x02;   /* top of memory */
    dev->config[0x70] = 0x80;   /* motherboard IRQ route: disabled */
    dev->config[0x71] = 0x80;
    dev->config[0x76] = 0x0c;   /* motherboard DMA */
    dev->config[0x77] = 0x0c;
    dev->config[0x80] = 0x00;   /* APIC base relocation */
    dev->config[0x82] = 0x00;
    memset(dev->config + 0xa0, 0, 0x0c);
    dev->config[0xa0] = 0x08;
    s->rcr = 0;
    piix3_update_isa_irqs(s);
}

static void piix3_init(PIIX3State *s)
{
    static const uint8_t writable[] = {
        0x4c, 0x4e, 0x4f, 0x69, 0x6a, 0x6b, 0x70, 0x71, 0x76, 0x77, 0x78, 0x79, 0x80, 0x82,
        0xa0, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xaa, 0xab,
    };
    PCIDevice *dev = &s->dev;

    pci_device_init(dev, "PIIX3", PCI_VENDOR_ID_INTEL, PIIX3_DEVICE_ID, PCI_CLASS_BRIDGE_ISA);
    dev->config[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_MULTI_FUNCTION;
    pci_set_word(dev->config + PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
    for (size_t i = 0; i < G_N_ELEMENTS(writable); i++) {
        dev->wmask[writable[i]] = 0xff;
    }
    for (int i = 0; i < PIIX_NUM_PIRQS; i++) {
        dev->wmask[PIIX3_PIRQ_ROUTE_BASE + i] = PIIX3_PIRQ_DISABLED | 0x0f;
    }
    dev->config_write = piix3_write_config;
    dev->reset = piix3_reset;
}

static PIIX3State *piix3_from_bus(PCIBus *bus)
{
    PCIDevice *dev = pci_bus_find_device(bus, PIIX3_DEVFN);

    if (!dev || dev->config_write != piix3_write_config) {
        return NULL;
    }
    return container_of(dev, PIIX3State, dev);
}

int i440fx_pirq_to_isa_irq(PCIBus *bus, int pirq)
{
    PIIX3State *s = piix3_from_bus(bus);

    if (!s || pirq < 0 || pirq >= PIIX_NUM_PIRQS) {
        return -1;
    }
    return piix3_route(s, pirq);
}

void i440fx_firmware_init(PCIBus *bus)
{
    static const uint8_t firmware_routes[PIIX_NUM_PIRQS] = { 10, 10, 11, 11 };
    PIIX3State *s = piix3_from_bus(bus);

    if (!s) {
        return;
    }
    for (int pirq = 0; pirq < PIIX_NUM_PIRQS; pirq++) {
        pci_bus_config_write(bus, 0, PIIX3_DEVFN, PIIX3_PIRQ_ROUTE_BASE + pirq,
                             firmware_routes[pirq], 1);
    }
    for (int devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
        PCIDevice *dev = pci_bus_find_device(bus, devfn);
        uint8_t pin;

        if (!dev) {
            continue;
        }
        pin = dev->config[PCI_INTERRUPT_PIN];
        if (pin >= 1 && pin <= PCI_NUM_PINS) {
            int irq = piix3_route(s, i440fx_slot_pirq(PCI_SLOT(devfn), pin - 1));
            dev->config[PCI_INTERRUPT_LINE] = irq >= 0 ? (uint8_t)irq : 0xff;
        }
    }
}

/* ---- PIIX3: reset control register ---- */

static void piix3_rcr_write(PIIX3State *s, uint8_t val)
{
    s->rcr = val & RCR_STORED;
    if (val & RCR_RESET_CPU) {
        if (!(val & RCR_SYS_RESET)) {
            log_mask(LOG_UNIMP, "piix3: soft (CPU-only) reset through 0xcf9 is done as a "
                     "full system reset\n");
        }
        system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

/* ---- configuration mechanism #1 ---- */

static uint64_t config_address_read(void *opaque, hwaddr addr, unsigned size)
{
    I440FXState *s = opaque;

    if (addr == 0 && size == 4) {
        return s->config_address;
    }
    if (addr == 1 && size == 1) {
        return s->piix3.rcr;
    }
    return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static void config_address_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    I440FXState *s = opaque;

    if (addr == 0 && size == 4) {
        s->config_address = (uint32_t)val & CONFIG_ADDR_MASK;
    } else if (addr == 1 && size == 1) {
        piix3_rcr_write(&s->piix3, (uint8_t)val);
    } else {
        log_guest_error("i440fx: %u-byte write to port 0x%x ignored\n", size,
                        (unsigned)(PCI_CONFIG_ADDRESS_PORT + addr));
    }
}

static const MemoryRegionOps config_address_ops = {
    .read = config_address_read,
    .write = config_address_write,
    .min_access_size = 1,
    .max_access_size = 4,
    .unaligned = true,
};

/* Decodes the latched address for a data-port access; false if disabled
 * or the access leaves the dword. */
static bool config_target(I440FXState *s, hwaddr addr, unsigned size, unsigned *busnr,
                          unsigned *devfn, unsigned *offset)
{
    if (!(s->config_address & CONFIG_ENABLE)) {
        return false;
    }
    if (addr >= 4 || size > 4 - addr) {
        log_guest_error("i440fx: %u-byte config data access at 0xcfc+%u crosses the dword\n",
                        size, (unsigned)addr);
        return false;
    }
    *busnr = (s->config_address >> 16) & 0xff;
    *devfn = (s->config_address >> 8) & 0xff;
    *offset = (s->config_address & 0xfc) + (unsigned)addr;
    return true;
}

static uint64_t config_data_read(void *opaque, hwaddr addr, unsigned size)
{
    I440FXState *s = opaque;
    unsigned busnr, devfn, offset;

    if (!config_target(s, addr, size, &busnr, &devfn, &offset)) {
        return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    }
    return pci_bus_config_read(s->bus, busnr, devfn, offset, size);
}

static void config_data_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    I440FXState *s = opaque;
    unsigned busnr, devfn, offset;

    if (config_target(s, addr, size, &busnr, &devfn, &offset)) {
        pci_bus_config_write(s->bus, busnr, devfn, offset, (uint32_t)val, size);
    }
}

static const MemoryRegionOps config_data_ops = {
    .read = config_data_read,
    .write = config_data_write,
    .min_access_size = 1,
    .max_access_size = 4,
    .unaligned = true,
};

/* ---- the host bridge device ---- */

static void host_bridge_init(PCIDevice *dev)
{
    pci_device_init(dev, "i440FX", PCI_VENDOR_ID_INTEL, I440FX_DEVICE_ID,
                    PCI_CLASS_BRIDGE_HOST);
    dev->config[PCI_REVISION_ID] = 0x02;
    pci_set_word(dev->config + PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
    /* PAM and SMRAM: remembered so firmware reads back what it wrote. */
    memset(dev->wmask + I440FX_PAM0, 0xff, I440FX_PAM_COUNT);
    dev->wmask[I440FX_SMRAM] = 0xff;
}

static void host_bridge_reset(PCIDevice *dev)
{
    pci_set_word(dev->config + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    memset(dev->config + I440FX_PAM0, 0, I440FX_PAM_COUNT);
    dev->config[I440FX_SMRAM] = 0x02;
}

static void i440fx_reset(DeviceState *d)
{
    I440FXState *s = (I440FXState *)d;

    s->config_address = 0;
    pci_bus_reset(s->bus);
}

static void i440fx_unrealize(DeviceState *d)
{
    I440FXState *s = (I440FXState *)d;

    if (s->io_mapped) {
        memory_region_del_subregion(s->system_io, &s->config_address_io);
        memory_region_del_subregion(s->system_io, &s->config_data_io);
        memory_region_destroy(&s->config_address_io);
        memory_region_destroy(&s->config_data_io);
        s->io_mapped = false;
    }
    if (s->bus) {
        /* Lower every ISA line we drive before the lines go away. */
        for (int i = 0; i < PIIX_NUM_PIRQS; i++) {
            s->piix3.pirq_level[i] = 0;
        }
        piix3_update_isa_irqs(&s->piix3);
        pci_bus_free(s->bus);
        s->bus = NULL;
    }
    g_free(s->host_bridge.name);
    g_free(s->piix3.dev.name);
    s->host_bridge.name = s->piix3.dev.name = NULL;
    if (the_host == s) {
        the_host = NULL;
    }
}

static bool i440fx_realize(DeviceState *d, GError **errp)
{
    I440FXState *s = (I440FXState *)d;

    if (!s->system_memory || !s->system_io) {
        error_setg(errp, "%s: only a machine can create it (use i440fx_create)",
                   TYPE_I440FX_PCI_HOST);
        return false;
    }
    if (the_host) {
        error_setg(errp, "%s: the machine already has a PCI host bridge", TYPE_I440FX_PCI_HOST);
        return false;
    }
    s->bus = pci_bus_new("pci.0", s->system_memory, s->system_io);
    s->piix3.host = s;
    pci_bus_set_irq_routing(s->bus, piix3_set_pirq, piix3_map_irq, &s->piix3, PIIX_NUM_PIRQS);

    host_bridge_init(&s->host_bridge);
    s->host_bridge.reset = host_bridge_reset;
    piix3_init(&s->piix3);
    if (!pci_device_register(s->bus, &s->host_bridge, I440FX_HOST_DEVFN, errp) ||
        !pci_device_register(s->bus, &s->piix3.dev, PIIX3_DEVFN, errp)) {
        i440fx_unrealize(d);
        return false;
    }

    memory_region_init_io(&s->config_address_io, s, &config_address_ops, s, "pci-conf-idx", 4);
    memory_region_init_io(&s->config_data_io, s, &config_data_ops, s, "pci-conf-data", 4);
    memory_region_transaction_begin();
    memory_region_add_subregion(s->system_io, PCI_CONFIG_ADDRESS_PORT, &s->config_address_io);
    memory_region_add_subregion(s->system_io, PCI_CONFIG_DATA_PORT, &s->config_data_io);
    memory_region_transaction_commit();
    s->io_mapped = true;
    the_host = s;
    if (!pci_get_default_bus()) {
        pci_set_default_bus(s->bus);
    }
    i440fx_reset(d);
    return true;
}

PCIBus *i440fx_create(MemoryRegion *system_memory, MemoryRegion *system_io,
                      qemu_irq *pic_gsis, GError **errp)
{
    DeviceState *d;
    I440FXState *s;

    if (!system_memory || !system_io) {
        error_setg(errp, "%s: the system memory and io regions are required",
                   TYPE_I440FX_PCI_HOST);
        return NULL;
    }
    d = device_new(TYPE_I440FX_PCI_HOST, errp);
    if (!d) {
        return NULL;
    }
    s = (I440FXState *)d;
    s->system_memory = system_memory;
    s->system_io = system_io;
    for (int i = 0; pic_gsis && i < 16; i++) {
        s->isa_irqs[i] = pic_gsis[i];
    }
    if (!device_realize(d, errp)) {
        device_destroy(d);
        return NULL;
    }
    return s->bus;
}

static const Property i440fx_props[] = {
    DEFINE_PROP_END,
};

static const DeviceClass i440fx_class = {
    .name = TYPE_I440FX_PCI_HOST,
    .description = "i440FX PCI host bridge with PIIX3 ISA bridge",
    .instance_size = sizeof(I440FXState),
    .props = i440fx_props,
    .user_creatable = false,
    .realize = i440fx_realize,
    .unrealize = i440fx_unrealize,
    .reset = i440fx_reset,
};

static void i440fx_register(void)
{
    device_class_register(&i440fx_class);
}
type_init(i440fx_register)
