/*
 * State shared between the generic KVM accelerator (accel/kvm) and its x86
 * register/CPUID half (target/i386/kvm). Nothing outside those two folders
 * includes this header: the rest of Kestrel only sees the AccelOps table.
 * See docs/kvm.md.
 */
#ifndef ACCEL_KVM_INTERNAL_H
#define ACCEL_KVM_INTERNAL_H

#include <pthread.h>
#include <linux/kvm.h>

#include "exec/memory.h"
#include "hw/core/cpu.h"
#include "sysemu/accel.h"

/* One KVM memory slot: a page-aligned piece of a RAM/ROM section. */
typedef struct KVMSlot {
    bool used;
    uint32_t id;               /* KVM slot number (index in KVMState.slots) */
    hwaddr gpa;
    uint64_t size;
    void *host;
    ram_addr_t ram_addr;       /* where the slot's pages sit in the dirty bitmaps */
    bool readonly;
    unsigned log_mask;         /* dirty-log clients of the section (log_start/stop) */
    uint32_t flags;            /* KVM_MEM_* as currently registered */
} KVMSlot;

typedef struct KVMState {
    int fd;                    /* /dev/kvm */
    int vm_fd;
    int vcpu_mmap_size;

    /* Optional capabilities (the required ones are checked at init). */
    bool cap_readonly_mem;
    bool cap_xsave;
    bool cap_xcrs;
    bool cap_vcpu_events;
    bool cap_debugregs;

    /* Memory slots; guarded by slots_lock (listener callbacks run with the
     * big lock, but log_sync may later come from a migration thread). */
    GMutex slots_lock;
    KVMSlot *slots;
    unsigned nr_slots;
    bool global_dirty_log;     /* log_global_start..log_global_stop */
    MemoryListener memory_listener;

    /* KVM_GET_SUPPORTED_CPUID, read once. */
    struct kvm_cpuid2 *supported_cpuid;

    /* In-kernel PIC/IOAPIC/LAPIC and PIT (kvm-irqchip.c); decided by
     * init_machine and fixed for the VM's life. */
    bool irqchip_in_kernel;
    bool cap_irq_inject_status;    /* KVM_IRQ_LINE_STATUS */
    bool cap_signal_msi;           /* KVM_SIGNAL_MSI */
    bool cap_mp_state;             /* KVM_GET/SET_MP_STATE */
    struct KVMIrqRoutes *irq_routes;
    int max_vcpus;                 /* KVM_CAP_MAX_VCPUS */
} KVMState;

/* The accelerator's private part of a vCPU (CPUState.accel). */
struct AccelCPUState {
    int fd;                    /* vCPU fd, -1 once destroyed */
    struct kvm_run *run;
    pthread_t thread;          /* the vCPU thread, target of kicks */
    volatile int thread_alive; /* kicks are only sent while this is set */

    /* MSRs this KVM accepts (probed once), see target/i386/kvm. */
    uint32_t msr_indices[32];
    unsigned nr_msrs;

    /* The last KVM_GET_VCPU_EVENTS answer. CPUX86State keeps only what the
     * rest of Kestrel uses (pending exception, shadow, NMI pending); the
     * remaining fields (an interrupt KVM was in the middle of injecting,
     * NMI masking) are put back from here so a get/put round trip is exact. */
    struct kvm_vcpu_events events;
    bool events_valid;
};

extern KVMState *kvm_state;

/* ioctl wrappers: the result, or -errno. EINTR is retried except for KVM_RUN. */
int kvm_ioctl(KVMState *s, unsigned long request, void *arg);
int kvm_vm_ioctl(KVMState *s, unsigned long request, void *arg);
int kvm_vcpu_ioctl(CPUState *cpu, unsigned long request, void *arg);
/* KVM_CHECK_EXTENSION on /dev/kvm: 0 when absent. */
int kvm_check_extension(KVMState *s, unsigned cap);

/* ---- the x86 half (target/i386/kvm/kvm-cpu.c) ---- */

/* After KVM_CREATE_VCPU: CPUID table, MSR probe. */
bool kvm_arch_init_vcpu(CPUState *cpu, GError **errp);
/* env <- KVM. false (with *errp) when an ioctl failed. */
bool kvm_arch_get_state(CPUState *cpu, GError **errp);
/* KVM <- env at the given level. */
bool kvm_arch_put_state(CPUState *cpu, AccelSyncLevel level, GError **errp);

#endif
