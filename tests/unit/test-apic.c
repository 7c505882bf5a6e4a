/*
 * Local APICs of two vCPUs (no threads): register reset values, priorities
 * (TPR, PPR, ISR nesting), EOI and the level-triggered EOI broadcast, ESR
 * for illegal vectors and reserved registers, IPIs (physical, logical flat
 * and cluster, shorthands, lowest priority, absent IDs), INIT and SIPI, NMI,
 * the PIC's ExtINT on LINT0, MSI writes, and the timer on a manual clock.
 */
#include "hw/intc/apic.h"
#include "hw/intc/i8259.h"
#include "hw/timer/guest-timer.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"
#include "intc-test-helpers.h"

static DeviceState *apic[2];
static DeviceState *pic;
static int eoi_vectors[16];
static unsigned nr_eois;

static void record_eoi(void *opaque, uint8_t vector)
{
    g_assert_cmpuint(nr_eois, <, G_N_ELEMENTS(eoi_vectors));
    eoi_vectors[nr_eois++] = vector;
}

static unsigned req(int cpu)
{
    return (unsigned)g_atomic_int_get(&cpus[cpu]->interrupt_request);
}

static void setup(void)
{
    devices_reset_all();
    for (int i = 0; i < 2; i++) {
        x86_cpu_reset(&cpus[i]->env);
        g_atomic_int_set(&cpus[i]->interrupt_request, 0);
    }
    devices_reset_all();
    for (int i = 0; i < 16; i++) {
        i8259_set_irq(pic, i, 0);
    }
    nr_eois = 0;
}

static void enable(int cpu)
{
    apic_reg_write(apic[cpu], APIC_REG_SVR, 0x1ff);
}

static void send(int cpu, uint8_t dest, uint32_t icr_lo)
{
    apic_reg_write(apic[cpu], APIC_REG_ICR_HI, (uint32_t)dest << 24);
    apic_reg_write(apic[cpu], APIC_REG_ICR_LO, icr_lo);
}

static uint32_t esr(int cpu)
{
    apic_reg_write(apic[cpu], APIC_REG_ESR, 0);
    return apic_reg_read(apic[cpu], APIC_REG_ESR);
}

static bool irr_has(int cpu, unsigned v)
{
    return apic_reg_read(apic[cpu], APIC_REG_IRR + 0x10 * (v / 32)) & (1u << (v % 32));
}

static void test_reset_values(void)
{
    setup();
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_ID), ==, 0);
    g_assert_cmphex(apic_reg_read(apic[1], APIC_REG_ID), ==, 1u << 24);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_VERSION), ==, 0x00050014);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_SVR), ==, 0xff);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_DFR), ==, 0xffffffff);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_LVT_TIMER), ==, 0x10000);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_LVT_LINT0), ==, 0x700);   /* BSP */
    g_assert_cmphex(apic_reg_read(apic[1], APIC_REG_LVT_LINT0), ==, 0x10000);
    g_assert_false(apic_waiting_for_sipi(apic[0]));
    g_assert_true(apic_waiting_for_sipi(apic[1]));
    /* LVT entries stay masked while the APIC is software-disabled. */
    apic_reg_write(apic[0], APIC_REG_LVT_ERROR, 0x33);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_LVT_ERROR), ==, 0x10033);
    enable(0);
    apic_reg_write(apic[0], APIC_REG_LVT_ERROR, 0xffffffff);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_LVT_ERROR), ==, 0x100ff);
}

