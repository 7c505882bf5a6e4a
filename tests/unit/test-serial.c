/* The 16550A UART model, driven through the io address space. */
#include "hw/char/serial.h"
#include "chardev/char.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_LIMIT_US (20 * G_USEC_PER_SEC)

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

static char *tmpdir;
static unsigned uart_counter;

typedef struct Uart {
    DeviceState *dev;
    Chardev *chr;
    char *path;
    uint16_t base;
    qemu_irq irq;
    int irq_level;
    int irq_changes;
} Uart;

static void record_irq(void *opaque, int n, int level)
{
    Uart *u = opaque;
    u->irq_level = level;
    u->irq_changes++;
}

static uint8_t in(Uart *u, unsigned reg)
{
    uint64_t val = 0xdead;
    g_assert_cmpint(address_space_read_sized(&address_space_io, u->base + reg, &val, 1), ==,
                    MEMTX_OK);
    g_assert_cmpuint(val, <=, 0xff);
    return val;
}

static void out(Uart *u, unsigned reg, uint8_t val)
{
    g_assert_cmpint(address_space_write_sized(&address_space_io, u->base + reg, val, 1), ==,
                    MEMTX_OK);
}

/* A UART on a file chardev (or on `chardev_opt` if given), with its
 * interrupt line recorded. */
static void uart_new_with(Uart *u, const char *chardev_opt, const char *const *props)
{
    GError *err = NULL;
    char id[32];

    memset(u, 0, sizeof(*u));
    g_snprintf(id, sizeof(id), "uart%u", uart_counter++);
    if (chardev_opt) {
        g_autofree char *opt = g_strdup_printf("%s,id=%s", chardev_opt, id);
        u->chr = chardev_new_from_option(opt, &err);
    } else {
        u->path = g_strdup_printf("%s/%s.out", tmpdir, id);
        g_autofree char *opt = g_strdup_printf("file,id=%s,path=%s", id, u->path);
        u->chr = chardev_new_from_option(opt, &err);
    }
    g_assert_no_error(err);
    u->dev = device_new("isa-serial", &err);
    g_assert_no_error(err);
    g_assert_true(device_set_prop(u->dev, "chardev", id, &err));
    for (; props && props[0]; props += 2) {
        g_assert_true(device_set_prop(u->dev, props[0], props[1], &err));
    }
    g_assert_true(device_realize(u->dev, &err));
    g_assert_no_error(err);
    u->base = serial_get_iobase(u->dev);
    u->irq = irq_new(record_irq, u, 0);
    serial_set_irq(u->dev, u->irq);
}

static void uart_new(Uart *u)
{
    uart_new_with(u, NULL, NULL);
}

/* Destroys the UART; returns what it sent to its file (g_free it). */
static char *uart_free(Uart *u, gsize *len)
{
    char *contents = NULL;

    device_destroy(u->dev);
    chardev_delete(u->chr);
    irq_free(u->irq);
    if (u->path) {
        g_assert_true(g_file_get_contents(u->path, &contents, len, NULL));
        g_free(u->path);
    }
    return contents;
}

static void uart_free_expect_output(Uart *u, const void *want, gsize want_len)
{
    gsize len;
    g_autofree char *contents = uart_free(u, &len);
    g_assert_cmpmem(contents, len, want, want_len);
}

/* ---- tests ---- */

static void test_reset_values(void)
{
    Uart u;

    uart_new(&u);
    g_assert_cmphex(u.base, ==, 0x3f8);
    g_assert_cmpuint(serial_get_isa_irq(u.dev), ==, 4);
    g_assert_cmphex(in(&u, IER), ==, 0x00);
    g_assert_cmphex(in(&u, IIR), ==, 0x01);
    g_assert_cmphex(in(&u, LCR), ==, 0x00);
    g_assert_cmphex(in(&u, MCR), ==, 0x00);
    g_assert_cmphex(in(&u, LSR), ==, 0x60);
    g_assert_cmphex(in(&u, MSR), ==, 0xb0);
    g_assert_cmphex(in(&u, SCR), ==, 0x00);
    g_assert_cmpint(u.irq_level, ==, 0);
    /* The divisor firmware expects: 12 (9600 baud). */
    out(&u, LCR, 0x80);
    g_assert_cmphex(in(&u, DLL), ==, 12);
    g_assert_cmphex(in(&u, DLM), ==, 0);
    out(&u, LCR, 0x03);
    uart_free_expect_output(&u, "", 0);
}

