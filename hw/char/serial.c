/*
 * 16550A UART ("isa-serial").
 *
 * Registers (offset from iobase; DLAB is LCR bit 7):
 *   0  read: RBR (receive buffer)   write: THR (transmit)   DLAB: DLL
 *   1  IER (interrupt enable)                                DLAB: DLM
 *   2  read: IIR (interrupt id)     write: FCR (FIFO control)
 *   3  LCR (line control)   4 MCR (modem control)   5 LSR (line status)
 *   6  MSR (modem status)   7 SCR (scratch)
 *
 * Transmission is instantaneous: a THR write goes to the chardev (or, in
 * loopback, into the receive FIFO) at once, so THRE/TEMT are set again by
 * the time the guest can look. There is no baud-rate timing; the receive
 * "character timeout" is therefore considered expired as soon as data sits
 * below the trigger level. Input from the chardev is paced by the free
 * room in the receive FIFO, so host input is never lost to overrun; the
 * overrun error happens only in loopback (as on the real part).
 *
 * All state is guarded by the big lock: guest accesses come from vCPU
 * threads holding it, chardev input from the main loop holding it.
 */
#include "hw/char/serial.h"
#include "chardev/char.h"
#include "exec/memory.h"
#include "kestrel/log.h"

#define UART_FIFO_SIZE 16

/* IER */
#define IER_RDI   0x01   /* received data available (and timeout) */
#define IER_THRI  0x02   /* transmitter holding register empty */
#define IER_RLSI  0x04   /* receiver line status */
#define IER_MSI   0x08   /* modem status */
#define IER_MASK  0x0f

/* IIR: bit 0 set = nothing pending; bits 1-3 the source, by priority. */
#define IIR_NO_INT     0x01
#define IIR_RLSI       0x06
#define IIR_RDI        0x04
#define IIR_TIMEOUT    0x0c
#define IIR_THRI       0x02
#define IIR_MSI        0x00
#define IIR_ID_MASK    0x0e
#define IIR_FIFO_ON    0xc0

/* FCR */
#define FCR_ENABLE     0x01
#define FCR_CLEAR_RX   0x02
#define FCR_CLEAR_TX   0x04
#define FCR_DMA        0x08
#define FCR_TRIGGER    0xc0

/* LCR */
#define LCR_DLAB       0x80

/* MCR */
#define MCR_DTR        0x01
#define MCR_RTS        0x02
#define MCR_OUT1       0x04
#define MCR_OUT2       0x08
#define MCR_LOOP       0x10
#define MCR_MASK       0x1f

/* LSR */
#define LSR_DR         0x01   /* data ready */
#define LSR_OE         0x02   /* overrun */
#define LSR_PE         0x04
#define LSR_FE         0x08
#define LSR_BI         0x10   /* break received */
#define LSR_THRE       0x20
#define LSR_TEMT       0x40
#define LSR_FIFO_ERR   0x80
#define LSR_ERRORS     (LSR_OE | LSR_PE | LSR_FE | LSR_BI | LSR_FIFO_ERR)

/* MSR: deltas in the low nibble, line states in the high one. */
#define MSR_DCTS       0x01
#define MSR_DDSR       0x02
#define MSR_TERI       0x04   /* RI went from on to off */
#define MSR_DDCD       0x08
#define MSR_DELTAS     0x0f
#define MSR_CTS        0x10
#define MSR_DSR        0x20
#define MSR_RI         0x40
#define MSR_DCD        0x80
/* With no real modem behind it, the line looks permanently connected. */
#define MSR_LINES_IDLE (MSR_DCD | MSR_DSR | MSR_CTS)

/* iobase/irq not given: taken from the index's standard COM port. */
#define SERIAL_PLACE_BY_INDEX 0xffffffffu
/* 115200 / 12 = 9600 baud, what PC firmware leaves behind. */
#define DEFAULT_DIVISOR 12

static const uint16_t isa_serial_iobase[SERIAL_MAX_ISA_PORTS] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const uint8_t isa_serial_irq[SERIAL_MAX_ISA_PORTS] = { 4, 3, 4, 3 };

