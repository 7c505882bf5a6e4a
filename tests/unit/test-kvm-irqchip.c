/*
 * KVM interrupt plumbing and SMP topology that need no /dev/kvm: the GSI
 * routing table (accel/kvm/kvm-irqroute.c), the LAPIC reset page, and the
 * CPUID topology leaves for several -smp values (model and KVM table).
 */
#include "accel/kvm/kvm-irqchip.h"
#include "target/i386/kvm/kvm-x86.h"

/* ---- routing ---- */

typedef struct ExpectedRoute {
    uint32_t chip;
    uint32_t pin;
} ExpectedRoute;

/* The irqchip routes of gsi, in table order; returns how many. */
static unsigned routes_of(const struct kvm_irq_routing *t, unsigned gsi, ExpectedRoute *out,
                          unsigned max)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < t->nr; i++) {
        const struct kvm_irq_routing_entry *e = &t->entries[i];
        if (e->gsi != gsi) {
            continue;
        }
        g_assert_cmpuint(e->type, ==, KVM_IRQ_ROUTING_IRQCHIP);
        g_assert_cmpuint(n, <, max);
        out[n].chip = e->u.irqchip.irqchip;
        out[n].pin = e->u.irqchip.pin;
        n++;
    }
    return n;
}

static bool has_route(const ExpectedRoute *r, unsigned n, uint32_t chip, uint32_t pin)
{
    for (unsigned i = 0; i < n; i++) {
        if (r[i].chip == chip && r[i].pin == pin) {
            return true;
        }
    }
    return false;
}

static void test_routes_pc_defaults(void)
{
    KVMIrqRoutes *r = kvm_irq_routes_new(1024);
    ExpectedRoute got[4];

    g_assert_true(kvm_irq_routes_add_pc_defaults(r));
    const struct kvm_irq_routing *t = kvm_irq_routes_table(r);
    /* 15 ISA GSIs with two routes (0, 1, 3-15), 8 PCI GSIs with one. */
    g_assert_cmpuint(t->nr, ==, 15 * 2 + 8);

    /* GSI 0, the PIT: PIC pin 0 and IOAPIC pin 2 (the MADT override). */
    g_assert_cmpuint(routes_of(t, 0, got, 4), ==, 2);
    g_assert_true(has_route(got, 2, KVM_IRQCHIP_PIC_MASTER, 0));
    g_assert_true(has_route(got, 2, KVM_IRQCHIP_IOAPIC, 2));
    /* GSI 2 is the cascade: nothing. */
    g_assert_cmpuint(routes_of(t, 2, got, 4), ==, 0);
    g_assert_false(kvm_irq_routes_has_gsi(r, 2));
    for (unsigned gsi = 1; gsi < 24; gsi++) {
        if (gsi == 2) {
            continue;
        }
        unsigned n = routes_of(t, gsi, got, 4);
        g_assert_true(has_route(got, n, KVM_IRQCHIP_IOAPIC, gsi));
        if (gsi < 8) {
            g_assert_cmpuint(n, ==, 2);
            g_assert_true(has_route(got, n, KVM_IRQCHIP_PIC_MASTER, gsi));
        } else if (gsi < 16) {
            g_assert_cmpuint(n, ==, 2);
            g_assert_true(has_route(got, n, KVM_IRQCHIP_PIC_SLAVE, gsi - 8));
        } else {
            g_assert_cmpuint(n, ==, 1);
        }
    }
    g_assert_false(kvm_irq_routes_has_gsi(r, 24));
    kvm_irq_routes_free(r);
}

static const struct kvm_irq_routing_entry *find_msi(const KVMIrqRoutes *r, unsigned gsi)
{
    const struct kvm_irq_routing *t = kvm_irq_routes_table(r);
    for (uint32_t i = 0; i < t->nr; i++) {
        if (t->entries[i].gsi == gsi) {
            g_assert_cmpuint(t->entries[i].type, ==, KVM_IRQ_ROUTING_MSI);
            return &t->entries[i];
        }
    }
    return NULL;
}

