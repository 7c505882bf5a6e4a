/*
 * The MC146818 RTC through ports 0x70/0x71 in address_space_io: time from
 * the host clock, BCD/binary and 12/24-hour formats, setting the time, the
 * periodic, update-ended and alarm interrupts (driven through the test
 * hooks instead of waiting), CMOS RAM and the PC fields, and -rtc parsing.
 * Most tests run on a fake host clock so they are exact.
 */
#include "hw/rtc/mc146818rtc.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"

#define USEC 1000000ll

static int64_t fake_now_us;
static int irq_level;
static int irq_raises;
static qemu_irq irq8;

static int64_t fake_clock(void)
{
    return fake_now_us;
}

static void record_irq(void *opaque, int n, int level)
{
    if (level && !irq_level) {
        irq_raises++;
    }
    irq_level = level;
}

static uint8_t cmos_in(uint8_t index)
{
    uint64_t v = 0xdead;
    g_assert_cmpint(address_space_write_sized(&address_space_io, 0x70, index, 1), ==, MEMTX_OK);
    g_assert_cmpint(address_space_read_sized(&address_space_io, 0x71, &v, 1), ==, MEMTX_OK);
    g_assert_cmpuint(v, <=, 0xff);
    return (uint8_t)v;
}

static void cmos_out(uint8_t index, uint8_t val)
{
    g_assert_cmpint(address_space_write_sized(&address_space_io, 0x70, index, 1), ==, MEMTX_OK);
    g_assert_cmpint(address_space_write_sized(&address_space_io, 0x71, val, 1), ==, MEMTX_OK);
}

/* 2024-02-29 13:45:56 UTC, a Thursday, plus `us`. */
static int64_t leap_day_us(int64_t us)
{
    GDateTime *dt = g_date_time_new_utc(2024, 2, 29, 13, 45, 56);
    int64_t t = g_date_time_to_unix(dt) * USEC + us;
    g_date_time_unref(dt);
    return t;
}

/* A fresh RTC on the fake clock (or the real one). */
static DeviceState *rtc_new(bool fake)
{
    GError *err = NULL;
    DeviceState *dev;

    mc146818_rtc_set_host_clock(fake ? fake_clock : NULL);
    irq_level = 0;
    irq_raises = 0;
    dev = mc146818_rtc_create(irq8, &err);
    g_assert_no_error(err);
    g_assert_nonnull(dev);
    return dev;
}

static void rtc_free(DeviceState *dev)
{
    device_destroy(dev);
    mc146818_rtc_set_host_clock(NULL);
    g_assert_cmpint(irq_level, ==, 0);
}

static unsigned bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0xf);
}

/* The RTC time (BCD, 24h) as Unix seconds, read consistently: two equal
 * reads in a row. */
static int64_t read_rtc_unix(void)
{
    uint8_t a[8], b[8];
    static const uint8_t regs[8] = { RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_MONTH,
                                     RTC_MONTH, RTC_YEAR, RTC_CENTURY, RTC_DAY_OF_WEEK };
    GDateTime *dt;
    int64_t t;

    for (int tries = 0;; tries++) {
        g_assert_cmpint(tries, <, 100);
        for (int i = 0; i < 8; i++) {
            a[i] = cmos_in(regs[i]);
        }
        for (int i = 0; i < 8; i++) {
            b[i] = cmos_in(regs[i]);
        }
        if (memcmp(a, b, sizeof(a)) == 0) {
            break;
        }
    }
    dt = g_date_time_new_utc(bcd(a[6]) * 100 + bcd(a[5]), bcd(a[4]), bcd(a[3]), bcd(a[2]),
                             bcd(a[1]), bcd(a[0]));
    g_assert_nonnull(dt);
    /* Day of week agrees with the date (1 = Sunday). */
    g_assert_cmpuint(a[7], ==, g_date_time_get_day_of_week(dt) % 7 + 1);
    t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return t;
}

/* ---- tests ---- */

static void test_host_time(void)
{
    DeviceState *dev = rtc_new(false);
    int64_t before = g_get_real_time() / USEC;
    int64_t rtc = read_rtc_unix();
    int64_t after = g_get_real_time() / USEC;

    /* The RTC counts whole seconds of the same clock. */
    g_assert_cmpint(rtc, >=, before);
    g_assert_cmpint(rtc, <=, after);
    rtc_free(dev);
}

