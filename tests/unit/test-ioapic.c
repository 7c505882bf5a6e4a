/*
 * The IOAPIC through its MMIO window: version and ID registers, the
 * redirection table (read-only bits, masks), edge and level pins with
 * Remote IRR and EOI broadcast, and hostile register indexes.
 */
#include "hw/intc/ioapic.h"
#include "hw/intc/apic.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"
#include "intc-test-helpers.h"

static DeviceState *ioapic;
static APICMessage msgs[64];
static unsigned nr_msgs;
static bool accept_msgs = true;     /* what the "local APICs" answer */

static bool record(void *opaque, const APICMessage *msg)
{
    g_assert_cmpuint(nr_msgs, <, G_N_ELEMENTS(msgs));
    msgs[nr_msgs++] = *msg;
    return accept_msgs;
}

static void reg_write(uint8_t reg, uint32_t v)
{
    mmio_write32(IOAPIC_DEFAULT_BASE, reg);
    mmio_write32(IOAPIC_DEFAULT_BASE + 0x10, v);
}

static uint32_t reg_read(uint8_t reg)
{
    mmio_write32(IOAPIC_DEFAULT_BASE, reg);
    return mmio_read32(IOAPIC_DEFAULT_BASE + 0x10);
}

static void setup(void)
{
    devices_reset_all();
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        ioapic_set_irq(ioapic, pin, 0);
    }
    nr_msgs = 0;
    accept_msgs = true;
}

static void test_identification(void)
{
    setup();
    g_assert_cmphex(reg_read(0x01), ==, 0x00170011);
    g_assert_cmphex(reg_read(0x00), ==, 0);
    reg_write(0x00, 0x0a000000);
    g_assert_cmphex(reg_read(0x00), ==, 0x0a000000);
    g_assert_cmphex(reg_read(0x02), ==, 0x0a000000);
    reg_write(0x01, 0);                              /* read-only */
    g_assert_cmphex(reg_read(0x01), ==, 0x00170011);
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        g_assert_cmphex(reg_read(0x10 + 2 * pin), ==, 0x00010000);   /* masked */
    }
}

static void test_edge(void)
{
    setup();
    reg_write(0x10 + 2 * 5 + 1, 0x03000000);
    reg_write(0x10 + 2 * 5, 0x00000835);            /* logical, fixed, vector 0x35 */
    ioapic_set_irq(ioapic, 5, 1);
    g_assert_cmpuint(nr_msgs, ==, 1);
    g_assert_cmpuint(msgs[0].vector, ==, 0x35);
    g_assert_true(msgs[0].logical);
    g_assert_false(msgs[0].level);
    g_assert_cmpuint(msgs[0].dest, ==, 3);
    g_assert_cmpuint(msgs[0].delivery_mode, ==, APIC_DM_FIXED);
    ioapic_set_irq(ioapic, 5, 1);                   /* no new edge */
    g_assert_cmpuint(nr_msgs, ==, 1);
    ioapic_set_irq(ioapic, 5, 0);
    ioapic_set_irq(ioapic, 5, 1);
    g_assert_cmpuint(nr_msgs, ==, 2);
    /* An edge on a masked pin is lost, unmasking does not replay it. */
    ioapic_set_irq(ioapic, 5, 0);
    reg_write(0x10 + 2 * 5, 0x00010835);
    ioapic_set_irq(ioapic, 5, 1);
    reg_write(0x10 + 2 * 5, 0x00000835);
    g_assert_cmpuint(nr_msgs, ==, 2);
}

