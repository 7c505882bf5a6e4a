/* The accelerator-independent part of a vCPU. */
#ifndef HW_CORE_CPU_H
#define HW_CORE_CPU_H

#include "kestrel/osdep.h"
#include "target/i386/cpu.h"

typedef struct AccelCPUState AccelCPUState;   /* defined by each accelerator */
typedef struct CPUWorkItem CPUWorkItem;

typedef struct CPUState {
    int index;
    GThread *thread;
    CPUX86State env;

    AccelCPUState *accel;           /* the accelerator's private vCPU state */

    /* Owned by softmmu/cpus.c, protected by the big lock. */
    bool created;
    bool stop;                      /* asked to stop (pause) */
    bool stopped;                   /* is stopped */
    bool thread_should_exit;
    GCond halt_cond;                /* vCPU thread waits here when idle */
    GQueue work_items;              /* run_on_cpu() requests */

    /* Set by anyone (any thread) to make the vCPU leave guest code soon;
     * read by the accelerator's execution loop. */
    volatile int exit_request;
    /* Interrupt lines (CPU_INTERRUPT_*), set with atomic or. */
    volatile unsigned interrupt_request;

    /* true when env is newer than the accelerator's copy (KVM): the next
     * run puts it. Set by cpu_synchronize_state(). */
    bool vcpu_dirty;
} CPUState;

#define CPU_INTERRUPT_HARD  0x01   /* maskable interrupt from the PIC/APIC */
#define CPU_INTERRUPT_NMI   0x02
#define CPU_INTERRUPT_INIT  0x04
#define CPU_INTERRUPT_SIPI  0x08
#define CPU_INTERRUPT_EXITTB 0x10  /* TCG: leave the current TB (flush etc.) */

#endif
