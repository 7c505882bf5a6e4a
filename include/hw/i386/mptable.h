/*
 * Intel MultiProcessor Specification 1.4 tables, for guests booted with
 * -no-acpi: a floating pointer structure (in 0xF0000-0xFFFFF, where an OS
 * scans for it) and the configuration table it points to (processors,
 * buses, the IOAPIC and the interrupt wiring). See docs/acpi.md.
 */
#ifndef HW_I386_MPTABLE_H
#define HW_I386_MPTABLE_H

#include "hw/i386/acpi-build.h"

#define MPTABLE_SCAN_BASE   0xf0000ULL
#define MPTABLE_SCAN_END    0x100000ULL
#define MPTABLE_MAX_CPUS    254     /* APIC ids are one byte; 0xff means "all" */

/* Builds the MP tables from the same description as the ACPI tables (it
 * uses nr_cpus, ioapic_id/addr, lapic_addr, pci_intx_*). The floating
 * pointer goes at the first 16-byte boundary at or after 0xF0000 inside
 * the area (so the lower part of a 0xE0000-based area stays free for ACPI
 * tables), the configuration table right after it. *fp_addr receives the
 * floating pointer's guest address. False with *errp set if the config is
 * invalid or the tables do not fit in the area's part within
 * 0xF0000-0xFFFFF. */
bool mptable_build(const AcpiBuildConfig *cfg, uint8_t *area, size_t area_size,
                   uint64_t area_base, uint64_t *fp_addr, GError **errp);

#endif
