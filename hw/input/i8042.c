/*
 * i8042 keyboard controller ("i8042"). See include/hw/input/i8042.h and
 * docs/platform-devices.md.
 *
 * Bytes for the guest (controller replies, keyboard replies, aux replies)
 * wait in one small queue; the head is what port 0x60 shows. Each byte
 * raises IRQ 1 (keyboard side) or IRQ 12 (aux side) when the command
 * byte enables it; reading the byte lowers the line, and a next byte
 * raises it again, giving the edge an ISA interrupt controller needs.
 * Commands that take a parameter remember themselves until the guest
 * writes the parameter to port 0x60.
 */
#include "hw/input/i8042.h"
#include "exec/memory.h"
#include "kestrel/log.h"
#include "sysemu/runstate.h"

#define QUEUE_SIZE          16
#define RAM_SIZE            32

/* Command byte (controller RAM byte 0). */
#define CTR_KBD_INT         0x01
#define CTR_AUX_INT         0x02
#define CTR_SYS             0x04
#define CTR_KBD_DISABLE     0x10
#define CTR_AUX_DISABLE     0x20
#define CTR_TRANSLATE       0x40
/* What firmware leaves behind: keyboard interrupt, POST passed,
 * translation; the aux port stays off (there is no mouse). */
#define CTR_DEFAULT         (CTR_KBD_INT | CTR_SYS | CTR_TRANSLATE | CTR_AUX_DISABLE)

/* Output port. */
#define OUTPORT_RESET_N     0x01   /* 0 holds the CPU in reset */
#define OUTPORT_A20         0x02
#define OUTPORT_KBD_FULL    0x10   /* output buffer full (IRQ 1) */
#define OUTPORT_AUX_FULL    0x20   /* aux output buffer full (IRQ 12) */
#define OUTPORT_DEFAULT     (OUTPORT_RESET_N | OUTPORT_A20)

/* Controller commands (port 0x64). */
#define CMD_READ_RAM        0x20   /* ..0x3f */
#define CMD_WRITE_RAM       0x60   /* ..0x7f */
#define CMD_AUX_DISABLE     0xa7
#define CMD_AUX_ENABLE      0xa8
#define CMD_AUX_TEST        0xa9
#define CMD_SELF_TEST       0xaa
#define CMD_KBD_TEST        0xab
#define CMD_KBD_DISABLE     0xad
#define CMD_KBD_ENABLE      0xae
#define CMD_READ_INPORT     0xc0
#define CMD_READ_OUTPORT    0xd0
#define CMD_WRITE_OUTPORT   0xd1
#define CMD_WRITE_KBD_OBUF  0xd2
#define CMD_WRITE_AUX_OBUF  0xd3
#define CMD_WRITE_AUX       0xd4
#define CMD_A20_DISABLE     0xdd
#define CMD_A20_ENABLE      0xdf
#define CMD_READ_TEST_INPUTS 0xe0
#define CMD_PULSE_FIRST     0xf0   /* ..0xff: pulse output port bits 0-3 low */

#define SELF_TEST_PASSED    0x55
#define INPORT_VALUE        0x80   /* keyboard not inhibited */

/* Keyboard commands and replies. */
#define KBD_CMD_SET_LEDS    0xed
#define KBD_CMD_ECHO        0xee
#define KBD_CMD_SCANCODE    0xf0
#define KBD_CMD_GET_ID      0xf2
#define KBD_CMD_SET_RATE    0xf3
#define KBD_CMD_ENABLE      0xf4
#define KBD_CMD_DISABLE     0xf5
#define KBD_CMD_DEFAULTS    0xf6
#define KBD_CMD_RESEND      0xfe
#define KBD_CMD_RESET       0xff
#define KBD_REPLY_ACK       0xfa
#define KBD_REPLY_RESEND    0xfe
#define KBD_REPLY_POST_OK   0xaa
#define KBD_ID_FIRST        0xab
#define KBD_ID_SECOND       0x83
#define KBD_ID_TRANSLATED   0x41
#define AUX_NO_DEVICE       0xfe

typedef struct OutByte {
    uint8_t value;
    bool aux;
} OutByte;

