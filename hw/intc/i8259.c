/*
 * Intel 8259A PIC pair with PIIX-style ELCR (see docs/interrupts.md).
 *
 * Each chip keeps IRR (requests), ISR (in service) and IMR (masks). A
 * request is presented on INT when its priority beats everything in
 * service; the priority order starts at `lowest_prio + 1` (rotation).
 * Edge-triggered inputs latch a rising edge into IRR; level-triggered ones
 * (ICW1.LTIM or the ELCR bit) follow the line. The slave's INT drives
 * master input 2.
 */
#include "hw/intc/i8259.h"
#include "exec/memory.h"
#include "kestrel/log.h"

#define ELCR_PORT_MASTER 0x4d0
#define ELCR_PORT_SLAVE  0x4d1

typedef struct PicChip {
    uint8_t irr, isr, imr;
    uint8_t line;            /* input line levels */
    uint8_t elcr, elcr_mask;
    uint8_t vector_base;     /* ICW2 & 0xf8 */
    uint8_t priority_add;    /* IRQ (priority_add) has the highest priority */
    uint8_t init_step;       /* 0: ready; 1..3: expecting ICW2..ICW4 */
    bool icw4_needed, single, ltim;
    bool auto_eoi, rotate_on_aeoi, special_fully_nested;
    bool read_isr, poll, special_mask;
} PicChip;

typedef struct I8259State {
    DeviceState parent;
    PicChip chip[2];
    qemu_irq intr;
    bool intr_level;
    MemoryRegion io[2], elcr_io;
    bool mapped;
} I8259State;

static I8259State *pic_of(DeviceState *dev)
{
    g_assert(dev && strcmp(dev->klass->name, TYPE_I8259) == 0);
    return (I8259State *)dev;
}

/* The highest-priority bit of `bits` in the rotated order, or -1. */
static int highest_priority(const PicChip *c, uint8_t bits)
{
    for (int i = 0; i < 8; i++) {
        int irq = (i + c->priority_add) & 7;
        if (bits & (1u << irq)) {
            return irq;
        }
    }
    return -1;
}

/* Rank of an IRQ in the rotated order (0 = highest). */
static int rank(const PicChip *c, int irq)
{
    return (irq - c->priority_add) & 7;
}

/* The IRQ this chip would present on INT, or -1. */
static int chip_pending(const PicChip *c, bool is_master)
{
    int req = highest_priority(c, c->irr & ~c->imr);
    uint8_t in_service = c->isr;
    int cur;

    if (req < 0) {
        return -1;
    }
    if (c->special_mask) {
        /* Special mask mode: masked in-service levels do not block. */
        in_service &= ~c->imr;
    }
    if (is_master && c->special_fully_nested) {
        /* A new slave request may interrupt a slave request in service. */
        in_service &= ~(1u << 2);
    }
    cur = highest_priority(c, in_service);
    if (cur >= 0 && rank(c, cur) <= rank(c, req)) {
        return -1;
    }
    return req;
}

static void chip_set_input(PicChip *c, int irq, int level)
{
    uint8_t mask = 1u << irq;
    bool level_mode = c->ltim || (c->elcr & mask);

    if (level) {
        if (level_mode || !(c->line & mask)) {
            c->irr |= mask;
        }
        c->line |= mask;
    } else {
        if (level_mode) {
            c->irr &= ~mask;
        }
        c->line &= ~mask;
    }
}

static void pic_update(I8259State *s)
{
    bool level;

    PicChip *m = &s->chip[0];

    /* The cascade input follows the slave's INT like a level. */
    if (chip_pending(&s->chip[1], false) >= 0) {
        m->irr |= 1u << 2;
        m->line |= 1u << 2;
    } else {
        m->irr &= ~(1u << 2);
        m->line &= ~(1u << 2);
    }
    level = chip_pending(&s->chip[0], true) >= 0;
    s->intr_level = level;
    /* Always tell the receiver: it re-evaluates (e.g. after an ack). */
    irq_set_level(s->intr, level);
}

void i8259_set_irq(DeviceState *dev, int irq, int level)
{
    I8259State *s = pic_of(dev);

    if (irq < 0 || irq > 15 || irq == 2) {
        return;
    }
    chip_set_input(&s->chip[irq >> 3], irq & 7, level);
    pic_update(s);
}

bool i8259_intr_pending(DeviceState *dev)
{
    I8259State *s = pic_of(dev);
    return chip_pending(&s->chip[0], true) >= 0;
}

