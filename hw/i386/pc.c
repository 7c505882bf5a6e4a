/*
 * The "pc" machine (first cut): RAM split around the PCI hole like an
 * i440FX PC, 16550 UARTs for -serial, fw_cfg, and direct kernel boot.
 * There is no firmware yet, so -kernel is required; reset re-runs the
 * kernel loader. The memory map is in docs/pc-machine.md.
 */
#include "hw/i386/pc.h"
#include "hw/i386/multiboot.h"
#include "hw/i386/acpi-build.h"
#include "hw/i386/mptable.h"
#include "hw/acpi/pm.h"
#include "hw/rtc/mc146818rtc.h"
#include "hw/input/i8042.h"
#include "hw/misc/port80.h"
#include "hw/pci-host/i440fx.h"
#include "hw/boards.h"
#include "hw/char/serial.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/hostmem.h"
#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"
#include "hw/intc/apic.h"
#include "hw/timer/i8254.h"
#include "exec/tcg.h"

void pc_ram_split(uint64_t ram_size, uint64_t *below_4g, uint64_t *above_4g)
{
    /* Keep [below, 4 GiB) free for the PCI hole, IOAPIC, LAPIC and BIOS:
     * 512 MiB when all RAM fits under 3.5 GiB, else 1 GiB (from 3 GiB). */
    uint64_t below = ram_size >= PC_RAM_SPLIT_THRESHOLD ? PC_RAM_SPLIT_BELOW_4G : ram_size;

    *below_4g = below;
    *above_4g = ram_size - below;
}

void pc_memory_init(PCMachineState *pcms, MemoryRegion *system_memory, MemoryRegion *ram,
                    uint64_t ram_size)
{
    uint64_t below, above;

    pc_ram_split(ram_size, &below, &above);
    pcms->ram = ram;
    pcms->layout.below_4g_mem_size = below;
    pcms->layout.above_4g_mem_size = above;

    memory_region_transaction_begin();
    memory_region_init_alias(&pcms->ram_below_4g, NULL, "ram-below-4g", ram, 0, below);
    memory_region_add_subregion(system_memory, 0, &pcms->ram_below_4g);
    if (above > 0) {
        memory_region_init_alias(&pcms->ram_above_4g, NULL, "ram-above-4g", ram, below, above);
        memory_region_add_subregion(system_memory, PC_ABOVE_4G_BASE, &pcms->ram_above_4g);
    }
    memory_region_transaction_commit();
}

bool pc_fw_cfg_populate(FWCfgState *fw_cfg, const MachineState *ms,
                        const X86MemoryLayout *layout, unsigned max_cpus, GError **errp)
{
    static const uint8_t uuid[16];   /* no -uuid yet: the nil UUID */
    unsigned cpus = ms->smp_cpus ? ms->smp_cpus : 1;
    /* etc/e820 lists RAM only, as packed little-endian {u64 addr, u64 len,
     * u32 type}: firmware adds its own reservations. */
    uint8_t e820[2 * 20];
    size_t e820_len = 0;

    fw_cfg_add_i64(fw_cfg, FW_CFG_RAM_SIZE, ms->ram_size);
    fw_cfg_add_i16(fw_cfg, FW_CFG_NOGRAPHIC, ms->graphics_enabled ? 0 : 1);
    fw_cfg_add_i16(fw_cfg, FW_CFG_NB_CPUS, (uint16_t)cpus);
    fw_cfg_add_i16(fw_cfg, FW_CFG_MAX_CPUS, (uint16_t)MAX(cpus, max_cpus));
    fw_cfg_add_bytes(fw_cfg, FW_CFG_UUID, uuid, sizeof(uuid));
    fw_cfg_add_i16(fw_cfg, FW_CFG_BOOT_MENU, 0);

    for (unsigned i = 0; i < 2; i++) {
        uint64_t addr = i == 0 ? 0 : PC_ABOVE_4G_BASE;
        uint64_t len = i == 0 ? layout->below_4g_mem_size : layout->above_4g_mem_size;
        uint64_t addr_le = GUINT64_TO_LE(addr), len_le = GUINT64_TO_LE(len);
        uint32_t type_le = GUINT32_TO_LE(E820_RAM);

        if (len == 0) {
            continue;
        }
        memcpy(e820 + e820_len, &addr_le, 8);
        memcpy(e820 + e820_len + 8, &len_le, 8);
        memcpy(e820 + e820_len + 16, &type_le, 4);
        e820_len += 20;
    }
    return fw_cfg_add_file(fw_cfg, "etc/e820", e820, e820_len, errp) != 0;
}

void pc_boot_cpus(PCMachineState *pcms)
{
    for (unsigned i = 0; i < nr_cpus; i++) {
        CPUX86State *env = &cpus[i]->env;
        x86_cpu_reset(env);
        env->a20_enabled = true;
    }
    /* The application processors wait for INIT/SIPI from the boot CPU. */
    for (unsigned i = 1; i < nr_cpus; i++) {
        cpus[i]->env.halted = true;
    }
    if (pcms->bios_area_image) {
        address_space_write_rom(&address_space_memory, PC_BIOS_AREA_TABLES_BASE,
                                g_bytes_get_data(pcms->bios_area_image, NULL),
                                g_bytes_get_size(pcms->bios_area_image));
    }
    if (pcms->boot_plan) {
        /* Only the boot CPU enters the kernel. */
        x86_boot_plan_apply(pcms->boot_plan, nr_cpus > 0 ? &cpus[0]->env : NULL);
    }
}

