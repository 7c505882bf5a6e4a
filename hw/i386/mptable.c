/*
 * MP specification 1.4 tables (chapter 4, "MP Configuration Table").
 * Entries appear in the order the spec requires: processors, buses,
 * I/O APICs, I/O interrupt assignments, local interrupt assignments.
 * Bus 0 is PCI (the host bridge's bus), bus 1 is ISA.
 */
#include "hw/i386/mptable.h"

#define MP_FP_LEN            16
#define MP_HEADER_LEN        44
#define MP_SPEC_REV          4        /* version 1.4 */

#define MP_ENTRY_PROCESSOR   0        /* 20 bytes */
#define MP_ENTRY_BUS         1        /* 8 bytes from here on */
#define MP_ENTRY_IOAPIC      2
#define MP_ENTRY_IO_INT      3
#define MP_ENTRY_LOCAL_INT   4

#define MP_CPU_ENABLED       0x01
#define MP_CPU_BSP           0x02
#define MP_LAPIC_VERSION     0x14
#define MP_IOAPIC_VERSION    0x11
#define MP_IOAPIC_ENABLED    0x01
/* CPU signature (family 6) and feature flags (FPU, APIC) for the entry. */
#define MP_CPU_SIGNATURE     0x00000600
#define MP_CPU_FEATURES      0x00000201

#define MP_INT_INT           0
#define MP_INT_NMI           1
#define MP_INT_EXTINT        3
/* Polarity bits 0-1, trigger bits 2-3: 0 = conforms to the bus. */
#define MP_FLAGS_CONFORM     0x0000
#define MP_FLAGS_LEVEL_LOW   0x000f

#define MP_BUS_PCI           0
#define MP_BUS_ISA           1
#define MP_ALL_LAPICS        0xff

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

static uint8_t *put_int_entry(uint8_t *e, uint8_t entry_type, uint8_t int_type, uint16_t flags,
                              uint8_t bus, uint8_t bus_irq, uint8_t dest_id, uint8_t dest_pin)
{
    e[0] = entry_type;
    e[1] = int_type;
    put16(e + 2, flags);
    e[4] = bus;
    e[5] = bus_irq;
    e[6] = dest_id;
    e[7] = dest_pin;
    return e + 8;
}