static void test_formats(void)
{
    DeviceState *dev;

    fake_now_us = leap_day_us(250000);
    dev = rtc_new(true);

    g_assert_cmphex(cmos_in(RTC_REG_A), ==, 0x26);
    g_assert_cmphex(cmos_in(RTC_REG_B), ==, 0x02);
    g_assert_cmphex(cmos_in(RTC_REG_D), ==, 0x80);

    /* BCD, 24-hour. */
    g_assert_cmphex(cmos_in(RTC_SECONDS), ==, 0x56);
    g_assert_cmphex(cmos_in(RTC_MINUTES), ==, 0x45);
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x13);
    g_assert_cmphex(cmos_in(RTC_DAY_OF_WEEK), ==, 5);   /* Thursday */
    g_assert_cmphex(cmos_in(RTC_DAY_OF_MONTH), ==, 0x29);
    g_assert_cmphex(cmos_in(RTC_MONTH), ==, 0x02);
    g_assert_cmphex(cmos_in(RTC_YEAR), ==, 0x24);
    g_assert_cmphex(cmos_in(RTC_CENTURY), ==, 0x20);

    /* BCD, 12-hour: 1 PM. */
    cmos_out(RTC_REG_B, 0x00);
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x81);

    /* Binary, 24-hour. */
    cmos_out(RTC_REG_B, RTC_REG_B_DM | RTC_REG_B_24H);
    g_assert_cmpuint(cmos_in(RTC_SECONDS), ==, 56);
    g_assert_cmpuint(cmos_in(RTC_MINUTES), ==, 45);
    g_assert_cmpuint(cmos_in(RTC_HOURS), ==, 13);
    g_assert_cmpuint(cmos_in(RTC_DAY_OF_MONTH), ==, 29);
    g_assert_cmpuint(cmos_in(RTC_MONTH), ==, 2);
    g_assert_cmpuint(cmos_in(RTC_YEAR), ==, 24);
    g_assert_cmpuint(cmos_in(RTC_CENTURY), ==, 20);

    /* Binary, 12-hour, midnight and noon. */
    cmos_out(RTC_REG_B, RTC_REG_B_DM);
    fake_now_us = leap_day_us(-(13 * 3600 + 45 * 60 + 56) * USEC);   /* 00:00:00 */
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 12);
    fake_now_us += 12 * 3600 * USEC;                                  /* 12:00:00 */
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x80 | 12);

    /* The clock advances with the host clock, across the month end. */
    cmos_out(RTC_REG_B, RTC_REG_B_24H);
    fake_now_us = leap_day_us(0) + (10 * 3600 + 14 * 60 + 4) * USEC;  /* 2024-03-01 00:00:00 */
    g_assert_cmphex(cmos_in(RTC_DAY_OF_MONTH), ==, 0x01);
    g_assert_cmphex(cmos_in(RTC_MONTH), ==, 0x03);
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x00);
    g_assert_cmphex(cmos_in(RTC_DAY_OF_WEEK), ==, 6);   /* Friday */
    rtc_free(dev);
}

static void test_update_in_progress(void)
{
    DeviceState *dev;

    fake_now_us = leap_day_us(500000);
    dev = rtc_new(true);
    g_assert_cmphex(cmos_in(RTC_REG_A) & RTC_REG_A_UIP, ==, 0);
    fake_now_us = leap_day_us(999800);
    g_assert_cmphex(cmos_in(RTC_REG_A) & RTC_REG_A_UIP, ==, RTC_REG_A_UIP);
    g_assert_cmphex(cmos_in(RTC_SECONDS), ==, 0x56);
    fake_now_us = leap_day_us(1000000);
    g_assert_cmphex(cmos_in(RTC_REG_A) & RTC_REG_A_UIP, ==, 0);
    g_assert_cmphex(cmos_in(RTC_SECONDS), ==, 0x57);
    /* UIP is read-only. */
    cmos_out(RTC_REG_A, 0xa6);
    g_assert_cmphex(cmos_in(RTC_REG_A), ==, 0x26);
    rtc_free(dev);
}