static void test_priorities(void)
{
    DeviceState *a = apic[1];
    APICMessage m = { .vector = 0x50, .dest = 1 };

    setup();
    apic_bus_deliver(NULL, &m);                     /* software-disabled: dropped */
    g_assert_false(irr_has(1, 0x50));
    enable(1);
    apic_bus_deliver(NULL, &m);
    g_assert_true(irr_has(1, 0x50));
    g_assert_cmphex(req(1) & CPU_INTERRUPT_HARD, ==, CPU_INTERRUPT_HARD);
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[1]), ==, 0x50);
    g_assert_cmphex(apic_reg_read(a, APIC_REG_PPR), ==, 0x50);
    g_assert_cmphex(req(1) & CPU_INTERRUPT_HARD, ==, 0);
    /* Same priority class: waits for the EOI. A higher class nests. */
    m.vector = 0x55;
    apic_bus_deliver(NULL, &m);
    g_assert_cmphex(req(1) & CPU_INTERRUPT_HARD, ==, 0);
    m.vector = 0x61;
    apic_bus_deliver(NULL, &m);
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[1]), ==, 0x61);
    apic_reg_write(a, APIC_REG_EOI, 0);             /* ends 0x61 */
    apic_reg_write(a, APIC_REG_EOI, 0);             /* ends 0x50 */
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[1]), ==, 0x55);
    apic_reg_write(a, APIC_REG_EOI, 0);
    g_assert_cmphex(apic_reg_read(a, APIC_REG_PPR), ==, 0);
    /* TPR holds classes at or below it back; CR8 is the same register. */
    apic_reg_write(a, APIC_REG_TPR, 0x60);
    g_assert_cmpuint(cpus[1]->env.cr8, ==, 6);
    m.vector = 0x65;
    apic_bus_deliver(NULL, &m);
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[1]), ==, -1);
    cpus[1]->env.cr8 = 5;
    g_assert_cmphex(apic_reg_read(a, APIC_REG_TPR), ==, 0x50);
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[1]), ==, 0x65);
    apic_reg_write(a, APIC_REG_EOI, 0);
    /* EOI with nothing in service is harmless. */
    apic_reg_write(a, APIC_REG_EOI, 0);
}

static void test_level_eoi_broadcast(void)
{
    APICMessage m = { .vector = 0x70, .dest = 0, .level = true };

    setup();
    /* Software-disabled, absent or illegal: the message is not accepted
     * (the IOAPIC then leaves Remote IRR clear). */
    g_assert_false(apic_bus_deliver(NULL, &m));
    enable(0);
    m.dest = 9;
    g_assert_false(apic_bus_deliver(NULL, &m));
    m.dest = 0;
    m.vector = 7;
    g_assert_false(apic_bus_deliver(NULL, &m));
    (void)esr(0);
    m.vector = 0x70;
    g_assert_true(apic_bus_deliver(NULL, &m));
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[0]), ==, 0x70);
    apic_reg_write(apic[0], APIC_REG_EOI, 0);
    nr_eois = 0;
    apic_bus_deliver(NULL, &m);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_TMR + 0x30), ==, 1u << 16);
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[0]), ==, 0x70);
    apic_reg_write(apic[0], APIC_REG_EOI, 0);
    g_assert_cmpuint(nr_eois, ==, 1);
    g_assert_cmpint(eoi_vectors[0], ==, 0x70);
    m.level = false;
    apic_bus_deliver(NULL, &m);
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[0]), ==, 0x70);
    apic_reg_write(apic[0], APIC_REG_EOI, 0);
    g_assert_cmpuint(nr_eois, ==, 1);               /* edge: no broadcast */
}

static void test_errors(void)
{
    APICMessage m = { .vector = 5, .dest = 0 };

    setup();
    enable(0);
    apic_bus_deliver(NULL, &m);
    g_assert_cmphex(esr(0), ==, APIC_ESR_RECV_ILLEGAL_VECTOR);
    g_assert_cmphex(esr(0), ==, 0);                 /* latched once */
    send(0, 1, 0x0000000f);                         /* fixed IPI, vector 15 */
    g_assert_cmphex(esr(0), ==, APIC_ESR_SEND_ILLEGAL_VECTOR);
    g_assert_cmphex(apic_reg_read(apic[0], 0x2f0), ==, 0);    /* reserved */
    apic_reg_write(apic[0], 0x400, 1);
    g_assert_cmphex(esr(0), ==, APIC_ESR_ILLEGAL_REGISTER);
    /* With the error LVT unmasked, an error raises its vector. */
    apic_reg_write(apic[0], APIC_REG_LVT_ERROR, 0xfe);
    apic_bus_deliver(NULL, &m);
    g_assert_true(irr_has(0, 0xfe));
    /* Read-only registers ignore writes; unaligned offsets are ignored. */
    apic_reg_write(apic[0], APIC_REG_VERSION, 0);
    apic_reg_write(apic[0], APIC_REG_IRR, 0);
    apic_reg_write(apic[0], APIC_REG_ID + 4, 0xffffffff);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_VERSION), ==, 0x00050014);
    g_assert_true(irr_has(0, 0xfe));
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_ID + 4), ==, 0);
}

