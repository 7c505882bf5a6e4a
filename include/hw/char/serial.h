/*
 * The 16550A UART as an ISA device ("isa-serial"): eight byte-wide
 * registers in the io address space, 16-byte FIFOs, an interrupt line, and
 * a chardev for the other end of the wire. See docs/chardev.md.
 *
 * Properties: chardev (chardev id; none = output discarded), iobase, irq,
 * index (0..3, default 0). An iobase or irq not given comes from index's
 * standard pair (0: 0x3f8/4, 1: 0x2f8/3, 2: 0x3e8/4, 3: 0x2e8/3); with
 * neither given, a second such device moves on to the next free pair, as
 * QEMU's -device isa-serial does. An explicit iobase that another UART
 * already uses is an error.
 */
#ifndef HW_CHAR_SERIAL_H
#define HW_CHAR_SERIAL_H

#include "hw/qdev.h"
#include "hw/irq.h"

#define TYPE_ISA_SERIAL "isa-serial"
#define SERIAL_MAX_ISA_PORTS 4

/* Connects the interrupt output to an interrupt controller input (NULL
 * disconnects); the current level is driven onto the new line at once. */
void serial_set_irq(DeviceState *dev, qemu_irq irq);
/* Where a realized isa-serial ended up (after index defaults applied). */
unsigned serial_get_isa_irq(DeviceState *dev);
uint16_t serial_get_iobase(DeviceState *dev);

/* Creates and realizes the isa-serial for standard port `index` (0..3)
 * connected to chr (NULL: output discarded). For machines. */
DeviceState *serial_isa_create(unsigned index, Chardev *chr, GError **errp);

#endif
