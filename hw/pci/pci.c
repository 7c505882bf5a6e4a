/*
 * The PCI bus: configuration space of each function, BAR sizing and
 * mapping, INTx routing. See include/hw/pci/pci.h and
 * docs/platform-devices.md.
 *
 * BAR placement follows the configuration header rules: the guest writes
 * all ones and reads back the size mask (the writable bits are exactly the
 * address bits above the size), then writes an address. A BAR decodes only
 * while its space is enabled in the command register, its address is
 * nonzero, and the whole window fits (below 64 KiB for io, below 4 GiB for a
 * 32-bit memory BAR). The all-ones value of the sizing protocol therefore
 * never maps anything. BARs map with priority -1 so that RAM, ROM and the
 * chipset's own ports (0xcf8) keep winning when a guest places a BAR on
 * top of them.
 */
#include "hw/pci/pci.h"
#include "kestrel/log.h"

#define PCI_BAR_PRIORITY  (-1)
#define PCI_IO_SPACE_END  0x10000ull
#define PCI_MEM_LIMIT     (1ull << 52)   /* beyond any guest physical address width */

struct PCIBus {
    char *name;
    MemoryRegion *mem;
    MemoryRegion *io;
    PCIDevice *devices[PCI_DEVFN_MAX];
    pci_set_irq_fn set_irq;
    pci_map_irq_fn map_irq;
    void *irq_opaque;
    int nirq;
    int *irq_count;          /* asserted pins per bus line */
};

static PCIBus *default_bus;

static uint32_t all_ones(unsigned len)
{
    return len >= 4 ? 0xffffffffu : (1u << (len * 8)) - 1;
}

static bool config_access_valid(unsigned offset, unsigned len)
{
    return (len == 1 || len == 2 || len == 4) && offset < PCI_CONFIG_SPACE_SIZE &&
           len <= PCI_CONFIG_SPACE_SIZE - offset;
}

/* ---- buses ---- */

PCIBus *pci_bus_new(const char *name, MemoryRegion *mem, MemoryRegion *io)
{
    PCIBus *bus = g_new0(PCIBus, 1);

    bus->name = g_strdup(name);
    bus->mem = mem;
    bus->io = io;
    return bus;
}

void pci_bus_free(PCIBus *bus)
{
    if (!bus) {
        return;
    }
    for (int i = 0; i < PCI_DEVFN_MAX; i++) {
        if (bus->devices[i]) {
            pci_device_unregister(bus->devices[i]);
        }
    }
    if (default_bus == bus) {
        default_bus = NULL;
    }
    g_free(bus->irq_count);
    g_free(bus->name);
    g_free(bus);
}

void pci_bus_set_irq_routing(PCIBus *bus, pci_set_irq_fn set_irq, pci_map_irq_fn map_irq,
                             void *opaque, int nirq)
{
    g_assert(nirq >= 0);
    bus->set_irq = set_irq;
    bus->map_irq = map_irq;
    bus->irq_opaque = opaque;
    bus->nirq = nirq;
    g_free(bus->irq_count);
    bus->irq_count = g_new0(int, nirq > 0 ? nirq : 1);
}

PCIBus *pci_get_default_bus(void)
{
    return default_bus;
}

void pci_set_default_bus(PCIBus *bus)
{
    default_bus = bus;
}

PCIDevice *pci_bus_find_device(PCIBus *bus, int devfn)
{
    if (!bus || devfn < 0 || devfn >= PCI_DEVFN_MAX) {
        return NULL;
    }
    return bus->devices[devfn];
}

void pci_bus_reset(PCIBus *bus)
{
    for (int i = 0; i < PCI_DEVFN_MAX; i++) {
        if (bus->devices[i]) {
            pci_device_reset(bus->devices[i]);
        }
    }
}

uint32_t pci_bus_config_read(PCIBus *bus, unsigned busnr, unsigned devfn, unsigned offset,
                             unsigned len)
{
    PCIDevice *dev;

    if (!config_access_valid(offset, len)) {
        log_guest_error("pci: invalid config read of %u bytes at 0x%x\n", len, offset);
        return all_ones(len == 1 || len == 2 ? len : 4);
    }
    /* Only bus 0 exists (no PCI-PCI bridges): master abort elsewhere. */
    dev = busnr == 0 ? pci_bus_find_device(bus, (int)devfn) : NULL;
    if (!dev) {
        return all_ones(len);
    }
    if (dev->config_read) {
        return dev->config_read(dev, offset, len) & all_ones(len);
    }
    return pci_default_read_config(dev, offset, len);
}

