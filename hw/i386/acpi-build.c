/*
 * ACPI tables for the pc machine. Layout in the area, each table aligned:
 *   RSDP (16-aligned, first so the legacy scan meets it early), FACS
 *   (64-aligned, as the spec requires), DSDT, FADT, MADT, RSDT, XSDT.
 * Field offsets follow the ACPI 6.x specification, chapter 5.2.
 */
#include "hw/i386/acpi-build.h"
#include "hw/acpi/aml.h"

#define ACPI_HEADER_LEN     36
#define RSDP_LEN            36
#define RSDP_V1_LEN         20
#define FACS_LEN            64
#define FADT_REV5_LEN       268
#define ACPI_CREATOR_ID     "KSTL"
#define ACPI_CREATOR_REV    1

/* Generic Address Structure address space ids and access sizes. */
#define GAS_SYSTEM_IO       1
#define GAS_ACCESS_BYTE     1
#define GAS_ACCESS_WORD     2
#define GAS_ACCESS_DWORD    3

/* FADT flags (ACPI 5.2.9, "Fixed ACPI Description Table Fixed Feature Flags"). */
#define FADT_F_WBINVD        (1u << 0)
#define FADT_F_PROC_C1       (1u << 2)
#define FADT_F_SLP_BUTTON    (1u << 5)   /* no fixed-feature sleep button */
#define FADT_F_FIX_RTC       (1u << 6)   /* no RTC wake status in PM1 */
#define FADT_F_RESET_REG_SUP (1u << 10)
/* IA-PC boot architecture flags. */
#define FADT_BOOT_LEGACY_DEVICES (1u << 0)
#define FADT_BOOT_8042           (1u << 1)
#define RTC_CENTURY_INDEX        0x32

/* MADT. */
#define MADT_PCAT_COMPAT         (1u << 0)
#define MADT_TYPE_LAPIC          0
#define MADT_TYPE_IOAPIC         1
#define MADT_TYPE_ISO            2
#define MADT_TYPE_LAPIC_NMI      4
#define MADT_TYPE_X2APIC         9
#define MADT_TYPE_X2APIC_NMI     10
#define MADT_LAPIC_ENABLED       (1u << 0)
/* MPS INTI flags: polarity bits 0-1 (1 high), trigger bits 2-3 (1 edge, 3 level). */
#define MPS_INTI_EDGE_HIGH       0x0005
#define MPS_INTI_LEVEL_HIGH      0x000d
#define XAPIC_MAX_ID             254     /* 255 is the xAPIC broadcast id */

/* ---- area allocation ---- */

typedef struct TableArea {
    uint8_t *data;
    size_t size;
    uint64_t base;
    size_t used;
} TableArea;

/* Reserves len bytes at the next `align` boundary (of the guest address),
 * zeroed. Returns the offset in the area, or SIZE_MAX if it does not fit. */
static size_t area_alloc(TableArea *a, size_t len, size_t align, GError **errp,
                         const char *what)
{
    uint64_t addr = KESTREL_ALIGN_UP(a->base + a->used, align);
    size_t off = (size_t)(addr - a->base);

    if (off > a->size || len > a->size - off) {
        error_setg(errp, "ACPI: the %s table (%zu bytes) does not fit in the %zu-byte "
                   "firmware table area at 0x%" PRIx64, what, len, a->size, a->base);
        return SIZE_MAX;
    }
    memset(a->data + off, 0, len);
    a->used = off + len;
    return off;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t acpi_checksum(const uint8_t *data, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++) {
        sum = (uint8_t)(sum + data[i]);
    }
    return sum;
}

/* The standard 36-byte header; the checksum is set by table_finish(). */
static void table_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, ACPI_OEM_ID, 6);
    memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
    put32(t + 24, 1);                       /* OEM revision */
    memcpy(t + 28, ACPI_CREATOR_ID, 4);
    put32(t + 32, ACPI_CREATOR_REV);
}

static void table_finish(uint8_t *t, size_t len)
{
    t[9] = 0;
    t[9] = (uint8_t)-acpi_checksum(t, len);
}

