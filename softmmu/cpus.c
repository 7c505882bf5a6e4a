/* vCPU threads, the big lock, pause/resume and cross-thread vCPU work. */
#include "sysemu/cpus.h"
#include "sysemu/accel.h"
#include "sysemu/runstate.h"
#include "kestrel/log.h"

static GMutex big_lock;
static __thread bool big_lock_held;
static __thread CPUState *this_thread_cpu;

/* Signalled (with the big lock) when a vCPU is created, stops, or finishes
 * a work item. */
static GCond cpu_state_cond;

CPUState **cpus;
unsigned nr_cpus;

struct CPUWorkItem {
    run_on_cpu_func fn;
    void *data;
    bool done;
};

void bql_lock(void)
{
    g_assert(!big_lock_held);
    g_mutex_lock(&big_lock);
    big_lock_held = true;
}

void bql_unlock(void)
{
    g_assert(big_lock_held);
    big_lock_held = false;
    g_mutex_unlock(&big_lock);
}

bool bql_locked(void)
{
    return big_lock_held;
}

static void bql_wait(GCond *cond)
{
    big_lock_held = false;
    g_cond_wait(cond, &big_lock);
    big_lock_held = true;
}

CPUState *current_cpu(void)
{
    return this_thread_cpu;
}

void cpus_create(unsigned n)
{
    g_assert(!cpus);
    cpus = g_new0(CPUState *, n);
    nr_cpus = n;
    for (unsigned i = 0; i < n; i++) {
        CPUState *cpu = g_new0(CPUState, 1);
        cpu->index = (int)i;
        cpu->env.apic_id = i;
        cpu->env.exception_nr = -1;
        /* vCPUs come up stopped; vm_start() lets them run. */
        cpu->stop = true;
        g_cond_init(&cpu->halt_cond);
        g_queue_init(&cpu->work_items);
        cpus[i] = cpu;
    }
}

static void process_work_items(CPUState *cpu)
{
    CPUWorkItem *item;

    while ((item = g_queue_pop_head(&cpu->work_items))) {
        item->fn(cpu, item->data);
        item->done = true;
        g_cond_broadcast(&cpu_state_cond);
    }
}

/* True while the vCPU has nothing to do and should sleep on halt_cond. */
static bool cpu_thread_is_idle(CPUState *cpu)
{
    if (cpu->thread_should_exit || !g_queue_is_empty(&cpu->work_items)) {
        return false;
    }
    if (cpu->stop || cpu->stopped || !runstate_is_running()) {
        return true;
    }
    /* A pending interrupt the CPU cannot take (IF clear) must not wake it,
     * or the thread would spin between exec and here. */
    return cpu->env.halted &&
           !x86_cpu_has_work(&cpu->env, (unsigned)g_atomic_int_get(&cpu->interrupt_request));
}

static gpointer vcpu_thread_main(gpointer opaque)
{
    CPUState *cpu = opaque;
    const AccelOps *accel = current_accel();
    GError *err = NULL;

    this_thread_cpu = cpu;
    bql_lock();
    if (!accel->init_vcpu(cpu, &err)) {
        error_report("vCPU %d: %s", cpu->index, err->message);
        g_error_free(err);
        cpu->thread_should_exit = true;
        cpu->created = true;
        g_cond_broadcast(&cpu_state_cond);
        bql_unlock();
        return GINT_TO_POINTER(0);
    }
    cpu->created = true;
    g_cond_broadcast(&cpu_state_cond);

    while (!cpu->thread_should_exit) {
        process_work_items(cpu);
        if (!cpu_thread_is_idle(cpu)) {
            VCPUExitReason reason = accel->exec_vcpu(cpu);
            if (reason == VCPU_EXIT_ERROR) {
                /* The accelerator dumped the state; park this vCPU. */
                cpu->stop = true;
                system_internal_error_request();
            }
        }
        /* Stop requests are acknowledged here, outside guest code. */
        if (cpu->stop && !cpu->stopped) {
            cpu->stopped = true;
            g_cond_broadcast(&cpu_state_cond);
        }
        while (cpu_thread_is_idle(cpu)) {
            bql_wait(&cpu->halt_cond);
            if (cpu->stop && !cpu->stopped) {
                cpu->stopped = true;
                g_cond_broadcast(&cpu_state_cond);
            }
        }
    }
    if (accel->destroy_vcpu) {
        accel->destroy_vcpu(cpu);
    }
    bql_unlock();
    return GINT_TO_POINTER(1);
}