typedef struct I8042State {
    DeviceState parent;

    MemoryRegion data_io;
    MemoryRegion status_io;
    bool io_mapped;
    qemu_irq kbd_irq;
    qemu_irq aux_irq;
    int kbd_level;
    int aux_level;

    uint8_t ram[RAM_SIZE];        /* ram[0] is the command byte */
    uint8_t outport;
    bool sys_flag;
    bool last_write_was_cmd;
    uint8_t pending_cmd;          /* controller command awaiting its byte, or 0 */
    uint8_t last_read;            /* what an empty output buffer shows */

    OutByte queue[QUEUE_SIZE];
    unsigned head;
    unsigned count;

    /* The minimal keyboard. */
    uint8_t kbd_pending;          /* keyboard command awaiting its argument, or 0 */
    uint8_t kbd_scancode_set;
    bool kbd_scanning;
} I8042State;

/* ---- output buffer and interrupts ---- */

static void set_line(qemu_irq irq, int *cur, int level)
{
    if (*cur != level) {
        *cur = level;
        irq_set_level(irq, level);
    }
}

static void update_irqs(I8042State *s)
{
    int kbd = 0, aux = 0;

    if (s->count) {
        if (s->queue[s->head].aux) {
            aux = (s->ram[0] & CTR_AUX_INT) != 0;
        } else {
            kbd = (s->ram[0] & CTR_KBD_INT) != 0;
        }
    }
    set_line(s->kbd_irq, &s->kbd_level, kbd);
    set_line(s->aux_irq, &s->aux_level, aux);
}

static void queue_byte(I8042State *s, uint8_t value, bool aux)
{
    if (s->count == QUEUE_SIZE) {
        log_guest_error("i8042: output queue full, byte 0x%02x dropped\n", value);
        return;
    }
    s->queue[(s->head + s->count) % QUEUE_SIZE] = (OutByte) { .value = value, .aux = aux };
    s->count++;
    update_irqs(s);
}

static void queue_clear(I8042State *s)
{
    s->head = s->count = 0;
    update_irqs(s);
}

static uint8_t read_data(I8042State *s)
{
    if (s->count == 0) {
        return s->last_read;
    }
    s->last_read = s->queue[s->head].value;
    s->head = (s->head + 1) % QUEUE_SIZE;
    s->count--;
    /* Drop the lines so the next byte makes a fresh edge. */
    set_line(s->kbd_irq, &s->kbd_level, 0);
    set_line(s->aux_irq, &s->aux_level, 0);
    update_irqs(s);
    return s->last_read;
}

static uint8_t read_status(I8042State *s)
{
    uint8_t st = I8042_STR_UNLOCKED;

    if (s->count) {
        st |= I8042_STR_OBF;
        if (s->queue[s->head].aux) {
            st |= I8042_STR_AUXDATA;
        }
    }
    if (s->sys_flag) {
        st |= I8042_STR_SYS;
    }
    if (s->last_write_was_cmd) {
        st |= I8042_STR_CMD;
    }
    return st;
}

/* ---- output port ---- */

static void request_reset(void)
{
    system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
}

static void write_outport(I8042State *s, uint8_t val)
{
    if (!(val & OUTPORT_A20)) {
        log_mask(LOG_UNIMP, "i8042: A20 gate disable is not emulated\n");
    }
    s->outport = val & (OUTPORT_RESET_N | OUTPORT_A20);
    if (!(val & OUTPORT_RESET_N)) {
        /* The CPU leaves reset again at once: the machine restarts. */
        s->outport |= OUTPORT_RESET_N;
        request_reset();
    }
}

static uint8_t read_outport(I8042State *s)
{
    uint8_t val = s->outport;

    if (s->count) {
        val |= s->queue[s->head].aux ? OUTPORT_AUX_FULL : OUTPORT_KBD_FULL;
    }
    return val;
}

/* ---- the minimal keyboard ---- */

static void kbd_reply(I8042State *s, uint8_t val)
{
    queue_byte(s, val, false);
}

static void kbd_set_defaults(I8042State *s)
{
    s->kbd_scancode_set = 2;
    s->kbd_scanning = true;
}

