/* The accelerator interface: a table of operations registered by name. */
#ifndef SYSEMU_ACCEL_H
#define SYSEMU_ACCEL_H

#include "hw/core/cpu.h"

typedef struct MachineState MachineState;

/* What a vCPU's run call ended with. */
typedef enum VCPUExitReason {
    VCPU_EXIT_KICK,          /* exit_request, stop, work item, or a machine request */
    VCPU_EXIT_HALT,          /* env.halted: wait until an interrupt arrives */
    VCPU_EXIT_ERROR,         /* unrecoverable: state dumped, VM goes to internal-error */
} VCPUExitReason;

/* How much state a put sends into the accelerator. */
typedef enum AccelSyncLevel {
    ACCEL_SYNC_RUNTIME,      /* registers changed while the VM ran (I/O, debug) */
    ACCEL_SYNC_RESET,        /* after a machine reset */
    ACCEL_SYNC_FULL,         /* after creation or incoming migration: everything */
} AccelSyncLevel;

typedef struct AccelOps {
    const char *name;
    /* "-accel NAME,key=value": called for each key before init_machine;
     * NULL when the accelerator takes no options. */
    bool (*set_option)(const char *key, const char *value, GError **errp);
    /* Prepares the accelerator for the machine (opens devices, registers
     * memory listeners). Called before RAM is mapped and before any vCPU. */
    bool (*init_machine)(MachineState *ms, GError **errp);
    /* Creates the accelerator's side of a vCPU. Called on the vCPU thread
     * with the big lock held. */
    bool (*init_vcpu)(CPUState *cpu, GError **errp);
    void (*destroy_vcpu)(CPUState *cpu);
    /* Runs guest code. Called on the vCPU thread with the big lock held; the
     * accelerator drops it while guest code runs and takes it back for I/O. */
    VCPUExitReason (*exec_vcpu)(CPUState *cpu);
    /* Makes exec_vcpu return soon. Any thread; exit_request is already set. */
    void (*kick_vcpu)(CPUState *cpu);
    /* env <- accelerator (before anything reads registers). vCPU thread. */
    void (*get_state)(CPUState *cpu);
    /* accelerator <- env. vCPU thread. */
    bool (*put_state)(CPUState *cpu, AccelSyncLevel level, GError **errp);
    /* Interrupt controllers the accelerator emulates itself (KVM's in-kernel
     * PIC, IOAPIC and LAPIC, plus its PIT). NULL or false: the machine must
     * provide them. Decided by init_machine. */
    bool (*irqchip_in_kernel)(void);
    /* Sets the level of a GSI (IOAPIC pin; ISA IRQs 0-15 also drive the PIC)
     * on the in-kernel controllers. Any thread holding the big lock. */
    void (*set_gsi)(unsigned gsi, int level);
    /* Called on the main thread when the machine is reset, before CPUs reset. */
    void (*machine_reset)(MachineState *ms);
    /* Tear-down at exit, after all vCPU threads are joined. */
    void (*cleanup)(MachineState *ms);
} AccelOps;

void accel_register(const AccelOps *ops);
const AccelOps *accel_find(const char *name);
/* The accelerator chosen at start-up (NULL before). */
const AccelOps *current_accel(void);
void accel_set_current(const AccelOps *ops);
/* Capability queries for machines (hw/ never asks which accelerator runs,
 * only what it provides). */
bool accel_irqchip_in_kernel(void);
void accel_set_gsi(unsigned gsi, int level);

/* Comma-separated list of registered names, for -accel help. */
char *accel_list_names(void);

#endif