static void test_transmit_to_file(void)
{
    static const uint8_t msg[] = "Hello, UART\r\n\x00\xff\x1b";
    Uart u;

    uart_new(&u);
    out(&u, LCR, 0x03);   /* 8N1 */
    for (size_t i = 0; i < sizeof(msg); i++) {
        out(&u, THR, msg[i]);
        /* Sent at once: the holding register and shifter are empty again. */
        g_assert_cmphex(in(&u, LSR), ==, 0x60);
    }
    uart_free_expect_output(&u, msg, sizeof(msg));
}

static void test_divisor_latch(void)
{
    Uart u;

    uart_new(&u);
    out(&u, IER, 0x05);
    out(&u, LCR, 0x83);               /* DLAB on */
    out(&u, DLL, 0x01);               /* 115200 baud */
    out(&u, DLM, 0x02);
    g_assert_cmphex(in(&u, DLL), ==, 0x01);
    g_assert_cmphex(in(&u, DLM), ==, 0x02);
    g_assert_cmphex(in(&u, LCR), ==, 0x83);
    out(&u, LCR, 0x03);               /* DLAB off */
    g_assert_cmphex(in(&u, IER), ==, 0x05);   /* untouched by the DLM write */
    out(&u, IER, 0xff);
    g_assert_cmphex(in(&u, IER), ==, 0x0f);   /* only 4 enable bits exist */
    out(&u, LCR, 0x80);
    g_assert_cmphex(in(&u, DLL), ==, 0x01);   /* divisor kept */
    g_assert_cmphex(in(&u, DLM), ==, 0x02);
    out(&u, LCR, 0x00);
    out(&u, IER, 0x00);
    out(&u, THR, 'k');
    /* Only the THR write reached the wire. */
    uart_free_expect_output(&u, "k", 1);
}

static void test_scratch_and_readonly(void)
{
    Uart u;

    uart_new(&u);
    for (unsigned v = 0; v < 256; v += 51) {
        out(&u, SCR, v);
        g_assert_cmphex(in(&u, SCR), ==, v);
    }
    out(&u, LSR, 0x00);   /* read-only: ignored */
    out(&u, MSR, 0x0f);
    g_assert_cmphex(in(&u, LSR), ==, 0x60);
    g_assert_cmphex(in(&u, MSR), ==, 0xb0);
    out(&u, MCR, 0xff);
    g_assert_cmphex(in(&u, MCR), ==, 0x1f);
    uart_free_expect_output(&u, "", 0);
}

static void test_loopback(void)
{
    Uart u;

    uart_new(&u);
    /* What Linux probes: loopback with RTS and OUT2 shows CTS and DCD. */
    out(&u, MCR, 0x10 | 0x0a);
    /* From the idle lines (DCD DSR CTS) only DSR dropped: DDSR. */
    g_assert_cmphex(in(&u, MSR), ==, 0x90 | 0x02);
    g_assert_cmphex(in(&u, MSR), ==, 0x90);   /* deltas clear on read */
    out(&u, MCR, 0x1f);                       /* DTR RTS OUT1 OUT2 */
    g_assert_cmphex(in(&u, MSR), ==, 0xf2);   /* DSR came: DDSR; RI rose: no TERI */
    out(&u, MCR, 0x1b);                       /* OUT1 off: RI falls */
    g_assert_cmphex(in(&u, MSR), ==, 0xb4);   /* TERI */

    /* Transmit goes to our own receiver, not to the wire. */
    out(&u, THR, 'A');
    g_assert_cmphex(in(&u, LSR), ==, 0x61);
    g_assert_cmphex(in(&u, RBR), ==, 'A');
    g_assert_cmphex(in(&u, LSR), ==, 0x60);

    out(&u, MCR, 0x00);
    g_assert_cmphex(in(&u, MSR) & 0xf0, ==, 0xb0);
    out(&u, THR, 'B');
    g_assert_cmphex(in(&u, LSR), ==, 0x60);
    uart_free_expect_output(&u, "B", 1);
}