void pci_bus_config_write(PCIBus *bus, unsigned busnr, unsigned devfn, unsigned offset,
                          uint32_t val, unsigned len)
{
    PCIDevice *dev;

    if (!config_access_valid(offset, len)) {
        log_guest_error("pci: invalid config write of %u bytes at 0x%x\n", len, offset);
        return;
    }
    dev = busnr == 0 ? pci_bus_find_device(bus, (int)devfn) : NULL;
    if (!dev) {
        return;
    }
    val &= all_ones(len);
    if (dev->config_write) {
        dev->config_write(dev, offset, val, len);
    } else {
        pci_default_write_config(dev, offset, val, len);
    }
}

/* ---- interrupts ---- */

static uint8_t intx_pin(const PCIDevice *dev)
{
    return dev->config[PCI_INTERRUPT_PIN];
}

/* Whether the pin should now count as asserted on the bus. */
static bool intx_should_assert(const PCIDevice *dev)
{
    uint8_t pin = intx_pin(dev);

    return dev->irq_level && dev->bus && dev->bus->map_irq && pin >= 1 && pin <= PCI_NUM_PINS &&
           !(pci_get_word(dev->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
}

static void bus_line_change(PCIBus *bus, int line, int delta)
{
    int old = bus->irq_count[line];

    bus->irq_count[line] += delta;
    g_assert(bus->irq_count[line] >= 0);
    if ((old != 0) != (bus->irq_count[line] != 0) && bus->set_irq) {
        bus->set_irq(bus->irq_opaque, line, bus->irq_count[line] != 0);
    }
}

/* Brings the bus's view of this function's pin in line with its state. */
static void intx_update(PCIDevice *dev)
{
    bool assert = intx_should_assert(dev);

    if (dev->intx_line >= 0 && !assert) {
        bus_line_change(dev->bus, dev->intx_line, -1);
        dev->intx_line = -1;
    } else if (dev->intx_line < 0 && assert) {
        int line = dev->bus->map_irq(dev, intx_pin(dev) - 1);
        if (line < 0 || line >= dev->bus->nirq) {
            log_guest_error("pci: %s: INTx routed to nonexistent line %d\n", dev->name, line);
            return;
        }
        dev->intx_line = line;
        bus_line_change(dev->bus, line, +1);
    }
}

void pci_set_irq(PCIDevice *dev, int level)
{
    uint16_t status = pci_get_word(dev->config + PCI_STATUS);

    dev->irq_level = level != 0;
    /* The status bit shows the pin's state even while INTx is disabled. */
    status = dev->irq_level ? (status | PCI_STATUS_INTERRUPT) : (status & ~PCI_STATUS_INTERRUPT);
    pci_set_word(dev->config + PCI_STATUS, status);
    intx_update(dev);
}

void pci_config_set_interrupt_pin(PCIDevice *dev, uint8_t pin)
{
    g_assert(pin <= PCI_NUM_PINS);
    dev->config[PCI_INTERRUPT_PIN] = pin;
}

/* ---- BARs ---- */

static unsigned bar_offset(int bar)
{
    return PCI_BASE_ADDRESS_0 + 4 * bar;
}

static bool bar_is_io(const PCIBar *b)
{
    return b->type & PCI_BASE_ADDRESS_SPACE_IO;
}

static bool bar_is_64(const PCIBar *b)
{
    return !bar_is_io(b) && (b->type & PCI_BASE_ADDRESS_MEM_TYPE_64);
}

/* Where the BAR should decode now, from the command register and the
 * address the guest wrote; PCI_BAR_UNMAPPED when it should not. */
static uint64_t bar_decoded_address(const PCIDevice *dev, int bar)
{
    const PCIBar *b = &dev->bars[bar];
    uint16_t cmd = pci_get_word(dev->config + PCI_COMMAND);
    uint64_t addr = pci_get_long(dev->config + bar_offset(bar));
    uint64_t last;

    if (bar_is_io(b)) {
        if (!(cmd & PCI_COMMAND_IO)) {
            return PCI_BAR_UNMAPPED;
        }
        addr &= ~(uint64_t)0x3 & ~(b->size - 1);
        if (addr == 0 || addr + b->size > PCI_IO_SPACE_END) {
            return PCI_BAR_UNMAPPED;
        }
        return addr;
    }
    if (!(cmd & PCI_COMMAND_MEMORY)) {
        return PCI_BAR_UNMAPPED;
    }
    if (bar_is_64(b)) {
        addr |= (uint64_t)pci_get_long(dev->config + bar_offset(bar + 1)) << 32;
    }
    addr &= ~(uint64_t)0xf & ~(b->size - 1);
    last = addr + b->size - 1;
    if (addr == 0 || last < addr) {
        return PCI_BAR_UNMAPPED;
    }
    /* Strictly below the top: the all-ones sizing value never decodes. */
    if (bar_is_64(b) ? last >= PCI_MEM_LIMIT : last >= 0xffffffffull) {
        return PCI_BAR_UNMAPPED;
    }
    return addr;
}

static void bar_map(PCIDevice *dev, int bar, uint64_t addr)
{
    PCIBar *b = &dev->bars[bar];
    MemoryRegion *container = bar_is_io(b) ? dev->bus->io : dev->bus->mem;

    if (addr == b->mapped_addr) {
        return;
    }
    memory_region_transaction_begin();
    if (b->mapped_addr != PCI_BAR_UNMAPPED) {
        memory_region_del_subregion(container, b->mr);
    }
    if (addr != PCI_BAR_UNMAPPED) {
        memory_region_add_subregion_overlap(container, addr, b->mr, PCI_BAR_PRIORITY);
    }
    b->mapped_addr = addr;
    memory_region_transaction_commit();
}

static void update_mappings(PCIDevice *dev)
{
    if (!dev->bus) {
        return;
    }
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        if (dev->bars[i].mr) {
            bar_map(dev, i, bar_decoded_address(dev, i));
        }
    }
}

bool pci_register_bar(PCIDevice *dev, int bar, uint8_t type, MemoryRegion *mr, GError **errp)
{
    uint64_t size = mr ? mr->size : 0;
    bool io = type & PCI_BASE_ADDRESS_SPACE_IO;
    bool is64 = !io && (type & PCI_BASE_ADDRESS_MEM_TYPE_64);
    uint64_t mask;

    if (bar < 0 || bar >= PCI_NUM_BARS || (is64 && bar + 1 >= PCI_NUM_BARS)) {
        error_setg(errp, "pci: %s: BAR %d does not exist", dev->name, bar);
        return false;
    }
    if (dev->bars[bar].mr || (bar > 0 && dev->bars[bar - 1].mr && bar_is_64(&dev->bars[bar - 1])) ||
        (is64 && dev->bars[bar + 1].mr)) {
        error_setg(errp, "pci: %s: BAR %d is already in use", dev->name, bar);
        return false;
    }
    if (size == 0 || (size & (size - 1)) != 0 || size < (io ? 4u : 16u) ||
        (io && size > 256) || (!is64 && size > 0x80000000ull)) {
        error_setg(errp, "pci: %s: BAR %d size 0x%" PRIx64 " is not valid for %s", dev->name,
                   bar, size, io ? "io space (4..256, power of two)" : "memory (power of two)");
        return false;
    }
    type &= io ? PCI_BASE_ADDRESS_SPACE_IO
               : (PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
    dev->bars[bar] = (PCIBar) { .mr = mr, .size = size, .type = type,
                                .mapped_addr = PCI_BAR_UNMAPPED };
    mask = ~(size - 1) & ~(uint64_t)(io ? 0x3 : 0xf);
    pci_set_long(dev->config + bar_offset(bar), type);
    pci_set_long(dev->wmask + bar_offset(bar), (uint32_t)mask);
    if (is64) {
        pci_set_long(dev->config + bar_offset(bar + 1), 0);
        pci_set_long(dev->wmask + bar_offset(bar + 1), (uint32_t)(mask >> 32));
    }
    update_mappings(dev);
    return true;
}

uint64_t pci_bar_address(const PCIDevice *dev, int bar)
{
    if (bar < 0 || bar >= PCI_NUM_BARS || !dev->bars[bar].mr) {
        return PCI_BAR_UNMAPPED;
    }
    return dev->bars[bar].mapped_addr;
}

/* ---- configuration space ---- */

uint32_t pci_default_read_config(PCIDevice *dev, uint32_t offset, unsigned len)
{
    uint32_t val = 0;

    g_assert(config_access_valid(offset, len));
    for (unsigned i = 0; i < len; i++) {
        val |= (uint32_t)dev->config[offset + i] << (8 * i);
    }
    return val;
}

static bool ranges_overlap(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
    return a < b + blen && b < a + alen;
}

void pci_default_write_config(PCIDevice *dev, uint32_t offset, uint32_t val, unsigned len)
{
    g_assert(config_access_valid(offset, len));
    for (unsigned i = 0; i < len; i++) {
        uint8_t byte = val >> (8 * i);
        uint8_t *cfg = &dev->config[offset + i];

        *cfg = (*cfg & ~dev->wmask[offset + i]) | (byte & dev->wmask[offset + i]);
        *cfg &= ~(byte & dev->w1cmask[offset + i]);
    }
    if (ranges_overlap(offset, len, PCI_COMMAND, 2) ||
        ranges_overlap(offset, len, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS)) {
        update_mappings(dev);
    }
    if (ranges_overlap(offset, len, PCI_COMMAND, 2) && dev->bus) {
        intx_update(dev);
    }
}

/* ---- functions ---- */

void pci_device_init(PCIDevice *dev, const char *name, uint16_t vendor_id, uint16_t device_id,
                     uint16_t class_code)
{
    g_free(dev->name);
    dev->name = g_strdup(name);
    dev->devfn = -1;
    dev->intx_line = -1;
    memset(dev->config, 0, sizeof(dev->config));
    memset(dev->wmask, 0, sizeof(dev->wmask));
    memset(dev->w1cmask, 0, sizeof(dev->w1cmask));
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        dev->bars[i] = (PCIBar) { .mapped_addr = PCI_BAR_UNMAPPED };
    }
    pci_set_word(dev->config + PCI_VENDOR_ID, vendor_id);
    pci_set_word(dev->config + PCI_DEVICE_ID, device_id);
    pci_set_word(dev->config + PCI_CLASS_DEVICE, class_code);
    pci_set_word(dev->wmask + PCI_COMMAND,
                 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x0040 /* parity */ |
                 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    pci_set_word(dev->w1cmask + PCI_STATUS, PCI_STATUS_W1C_MASK);
    dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    dev->wmask[PCI_LATENCY_TIMER] = 0xff;
    dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

bool pci_device_register(PCIBus *bus, PCIDevice *dev, int devfn, GError **errp)
{
    if (dev->bus) {
        error_setg(errp, "pci: %s is already on a bus", dev->name);
        return false;
    }
    if (devfn < 0) {
        for (int slot = 0; slot < 32; slot++) {
            if (!bus->devices[PCI_DEVFN(slot, 0)]) {
                devfn = PCI_DEVFN(slot, 0);
                break;
            }
        }
        if (devfn < 0) {
            error_setg(errp, "pci: no free slot on bus %s for %s", bus->name, dev->name);
            return false;
        }
    }
    if (devfn >= PCI_DEVFN_MAX) {
        error_setg(errp, "pci: devfn 0x%x is out of range", devfn);
        return false;
    }
    if (bus->devices[devfn]) {
        error_setg(errp, "pci: slot %02x.%x is already used by %s", PCI_SLOT(devfn),
                   PCI_FUNC(devfn), bus->devices[devfn]->name);
        return false;
    }
    dev->bus = bus;
    dev->devfn = devfn;
    dev->intx_line = -1;
    bus->devices[devfn] = dev;
    update_mappings(dev);
    intx_update(dev);
    return true;
}

void pci_device_unregister(PCIDevice *dev)
{
    PCIBus *bus = dev->bus;

    if (!bus) {
        return;
    }
    dev->irq_level = 0;
    intx_update(dev);
    memory_region_transaction_begin();
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        if (dev->bars[i].mr) {
            bar_map(dev, i, PCI_BAR_UNMAPPED);
        }
    }
    memory_region_transaction_commit();
    bus->devices[dev->devfn] = NULL;
    dev->bus = NULL;
    dev->devfn = -1;
}

void pci_device_reset(PCIDevice *dev)
{
    uint16_t status = pci_get_word(dev->config + PCI_STATUS);

    pci_set_word(dev->config + PCI_COMMAND, 0);
    pci_set_word(dev->config + PCI_STATUS,
                 status & ~(PCI_STATUS_W1C_MASK | PCI_STATUS_INTERRUPT));
    dev->config[PCI_CACHE_LINE_SIZE] = 0;
    dev->config[PCI_LATENCY_TIMER] = 0;
    dev->config[PCI_INTERRUPT_LINE] = 0;
    dev->irq_level = 0;
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        PCIBar *b = &dev->bars[i];
        if (b->mr) {
            pci_set_long(dev->config + bar_offset(i), b->type);
            if (bar_is_64(b)) {
                pci_set_long(dev->config + bar_offset(i + 1), 0);
            }
        }
    }
    if (dev->bus) {
        intx_update(dev);
        memory_region_transaction_begin();
        update_mappings(dev);
        memory_region_transaction_commit();
    }
    if (dev->reset) {
        dev->reset(dev);
    }
}
