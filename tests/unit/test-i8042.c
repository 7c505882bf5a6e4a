/*
 * The i8042 keyboard controller through ports 0x60/0x64: controller
 * commands, the minimal keyboard, the aux port without a mouse, the
 * interrupt lines, and the 0xfe reset pulse seen by the main loop's
 * request handler. Also port 0x80.
 */
#include "hw/input/i8042.h"
#include "hw/misc/port80.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"

static DeviceState *kbc;
static qemu_irq irq1, irq12;
static int level[16];
static int raises[16];

static void record_irq(void *opaque, int n, int lvl)
{
    if (lvl && !level[n]) {
        raises[n]++;
    }
    level[n] = lvl;
}

static uint8_t inb(uint16_t port)
{
    uint64_t v = 0xdead;
    g_assert_cmpint(address_space_read_sized(&address_space_io, port, &v, 1), ==, MEMTX_OK);
    g_assert_cmpuint(v, <=, 0xff);
    return (uint8_t)v;
}

static void outb(uint16_t port, uint8_t v)
{
    g_assert_cmpint(address_space_write_sized(&address_space_io, port, v, 1), ==, MEMTX_OK);
}

static uint8_t status(void)
{
    return inb(I8042_STATUS_PORT);
}

/* Reads one byte the controller has for us; asserts there is one and
 * whether it came from the aux side. */
static uint8_t read_byte(bool aux)
{
    uint8_t st = status();

    g_assert_cmphex(st & I8042_STR_OBF, ==, I8042_STR_OBF);
    g_assert_cmphex(st & I8042_STR_AUXDATA, ==, aux ? I8042_STR_AUXDATA : 0);
    return inb(I8042_DATA_PORT);
}

static void assert_empty(void)
{
    g_assert_cmphex(status() & I8042_STR_OBF, ==, 0);
}

static void command(uint8_t cmd)
{
    outb(I8042_STATUS_PORT, cmd);
}

static void reset_kbc(void)
{
    devices_reset_all();
    memset(raises, 0, sizeof(raises));
}

/* ---- tests ---- */

static void test_self_test(void)
{
    reset_kbc();
    g_assert_cmphex(status(), ==, I8042_STR_UNLOCKED | I8042_STR_SYS);
    command(0xaa);
    g_assert_cmphex(status() & I8042_STR_CMD, ==, I8042_STR_CMD);
    /* The reply raises IRQ 1 (keyboard interrupt enabled by default). */
    g_assert_cmpint(level[1], ==, 1);
    g_assert_cmphex(read_byte(false), ==, 0x55);
    g_assert_cmpint(level[1], ==, 0);
    assert_empty();

    /* Interface tests pass. */
    command(0xab);
    g_assert_cmphex(read_byte(false), ==, 0x00);
    command(0xa9);
    g_assert_cmphex(read_byte(false), ==, 0x00);
    /* An empty buffer repeats the last byte. */
    g_assert_cmphex(inb(I8042_DATA_PORT), ==, 0x00);
    assert_empty();
}

static void test_command_byte(void)
{
    reset_kbc();
    command(0x20);
    g_assert_cmphex(read_byte(false), ==, 0x65);

    /* Write it: interrupts off, system flag off. */
    command(0x60);
    outb(I8042_DATA_PORT, 0x00);
    g_assert_cmphex(status() & (I8042_STR_CMD | I8042_STR_SYS), ==, 0);
    command(0x20);
    g_assert_cmpint(level[1], ==, 0);
    g_assert_cmpint(raises[1], ==, 1);   /* only the first read-back raised */
    g_assert_cmphex(read_byte(false), ==, 0x00);

    /* Disable/enable commands edit the command byte. */
    command(0xad);
    command(0xa7);
    command(0x20);
    g_assert_cmphex(read_byte(false), ==, 0x30);
    command(0xae);
    command(0xa8);
    command(0x20);
    g_assert_cmphex(read_byte(false), ==, 0x00);

    /* The other RAM bytes. */
    command(0x65);
    outb(I8042_DATA_PORT, 0xa5);
    command(0x25);
    g_assert_cmphex(read_byte(false), ==, 0xa5);

    /* Output and input ports. */
    command(0xd0);
    g_assert_cmphex(read_byte(false), ==, 0x03);
    command(0xd1);
    outb(I8042_DATA_PORT, 0x03);
    command(0xc0);
    g_assert_cmphex(read_byte(false), ==, 0x80);
    assert_empty();
}