static void test_set_time(void)
{
    DeviceState *dev;

    fake_now_us = leap_day_us(700000);
    dev = rtc_new(true);

    /* SET freezes the registers; the guest writes 1999-12-31 23:59:58. */
    cmos_out(RTC_REG_B, RTC_REG_B_SET | RTC_REG_B_24H);
    cmos_out(RTC_SECONDS, 0x58);
    cmos_out(RTC_MINUTES, 0x59);
    cmos_out(RTC_HOURS, 0x23);
    cmos_out(RTC_DAY_OF_MONTH, 0x31);
    cmos_out(RTC_MONTH, 0x12);
    cmos_out(RTC_YEAR, 0x99);
    cmos_out(RTC_CENTURY, 0x19);
    fake_now_us += 5 * USEC;   /* frozen while SET */
    g_assert_cmphex(cmos_in(RTC_SECONDS), ==, 0x58);
    g_assert_cmphex(cmos_in(RTC_REG_A) & RTC_REG_A_UIP, ==, 0);
    cmos_out(RTC_REG_B, RTC_REG_B_24H);
    g_assert_cmphex(cmos_in(RTC_SECONDS), ==, 0x58);
    g_assert_cmphex(cmos_in(RTC_DAY_OF_WEEK), ==, 6);   /* a Friday */

    /* The new second started when SET cleared: 2 s later it is 2000. */
    fake_now_us += 1999999;
    g_assert_cmphex(cmos_in(RTC_SECONDS), ==, 0x59);
    fake_now_us += 1;
    g_assert_cmphex(cmos_in(RTC_SECONDS), ==, 0x00);
    g_assert_cmphex(cmos_in(RTC_MINUTES), ==, 0x00);
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x00);
    g_assert_cmphex(cmos_in(RTC_DAY_OF_MONTH), ==, 0x01);
    g_assert_cmphex(cmos_in(RTC_MONTH), ==, 0x01);
    g_assert_cmphex(cmos_in(RTC_YEAR), ==, 0x00);
    g_assert_cmphex(cmos_in(RTC_CENTURY), ==, 0x20);

    /* Without SET a written field takes effect at once. */
    cmos_out(RTC_HOURS, 0x07);
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x07);
    g_assert_cmphex(cmos_in(RTC_YEAR), ==, 0x00);
    fake_now_us += 3600 * USEC;
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x08);

    /* Setting in binary, 12-hour mode: 11 PM. */
    cmos_out(RTC_REG_B, RTC_REG_B_SET | RTC_REG_B_DM);
    cmos_out(RTC_HOURS, 0x80 | 11);
    cmos_out(RTC_REG_B, RTC_REG_B_DM | RTC_REG_B_24H);
    g_assert_cmpuint(cmos_in(RTC_HOURS), ==, 23);

    /* Garbage values are clamped, never fatal. */
    cmos_out(RTC_REG_B, RTC_REG_B_SET | RTC_REG_B_24H);
    cmos_out(RTC_MONTH, 0xff);
    cmos_out(RTC_DAY_OF_MONTH, 0xee);
    cmos_out(RTC_HOURS, 0xff);
    cmos_out(RTC_CENTURY, 0x00);
    cmos_out(RTC_YEAR, 0x00);
    cmos_out(RTC_REG_B, RTC_REG_B_24H);
    g_assert_cmphex(cmos_in(RTC_MONTH), ==, 0x12);
    g_assert_cmphex(cmos_in(RTC_DAY_OF_MONTH), ==, 0x31);
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x23);
    rtc_free(dev);
}

