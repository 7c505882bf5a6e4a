/*
 * 82093AA-style I/O APIC (version 0x11, 24 pins) at 0xFEC00000: an index
 * register at offset 0x00 and a data window at 0x10; the redirection table
 * turns pin levels into interrupt messages for the local APICs. Level-
 * triggered entries keep Remote IRR set until a local APIC broadcasts the
 * EOI of their vector. See docs/interrupts.md.
 */
#ifndef HW_INTC_IOAPIC_H
#define HW_INTC_IOAPIC_H

#include "hw/qdev.h"

#define TYPE_IOAPIC        "ioapic"
#define IOAPIC_DEFAULT_BASE 0xfec00000ULL
#define IOAPIC_NUM_PINS    24
#define IOAPIC_VERSION     0x11

/* An interrupt message on the APIC bus. */
typedef struct APICMessage {
    uint8_t vector;
    uint8_t delivery_mode;   /* APIC_DM_* (include/hw/intc/apic.h) */
    bool logical;            /* destination mode */
    bool level;              /* trigger mode: level */
    uint8_t dest;            /* APIC ID (physical) or logical destination */
} APICMessage;

/* Returns whether a local APIC accepted the message: for a fixed or
 * lowest-priority one, whether its vector reached an IRR (an absent
 * destination or a software-disabled APIC drops it). A level-triggered
 * entry sets Remote IRR only then, as the 82093AA does (and KVM's IOAPIC);
 * otherwise the still-asserted pin is sent again at the next service. */
typedef bool (*APICBusDeliverFn)(void *opaque, const APICMessage *msg);

/* Creates the IOAPIC at `base` in the system memory space; messages go to
 * deliver(opaque, msg). */
DeviceState *ioapic_create(hwaddr base, APICBusDeliverFn deliver, void *opaque,
                           GError **errp);
void ioapic_set_irq(DeviceState *dev, int pin, int level);
/* A local APIC's EOI of a level-triggered vector: clears Remote IRR of the
 * entries with that vector and re-delivers those whose line is still set. */
void ioapic_eoi_broadcast(DeviceState *dev, uint8_t vector);

/* Tests. */
uint64_t ioapic_get_redirection(DeviceState *dev, int pin);

#endif