static void kbd_write(I8042State *s, uint8_t val)
{
    uint8_t pending = s->kbd_pending;

    s->kbd_pending = 0;
    if (pending == KBD_CMD_SCANCODE) {
        if (val == 0) {
            kbd_reply(s, KBD_REPLY_ACK);
            kbd_reply(s, s->kbd_scancode_set);
        } else if (val <= 3) {
            s->kbd_scancode_set = val;
            kbd_reply(s, KBD_REPLY_ACK);
        } else {
            kbd_reply(s, KBD_REPLY_RESEND);
        }
        return;
    }
    if (pending == KBD_CMD_SET_LEDS || pending == KBD_CMD_SET_RATE) {
        /* The argument; a command byte instead starts a new command. */
        if (val < KBD_CMD_SET_LEDS) {
            kbd_reply(s, KBD_REPLY_ACK);
            return;
        }
    }
    switch (val) {
    case KBD_CMD_SET_LEDS:
    case KBD_CMD_SET_RATE:
    case KBD_CMD_SCANCODE:
        s->kbd_pending = val;
        kbd_reply(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_ECHO:
        kbd_reply(s, KBD_CMD_ECHO);
        break;
    case KBD_CMD_GET_ID:
        kbd_reply(s, KBD_REPLY_ACK);
        kbd_reply(s, KBD_ID_FIRST);
        kbd_reply(s, (s->ram[0] & CTR_TRANSLATE) ? KBD_ID_TRANSLATED : KBD_ID_SECOND);
        break;
    case KBD_CMD_ENABLE:
        s->kbd_scanning = true;
        kbd_reply(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_DISABLE:
        kbd_set_defaults(s);
        s->kbd_scanning = false;
        kbd_reply(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_DEFAULTS:
        kbd_set_defaults(s);
        kbd_reply(s, KBD_REPLY_ACK);
        break;
    case KBD_CMD_RESET:
        kbd_set_defaults(s);
        kbd_reply(s, KBD_REPLY_ACK);
        kbd_reply(s, KBD_REPLY_POST_OK);
        break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
    case KBD_CMD_RESEND:
        /* Typematic/make-break modes (set 3 only) and resend: nothing to do. */
        kbd_reply(s, KBD_REPLY_ACK);
        break;
    default:
        kbd_reply(s, KBD_REPLY_RESEND);
        break;
    }
}

/* ---- controller ---- */

static void write_command(I8042State *s, uint8_t cmd)
{
    s->pending_cmd = 0;
    if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + RAM_SIZE) {
        queue_byte(s, s->ram[cmd - CMD_READ_RAM], false);
        return;
    }
    if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + RAM_SIZE) {
        s->pending_cmd = cmd;
        return;
    }
    if (cmd >= CMD_PULSE_FIRST) {
        /* Bits 0-3 that are 0 pulse the matching output port line. */
        if (!(cmd & OUTPORT_RESET_N)) {
            request_reset();
        }
        return;
    }
    switch (cmd) {
    case CMD_AUX_DISABLE:
        s->ram[0] |= CTR_AUX_DISABLE;
        break;
    case CMD_AUX_ENABLE:
        s->ram[0] &= ~CTR_AUX_DISABLE;
        break;
    case CMD_AUX_TEST:
    case CMD_KBD_TEST:
        queue_byte(s, 0x00, false);   /* interface OK */
        break;
    case CMD_SELF_TEST:
        s->sys_flag = true;
        queue_byte(s, SELF_TEST_PASSED, false);
        break;
    case CMD_KBD_DISABLE:
        s->ram[0] |= CTR_KBD_DISABLE;
        break;
    case CMD_KBD_ENABLE:
        s->ram[0] &= ~CTR_KBD_DISABLE;
        break;
    case CMD_READ_INPORT:
        queue_byte(s, INPORT_VALUE, false);
        break;
    case CMD_READ_OUTPORT:
        queue_byte(s, read_outport(s), false);
        break;
    case CMD_READ_TEST_INPUTS:
        queue_byte(s, 0x00, false);
        break;
    case CMD_WRITE_OUTPORT:
    case CMD_WRITE_KBD_OBUF:
    case CMD_WRITE_AUX_OBUF:
    case CMD_WRITE_AUX:
        s->pending_cmd = cmd;
        break;
    case CMD_A20_DISABLE:
        write_outport(s, s->outport & ~OUTPORT_A20);
        break;
    case CMD_A20_ENABLE:
        write_outport(s, s->outport | OUTPORT_A20);
        break;
    default:
        log_mask(LOG_UNIMP, "i8042: controller command 0x%02x not implemented\n", cmd);
        break;
    }
}

static void write_data(I8042State *s, uint8_t val)
{
    uint8_t cmd = s->pending_cmd;

    s->pending_cmd = 0;
    if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + RAM_SIZE) {
        s->ram[cmd - CMD_WRITE_RAM] = val;
        if (cmd == CMD_WRITE_RAM) {
            s->sys_flag = val & CTR_SYS;
            update_irqs(s);
        }
        return;
    }
    switch (cmd) {
    case CMD_WRITE_OUTPORT:
        write_outport(s, val);
        break;
    case CMD_WRITE_KBD_OBUF:
        queue_byte(s, val, false);
        break;
    case CMD_WRITE_AUX_OBUF:
        queue_byte(s, val, true);
        break;
    case CMD_WRITE_AUX:
        /* Nothing on the aux port answers. */
        queue_byte(s, AUX_NO_DEVICE, true);
        break;
    default:
        kbd_write(s, val);
        break;
    }
}