static void test_periodic_interrupt(void)
{
    DeviceState *dev;

    fake_now_us = leap_day_us(0);
    dev = rtc_new(true);

    /* Without PIE: PF is set, the line stays low, no timer runs. */
    g_assert_false(mc146818_rtc_periodic_timer_armed(dev));
    mc146818_rtc_periodic_tick(dev);
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, RTC_REG_C_PF);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, 0x00);

    /* PIE at 1024 Hz: the timer is armed and a tick raises IRQ 8. */
    cmos_out(RTC_REG_B, RTC_REG_B_PIE | RTC_REG_B_24H);
    g_assert_true(mc146818_rtc_periodic_timer_armed(dev));
    mc146818_rtc_periodic_tick(dev);
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmpint(irq_raises, ==, 1);
    /* Reading C returns IRQF|PF, clears them and lowers the line. */
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, RTC_REG_C_IRQF | RTC_REG_C_PF);
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, 0x00);
    /* Each tick is a new edge. */
    mc146818_rtc_periodic_tick(dev);
    g_assert_cmpint(irq_raises, ==, 2);
    cmos_in(RTC_REG_C);

    /* Rate 0 stops the timer. */
    cmos_out(RTC_REG_A, 0x20);
    g_assert_false(mc146818_rtc_periodic_timer_armed(dev));
    cmos_out(RTC_REG_A, 0x2f);
    g_assert_true(mc146818_rtc_periodic_timer_armed(dev));

    /* Clearing PIE with PF pending drops the line. */
    mc146818_rtc_periodic_tick(dev);
    g_assert_cmpint(irq_level, ==, 1);
    cmos_out(RTC_REG_B, RTC_REG_B_24H);
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_false(mc146818_rtc_periodic_timer_armed(dev));
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, RTC_REG_C_PF);

    /* A machine reset clears the enables and the flags. */
    cmos_out(RTC_REG_B, RTC_REG_B_PIE | RTC_REG_B_24H);
    mc146818_rtc_periodic_tick(dev);
    g_assert_cmpint(irq_level, ==, 1);
    devices_reset_all();
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmphex(cmos_in(RTC_REG_B), ==, RTC_REG_B_24H);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, 0);
    g_assert_false(mc146818_rtc_periodic_timer_armed(dev));
    rtc_free(dev);
}

static void test_update_and_alarm_interrupts(void)
{
    DeviceState *dev;

    fake_now_us = leap_day_us(100000);   /* 13:45:56.1 */
    dev = rtc_new(true);

    /* Polling C without interrupts: UF after a second boundary. */
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, 0x00);
    fake_now_us += USEC;
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, RTC_REG_C_UF);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, 0x00);
    g_assert_cmpint(irq_level, ==, 0);

    /* UIE: the update timer raises IRQ 8 once the second passes. */
    cmos_out(RTC_REG_B, RTC_REG_B_UIE | RTC_REG_B_24H);
    mc146818_rtc_run_timers(dev);
    g_assert_cmpint(irq_level, ==, 0);
    fake_now_us += USEC;                 /* 13:45:58.1 */
    mc146818_rtc_run_timers(dev);
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, RTC_REG_C_IRQF | RTC_REG_C_UF);
    g_assert_cmpint(irq_level, ==, 0);

    /* Alarm at 13:46:00 (AIE only). */
    cmos_out(RTC_SECONDS_ALARM, 0x00);
    cmos_out(RTC_MINUTES_ALARM, 0x46);
    cmos_out(RTC_HOURS_ALARM, 0x13);
    cmos_out(RTC_REG_B, RTC_REG_B_AIE | RTC_REG_B_24H);
    fake_now_us += USEC;                 /* 13:45:59 */
    mc146818_rtc_run_timers(dev);
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, RTC_REG_C_UF);
    fake_now_us += USEC;                 /* 13:46:00 */
    mc146818_rtc_run_timers(dev);
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, RTC_REG_C_IRQF | RTC_REG_C_AF | RTC_REG_C_UF);
    fake_now_us += USEC;                 /* 13:46:01: no match */
    mc146818_rtc_run_timers(dev);
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, RTC_REG_C_UF);

    /* "Don't care" seconds: every second of 13:46 matches. */
    cmos_out(RTC_SECONDS_ALARM, 0xc0);
    fake_now_us += USEC;
    mc146818_rtc_run_timers(dev);
    g_assert_cmpint(irq_level, ==, 1);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, RTC_REG_C_IRQF | RTC_REG_C_AF | RTC_REG_C_UF);

    /* SET stops updates: no UF while frozen. */
    cmos_out(RTC_REG_B, RTC_REG_B_SET | RTC_REG_B_24H);
    fake_now_us += 3 * USEC;
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, 0);
    cmos_out(RTC_REG_B, RTC_REG_B_24H);
    rtc_free(dev);
}

