/*
 * The 8259A pair through its I/O ports: initialisation words, priority,
 * the cascade, masks, EOI forms, auto-EOI, poll mode, rotation, spurious
 * IRQ 7, the ELCR (and its fixed edge-triggered bits), hostile values.
 */
#include "hw/intc/i8259.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"
#include "intc-test-helpers.h"

static DeviceState *pic;
static int intr_level;

static void record_intr(void *opaque, int n, int level)
{
    intr_level = level;
}

/* The usual PC set-up: vectors 0x20/0x28, slave on IRQ 2, 8086 mode. */
static void pic_setup(uint8_t icw4, uint8_t master_mask, uint8_t slave_mask)
{
    devices_reset_all();
    for (int i = 0; i < 16; i++) {
        i8259_set_irq(pic, i, 0);
    }
    pio_outb(0x20, 0x11); pio_outb(0xa0, 0x11);
    pio_outb(0x21, 0x20); pio_outb(0xa1, 0x28);
    pio_outb(0x21, 0x04); pio_outb(0xa1, 0x02);
    pio_outb(0x21, icw4); pio_outb(0xa1, icw4);
    pio_outb(0x21, master_mask); pio_outb(0xa1, slave_mask);
}

static void test_init_and_masks(void)
{
    pic_setup(0x01, 0xfe, 0xff);
    g_assert_cmphex(pio_inb(0x21), ==, 0xfe);
    g_assert_cmphex(pio_inb(0xa1), ==, 0xff);
    g_assert_cmpint(intr_level, ==, 0);
    i8259_set_irq(pic, 3, 1);                       /* masked */
    g_assert_cmpint(intr_level, ==, 0);
    g_assert_cmphex(pio_inb(0x20), ==, 0x08);           /* IRR shows it anyway */
    i8259_set_irq(pic, 0, 1);
    g_assert_cmpint(intr_level, ==, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x20);
    g_assert_cmpint(intr_level, ==, 0);
    pio_outb(0x20, 0x0b);                               /* OCW3: read ISR */
    g_assert_cmphex(pio_inb(0x20), ==, 0x01);
    pio_outb(0x20, 0x20);                               /* non-specific EOI */
    g_assert_cmphex(pio_inb(0x20), ==, 0x00);
    pio_outb(0x20, 0x0a);
    /* Edge-triggered: the still-high line does not request again. */
    g_assert_cmphex(pio_inb(0x20) & 1, ==, 0);
    g_assert_cmpint(intr_level, ==, 0);
    i8259_set_irq(pic, 0, 0);
    i8259_set_irq(pic, 0, 1);
    g_assert_cmpint(intr_level, ==, 1);
}

static void test_priority_and_nesting(void)
{
    pic_setup(0x01, 0x00, 0xff);
    i8259_set_irq(pic, 5, 1);
    i8259_set_irq(pic, 1, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x21);      /* IRQ 1 beats IRQ 5 */
    /* IRQ 5 is blocked while IRQ 1 is in service; IRQ 0 is not. */
    g_assert_cmpint(intr_level, ==, 0);
    i8259_set_irq(pic, 0, 1);
    g_assert_cmpint(intr_level, ==, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x20);
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x03);
    pio_outb(0x20, 0x20);                               /* ends IRQ 0 (highest) */
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x02);
    pio_outb(0x20, 0x61);                               /* specific EOI for IRQ 1 */
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x00);
    g_assert_cmpint(intr_level, ==, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x25);
}

static void test_cascade(void)
{
    pic_setup(0x01, 0xfb, 0xfe);                    /* IRQ 2 and IRQ 8 open */
    i8259_set_irq(pic, 8, 1);
    g_assert_cmpint(intr_level, ==, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x28);
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x04);
    g_assert_cmphex(i8259_get_isr(pic, 1), ==, 0x01);
    pio_outb(0xa0, 0x20);
    pio_outb(0x20, 0x20);
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x00);
    g_assert_cmphex(i8259_get_isr(pic, 1), ==, 0x00);
    /* IRQ 2 itself is the cascade: setting it does nothing. */
    i8259_set_irq(pic, 8, 0);
    i8259_set_irq(pic, 2, 1);
    g_assert_cmpint(intr_level, ==, 0);
    /* Out-of-range lines are ignored. */
    i8259_set_irq(pic, 16, 1);
    i8259_set_irq(pic, -1, 1);
    g_assert_cmpint(intr_level, ==, 0);
}

static void test_spurious(void)
{
    pic_setup(0x01, 0x00, 0x00);
    pio_outb(0x4d0, 0x08);                              /* IRQ 3 level-triggered */
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(intr_level, ==, 1);
    i8259_set_irq(pic, 3, 0);                       /* gone before INTA */
    g_assert_cmpint(intr_level, ==, 0);
    g_assert_cmpint(i8259_ack(pic), ==, 0x27);
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x00);
    pio_outb(0x4d0, 0x00);
}

static void test_elcr_and_level(void)
{
    pic_setup(0x01, 0x00, 0x00);
    pio_outb(0x4d0, 0xff);
    pio_outb(0x4d1, 0xff);
    g_assert_cmphex(pio_inb(0x4d0), ==, 0xf8);          /* IRQ 0-2 always edge */
    g_assert_cmphex(pio_inb(0x4d1), ==, 0xde);          /* IRQ 8 and 13 always edge */
    i8259_set_irq(pic, 9, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x29);
    pio_outb(0xa0, 0x20);
    pio_outb(0x20, 0x20);
    /* Still asserted: a level input requests again after the EOI. */
    g_assert_cmpint(intr_level, ==, 1);
    i8259_set_irq(pic, 9, 0);
    g_assert_cmpint(intr_level, ==, 0);
    pio_outb(0x4d0, 0);
    pio_outb(0x4d1, 0);
}