static void test_ipis(void)
{
    setup();
    enable(0);
    enable(1);
    send(0, 1, 0x4041);                             /* physical, fixed */
    g_assert_true(irr_has(1, 0x41));
    g_assert_false(irr_has(0, 0x41));
    send(0, 7, 0x4042);                             /* absent APIC ID */
    g_assert_false(irr_has(0, 0x42) || irr_has(1, 0x42));
    send(0, 0, 0x44043);                            /* self */
    g_assert_true(irr_has(0, 0x43));
    g_assert_false(irr_has(1, 0x43));
    send(0, 0, 0xc4044);                            /* all excluding self */
    g_assert_true(irr_has(1, 0x44));
    g_assert_false(irr_has(0, 0x44));
    send(0, 0, 0x84045);                            /* all including self */
    g_assert_true(irr_has(0, 0x45) && irr_has(1, 0x45));
    send(0, 0xff, 0x4046);                          /* physical broadcast */
    g_assert_true(irr_has(0, 0x46) && irr_has(1, 0x46));
    /* Logical flat. */
    apic_reg_write(apic[0], APIC_REG_LDR, 0x01000000);
    apic_reg_write(apic[1], APIC_REG_LDR, 0x02000000);
    send(0, 0x02, 0x4847);
    g_assert_true(irr_has(1, 0x47));
    g_assert_false(irr_has(0, 0x47));
    /* Logical cluster: cluster 1 member bit 0. */
    apic_reg_write(apic[0], APIC_REG_DFR, 0x0fffffff);
    apic_reg_write(apic[1], APIC_REG_DFR, 0x0fffffff);
    g_assert_cmphex(apic_reg_read(apic[1], APIC_REG_DFR), ==, 0x0fffffff);
    apic_reg_write(apic[1], APIC_REG_LDR, 0x11000000);
    send(0, 0x11, 0x4848);
    g_assert_true(irr_has(1, 0x48));
    send(0, 0x21, 0x4849);
    g_assert_false(irr_has(1, 0x49));
    /* Lowest priority: exactly one of the two, the one with the lower TPR. */
    apic_reg_write(apic[0], APIC_REG_DFR, 0xffffffff);
    apic_reg_write(apic[1], APIC_REG_DFR, 0xffffffff);
    apic_reg_write(apic[0], APIC_REG_LDR, 0x01000000);
    apic_reg_write(apic[1], APIC_REG_LDR, 0x02000000);
    apic_reg_write(apic[0], APIC_REG_TPR, 0x20);
    send(0, 0x03, 0x494a);
    g_assert_true(irr_has(1, 0x4a));
    g_assert_false(irr_has(0, 0x4a));
    /* ICR reads back without the delivery-status bit (sent at once). */
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_ICR_LO) & (1u << 12), ==, 0);
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_ICR_HI), ==, 0x03000000);
}

