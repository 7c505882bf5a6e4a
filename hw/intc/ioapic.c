/*
 * 82093AA-style I/O APIC (see include/hw/intc/ioapic.h, docs/interrupts.md).
 */
#include "hw/intc/ioapic.h"
#include "hw/intc/apic.h"
#include "exec/memory.h"
#include "kestrel/log.h"

#define IOAPIC_REG_SELECT  0x00
#define IOAPIC_REG_WINDOW  0x10

#define IOAPIC_ID          0x00
#define IOAPIC_VER         0x01
#define IOAPIC_ARB         0x02
#define IOAPIC_REDTBL      0x10

#define RTE_VECTOR         0xffULL
#define RTE_DELIVERY_SHIFT 8
#define RTE_DEST_LOGICAL   (1ULL << 11)
#define RTE_DELIV_STATUS   (1ULL << 12)
#define RTE_POLARITY_LOW   (1ULL << 13)
#define RTE_REMOTE_IRR     (1ULL << 14)
#define RTE_LEVEL          (1ULL << 15)
#define RTE_MASKED         (1ULL << 16)
#define RTE_DEST_SHIFT     56
/* Bits the guest may write: everything except delivery status and Remote
 * IRR (read-only) and the reserved bits 17-55. */
#define RTE_WRITABLE       (0xff00000000000000ULL | RTE_MASKED | RTE_LEVEL | \
                            RTE_POLARITY_LOW | RTE_DEST_LOGICAL | 0x7ffULL)

typedef struct IOAPICState {
    DeviceState parent;
    uint8_t id;
    uint8_t select;
    uint32_t irr;               /* pin asserted (level) / edge seen, not yet sent */
    uint32_t line;              /* pin levels */
    uint64_t rte[IOAPIC_NUM_PINS];
    APICBusDeliverFn deliver;
    void *deliver_opaque;
    hwaddr base;
    MemoryRegion mmio;
    bool mapped;
} IOAPICState;

static IOAPICState *ioapic_of(DeviceState *dev)
{
    g_assert(dev && strcmp(dev->klass->name, TYPE_IOAPIC) == 0);
    return (IOAPICState *)dev;
}

/* Sends the pin's message; true if a local APIC accepted it. */
static bool send_pin(IOAPICState *s, int pin)
{
    uint64_t e = s->rte[pin];
    APICMessage msg = {
        .vector = e & RTE_VECTOR,
        .delivery_mode = (e >> RTE_DELIVERY_SHIFT) & 7,
        .logical = e & RTE_DEST_LOGICAL,
        .level = e & RTE_LEVEL,
        .dest = e >> RTE_DEST_SHIFT,
    };

    if (msg.delivery_mode == APIC_DM_FIXED || msg.delivery_mode == APIC_DM_LOWEST) {
        if (msg.vector < 16) {
            log_guest_error("ioapic: pin %d has illegal vector %u\n", pin, msg.vector);
        }
    }
    if (msg.delivery_mode == APIC_DM_INIT || msg.delivery_mode == APIC_DM_STARTUP) {
        /* Not valid for IOAPIC entries; an APIC would ignore them too. */
        log_guest_error("ioapic: pin %d uses delivery mode %u\n", pin, msg.delivery_mode);
    }
    return s->deliver && s->deliver(s->deliver_opaque, &msg);
}

/* Sends every pending, unmasked request that may go now. */
static void ioapic_service(IOAPICState *s)
{
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t e = s->rte[pin];
        uint32_t mask = 1u << pin;

        if (!(s->irr & mask) || (e & RTE_MASKED)) {
            continue;
        }
        if (e & RTE_LEVEL) {
            if (e & RTE_REMOTE_IRR) {
                continue;
            }
            /* Remote IRR from acceptance (delivery is immediate on our
             * bus) until the EOI. Not accepted: sent again next time. */
            if (send_pin(s, pin)) {
                s->rte[pin] |= RTE_REMOTE_IRR;
            }
        } else {
            s->irr &= ~mask;
            send_pin(s, pin);
        }
    }
}

void ioapic_set_irq(DeviceState *dev, int pin, int level)
{
    IOAPICState *s = ioapic_of(dev);
    uint32_t mask;

    if (pin < 0 || pin >= IOAPIC_NUM_PINS) {
        return;
    }
    mask = 1u << pin;
    if (s->rte[pin] & RTE_LEVEL) {
        if (level) {
            s->irr |= mask;
        } else {
            s->irr &= ~mask;
        }
    } else if (level && !(s->line & mask) && !(s->rte[pin] & RTE_MASKED)) {
        /* An edge on a masked pin is lost, as on the 82093AA. */
        s->irr |= mask;
    }
    if (level) {
        s->line |= mask;
    } else {
        s->line &= ~mask;
    }
    ioapic_service(s);
}

void ioapic_eoi_broadcast(DeviceState *dev, uint8_t vector)
{
    IOAPICState *s = ioapic_of(dev);

    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t e = s->rte[pin];
        if ((e & RTE_VECTOR) != vector || !(e & RTE_LEVEL)) {
            continue;
        }
        s->rte[pin] &= ~RTE_REMOTE_IRR;
    }
    ioapic_service(s);
}