static void test_auto_eoi_poll_rotate(void)
{
    pic_setup(0x03, 0x00, 0xff);                    /* auto-EOI */
    i8259_set_irq(pic, 4, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x24);
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x00);

    pic_setup(0x01, 0x00, 0xff);
    i8259_set_irq(pic, 6, 1);
    pio_outb(0x20, 0x0c);                               /* poll */
    g_assert_cmphex(pio_inb(0x20), ==, 0x86);
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x40);
    pio_outb(0x20, 0x0c);
    g_assert_cmphex(pio_inb(0x20), ==, 0x00);           /* nothing pending */
    pio_outb(0x20, 0xe6);                               /* rotate on specific EOI (6) */
    /* IRQ 7 now has the highest priority, IRQ 6 the lowest. */
    i8259_set_irq(pic, 0, 1);
    i8259_set_irq(pic, 7, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x27);
    pio_outb(0x20, 0xc7);                               /* set priority: IRQ 0 highest */
    pio_outb(0x20, 0x67);                               /* specific EOI 7 */
    g_assert_cmpint(i8259_ack(pic), ==, 0x20);
}

/* Poll mode with the cascade: polling the master reports level 2 and only
 * the master takes it in service; the guest then polls the slave, which
 * reports (and takes in service) its own request. */
static void test_poll_cascade(void)
{
    pic_setup(0x01, 0x00, 0x00);
    i8259_set_irq(pic, 11, 1);
    pio_outb(0x20, 0x0c);                               /* poll the master */
    g_assert_cmphex(pio_inb(0x20), ==, 0x82);
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x04);
    g_assert_cmphex(i8259_get_isr(pic, 1), ==, 0x00);
    pio_outb(0xa0, 0x0c);                               /* poll the slave */
    g_assert_cmphex(pio_inb(0xa0), ==, 0x83);
    g_assert_cmphex(i8259_get_isr(pic, 1), ==, 0x08);
    pio_outb(0xa0, 0x20);
    pio_outb(0x20, 0x20);
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x00);
    g_assert_cmphex(i8259_get_isr(pic, 1), ==, 0x00);
    /* Edge input already taken: nothing more to poll on either chip. */
    pio_outb(0xa0, 0x0c);
    g_assert_cmphex(pio_inb(0xa0), ==, 0x00);
    pio_outb(0x20, 0x0c);
    g_assert_cmphex(pio_inb(0x20), ==, 0x00);
}

/* Special mask mode: masking the level in service lets lower-priority
 * requests through; leaving the mode blocks them again. */
static void test_special_mask(void)
{
    pic_setup(0x01, 0x00, 0xff);
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(i8259_ack(pic), ==, 0x23);
    i8259_set_irq(pic, 5, 1);
    g_assert_cmpint(intr_level, ==, 0);             /* IRQ 3 in service blocks 5 */
    pio_outb(0x21, 0x08);                               /* mask IRQ 3 */
    g_assert_cmpint(intr_level, ==, 0);             /* a mask alone does not help */
    pio_outb(0x20, 0x68);                               /* OCW3: set special mask */
    g_assert_cmpint(intr_level, ==, 1);
    pio_outb(0x20, 0x48);                               /* OCW3: reset special mask */
    g_assert_cmpint(intr_level, ==, 0);
    pio_outb(0x20, 0x68);
    g_assert_cmpint(i8259_ack(pic), ==, 0x25);
    g_assert_cmphex(i8259_get_isr(pic, 0), ==, 0x28);
}

static void test_hostile(void)
{
    pic_setup(0x01, 0x00, 0x00);
    /* Random writes to every port of both chips and the ELCR never crash
     * and never leave the chips in an inconsistent state. */
    guint32 seed = 12345;
    for (int i = 0; i < 5000; i++) {
        static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
        seed = seed * 1103515245 + 12345;
        uint16_t port = ports[(seed >> 16) % G_N_ELEMENTS(ports)];
        seed = seed * 1103515245 + 12345;
        if (seed & 0x100) {
            pio_outb(port, (uint8_t)(seed >> 20));
        } else {
            (void)pio_inb(port);
        }
        i8259_set_irq(pic, (seed >> 8) & 15, (seed >> 12) & 1);
        if (intr_level) {
            int v = i8259_ack(pic);
            g_assert_cmpint(v, >=, 0);
            g_assert_cmpint(v, <=, 255);
        }
    }
}

int main(int argc, char **argv)
{
    GError *err = NULL;

    intc_test_init(&argc, &argv, false);
    pic = i8259_create(irq_new(record_intr, NULL, 0), &err);
    g_assert_no_error(err);
    g_test_add_func("/i8259/init-and-masks", test_init_and_masks);
    g_test_add_func("/i8259/priority-and-nesting", test_priority_and_nesting);
    g_test_add_func("/i8259/cascade", test_cascade);
    g_test_add_func("/i8259/spurious", test_spurious);
    g_test_add_func("/i8259/elcr-and-level", test_elcr_and_level);
    g_test_add_func("/i8259/auto-eoi-poll-rotate", test_auto_eoi_poll_rotate);
    g_test_add_func("/i8259/poll-cascade", test_poll_cascade);
    g_test_add_func("/i8259/special-mask", test_special_mask);
    g_test_add_func("/i8259/hostile", test_hostile);
    return intc_test_run();
}