/* Generic Address Structure for an I/O port block. */
static void put_gas_io(uint8_t *p, uint16_t port, unsigned bytes, uint8_t access)
{
    p[0] = GAS_SYSTEM_IO;
    p[1] = (uint8_t)(bytes * 8);   /* register bit width */
    p[2] = 0;                      /* bit offset */
    p[3] = access;
    put64(p + 4, port);
}

/* ---- config ---- */

void acpi_build_config_init_pc(AcpiBuildConfig *cfg, unsigned nr_cpus,
                               uint64_t below_4g_ram_end, uint64_t above_4g_ram_size)
{
    *cfg = (AcpiBuildConfig) {
        .nr_cpus = nr_cpus,
        .below_4g_ram_end = below_4g_ram_end,
        .above_4g_ram_size = above_4g_ram_size,
        .pci_hole64_size = 32ULL << 30,
        .pm_io_base = 0x600,
        .gpe0_io_base = 0xafe0,
        .sci_irq = 9,
        .ioapic_id = 0,
        .ioapic_addr = 0xfec00000ULL,
        .lapic_addr = 0xfee00000ULL,
        .reset_port = 0xcf9,
        .reset_value = 0x06,
        .nr_serial_ports = 1,
        .pci_intx_routing = false,
    };
}

#define PCI_HOLE_END          0xfebfffffULL   /* the IOAPIC starts at 0xfec00000 */
#define PCI_HOLE64_ALIGN      (1ULL << 30)
#define FOUR_GIB              0x100000000ULL

static bool config_check(const AcpiBuildConfig *cfg, uint64_t area_base, size_t area_size,
                         GError **errp)
{
    if (cfg->nr_cpus < 1 || cfg->nr_cpus > ACPI_BUILD_MAX_CPUS) {
        error_setg(errp, "ACPI: %u CPUs is outside 1..%u", cfg->nr_cpus, ACPI_BUILD_MAX_CPUS);
        return false;
    }
    if (cfg->below_4g_ram_end < 0x100000 || cfg->below_4g_ram_end > FOUR_GIB) {
        error_setg(errp, "ACPI: low RAM end 0x%" PRIx64 " is outside 1 MiB..4 GiB",
                   cfg->below_4g_ram_end);
        return false;
    }
    if (cfg->sci_irq >= 16) {
        error_setg(errp, "ACPI: SCI IRQ %u is not an ISA IRQ", cfg->sci_irq);
        return false;
    }
    if (cfg->nr_serial_ports > ACPI_BUILD_MAX_SERIAL) {
        error_setg(errp, "ACPI: %u serial ports (at most %d)", cfg->nr_serial_ports,
                   ACPI_BUILD_MAX_SERIAL);
        return false;
    }
    if ((uint32_t)cfg->pm_io_base + 12 > 0x10000 || (uint32_t)cfg->gpe0_io_base + 4 > 0x10000) {
        error_setg(errp, "ACPI: PM ports 0x%x/0x%x do not fit the I/O space",
                   cfg->pm_io_base, cfg->gpe0_io_base);
        return false;
    }
    for (int i = 0; cfg->pci_intx_routing && i < 4; i++) {
        if (cfg->pci_intx_gsi[i] == 0 || cfg->pci_intx_gsi[i] >= 24) {
            error_setg(errp, "ACPI: PCI INTx GSI %u is not an IOAPIC input (1..23)",
                       cfg->pci_intx_gsi[i]);
            return false;
        }
    }
    if (cfg->ioapic_addr >= FOUR_GIB || cfg->lapic_addr >= FOUR_GIB) {
        error_setg(errp, "ACPI: APIC addresses must lie below 4 GiB");
        return false;
    }
    if (area_size == 0 || area_base >= FOUR_GIB || area_size > FOUR_GIB - area_base) {
        error_setg(errp, "ACPI: the table area must lie below 4 GiB");
        return false;
    }
    return true;
}

/* ---- DSDT ---- */