static void test_cmos_ram(void)
{
    DeviceState *dev = rtc_new(true);
    uint64_t v;
    unsigned sum = 0;

    /* Plain RAM 0x0e-0x7f; bit 7 of the index is the NMI mask. */
    for (unsigned i = 0x0e; i < 0x80; i++) {
        if (i != RTC_CENTURY) {
            cmos_out(i, (uint8_t)(i ^ 0x5a));
        }
    }
    for (unsigned i = 0x0e; i < 0x80; i++) {
        if (i != RTC_CENTURY) {
            g_assert_cmphex(cmos_in(i), ==, (uint8_t)(i ^ 0x5a));
            g_assert_cmphex(cmos_in(i | 0x80), ==, (uint8_t)(i ^ 0x5a));
        }
    }
    /* The index port reads as nothing. */
    address_space_read_sized(&address_space_io, 0x70, &v, 1);
    g_assert_cmphex(v, ==, 0xff);
    /* C and D are read-only. */
    cmos_out(RTC_REG_D, 0x00);
    g_assert_cmphex(cmos_in(RTC_REG_D), ==, 0x80);
    cmos_out(RTC_REG_C, 0xff);
    g_assert_cmphex(cmos_in(RTC_REG_C), ==, 0x00);

    /* The PC fields for 3 GiB below 4 GiB, 2 GiB above, 4 CPUs. */
    mc146818_rtc_set_pc_config(dev, 3ull << 30, 2ull << 30, 4);
    g_assert_cmphex(cmos_in(0x10), ==, 0x00);
    g_assert_cmphex(cmos_in(0x14), ==, 0x02);
    g_assert_cmphex(cmos_in(0x15) | cmos_in(0x16) << 8, ==, 640);
    g_assert_cmphex(cmos_in(0x17) | cmos_in(0x18) << 8, ==, 0xffff);
    g_assert_cmphex(cmos_in(0x30) | cmos_in(0x31) << 8, ==, 0xffff);
    g_assert_cmphex(cmos_in(0x34) | cmos_in(0x35) << 8, ==, ((3ull << 30) - (16 << 20)) >> 16);
    g_assert_cmphex(cmos_in(0x5b) | cmos_in(0x5c) << 8 | cmos_in(0x5d) << 16, ==,
                    (2ull << 30) >> 16);
    g_assert_cmphex(cmos_in(0x5f), ==, 3);
    for (unsigned i = 0x10; i < 0x2e; i++) {
        sum += cmos_in(i);
    }
    g_assert_cmphex(cmos_in(0x2e) << 8 | cmos_in(0x2f), ==, sum & 0xffff);

    /* Small RAM: extended memory in KiB, nothing above 16 MiB or 4 GiB. */
    mc146818_rtc_set_pc_config(dev, 8 << 20, 0, 1);
    g_assert_cmphex(cmos_in(0x17) | cmos_in(0x18) << 8, ==, 7 * 1024);
    g_assert_cmphex(cmos_in(0x34) | cmos_in(0x35) << 8, ==, 0);
    g_assert_cmphex(cmos_in(0x5b) | cmos_in(0x5c) << 8 | cmos_in(0x5d) << 16, ==, 0);
    g_assert_cmphex(cmos_in(0x5f), ==, 0);

    mc146818_rtc_set_cmos(dev, 0x3d, 0x21);
    g_assert_cmphex(mc146818_rtc_get_cmos(dev, 0x3d), ==, 0x21);
    g_assert_cmphex(mc146818_rtc_get_cmos(dev, 0x200), ==, 0xff);
    rtc_free(dev);
}