static void pc_gsi_set(void *opaque, int gsi, int level)
{
    accel_set_gsi((unsigned)gsi, level);
}

/* Without an in-kernel irqchip: ISA IRQ n (n < 16) goes to the PIC and to
 * IOAPIC pin n, except IRQ 0 (the PIT) which reaches pin 2, as the MADT's
 * interrupt source override says. GSI 2 is the PIC cascade: unused (the
 * same routing as KVM's default table). */
static void pc_gsi_set_emulated(void *opaque, int gsi, int level)
{
    PCMachineState *pcms = opaque;

    if (gsi == 2) {
        return;
    }
    if (gsi < 16) {
        i8259_set_irq(pcms->pic, gsi, level);
    }
    ioapic_set_irq(pcms->ioapic, gsi == 0 ? 2 : gsi, level);
}

static void pc_ioapic_eoi(void *opaque, uint8_t vector)
{
    ioapic_eoi_broadcast(opaque, vector);
}

/* Kestrel's own PIC pair, IOAPIC, one local APIC per vCPU and the PIT; the
 * CPU emulator takes interrupts from the APICs (cpu_set_interrupt_ack) and
 * lets them run INIT/SIPI on each vCPU's thread. */
static bool pc_emulated_irqchip_init(PCMachineState *pcms, GError **errp)
{
    pcms->pic = i8259_create(irq_new(apic_bus_pic_intr, NULL, 0), errp);
    if (!pcms->pic) {
        return false;
    }
    pcms->ioapic = ioapic_create(PC_IOAPIC_BASE, apic_bus_deliver, NULL, errp);
    if (!pcms->ioapic) {
        return false;
    }
    apic_bus_set_pic(pcms->pic);
    apic_bus_set_eoi_handler(pc_ioapic_eoi, pcms->ioapic);
    for (unsigned i = 0; i < nr_cpus; i++) {
        if (!apic_create(cpus[i], errp)) {
            return false;
        }
    }
    cpu_set_interrupt_ack(apic_cpu_interrupt_ack, NULL);
    cpu_set_init_sipi_handler(apic_cpu_handle_init_sipi, NULL);
    cpu_set_apic_base_handler(apic_cpu_set_base, NULL);
    for (int i = 0; i < PC_NUM_GSIS; i++) {
        pcms->gsi[i] = irq_new(pc_gsi_set_emulated, pcms, i);
    }
    pcms->pit = i8254_create(pcms->gsi[0], errp);
    return pcms->pit != NULL;
}

/* Interrupt lines: with an accelerator that emulates the PIC and IOAPIC
 * (KVM's in-kernel irqchip) each GSI goes straight to it. Otherwise the
 * machine provides its own controllers. */
static bool pc_gsi_init(PCMachineState *pcms, GError **errp)
{
    if (!accel_irqchip_in_kernel()) {
        return pc_emulated_irqchip_init(pcms, errp);
    }
    for (int i = 0; i < PC_NUM_GSIS; i++) {
        pcms->gsi[i] = irq_new(pc_gsi_set, pcms, i);
    }
    return true;
}

/* One UART per -serial backend, at the standard COM1..COM4 ports. */
static bool pc_create_serials(PCMachineState *pcms, GError **errp)
{
    for (unsigned i = 0; i < MAX_SERIAL_PORTS && serial_backends[i]; i++) {
        pcms->serials[i] = serial_isa_create(i, serial_backends[i], errp);
        if (pcms->serials[i] == NULL) {
            return false;
        }
        serial_set_irq(pcms->serials[i], pcms->gsi[PC_COM_IRQ(i)]);
    }
    return true;
}

/* The firmware tables in the BIOS area: ACPI (and its PM register block),
 * or with -no-acpi an MP table. *rsdp_addr gets the RSDP's address (0
 * without ACPI) for the kernel loader. */
static bool pc_firmware_tables_init(PCMachineState *pcms, MachineState *ms,
                                    uint64_t *rsdp_addr, GError **errp)
{
    AcpiBuildConfig cfg;
    uint8_t *area = g_malloc0(PC_BIOS_AREA_TABLES_SIZE);
    unsigned serial_ports = 0;
    bool ok;

    while (serial_ports < MAX_SERIAL_PORTS && serial_backends[serial_ports]) {
        serial_ports++;
    }
    acpi_build_config_init_pc(&cfg, nr_cpus, pcms->layout.below_4g_mem_size,
                              pcms->layout.above_4g_mem_size);
    cfg.nr_serial_ports = MIN(serial_ports, (unsigned)ACPI_BUILD_MAX_SERIAL);
    *rsdp_addr = 0;
    if (ms->acpi_enabled) {
        ok = acpi_build_tables(&cfg, area, PC_BIOS_AREA_TABLES_SIZE, PC_BIOS_AREA_TABLES_BASE,
                               rsdp_addr, NULL, errp) &&
             acpi_pm_create(cfg.pm_io_base, cfg.gpe0_io_base, pcms->gsi[cfg.sci_irq],
                            errp) != NULL;
    } else {
        uint64_t mp_floating_pointer;
        ok = mptable_build(&cfg, area, PC_BIOS_AREA_TABLES_SIZE, PC_BIOS_AREA_TABLES_BASE,
                           &mp_floating_pointer, errp);
    }
    if (!ok) {
        g_free(area);
        return false;
    }
    pcms->bios_area_image = g_bytes_new_take(area, PC_BIOS_AREA_TABLES_SIZE);
    return true;
}