static void test_keyboard(void)
{
    reset_kbc();
    /* Reset: ACK, then self-test passed. */
    outb(I8042_DATA_PORT, 0xff);
    g_assert_cmpint(level[1], ==, 1);
    g_assert_cmphex(read_byte(false), ==, 0xfa);
    /* The next byte gives a new edge. */
    g_assert_cmpint(level[1], ==, 1);
    g_assert_cmpint(raises[1], ==, 2);
    g_assert_cmphex(read_byte(false), ==, 0xaa);
    assert_empty();

    /* Identify, with translation on (the default command byte). */
    outb(I8042_DATA_PORT, 0xf2);
    g_assert_cmphex(read_byte(false), ==, 0xfa);
    g_assert_cmphex(read_byte(false), ==, 0xab);
    g_assert_cmphex(read_byte(false), ==, 0x41);

    /* LEDs and typematic rate take an argument. */
    outb(I8042_DATA_PORT, 0xed);
    g_assert_cmphex(read_byte(false), ==, 0xfa);
    outb(I8042_DATA_PORT, 0x07);
    g_assert_cmphex(read_byte(false), ==, 0xfa);
    outb(I8042_DATA_PORT, 0xf3);
    outb(I8042_DATA_PORT, 0x20);
    g_assert_cmphex(read_byte(false), ==, 0xfa);
    g_assert_cmphex(read_byte(false), ==, 0xfa);

    /* Scancode set query. */
    outb(I8042_DATA_PORT, 0xf0);
    outb(I8042_DATA_PORT, 0x00);
    g_assert_cmphex(read_byte(false), ==, 0xfa);
    g_assert_cmphex(read_byte(false), ==, 0xfa);
    g_assert_cmphex(read_byte(false), ==, 0x02);

    /* Echo, enable, unknown. */
    outb(I8042_DATA_PORT, 0xee);
    g_assert_cmphex(read_byte(false), ==, 0xee);
    outb(I8042_DATA_PORT, 0xf4);
    g_assert_cmphex(read_byte(false), ==, 0xfa);
    outb(I8042_DATA_PORT, 0x12);
    g_assert_cmphex(read_byte(false), ==, 0xfe);
    assert_empty();
}

static void test_aux_port(void)
{
    reset_kbc();
    /* Enable the aux interrupt. */
    command(0x60);
    outb(I8042_DATA_PORT, 0x47);

    /* Loopback through the aux output buffer raises IRQ 12, not IRQ 1. */
    command(0xd3);
    outb(I8042_DATA_PORT, 0x5a);
    g_assert_cmpint(level[12], ==, 1);
    g_assert_cmpint(level[1], ==, 0);
    command(0xd0);   /* output port shows the aux buffer full */
    g_assert_cmphex(read_byte(true), ==, 0x5a);
    g_assert_cmpint(level[12], ==, 0);
    g_assert_cmphex(read_byte(false), ==, 0x03 | 0x20);

    /* Nothing answers on the aux port. */
    command(0xd4);
    outb(I8042_DATA_PORT, 0xf2);
    g_assert_cmphex(read_byte(true), ==, 0xfe);

    /* Writing the keyboard output buffer. */
    command(0xd2);
    outb(I8042_DATA_PORT, 0x1c);
    g_assert_cmpint(level[1], ==, 1);
    g_assert_cmphex(read_byte(false), ==, 0x1c);
    assert_empty();
}

