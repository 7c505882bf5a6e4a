/*
 * Intel 8254 PIT (see include/hw/timer/i8254.h, docs/interrupts.md).
 *
 * Counters are not stepped: each channel remembers when counting started
 * (guest clock) and its reload value, and its count and output are computed
 * from the elapsed ticks. Channel 0 has a guest timer for the moments its
 * output rises (terminal count, or each period in modes 2 and 3), when IRQ 0
 * is raised: held high in modes 0/1 until reprogrammed, pulsed otherwise.
 * Like KVM's PIT, channels count only once the guest programmed them.
 */
#include "hw/timer/i8254.h"
#include "hw/timer/guest-timer.h"
#include "exec/memory.h"
#include "kestrel/log.h"

#define MODE_UNPROGRAMMED 0xff
/* Periods shorter than this raise IRQ 0 at this rate (counts stay exact). */
#define MIN_IRQ_PERIOD_NS 50000

typedef struct PITChannel {
    uint32_t reload;           /* 1..0x10000 */
    uint8_t mode, rw_mode;
    bool bcd;
    bool gate;
    bool counting;
    bool null_count;
    int64_t start;             /* guest ns when counting (re)started */
    int64_t frozen_ticks;      /* gate low in modes 0/4: ticks so far, else -1 */
    bool write_msb_next, read_msb_next;
    uint8_t write_lsb;
    bool count_latched, latch_msb_next;
    uint16_t latched;
    bool status_latched;
    uint8_t status;
    bool irq_level;
    uint64_t irq_fired;        /* periods / terminal counts already signalled */
} PITChannel;

typedef struct I8254State {
    DeviceState parent;
    PITChannel ch[3];
    uint8_t port61;            /* bits 0-3 as written */
    qemu_irq irq0;
    GuestTimer *timer;
    MemoryRegion io, speaker_io;
    bool mapped;
} I8254State;

static I8254State *pit_of(DeviceState *dev)
{
    g_assert(dev && strcmp(dev->klass->name, TYPE_I8254) == 0);
    return (I8254State *)dev;
}

static uint64_t ns_to_ticks(int64_t ns)
{
    return ns <= 0 ? 0 : (uint64_t)((unsigned __int128)ns * PIT_FREQ_HZ / 1000000000u);
}

