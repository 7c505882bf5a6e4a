/*
 * KVM's in-kernel interrupt controllers (PIC, IOAPIC, LAPIC) and PIT, and
 * the GSI routing table that connects interrupt sources to them.
 *
 * Two halves:
 *   - KVMIrqRoutes: a routing table built in memory (no ioctls, unit
 *     tested): the standard PC routes plus MSI routes added at run time;
 *   - kvm_irqchip_*: the VM's table, pushed with KVM_SET_GSI_ROUTING, and
 *     GSI levels / MSIs sent into the kernel. All of these need the big
 *     lock and an in-kernel irqchip (kvm_irqchip_in_kernel()).
 * See docs/kvm.md, "Interrupts".
 */
#ifndef ACCEL_KVM_IRQCHIP_H
#define ACCEL_KVM_IRQCHIP_H

#include <linux/kvm.h>

#include "kestrel/osdep.h"

/* GSIs the PC's IOAPIC has (ISA IRQs 0-15, PCI INTx 16-23); MSI routes get
 * GSIs from here up. */
#define KVM_PC_IOAPIC_PINS 24
#define KVM_PC_FIRST_MSI_GSI KVM_PC_IOAPIC_PINS

typedef struct KVMIrqRoutes KVMIrqRoutes;

/* An empty table for at most max_entries routes (KVM_CAP_IRQ_ROUTING). */
KVMIrqRoutes *kvm_irq_routes_new(unsigned max_entries);
void kvm_irq_routes_free(KVMIrqRoutes *r);
/*
 * The PC routes (what QEMU's pc machine and the MADT that goes with it
 * expect): GSI n (n < 16, n != 2) -> PIC pin n and IOAPIC pin n; GSI 0
 * (the PIT, which KVM raises on GSI 0) -> PIC pin 0 and IOAPIC pin 2, the
 * "ISA IRQ 0 -> GSI 2" interrupt source override; GSI 2 has no route (PIC
 * pin 2 is the cascade); GSI 16-23 -> IOAPIC only. false if the table is
 * too small.
 */
bool kvm_irq_routes_add_pc_defaults(KVMIrqRoutes *r);
/* Adds an MSI route on the lowest free GSI >= KVM_PC_FIRST_MSI_GSI and
 * returns it, or -ENOSPC. */
int kvm_irq_routes_add_msi(KVMIrqRoutes *r, uint64_t address, uint32_t data);
/* Changes an MSI route's message; false if gsi is not an MSI route. */
bool kvm_irq_routes_update_msi(KVMIrqRoutes *r, unsigned gsi, uint64_t address,
                               uint32_t data);
/* Removes every route of gsi (its number becomes free); false if none. */
bool kvm_irq_routes_remove(KVMIrqRoutes *r, unsigned gsi);
/* Whether some route delivers gsi. */
bool kvm_irq_routes_has_gsi(const KVMIrqRoutes *r, unsigned gsi);
/* The table in KVM_SET_GSI_ROUTING's format (owned by r). */
const struct kvm_irq_routing *kvm_irq_routes_table(const KVMIrqRoutes *r);

/* ---- the VM's irqchip (accel/kvm/kvm-irqchip.c) ---- */

typedef struct KVMState KVMState;

/* KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2 and the PC routes; called by
 * init_machine before any vCPU exists. */
bool kvm_irqchip_create(KVMState *s, GError **errp);
void kvm_irqchip_destroy(KVMState *s);
/* Power-on state of the PICs, IOAPIC and PIT (machine reset). */
void kvm_irqchip_reset(KVMState *s);

bool kvm_irqchip_in_kernel(void);
/* Drives a GSI (an IOAPIC pin, which for ISA IRQs 0-15 also drives the PIC)
 * to level; on an MSI route, level 1 sends the message. */
void kvm_irqchip_set_gsi(unsigned gsi, int level);
/* MSI routes for devices that signal by message (virtio-pci later): the
 * returned GSI is raised with kvm_irqchip_set_gsi(gsi, 1) (or bound to an
 * irqfd). Each change is pushed to KVM at once. -errno on failure. */
int kvm_irqchip_add_msi_route(uint64_t address, uint32_t data);
int kvm_irqchip_update_msi_route(unsigned gsi, uint64_t address, uint32_t data);
void kvm_irqchip_release_route(unsigned gsi);
/* Sends one MSI without a route (KVM_SIGNAL_MSI). -errno on failure; 0 if
 * the interrupt was not delivered (blocked), >0 if it was. */
int kvm_irqchip_send_msi(uint64_t address, uint32_t data);

#endif
