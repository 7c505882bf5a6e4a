/*
 * ACPI tables for the pc machine, built by Kestrel itself (no external
 * firmware): RSDP (v2), XSDT, RSDT, FADT (revision 5), FACS, DSDT and MADT.
 * They are laid out in a caller-provided area, normally the 128 KiB BIOS
 * area at 0xE0000-0xFFFFF, where an OS's RSDP scan finds them. See
 * docs/acpi.md.
 */
#ifndef HW_I386_ACPI_BUILD_H
#define HW_I386_ACPI_BUILD_H

#include "kestrel/osdep.h"

#define ACPI_OEM_ID          "KESTRL"     /* 6 characters */
#define ACPI_OEM_TABLE_ID    "KESTREL "   /* 8 characters */
#define ACPI_BUILD_MAX_CPUS  1024
#define ACPI_BUILD_MAX_SERIAL 4

/* The RSDP must be 16-byte aligned within this window for the legacy scan. */
#define ACPI_RSDP_SCAN_BASE  0xe0000ULL
#define ACPI_RSDP_SCAN_END   0x100000ULL

typedef struct AcpiBuildConfig {
    unsigned nr_cpus;               /* APIC IDs 0..nr_cpus-1, processor UIDs the same */
    uint64_t below_4g_ram_end;      /* first address past low RAM (the PCI hole starts here) */
    uint64_t above_4g_ram_size;     /* RAM at 4 GiB and up */
    uint64_t pci_hole64_size;       /* 64-bit PCI window after high RAM (0: none) */
    uint16_t pm_io_base;            /* acpi-pm block: PM1a_EVT, +4 PM1a_CNT, +8 PM_TMR */
    uint16_t gpe0_io_base;          /* 4-byte GPE0 block */
    uint8_t sci_irq;                /* ISA IRQ (= GSI) of the SCI, < 16 */
    uint8_t ioapic_id;
    uint64_t ioapic_addr;
    uint64_t lapic_addr;
    uint16_t reset_port;            /* FADT RESET_REG (I/O); 0: no reset register */
    uint8_t reset_value;
    unsigned nr_serial_ports;       /* COM1.. described in the DSDT (<= 4) */
    /* Static PCI INTx routing for _PRT (and the MP table): device D's pin P
     * (0 = INTA) raises GSI pci_intx_gsi[(D + P) % 4]. Off: no _PRT. */
    bool pci_intx_routing;
    uint8_t pci_intx_gsi[4];
} AcpiBuildConfig;

/* Fills cfg with the pc machine's values for this CPU count and RAM split
 * (PM block 0x600, GPE0 0xafe0, SCI 9, IOAPIC id 0 at 0xfec00000, reset
 * register 0xcf9 <- 6, one COM port, 32 GiB 64-bit window, no _PRT). */
void acpi_build_config_init_pc(AcpiBuildConfig *cfg, unsigned nr_cpus,
                               uint64_t below_4g_ram_end, uint64_t above_4g_ram_size);

/* Builds every table into area[0, area_size), which the guest sees at
 * area_base (it must lie below 4 GiB); bytes not used by tables are left
 * as they were. *rsdp_addr receives the guest address of the RSDP (16-byte
 * aligned, first in the area). False with *errp set if the config is
 * invalid or the tables do not fit. *used_size (may be NULL) receives the
 * number of bytes used from the start of the area. */
bool acpi_build_tables(const AcpiBuildConfig *cfg, uint8_t *area, size_t area_size,
                       uint64_t area_base, uint64_t *rsdp_addr, size_t *used_size,
                       GError **errp);

/* The 8-bit sum of len bytes (a valid table sums to 0). */
uint8_t acpi_checksum(const uint8_t *data, size_t len);

#endif