static void test_routes_msi(void)
{
    KVMIrqRoutes *r = kvm_irq_routes_new(42);
    const struct kvm_irq_routing_entry *e;

    g_assert_true(kvm_irq_routes_add_pc_defaults(r));
    int a = kvm_irq_routes_add_msi(r, 0xfee01000ull, 0x4041);
    int b = kvm_irq_routes_add_msi(r, 0x1fee00000ull, 0x30);
    g_assert_cmpint(a, ==, 24);
    g_assert_cmpint(b, ==, 25);
    e = find_msi(r, 24);
    g_assert_nonnull(e);
    g_assert_cmphex(e->u.msi.address_lo, ==, 0xfee01000);
    g_assert_cmphex(e->u.msi.address_hi, ==, 0);
    g_assert_cmphex(e->u.msi.data, ==, 0x4041);
    e = find_msi(r, 25);
    g_assert_cmphex(e->u.msi.address_hi, ==, 1);

    /* Update changes the message in place; an IOAPIC GSI is not an MSI. */
    g_assert_true(kvm_irq_routes_update_msi(r, 24, 0xfee02000ull, 0x51));
    e = find_msi(r, 24);
    g_assert_cmphex(e->u.msi.address_lo, ==, 0xfee02000);
    g_assert_cmphex(e->u.msi.data, ==, 0x51);
    g_assert_false(kvm_irq_routes_update_msi(r, 4, 0xfee00000ull, 0x20));
    g_assert_false(kvm_irq_routes_update_msi(r, 30, 0xfee00000ull, 0x20));

    /* A released GSI is reused first. */
    g_assert_true(kvm_irq_routes_remove(r, 24));
    g_assert_false(kvm_irq_routes_remove(r, 24));
    g_assert_null(find_msi(r, 24));
    g_assert_cmpint(kvm_irq_routes_add_msi(r, 0xfee00000ull, 0x22), ==, 24);

    /* 38 PC routes + 2 MSIs, table of 42: two more fit, then ENOSPC. The
     * GSI number may not reach the table size either. */
    g_assert_cmpint(kvm_irq_routes_add_msi(r, 0xfee00000ull, 0x23), ==, 26);
    g_assert_cmpint(kvm_irq_routes_add_msi(r, 0xfee00000ull, 0x24), ==, 27);
    g_assert_cmpint(kvm_irq_routes_add_msi(r, 0xfee00000ull, 0x25), ==, -ENOSPC);
    g_assert_cmpuint(kvm_irq_routes_table(r)->nr, ==, 42);
    kvm_irq_routes_free(r);

    /* A table too small for the PC routes says so. */
    r = kvm_irq_routes_new(10);
    g_assert_false(kvm_irq_routes_add_pc_defaults(r));
    kvm_irq_routes_free(r);
}

/* ---- LAPIC reset page ---- */

static uint32_t reg(const struct kvm_lapic_state *s, unsigned off)
{
    uint32_t v;
    memcpy(&v, (const uint8_t *)s->regs + off, 4);
    return GUINT32_FROM_LE(v);
}

static void test_lapic_reset(void)
{
    struct kvm_lapic_state bsp, ap;
    static const unsigned lvts[] = { 0x2f0, 0x320, 0x330, 0x340, 0x370 };

    memset(&bsp, 0xaa, sizeof(bsp));
    kvm_x86_lapic_reset_state(&bsp, 0, true);
    kvm_x86_lapic_reset_state(&ap, 3, false);

    /* Byte-exact: the ID register's top byte is the APIC ID. */
    g_assert_cmphex(((const uint8_t *)bsp.regs)[0x23], ==, 0);
    g_assert_cmphex(((const uint8_t *)ap.regs)[0x23], ==, 3);
    g_assert_cmphex(reg(&ap, 0x20), ==, 0x03000000);

    /* Both: TPR 0, LDR 0, flat DFR, masked LVTs (timer, thermal, perf,
     * error, CMCI). */
    const struct kvm_lapic_state *both[] = { &bsp, &ap };
    for (int i = 0; i < 2; i++) {
        g_assert_cmphex(reg(both[i], 0x80), ==, 0);
        g_assert_cmphex(reg(both[i], 0xd0), ==, 0);
        g_assert_cmphex(reg(both[i], 0xe0), ==, 0xffffffff);
        for (size_t j = 0; j < G_N_ELEMENTS(lvts); j++) {
            g_assert_cmphex(reg(both[i], lvts[j]), ==, 0x10000);
        }
        /* No interrupt in service, requested or pending, timer stopped. */
        for (unsigned off = 0x100; off < 0x280; off += 0x10) {
            g_assert_cmphex(reg(both[i], off), ==, 0);
        }
        g_assert_cmphex(reg(both[i], 0x380), ==, 0);
    }
    /* BSP: virtual wire (enabled, LINT0 ExtINT, LINT1 NMI, both unmasked). */
    g_assert_cmphex(reg(&bsp, 0xf0), ==, 0x1ff);
    g_assert_cmphex(reg(&bsp, 0x350), ==, 0x700);
    g_assert_cmphex(reg(&bsp, 0x360), ==, 0x400);
    /* AP: software-disabled, LINT0/1 masked. */
    g_assert_cmphex(reg(&ap, 0xf0), ==, 0xff);
    g_assert_cmphex(reg(&ap, 0x350), ==, 0x10000);
    g_assert_cmphex(reg(&ap, 0x360), ==, 0x10000);

    /* Everything not named above is zero. */
    static const unsigned named[] = { 0x20, 0xe0, 0xf0, 0x2f0, 0x320, 0x330, 0x340,
                                      0x350, 0x360, 0x370 };
    for (unsigned off = 0; off < sizeof(ap.regs); off += 4) {
        bool is_named = false;
        for (size_t j = 0; j < G_N_ELEMENTS(named); j++) {
            is_named |= off == named[j];
        }
        if (!is_named) {
            g_assert_cmphex(reg(&ap, off), ==, 0);
            g_assert_cmphex(reg(&bsp, off), ==, 0);
        }
    }
}

