/*
 * The "pc" machine: memory map, default devices, firmware interface and
 * kernel boot. The layout is described in docs/pc-machine.md.
 */
#ifndef HW_I386_PC_H
#define HW_I386_PC_H

#include "hw/boards.h"
#include "hw/qdev.h"
#include "hw/i386/e820.h"
#include "hw/i386/x86-boot.h"
#include "hw/nvram/fw_cfg.h"
#include "hw/irq.h"

/* RAM of this size or more is split: 3 GiB below the PCI hole, the rest
 * above 4 GiB. Smaller RAM sits entirely below 4 GiB. */
#define PC_RAM_SPLIT_THRESHOLD   0xe0000000ULL
#define PC_RAM_SPLIT_BELOW_4G    0xc0000000ULL
#define PC_ABOVE_4G_BASE         0x100000000ULL

/* Fixed windows of the physical address space (see docs/pc-machine.md). */
#define PC_LOW_RAM_END           0xa0000ULL     /* 640 KiB: conventional memory ends */
#define PC_HIGH_RAM_BASE         0x100000ULL    /* 1 MiB: extended memory starts */
#define PC_BIOS_AREA_BASE        0xc0000ULL     /* option ROMs + system BIOS (next issue) */
#define PC_BIOS_TOP_SIZE         0x40000ULL     /* BIOS image alias below 4 GiB (next issue) */
#define PC_IOAPIC_BASE           0xfec00000ULL
#define PC_LAPIC_BASE            0xfee00000ULL

/* The BIOS area 0xE0000-0xFFFFF: a ROM holding the firmware tables (ACPI
 * or the MP table) that Linux finds by scanning it. */
#define PC_BIOS_AREA_TABLES_BASE 0xe0000ULL
#define PC_BIOS_AREA_TABLES_SIZE 0x20000ULL

/* IOAPIC pins; ISA IRQ n is GSI n. */
#define PC_NUM_GSIS              24
#define PC_COM_IRQ(index)        (((index) & 1) ? 3 : 4)

#define PC_DEFAULT_RAM_SIZE      (128ULL << 20)
#define PC_MAX_E820_ENTRIES      8

typedef struct PCMachineState {
    MemoryRegion *ram;                 /* the whole RAM (the backend's region) */
    MemoryRegion ram_below_4g;         /* alias: ram[0, below) at 0 */
    MemoryRegion ram_above_4g;         /* alias: ram[below, size) at 4 GiB */
    X86MemoryLayout layout;
    FWCfgState *fw_cfg;
    DeviceState *serials[MAX_SERIAL_PORTS];
    X86BootPlan *boot_plan;            /* what reset (re)loads; NULL before init */
    MemoryRegion bios_area;            /* ROM at PC_BIOS_AREA_TABLES_BASE */
    GBytes *bios_area_image;           /* its contents, rewritten at each reset */
    qemu_irq gsi[PC_NUM_GSIS];         /* NULL where nothing handles the line */
    struct PCIBus *pci_bus;            /* bus 0 behind the i440FX host bridge */
    /* Kestrel's own interrupt controllers and PIT (only without an
     * in-kernel irqchip; see docs/interrupts.md). */
    DeviceState *pic, *ioapic, *pit;
} PCMachineState;

/* How much RAM goes below 4 GiB and how much above. */
void pc_ram_split(uint64_t ram_size, uint64_t *below_4g, uint64_t *above_4g);
/* Maps `ram` (ram_size bytes) into system_memory as the two aliases
 * "ram-below-4g" and (if needed) "ram-above-4g", and fills pcms->layout. */
void pc_memory_init(PCMachineState *pcms, MemoryRegion *system_memory, MemoryRegion *ram,
                    uint64_t ram_size);
/* Adds the machine's standard items to fw_cfg (RAM size, CPUs, UUID,
 * nographic, etc/e820). */
bool pc_fw_cfg_populate(FWCfgState *fw_cfg, const MachineState *ms,
                        const X86MemoryLayout *layout, unsigned max_cpus, GError **errp);
/* Puts every vCPU in its power-on state (A20 on) and, if a boot plan exists,
 * loads it and points the boot CPU at its entry. */
void pc_boot_cpus(PCMachineState *pcms);

#endif
