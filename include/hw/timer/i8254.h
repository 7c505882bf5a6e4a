/*
 * Intel 8254 programmable interval timer at ports 0x40-0x43, 1.193182 MHz,
 * counting the guest clock. Channel 0's output drives ISA IRQ 0; channel 2
 * is gated by port 0x61 bit 0 and its output reads back as bit 5 (the PC
 * speaker / NMI status port, whose bit 4 is the refresh toggle).
 * See docs/interrupts.md.
 */
#ifndef HW_TIMER_I8254_H
#define HW_TIMER_I8254_H

#include "hw/qdev.h"
#include "hw/irq.h"

#define TYPE_I8254    "isa-pit"
#define PIT_FREQ_HZ   1193182

DeviceState *i8254_create(qemu_irq irq0, GError **errp);
/* Tests: the channel's counter and output as the guest would see them now. */
uint16_t i8254_get_count(DeviceState *dev, int channel);
bool i8254_get_out(DeviceState *dev, int channel);

#endif