typedef struct SerialState {
    DeviceState parent;

    /* Properties. */
    Chardev *chr;
    uint32_t iobase;
    uint32_t irq_num;
    uint32_t index;

    MemoryRegion io;
    qemu_irq irq;
    int irq_level;
    bool io_mapped;
    bool frontend_attached;

    /* Registers. */
    uint16_t divisor;
    uint8_t ier;
    uint8_t fcr;          /* FIFO enable, DMA mode, trigger bits as written */
    uint8_t lcr;
    uint8_t mcr;
    uint8_t lsr;
    uint8_t msr;
    uint8_t scr;
    uint8_t rbr;          /* the last byte read (what an empty RBR shows) */
    bool thr_ipending;    /* the THRE interrupt is latched */

    /* Receive FIFO (holds one byte in 16450 mode, FIFOs off). */
    uint8_t rx_fifo[UART_FIFO_SIZE];
    unsigned rx_head;
    unsigned rx_count;
} SerialState;

/* Realized isa-serial devices, to find free standard ports. */
static GSList *serial_devices;

static bool fifo_enabled(const SerialState *s)
{
    return s->fcr & FCR_ENABLE;
}

static unsigned rx_capacity(const SerialState *s)
{
    return fifo_enabled(s) ? UART_FIFO_SIZE : 1;
}

static unsigned rx_trigger_level(const SerialState *s)
{
    static const unsigned levels[4] = { 1, 4, 8, 14 };

    return levels[(s->fcr & FCR_TRIGGER) >> 6];
}

static bool loopback(const SerialState *s)
{
    return s->mcr & MCR_LOOP;
}

/* ---- interrupts ---- */

/* IIR as the guest would read it now, by the 16550's fixed priorities. */
static uint8_t serial_compute_iir(const SerialState *s)
{
    uint8_t id = IIR_NO_INT;

    if ((s->ier & IER_RLSI) && (s->lsr & (LSR_OE | LSR_PE | LSR_FE | LSR_BI))) {
        id = IIR_RLSI;
    } else if ((s->ier & IER_RDI) && s->rx_count > 0 &&
               (!fifo_enabled(s) || s->rx_count >= rx_trigger_level(s))) {
        id = IIR_RDI;
    } else if ((s->ier & IER_RDI) && s->rx_count > 0) {
        /* FIFO below its trigger level: the character timeout. */
        id = IIR_TIMEOUT;
    } else if ((s->ier & IER_THRI) && s->thr_ipending) {
        id = IIR_THRI;
    } else if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS)) {
        id = IIR_MSI;
    }
    return id | (fifo_enabled(s) ? IIR_FIFO_ON : 0);
}

static void serial_update_irq(SerialState *s)
{
    int level = !(serial_compute_iir(s) & IIR_NO_INT);

    if (level != s->irq_level) {
        s->irq_level = level;
        irq_set_level(s->irq, level);
    }
}

/* ---- receive side ---- */

static void rx_clear(SerialState *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
    s->lsr &= ~LSR_DR;
}

/* One character arrives at the receiver (from the wire or loopback). */
static void rx_push(SerialState *s, uint8_t byte)
{
    if (s->rx_count >= rx_capacity(s)) {
        /* The new character is lost in the shift register (FIFO mode), or
         * overwrites the unread one (16450 mode, where capacity is 1). */
        s->lsr |= LSR_OE;
        if (!fifo_enabled(s)) {
            s->rx_fifo[s->rx_head] = byte;
        }
        return;
    }
    s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_SIZE] = byte;
    s->rx_count++;
    s->lsr |= LSR_DR;
}

static uint8_t rx_pop(SerialState *s)
{
    if (s->rx_count == 0) {
        return s->rbr;
    }
    s->rbr = s->rx_fifo[s->rx_head];
    s->rx_head = (s->rx_head + 1) % UART_FIFO_SIZE;
    s->rx_count--;
    if (s->rx_count == 0) {
        s->lsr &= ~LSR_DR;
    }
    return s->rbr;
}

static int serial_can_receive(void *opaque)
{
    SerialState *s = opaque;

    /* In loopback the receiver is cut off from the wire. */
    if (loopback(s)) {
        return 0;
    }
    return rx_capacity(s) - s->rx_count;
}

static void serial_receive(void *opaque, const uint8_t *buf, int len)
{
    SerialState *s = opaque;

    if (loopback(s)) {
        return;
    }
    for (int i = 0; i < len; i++) {
        rx_push(s, buf[i]);
    }
    serial_update_irq(s);
}

static void serial_event(void *opaque, ChardevEvent event)
{
    SerialState *s = opaque;

    if (event == CHR_EVENT_BREAK && !loopback(s)) {
        /* A break arrives as a zero character flagged BI. */
        rx_push(s, 0);
        s->lsr |= LSR_BI | (fifo_enabled(s) ? LSR_FIFO_ERR : 0);
        serial_update_irq(s);
    }
}