/* Moves irq from IRR to ISR (or just acknowledges it in auto-EOI mode). */
static void chip_ack(PicChip *c, int irq)
{
    uint8_t mask = 1u << irq;

    if (!(c->ltim || (c->elcr & mask))) {
        c->irr &= ~mask;
    }
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi) {
            c->priority_add = (irq + 1) & 7;
        }
    } else {
        c->isr |= mask;
    }
}

int i8259_ack(DeviceState *dev)
{
    I8259State *s = pic_of(dev);
    PicChip *m = &s->chip[0], *sl = &s->chip[1];
    int irq = chip_pending(m, true);
    int vector;

    if (irq < 0) {
        /* The request went away before INTA: spurious IRQ 7. */
        vector = m->vector_base | 7;
    } else if (irq == 2 && !m->single) {
        int sirq = chip_pending(sl, false);
        chip_ack(m, 2);
        if (sirq < 0) {
            vector = sl->vector_base | 7;
        } else {
            chip_ack(sl, sirq);
            vector = sl->vector_base | sirq;
        }
    } else {
        chip_ack(m, irq);
        vector = m->vector_base | irq;
    }
    pic_update(s);
    return vector;
}

/* ---- registers ---- */

static void chip_init(PicChip *c)
{
    /* ICW1: clears the mask and in-service state, IR7 lowest priority,
     * special mask mode off, IRR selected for reads. */
    c->imr = 0;
    c->isr = 0;
    c->irr = 0;
    c->priority_add = 0;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->auto_eoi = false;
    c->rotate_on_aeoi = false;
    c->special_fully_nested = false;
}

static void chip_eoi(PicChip *c, int irq, bool rotate)
{
    if (irq < 0) {
        return;
    }
    c->isr &= ~(1u << irq);
    if (rotate) {
        c->priority_add = (irq + 1) & 7;
    }
}

static void chip_write(I8259State *s, int n, hwaddr addr, uint8_t val)
{
    PicChip *c = &s->chip[n];

    if (addr == 0) {
        if (val & 0x10) {                   /* ICW1 */
            chip_init(c);
            c->icw4_needed = val & 1;
            c->single = val & 2;
            c->ltim = val & 8;
            /* Edge detection starts over; asserted level inputs request. */
            c->irr = c->line & (c->ltim ? 0xff : c->elcr);
            if (val & 4) {
                log_mask(LOG_UNIMP, "i8259: ICW1 call address interval 4 ignored\n");
            }
            c->init_step = 1;
        } else if (val & 0x08) {            /* OCW3 */
            if (val & 0x04) {
                c->poll = true;
            }
            if (val & 0x02) {
                c->read_isr = val & 1;
            }
            if (val & 0x40) {
                c->special_mask = (val >> 5) & 1;
            }
        } else {                            /* OCW2 */
            int cmd = val >> 5, irq = val & 7;
            switch (cmd) {
            case 0: c->rotate_on_aeoi = false; break;
            case 4: c->rotate_on_aeoi = true; break;
            case 1: chip_eoi(c, highest_priority(c, c->isr), false); break;
            case 5: chip_eoi(c, highest_priority(c, c->isr), true); break;
            case 3: chip_eoi(c, irq, false); break;
            case 7: chip_eoi(c, irq, true); break;
            case 6: c->priority_add = (irq + 1) & 7; break;
            default: break;                 /* 2: no operation */
            }
        }
    } else {
        switch (c->init_step) {
        case 0:                             /* OCW1 */
            c->imr = val;
            break;
        case 1:                             /* ICW2 */
            c->vector_base = val & 0xf8;
            c->init_step = c->single ? (c->icw4_needed ? 3 : 0) : 2;
            break;
        case 2:                             /* ICW3: cascade wiring is fixed */
            c->init_step = c->icw4_needed ? 3 : 0;
            break;
        default:                            /* ICW4 */
            if (!(val & 1)) {
                log_mask(LOG_UNIMP, "i8259: ICW4 8080/85 mode ignored\n");
            }
            c->auto_eoi = val & 2;
            c->special_fully_nested = val & 0x10;
            c->init_step = 0;
            break;
        }
    }
    pic_update(s);
}

static uint8_t chip_read(I8259State *s, int n, hwaddr addr)
{
    PicChip *c = &s->chip[n];

    if (c->poll) {
        /* Poll command: the next read acknowledges this chip's request
         * like INTA would. Only the polled chip takes part: a master read
         * of level 2 leaves the slave alone (the guest polls it next). */
        int irq = chip_pending(c, n == 0);
        uint8_t ret = 0;
        c->poll = false;
        if (irq >= 0) {
            chip_ack(c, irq);
            ret = 0x80 | irq;
        }
        pic_update(s);
        return ret;
    }
    if (addr == 0) {
        return c->read_isr ? c->isr : c->irr;
    }
    return c->imr;
}

