/*
 * The 8254 PIT on a manual guest clock: IRQ 0 in modes 0 and 2, counter
 * latch and read-back, lobyte/hibyte access, BCD, the channel 2 gate and
 * output through port 0x61, and writes before a channel is programmed.
 */
#include "hw/timer/i8254.h"
#include "hw/timer/guest-timer.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"
#include "intc-test-helpers.h"

static DeviceState *pit;
static int irq_level, irq_raises;

static void record_irq(void *opaque, int n, int level)
{
    if (level && !irq_level) {
        irq_raises++;
    }
    irq_level = level;
}

/* Guest nanoseconds of n PIT ticks (rounded up). */
static int64_t ticks_ns(uint64_t n)
{
    return (int64_t)((n * 1000000000ULL + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ);
}

static void setup(void)
{
    devices_reset_all();
    irq_raises = 0;
}

static uint16_t latch_read(int ch)
{
    pio_outb(0x43, ch << 6);                        /* counter latch */
    uint8_t lo = pio_inb(0x40 + ch);
    uint8_t hi = pio_inb(0x40 + ch);
    return lo | hi << 8;
}

static void test_unprogrammed(void)
{
    setup();
    guest_clock_advance(ticks_ns(200000));
    g_assert_cmpint(irq_raises, ==, 0);             /* silent until programmed */
    pio_outb(0x40, 0x12);                               /* count before mode: ignored */
    guest_clock_advance(ticks_ns(200000));
    g_assert_cmpint(irq_raises, ==, 0);
    g_assert_cmphex(pio_inb(0x43), ==, 0xff);
}

static void test_mode2_periodic(void)
{
    setup();
    pio_outb(0x43, 0x34);                               /* ch0, lo/hi, mode 2 */
    pio_outb(0x40, 1000 & 0xff);
    pio_outb(0x40, 1000 >> 8);
    guest_clock_advance(ticks_ns(500));
    uint16_t c = latch_read(0);
    g_assert_cmpuint(c, >=, 499);
    g_assert_cmpuint(c, <=, 501);
    g_assert_cmpint(irq_raises, ==, 0);
    guest_clock_advance(ticks_ns(500) + ticks_ns(1000) * 4);
    g_assert_cmpint(irq_raises, ==, 5);
    g_assert_cmpint(irq_level, ==, 0);              /* pulses */
    /* Reprogramming stops it. */
    pio_outb(0x43, 0x30);
    guest_clock_advance(ticks_ns(5000));
    g_assert_cmpint(irq_raises, ==, 5);
}

static void test_mode0_terminal_count(void)
{
    setup();
    pio_outb(0x43, 0x30);                               /* ch0, lo/hi, mode 0 */
    pio_outb(0x40, 100);
    g_assert_cmpint(irq_level, ==, 0);
    pio_outb(0x40, 0);
    guest_clock_advance(ticks_ns(99));
    g_assert_cmpint(irq_level, ==, 0);
    guest_clock_advance(ticks_ns(2));
    g_assert_cmpint(irq_level, ==, 1);              /* stays high */
    guest_clock_advance(ticks_ns(70000));
    g_assert_cmpint(irq_raises, ==, 1);
    /* Read-back status: OUT high, lo/hi access, mode 0, binary. */
    pio_outb(0x43, 0xe2);                               /* status of channel 0 only */
    g_assert_cmphex(pio_inb(0x40), ==, 0x80 | 0x30);
    /* A new control word drops OUT. */
    pio_outb(0x43, 0x30);
    g_assert_cmpint(irq_level, ==, 0);
    pio_outb(0x43, 0xe2);
    g_assert_cmphex(pio_inb(0x40), ==, 0x40 | 0x30);    /* null count until loaded */
}

static void test_access_modes(void)
{
    setup();
    pio_outb(0x43, 0x92);                               /* ch2, MSB only, mode 1 */
    pio_outb(0x42, 0x12);
    g_assert_cmphex(pio_inb(0x42), ==, 0x12);           /* not triggered yet */
    pio_outb(0x43, 0x51);                               /* ch1, LSB only, mode 0, BCD */
    pio_outb(0x41, 0x99);
    guest_clock_advance(ticks_ns(9));
    g_assert_cmphex(pio_inb(0x41), ==, 0x90);           /* BCD digits: 99 - 9 = 90 */
    /* A latched value survives further counting until read. */
    pio_outb(0x43, 0x40);
    guest_clock_advance(ticks_ns(10));
    g_assert_cmphex(pio_inb(0x41), ==, 0x90);
    g_assert_cmphex(pio_inb(0x41), ==, 0x80);
}

/* BCD mode reads BCD digits and wraps from 0000 to 9999. */
static void test_bcd(void)
{
    setup();
    pio_outb(0x43, 0x71);                               /* ch1, lo/hi, mode 0, BCD */
    pio_outb(0x41, 0x34);
    pio_outb(0x41, 0x12);
    guest_clock_advance(ticks_ns(35));
    g_assert_cmphex(latch_read(1), ==, 0x1199);     /* 1234 - 35 */
    pio_outb(0x43, 0x71);
    pio_outb(0x41, 0x00);
    pio_outb(0x41, 0x00);                               /* 0 = 10000 */
    g_assert_cmphex(latch_read(1), ==, 0x0000);
    guest_clock_advance(ticks_ns(1));
    g_assert_cmphex(latch_read(1), ==, 0x9999);
    /* Read-back of the count and the status: mode 0, lo/hi, BCD. */
    pio_outb(0x43, 0xc4);
    g_assert_cmphex(pio_inb(0x41), ==, 0x31);
    g_assert_cmphex(pio_inb(0x41), ==, 0x99);
    g_assert_cmphex(pio_inb(0x41), ==, 0x99);
    /* Mode 2 with 10000: reads 0000, then 9999 down. */
    pio_outb(0x43, 0x75);                               /* ch1, lo/hi, mode 2, BCD */
    pio_outb(0x41, 0x00);
    pio_outb(0x41, 0x00);
    g_assert_cmphex(latch_read(1), ==, 0x0000);
    guest_clock_advance(ticks_ns(10001));
    g_assert_cmphex(latch_read(1), ==, 0x9999);
    /* Binary mode 0 still wraps to 0xffff. */
    pio_outb(0x43, 0x70);
    pio_outb(0x41, 0x02);
    pio_outb(0x41, 0x00);
    guest_clock_advance(ticks_ns(3));
    g_assert_cmphex(latch_read(1), ==, 0xffff);
}

static void test_channel2_gate(void)
{
    setup();
    pio_outb(0x43, 0xb0);                               /* ch2, lo/hi, mode 0 */
    pio_outb(0x42, 0x00);
    pio_outb(0x42, 0x10);                               /* 0x1000 ticks */
    guest_clock_advance(ticks_ns(0x2000));
    /* Gate low: mode 0 does not count. */
    g_assert_cmphex(latch_read(2), ==, 0x1000);
    g_assert_cmphex(pio_inb(0x61) & 0x20, ==, 0);
    pio_outb(0x61, 0x01);                               /* gate on */
    g_assert_cmphex(pio_inb(0x61) & 0x0f, ==, 0x01);
    guest_clock_advance(ticks_ns(0x800));
    g_assert_cmphex(pio_inb(0x61) & 0x20, ==, 0);
    pio_outb(0x61, 0x00);                               /* pause */
    guest_clock_advance(ticks_ns(0x2000));
    g_assert_cmphex(pio_inb(0x61) & 0x20, ==, 0);
    pio_outb(0x61, 0x03);
    guest_clock_advance(ticks_ns(0x801));
    g_assert_cmphex(pio_inb(0x61) & 0x20, ==, 0x20);
    g_assert_cmpint(irq_raises, ==, 0);             /* channel 2 has no IRQ */
    /* The refresh bit toggles. */
    uint8_t a = pio_inb(0x61) & 0x10;
    guest_clock_advance(15085);
    g_assert_cmphex(pio_inb(0x61) & 0x10, !=, a);
}

/* Random port traffic and clock steps never crash or stall the clock. */
static void test_hostile(void)
{
    guint32 seed = 777;

    setup();
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245 + 12345;
        unsigned port = (seed >> 16) % 5;
        uint8_t val = (uint8_t)(seed >> 8);
        switch (port) {
        case 4:
            if (seed & 0x80000000u) {
                pio_outb(0x61, val);
            } else {
                (void)pio_inb(0x61);
            }
            break;
        default:
            if (seed & 0x80000000u) {
                pio_outb(0x40 + port, val);
            } else {
                (void)pio_inb(0x40 + port);
            }
            break;
        }
        if ((seed & 0xf) == 0) {
            guest_clock_advance(seed & 0xfffff);
        }
    }
    setup();
}

int main(int argc, char **argv)
{
    GError *err = NULL;

    intc_test_init(&argc, &argv, true);
    pit = i8254_create(irq_new(record_irq, NULL, 0), &err);
    g_assert_no_error(err);
    g_test_add_func("/pit/unprogrammed", test_unprogrammed);
    g_test_add_func("/pit/mode2-periodic", test_mode2_periodic);
    g_test_add_func("/pit/mode0-terminal-count", test_mode0_terminal_count);
    g_test_add_func("/pit/access-modes", test_access_modes);
    g_test_add_func("/pit/bcd", test_bcd);
    g_test_add_func("/pit/channel2-gate", test_channel2_gate);
    g_test_add_func("/pit/hostile", test_hostile);
    return intc_test_run();
}
