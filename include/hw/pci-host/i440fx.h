/*
 * The i440FX-style PCI host: the host bridge 8086:1237 at 00:00.0 with
 * configuration mechanism #1 (address dword at 0xcf8, data at
 * 0xcfc-0xcff), and the PIIX3 PCI-to-ISA bridge 8086:7000 at 00:01.0 with
 * the PIRQ route registers (config 0x60-0x63) and the reset control
 * register at port 0xcf9. See docs/platform-devices.md.
 */
#ifndef HW_PCI_HOST_I440FX_H
#define HW_PCI_HOST_I440FX_H

#include "hw/pci/pci.h"

#define TYPE_I440FX_PCI_HOST "i440FX-pcihost"

#define I440FX_HOST_DEVFN     PCI_DEVFN(0, 0)
#define PIIX3_DEVFN           PCI_DEVFN(1, 0)
#define PIIX3_PIRQ_ROUTE_BASE 0x60        /* PIRQA..PIRQD route registers */
#define PIIX3_PIRQ_DISABLED   0x80        /* bit 7: not routed */
#define PIIX_NUM_PIRQS        4
#define PCI_CONFIG_ADDRESS_PORT 0xcf8
#define PCI_CONFIG_DATA_PORT    0xcfc
#define PIIX3_RESET_CONTROL_PORT 0xcf9

/*
 * Creates and realizes the host bridge and the PIIX3, maps their ports
 * into system_io and makes the bus the default one for -device. BARs map
 * into system_memory / system_io. pic_gsis: the machine's 24 GSI lines
 * (may be NULL, as may any line); a PIRQ routed to ISA IRQ n drives
 * pic_gsis[n] (n in 3-7, 9-12, 14, 15). Returns the bus, or NULL with
 * *errp set (only one such host may exist).
 */
PCIBus *i440fx_create(MemoryRegion *system_memory, MemoryRegion *system_io,
                      qemu_irq *pic_gsis, GError **errp);

/* Which PIRQ (0 = PIRQA .. 3 = PIRQD) pin (0 = INTA# .. 3 = INTD#) of a
 * device in `slot` drives: (slot + pin) & 3. An ACPI _PRT must agree. */
int i440fx_slot_pirq(int slot, int pin);

/* What firmware does before handing over to an OS, for machines without
 * firmware: routes PIRQA..D to ISA IRQs 10, 10, 11, 11 and writes each
 * function's interrupt line register with the IRQ its pin reaches (the
 * value Linux falls back on without ACPI or MP tables). Call after each
 * machine reset, once all PCI devices exist. */
void i440fx_firmware_init(PCIBus *bus);
/* The ISA IRQ a PIRQ is routed to now, or -1 (disabled or invalid). */
int i440fx_pirq_to_isa_irq(PCIBus *bus, int pirq);

#endif