static void test_fifo_fill_and_overrun(void)
{
    Uart u;

    uart_new(&u);
    out(&u, MCR, 0x10);
    out(&u, FCR, 0x07);                       /* enable, clear both */
    g_assert_cmphex(in(&u, IIR), ==, 0xc1);   /* FIFOs on, nothing pending */
    for (int i = 0; i < 16; i++) {
        out(&u, THR, 'a' + i);
        g_assert_cmphex(in(&u, LSR), ==, 0x61);   /* no overrun yet */
    }
    out(&u, THR, 'q');                        /* the 17th is lost */
    g_assert_cmphex(in(&u, LSR), ==, 0x63);   /* DR OE THRE TEMT */
    g_assert_cmphex(in(&u, LSR), ==, 0x61);   /* OE cleared by the read */
    for (int i = 0; i < 16; i++) {
        g_assert_cmphex(in(&u, RBR), ==, 'a' + i);
    }
    g_assert_cmphex(in(&u, LSR), ==, 0x60);

    /* 16450 mode (FIFOs off): one holding byte, a second overwrites it. */
    out(&u, FCR, 0x00);
    g_assert_cmphex(in(&u, IIR), ==, 0x01);
    out(&u, THR, 'x');
    g_assert_cmphex(in(&u, LSR), ==, 0x61);
    out(&u, THR, 'y');
    g_assert_cmphex(in(&u, LSR), ==, 0x63);
    g_assert_cmphex(in(&u, RBR), ==, 'y');
    g_assert_cmphex(in(&u, LSR), ==, 0x60);

    /* FCR: RX clear empties the FIFO; toggling enable does too; without
     * the enable bit the other bits do not take. */
    out(&u, FCR, 0x01);
    out(&u, THR, '1');
    out(&u, THR, '2');
    out(&u, FCR, 0x03);
    g_assert_cmphex(in(&u, LSR), ==, 0x60);
    out(&u, THR, '3');
    out(&u, FCR, 0x00);
    g_assert_cmphex(in(&u, LSR), ==, 0x60);
    out(&u, FCR, 0xc0);
    g_assert_cmphex(in(&u, IIR), ==, 0x01);
    uart_free_expect_output(&u, "", 0);
}

static void test_trigger_levels(void)
{
    static const struct { uint8_t fcr; int level; } cases[] = {
        { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 },
    };
    Uart u;

    uart_new(&u);
    out(&u, MCR, 0x10);
    out(&u, IER, 0x01);   /* received data interrupts only */
    for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
        out(&u, FCR, cases[c].fcr | 0x02);
        g_assert_cmphex(in(&u, IIR), ==, 0xc1);
        for (int i = 1; i < cases[c].level; i++) {
            out(&u, THR, i);
            /* Below the trigger level: the character timeout. */
            g_assert_cmphex(in(&u, IIR), ==, 0xcc);
            g_assert_cmpint(u.irq_level, ==, 1);
        }
        out(&u, THR, 0x55);
        g_assert_cmphex(in(&u, IIR), ==, 0xc4);
        in(&u, RBR);
        if (cases[c].level > 1) {
            g_assert_cmphex(in(&u, IIR), ==, 0xcc);
        }
        for (int i = 1; i < cases[c].level; i++) {
            in(&u, RBR);
        }
        g_assert_cmphex(in(&u, IIR), ==, 0xc1);
        g_assert_cmpint(u.irq_level, ==, 0);
    }
    uart_free_expect_output(&u, "", 0);
}

static void test_thre_interrupt(void)
{
    Uart u;

    uart_new(&u);
    g_assert_cmpint(u.irq_level, ==, 0);
    /* Enabling it with THR empty interrupts at once. */
    out(&u, IER, 0x02);
    g_assert_cmpint(u.irq_level, ==, 1);
    g_assert_cmphex(in(&u, IIR), ==, 0x02);
    /* Reading IIR acknowledged it. */
    g_assert_cmpint(u.irq_level, ==, 0);
    g_assert_cmphex(in(&u, IIR), ==, 0x01);
    /* Each transmitted byte empties THR again. */
    out(&u, THR, 'T');
    g_assert_cmpint(u.irq_level, ==, 1);
    g_assert_cmphex(in(&u, IIR), ==, 0x02);
    out(&u, THR, 'U');
    g_assert_cmpint(u.irq_level, ==, 1);
    out(&u, IER, 0x00);
    g_assert_cmpint(u.irq_level, ==, 0);
    g_assert_cmphex(in(&u, IIR), ==, 0x01);
    /* Re-enabling re-arms it. */
    out(&u, IER, 0x02);
    g_assert_cmpint(u.irq_level, ==, 1);
    out(&u, IER, 0x00);
    uart_free_expect_output(&u, "TU", 2);
}

