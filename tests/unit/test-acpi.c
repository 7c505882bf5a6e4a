/*
 * ACPI tables and the acpi-pm device.
 *
 * Tables: built into a 128 KiB buffer standing for 0xE0000-0xFFFFF, then
 * found the way an OS finds them (RSDP scan, XSDT/RSDT, FADT pointers) and
 * checked field by field; each table is also given to ACPICA's disassembler
 * (`iasl -d`, Debian package acpica-tools) and the DSDT's disassembly is
 * compiled again, both of which must succeed.
 * PM device: driven through address_space_io like a guest would.
 */
#include "hw/i386/acpi-build.h"
#include "hw/acpi/pm.h"
#include "exec/memory.h"
#include "sysemu/runstate.h"
#include <glib/gstdio.h>

#define AREA_BASE 0xe0000ULL
#define AREA_SIZE 0x20000u
#define PM_BASE   0x600
#define GPE0_BASE 0xafe0

static uint8_t area[AREA_SIZE];

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p) { return get16(p) | ((uint32_t)get16(p + 2) << 16); }
static uint64_t get64(const uint8_t *p) { return get32(p) | ((uint64_t)get32(p + 4) << 32); }

/* The bytes at a guest address inside the area, checking `len` fits. */
static const uint8_t *at(uint64_t addr, size_t len)
{
    g_assert_cmphex(addr, >=, AREA_BASE);
    g_assert_cmphex(addr + len, <=, AREA_BASE + AREA_SIZE);
    return area + (addr - AREA_BASE);
}

/* A table with a standard header: signature, length, checksum. */
static const uint8_t *table(uint64_t addr, const char *sig)
{
    const uint8_t *t = at(addr, 36);
    uint32_t len = get32(t + 4);

    g_assert_cmpmem(t, 4, sig, 4);
    g_assert_cmpuint(len, >=, 36);
    at(addr, len);
    g_assert_cmpuint(acpi_checksum(t, len), ==, 0);
    g_assert_cmpmem(t + 10, 6, "KESTRL", 6);
    return t;
}

typedef struct Tables {
    uint64_t rsdp;
    const uint8_t *xsdt, *rsdt, *fadt, *madt, *dsdt, *facs;
} Tables;