bool cpus_start_threads(GError **errp)
{
    g_assert(bql_locked());
    for (unsigned i = 0; i < nr_cpus; i++) {
        char name[32];
        g_snprintf(name, sizeof(name), "CPU %u/%s", i, current_accel()->name);
        cpus[i]->thread = g_thread_new(name, vcpu_thread_main, cpus[i]);
    }
    for (unsigned i = 0; i < nr_cpus; i++) {
        while (!cpus[i]->created) {
            bql_wait(&cpu_state_cond);
        }
        if (cpus[i]->thread_should_exit) {
            error_setg(errp, "could not create vCPU %u", i);
            return false;
        }
    }
    return true;
}

void cpus_join_threads(void)
{
    g_assert(bql_locked());
    for (unsigned i = 0; i < nr_cpus; i++) {
        CPUState *cpu = cpus[i];
        if (!cpu->thread) {
            continue;
        }
        cpu->thread_should_exit = true;
        cpu_exit(cpu);
    }
    bql_unlock();
    for (unsigned i = 0; i < nr_cpus; i++) {
        if (cpus[i]->thread) {
            g_thread_join(cpus[i]->thread);
            cpus[i]->thread = NULL;
        }
    }
    bql_lock();
}

void cpu_exit(CPUState *cpu)
{
    const AccelOps *accel = current_accel();

    g_atomic_int_set(&cpu->exit_request, 1);
    if (accel && accel->kick_vcpu && cpu->created && this_thread_cpu != cpu) {
        accel->kick_vcpu(cpu);
    }
    g_cond_broadcast(&cpu->halt_cond);
}

void cpu_interrupt(CPUState *cpu, unsigned mask)
{
    g_atomic_int_or(&cpu->interrupt_request, mask);
    cpu_exit(cpu);
}

void cpu_reset_interrupt(CPUState *cpu, unsigned mask)
{
    g_atomic_int_and(&cpu->interrupt_request, ~mask);
}

bool all_vcpus_paused(void)
{
    for (unsigned i = 0; i < nr_cpus; i++) {
        if (cpus[i]->thread && !cpus[i]->thread_should_exit && !cpus[i]->stopped) {
            return false;
        }
    }
    return true;
}

void pause_all_vcpus(void)
{
    g_assert(bql_locked());
    for (unsigned i = 0; i < nr_cpus; i++) {
        CPUState *cpu = cpus[i];
        cpu->stop = true;
        if (cpu == this_thread_cpu) {
            cpu->stopped = true;
        } else {
            cpu_exit(cpu);
        }
    }
    while (!all_vcpus_paused()) {
        bql_wait(&cpu_state_cond);
    }
}

void resume_all_vcpus(void)
{
    g_assert(bql_locked());
    for (unsigned i = 0; i < nr_cpus; i++) {
        CPUState *cpu = cpus[i];
        cpu->stop = false;
        cpu->stopped = false;
        g_cond_broadcast(&cpu->halt_cond);
    }
}

void run_on_cpu(CPUState *cpu, run_on_cpu_func fn, void *data)
{
    CPUWorkItem item = { .fn = fn, .data = data };

    g_assert(bql_locked());
    if (this_thread_cpu == cpu || !cpu->thread || cpu->thread_should_exit) {
        fn(cpu, data);
        return;
    }
    g_queue_push_tail(&cpu->work_items, &item);
    cpu_exit(cpu);
    while (!item.done) {
        bql_wait(&cpu_state_cond);
    }
}

static void do_get_state(CPUState *cpu, void *data)
{
    const AccelOps *accel = current_accel();
    if (accel->get_state) {
        accel->get_state(cpu);
    }
}

void cpu_synchronize_state(CPUState *cpu)
{
    if (!cpu->vcpu_dirty) {
        run_on_cpu(cpu, do_get_state, NULL);
        cpu->vcpu_dirty = true;
    }
}

void cpu_synchronize_all_states(void)
{
    for (unsigned i = 0; i < nr_cpus; i++) {
        cpu_synchronize_state(cpus[i]);
    }
}

static void do_put_state(CPUState *cpu, void *data)
{
    const AccelOps *accel = current_accel();
    AccelSyncLevel level = *(AccelSyncLevel *)data;
    GError *err = NULL;

    if (accel->put_state && !accel->put_state(cpu, level, &err)) {
        error_report("vCPU %d: %s", cpu->index, err->message);
        g_error_free(err);
        system_internal_error_request();
        return;
    }
    cpu->vcpu_dirty = false;
}

static void put_all_states(AccelSyncLevel level)
{
    for (unsigned i = 0; i < nr_cpus; i++) {
        if (cpus[i]->created) {
            run_on_cpu(cpus[i], do_put_state, &level);
        } else {
            cpus[i]->vcpu_dirty = true;
        }
    }
}

void cpu_synchronize_all_post_reset(void)
{
    put_all_states(ACCEL_SYNC_RESET);
}

void cpu_synchronize_all_post_init(void)
{
    put_all_states(ACCEL_SYNC_FULL);
}