static void test_level_remote_irr(void)
{
    setup();
    reg_write(0x10 + 2 * 10, 0x0000a13a);           /* level, low active, lowest prio */
    ioapic_set_irq(ioapic, 10, 1);
    g_assert_cmpuint(nr_msgs, ==, 1);
    g_assert_true(msgs[0].level);
    g_assert_cmpuint(msgs[0].delivery_mode, ==, APIC_DM_LOWEST);
    g_assert_cmphex(reg_read(0x10 + 2 * 10) & (1u << 14), ==, 1u << 14);
    /* Remote IRR holds further deliveries back. */
    ioapic_set_irq(ioapic, 10, 1);
    g_assert_cmpuint(nr_msgs, ==, 1);
    /* EOI of another vector changes nothing. */
    ioapic_eoi_broadcast(ioapic, 0x3b);
    g_assert_cmpuint(nr_msgs, ==, 1);
    /* EOI while the line is still asserted: delivered again. */
    ioapic_eoi_broadcast(ioapic, 0x3a);
    g_assert_cmpuint(nr_msgs, ==, 2);
    ioapic_set_irq(ioapic, 10, 0);
    ioapic_eoi_broadcast(ioapic, 0x3a);
    g_assert_cmpuint(nr_msgs, ==, 2);
    g_assert_cmphex(reg_read(0x10 + 2 * 10) & (1u << 14), ==, 0);
    /* The guest cannot set Remote IRR or delivery status itself. */
    reg_write(0x10 + 2 * 10, 0x0001f13a);
    g_assert_cmphex(reg_read(0x10 + 2 * 10), ==, 0x0001a13a);
    /* Unmasking a level pin that is asserted delivers it. */
    ioapic_set_irq(ioapic, 10, 1);
    g_assert_cmpuint(nr_msgs, ==, 2);
    reg_write(0x10 + 2 * 10, 0x0000a13a);
    g_assert_cmpuint(nr_msgs, ==, 3);
}

/* A level message no local APIC accepted (absent destination, APIC
 * software-disabled) leaves Remote IRR clear: the pin is not stuck, and the
 * next service sends it again. */
static void test_level_not_accepted(void)
{
    setup();
    accept_msgs = false;
    reg_write(0x10 + 2 * 11, 0x00008041);           /* level, fixed, vector 0x41 */
    ioapic_set_irq(ioapic, 11, 1);
    g_assert_cmpuint(nr_msgs, ==, 1);
    g_assert_cmphex(reg_read(0x10 + 2 * 11) & (1u << 14), ==, 0);
    accept_msgs = true;
    ioapic_set_irq(ioapic, 11, 1);                  /* any service retries */
    g_assert_cmpuint(nr_msgs, ==, 2);
    g_assert_cmphex(reg_read(0x10 + 2 * 11) & (1u << 14), ==, 1u << 14);
    ioapic_set_irq(ioapic, 11, 1);
    g_assert_cmpuint(nr_msgs, ==, 2);               /* now held by Remote IRR */
    ioapic_set_irq(ioapic, 11, 0);
    ioapic_eoi_broadcast(ioapic, 0x41);
    g_assert_cmphex(reg_read(0x10 + 2 * 11) & (1u << 14), ==, 0);
}

static void test_hostile(void)
{
    setup();
    /* Reserved register indexes read as all ones, writes are dropped. */
    g_assert_cmphex(reg_read(0x03), ==, 0xffffffff);
    g_assert_cmphex(reg_read(0x10 + 2 * IOAPIC_NUM_PINS), ==, 0xffffffff);
    g_assert_cmphex(reg_read(0xff), ==, 0xffffffff);
    reg_write(0xff, 0x12345678);
    reg_write(0x40, 0x12345678);
    /* Offsets other than the index and window registers. */
    g_assert_cmphex(mmio_read32(IOAPIC_DEFAULT_BASE + 0x40), ==, 0);
    mmio_write32(IOAPIC_DEFAULT_BASE + 0x20, 0xffffffff);
    mmio_write32(IOAPIC_DEFAULT_BASE + 0xffc, 0xffffffff);
    /* Reserved bits of an entry are not kept. */
    reg_write(0x10, 0xffffffff);
    reg_write(0x11, 0xffffffff);
    g_assert_cmphex(reg_read(0x10), ==, 0x0001afff);
    g_assert_cmphex(reg_read(0x11), ==, 0xff000000);
    /* Pins that do not exist. */
    ioapic_set_irq(ioapic, 24, 1);
    ioapic_set_irq(ioapic, -1, 1);
    g_assert_cmpuint(nr_msgs, ==, 0);
}

int main(int argc, char **argv)
{
    GError *err = NULL;

    intc_test_init(&argc, &argv, false);
    ioapic = ioapic_create(IOAPIC_DEFAULT_BASE, record, NULL, &err);
    g_assert_no_error(err);
    g_test_add_func("/ioapic/identification", test_identification);
    g_test_add_func("/ioapic/edge", test_edge);
    g_test_add_func("/ioapic/level-remote-irr", test_level_remote_irr);
    g_test_add_func("/ioapic/level-not-accepted", test_level_not_accepted);
    g_test_add_func("/ioapic/hostile", test_hostile);
    return intc_test_run();
}
