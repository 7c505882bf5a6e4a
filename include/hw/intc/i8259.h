/*
 * The PC's two cascaded 8259A programmable interrupt controllers: master at
 * ports 0x20-0x21 (IRQ 0-7), slave at 0xA0-0xA1 (IRQ 8-15) on master input
 * 2, and the PIIX edge/level control registers (ELCR) at 0x4D0/0x4D1.
 * See docs/interrupts.md.
 */
#ifndef HW_INTC_I8259_H
#define HW_INTC_I8259_H

#include "hw/qdev.h"
#include "hw/irq.h"

#define TYPE_I8259 "isa-i8259"

/* Creates and realizes the pair (ports in the system I/O space). `intr` is
 * the master's INT output (to the CPU / LAPIC LINT0). */
DeviceState *i8259_create(qemu_irq intr, GError **errp);
/* Sets the level of ISA IRQ 0-15 (IRQ 2 is the cascade: ignored). */
void i8259_set_irq(DeviceState *dev, int irq, int level);
/* The master's INT output level (an unmasked request is waiting). */
bool i8259_intr_pending(DeviceState *dev);
/* The INTA cycle: the vector of the highest-priority request (moving it
 * to in-service), or the spurious IRQ 7 / IRQ 15 vector when none. */
int i8259_ack(DeviceState *dev);

/* Register inspection for tests. */
uint8_t i8259_get_irr(DeviceState *dev, int chip);
uint8_t i8259_get_isr(DeviceState *dev, int chip);
uint8_t i8259_get_imr(DeviceState *dev, int chip);

#endif
