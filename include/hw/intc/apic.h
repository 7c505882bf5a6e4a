/*
 * Local APICs (one per vCPU, xAPIC MMIO mode at 0xFEE00000) for
 * accelerators without an in-kernel irqchip (TCG). The MMIO window is
 * shared: an access from a vCPU thread reaches that vCPU's APIC, a write
 * from anything else (a device) is decoded as an MSI. x2APIC and the
 * TSC-deadline timer are not advertised and not implemented.
 * See docs/interrupts.md.
 */
#ifndef HW_INTC_APIC_H
#define HW_INTC_APIC_H

#include "hw/qdev.h"
#include "hw/core/cpu.h"
#include "hw/intc/ioapic.h"

#define TYPE_APIC          "apic"
#define APIC_DEFAULT_BASE  0xfee00000ULL
#define APIC_VERSION_VALUE 0x00050014u     /* version 0x14, 6 LVT entries */

/* Delivery modes (ICR, LVT, IOAPIC redirection entries, MSI data). */
#define APIC_DM_FIXED    0
#define APIC_DM_LOWEST   1
#define APIC_DM_SMI      2
#define APIC_DM_NMI      4
#define APIC_DM_INIT     5
#define APIC_DM_STARTUP  6
#define APIC_DM_EXTINT   7

/* Register offsets in the 4 KiB page. */
#define APIC_REG_ID      0x020
#define APIC_REG_VERSION 0x030
#define APIC_REG_TPR     0x080
#define APIC_REG_APR     0x090
#define APIC_REG_PPR     0x0a0
#define APIC_REG_EOI     0x0b0
#define APIC_REG_RRD     0x0c0
#define APIC_REG_LDR     0x0d0
#define APIC_REG_DFR     0x0e0
#define APIC_REG_SVR     0x0f0
#define APIC_REG_ISR     0x100
#define APIC_REG_TMR     0x180
#define APIC_REG_IRR     0x200
#define APIC_REG_ESR     0x280
#define APIC_REG_ICR_LO  0x300
#define APIC_REG_ICR_HI  0x310
#define APIC_REG_LVT_TIMER   0x320
#define APIC_REG_LVT_THERMAL 0x330
#define APIC_REG_LVT_PERF    0x340
#define APIC_REG_LVT_LINT0   0x350
#define APIC_REG_LVT_LINT1   0x360
#define APIC_REG_LVT_ERROR   0x370
#define APIC_REG_TIMER_INIT  0x380
#define APIC_REG_TIMER_CUR   0x390
#define APIC_REG_TIMER_DIV   0x3e0

/* ESR bits. */
#define APIC_ESR_SEND_ILLEGAL_VECTOR    (1u << 5)
#define APIC_ESR_RECV_ILLEGAL_VECTOR    (1u << 6)
#define APIC_ESR_ILLEGAL_REGISTER       (1u << 7)

#define APIC_LVT_MASKED  (1u << 16)

/* Creates the local APIC of `cpu` (the first one also maps the MMIO window
 * at APIC_DEFAULT_BASE). */
DeviceState *apic_create(CPUState *cpu, GError **errp);
/* The APIC of a vCPU, or NULL. */
DeviceState *apic_of_cpu(CPUState *cpu);

/* Wiring: the PIC whose INT arrives on LINT0 (ExtINT), and who hears EOIs
 * of level-triggered vectors (the IOAPIC). */
void apic_bus_set_pic(DeviceState *pic);
void apic_bus_set_eoi_handler(void (*fn)(void *opaque, uint8_t vector), void *opaque);
/* The PIC's INT output changed (qemu_irq handler shape). */
void apic_bus_pic_intr(void *opaque, int n, int level);
/* Sends an interrupt message to the APICs it addresses (IOAPIC, MSI);
 * true if one of them accepted it (see APICBusDeliverFn). */
bool apic_bus_deliver(void *opaque, const APICMessage *msg);

/* The interrupt-acknowledge function for CPU emulators (the vector of the
 * highest deliverable interrupt, or -1). Big lock held. */
int apic_cpu_interrupt_ack(void *opaque, CPUState *cpu);
/* Runs pending INIT / start-up IPIs of `cpu` on its own thread (the
 * CPU emulator's hook; big lock held). */
void apic_cpu_handle_init_sipi(void *opaque, CPUState *cpu);
/* WRMSR IA32_APIC_BASE: false (#GP) for reserved bits; follows global
 * enable/disable and relocation of the register page. Big lock held. */
bool apic_cpu_set_base(void *opaque, CPUState *cpu, uint64_t value);

/* Register access as the APIC's own CPU would do it (tests). */
uint32_t apic_reg_read(DeviceState *dev, unsigned offset);
void apic_reg_write(DeviceState *dev, unsigned offset, uint32_t value);
/* Whether the CPU is waiting for a start-up IPI (tests). */
bool apic_waiting_for_sipi(DeviceState *dev);

#endif