static void test_init_sipi_nmi(void)
{
    CPUX86State *env = &cpus[1]->env;

    setup();
    enable(0);
    /* The AP waits for SIPI from reset; an early SIPI starts it too. */
    env->halted = true;
    send(0, 1, 0x4500);                             /* INIT */
    g_assert_cmphex(req(1) & CPU_INTERRUPT_INIT, ==, CPU_INTERRUPT_INIT);
    env->rip = 0x1234;
    apic_cpu_handle_init_sipi(NULL, cpus[1]);
    g_assert_cmphex(req(1) & CPU_INTERRUPT_INIT, ==, 0);
    g_assert_true(env->halted);
    g_assert_cmphex(env->rip, ==, 0xfff0);
    g_assert_true(apic_waiting_for_sipi(apic[1]));
    send(0, 1, 0x8500);                             /* INIT de-assert: no-op */
    g_assert_cmphex(req(1) & CPU_INTERRUPT_INIT, ==, 0);
    /* NMI and fixed interrupts do not wake a CPU waiting for SIPI. */
    send(0, 1, 0x4400);
    g_assert_cmphex(req(1) & CPU_INTERRUPT_NMI, ==, 0);
    send(0, 1, 0x4612);                             /* SIPI vector 0x12 */
    g_assert_cmphex(req(1) & CPU_INTERRUPT_SIPI, ==, CPU_INTERRUPT_SIPI);
    apic_cpu_handle_init_sipi(NULL, cpus[1]);
    g_assert_false(env->halted);
    g_assert_cmphex(env->segs[R_CS].selector, ==, 0x1200);
    g_assert_cmphex(env->segs[R_CS].base, ==, 0x12000);
    g_assert_cmphex(env->rip, ==, 0);
    g_assert_false(apic_waiting_for_sipi(apic[1]));
    /* A second SIPI to a running CPU is ignored. */
    send(0, 1, 0x4634);
    g_assert_cmphex(req(1) & CPU_INTERRUPT_SIPI, ==, 0);
    send(0, 1, 0x4400);                             /* NMI */
    g_assert_cmphex(req(1) & CPU_INTERRUPT_NMI, ==, CPU_INTERRUPT_NMI);
    /* INIT keeps the APIC ID and the APIC base. */
    apic_reg_write(apic[1], APIC_REG_ID, 0x05000000);
    send(0, 5, 0x4500);
    apic_cpu_handle_init_sipi(NULL, cpus[1]);
    g_assert_cmphex(apic_reg_read(apic[1], APIC_REG_ID), ==, 0x05000000);
    g_assert_cmphex(env->apic_base, ==, 0xfee00800);
    g_assert_cmphex(apic_reg_read(apic[1], APIC_REG_SVR), ==, 0xff);
}

/* A machine reset returns every APIC and its CPU's interrupt lines to the
 * power-on state: nothing pending (not even an NMI, which would wake an AP
 * waiting for SIPI), timers stopped, APs waiting for SIPI. */
static void test_reset_clears_pending(void)
{
    CPUX86State *env = &cpus[1]->env;

    setup();
    enable(0);
    send(0, 1, 0x4500);                             /* INIT, SIPI: start CPU 1 */
    send(0, 1, 0x4610);
    apic_cpu_handle_init_sipi(NULL, cpus[1]);
    g_assert_false(apic_waiting_for_sipi(apic[1]));
    enable(1);
    send(0, 1, 0x4400);                             /* NMI */
    send(0, 1, 0x4055);                             /* fixed 0x55 */
    g_assert_cmphex(req(1) & (CPU_INTERRUPT_NMI | CPU_INTERRUPT_HARD), ==,
                    CPU_INTERRUPT_NMI | CPU_INTERRUPT_HARD);
    apic_reg_write(apic[1], APIC_REG_TIMER_DIV, 0xb);
    apic_reg_write(apic[1], APIC_REG_LVT_TIMER, 0x20056);
    apic_reg_write(apic[1], APIC_REG_TIMER_INIT, 100000);

    devices_reset_all();
    env->halted = true;                             /* as pc_boot_cpus leaves an AP */
    g_assert_cmphex(req(1), ==, 0);
    g_assert_false(x86_cpu_has_work(env, req(1)));
    g_assert_true(apic_waiting_for_sipi(apic[1]));
    g_assert_false(irr_has(1, 0x55));
    g_assert_cmphex(apic_reg_read(apic[1], APIC_REG_SVR), ==, 0xff);
    g_assert_cmphex(apic_reg_read(apic[1], APIC_REG_LVT_TIMER), ==, 0x10000);
    g_assert_cmphex(apic_reg_read(apic[1], APIC_REG_TIMER_INIT), ==, 0);
    guest_clock_advance(1000000);
    g_assert_cmphex(apic_reg_read(apic[1], APIC_REG_IRR + 0x20), ==, 0);
    g_assert_cmphex(req(1), ==, 0);
}