static void test_iir_priorities(void)
{
    Uart u;

    uart_new(&u);
    out(&u, FCR, 0x07);
    out(&u, MCR, 0x10 | 0x02);   /* loopback, RTS: a CTS delta */
    for (int i = 0; i < 17; i++) {
        out(&u, THR, i);         /* fills, and overruns */
    }
    out(&u, IER, 0x0f);
    /* All four sources pending; line status wins. */
    g_assert_cmphex(in(&u, IIR), ==, 0xc6);
    g_assert_cmpint(u.irq_level, ==, 1);
    g_assert_cmphex(in(&u, LSR), ==, 0x63);
    /* Then received data (16 >= trigger 1). */
    g_assert_cmphex(in(&u, IIR), ==, 0xc4);
    for (int i = 0; i < 16; i++) {
        g_assert_cmphex(in(&u, RBR), ==, i);
    }
    /* Then THRE (armed when IER enabled it); reading IIR acknowledges. */
    g_assert_cmphex(in(&u, IIR), ==, 0xc2);
    /* Then modem status, until MSR is read. */
    g_assert_cmphex(in(&u, IIR), ==, 0xc0);
    g_assert_cmphex(in(&u, IIR), ==, 0xc0);
    g_assert_cmpint(u.irq_level, ==, 1);
    g_assert_cmphex(in(&u, MSR), ==, 0x1a);   /* CTS; DSR and DCD dropped */
    g_assert_cmphex(in(&u, IIR), ==, 0xc1);
    g_assert_cmpint(u.irq_level, ==, 0);

    /* Disabled sources do not interrupt even when their condition holds. */
    out(&u, IER, 0x00);
    out(&u, THR, 'z');
    out(&u, MCR, 0x10);          /* CTS delta again */
    g_assert_cmphex(in(&u, IIR), ==, 0xc1);
    g_assert_cmpint(u.irq_level, ==, 0);
    out(&u, IER, 0x08);
    g_assert_cmphex(in(&u, IIR), ==, 0xc0);
    out(&u, IER, 0x01);
    g_assert_cmphex(in(&u, IIR), ==, 0xc4);   /* 'z' reached trigger level 1 */
    uart_free_expect_output(&u, "", 0);
}

static void test_reset(void)
{
    Uart u;

    uart_new(&u);
    out(&u, FCR, 0xc7);
    out(&u, LCR, 0x9b);
    out(&u, DLL, 0x03);
    out(&u, LCR, 0x1b);
    out(&u, MCR, 0x1f);
    out(&u, THR, 'r');
    out(&u, IER, 0x0f);
    out(&u, SCR, 0x42);
    g_assert_cmpint(u.irq_level, ==, 1);

    u.dev->klass->reset(u.dev);
    g_assert_cmpint(u.irq_level, ==, 0);
    g_assert_cmphex(in(&u, IER), ==, 0x00);
    g_assert_cmphex(in(&u, IIR), ==, 0x01);
    g_assert_cmphex(in(&u, LCR), ==, 0x00);
    g_assert_cmphex(in(&u, MCR), ==, 0x00);
    g_assert_cmphex(in(&u, LSR), ==, 0x60);
    g_assert_cmphex(in(&u, MSR), ==, 0xb0);
    g_assert_cmphex(in(&u, SCR), ==, 0x00);
    out(&u, LCR, 0x80);
    g_assert_cmphex(in(&u, DLL), ==, 12);
    uart_free_expect_output(&u, "", 0);
}

/* ---- input from the chardev ---- */

static void pump(void)
{
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(main_loop_context(), FALSE);
    }
}

/* Runs the main loop until the UART has data. */
static void wait_data_ready(Uart *u)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_LIMIT_US;
    while (!(in(u, LSR) & 0x01)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_main_context_iteration(main_loop_context(), FALSE);
        g_usleep(1000);
    }
}

/* Reads everything the UART holds now; checks it never overran. */
static GString *drain(Uart *u, GString *got)
{
    uint8_t lsr;
    while ((lsr = in(u, LSR)) & 0x01) {
        g_assert_false(lsr & 0x02);
        g_string_append_c(got, in(u, RBR));
    }
    return got;
}