static int64_t ticks_to_ns(uint64_t ticks)
{
    return (int64_t)(((unsigned __int128)ticks * 1000000000u + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ);
}

static uint64_t elapsed_ticks(const PITChannel *c, int64_t now)
{
    if (!c->counting) {
        return 0;
    }
    if (c->frozen_ticks >= 0) {
        return (uint64_t)c->frozen_ticks;
    }
    return ns_to_ticks(now - c->start);
}

static bool periodic(const PITChannel *c)
{
    return c->mode == 2 || c->mode == 3;
}

static uint16_t channel_count(const PITChannel *c, int64_t now)
{
    uint64_t d = elapsed_ticks(c, now), n = c->reload;

    if (!c->counting) {
        return (uint16_t)c->reload;
    }
    switch (c->mode) {
    case 2:
        return (uint16_t)(n - d % n);
    case 3:
        /* Decrements by two; each half period reloads. */
        return (uint16_t)((n - (2 * d) % n) & ~1u);
    default: {
        /* Wraps past 0 to 0xffff (binary) or 9999 (BCD). */
        uint64_t modulus = c->bcd ? 10000 : 0x10000;
        return (uint16_t)((n + modulus - d % modulus) % modulus);
    }
    }
}

/* The counter as the guest reads it: BCD digits in BCD mode (a reload of
 * 10000 reads as 0000, like 0x10000 reads as 0 in binary). */
static uint16_t guest_count(const PITChannel *c, int64_t now)
{
    uint16_t v = channel_count(c, now), bcd = 0;

    if (!c->bcd) {
        return v;
    }
    v %= 10000;
    for (int shift = 0; shift < 16; shift += 4, v /= 10) {
        bcd |= (uint16_t)((v % 10) << shift);
    }
    return bcd;
}

static bool channel_out(const PITChannel *c, int64_t now)
{
    uint64_t d = elapsed_ticks(c, now), n = c->reload;

    if (c->mode == MODE_UNPROGRAMMED) {
        return false;
    }
    if (!c->counting) {
        return c->mode != 0;
    }
    switch (c->mode) {
    case 0:
    case 1:
        return d >= n;
    case 2:
        return (d % n) != n - 1;
    case 3:
        return (d % n) < (n + 1) / 2;
    default:                          /* 4, 5: low for one tick at terminal count */
        return d != n;
    }
}

/* ---- channel 0 and IRQ 0 ---- */

static void set_irq0(I8254State *s, bool level)
{
    s->ch[0].irq_level = level;
    irq_set_level(s->irq0, level);
}

static void schedule_channel0(I8254State *s, int64_t now)
{
    PITChannel *c = &s->ch[0];
    uint64_t next_tick;

    if (!c->counting || c->frozen_ticks >= 0 || !c->gate) {
        guest_timer_del(s->timer);
        return;
    }
    if (periodic(c)) {
        uint64_t n = c->reload;
        if (ticks_to_ns(n) < MIN_IRQ_PERIOD_NS) {
            n = ns_to_ticks(MIN_IRQ_PERIOD_NS) + 1;
        }
        next_tick = (c->irq_fired + 1) * n;
        if (ns_to_ticks(now - c->start) >= next_tick) {
            /* Fell behind (host was busy): skip the missed periods. */
            c->irq_fired = ns_to_ticks(now - c->start) / n;
            next_tick = (c->irq_fired + 1) * n;
        }
    } else if (c->irq_fired == 0) {
        next_tick = c->reload;
    } else {
        guest_timer_del(s->timer);
        return;
    }
    guest_timer_mod(s->timer, c->start + ticks_to_ns(next_tick));
}

static void channel0_timer(void *opaque)
{
    I8254State *s = opaque;
    PITChannel *c = &s->ch[0];
    int64_t now = guest_clock_ns();

    if (!c->counting) {
        return;
    }
    c->irq_fired++;
    if (c->mode == 0 || c->mode == 1) {
        set_irq0(s, true);
    } else {
        set_irq0(s, true);
        set_irq0(s, false);
    }
    schedule_channel0(s, now);
}

/* ---- programming ---- */

static void start_counting(I8254State *s, int n, int64_t now)
{
    PITChannel *c = &s->ch[n];

    c->counting = true;
    c->start = now;
    c->frozen_ticks = -1;
    c->irq_fired = 0;
    if (n == 0) {
        set_irq0(s, false);
        schedule_channel0(s, now);
    }
}

static void load_count(I8254State *s, int n, uint16_t value)
{
    PITChannel *c = &s->ch[n];
    int64_t now = guest_clock_ns();
    uint32_t reload = value;

    if (c->bcd) {
        reload = (value & 0xf) + ((value >> 4) & 0xf) * 10 + ((value >> 8) & 0xf) * 100 +
                 ((value >> 12) & 0xf) * 1000;
        if (reload == 0) {
            reload = 10000;
        }
    } else if (reload == 0) {
        reload = 0x10000;
    }
    if (c->mode == MODE_UNPROGRAMMED) {
        log_guest_error("pit: count written to channel %d before its mode\n", n);
        return;
    }
    c->reload = reload;
    c->null_count = false;
    if ((c->mode == 1 || c->mode == 5) && n != 0) {
        /* Gate-triggered: counting starts on the gate's next rising edge. */
        c->counting = false;
        return;
    }
    start_counting(s, n, now);
    if (!c->gate && (c->mode == 0 || c->mode == 4)) {
        c->frozen_ticks = 0;
    }
}

static void write_control(I8254State *s, uint8_t val)
{
    int n = val >> 6;
    int64_t now = guest_clock_ns();

    if (n == 3) {
        /* Read-back: bit 5 clear latches counts, bit 4 clear latches status. */
        for (int i = 0; i < 3; i++) {
            PITChannel *c = &s->ch[i];
            if (!(val & (2u << i))) {
                continue;
            }
            if (!(val & 0x20) && !c->count_latched) {
                c->count_latched = true;
                c->latch_msb_next = false;
                c->latched = guest_count(c, now);
            }
            if (!(val & 0x10) && !c->status_latched) {
                c->status_latched = true;
                c->status = (channel_out(c, now) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
                            (c->rw_mode << 4) | ((c->mode & 7) << 1) | (c->bcd ? 1 : 0);
            }
        }
        return;
    }
    PITChannel *c = &s->ch[n];
    unsigned rw = (val >> 4) & 3;
    if (rw == 0) {
        /* Counter latch command. */
        if (!c->count_latched) {
            c->count_latched = true;
            c->latch_msb_next = false;
            c->latched = guest_count(c, now);
        }
        return;
    }
    c->rw_mode = rw;
    c->mode = (val >> 1) & 7;
    if (c->mode > 5) {
        c->mode -= 4;               /* 6 and 7 are aliases of 2 and 3 */
    }
    c->bcd = val & 1;
    c->counting = false;
    c->null_count = true;
    c->write_msb_next = false;
    c->read_msb_next = false;
    c->frozen_ticks = -1;
    if (n == 0) {
        guest_timer_del(s->timer);
        set_irq0(s, false);
    }
}

static void write_counter(I8254State *s, int n, uint8_t val)
{
    PITChannel *c = &s->ch[n];

    switch (c->rw_mode) {
    case 1:
        load_count(s, n, val);
        break;
    case 2:
        load_count(s, n, (uint16_t)val << 8);
        break;
    case 3:
        if (!c->write_msb_next) {
            c->write_lsb = val;
            c->write_msb_next = true;
        } else {
            c->write_msb_next = false;
            load_count(s, n, c->write_lsb | ((uint16_t)val << 8));
        }
        break;
    default:
        log_guest_error("pit: channel %d written before its mode\n", n);
        break;
    }
}

static uint8_t read_counter(I8254State *s, int n)
{
    PITChannel *c = &s->ch[n];
    uint16_t v;
    bool msb;

    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched) {
        v = c->latched;
        if (c->rw_mode == 3) {
            msb = c->latch_msb_next;
            c->latch_msb_next = !msb;
            if (msb) {
                c->count_latched = false;
            }
        } else {
            msb = c->rw_mode == 2;
            c->count_latched = false;
        }
    } else {
        v = guest_count(c, guest_clock_ns());
        if (c->rw_mode == 3) {
            msb = c->read_msb_next;
            c->read_msb_next = !msb;
        } else {
            msb = c->rw_mode == 2;
        }
    }
    return msb ? v >> 8 : v & 0xff;
}

static void set_gate(I8254State *s, int n, bool gate)
{
    PITChannel *c = &s->ch[n];
    int64_t now = guest_clock_ns();
    bool rising = gate && !c->gate;

    if (gate == c->gate) {
        return;
    }
    if (!gate && c->counting && (c->mode == 0 || c->mode == 4)) {
        c->frozen_ticks = (int64_t)elapsed_ticks(c, now);
    }
    c->gate = gate;
    if (rising && !c->null_count) {
        switch (c->mode) {
        case 0:
        case 4:
            if (c->counting && c->frozen_ticks >= 0) {
                c->start = now - ticks_to_ns((uint64_t)c->frozen_ticks);
                c->frozen_ticks = -1;
            }
            break;
        case 1:
        case 2:
        case 3:
        case 5:
            start_counting(s, n, now);      /* (re)trigger */
            break;
        default:
            break;
        }
    }
    if (n == 0) {
        schedule_channel0(s, now);
    }
}

static uint64_t pit_read(void *opaque, hwaddr addr, unsigned size)
{
    I8254State *s = opaque;

    if (addr == 3) {
        return 0xff;        /* the control word register is write-only */
    }
    return read_counter(s, (int)addr);
}

static void pit_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    I8254State *s = opaque;

    if (addr == 3) {
        write_control(s, (uint8_t)val);
    } else {
        write_counter(s, (int)addr, (uint8_t)val);
    }
}