/* Software-disabling the APIC (SVR bit 8) masks every LVT entry, and
 * re-enabling it leaves them masked. */
static void test_svr_disable_masks_lvts(void)
{
    static const unsigned lvts[] = { APIC_REG_LVT_TIMER, APIC_REG_LVT_THERMAL,
                                     APIC_REG_LVT_PERF, APIC_REG_LVT_LINT0,
                                     APIC_REG_LVT_LINT1, APIC_REG_LVT_ERROR };

    setup();
    enable(0);
    for (unsigned k = 0; k < G_N_ELEMENTS(lvts); k++) {
        apic_reg_write(apic[0], lvts[k], 0x40 + k);
        g_assert_cmphex(apic_reg_read(apic[0], lvts[k]), ==, 0x40 + k);
    }
    apic_reg_write(apic[0], APIC_REG_SVR, 0xff);
    enable(0);
    for (unsigned k = 0; k < G_N_ELEMENTS(lvts); k++) {
        g_assert_cmphex(apic_reg_read(apic[0], lvts[k]), ==, APIC_LVT_MASKED | (0x40 + k));
    }
    /* The masked timer counts but does not interrupt. */
    apic_reg_write(apic[0], APIC_REG_TIMER_DIV, 0xb);
    apic_reg_write(apic[0], APIC_REG_TIMER_INIT, 1000);
    guest_clock_advance(2000);
    g_assert_false(irr_has(0, 0x40));
}

/* Changing the divide configuration while the timer runs keeps the current
 * count and goes on at the new rate. */
static void test_timer_divide_change(void)
{
    DeviceState *a = apic[0];

    setup();
    enable(0);
    apic_reg_write(a, APIC_REG_TIMER_DIV, 0xb);    /* divide by 1 */
    apic_reg_write(a, APIC_REG_LVT_TIMER, 0x57);
    apic_reg_write(a, APIC_REG_TIMER_INIT, 10000);
    guest_clock_advance(4000);
    g_assert_cmpuint(apic_reg_read(a, APIC_REG_TIMER_CUR), ==, 6000);
    apic_reg_write(a, APIC_REG_TIMER_DIV, 0x3);    /* divide by 16 */
    g_assert_cmpuint(apic_reg_read(a, APIC_REG_TIMER_CUR), ==, 6000);
    guest_clock_advance(16 * 1000);
    g_assert_cmpuint(apic_reg_read(a, APIC_REG_TIMER_CUR), ==, 5000);
    g_assert_false(irr_has(0, 0x57));
    guest_clock_advance(16 * 5000);
    g_assert_true(irr_has(0, 0x57));
    g_assert_cmpuint(apic_reg_read(a, APIC_REG_TIMER_CUR), ==, 0);
}

static void test_pic_extint(void)
{
    setup();
    /* The PIC is not initialised: vector base 0. */
    i8259_set_irq(pic, 1, 1);
    g_assert_cmphex(req(0) & CPU_INTERRUPT_HARD, ==, CPU_INTERRUPT_HARD);
    g_assert_cmphex(req(1) & CPU_INTERRUPT_HARD, ==, 0);      /* LINT0 masked */
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[0]), ==, 0x01);
    g_assert_cmphex(req(0) & CPU_INTERRUPT_HARD, ==, 0);
    i8259_set_irq(pic, 1, 0);
    address_space_write_sized(&address_space_io, 0x20, 0x20, 1);    /* EOI */
    /* Masking LINT0 (APIC enabled) cuts the PIC off. */
    enable(0);
    apic_reg_write(apic[0], APIC_REG_LVT_LINT0, 0x10700);
    i8259_set_irq(pic, 3, 1);
    g_assert_cmphex(req(0) & CPU_INTERRUPT_HARD, ==, 0);
    /* A globally disabled APIC passes INTR straight through. */
    cpus[0]->env.apic_base &= ~(1ULL << 11);
    apic_bus_pic_intr(NULL, 0, 1);
    g_assert_cmphex(req(0) & CPU_INTERRUPT_HARD, ==, CPU_INTERRUPT_HARD);
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[0]), ==, 0x03);
}