static void test_receive_paced_by_fifo(void)
{
    g_autofree char *base = g_strdup_printf("%s/rx", tmpdir);
    g_autofree char *in_path = g_strdup_printf("%s.in", base);
    g_autofree char *out_path = g_strdup_printf("%s.out", base);
    g_autofree char *opt = g_strdup_printf("pipe,path=%s", base);
    g_autoptr(GString) got = g_string_new(NULL);
    char msg[41];
    Uart u;

    for (int i = 0; i < 40; i++) {
        msg[i] = 'A' + i;
    }
    msg[40] = 0;
    g_assert_cmpint(mkfifo(in_path, 0600), ==, 0);
    g_assert_cmpint(mkfifo(out_path, 0600), ==, 0);
    uart_new_with(&u, opt, NULL);
    int host = open(in_path, O_WRONLY | O_NONBLOCK);
    g_assert_cmpint(host, >=, 0);

    /* FIFOs off: one byte at a time, never an overrun. */
    g_assert_cmpint(write(host, msg, 3), ==, 3);
    wait_data_ready(&u);
    pump();
    drain(&u, got);
    g_assert_cmpuint(got->len, ==, 1);
    while (got->len < 3) {
        wait_data_ready(&u);
        drain(&u, got);
    }
    g_assert_cmpstr(got->str, ==, "ABC");

    /* FIFOs on, interrupts on: 16 at most at a time, then the rest. */
    g_string_truncate(got, 0);
    out(&u, FCR, 0xc7);
    out(&u, IER, 0x01);
    g_assert_cmpint(write(host, msg, 40), ==, 40);
    wait_data_ready(&u);
    pump();
    g_assert_cmpint(u.irq_level, ==, 1);
    g_assert_cmphex(in(&u, IIR), ==, 0xc4);   /* 16 >= trigger 14 */
    drain(&u, got);
    g_assert_cmpuint(got->len, ==, 16);
    while (got->len < 40) {
        wait_data_ready(&u);
        pump();
        drain(&u, got);
    }
    g_assert_cmpstr(got->str, ==, msg);

    /* Loopback cuts the receiver off the wire; input waits meanwhile. */
    out(&u, MCR, 0x10);
    g_assert_cmpint(write(host, "L", 1), ==, 1);
    pump();
    g_assert_cmphex(in(&u, LSR) & 0x01, ==, 0);
    out(&u, MCR, 0x00);
    wait_data_ready(&u);
    g_assert_cmphex(in(&u, RBR), ==, 'L');

    close(host);
    g_free(uart_free(&u, NULL));
}

static void test_hostile_accesses(void)
{
    GRand *rand = g_rand_new_with_seed(0x16550);
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    Uart u;

    uart_new(&u);
    for (int i = 0; i < 200000; i++) {
        hwaddr port = u.base - 4 + g_rand_int_range(rand, 0, 16);
        unsigned size = sizes[g_rand_int_range(rand, 0, 4)];
        uint64_t val = ((uint64_t)g_rand_int(rand) << 32) | g_rand_int(rand);
        if (g_rand_boolean(rand)) {
            address_space_write_sized(&address_space_io, port, val, size);
        } else {
            address_space_read_sized(&address_space_io, port, &val, size);
        }
    }
    g_rand_free(rand);
    /* Still a working UART after reset. */
    u.dev->klass->reset(u.dev);
    g_assert_cmphex(in(&u, LSR), ==, 0x60);
    out(&u, THR, 'Z');
    gsize len;
    g_autofree char *contents = uart_free(&u, &len);
    g_assert_cmpuint(len, >, 0);
    g_assert_cmpint(contents[len - 1], ==, 'Z');
}