static uint64_t port61_read(void *opaque, hwaddr addr, unsigned size)
{
    I8254State *s = opaque;
    int64_t now = guest_clock_ns();
    /* Bit 4 toggles with each DRAM refresh cycle (every 15.085 us). */
    uint8_t refresh = ((now / 15085) & 1) << 4;

    return (s->port61 & 0x0f) | refresh | (channel_out(&s->ch[2], now) ? 0x20 : 0);
}

static void port61_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    I8254State *s = opaque;

    s->port61 = val & 0x0f;
    set_gate(s, 2, val & 1);
}

static const MemoryRegionOps pit_ops = {
    .read = pit_read, .write = pit_write, .min_access_size = 1, .max_access_size = 1,
};
static const MemoryRegionOps port61_ops = {
    .read = port61_read, .write = port61_write, .min_access_size = 1, .max_access_size = 1,
};

uint16_t i8254_get_count(DeviceState *dev, int channel)
{
    I8254State *s = pit_of(dev);
    return guest_count(&s->ch[(unsigned)channel % 3], guest_clock_ns());
}

bool i8254_get_out(DeviceState *dev, int channel)
{
    I8254State *s = pit_of(dev);
    return channel_out(&s->ch[(unsigned)channel % 3], guest_clock_ns());
}

static void i8254_reset(DeviceState *dev)
{
    I8254State *s = (I8254State *)dev;

    guest_timer_del(s->timer);
    for (int i = 0; i < 3; i++) {
        PITChannel *c = &s->ch[i];
        memset(c, 0, sizeof(*c));
        c->mode = MODE_UNPROGRAMMED;
        c->reload = 0x10000;
        c->gate = i != 2;
        c->frozen_ticks = -1;
    }
    s->port61 = 0;
    irq_set_level(s->irq0, 0);
}