static void test_msi(void)
{
    setup();
    enable(1);
    /* A device write (not from a vCPU thread): dest 1, vector 0x61. */
    g_assert_cmpint(address_space_write_sized(&address_space_memory, APIC_DEFAULT_BASE | (1 << 12),
                                              0x4061, 4), ==, MEMTX_OK);
    g_assert_true(irr_has(1, 0x61));
}

static void test_timer(void)
{
    DeviceState *a = apic[0];

    setup();
    enable(0);
    apic_reg_write(a, APIC_REG_TIMER_DIV, 0xb);    /* divide by 1: 1 count per ns */
    apic_reg_write(a, APIC_REG_LVT_TIMER, 0x51);
    apic_reg_write(a, APIC_REG_TIMER_INIT, 1000);
    guest_clock_advance(400);
    g_assert_cmpuint(apic_reg_read(a, APIC_REG_TIMER_CUR), ==, 600);
    g_assert_false(irr_has(0, 0x51));
    guest_clock_advance(600);
    g_assert_true(irr_has(0, 0x51));
    g_assert_cmpuint(apic_reg_read(a, APIC_REG_TIMER_CUR), ==, 0);
    g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[0]), ==, 0x51);
    apic_reg_write(a, APIC_REG_EOI, 0);
    guest_clock_advance(100000);
    g_assert_false(irr_has(0, 0x51));               /* one-shot: once */

    /* Periodic, divide by 2: a 200 us period. */
    apic_reg_write(a, APIC_REG_TIMER_DIV, 0x0);
    apic_reg_write(a, APIC_REG_LVT_TIMER, 0x20052);
    apic_reg_write(a, APIC_REG_TIMER_INIT, 100000);
    guest_clock_advance(50000);
    g_assert_cmpuint(apic_reg_read(a, APIC_REG_TIMER_CUR), ==, 75000);
    for (int i = 0; i < 3; i++) {
        guest_clock_advance(150000);
        g_assert_true(irr_has(0, 0x52));
        g_assert_cmpint(apic_cpu_interrupt_ack(NULL, cpus[0]), ==, 0x52);
        apic_reg_write(a, APIC_REG_EOI, 0);
        guest_clock_advance(50000);
        g_assert_false(irr_has(0, 0x52));
    }
    /* Masked: counts on, no interrupt. Initial count 0 stops it. */
    apic_reg_write(a, APIC_REG_LVT_TIMER, 0x30052);
    guest_clock_advance(400000);
    g_assert_false(irr_has(0, 0x52));
    apic_reg_write(a, APIC_REG_TIMER_INIT, 0);
    g_assert_cmpuint(apic_reg_read(a, APIC_REG_TIMER_CUR), ==, 0);
    /* TSC-deadline mode is not advertised: the mode bit 18 is not kept. */
    apic_reg_write(a, APIC_REG_LVT_TIMER, 0x40052);
    g_assert_cmphex(apic_reg_read(a, APIC_REG_LVT_TIMER), ==, 0x52);
}

static void test_apic_base_msr(void)
{
    CPUX86State *env = &cpus[0]->env;
    uint64_t v = 0;

    setup();
    /* Reserved bits (0-7, 9, x2APIC enable 10, above the physical width). */
    g_assert_false(apic_cpu_set_base(NULL, cpus[0], 0xfee00900 | 1));
    g_assert_false(apic_cpu_set_base(NULL, cpus[0], 0xfee00900 | (1 << 10)));
    g_assert_false(apic_cpu_set_base(NULL, cpus[0], 0xfee00900 | (1ULL << 62)));
    g_assert_cmphex(env->apic_base, ==, 0xfee00900);
    /* Globally disabled: messages are not accepted, INTR passes through. */
    enable(0);
    g_assert_true(apic_cpu_set_base(NULL, cpus[0], 0xfee00100));
    send(1, 0, 0x4050);
    g_assert_false(irr_has(0, 0x50));
    /* Re-enabled with the CPU's own ID. */
    apic_reg_write(apic[0], APIC_REG_ID, 0x07000000);
    g_assert_true(apic_cpu_set_base(NULL, cpus[0], 0xfee00900));
    g_assert_cmphex(apic_reg_read(apic[0], APIC_REG_ID), ==, 0);
    /* Relocated: the new page is decoded (only the owning vCPU reaches the
     * registers; this thread is not a vCPU, so it reads 0). */
    g_assert_true(apic_cpu_set_base(NULL, cpus[0], 0xfed00900));
    g_assert_cmpint(address_space_read_sized(&address_space_memory, 0xfed00030, &v, 4), ==,
                    MEMTX_OK);
    g_assert_cmphex(v, ==, 0);
    g_assert_true(apic_cpu_set_base(NULL, cpus[0], 0xfee00900));
    g_assert_cmpint(address_space_read_sized(&address_space_memory, 0xfed00030, &v, 4), !=,
                    MEMTX_OK);
}