static const struct { uint16_t port; uint8_t irq; } isa_serial[ACPI_BUILD_MAX_SERIAL] = {
    { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

static Aml *isa_device(const char *name, const char *hid, Aml *crs)
{
    Aml *dev = aml_device(name);
    aml_append(dev, aml_name_decl("_HID", aml_eisaid(hid)));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

static Aml *build_isa_bridge(const AcpiBuildConfig *cfg)
{
    Aml *isa = aml_device("ISA");
    Aml *crs, *dev;

    /* PCI device 1, function 0: the PIIX3 ISA bridge. */
    aml_append(isa, aml_name_decl("_ADR", aml_int(0x00010000)));

    crs = aml_resource_template();
    aml_append(crs, aml_io(0x70, 0x70, 1, 2));
    aml_append(crs, aml_irq_no_flags(8));
    aml_append(isa, isa_device("RTC", "PNP0B00", crs));

    crs = aml_resource_template();
    aml_append(crs, aml_io(0x60, 0x60, 1, 1));
    aml_append(crs, aml_io(0x64, 0x64, 1, 1));
    aml_append(crs, aml_irq_no_flags(1));
    aml_append(isa, isa_device("KBD", "PNP0303", crs));

    crs = aml_resource_template();
    aml_append(crs, aml_irq_no_flags(12));
    aml_append(isa, isa_device("MOU", "PNP0F13", crs));

    for (unsigned i = 0; i < cfg->nr_serial_ports; i++) {
        char name[8];

        snprintf(name, sizeof(name), "COM%u", (i + 1) & 7);
        crs = aml_resource_template();
        aml_append(crs, aml_io(isa_serial[i].port, isa_serial[i].port, 1, 8));
        aml_append(crs, aml_irq_no_flags(isa_serial[i].irq));
        dev = isa_device(name, "PNP0501", crs);
        aml_append(dev, aml_name_decl("_UID", aml_int(i + 1)));
        aml_append(isa, dev);
    }
    return isa;
}

static Aml *build_pci_root(const AcpiBuildConfig *cfg)
{
    Aml *pci = aml_device("PCI0");
    Aml *crs = aml_resource_template();

    aml_append(pci, aml_name_decl("_HID", aml_eisaid("PNP0A03")));
    aml_append(pci, aml_name_decl("_ADR", aml_int(0)));
    aml_append(pci, aml_name_decl("_UID", aml_int(0)));
    aml_append(pci, aml_name_decl("_BBN", aml_int(0)));

    aml_append(crs, aml_word_bus_number(0, 255));
    /* The configuration mechanism #1 ports belong to the bridge itself. */
    aml_append(crs, aml_io(0xcf8, 0xcf8, 1, 8));
    aml_append(crs, aml_word_io(0x0000, 0x0cf7));
    aml_append(crs, aml_word_io(0x0d00, 0xffff));
    aml_append(crs, aml_dword_memory(true, 0xa0000, 0xbffff));
    if (cfg->below_4g_ram_end <= PCI_HOLE_END) {
        aml_append(crs, aml_dword_memory(false, (uint32_t)cfg->below_4g_ram_end,
                                         (uint32_t)PCI_HOLE_END));
    }
    if (cfg->pci_hole64_size) {
        uint64_t start = KESTREL_ALIGN_UP(FOUR_GIB + cfg->above_4g_ram_size, PCI_HOLE64_ALIGN);
        aml_append(crs, aml_qword_memory(false, start, start + cfg->pci_hole64_size - 1));
    }
    aml_append(pci, aml_name_decl("_CRS", crs));

    if (cfg->pci_intx_routing) {
        /* Static routing: Package { address (device << 16 | 0xffff), pin,
         * source 0 (a GSI, not a link device), GSI }. */
        Aml *prt = aml_package();
        for (unsigned slot = 0; slot < 32; slot++) {
            for (unsigned pin = 0; pin < 4; pin++) {
                Aml *entry = aml_package();
                aml_append(entry, aml_int(((uint64_t)slot << 16) | 0xffff));
                aml_append(entry, aml_int(pin));
                aml_append(entry, aml_int(0));
                aml_append(entry, aml_int(cfg->pci_intx_gsi[(slot + pin) & 3]));
                aml_append(prt, entry);
            }
        }
        aml_append(pci, aml_name_decl("_PRT", prt));
    }
    aml_append(pci, build_isa_bridge(cfg));
    return pci;
}

static GByteArray *build_dsdt_body(const AcpiBuildConfig *cfg)
{
    Aml *body = aml_term_list();
    Aml *sb = aml_scope("\\_SB");
    Aml *s5 = aml_package();

    aml_append(sb, build_pci_root(cfg));
    /* Processor devices, matching the MADT's processor UIDs. */
    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        char name[8];
        Aml *cpu;

        /* i < ACPI_BUILD_MAX_CPUS <= 0xfff: three hex digits. */
        snprintf(name, sizeof(name), "C%03X", i & 0xfff);
        cpu = aml_device(name);
        aml_append(cpu, aml_name_decl("_HID", aml_string("ACPI0007")));
        aml_append(cpu, aml_name_decl("_UID", aml_int(i)));
        aml_append(sb, cpu);
    }
    aml_append(body, sb);

    /* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved. */
    aml_append(s5, aml_int(7));
    aml_append(s5, aml_int(7));
    aml_append(s5, aml_int(0));
    aml_append(s5, aml_int(0));
    aml_append(body, aml_name_decl("\\_S5", s5));
    return aml_encode(body);
}

/* ---- the tables ---- */

static size_t build_madt(TableArea *a, const AcpiBuildConfig *cfg, GError **errp)
{
    bool x2apic = cfg->nr_cpus > XAPIC_MAX_ID + 1;
    size_t len = ACPI_HEADER_LEN + 8;
    size_t off, pos;
    uint8_t *t;
    uint8_t extra_iso[4];
    unsigned nr_extra_iso = 0;

    /* Level-triggered PCI GSIs below 16 need an override, like the SCI. */
    for (int i = 0; cfg->pci_intx_routing && i < 4; i++) {
        uint8_t gsi = cfg->pci_intx_gsi[i];
        bool seen = gsi >= 16 || gsi == cfg->sci_irq;
        for (unsigned j = 0; j < nr_extra_iso; j++) {
            seen |= extra_iso[j] == gsi;
        }
        if (!seen) {
            extra_iso[nr_extra_iso++] = gsi;
        }
    }

    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        len += i <= XAPIC_MAX_ID ? 8 : 16;
    }
    len += 12 + 10 * (2 + nr_extra_iso) + 6 + (x2apic ? 12 : 0);
    off = area_alloc(a, len, 16, errp, "MADT");
    if (off == SIZE_MAX) {
        return off;
    }
    t = a->data + off;
    table_header(t, "APIC", (uint32_t)len, 3);
    put32(t + 36, (uint32_t)cfg->lapic_addr);
    put32(t + 40, MADT_PCAT_COMPAT);    /* the dual 8259s exist too */
    pos = 44;

    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        uint8_t *e = t + pos;
        if (i <= XAPIC_MAX_ID) {
            e[0] = MADT_TYPE_LAPIC;
            e[1] = 8;
            e[2] = (uint8_t)i;                 /* ACPI processor UID */
            e[3] = (uint8_t)i;                 /* APIC ID */
            put32(e + 4, MADT_LAPIC_ENABLED);
            pos += 8;
        } else {
            e[0] = MADT_TYPE_X2APIC;
            e[1] = 16;
            put32(e + 4, i);                   /* x2APIC ID */
            put32(e + 8, MADT_LAPIC_ENABLED);
            put32(e + 12, i);                  /* ACPI processor UID */
            pos += 16;
        }
    }

    t[pos] = MADT_TYPE_IOAPIC;
    t[pos + 1] = 12;
    t[pos + 2] = cfg->ioapic_id;
    put32(t + pos + 4, (uint32_t)cfg->ioapic_addr);
    put32(t + pos + 8, 0);                     /* GSI base */
    pos += 12;

    /* ISA IRQ 0 (the PIT) is wired to IOAPIC input 2. */
    t[pos] = MADT_TYPE_ISO;
    t[pos + 1] = 10;
    t[pos + 2] = 0;                            /* bus: ISA */
    t[pos + 3] = 0;
    put32(t + pos + 4, 2);
    put16(t + pos + 8, MPS_INTI_EDGE_HIGH);
    pos += 10;
    /* The SCI is level-triggered, active high. */
    t[pos] = MADT_TYPE_ISO;
    t[pos + 1] = 10;
    t[pos + 3] = cfg->sci_irq;
    put32(t + pos + 4, cfg->sci_irq);
    put16(t + pos + 8, MPS_INTI_LEVEL_HIGH);
    pos += 10;
    for (unsigned j = 0; j < nr_extra_iso; j++) {
        t[pos] = MADT_TYPE_ISO;
        t[pos + 1] = 10;
        t[pos + 3] = extra_iso[j];
        put32(t + pos + 4, extra_iso[j]);
        put16(t + pos + 8, MPS_INTI_LEVEL_HIGH);
        pos += 10;
    }

    /* NMI arrives on LINT1 of every processor. */
    t[pos] = MADT_TYPE_LAPIC_NMI;
    t[pos + 1] = 6;
    t[pos + 2] = 0xff;                         /* all processors */
    put16(t + pos + 3, 0);                     /* conforms to the bus */
    t[pos + 5] = 1;                            /* LINT1 */
    pos += 6;
    if (x2apic) {
        t[pos] = MADT_TYPE_X2APIC_NMI;
        t[pos + 1] = 12;
        put16(t + pos + 2, 0);
        put32(t + pos + 4, 0xffffffffu);       /* all processors */
        t[pos + 8] = 1;
        pos += 12;
    }
    g_assert(pos == len);
    table_finish(t, len);
    return off;
}

