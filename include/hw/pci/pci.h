/*
 * A small PCI bus model: functions with a 256-byte configuration space
 * (guest-writable bits given by per-byte masks), base address registers
 * that are sized, placed and mapped into the bus's memory and io address
 * spaces, and INTx interrupts routed by a callback of the host bridge.
 * See docs/platform-devices.md.
 *
 * A PCI function is a PCIDevice embedded at the start of the device's own
 * struct (which, being a qdev device, starts with DeviceState: PCIDevice
 * begins with it). The device fills config[] (IDs, class, pin) and
 * registers its BARs before or after pci_device_register(); the bus then
 * serves configuration cycles. All calls need the big lock.
 */
#ifndef HW_PCI_PCI_H
#define HW_PCI_PCI_H

#include "hw/qdev.h"
#include "hw/irq.h"
#include "exec/memory.h"

#define PCI_CONFIG_SPACE_SIZE   256
#define PCI_NUM_BARS            6
#define PCI_DEVFN(slot, fn)     ((((slot) & 0x1f) << 3) | ((fn) & 0x07))
#define PCI_SLOT(devfn)         (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)         ((devfn) & 0x07)
#define PCI_DEVFN_MAX           256
#define PCI_NUM_PINS            4   /* INTA#..INTD# */

/* Type 0 configuration header offsets. */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_CLASS_DEVICE        0x0a   /* 16 bits: base class << 8 | subclass */
#define PCI_CACHE_LINE_SIZE     0x0c
#define PCI_LATENCY_TIMER       0x0d
#define PCI_HEADER_TYPE         0x0e
#define PCI_BIST                0x0f
#define PCI_BASE_ADDRESS_0      0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d
#define PCI_MIN_GNT             0x3e
#define PCI_MAX_LAT             0x3f

#define PCI_COMMAND_IO          0x0001
#define PCI_COMMAND_MEMORY      0x0002
#define PCI_COMMAND_MASTER      0x0004
#define PCI_COMMAND_SERR        0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT    0x0008
#define PCI_STATUS_CAP_LIST     0x0010
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200
/* Error bits the guest clears by writing 1. */
#define PCI_STATUS_W1C_MASK     0xf900

#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80

#define PCI_BASE_ADDRESS_SPACE_IO     0x01
#define PCI_BASE_ADDRESS_MEM_TYPE_64  0x04
#define PCI_BASE_ADDRESS_MEM_PREFETCH 0x08

#define PCI_VENDOR_ID_INTEL     0x8086
#define PCI_CLASS_BRIDGE_HOST   0x0600
#define PCI_CLASS_BRIDGE_ISA    0x0601
#define PCI_CLASS_OTHERS        0xff00

/* No BAR mapped: the address where nothing is decoded. */
#define PCI_BAR_UNMAPPED        (~(uint64_t)0)

typedef struct PCIBus PCIBus;
typedef struct PCIDevice PCIDevice;

/* Bus interrupt line `irq_num` (as chosen by map_irq) changed level. */
typedef void (*pci_set_irq_fn)(void *opaque, int irq_num, int level);
/* Which bus interrupt line a function's pin (0 = INTA#) drives. */
typedef int (*pci_map_irq_fn)(PCIDevice *dev, int pin);

typedef struct PCIBar {
    MemoryRegion *mr;      /* NULL: BAR not implemented (reads 0) */
    uint64_t size;         /* power of two */
    uint8_t type;          /* low bits of the BAR: PCI_BASE_ADDRESS_* */
    uint64_t mapped_addr;  /* where mr is mapped now, or PCI_BAR_UNMAPPED */
} PCIBar;

struct PCIDevice {
    DeviceState qdev;
    char *name;
    PCIBus *bus;
    int devfn;             /* -1 until registered */

    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    uint8_t wmask[PCI_CONFIG_SPACE_SIZE];    /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE];  /* bits a 1 written clears */

    PCIBar bars[PCI_NUM_BARS];
    int irq_level;         /* of the function's INTx pin, before INTx disable */
    /* Private to pci.c: the bus line this function is counted as asserting
     * (-1: none), so routing stays balanced whatever the guest toggles. */
    int intx_line;

    /* Optional hooks; defaults are pci_default_read/write_config. The
     * offset and length are already checked: len is 1, 2 or 4 and
     * offset + len <= 256. */
    uint32_t (*config_read)(PCIDevice *dev, uint32_t offset, unsigned len);
    void (*config_write)(PCIDevice *dev, uint32_t offset, uint32_t val, unsigned len);
    /* Device-specific part of a reset, after the generic one. */
    void (*reset)(PCIDevice *dev);
};