uint64_t ioapic_get_redirection(DeviceState *dev, int pin)
{
    IOAPICState *s = ioapic_of(dev);
    return pin >= 0 && pin < IOAPIC_NUM_PINS ? s->rte[pin] : 0;
}

static uint32_t reg_read(IOAPICState *s)
{
    uint8_t reg = s->select;

    switch (reg) {
    case IOAPIC_ID:
    case IOAPIC_ARB:
        return (uint32_t)(s->id & 0xf) << 24;
    case IOAPIC_VER:
        return ((IOAPIC_NUM_PINS - 1) << 16) | IOAPIC_VERSION;
    default:
        if (reg >= IOAPIC_REDTBL && reg < IOAPIC_REDTBL + 2 * IOAPIC_NUM_PINS) {
            int pin = (reg - IOAPIC_REDTBL) >> 1;
            uint64_t e = s->rte[pin];
            return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
        }
        log_guest_error("ioapic: read of reserved register 0x%02x\n", reg);
        return 0xffffffffu;
    }
}

static void reg_write(IOAPICState *s, uint32_t val)
{
    uint8_t reg = s->select;

    switch (reg) {
    case IOAPIC_ID:
        s->id = (val >> 24) & 0xf;
        return;
    case IOAPIC_VER:
    case IOAPIC_ARB:
        return;                                 /* read-only */
    default:
        if (reg >= IOAPIC_REDTBL && reg < IOAPIC_REDTBL + 2 * IOAPIC_NUM_PINS) {
            int pin = (reg - IOAPIC_REDTBL) >> 1;
            uint64_t old = s->rte[pin], e;
            if (reg & 1) {
                e = (old & 0xffffffffULL) | ((uint64_t)val << 32);
            } else {
                e = (old & 0xffffffff00000000ULL) | val;
            }
            e = (e & RTE_WRITABLE) | (old & RTE_REMOTE_IRR);
            if (!(e & RTE_LEVEL)) {
                e &= ~RTE_REMOTE_IRR;       /* edge entries have no Remote IRR */
            }
            s->rte[pin] = e;
            if ((e & RTE_LEVEL) && (s->line & (1u << pin))) {
                s->irr |= 1u << pin;        /* a level that is still asserted */
            }
            ioapic_service(s);
            return;
        }
        log_guest_error("ioapic: write of reserved register 0x%02x\n", reg);
    }
}

static uint64_t ioapic_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    IOAPICState *s = opaque;

    switch (addr) {
    case IOAPIC_REG_SELECT:
        return s->select;
    case IOAPIC_REG_WINDOW:
        return reg_read(s);
    default:
        log_guest_error("ioapic: read at unknown offset 0x%" PRIx64 "\n", (uint64_t)addr);
        return 0;
    }
}

static void ioapic_mmio_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    IOAPICState *s = opaque;

    switch (addr) {
    case IOAPIC_REG_SELECT:
        s->select = (uint8_t)val;
        break;
    case IOAPIC_REG_WINDOW:
        reg_write(s, (uint32_t)val);
        break;
    default:
        log_guest_error("ioapic: write at unknown offset 0x%" PRIx64 "\n", (uint64_t)addr);
    }
}

static const MemoryRegionOps ioapic_ops = {
    .read = ioapic_mmio_read,
    .write = ioapic_mmio_write,
    .min_access_size = 4,
    .max_access_size = 4,
};

static void ioapic_reset(DeviceState *dev)
{
    IOAPICState *s = (IOAPICState *)dev;

    s->id = 0;
    s->select = 0;
    s->irr = 0;
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        s->rte[pin] = RTE_MASKED;
    }
}

static bool ioapic_realize(DeviceState *dev, GError **errp)
{
    IOAPICState *s = (IOAPICState *)dev;

    memory_region_init_io(&s->mmio, s, &ioapic_ops, s, "ioapic", 0x1000);
    memory_region_add_subregion(get_system_memory(), s->base, &s->mmio);
    s->mapped = true;
    ioapic_reset(dev);
    return true;
}

static void ioapic_unrealize(DeviceState *dev)
{
    IOAPICState *s = (IOAPICState *)dev;

    if (s->mapped) {
        memory_region_del_subregion(get_system_memory(), &s->mmio);
        memory_region_destroy(&s->mmio);
        s->mapped = false;
    }
}

DeviceState *ioapic_create(hwaddr base, APICBusDeliverFn deliver, void *opaque,
                           GError **errp)
{
    DeviceState *dev = device_new(TYPE_IOAPIC, errp);
    IOAPICState *s;

    if (!dev) {
        return NULL;
    }
    s = (IOAPICState *)dev;
    s->base = base;
    s->deliver = deliver;
    s->deliver_opaque = opaque;
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

static const Property ioapic_props[] = {
    DEFINE_PROP_END,
};

static const DeviceClass ioapic_class = {
    .name = TYPE_IOAPIC,
    .description = "82093AA I/O APIC",
    .instance_size = sizeof(IOAPICState),
    .props = ioapic_props,
    .realize = ioapic_realize,
    .unrealize = ioapic_unrealize,
    .reset = ioapic_reset,
};

static void ioapic_register(void)
{
    device_class_register(&ioapic_class);
}
type_init(ioapic_register)
