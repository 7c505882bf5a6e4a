/* Interrupt lines. */
#include "hw/irq.h"

struct IRQState {
    irq_handler handler;
    void *opaque;
    int n;
};

qemu_irq irq_new(irq_handler handler, void *opaque, int n)
{
    qemu_irq irq = g_new0(struct IRQState, 1);
    irq->handler = handler;
    irq->opaque = opaque;
    irq->n = n;
    return irq;
}

void irq_free(qemu_irq irq)
{
    g_free(irq);
}

void irq_set_level(qemu_irq irq, int level)
{
    if (irq) {
        irq->handler(irq->opaque, irq->n, level);
    }
}
