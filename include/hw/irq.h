/* Interrupt lines between devices and interrupt controllers. */
#ifndef HW_IRQ_H
#define HW_IRQ_H

#include "kestrel/osdep.h"

typedef struct IRQState *qemu_irq;
typedef void (*irq_handler)(void *opaque, int n, int level);

/* A line that calls handler(opaque, n, level) when set. */
qemu_irq irq_new(irq_handler handler, void *opaque, int n);
void irq_free(qemu_irq irq);
/* Sets the level; a NULL line (not connected) ignores it. */
void irq_set_level(qemu_irq irq, int level);
static inline void irq_raise(qemu_irq irq) { irq_set_level(irq, 1); }
static inline void irq_lower(qemu_irq irq) { irq_set_level(irq, 0); }
static inline void irq_pulse(qemu_irq irq) { irq_set_level(irq, 1); irq_set_level(irq, 0); }

#endif