static void build(const AcpiBuildConfig *cfg, Tables *tb)
{
    GError *err = NULL;
    size_t used = 0;
    uint64_t found = 0;

    memset(area, 0xa5, sizeof(area));
    memset(tb, 0, sizeof(*tb));
    g_assert_true(acpi_build_tables(cfg, area, AREA_SIZE, AREA_BASE, &tb->rsdp, &used, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(used, >, 0);
    g_assert_cmpuint(used, <=, AREA_SIZE);

    /* The way Linux finds it: "RSD PTR " on a 16-byte boundary with a good
     * checksum over the first 20 bytes. */
    for (uint64_t a = AREA_BASE; a < AREA_BASE + AREA_SIZE; a += 16) {
        const uint8_t *p = at(a, 20);
        if (!memcmp(p, "RSD PTR ", 8) && acpi_checksum(p, 20) == 0) {
            found = a;
            break;
        }
    }
    g_assert_cmphex(found, ==, tb->rsdp);
    const uint8_t *rsdp = at(tb->rsdp, 36);
    g_assert_cmpuint(rsdp[15], ==, 2);
    g_assert_cmpuint(get32(rsdp + 20), ==, 36);
    g_assert_cmpuint(acpi_checksum(rsdp, 36), ==, 0);
    g_assert_cmpmem(rsdp + 9, 6, "KESTRL", 6);

    tb->xsdt = table(get64(rsdp + 24), "XSDT");
    tb->rsdt = table(get32(rsdp + 16), "RSDT");
    g_assert_cmpuint(get32(tb->xsdt + 4), ==, 36 + 2 * 8);
    g_assert_cmpuint(get32(tb->rsdt + 4), ==, 36 + 2 * 4);
    for (int i = 0; i < 2; i++) {
        /* Both list the same tables. */
        g_assert_cmphex(get64(tb->xsdt + 36 + 8 * i), ==, get32(tb->rsdt + 36 + 4 * i));
    }
    tb->fadt = table(get64(tb->xsdt + 36), "FACP");
    tb->madt = table(get64(tb->xsdt + 44), "APIC");
    tb->dsdt = table(get64(tb->fadt + 140), "DSDT");
    g_assert_cmphex(get32(tb->fadt + 40), ==, get64(tb->fadt + 140));
    g_assert_cmphex(get64(tb->fadt + 132), ==, 0);          /* X_FIRMWARE_CTRL unused */
    g_assert_cmphex(get32(tb->fadt + 36) % 64, ==, 0);
    tb->facs = at(get32(tb->fadt + 36), 64);
    g_assert_cmpmem(tb->facs, 4, "FACS", 4);
    g_assert_cmpuint(get32(tb->facs + 4), ==, 64);
}

static void config(AcpiBuildConfig *cfg, unsigned cpus)
{
    acpi_build_config_init_pc(cfg, cpus, 128u << 20, 0);
}

/* Generic address structure: I/O space, bit width, address. */
static void check_gas(const uint8_t *g, unsigned bits, uint64_t port)
{
    g_assert_cmpuint(g[0], ==, 1);
    g_assert_cmpuint(g[1], ==, bits);
    g_assert_cmphex(get64(g + 4), ==, port);
}

static void test_fadt(void)
{
    AcpiBuildConfig cfg;
    Tables tb;
    uint32_t flags;

    config(&cfg, 1);
    build(&cfg, &tb);
    g_assert_cmpuint(get32(tb.fadt + 4), ==, 268);
    g_assert_cmpuint(tb.fadt[8], ==, 5);
    g_assert_cmpuint(get16(tb.fadt + 46), ==, 9);             /* SCI_INT */
    g_assert_cmpuint(get32(tb.fadt + 48), ==, 0);             /* no SMI_CMD */
    g_assert_cmphex(get32(tb.fadt + 56), ==, PM_BASE);        /* PM1a_EVT_BLK */
    g_assert_cmphex(get32(tb.fadt + 64), ==, PM_BASE + 4);    /* PM1a_CNT_BLK */
    g_assert_cmphex(get32(tb.fadt + 76), ==, PM_BASE + 8);    /* PM_TMR_BLK */
    g_assert_cmphex(get32(tb.fadt + 80), ==, GPE0_BASE);
    g_assert_cmpuint(tb.fadt[88], ==, 4);
    g_assert_cmpuint(tb.fadt[89], ==, 2);
    g_assert_cmpuint(tb.fadt[91], ==, 4);
    g_assert_cmpuint(tb.fadt[92], ==, 4);
    flags = get32(tb.fadt + 112);
    g_assert_true(flags & (1u << 0));     /* WBINVD */
    g_assert_true(flags & (1u << 2));     /* PROC_C1 */
    g_assert_false(flags & (1u << 4));    /* PWR_BUTTON clear: fixed feature */
    g_assert_true(flags & (1u << 5));     /* SLP_BUTTON */
    g_assert_false(flags & (1u << 8));    /* TMR_VAL_EXT clear: 24-bit timer */
    g_assert_true(flags & (1u << 10));    /* RESET_REG_SUP */
    g_assert_false(flags & (1u << 20));   /* not hardware-reduced */
    check_gas(tb.fadt + 116, 8, 0xcf9);
    g_assert_cmphex(tb.fadt[128], ==, 0x06);
    check_gas(tb.fadt + 148, 32, PM_BASE);
    check_gas(tb.fadt + 172, 16, PM_BASE + 4);
    check_gas(tb.fadt + 208, 32, PM_BASE + 8);
    check_gas(tb.fadt + 220, 32, GPE0_BASE);
    g_assert_cmpuint(get16(tb.fadt + 109) & 3, ==, 3);        /* legacy devices, 8042 */
}

static void test_madt(gconstpointer data)
{
    unsigned cpus = GPOINTER_TO_UINT(data);
    AcpiBuildConfig cfg;
    Tables tb;
    unsigned lapics = 0, ioapics = 0, nmis = 0;
    bool iso0 = false, iso9 = false;
    uint32_t len;

    config(&cfg, cpus);
    build(&cfg, &tb);
    len = get32(tb.madt + 4);
    g_assert_cmphex(get32(tb.madt + 36), ==, 0xfee00000);
    g_assert_cmphex(get32(tb.madt + 40), ==, 1);             /* PCAT_COMPAT */
    for (uint32_t pos = 44; pos < len;) {
        const uint8_t *e = tb.madt + pos;
        g_assert_cmpuint(e[1], >=, 2);
        g_assert_cmpuint(pos + e[1], <=, len);
        switch (e[0]) {
        case 0:
            g_assert_cmpuint(e[1], ==, 8);
            g_assert_cmpuint(e[2], ==, lapics);               /* processor UID */
            g_assert_cmpuint(e[3], ==, lapics);               /* APIC ID */
            g_assert_cmphex(get32(e + 4), ==, 1);             /* enabled */
            lapics++;
            break;
        case 1:
            g_assert_cmpuint(e[1], ==, 12);
            g_assert_cmphex(get32(e + 4), ==, 0xfec00000);
            g_assert_cmpuint(get32(e + 8), ==, 0);
            ioapics++;
            break;
        case 2:
            g_assert_cmpuint(e[1], ==, 10);
            g_assert_cmpuint(e[2], ==, 0);
            if (e[3] == 0) {
                g_assert_cmpuint(get32(e + 4), ==, 2);
                g_assert_cmphex(get16(e + 8) & 0xc, ==, 0x4); /* edge */
                iso0 = true;
            } else if (e[3] == 9) {
                g_assert_cmpuint(get32(e + 4), ==, 9);
                g_assert_cmphex(get16(e + 8), ==, 0xd);       /* level, active high */
                iso9 = true;
            }
            break;
        case 4:
            g_assert_cmpuint(e[1], ==, 6);
            g_assert_cmphex(e[2], ==, 0xff);
            g_assert_cmpuint(e[5], ==, 1);                    /* LINT1 */
            nmis++;
            break;
        default:
            g_assert_not_reached();
        }
        pos += e[1];
    }
    g_assert_cmpuint(lapics, ==, cpus);
    g_assert_cmpuint(ioapics, ==, 1);
    g_assert_cmpuint(nmis, ==, 1);
    g_assert_true(iso0);
    g_assert_true(iso9);
}

static void test_many_cpus_use_x2apic(void)
{
    AcpiBuildConfig cfg;
    Tables tb;
    unsigned lapic = 0, x2apic = 0;
    uint32_t len;

    config(&cfg, 300);
    build(&cfg, &tb);
    len = get32(tb.madt + 4);
    for (uint32_t pos = 44; pos < len; pos += tb.madt[pos + 1]) {
        const uint8_t *e = tb.madt + pos;
        if (e[0] == 0) {
            lapic++;
        } else if (e[0] == 9) {
            g_assert_cmpuint(get32(e + 4), ==, 255 + x2apic);
            g_assert_cmpuint(get32(e + 12), ==, 255 + x2apic);
            x2apic++;
        }
    }
    g_assert_cmpuint(lapic, ==, 255);
    g_assert_cmpuint(x2apic, ==, 45);
}

/* The resource template of \_SB.PCI0._CRS inside the DSDT: found by its
 * name, then the Buffer that follows. */
static const uint8_t *find_bytes(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (!memcmp(hay + i, needle, n)) {
            return hay + i;
        }
    }
    return NULL;
}

static void test_dsdt_contents(void)
{
    static const uint8_t pnp0a03[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
    static const uint8_t s5[] = { 0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
                                  0x0a, 0x07, 0x0a, 0x07, 0x00, 0x00 };
    AcpiBuildConfig cfg;
    Tables tb;
    uint32_t len;
    const uint8_t *hole;
    uint8_t hole_min[4] = { 0x00, 0x00, 0x00, 0x08 };    /* 128 MiB */

    config(&cfg, 2);
    build(&cfg, &tb);
    len = get32(tb.dsdt + 4);
    g_assert_cmpuint(tb.dsdt[8], ==, 2);
    g_assert_nonnull(find_bytes(tb.dsdt, len, pnp0a03, sizeof(pnp0a03)));
    g_assert_nonnull(find_bytes(tb.dsdt, len, s5, sizeof(s5)));
    g_assert_nonnull(find_bytes(tb.dsdt, len, "C001", 4));
    g_assert_null(find_bytes(tb.dsdt, len, "C002", 4));
    /* The 32-bit PCI hole starts at the end of low RAM. */
    hole = find_bytes(tb.dsdt, len, hole_min, 4);
    g_assert_nonnull(hole);
    g_assert_cmphex(get32(hole + 4), ==, 0xfebfffff);
    g_assert_null(find_bytes(tb.dsdt, len, "_PRT", 4));

    /* With static INTx routing there is a _PRT. */
    cfg.pci_intx_routing = true;
    memcpy(cfg.pci_intx_gsi, (uint8_t[]){ 10, 10, 11, 11 }, 4);
    build(&cfg, &tb);
    g_assert_nonnull(find_bytes(tb.dsdt, get32(tb.dsdt + 4), "_PRT", 4));
}

static void test_bad_config(void)
{
    AcpiBuildConfig cfg;
    GError *err = NULL;
    uint64_t rsdp;

    config(&cfg, 0);
    g_assert_false(acpi_build_tables(&cfg, area, AREA_SIZE, AREA_BASE, &rsdp, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    config(&cfg, 4);
    cfg.sci_irq = 20;
    g_assert_false(acpi_build_tables(&cfg, area, AREA_SIZE, AREA_BASE, &rsdp, NULL, &err));
    g_clear_error(&err);

    /* Too small an area: refused, nothing written past it. */
    config(&cfg, 4);
    memset(area, 0x5a, sizeof(area));
    g_assert_false(acpi_build_tables(&cfg, area, 256, AREA_BASE, &rsdp, NULL, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "does not fit"));
    g_clear_error(&err);
    for (size_t i = 256; i < sizeof(area); i++) {
        g_assert_cmphex(area[i], ==, 0x5a);
    }
}

/* ---- iasl ---- */

static char *run_iasl(const char *dir, const char *const *args, int *status)
{
    GError *err = NULL;
    char *out = NULL, *errout = NULL;
    GPtrArray *argv = g_ptr_array_new();

    g_ptr_array_add(argv, (gpointer)"iasl");
    for (; *args; args++) {
        g_ptr_array_add(argv, (gpointer)*args);
    }
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_sync(dir, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL,
                               NULL, &out, &errout, status, &err));
    g_assert_no_error(err);
    g_ptr_array_free(argv, TRUE);
    char *all = g_strconcat(out, errout, NULL);
    g_free(out);
    g_free(errout);
    return all;
}

/* Disassembles one table; returns the .dsl text. */
static char *disassemble(const char *dir, const char *name, const uint8_t *t)
{
    char *dat = g_strdup_printf("%s/%s.dat", dir, name);
    char *dsl_path = g_strdup_printf("%s/%s.dsl", dir, name);
    char *dat_name = g_strdup_printf("%s.dat", name);
    const char *args[] = { "-d", dat_name, NULL };
    GError *err = NULL;
    char *dsl = NULL, *log;
    int status;

    g_assert_true(g_file_set_contents(dat, (const char *)t, get32(t + 4), &err));
    g_assert_no_error(err);
    log = run_iasl(dir, args, &status);
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_test_message("iasl -d %s:\n%s", name, log);
        g_assert_not_reached();
    }
    g_assert_true(g_file_get_contents(dsl_path, &dsl, NULL, &err));
    g_assert_no_error(err);
    g_free(log);
    g_free(dat);
    g_free(dsl_path);
    g_free(dat_name);
    return dsl;
}

/* Case-insensitive: iasl versions differ in "Local Apic" vs "Local APIC". */
static void assert_contains(const char *text, const char *what)
{
    g_autofree char *lower_text = g_ascii_strdown(text, -1);
    g_autofree char *lower_what = g_ascii_strdown(what, -1);

    if (!strstr(lower_text, lower_what)) {
        g_test_message("missing \"%s\" in:\n%s", what, text);
        g_assert_not_reached();
    }
}

static void test_iasl(void)
{
    AcpiBuildConfig cfg;
    Tables tb;
    char *dir, *dsl, *log, *gstdir;
    int status;
    GError *err = NULL;

    if (!g_find_program_in_path("iasl")) {
        g_test_skip("iasl not installed (Debian package acpica-tools)");
        return;
    }
    dir = g_dir_make_tmp("kestrel-acpi-XXXXXX", &err);
    g_assert_no_error(err);

    config(&cfg, 4);
    cfg.above_4g_ram_size = 1ULL << 30;
    cfg.pci_intx_routing = true;
    memcpy(cfg.pci_intx_gsi, (uint8_t[]){ 10, 10, 11, 11 }, 4);
    build(&cfg, &tb);

    dsl = disassemble(dir, "dsdt", tb.dsdt);
    assert_contains(dsl, "PNP0A03");
    assert_contains(dsl, "_S5_");
    assert_contains(dsl, "PNP0B00");
    assert_contains(dsl, "PNP0303");
    assert_contains(dsl, "PNP0501");
    assert_contains(dsl, "WordBusNumber");
    assert_contains(dsl, "QWordMemory");
    assert_contains(dsl, "0x0000000140000000");   /* 64-bit window after 1 GiB of high RAM */
    assert_contains(dsl, "ACPI0007");
    assert_contains(dsl, "_PRT");
    g_free(dsl);
    /* What iasl disassembled must compile again without errors. */
    {
        const char *args[] = { "-p", "recompiled", "dsdt.dsl", NULL };
        log = run_iasl(dir, args, &status);
        if (!g_spawn_check_wait_status(status, NULL)) {
            g_test_message("iasl dsdt.dsl:\n%s", log);
            g_assert_not_reached();
        }
        assert_contains(log, " 0 Errors");
        g_free(log);
    }

    dsl = disassemble(dir, "facp", tb.fadt);
    assert_contains(dsl, "Fixed ACPI Description Table");
    assert_contains(dsl, "PM Timer Block Address : 00000608");
    assert_contains(dsl, "SCI Interrupt : 0009");
    g_assert_null(strstr(dsl, "Invalid"));
    g_free(dsl);

    dsl = disassemble(dir, "apic", tb.madt);
    assert_contains(dsl, "[Processor Local Apic]");
    assert_contains(dsl, "Local Apic Address : FEE00000");
    assert_contains(dsl, "[I/O Apic]");
    assert_contains(dsl, "Address : FEC00000");
    assert_contains(dsl, "Interrupt Source Override");
    assert_contains(dsl, "Local Apic NMI");
    g_assert_null(strstr(dsl, "Invalid"));
    g_free(dsl);

    dsl = disassemble(dir, "facs", tb.facs);
    assert_contains(dsl, "FACS");
    g_free(dsl);

    /* Clean up the temporary directory. */
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *entry;
    while (d && (entry = g_dir_read_name(d))) {
        gstdir = g_build_filename(dir, entry, NULL);
        g_unlink(gstdir);
        g_free(gstdir);
    }
    if (d) {
        g_dir_close(d);
    }
    g_rmdir(dir);
    g_free(dir);
}

/* ---- the acpi-pm device ---- */

static DeviceState *pm;
static int sci_level;
static int sci_changes;
static int64_t fake_now;

static void sci_handler(void *opaque, int n, int level)
{
    sci_level = level;
    sci_changes++;
}

static int64_t fake_clock(void)
{
    return fake_now;
}

static uint64_t pm_in(uint16_t port, unsigned size)
{
    uint64_t v = ~0ull;
    g_assert_cmpint(address_space_read_sized(&address_space_io, port, &v, size), ==, MEMTX_OK);
    return v;
}

static void pm_out(uint16_t port, uint64_t v, unsigned size)
{
    g_assert_cmpint(address_space_write_sized(&address_space_io, port, v, size), ==, MEMTX_OK);
}

static void test_pm_reset_state(void)
{
    g_assert_cmphex(pm_in(PM_BASE, 2), ==, 0);
    g_assert_cmphex(pm_in(PM_BASE + 2, 2), ==, 0);
    g_assert_cmphex(pm_in(PM_BASE + 4, 2), ==, 1);          /* SCI_EN: already in ACPI mode */
    g_assert_cmphex(pm_in(GPE0_BASE, 4), ==, 0);
    g_assert_cmpint(sci_level, ==, 0);
}

static void test_pm_power_button_sci(void)
{
    /* Not enabled: status only, no SCI. */
    acpi_pm_power_button(pm);
    g_assert_cmphex(pm_in(PM_BASE, 2) & ACPI_PM1_PWRBTN, ==, ACPI_PM1_PWRBTN);
    g_assert_cmpint(sci_level, ==, 0);
    /* Enabling it raises the (level) SCI until the OS clears the status. */
    pm_out(PM_BASE + 2, ACPI_PM1_PWRBTN, 2);
    g_assert_cmphex(pm_in(PM_BASE + 2, 2), ==, ACPI_PM1_PWRBTN);
    g_assert_cmpint(sci_level, ==, 1);
    /* Writing zero bits clears nothing. */
    pm_out(PM_BASE, 0, 2);
    g_assert_cmpint(sci_level, ==, 1);
    /* One 32-bit access covers status (low half) and enable (high half). */
    g_assert_cmphex(pm_in(PM_BASE, 4) & 0x01000100u, ==, 0x01000100u);
    pm_out(PM_BASE, ACPI_PM1_PWRBTN, 2);
    g_assert_cmphex(pm_in(PM_BASE, 2) & ACPI_PM1_PWRBTN, ==, 0);
    g_assert_cmpint(sci_level, ==, 0);
    /* With SCI_EN clear the event is not signalled. */
    pm_out(PM_BASE + 4, 0, 2);
    acpi_pm_power_button(pm);
    g_assert_cmpint(sci_level, ==, 0);
    pm_out(PM_BASE + 4, ACPI_PM1_CNT_SCI_EN, 2);
    g_assert_cmpint(sci_level, ==, 1);
    pm_out(PM_BASE, 0xffff, 2);
    g_assert_cmpint(sci_level, ==, 0);
    pm_out(PM_BASE + 2, 0, 2);
}

static void test_pm_sleep_states(void)
{
    int status = -1;

    g_assert_false(runstate_handle_requests(&status));
    /* S3-ish sleep type: not implemented, nothing requested. */
    pm_out(PM_BASE + 4, ACPI_PM1_CNT_SCI_EN | (5u << 10) | ACPI_PM1_CNT_SLP_EN, 2);
    g_assert_false(runstate_handle_requests(&status));
    /* SLP_EN reads back as zero; SLP_TYP is kept. */
    g_assert_cmphex(pm_in(PM_BASE + 4, 2), ==, ACPI_PM1_CNT_SCI_EN | (5u << 10));
    /* Setting SLP_TYP to S5 without SLP_EN does nothing yet. */
    pm_out(PM_BASE + 4, ACPI_PM1_CNT_SCI_EN | (ACPI_SLP_TYP_S5 << 10), 2);
    g_assert_false(runstate_handle_requests(&status));
    /* S5 + SLP_EN written as the high byte alone (as bytes may be): shutdown. */
    pm_out(PM_BASE + 5, (ACPI_SLP_TYP_S5 << 2) | (1u << 5), 1);
    g_assert_true(runstate_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_SHUTDOWN);
}

static void test_pm_timer(void)
{
    /* 1 s of the fake clock is 3579545 ticks. */
    const int64_t second = 1000000000;
    uint32_t a, b;

    g_assert_cmpuint(acpi_pm_timer_ticks(0), ==, 0);
    g_assert_cmpuint(acpi_pm_timer_ticks(second), ==, 3579545);
    g_assert_cmpuint(acpi_pm_timer_ticks(-5), ==, 0);
    /* 2^24 ticks take 4.687 s: at 5 s the counter has wrapped. */
    g_assert_cmpuint(acpi_pm_timer_ticks(5 * second), ==, (5u * 3579545u) & 0xffffff);
    /* No overflow in the arithmetic far in the future (about 100 years). */
    g_assert_cmpuint(acpi_pm_timer_ticks(3155760000LL * second), <=, 0xffffff);

    fake_now = 1000 * second;
    acpi_pm_set_clock(pm, fake_clock);
    pm_out(PM_BASE, 0xffff, 2);                 /* clear all status */
    g_assert_cmphex(pm_in(PM_BASE + 8, 4), ==, 0);
    fake_now += second;
    g_assert_cmphex(pm_in(PM_BASE + 8, 4), ==, 3579545);
    g_assert_cmphex(pm_in(PM_BASE, 2) & ACPI_PM1_TMR, ==, 0);
    /* Bit 23 flips at 2^23 ticks (2.34 s): TMR_STS is set. */
    fake_now += 2 * second;
    a = (uint32_t)pm_in(PM_BASE + 8, 4);
    g_assert_cmphex(a, ==, 3 * 3579545u);
    g_assert_cmphex(pm_in(PM_BASE, 2) & ACPI_PM1_TMR, ==, ACPI_PM1_TMR);
    /* With TMR_EN, the SCI is raised. */
    pm_out(PM_BASE + 2, ACPI_PM1_TMR, 2);
    g_assert_cmpint(sci_level, ==, 1);
    pm_out(PM_BASE, ACPI_PM1_TMR, 2);
    g_assert_cmpint(sci_level, ==, 0);
    pm_out(PM_BASE + 2, 0, 2);
    /* Past 2^24 ticks the 24-bit counter wraps around. */
    fake_now += 2 * second;
    b = (uint32_t)pm_in(PM_BASE + 8, 4);
    g_assert_cmphex(b, ==, (5u * 3579545u) & 0xffffff);
    g_assert_cmphex(b, <, a);
    g_assert_cmphex(pm_in(PM_BASE, 2) & ACPI_PM1_TMR, ==, ACPI_PM1_TMR);
    /* Byte and word reads take the matching slices; writes are ignored. */
    g_assert_cmphex(pm_in(PM_BASE + 10, 2), ==, b >> 16);
    g_assert_cmphex(pm_in(PM_BASE + 8, 1), ==, b & 0xff);
    pm_out(PM_BASE + 8, 0, 4);
    g_assert_cmphex(pm_in(PM_BASE + 8, 4), ==, b);
    g_assert_cmphex(pm_in(PM_BASE + 11, 1), ==, 0);       /* the top byte is always 0 */

    /* The host clock: successive reads move forward (modulo 2^24), without
     * asserting how fast. */
    acpi_pm_set_clock(pm, NULL);
    a = (uint32_t)pm_in(PM_BASE + 8, 4);
    b = (uint32_t)pm_in(PM_BASE + 8, 4);
    g_assert_cmpuint((b - a) & 0xffffff, <, 0x800000);
    g_assert_cmpuint(b, <=, 0xffffff);
}

static void test_pm_gpe0(void)
{
    pm_out(GPE0_BASE + 2, 0xffff, 2);
    g_assert_cmphex(pm_in(GPE0_BASE, 4), ==, 0xffff0000u);
    pm_out(GPE0_BASE, 0xffff, 2);                          /* W1C on empty status */
    g_assert_cmphex(pm_in(GPE0_BASE, 2), ==, 0);
    g_assert_cmpint(sci_level, ==, 0);
    pm_out(GPE0_BASE + 2, 0, 2);
}

static void test_pm_hostile(void)
{
    /* Every size at every offset of both blocks, including reserved bytes and
     * accesses running past the end: nothing crashes, reserved reads zero. */
    for (unsigned off = 0; off < ACPI_PM_IO_SIZE; off++) {
        for (unsigned size = 1; size <= 4; size *= 2) {
            uint64_t v;
            if (off + size <= 5 || off > 5) {        /* keep clear of SLP_EN (byte 5) */
                address_space_write_sized(&address_space_io, PM_BASE + off, 0xdeadbeef, size);
            }
            address_space_read_sized(&address_space_io, PM_BASE + off, &v, size);
        }
    }
    for (unsigned off = 12; off < ACPI_PM_IO_SIZE; off++) {
        g_assert_cmphex(pm_in(PM_BASE + off, 1), ==, 0);
    }
    for (unsigned off = 0; off < 8; off++) {
        uint64_t v;
        address_space_write_sized(&address_space_io, GPE0_BASE + off, 0, 4);
        address_space_read_sized(&address_space_io, GPE0_BASE + off, &v, 4);
    }
    /* Only the implemented enable bits stick. */
    pm_out(PM_BASE + 2, 0xffff, 2);
    g_assert_cmphex(pm_in(PM_BASE + 2, 2), ==, 0x0721);
    pm_out(PM_BASE + 2, 0, 2);
    pm_out(PM_BASE, 0xffff, 2);
    pm_out(PM_BASE + 4, ACPI_PM1_CNT_SCI_EN, 2);
    g_assert_cmpint(sci_level, ==, 0);
}

static void test_pm_create_errors(void)
{
    GError *err = NULL;

    g_assert_null(acpi_pm_create(0xfff0, 0xafe0, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_null(acpi_pm_create(0x700, 0x720, NULL, &err));   /* overlap */
    g_assert_nonnull(err);
    g_clear_error(&err);
}

int main(int argc, char **argv)
{
    GError *err = NULL;

    g_test_init(&argc, &argv, NULL);
    memory_system_init();
    pm = acpi_pm_create(PM_BASE, GPE0_BASE, irq_new(sci_handler, NULL, 0), &err);
    g_assert_no_error(err);
    g_assert_nonnull(pm);

    g_test_add_func("/acpi/fadt", test_fadt);
    g_test_add_data_func("/acpi/madt/1-cpu", GUINT_TO_POINTER(1), test_madt);
    g_test_add_data_func("/acpi/madt/2-cpus", GUINT_TO_POINTER(2), test_madt);
    g_test_add_data_func("/acpi/madt/4-cpus", GUINT_TO_POINTER(4), test_madt);
    g_test_add_func("/acpi/madt/x2apic", test_many_cpus_use_x2apic);
    g_test_add_func("/acpi/dsdt", test_dsdt_contents);
    g_test_add_func("/acpi/bad-config", test_bad_config);
    g_test_add_func("/acpi/iasl", test_iasl);
    g_test_add_func("/acpi/pm/reset-state", test_pm_reset_state);
    g_test_add_func("/acpi/pm/power-button", test_pm_power_button_sci);
    g_test_add_func("/acpi/pm/timer", test_pm_timer);
    g_test_add_func("/acpi/pm/gpe0", test_pm_gpe0);
    g_test_add_func("/acpi/pm/hostile", test_pm_hostile);
    g_test_add_func("/acpi/pm/create-errors", test_pm_create_errors);
    g_test_add_func("/acpi/pm/sleep-states", test_pm_sleep_states);
    return g_test_run();
}