/* Random register traffic (including ICR sends, timer programming and
 * IA32_APIC_BASE writes) never crashes and leaves sane state behind. */
static void test_hostile(void)
{
    guint32 seed = 4242;

    setup();
    for (int i = 0; i < 20000; i++) {
        int cpu;
        unsigned off;
        uint32_t val;
        seed = seed * 1103515245 + 12345;
        cpu = (seed >> 30) & 1;
        off = (seed >> 12) & 0xffc;
        seed = seed * 1103515245 + 12345;
        val = seed ^ (seed << 7);
        switch ((seed >> 28) & 7) {
        case 0:
            (void)apic_reg_read(apic[cpu], off);
            break;
        case 1:
            apic_cpu_set_base(NULL, cpus[cpu], (uint64_t)(val & 0xfff00d00) | (1ULL << 11));
            break;
        case 2:
            apic_cpu_interrupt_ack(NULL, cpus[cpu]);
            break;
        case 3:
            apic_cpu_handle_init_sipi(NULL, cpus[cpu]);
            break;
        case 4:
            guest_clock_advance(val & 0xfffff);
            break;
        default:
            apic_reg_write(apic[cpu], off & 0x3f0, val);
            break;
        }
    }
    for (int cpu = 0; cpu < 2; cpu++) {
        g_assert_true(apic_cpu_set_base(NULL, cpus[cpu], 0xfee00800 | (cpu ? 0 : 0x100)));
        uint32_t ppr = apic_reg_read(apic[cpu], APIC_REG_PPR);
        g_assert_cmpuint(ppr, <=, 0xff);
    }
    setup();
}

int main(int argc, char **argv)
{
    GError *err = NULL;

    intc_test_init(&argc, &argv, true);
    cpus_create(2);
    for (int i = 0; i < 2; i++) {
        x86_cpu_reset(&cpus[i]->env);
        apic[i] = apic_create(cpus[i], &err);
        g_assert_no_error(err);
    }
    pic = i8259_create(irq_new(apic_bus_pic_intr, NULL, 0), &err);
    g_assert_no_error(err);
    apic_bus_set_pic(pic);
    apic_bus_set_eoi_handler(record_eoi, NULL);
    g_test_add_func("/apic/reset-values", test_reset_values);
    g_test_add_func("/apic/priorities", test_priorities);
    g_test_add_func("/apic/level-eoi-broadcast", test_level_eoi_broadcast);
    g_test_add_func("/apic/errors", test_errors);
    g_test_add_func("/apic/ipis", test_ipis);
    g_test_add_func("/apic/init-sipi-nmi", test_init_sipi_nmi);
    g_test_add_func("/apic/reset-clears-pending", test_reset_clears_pending);
    g_test_add_func("/apic/svr-disable-masks-lvts", test_svr_disable_masks_lvts);
    g_test_add_func("/apic/timer-divide-change", test_timer_divide_change);
    g_test_add_func("/apic/pic-extint", test_pic_extint);
    g_test_add_func("/apic/msi", test_msi);
    g_test_add_func("/apic/timer", test_timer);
    g_test_add_func("/apic/apic-base-msr", test_apic_base_msr);
    g_test_add_func("/apic/hostile", test_hostile);
    return intc_test_run();
}