static void test_rtc_option(void)
{
    GError *err = NULL;
    DeviceState *dev;
    static const char *const bad[] = {
        "base=bogus", "base=2006-13-01", "base=2006-02-30", "base=2006-06-17T25:00:00",
        "base=2006-06-17T16:01:21junk", "clock=wall", "driftfix=fast", "speed=1",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(rtc_parse_option(bad[i], &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    g_assert_true(rtc_parse_option("base=localtime,clock=vm,driftfix=slew", &err));
    g_assert_true(rtc_parse_option("base=utc,clock=rt,driftfix=none", &err));
    g_assert_true(rtc_parse_option("clock=host", &err));

    /* A fixed start time. */
    g_assert_true(rtc_parse_option("base=2006-06-17T16:01:21", &err));
    g_assert_no_error(err);
    fake_now_us = leap_day_us(0);
    dev = rtc_new(true);
    g_assert_cmphex(cmos_in(RTC_SECONDS), ==, 0x21);
    g_assert_cmphex(cmos_in(RTC_MINUTES), ==, 0x01);
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x16);
    g_assert_cmphex(cmos_in(RTC_DAY_OF_MONTH), ==, 0x17);
    g_assert_cmphex(cmos_in(RTC_MONTH), ==, 0x06);
    g_assert_cmphex(cmos_in(RTC_YEAR), ==, 0x06);
    fake_now_us += 10 * USEC;
    g_assert_cmphex(cmos_in(RTC_SECONDS), ==, 0x31);
    rtc_free(dev);

    g_assert_true(rtc_parse_option("base=2006-06-17", &err));
    dev = rtc_new(true);
    g_assert_cmphex(cmos_in(RTC_HOURS), ==, 0x00);
    g_assert_cmphex(cmos_in(RTC_DAY_OF_MONTH), ==, 0x17);
    rtc_free(dev);

    /* localtime: the host's UTC offset at start. */
    g_assert_true(rtc_parse_option("base=localtime", &err));
    dev = rtc_new(false);
    {
        int64_t before = g_get_real_time() / USEC;
        int64_t rtc = read_rtc_unix();
        int64_t after = g_get_real_time() / USEC;
        GDateTime *local = g_date_time_new_now_local();
        int64_t utc_offset = g_date_time_get_utc_offset(local) / G_TIME_SPAN_SECOND;
        g_date_time_unref(local);
        g_assert_cmpint(rtc - utc_offset, >=, before);
        g_assert_cmpint(rtc - utc_offset, <=, after);
    }
    rtc_free(dev);
    g_assert_true(rtc_parse_option("base=utc", &err));
}

static void test_hostile(void)
{
    DeviceState *dev = rtc_new(true);
    GRand *rand = g_rand_new_with_seed(0x146818);

    fake_now_us = leap_day_us(0);
    for (int i = 0; i < 20000; i++) {
        uint64_t v;
        uint16_t port = 0x70 + g_rand_int_range(rand, 0, 2);
        unsigned size = 1u << g_rand_int_range(rand, 0, 3);

        fake_now_us += g_rand_int_range(rand, 0, 300000);
        if (g_rand_boolean(rand)) {
            address_space_read_sized(&address_space_io, port, &v, size);
        } else {
            address_space_write_sized(&address_space_io, port, g_rand_int(rand), size);
        }
        if (i % 64 == 0) {
            mc146818_rtc_run_timers(dev);
            mc146818_rtc_periodic_tick(dev);
        }
    }
    g_rand_free(rand);
    /* Still a working clock afterwards. */
    cmos_out(RTC_REG_B, RTC_REG_B_24H);
    cmos_in(RTC_REG_C);
    g_assert_cmpint(irq_level, ==, 0);
    g_assert_cmphex(cmos_in(RTC_REG_D), ==, 0x80);
    rtc_free(dev);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    bql_lock();
    main_loop_init();
    memory_system_init();
    irq8 = irq_new(record_irq, NULL, 8);

    g_test_add_func("/rtc/host-time", test_host_time);
    g_test_add_func("/rtc/formats", test_formats);
    g_test_add_func("/rtc/update-in-progress", test_update_in_progress);
    g_test_add_func("/rtc/set-time", test_set_time);
    g_test_add_func("/rtc/periodic-interrupt", test_periodic_interrupt);
    g_test_add_func("/rtc/update-and-alarm", test_update_and_alarm_interrupts);
    g_test_add_func("/rtc/cmos-ram", test_cmos_ram);
    g_test_add_func("/rtc/option", test_rtc_option);
    g_test_add_func("/rtc/hostile", test_hostile);
    ret = g_test_run();

    irq_free(irq8);
    bql_unlock();
    return ret;
}