/* ---- buses ---- */

/* A bus whose BARs map into `mem` and `io` (the machine's system regions). */
PCIBus *pci_bus_new(const char *name, MemoryRegion *mem, MemoryRegion *io);
/* Unregisters the remaining functions (unmapping their BARs) and frees. */
void pci_bus_free(PCIBus *bus);
/* Routes INTx: map_irq picks one of nirq bus lines for each (device, pin),
 * set_irq is told when a line's level (the OR of its pins) changes. */
void pci_bus_set_irq_routing(PCIBus *bus, pci_set_irq_fn set_irq, pci_map_irq_fn map_irq,
                             void *opaque, int nirq);
/* The bus -device PCI devices go on (the machine's bus 0), or NULL. */
PCIBus *pci_get_default_bus(void);
void pci_set_default_bus(PCIBus *bus);
PCIDevice *pci_bus_find_device(PCIBus *bus, int devfn);
/* Machine reset of every function on the bus. */
void pci_bus_reset(PCIBus *bus);

/* Configuration cycles as the host bridge issues them for bus number
 * `busnr`. Nonexistent functions read all ones and ignore writes; offset
 * and len are validated (len 1, 2 or 4 within the 256 bytes). */
uint32_t pci_bus_config_read(PCIBus *bus, unsigned busnr, unsigned devfn, unsigned offset,
                             unsigned len);
void pci_bus_config_write(PCIBus *bus, unsigned busnr, unsigned devfn, unsigned offset,
                          uint32_t val, unsigned len);

/* ---- functions ---- */

/* Prepares dev (config zeroed, the standard writable bits set up) with
 * vendor/device IDs and a 16-bit class code. For devices to call first. */
void pci_device_init(PCIDevice *dev, const char *name, uint16_t vendor_id, uint16_t device_id,
                     uint16_t class_code);
/* Puts dev on bus at devfn (-1: the first free slot's function 0). */
bool pci_device_register(PCIBus *bus, PCIDevice *dev, int devfn, GError **errp);
/* Takes dev off its bus (BARs unmapped, INTx lowered). */
void pci_device_unregister(PCIDevice *dev);
/* Generic reset: command and status cleared, BARs back to 0 and unmapped,
 * interrupt line 0, INTx lowered; then dev->reset. */
void pci_device_reset(PCIDevice *dev);

/* Implements BAR `bar` with region mr (size a power of two: io >= 4 bytes,
 * memory >= 16 bytes). type: PCI_BASE_ADDRESS_SPACE_IO, or memory flags
 * (PCI_BASE_ADDRESS_MEM_TYPE_64 uses bar and bar + 1; _PREFETCH). */
bool pci_register_bar(PCIDevice *dev, int bar, uint8_t type, MemoryRegion *mr, GError **errp);
/* The address a BAR is mapped at, or PCI_BAR_UNMAPPED. */
uint64_t pci_bar_address(const PCIDevice *dev, int bar);

/* Sets the INTx pin's level (config[PCI_INTERRUPT_PIN] must be 1..4). */
void pci_set_irq(PCIDevice *dev, int level);
/* Sets config[PCI_INTERRUPT_PIN] (1 = INTA# .. 4 = INTD#, 0 = none). */
void pci_config_set_interrupt_pin(PCIDevice *dev, uint8_t pin);

uint32_t pci_default_read_config(PCIDevice *dev, uint32_t offset, unsigned len);
void pci_default_write_config(PCIDevice *dev, uint32_t offset, uint32_t val, unsigned len);

static inline void pci_set_byte(uint8_t *p, uint8_t v) { p[0] = v; }
static inline void pci_set_word(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static inline void pci_set_long(uint8_t *p, uint32_t v)
{
    p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}
static inline uint16_t pci_get_word(const uint8_t *p) { return p[0] | (p[1] << 8); }
static inline uint32_t pci_get_long(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

#endif