static uint64_t i8042_data_read(void *opaque, hwaddr addr, unsigned size)
{
    return read_data(opaque);
}

static void i8042_data_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    I8042State *s = opaque;

    s->last_write_was_cmd = false;
    write_data(s, (uint8_t)val);
}

static uint64_t i8042_status_read(void *opaque, hwaddr addr, unsigned size)
{
    return read_status(opaque);
}

static void i8042_status_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    I8042State *s = opaque;

    s->last_write_was_cmd = true;
    write_command(s, (uint8_t)val);
}

static const MemoryRegionOps i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static const MemoryRegionOps i8042_status_ops = {
    .read = i8042_status_read,
    .write = i8042_status_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- device ---- */

static void i8042_reset(DeviceState *dev)
{
    I8042State *s = (I8042State *)dev;

    memset(s->ram, 0, sizeof(s->ram));
    s->ram[0] = CTR_DEFAULT;
    s->outport = OUTPORT_DEFAULT;
    s->sys_flag = true;
    s->last_write_was_cmd = false;
    s->pending_cmd = 0;
    s->last_read = 0;
    s->kbd_pending = 0;
    kbd_set_defaults(s);
    queue_clear(s);
}

static bool i8042_realize(DeviceState *dev, GError **errp)
{
    I8042State *s = (I8042State *)dev;

    memory_region_init_io(&s->data_io, s, &i8042_data_ops, s, "i8042-data", 1);
    memory_region_init_io(&s->status_io, s, &i8042_status_ops, s, "i8042-cmd", 1);
    memory_region_transaction_begin();
    memory_region_add_subregion(get_system_io(), I8042_DATA_PORT, &s->data_io);
    memory_region_add_subregion(get_system_io(), I8042_STATUS_PORT, &s->status_io);
    memory_region_transaction_commit();
    s->io_mapped = true;
    i8042_reset(dev);
    return true;
}

static void i8042_unrealize(DeviceState *dev)
{
    I8042State *s = (I8042State *)dev;

    if (s->io_mapped) {
        memory_region_del_subregion(get_system_io(), &s->data_io);
        memory_region_del_subregion(get_system_io(), &s->status_io);
        memory_region_destroy(&s->data_io);
        memory_region_destroy(&s->status_io);
        s->io_mapped = false;
    }
    set_line(s->kbd_irq, &s->kbd_level, 0);
    set_line(s->aux_irq, &s->aux_level, 0);
}

void i8042_set_irqs(DeviceState *dev, qemu_irq kbd_irq1, qemu_irq mouse_irq12)
{
    I8042State *s = (I8042State *)dev;

    g_assert(dev && dev->klass && strcmp(dev->klass->name, TYPE_I8042) == 0);
    set_line(s->kbd_irq, &s->kbd_level, 0);
    set_line(s->aux_irq, &s->aux_level, 0);
    s->kbd_irq = kbd_irq1;
    s->aux_irq = mouse_irq12;
    update_irqs(s);
}

DeviceState *i8042_create(qemu_irq kbd_irq1, qemu_irq mouse_irq12, GError **errp)
{
    DeviceState *dev = device_new(TYPE_I8042, errp);

    if (!dev) {
        return NULL;
    }
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    i8042_set_irqs(dev, kbd_irq1, mouse_irq12);
    return dev;
}

static const Property i8042_props[] = {
    DEFINE_PROP_END,
};

static const DeviceClass i8042_class = {
    .name = TYPE_I8042,
    .description = "i8042 PS/2 keyboard controller",
    .instance_size = sizeof(I8042State),
    .props = i8042_props,
    .user_creatable = false,
    .realize = i8042_realize,
    .unrealize = i8042_unrealize,
    .reset = i8042_reset,
};

static void i8042_register(void)
{
    device_class_register(&i8042_class);
}
type_init(i8042_register)