static const CharFrontendOps serial_frontend_ops = {
    .can_receive = serial_can_receive,
    .receive = serial_receive,
    .event = serial_event,
};

/* Room may have appeared in the FIFO: let held-back input in. */
static void serial_input_room(SerialState *s)
{
    if (s->chr && s->frontend_attached && serial_can_receive(s) > 0) {
        chardev_accept_input(s->chr);
    }
}

/* ---- transmit side ---- */

static void serial_transmit(SerialState *s, uint8_t byte)
{
    s->thr_ipending = false;
    s->lsr &= ~(LSR_THRE | LSR_TEMT);
    if (loopback(s)) {
        rx_push(s, byte);
    } else if (s->chr) {
        /* A gone backend loses the byte, as a cut cable would. */
        chardev_write(s->chr, &byte, 1);
    }
    s->lsr |= LSR_THRE | LSR_TEMT;
    s->thr_ipending = true;
}

/* ---- modem lines ---- */

/* Sets the MSR line bits, latching the delta bits the 16550 defines. */
static void serial_set_modem_lines(SerialState *s, uint8_t lines)
{
    uint8_t old = s->msr & ~MSR_DELTAS;
    uint8_t changed = old ^ lines;
    uint8_t deltas = s->msr & MSR_DELTAS;

    if (changed & MSR_CTS) {
        deltas |= MSR_DCTS;
    }
    if (changed & MSR_DSR) {
        deltas |= MSR_DDSR;
    }
    if ((old & MSR_RI) && !(lines & MSR_RI)) {
        deltas |= MSR_TERI;
    }
    if (changed & MSR_DCD) {
        deltas |= MSR_DDCD;
    }
    s->msr = lines | deltas;
}

/* In loopback the modem outputs feed the modem inputs. */
static uint8_t loopback_modem_lines(uint8_t mcr)
{
    return ((mcr & MCR_RTS) ? MSR_CTS : 0) |
           ((mcr & MCR_DTR) ? MSR_DSR : 0) |
           ((mcr & MCR_OUT1) ? MSR_RI : 0) |
           ((mcr & MCR_OUT2) ? MSR_DCD : 0);
}

/* ---- register access ---- */

static void serial_write_fcr(SerialState *s, uint8_t val)
{
    if ((val ^ s->fcr) & FCR_ENABLE) {
        /* Switching the FIFOs on or off empties them. */
        rx_clear(s);
    }
    if (!(val & FCR_ENABLE)) {
        /* The other bits only take when the enable bit is written as 1. */
        s->fcr = 0;
        return;
    }
    if (val & FCR_CLEAR_RX) {
        rx_clear(s);
    }
    /* FCR_CLEAR_TX: the transmit FIFO is always already empty. */
    s->fcr = val & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
}

static uint64_t serial_io_read(void *opaque, hwaddr addr, unsigned size)
{
    SerialState *s = opaque;
    uint8_t val = 0;

    switch (addr & 7) {
    case 0:
        if (s->lcr & LCR_DLAB) {
            val = s->divisor & 0xff;
        } else {
            val = rx_pop(s);
            serial_update_irq(s);
            serial_input_room(s);
        }
        break;
    case 1:
        val = (s->lcr & LCR_DLAB) ? s->divisor >> 8 : s->ier;
        break;
    case 2:
        val = serial_compute_iir(s);
        /* Reading IIR acknowledges a THRE interrupt it reports. */
        if ((val & (IIR_ID_MASK | IIR_NO_INT)) == IIR_THRI) {
            s->thr_ipending = false;
            serial_update_irq(s);
        }
        break;
    case 3:
        val = s->lcr;
        break;
    case 4:
        val = s->mcr;
        break;
    case 5:
        val = s->lsr;
        /* Error bits clear when read. */
        if (s->lsr & LSR_ERRORS) {
            s->lsr &= ~LSR_ERRORS;
            serial_update_irq(s);
        }
        break;
    case 6:
        val = s->msr;
        if (s->msr & MSR_DELTAS) {
            s->msr &= ~MSR_DELTAS;
            serial_update_irq(s);
        }
        break;
    case 7:
        val = s->scr;
        break;
    }
    return val;
}