/* ---- CPUID topology ---- */

static void cpuid(const CPUX86State *env, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    x86_cpu_get_cpuid(env, leaf, sub, &r[0], &r[1], &r[2], &r[3]);
}

static void check_model_topology(const char *model, uint32_t n, uint32_t core_bits)
{
    for (uint32_t id = 0; id < n; id++) {
        CPUX86State env;
        uint32_t r[4];

        memset(&env, 0, sizeof(env));
        g_assert_true(x86_cpu_set_model(&env, model, NULL));
        env.apic_id = id;
        x86_cpu_set_topology(&env, n);

        cpuid(&env, 1, 0, r);
        g_assert_cmpuint(r[1] >> 24, ==, id);
        g_assert_cmpuint((r[1] >> 16) & 0xff, ==, n);
        g_assert_cmpuint(!!(r[3] & CPUID_HTT), ==, n > 1);

        cpuid(&env, 0xb, 0, r);             /* SMT: one thread, shift 0 */
        g_assert_cmpuint(r[0] & 0x1f, ==, 0);
        g_assert_cmpuint(r[1] & 0xffff, ==, 1);
        g_assert_cmphex(r[2] & 0xff00, ==, 0x100);
        g_assert_cmpuint(r[3], ==, id);
        cpuid(&env, 0xb, 1, r);             /* core level */
        g_assert_cmpuint(r[0] & 0x1f, ==, core_bits);
        g_assert_cmpuint(r[1] & 0xffff, ==, n);
        g_assert_cmphex(r[2] & 0xffff, ==, 0x201);
        g_assert_cmpuint(r[3], ==, id);
        /* Package ID = APIC ID >> core bits: everyone in package 0. */
        g_assert_cmpuint(id >> (r[0] & 0x1f), ==, 0);
        cpuid(&env, 0xb, 2, r);             /* terminator */
        g_assert_cmphex(r[2] & 0xff00, ==, 0);
        g_assert_cmpuint(r[1], ==, 0);

        cpuid(&env, 0x80000008, 0, r);      /* AMD: NC and ApicIdCoreIdSize */
        g_assert_cmpuint((r[2] & 0xff) + 1, ==, n);
        g_assert_cmpuint((r[2] >> 12) & 0xf, ==, core_bits);
    }
}