static void test_reset_pulse(void)
{
    int exit_status = -1;

    reset_kbc();
    /* Change the command byte so a device reset is visible. */
    command(0x60);
    outb(I8042_DATA_PORT, 0x00);

    /* 0xff pulses nothing and 0xfd only another line: no reset. */
    command(0xff);
    command(0xfd);
    g_assert_false(runstate_handle_requests(&exit_status));
    command(0x20);
    g_assert_cmphex(read_byte(false), ==, 0x00);

    /* 0xfe: the main loop's handler resets the machine (and with it us). */
    command(0xfe);
    g_assert_false(runstate_handle_requests(&exit_status));
    command(0x20);
    g_assert_cmphex(read_byte(false), ==, 0x65);

    /* Clearing the reset line through the output port does the same. */
    command(0x60);
    outb(I8042_DATA_PORT, 0x00);
    command(0xd1);
    outb(I8042_DATA_PORT, 0x02);
    g_assert_false(runstate_handle_requests(&exit_status));
    command(0x20);
    g_assert_cmphex(read_byte(false), ==, 0x65);

    /* With -no-reboot the request becomes a shutdown. */
    no_reboot = true;
    command(0xfe);
    g_assert_true(runstate_handle_requests(&exit_status));
    g_assert_cmpint(exit_status, ==, 0);
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_SHUTDOWN);
    no_reboot = false;
    runstate_set(RUN_STATE_PRELAUNCH);
}

static void test_hostile(void)
{
    GRand *rand = g_rand_new_with_seed(0x8042);

    reset_kbc();
    for (int i = 0; i < 20000; i++) {
        uint16_t port = g_rand_boolean(rand) ? I8042_DATA_PORT : I8042_STATUS_PORT;
        uint8_t val = (uint8_t)g_rand_int(rand);

        /* Keep the reset commands out; they are tested above. */
        if (port == I8042_STATUS_PORT && (val >= 0xf0 || val == 0xd1)) {
            continue;
        }
        if (g_rand_boolean(rand)) {
            inb(port);
        } else {
            outb(port, val);
        }
    }
    g_rand_free(rand);
    /* Drain: the queue is bounded. */
    for (int i = 0; i < 64 && (status() & I8042_STR_OBF); i++) {
        inb(I8042_DATA_PORT);
    }
    assert_empty();
    g_assert_cmpint(level[1], ==, 0);
    g_assert_cmpint(level[12], ==, 0);
    /* Still answers. */
    command(0xaa);
    g_assert_cmphex(read_byte(false), ==, 0x55);
}

static void test_port80(void)
{
    GError *err = NULL;
    DeviceState *dev = port80_create(&err);

    g_assert_no_error(err);
    outb(0x80, 0x12);
    g_assert_cmphex(inb(0x80), ==, 0xff);
    device_destroy(dev);
}

int main(int argc, char **argv)
{
    GError *err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    bql_lock();
    main_loop_init();
    memory_system_init();
    irq1 = irq_new(record_irq, NULL, 1);
    irq12 = irq_new(record_irq, NULL, 12);
    kbc = i8042_create(irq1, irq12, &err);
    g_assert_no_error(err);
    g_assert_nonnull(kbc);

    g_test_add_func("/i8042/self-test", test_self_test);
    g_test_add_func("/i8042/command-byte", test_command_byte);
    g_test_add_func("/i8042/keyboard", test_keyboard);
    g_test_add_func("/i8042/aux-port", test_aux_port);
    g_test_add_func("/i8042/reset-pulse", test_reset_pulse);
    g_test_add_func("/i8042/hostile", test_hostile);
    g_test_add_func("/port80/sink", test_port80);
    ret = g_test_run();

    devices_destroy_all();
    irq_free(irq1);
    irq_free(irq12);
    bql_unlock();
    return ret;
}
