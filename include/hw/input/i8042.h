/*
 * The i8042 PS/2 keyboard controller ("i8042") at io ports 0x60 (data) and
 * 0x64 (status / command). It answers the controller commands firmware and
 * Linux use (command byte, self-test, interface tests, output port, the
 * 0xfe pulse that resets the machine) and has a minimal keyboard that
 * acknowledges commands but never sends keys. No mouse is attached: bytes
 * sent to the aux port are answered with 0xfe (no device). See
 * docs/platform-devices.md.
 */
#ifndef HW_INPUT_I8042_H
#define HW_INPUT_I8042_H

#include "hw/qdev.h"
#include "hw/irq.h"

#define TYPE_I8042          "i8042"
#define I8042_DATA_PORT     0x60
#define I8042_STATUS_PORT   0x64
#define I8042_KBD_ISA_IRQ   1
#define I8042_AUX_ISA_IRQ   12

/* Status register. */
#define I8042_STR_OBF       0x01   /* output buffer full */
#define I8042_STR_IBF       0x02
#define I8042_STR_SYS       0x04   /* system flag (self-test passed) */
#define I8042_STR_CMD       0x08   /* last write went to 0x64 */
#define I8042_STR_UNLOCKED  0x10   /* keyboard not inhibited */
#define I8042_STR_AUXDATA   0x20   /* output buffer holds aux data */
#define I8042_STR_TIMEOUT   0x40

/* Creates and realizes the controller; either line may be NULL. */
DeviceState *i8042_create(qemu_irq kbd_irq1, qemu_irq mouse_irq12, GError **errp);
/* Connects (or disconnects with NULL) the two interrupt outputs. */
void i8042_set_irqs(DeviceState *dev, qemu_irq kbd_irq1, qemu_irq mouse_irq12);

#endif