static void test_topology_model(void)
{
    static const struct { uint32_t n, bits; } cases[] = {
        { 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 }, { 8, 3 }, { 64, 6 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_cmpuint(x86_topology_core_bits(cases[i].n), ==, cases[i].bits);
        check_model_topology("qemu64", cases[i].n, cases[i].bits);
        check_model_topology("max", cases[i].n, cases[i].bits);
    }
}

/* An Intel-like host table: HTT never listed (KVM masks it), leaf 4 with a
 * per-core L2 and a shared L3, host topology in 0xb that must not leak. */
static struct kvm_cpuid2 *fake_host_table(void)
{
    static const struct kvm_cpuid_entry2 entries[] = {
        { .function = 0, .eax = 0xd, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69 },
        { .function = 1, .eax = 0x906ea, .ebx = 0x07100800, .ecx = 0x7ffafbff,
          .edx = 0x0f8bfbff & ~CPUID_HTT },
        { .function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 0x1c004121 },                        /* L1d, host: 8 cores, 2 threads */
        { .function = 4, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 0x1c004143 },                        /* L2 */
        { .function = 4, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 0x1c03c163 },                        /* L3, shared by 16 */
        { .function = 4, .index = 3, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
        { .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 9 },
        { .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 9 },
        { .function = 0xb, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .ecx = 2, .edx = 9 },
        { .function = 0x80000000, .eax = 0x80000008 },
        { .function = 0x80000001, .ecx = 0x121, .edx = 0x2c100800 },
        { .function = 0x80000008, .eax = 0x3027, .ecx = 0x0f },
    };
    struct kvm_cpuid2 *t = g_malloc0(sizeof(*t) + sizeof(entries));
    t->nent = G_N_ELEMENTS(entries);
    memcpy(t->entries, entries, sizeof(entries));
    return t;
}

static void model_cb(void *opaque, uint32_t leaf, uint32_t sub, uint32_t regs[4])
{
    x86_cpu_get_cpuid(opaque, leaf, sub, &regs[0], &regs[1], &regs[2], &regs[3]);
}

static const struct kvm_cpuid_entry2 *must_find(const struct kvm_cpuid2 *t, uint32_t fn,
                                                uint32_t index)
{
    const struct kvm_cpuid_entry2 *e = kvm_cpuid_find(t, fn, index);
    g_assert_nonnull(e);
    return e;
}

static void check_kvm_table_topology(bool passthrough, uint32_t n)
{
    struct kvm_cpuid2 *host = fake_host_table();
    uint32_t bits = x86_topology_core_bits(n);

    for (uint32_t id = 0; id < n; id++) {
        CPUX86State env;
        memset(&env, 0, sizeof(env));
        g_assert_true(x86_cpu_set_model(&env, passthrough ? "host" : "qemu64", NULL));
        env.apic_id = id;
        x86_cpu_set_topology(&env, n);
        KVMCPUIDModel model = { .get = model_cb, .opaque = &env, .apic_id = id,
                                .nr_cores = n, .passthrough = passthrough };
        struct kvm_cpuid2 *t = kvm_x86_build_cpuid(host, &model);
        const struct kvm_cpuid_entry2 *e;

        e = must_find(t, 1, 0);
        g_assert_cmpuint(e->ebx >> 24, ==, id);
        g_assert_cmpuint((e->ebx >> 16) & 0xff, ==, n);
        g_assert_cmpuint(!!(e->edx & CPUID_HTT), ==, n > 1);
        /* The host's 0xb never leaks: the VM's levels, this vCPU's ID. */
        e = must_find(t, 0xb, 0);
        g_assert_cmpuint(e->ebx, ==, 1);
        g_assert_cmpuint(e->eax, ==, 0);
        g_assert_cmpuint(e->edx, ==, id);
        e = must_find(t, 0xb, 1);
        g_assert_cmpuint(e->eax, ==, bits);
        g_assert_cmpuint(e->ebx, ==, n);
        g_assert_cmpuint(e->edx, ==, id);
        g_assert_cmphex(must_find(t, 0xb, 2)->ecx & 0xff00, ==, 0);
        e = must_find(t, 0x80000008, 0);
        g_assert_cmpuint((e->ecx & 0xff) + 1, ==, n);
        g_assert_cmpuint((e->ecx >> 12) & 0xf, ==, bits);
        if (passthrough) {
            /* Intel cache leaf: host caches, VM core counts. */
            uint32_t ids = (1u << bits) - 1;
            e = must_find(t, 4, 0);
            g_assert_cmphex(e->eax & 0x3fff, ==, 0x121);
            g_assert_cmpuint(e->eax >> 26, ==, ids);
            g_assert_cmpuint((e->eax >> 14) & 0xfff, ==, 0);
            e = must_find(t, 4, 2);
            g_assert_cmphex(e->eax & 0x3fff, ==, 0x163);
            g_assert_cmpuint(e->eax >> 26, ==, ids);
            g_assert_cmpuint((e->eax >> 14) & 0xfff, ==, ids);
            g_assert_cmphex(must_find(t, 4, 3)->eax, ==, 0);
        }
        g_free(t);
    }
    g_free(host);
}

static void test_topology_kvm_table(void)
{
    static const uint32_t counts[] = { 1, 2, 3, 4, 8 };
    for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) {
        check_kvm_table_topology(false, counts[i]);
        check_kvm_table_topology(true, counts[i]);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm/irqchip/routes-pc-defaults", test_routes_pc_defaults);
    g_test_add_func("/kvm/irqchip/routes-msi", test_routes_msi);
    g_test_add_func("/kvm/irqchip/lapic-reset", test_lapic_reset);
    g_test_add_func("/kvm/topology/model", test_topology_model);
    g_test_add_func("/kvm/topology/kvm-table", test_topology_kvm_table);
    return g_test_run();
}