static void serial_io_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    SerialState *s = opaque;
    uint8_t val = data & 0xff;

    switch (addr & 7) {
    case 0:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0xff00) | val;
        } else {
            serial_transmit(s, val);
        }
        break;
    case 1:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0x00ff) | (val << 8);
        } else {
            uint8_t old = s->ier;
            s->ier = val & IER_MASK;
            if (!(s->ier & IER_THRI)) {
                s->thr_ipending = false;
            } else if (!(old & IER_THRI) && (s->lsr & LSR_THRE)) {
                /* Enabling THRE interrupts with THR empty interrupts at once. */
                s->thr_ipending = true;
            }
        }
        break;
    case 2:
        serial_write_fcr(s, val);
        serial_input_room(s);
        break;
    case 3:
        s->lcr = val;
        break;
    case 4: {
        bool was_loopback = loopback(s);
        s->mcr = val & MCR_MASK;
        if (loopback(s)) {
            serial_set_modem_lines(s, loopback_modem_lines(s->mcr));
        } else if (was_loopback) {
            serial_set_modem_lines(s, MSR_LINES_IDLE);
            serial_input_room(s);
        }
        break;
    }
    case 5:
        /* LSR is read-only (writing it is a factory test mode). */
        log_guest_error("isa-serial@0x%x: write 0x%02x to read-only LSR\n",
                        (unsigned)s->iobase, val);
        break;
    case 6:
        /* MSR is read-only. */
        log_guest_error("isa-serial@0x%x: write 0x%02x to read-only MSR\n",
                        (unsigned)s->iobase, val);
        break;
    case 7:
        s->scr = val;
        break;
    }
    serial_update_irq(s);
}