static uint64_t master_read(void *opaque, hwaddr addr, unsigned size)
{
    return chip_read(opaque, 0, addr & 1);
}

static void master_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    chip_write(opaque, 0, addr & 1, (uint8_t)val);
}

static uint64_t slave_read(void *opaque, hwaddr addr, unsigned size)
{
    return chip_read(opaque, 1, addr & 1);
}

static void slave_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    chip_write(opaque, 1, addr & 1, (uint8_t)val);
}

static uint64_t elcr_read(void *opaque, hwaddr addr, unsigned size)
{
    I8259State *s = opaque;
    return s->chip[addr & 1].elcr;
}

static void elcr_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    I8259State *s = opaque;
    PicChip *c = &s->chip[addr & 1];

    if ((uint8_t)val & ~c->elcr_mask) {
        log_guest_error("i8259: ELCR%d bits 0x%02x cannot be level-triggered\n",
                        (int)(addr & 1), (unsigned)((uint8_t)val & ~c->elcr_mask));
    }
    c->elcr = (uint8_t)val & c->elcr_mask;
    pic_update(s);
}

static const MemoryRegionOps master_ops = {
    .read = master_read, .write = master_write, .min_access_size = 1, .max_access_size = 1,
};
static const MemoryRegionOps slave_ops = {
    .read = slave_read, .write = slave_write, .min_access_size = 1, .max_access_size = 1,
};
static const MemoryRegionOps elcr_ops = {
    .read = elcr_read, .write = elcr_write, .min_access_size = 1, .max_access_size = 1,
};

static void i8259_reset(DeviceState *dev)
{
    I8259State *s = (I8259State *)dev;

    for (int n = 0; n < 2; n++) {
        PicChip *c = &s->chip[n];
        uint8_t line = c->line;
        memset(c, 0, sizeof(*c));
        c->line = line;     /* the wires keep their levels */
        /* PIIX: IRQ 0, 1, 2, 8 and 13 are always edge-triggered. */
        c->elcr_mask = n == 0 ? 0xf8 : 0xde;
    }
    pic_update(s);
}

static bool i8259_realize(DeviceState *dev, GError **errp)
{
    I8259State *s = (I8259State *)dev;

    memory_region_init_io(&s->io[0], s, &master_ops, s, "pic-master", 2);
    memory_region_init_io(&s->io[1], s, &slave_ops, s, "pic-slave", 2);
    memory_region_init_io(&s->elcr_io, s, &elcr_ops, s, "elcr", 2);
    memory_region_transaction_begin();
    memory_region_add_subregion(get_system_io(), 0x20, &s->io[0]);
    memory_region_add_subregion(get_system_io(), 0xa0, &s->io[1]);
    memory_region_add_subregion(get_system_io(), ELCR_PORT_MASTER, &s->elcr_io);
    memory_region_transaction_commit();
    s->mapped = true;
    i8259_reset(dev);
    return true;
}

static void i8259_unrealize(DeviceState *dev)
{
    I8259State *s = (I8259State *)dev;

    if (s->mapped) {
        memory_region_transaction_begin();
        memory_region_del_subregion(get_system_io(), &s->io[0]);
        memory_region_del_subregion(get_system_io(), &s->io[1]);
        memory_region_del_subregion(get_system_io(), &s->elcr_io);
        memory_region_transaction_commit();
        memory_region_destroy(&s->io[0]);
        memory_region_destroy(&s->io[1]);
        memory_region_destroy(&s->elcr_io);
        s->mapped = false;
    }
}

DeviceState *i8259_create(qemu_irq intr, GError **errp)
{
    DeviceState *dev = device_new(TYPE_I8259, errp);

    if (!dev) {
        return NULL;
    }
    ((I8259State *)dev)->intr = intr;
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

uint8_t i8259_get_irr(DeviceState *dev, int chip)
{
    return pic_of(dev)->chip[chip & 1].irr;
}

uint8_t i8259_get_isr(DeviceState *dev, int chip)
{
    return pic_of(dev)->chip[chip & 1].isr;
}

uint8_t i8259_get_imr(DeviceState *dev, int chip)
{
    return pic_of(dev)->chip[chip & 1].imr;
}

static const Property i8259_props[] = {
    DEFINE_PROP_END,
};

static const DeviceClass i8259_class = {
    .name = TYPE_I8259,
    .description = "8259A interrupt controller pair with ELCR",
    .instance_size = sizeof(I8259State),
    .props = i8259_props,
    .realize = i8259_realize,
    .unrealize = i8259_unrealize,
    .reset = i8259_reset,
};

static void i8259_register(void)
{
    device_class_register(&i8259_class);
}
type_init(i8259_register)