static bool i8254_realize(DeviceState *dev, GError **errp)
{
    I8254State *s = (I8254State *)dev;

    s->timer = guest_timer_new(channel0_timer, s);
    memory_region_init_io(&s->io, s, &pit_ops, s, "pit", 4);
    memory_region_init_io(&s->speaker_io, s, &port61_ops, s, "pcspk", 1);
    memory_region_transaction_begin();
    memory_region_add_subregion(get_system_io(), 0x40, &s->io);
    memory_region_add_subregion(get_system_io(), 0x61, &s->speaker_io);
    memory_region_transaction_commit();
    s->mapped = true;
    i8254_reset(dev);
    return true;
}

static void i8254_unrealize(DeviceState *dev)
{
    I8254State *s = (I8254State *)dev;

    guest_timer_free(s->timer);
    s->timer = NULL;
    if (s->mapped) {
        memory_region_transaction_begin();
        memory_region_del_subregion(get_system_io(), &s->io);
        memory_region_del_subregion(get_system_io(), &s->speaker_io);
        memory_region_transaction_commit();
        memory_region_destroy(&s->io);
        memory_region_destroy(&s->speaker_io);
        s->mapped = false;
    }
}

DeviceState *i8254_create(qemu_irq irq0, GError **errp)
{
    DeviceState *dev = device_new(TYPE_I8254, errp);

    if (!dev) {
        return NULL;
    }
    ((I8254State *)dev)->irq0 = irq0;
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

static const Property i8254_props[] = {
    DEFINE_PROP_END,
};

static const DeviceClass i8254_class = {
    .name = TYPE_I8254,
    .description = "8254 programmable interval timer",
    .instance_size = sizeof(I8254State),
    .props = i8254_props,
    .realize = i8254_realize,
    .unrealize = i8254_unrealize,
    .reset = i8254_reset,
};

static void i8254_register(void)
{
    device_class_register(&i8254_class);
}
type_init(i8254_register)
