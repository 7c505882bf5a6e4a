/*
 * MP specification tables (for -no-acpi): found by scanning 0xF0000-0xFFFFF
 * for the floating pointer like an OS does, then checked entry by entry.
 */
#include "hw/i386/mptable.h"

#define AREA_BASE 0xe0000ULL
#define AREA_SIZE 0x20000u

static uint8_t area[AREA_SIZE];

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p) { return get16(p) | ((uint32_t)get16(p + 2) << 16); }

static const uint8_t *at(uint64_t addr, size_t len)
{
    g_assert_cmphex(addr, >=, AREA_BASE);
    g_assert_cmphex(addr + len, <=, AREA_BASE + AREA_SIZE);
    return area + (addr - AREA_BASE);
}

/* Scans like Linux's smp_scan_config: "_MP_", 16-byte aligned, length 1,
 * checksum 0. Returns the address or 0. */
static uint64_t scan(uint64_t from, uint64_t to)
{
    for (uint64_t a = from; a + 16 <= to; a += 16) {
        const uint8_t *p = at(a, 16);
        if (!memcmp(p, "_MP_", 4) && p[8] == 1 && acpi_checksum(p, 16) == 0) {
            return a;
        }
    }
    return 0;
}

typedef struct Counts {
    unsigned cpus, bsp, buses, ioapics, io_ints, local_ints, pci_ints;
    bool irq0_to_pin2, extint_pin0, nmi_lint1;
} Counts;

static const uint8_t *build(unsigned cpus, bool pci_routing, Counts *c)
{
    AcpiBuildConfig cfg;
    GError *err = NULL;
    uint64_t fp = 0;
    const uint8_t *f, *t, *e;
    uint16_t len, count;
    int last_type = -1;

    acpi_build_config_init_pc(&cfg, cpus, 128u << 20, 0);
    cfg.pci_intx_routing = pci_routing;
    memcpy(cfg.pci_intx_gsi, (uint8_t[]){ 10, 10, 11, 11 }, 4);
    memset(area, 0, sizeof(area));
    g_assert_true(mptable_build(&cfg, area, AREA_SIZE, AREA_BASE, &fp, &err));
    g_assert_no_error(err);
    g_assert_cmphex(fp, >=, 0xf0000);
    g_assert_cmphex(scan(0xf0000, 0x100000), ==, fp);
    /* Nothing below 0xF0000 was touched (room for the ACPI tables). */
    for (size_t i = 0; i < 0x10000; i++) {
        g_assert_cmpuint(area[i], ==, 0);
    }

    f = at(fp, 16);
    g_assert_cmpuint(f[9], ==, 4);                 /* spec 1.4 */
    g_assert_cmpuint(f[11], ==, 0);                /* feature 1: a table follows */
    t = at(get32(f + 4), 44);
    g_assert_cmpmem(t, 4, "PCMP", 4);
    len = get16(t + 4);
    at(get32(f + 4), len);
    g_assert_cmpuint(t[6], ==, 4);
    g_assert_cmpuint(acpi_checksum(t, len), ==, 0);
    g_assert_cmphex(get32(t + 36), ==, 0xfee00000);
    count = get16(t + 34);

    memset(c, 0, sizeof(*c));
    e = t + 44;
    for (unsigned i = 0; i < count; i++) {
        g_assert_cmpint(e[0], >=, last_type);     /* sorted by entry type */
        last_type = e[0];
        switch (e[0]) {
        case 0:
            g_assert_cmpuint(e[1], ==, c->cpus);
            g_assert_true(e[3] & 1);
            if (e[3] & 2) {
                g_assert_cmpuint(e[1], ==, 0);
                c->bsp++;
            }
            c->cpus++;
            e += 20;
            break;
        case 1:
            g_assert_true(!memcmp(e + 2, "PCI   ", 6) || !memcmp(e + 2, "ISA   ", 6));
            c->buses++;
            e += 8;
            break;
        case 2:
            g_assert_cmpuint(e[3] & 1, ==, 1);
            g_assert_cmphex(get32(e + 4), ==, 0xfec00000);
            c->ioapics++;
            e += 8;
            break;
        case 3:
            if (e[4] == 1 && e[5] == 0 && e[1] == 0) {       /* ISA IRQ 0, INT */
                c->irq0_to_pin2 = e[7] == 2;
            }
            if (e[1] == 3 && e[7] == 0) {
                c->extint_pin0 = true;
            }
            if (e[4] == 0) {
                /* device in bits 2-6, pin in 0-1; GSIs { 10, 10, 11, 11 } */
                g_assert_cmpuint(e[7], ==, (((e[5] >> 2) + (e[5] & 3)) & 3) < 2 ? 10 : 11);
                g_assert_cmphex(get16(e + 2), ==, 0xf);  /* level, active low */
                c->pci_ints++;
            }
            c->io_ints++;
            e += 8;
            break;
        case 4:
            if (e[1] == 1) {
                c->nmi_lint1 = e[6] == 0xff && e[7] == 1;
            }
            c->local_ints++;
            e += 8;
            break;
        default:
            g_assert_not_reached();
        }
        g_assert_cmpuint(e - t, <=, len);
    }
    g_assert_cmpuint(e - t, ==, len);
    return t;
}

static void test_cpus(gconstpointer data)
{
    unsigned cpus = GPOINTER_TO_UINT(data);
    Counts c;

    build(cpus, false, &c);
    g_assert_cmpuint(c.cpus, ==, cpus);
    g_assert_cmpuint(c.bsp, ==, 1);
    g_assert_cmpuint(c.buses, ==, 2);
    g_assert_cmpuint(c.ioapics, ==, 1);
    g_assert_cmpuint(c.io_ints, ==, 16);           /* ExtINT + 15 ISA IRQs */
    g_assert_cmpuint(c.pci_ints, ==, 0);
    g_assert_cmpuint(c.local_ints, ==, 2);
    g_assert_true(c.irq0_to_pin2);
    g_assert_true(c.extint_pin0);
    g_assert_true(c.nmi_lint1);
}

static void test_pci_routing(void)
{
    Counts c;

    build(2, true, &c);
    g_assert_cmpuint(c.pci_ints, ==, 128);
}

static void test_errors(void)
{
    AcpiBuildConfig cfg;
    GError *err = NULL;
    uint64_t fp;

    acpi_build_config_init_pc(&cfg, 255, 128u << 20, 0);
    g_assert_false(mptable_build(&cfg, area, AREA_SIZE, AREA_BASE, &fp, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    /* An area ending before 0xF0000 has no room for the floating pointer. */
    acpi_build_config_init_pc(&cfg, 1, 128u << 20, 0);
    g_assert_false(mptable_build(&cfg, area, 0x10000, AREA_BASE, &fp, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    /* Too little room after 0xF0000. */
    g_assert_false(mptable_build(&cfg, area, 0x10000 + 64, AREA_BASE, &fp, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    /* An area above 1 MiB is not where the spec puts it. */
    g_assert_false(mptable_build(&cfg, area, AREA_SIZE, 0x100000, &fp, &err));
    g_clear_error(&err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/mptable/1-cpu", GUINT_TO_POINTER(1), test_cpus);
    g_test_add_data_func("/mptable/2-cpus", GUINT_TO_POINTER(2), test_cpus);
    g_test_add_data_func("/mptable/4-cpus", GUINT_TO_POINTER(4), test_cpus);
    g_test_add_data_func("/mptable/254-cpus", GUINT_TO_POINTER(254), test_cpus);
    g_test_add_func("/mptable/pci-routing", test_pci_routing);
    g_test_add_func("/mptable/errors", test_errors);
    return g_test_run();
}