bool mptable_build(const AcpiBuildConfig *cfg, uint8_t *area, size_t area_size,
                   uint64_t area_base, uint64_t *fp_addr, GError **errp)
{
    unsigned nr_isa_ints = 15 + 1;        /* IRQ 0..15 but 2, plus ExtINT on pin 0 */
    unsigned nr_pci_ints = cfg->pci_intx_routing ? 32 * 4 : 0;
    unsigned nr_entries = cfg->nr_cpus + 2 + 1 + nr_isa_ints + nr_pci_ints + 2;
    size_t table_len = MP_HEADER_LEN + 20 * cfg->nr_cpus + 8 * (nr_entries - cfg->nr_cpus);
    uint64_t start, fp, table, area_end;
    uint8_t *t, *e;

    if (cfg->nr_cpus < 1 || cfg->nr_cpus > MPTABLE_MAX_CPUS) {
        error_setg(errp, "MP table: %u CPUs is outside 1..%u", cfg->nr_cpus, MPTABLE_MAX_CPUS);
        return false;
    }
    if (cfg->ioapic_addr >= 0x100000000ULL || cfg->lapic_addr >= 0x100000000ULL) {
        error_setg(errp, "MP table: APIC addresses must lie below 4 GiB");
        return false;
    }
    for (int i = 0; cfg->pci_intx_routing && i < 4; i++) {
        if (cfg->pci_intx_gsi[i] >= 24) {
            error_setg(errp, "MP table: PCI INTx GSI %u is not an IOAPIC input",
                       cfg->pci_intx_gsi[i]);
            return false;
        }
    }
    if (area_base > MPTABLE_SCAN_END || area_size > MPTABLE_SCAN_END - area_base) {
        error_setg(errp, "MP table: the area must end at or below 1 MiB");
        return false;
    }
    area_end = area_base + area_size;
    start = KESTREL_ALIGN_UP(MAX(area_base, MPTABLE_SCAN_BASE), 16);
    fp = start;
    table = fp + MP_FP_LEN;
    if (table > area_end || table_len > area_end - table) {
        error_setg(errp, "MP table: %zu bytes do not fit in the area between 0xf0000 "
                   "and 0x%" PRIx64, MP_FP_LEN + table_len, area_end);
        return false;
    }

    t = area + (table - area_base);
    memset(t, 0, table_len);
    memcpy(t, "PCMP", 4);
    put16(t + 4, (uint16_t)table_len);
    t[6] = MP_SPEC_REV;
    memcpy(t + 8, "KESTRL  ", 8);              /* OEM id */
    memcpy(t + 16, "KESTREL PC  ", 12);        /* product id */
    put16(t + 34, (uint16_t)nr_entries);
    put32(t + 36, (uint32_t)cfg->lapic_addr);
    e = t + MP_HEADER_LEN;

    for (unsigned i = 0; i < cfg->nr_cpus; i++) {
        e[0] = MP_ENTRY_PROCESSOR;
        e[1] = (uint8_t)i;                     /* local APIC id */
        e[2] = MP_LAPIC_VERSION;
        e[3] = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
        put32(e + 4, MP_CPU_SIGNATURE);
        put32(e + 8, MP_CPU_FEATURES);
        e += 20;
    }

    e[0] = MP_ENTRY_BUS;
    e[1] = MP_BUS_PCI;
    memcpy(e + 2, "PCI   ", 6);
    e += 8;
    e[0] = MP_ENTRY_BUS;
    e[1] = MP_BUS_ISA;
    memcpy(e + 2, "ISA   ", 6);
    e += 8;

    e[0] = MP_ENTRY_IOAPIC;
    e[1] = cfg->ioapic_id;
    e[2] = MP_IOAPIC_VERSION;
    e[3] = MP_IOAPIC_ENABLED;
    put32(e + 4, (uint32_t)cfg->ioapic_addr);
    e += 8;

    /* The 8259's output reaches IOAPIC input 0 (virtual wire via the IOAPIC). */
    e = put_int_entry(e, MP_ENTRY_IO_INT, MP_INT_EXTINT, MP_FLAGS_CONFORM, MP_BUS_ISA, 0,
                      cfg->ioapic_id, 0);
    for (unsigned irq = 0; irq < 16; irq++) {
        if (irq == 2) {
            continue;                          /* the cascade: not an ISA line */
        }
        /* The PIT's IRQ 0 is wired to input 2; the others 1:1. */
        e = put_int_entry(e, MP_ENTRY_IO_INT, MP_INT_INT, MP_FLAGS_CONFORM, MP_BUS_ISA,
                          (uint8_t)irq, cfg->ioapic_id, (uint8_t)(irq == 0 ? 2 : irq));
    }
    for (unsigned slot = 0; nr_pci_ints && slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            /* PCI source IRQ: device number in bits 2-6, pin (0 = INTA) in 0-1. */
            e = put_int_entry(e, MP_ENTRY_IO_INT, MP_INT_INT, MP_FLAGS_LEVEL_LOW, MP_BUS_PCI,
                              (uint8_t)((slot << 2) | pin), cfg->ioapic_id,
                              cfg->pci_intx_gsi[(slot + pin) & 3]);
        }
    }

    /* LINT0 takes ExtINT (8259 virtual wire), LINT1 the NMI, on every CPU. */
    e = put_int_entry(e, MP_ENTRY_LOCAL_INT, MP_INT_EXTINT, MP_FLAGS_CONFORM, MP_BUS_ISA, 0,
                      MP_ALL_LAPICS, 0);
    e = put_int_entry(e, MP_ENTRY_LOCAL_INT, MP_INT_NMI, MP_FLAGS_CONFORM, MP_BUS_ISA, 0,
                      MP_ALL_LAPICS, 1);
    g_assert((size_t)(e - t) == table_len);
    t[7] = (uint8_t)-acpi_checksum(t, table_len);

    t = area + (fp - area_base);
    memset(t, 0, MP_FP_LEN);
    memcpy(t, "_MP_", 4);
    put32(t + 4, (uint32_t)table);
    t[8] = 1;                                  /* length in 16-byte units */
    t[9] = MP_SPEC_REV;
    /* Feature bytes zero: a configuration table is present; no IMCR (the
     * system uses virtual wire mode). */
    t[10] = (uint8_t)-acpi_checksum(t, MP_FP_LEN);

    *fp_addr = fp;
    return true;
}