static void test_placement(void)
{
    static const char *const com4[] = { "index", "3", NULL };
    static const char *const custom[] = { "iobase", "0x3e0", "irq", "5", NULL };
    GError *err = NULL;
    Uart first, second, third, fourth;

    uart_new(&first);
    g_assert_cmphex(first.base, ==, 0x3f8);
    /* A second one with all defaults moves on to COM2. */
    uart_new(&second);
    g_assert_cmphex(second.base, ==, 0x2f8);
    g_assert_cmpuint(serial_get_isa_irq(second.dev), ==, 3);
    uart_new_with(&third, NULL, com4);
    g_assert_cmphex(third.base, ==, 0x2e8);
    g_assert_cmpuint(serial_get_isa_irq(third.dev), ==, 3);
    uart_new_with(&fourth, NULL, custom);
    g_assert_cmphex(fourth.base, ==, 0x3e0);
    g_assert_cmpuint(serial_get_isa_irq(fourth.dev), ==, 5);

    /* Each answers at its own ports. */
    out(&first, SCR, 1);
    out(&second, SCR, 2);
    out(&third, SCR, 3);
    g_assert_cmphex(in(&first, SCR), ==, 1);
    g_assert_cmphex(in(&second, SCR), ==, 2);
    g_assert_cmphex(in(&third, SCR), ==, 3);

    /* Overlapping ports, bad irq, bad index, and a chardev in use. */
    DeviceState *dev = device_new("isa-serial", &err);
    g_assert_true(device_set_prop(dev, "iobase", "0x3e4", &err));
    g_assert_false(device_realize(dev, &err));
    g_assert_nonnull(strstr(err->message, "already used"));
    g_clear_error(&err);
    device_destroy(dev);

    dev = device_new("isa-serial", &err);
    g_assert_true(device_set_prop(dev, "iobase", "0x100", &err));
    g_assert_true(device_set_prop(dev, "irq", "16", &err));
    g_assert_false(device_realize(dev, &err));
    g_assert_nonnull(strstr(err->message, "irq 16"));
    g_clear_error(&err);
    device_destroy(dev);

    dev = device_new("isa-serial", &err);
    g_assert_true(device_set_prop(dev, "index", "4", &err));
    g_assert_false(device_realize(dev, &err));
    g_assert_nonnull(strstr(err->message, "index 4"));
    g_clear_error(&err);
    device_destroy(dev);

    dev = device_new("isa-serial", &err);
    g_assert_true(device_set_prop(dev, "iobase", "0x100", &err));
    g_assert_true(device_set_prop(dev, "chardev", chardev_id(first.chr), &err));
    g_assert_false(device_realize(dev, &err));
    g_assert_nonnull(strstr(err->message, "already in use"));
    g_clear_error(&err);
    device_destroy(dev);

    g_assert_null(serial_isa_create(1, NULL, &err));   /* COM2 is taken */
    g_assert_nonnull(err);
    g_clear_error(&err);

    g_free(uart_free(&fourth, NULL));
    g_free(uart_free(&third, NULL));
    g_free(uart_free(&second, NULL));
    /* Freed ports are free again; no chardev means output is discarded. */
    dev = serial_isa_create(1, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmphex(serial_get_iobase(dev), ==, 0x2f8);
    uint64_t v;
    address_space_write_sized(&address_space_io, 0x2f8, 'n', 1);
    address_space_read_sized(&address_space_io, 0x2fd, &v, 1);
    g_assert_cmphex(v, ==, 0x60);
    device_destroy(dev);
    /* Unmapped on destroy: the port reads as nothing there. */
    address_space_read_sized(&address_space_io, 0x2fd, &v, 1);
    g_assert_cmphex(v & 0xff, ==, 0xff);
    g_free(uart_free(&first, NULL));

    const DeviceClass *klass = device_class_find("isa-serial");
    g_assert_nonnull(klass);
    g_assert_true(klass->user_creatable);
}

static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        unlink(path);
    }
    if (d) {
        g_dir_close(d);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-serial-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    bql_lock();
    main_loop_init();
    memory_system_init();

    g_test_add_func("/serial/reset-values", test_reset_values);
    g_test_add_func("/serial/transmit-to-file", test_transmit_to_file);
    g_test_add_func("/serial/divisor-latch", test_divisor_latch);
    g_test_add_func("/serial/scratch-readonly", test_scratch_and_readonly);
    g_test_add_func("/serial/loopback", test_loopback);
    g_test_add_func("/serial/fifo-overrun", test_fifo_fill_and_overrun);
    g_test_add_func("/serial/trigger-levels", test_trigger_levels);
    g_test_add_func("/serial/thre-interrupt", test_thre_interrupt);
    g_test_add_func("/serial/iir-priorities", test_iir_priorities);
    g_test_add_func("/serial/reset", test_reset);
    g_test_add_func("/serial/receive-paced", test_receive_paced_by_fifo);
    g_test_add_func("/serial/hostile", test_hostile_accesses);
    g_test_add_func("/serial/placement", test_placement);
    ret = g_test_run();

    chardev_close_all();
    bql_unlock();
    remove_tree(tmpdir);
    return ret;
}