static size_t build_fadt(TableArea *a, const AcpiBuildConfig *cfg, uint64_t facs_addr,
                         uint64_t dsdt_addr, GError **errp)
{
    size_t off = area_alloc(a, FADT_REV5_LEN, 16, errp, "FADT");
    uint32_t flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_FIX_RTC;
    uint16_t pm1_evt = cfg->pm_io_base, pm1_cnt = cfg->pm_io_base + 4;
    uint16_t pm_tmr = cfg->pm_io_base + 8;
    uint8_t *t;

    if (off == SIZE_MAX) {
        return off;
    }
    t = a->data + off;
    table_header(t, "FACP", FADT_REV5_LEN, 5);
    put32(t + 36, (uint32_t)facs_addr);        /* FIRMWARE_CTRL */
    put32(t + 40, (uint32_t)dsdt_addr);        /* DSDT */
    t[45] = 0;                                 /* preferred PM profile: unspecified */
    put16(t + 46, cfg->sci_irq);               /* SCI_INT */
    /* SMI_CMD (48), ACPI_ENABLE/DISABLE: zero, the machine is always in
     * ACPI mode (no SMM, SCI_EN is set at reset). */
    put32(t + 56, pm1_evt);                    /* PM1a_EVT_BLK */
    put32(t + 64, pm1_cnt);                    /* PM1a_CNT_BLK */
    put32(t + 76, pm_tmr);                     /* PM_TMR_BLK */
    put32(t + 80, cfg->gpe0_io_base);          /* GPE0_BLK */
    t[88] = 4;                                 /* PM1_EVT_LEN */
    t[89] = 2;                                 /* PM1_CNT_LEN */
    t[91] = 4;                                 /* PM_TMR_LEN */
    t[92] = 4;                                 /* GPE0_BLK_LEN */
    put16(t + 96, 0x0fff);                     /* P_LVL2_LAT: no C2 */
    put16(t + 98, 0x0fff);                     /* P_LVL3_LAT: no C3 */
    t[108] = RTC_CENTURY_INDEX;                /* CENTURY */
    put16(t + 109, FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_8042);
    if (cfg->reset_port) {
        flags |= FADT_F_RESET_REG_SUP;
        put_gas_io(t + 116, cfg->reset_port, 1, GAS_ACCESS_BYTE);
        t[128] = cfg->reset_value;
    }
    /* PWR_BUTTON (bit 4) clear: the power button is the fixed feature. */
    put32(t + 112, flags);
    /* X_FIRMWARE_CTRL (132) stays zero: the spec wants it zero when
     * FIRMWARE_CTRL is used. */
    put64(t + 140, dsdt_addr);                 /* X_DSDT */
    put_gas_io(t + 148, pm1_evt, 4, GAS_ACCESS_WORD);       /* X_PM1a_EVT_BLK */
    put_gas_io(t + 172, pm1_cnt, 2, GAS_ACCESS_WORD);       /* X_PM1a_CNT_BLK */
    put_gas_io(t + 208, pm_tmr, 4, GAS_ACCESS_DWORD);       /* X_PM_TMR_BLK */
    put_gas_io(t + 220, cfg->gpe0_io_base, 4, GAS_ACCESS_BYTE); /* X_GPE0_BLK */
    table_finish(t, FADT_REV5_LEN);
    return off;
}