/* The chipset and legacy devices every PC has: the i440FX host bridge and
 * PIIX3 ISA bridge (PCI bus 0, port 0xCF9 reset), CMOS RTC, keyboard
 * controller and the POST port. */
static bool pc_platform_devices_init(PCMachineState *pcms, MachineState *ms, GError **errp)
{
    DeviceState *rtc = mc146818_rtc_create(pcms->gsi[8], errp);

    if (!rtc) {
        return false;
    }
    mc146818_rtc_set_pc_config(rtc, pcms->layout.below_4g_mem_size,
                               pcms->layout.above_4g_mem_size, ms->smp_cpus);
    pcms->pci_bus = i440fx_create(get_system_memory(), get_system_io(), pcms->gsi, errp);
    return pcms->pci_bus && i8042_create(pcms->gsi[1], pcms->gsi[12], errp) &&
           port80_create(errp);
}

static bool pc_init(MachineState *ms, GError **errp)
{
    PCMachineState *pcms = g_new0(PCMachineState, 1);
    X86KernelLoadOptions kopts;

    ms->board = pcms;
    if (ms->kernel_filename == NULL) {
        error_setg(errp, "no kernel given: Kestrel has no BIOS yet; use -kernel FILE "
                   "(a multiboot image)");
        return false;
    }
    if (ms->ram_backend == NULL || ms->ram_backend->mr.size < ms->ram_size) {
        error_setg(errp, "pc: the machine's RAM backend is missing or smaller than -m");
        return false;
    }

    pc_memory_init(pcms, get_system_memory(), &ms->ram_backend->mr, ms->ram_size);
    if (!memory_region_init_rom(&pcms->bios_area, NULL, "pc.bios-tables",
                                PC_BIOS_AREA_TABLES_SIZE, errp)) {
        return false;
    }
    memory_region_add_subregion_overlap(get_system_memory(), PC_BIOS_AREA_TABLES_BASE,
                                        &pcms->bios_area, 1);
    if (!pc_gsi_init(pcms, errp)) {
        return false;
    }
    if (!pc_platform_devices_init(pcms, ms, errp)) {
        return false;
    }

    pcms->fw_cfg = fw_cfg_init_io(FW_CFG_IO_BASE, true, errp);
    if (pcms->fw_cfg == NULL) {
        return false;
    }
    ms->fw_cfg = pcms->fw_cfg;
    if (!pc_fw_cfg_populate(pcms->fw_cfg, ms, &pcms->layout, ms->smp_cpus, errp)) {
        return false;
    }

    if (!pc_create_serials(pcms, errp)) {
        return false;
    }

    uint64_t rsdp_addr;
    if (!pc_firmware_tables_init(pcms, ms, &rsdp_addr, errp)) {
        return false;
    }

    kopts = (X86KernelLoadOptions) {
        .kernel_filename = ms->kernel_filename,
        .kernel_cmdline = ms->kernel_cmdline,
        .initrd_filename = ms->initrd_filename,
        .layout = pcms->layout,
        .acpi_rsdp_addr = rsdp_addr,
    };
    pcms->boot_plan = x86_load_kernel(&kopts, errp);
    if (pcms->boot_plan == NULL) {
        return false;
    }
    x86_boot_plan_fill_fw_cfg(pcms->boot_plan, pcms->fw_cfg);
    /* The payload goes into RAM at the machine reset that follows init
     * (system_reset), and again at every later reset. */
    return true;
}

static void pc_reset(MachineState *ms)
{
    PCMachineState *pcms = ms->board;

    if (pcms) {
        if (pcms->pci_bus) {
            /* What a BIOS would do: route PIRQs and fill interrupt lines. */
            i440fx_firmware_init(pcms->pci_bus);
        }
        pc_boot_cpus(pcms);
    }
}

static const MachineClass pc_machine_class = {
    /* Versioned like QEMU's, so that libvirt's -machine pc-i440fx-7.2
     * (what it records for a domain) and plain "pc" both work. */
    .name = "pc-i440fx-7.2",
    .alias = "pc",
    .description = "Standard PC (Kestrel i440FX-style)",
    .is_default = true,
    .max_cpus = 255,
    .default_ram_size = PC_DEFAULT_RAM_SIZE,
    .init = pc_init,
    .reset = pc_reset,
};

static void pc_machine_register(void)
{
    machine_class_register(&pc_machine_class);
}
type_init(pc_machine_register)