static const MemoryRegionOps serial_io_ops = {
    .read = serial_io_read,
    .write = serial_io_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- device ---- */

static void serial_reset(DeviceState *dev)
{
    SerialState *s = (SerialState *)dev;

    s->divisor = DEFAULT_DIVISOR;
    s->ier = 0;
    s->fcr = 0;
    s->lcr = 0;
    s->mcr = 0;
    s->lsr = LSR_THRE | LSR_TEMT;
    s->msr = MSR_LINES_IDLE;
    s->scr = 0;
    s->rbr = 0;
    s->thr_ipending = false;
    rx_clear(s);
    serial_update_irq(s);
    serial_input_room(s);
}

static bool serial_port_taken(uint32_t iobase, const SerialState *self)
{
    for (GSList *l = serial_devices; l; l = l->next) {
        const SerialState *other = l->data;
        /* Any overlap of the two 8-port windows. */
        if (other != self && other->iobase < iobase + 8 && iobase < other->iobase + 8) {
            return true;
        }
    }
    return false;
}

/* Applies the index rules described in serial.h. */
static bool serial_pick_port(SerialState *s, GError **errp)
{
    bool iobase_given = s->iobase != SERIAL_PLACE_BY_INDEX;
    bool irq_given = s->irq_num != SERIAL_PLACE_BY_INDEX;

    if (iobase_given && irq_given) {
        return true;   /* the user placed it */
    }
    if (s->index >= SERIAL_MAX_ISA_PORTS) {
        error_setg(errp, "isa-serial: index %u is out of range (0..%d) without iobase= and irq=",
                   s->index, SERIAL_MAX_ISA_PORTS - 1);
        return false;
    }
    if (s->index == 0 && !iobase_given && !irq_given) {
        unsigned i;
        for (i = 0; i < SERIAL_MAX_ISA_PORTS; i++) {
            if (!serial_port_taken(isa_serial_iobase[i], s)) {
                break;
            }
        }
        if (i == SERIAL_MAX_ISA_PORTS) {
            error_setg(errp, "isa-serial: all %d standard ports are in use; give iobase= and irq=",
                       SERIAL_MAX_ISA_PORTS);
            return false;
        }
        s->index = i;
    }
    if (!iobase_given) {
        s->iobase = isa_serial_iobase[s->index];
    }
    if (!irq_given) {
        s->irq_num = isa_serial_irq[s->index];
    }
    return true;
}

static bool serial_realize(DeviceState *dev, GError **errp)
{
    SerialState *s = (SerialState *)dev;

    if (!serial_pick_port(s, errp)) {
        return false;
    }
    if (s->iobase > 0x10000 - 8) {
        error_setg(errp, "isa-serial: iobase 0x%x is outside the I/O port space", s->iobase);
        return false;
    }
    if (s->irq_num > 15) {
        error_setg(errp, "isa-serial: irq %u is not an ISA interrupt (0..15)", s->irq_num);
        return false;
    }
    if (serial_port_taken(s->iobase, s)) {
        error_setg(errp, "isa-serial: I/O port 0x%x is already used by another isa-serial",
                   s->iobase);
        return false;
    }
    if (s->chr) {
        if (!chardev_attach_frontend(s->chr, &serial_frontend_ops, s, errp)) {
            return false;
        }
        s->frontend_attached = true;
    }
    memory_region_init_io(&s->io, s, &serial_io_ops, s, "serial", 8);
    memory_region_add_subregion(get_system_io(), s->iobase, &s->io);
    s->io_mapped = true;
    serial_devices = g_slist_append(serial_devices, s);
    serial_reset(dev);
    return true;
}

static void serial_unrealize(DeviceState *dev)
{
    SerialState *s = (SerialState *)dev;

    serial_devices = g_slist_remove(serial_devices, s);
    if (s->io_mapped) {
        memory_region_del_subregion(get_system_io(), &s->io);
        memory_region_destroy(&s->io);
        s->io_mapped = false;
    }
    if (s->frontend_attached) {
        chardev_detach_frontend_opaque(s->chr, s);
        s->frontend_attached = false;
    }
    if (s->irq_level) {
        irq_set_level(s->irq, 0);
        s->irq_level = 0;
    }
}

void serial_set_irq(DeviceState *dev, qemu_irq irq)
{
    SerialState *s = (SerialState *)dev;

    g_assert(dev && dev->klass && strcmp(dev->klass->name, TYPE_ISA_SERIAL) == 0);
    if (s->irq && s->irq_level) {
        irq_set_level(s->irq, 0);
    }
    s->irq = irq;
    if (s->irq_level) {
        irq_set_level(s->irq, 1);
    }
}

unsigned serial_get_isa_irq(DeviceState *dev)
{
    return ((SerialState *)dev)->irq_num;
}

uint16_t serial_get_iobase(DeviceState *dev)
{
    return ((SerialState *)dev)->iobase;
}

DeviceState *serial_isa_create(unsigned index, Chardev *chr, GError **errp)
{
    DeviceState *dev;
    char value[32];

    if (index >= SERIAL_MAX_ISA_PORTS) {
        error_setg(errp, "isa-serial: index %u is out of range (0..%d)", index,
                   SERIAL_MAX_ISA_PORTS - 1);
        return NULL;
    }
    dev = device_new(TYPE_ISA_SERIAL, errp);
    if (!dev) {
        return NULL;
    }
    snprintf(value, sizeof(value), "%u", index);
    if (!device_set_prop(dev, "index", value, errp)) {
        goto fail;
    }
    snprintf(value, sizeof(value), "0x%x", isa_serial_iobase[index]);
    if (!device_set_prop(dev, "iobase", value, errp)) {
        goto fail;
    }
    snprintf(value, sizeof(value), "%u", isa_serial_irq[index]);
    if (!device_set_prop(dev, "irq", value, errp)) {
        goto fail;
    }
    if (chr && !device_set_prop(dev, "chardev", chardev_id(chr), errp)) {
        goto fail;
    }
    if (!device_realize(dev, errp)) {
        goto fail;
    }
    return dev;

fail:
    device_destroy(dev);
    return NULL;
}

static const Property serial_props[] = {
    DEFINE_PROP("chardev", PROP_CHARDEV, SerialState, chr, 0,
                "the chardev on the other end of the line (none: output discarded)"),
    DEFINE_PROP("iobase", PROP_UINT32, SerialState, iobase, SERIAL_PLACE_BY_INDEX,
                "first I/O port of the 8 registers"),
    DEFINE_PROP("irq", PROP_UINT32, SerialState, irq_num, SERIAL_PLACE_BY_INDEX,
                "ISA interrupt line (0..15)"),
    DEFINE_PROP("index", PROP_UINT32, SerialState, index, 0,
                "standard port 0..3 (COM1..COM4) when iobase and irq are not given"),
    DEFINE_PROP_END,
};

static const DeviceClass serial_class = {
    .name = TYPE_ISA_SERIAL,
    .description = "16550A UART",
    .instance_size = sizeof(SerialState),
    .props = serial_props,
    .user_creatable = true,
    .realize = serial_realize,
    .unrealize = serial_unrealize,
    .reset = serial_reset,
};

static void serial_register(void)
{
    device_class_register(&serial_class);
}

type_init(serial_register)