bool acpi_build_tables(const AcpiBuildConfig *cfg, uint8_t *area, size_t area_size,
                       uint64_t area_base, uint64_t *rsdp_addr, size_t *used_size,
                       GError **errp)
{
    TableArea a = { .data = area, .size = area_size, .base = area_base };
    size_t rsdp, facs, dsdt, fadt, madt, rsdt, xsdt;
    GByteArray *aml;
    uint8_t *t;

    if (!config_check(cfg, area_base, area_size, errp)) {
        return false;
    }
    rsdp = area_alloc(&a, RSDP_LEN, 16, errp, "RSDP");
    if (rsdp == SIZE_MAX) {
        return false;
    }
    if (area_base + rsdp < ACPI_RSDP_SCAN_BASE || area_base + rsdp + RSDP_LEN > ACPI_RSDP_SCAN_END) {
        /* Still usable through boot_params.acpi_rsdp_addr, not by scanning. */
        g_debug("ACPI: RSDP at 0x%" PRIx64 " is outside the legacy scan window",
                area_base + rsdp);
    }

    facs = area_alloc(&a, FACS_LEN, 64, errp, "FACS");
    if (facs == SIZE_MAX) {
        return false;
    }
    t = area + facs;
    memcpy(t, "FACS", 4);
    put32(t + 4, FACS_LEN);
    t[32] = 2;                                 /* version */

    aml = build_dsdt_body(cfg);
    dsdt = area_alloc(&a, ACPI_HEADER_LEN + aml->len, 16, errp, "DSDT");
    if (dsdt == SIZE_MAX) {
        g_byte_array_unref(aml);
        return false;
    }
    t = area + dsdt;
    /* Revision 2: integers in the definition block are 64 bits wide. */
    table_header(t, "DSDT", ACPI_HEADER_LEN + aml->len, 2);
    memcpy(t + ACPI_HEADER_LEN, aml->data, aml->len);
    table_finish(t, ACPI_HEADER_LEN + aml->len);
    g_byte_array_unref(aml);

    fadt = build_fadt(&a, cfg, area_base + facs, area_base + dsdt, errp);
    if (fadt == SIZE_MAX) {
        return false;
    }
    madt = build_madt(&a, cfg, errp);
    if (madt == SIZE_MAX) {
        return false;
    }

    rsdt = area_alloc(&a, ACPI_HEADER_LEN + 2 * 4, 16, errp, "RSDT");
    if (rsdt == SIZE_MAX) {
        return false;
    }
    t = area + rsdt;
    table_header(t, "RSDT", ACPI_HEADER_LEN + 2 * 4, 1);
    put32(t + 36, (uint32_t)(area_base + fadt));
    put32(t + 40, (uint32_t)(area_base + madt));
    table_finish(t, ACPI_HEADER_LEN + 2 * 4);

    xsdt = area_alloc(&a, ACPI_HEADER_LEN + 2 * 8, 16, errp, "XSDT");
    if (xsdt == SIZE_MAX) {
        return false;
    }
    t = area + xsdt;
    table_header(t, "XSDT", ACPI_HEADER_LEN + 2 * 8, 1);
    put64(t + 36, area_base + fadt);
    put64(t + 44, area_base + madt);
    table_finish(t, ACPI_HEADER_LEN + 2 * 8);

    /* RSDP v2: the first 20 bytes have their own checksum (ACPI 1.0
     * readers), the whole 36 bytes the extended one. */
    t = area + rsdp;
    memcpy(t, "RSD PTR ", 8);
    memcpy(t + 9, ACPI_OEM_ID, 6);
    t[15] = 2;
    put32(t + 16, (uint32_t)(area_base + rsdt));
    put32(t + 20, RSDP_LEN);
    put64(t + 24, area_base + xsdt);
    t[8] = (uint8_t)-acpi_checksum(t, RSDP_V1_LEN);
    t[32] = (uint8_t)-acpi_checksum(t, RSDP_LEN);

    *rsdp_addr = area_base + rsdp;
    if (used_size) {
        *used_size = a.used;
    }
    return true;
}
