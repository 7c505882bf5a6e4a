/* vCPU threads, the big lock and cross-thread vCPU work. */
#ifndef SYSEMU_CPUS_H
#define SYSEMU_CPUS_H

#include "hw/core/cpu.h"

/* The big lock ("BQL"): guards device and machine state. */
void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);   /* held by the calling thread */

extern CPUState **cpus;  /* all vCPUs, index order */
extern unsigned nr_cpus;
/* The CPUState of the calling vCPU thread, NULL on other threads. */
CPUState *current_cpu(void);

/* Allocates vCPUs (not yet running threads). */
void cpus_create(unsigned n);
/* Starts one thread per vCPU; each calls accel init_vcpu. Waits until every
 * thread is created; false with *errp if any failed. Big lock held. */
bool cpus_start_threads(GError **errp);
/* Stops all vCPU threads for good and joins them. Big lock held. */
void cpus_join_threads(void);

/* Pause/resume all vCPUs (used by vm_stop/vm_start). pause_all waits until
 * every vCPU is out of guest code. Big lock held. */
void pause_all_vcpus(void);
void resume_all_vcpus(void);
bool all_vcpus_paused(void);

/* Makes the vCPU leave guest code and look at its requests. Any thread. */
void cpu_exit(CPUState *cpu);
/* Raises/clears interrupt lines; raising wakes a halted vCPU. */
void cpu_interrupt(CPUState *cpu, unsigned mask);
void cpu_reset_interrupt(CPUState *cpu, unsigned mask);

/* Runs fn(cpu, data) on the vCPU's thread (directly if already there) and
 * waits for it. Big lock held; it is dropped while waiting. */
typedef void (*run_on_cpu_func)(CPUState *cpu, void *data);
void run_on_cpu(CPUState *cpu, run_on_cpu_func fn, void *data);

/* Register access outside the vCPU's own run: fetches state from the
 * accelerator (once) so env can be read or written; the next run puts it. */
void cpu_synchronize_state(CPUState *cpu);
void cpu_synchronize_all_states(void);
/* After machine reset / full load: push env into the accelerator. */
void cpu_synchronize_all_post_reset(void);
void cpu_synchronize_all_post_init(void);

#endif
