/*
 * Pure conversions between Kestrel's x86 state and KVM's structures. No
 * ioctls here, so the unit tests run without /dev/kvm.
 */
#ifndef TARGET_I386_KVM_X86_H
#define TARGET_I386_KVM_X86_H

#include <linux/kvm.h>

#include "target/i386/cpu.h"

/* Segments: SegmentCache (DESC_* flags, byte-granular limit) <-> kvm_segment. */
void kvm_segment_from_cache(struct kvm_segment *out, const SegmentCache *in);
void kvm_segment_to_cache(SegmentCache *out, const struct kvm_segment *in);

/* x87/SSE state: the legacy (FXSAVE) area at the start of an XSAVE image
 * <-> struct kvm_fpu, for hosts without KVM_CAP_XSAVE. to_xsave marks the
 * x87 and SSE components present in the XSAVE header. */
void kvm_fpu_from_xsave(struct kvm_fpu *out, const uint8_t *xsave);
void kvm_fpu_to_xsave(uint8_t *xsave, const struct kvm_fpu *in);

/* The CPU model's CPUID answer for one (leaf, subleaf): regs = eax, ebx, ecx, edx. */
typedef void (*KVMCPUIDModelFn)(void *opaque, uint32_t leaf, uint32_t subleaf,
                                uint32_t regs[4]);

typedef struct KVMCPUIDModel {
    KVMCPUIDModelFn get;
    void *opaque;
    uint32_t apic_id;
    /* Cores per package (0 counts as 1), for the topology fields KVM's
     * table holds in passthrough (leaf 4 EAX[31:14]); the model's
     * x86_cpu_get_cpuid describes the same topology elsewhere. */
    uint32_t nr_cores;
    /* "-cpu host" (and "max" under KVM): everything KVM supports. */
    bool passthrough;
} KVMCPUIDModel;

/* Leaf 1 ECX bit 31: "running under a hypervisor". Not in KVM's supported
 * set, but every guest should see it. */
#define CPUID_EXT_HYPERVISOR (1u << 31)
/* XCR0 bits of AMX (tile config/data): their state does not fit the 4 KiB
 * XSAVE image Kestrel keeps, so they are never offered. */
#define XSTATE_AMX_MASK ((1ull << 17) | (1ull << 18))
/* KVM paravirtual features (leaf 0x40000001 EAX) Kestrel lets the guest use:
 * clock source (0, 3), no I/O delay (1), stable clock bit (24). The others
 * need an in-kernel irqchip or userspace support Kestrel does not have yet. */
#define KVM_PV_FEATURES_ALLOWED ((1u << 0) | (1u << 1) | (1u << 3) | (1u << 24))

/* Builds the KVM_SET_CPUID2 table for a vCPU: KVM's supported set filtered
 * through the model (for each leaf, supported & model, identity leaves from
 * the model, APIC ID and topology leaves set to model->apic_id). Returns a
 * g_malloc'ed table. */
struct kvm_cpuid2 *kvm_x86_build_cpuid(const struct kvm_cpuid2 *supported,
                                       const KVMCPUIDModel *model);

/* The xAPIC register page a vCPU's in-kernel LAPIC gets at reset
 * (KVM_SET_LAPIC), as a BIOS leaves it: ID = apic_id, LVTs masked, DFR flat,
 * spurious vector 0xff. The boot processor is set up for virtual-wire mode
 * (APIC software-enabled, LINT0 = ExtINT so the PIC's interrupts reach it,
 * LINT1 = NMI). */
void kvm_x86_lapic_reset_state(struct kvm_lapic_state *out, uint32_t apic_id, bool bsp);

/* xAPIC register offsets in struct kvm_lapic_state.regs. */
#define KVM_LAPIC_REG_ID      0x20
#define KVM_LAPIC_REG_TPR     0x80
#define KVM_LAPIC_REG_LDR     0xd0
#define KVM_LAPIC_REG_DFR     0xe0
#define KVM_LAPIC_REG_SVR     0xf0
#define KVM_LAPIC_REG_LVT_CMCI 0x2f0
#define KVM_LAPIC_REG_LVT_TIMER 0x320
#define KVM_LAPIC_REG_LVT_THERMAL 0x330
#define KVM_LAPIC_REG_LVT_PERF 0x340
#define KVM_LAPIC_REG_LVT_LINT0 0x350
#define KVM_LAPIC_REG_LVT_LINT1 0x360
#define KVM_LAPIC_REG_LVT_ERROR 0x370
#define KVM_LAPIC_LVT_MASKED  (1u << 16)
#define KVM_LAPIC_DM_NMI      (4u << 8)
#define KVM_LAPIC_DM_EXTINT   (7u << 8)
#define KVM_LAPIC_SVR_ENABLE  (1u << 8)

uint32_t kvm_lapic_reg_get(const struct kvm_lapic_state *s, unsigned offset);
void kvm_lapic_reg_set(struct kvm_lapic_state *s, unsigned offset, uint32_t value);

/* Finds an entry (NULL when absent). */
const struct kvm_cpuid_entry2 *kvm_cpuid_find(const struct kvm_cpuid2 *table,
                                              uint32_t function, uint32_t index);

#endif
