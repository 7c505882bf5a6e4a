/* vCPU threads, pause/resume, run_on_cpu and main-loop requests, driven by a
 * fake accelerator that spins until kicked. */
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"
#include "sysemu/main-loop.h"

#define TEST_CPUS 2

static gint exec_rounds[TEST_CPUS];
static gint vcpus_inited;
static gint puts_seen[3];

static bool fake_init_machine(MachineState *ms, GError **errp)
{
    return true;
}

static bool fake_init_vcpu(CPUState *cpu, GError **errp)
{
    g_atomic_int_inc(&vcpus_inited);
    return true;
}

static VCPUExitReason fake_exec_vcpu(CPUState *cpu)
{
    bql_unlock();
    while (!g_atomic_int_exchange(&cpu->exit_request, 0)) {
        g_atomic_int_inc(&exec_rounds[cpu->index]);
        g_usleep(50);
    }
    bql_lock();
    return VCPU_EXIT_KICK;
}

static void fake_kick_vcpu(CPUState *cpu)
{
}

static bool fake_put_state(CPUState *cpu, AccelSyncLevel level, GError **errp)
{
    g_assert_true(current_cpu() == cpu);
    g_atomic_int_inc(&puts_seen[level]);
    return true;
}

static const AccelOps fake_accel = {
    .name = "fake",
    .init_machine = fake_init_machine,
    .init_vcpu = fake_init_vcpu,
    .exec_vcpu = fake_exec_vcpu,
    .kick_vcpu = fake_kick_vcpu,
    .put_state = fake_put_state,
};

/* Waits (without a time limit that could flake) until vCPU i makes progress. */
static void wait_for_progress(int i)
{
    gint start = g_atomic_int_get(&exec_rounds[i]);
    bql_unlock();
    while (g_atomic_int_get(&exec_rounds[i]) < start + 3) {
        g_usleep(100);
    }
    bql_lock();
}

static void record_thread(CPUState *cpu, void *data)
{
    *(CPUState **)data = current_cpu();
}

static void test_lifecycle(void)
{
    GError *err = NULL;

    accel_set_current(&fake_accel);
    bql_lock();
    main_loop_init();
    cpus_create(TEST_CPUS);
    g_assert_true(cpus_start_threads(&err));
    g_assert_no_error(err);
    g_assert_cmpint(g_atomic_int_get(&vcpus_inited), ==, TEST_CPUS);

    /* Not started yet: vCPUs are parked. */
    g_assert_true(all_vcpus_paused());
    g_assert_cmpint(g_atomic_int_get(&exec_rounds[0]), ==, 0);

    cpu_synchronize_all_post_init();
    g_assert_cmpint(g_atomic_int_get(&puts_seen[ACCEL_SYNC_FULL]), ==, TEST_CPUS);

    vm_start();
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "running");
    for (int i = 0; i < TEST_CPUS; i++) {
        wait_for_progress(i);
    }

    /* run_on_cpu runs on the vCPU's own thread, even while it is running. */
    for (int i = 0; i < TEST_CPUS; i++) {
        CPUState *seen = NULL;
        run_on_cpu(cpus[i], record_thread, &seen);
        g_assert_true(seen == cpus[i]);
    }

    vm_stop(RUN_STATE_PAUSED);
    g_assert_cmpstr(runstate_name(runstate_get()), ==, "paused");
    g_assert_true(all_vcpus_paused());
    gint frozen[TEST_CPUS];
    for (int i = 0; i < TEST_CPUS; i++) {
        frozen[i] = g_atomic_int_get(&exec_rounds[i]);
    }
    bql_unlock();
    g_usleep(20000);
    bql_lock();
    for (int i = 0; i < TEST_CPUS; i++) {
        g_assert_cmpint(g_atomic_int_get(&exec_rounds[i]), ==, frozen[i]);
    }

    /* Work still reaches a paused vCPU. */
    CPUState *seen = NULL;
    run_on_cpu(cpus[1], record_thread, &seen);
    g_assert_true(seen == cpus[1]);

    vm_start();
    wait_for_progress(0);

    /* A device's exit request ends the main loop with its status. */
    int status = -1;
    g_assert_false(runstate_handle_requests(&status));
    system_exit_request(7);
    system_exit_request(9);   /* the first request wins */
    g_assert_true(runstate_handle_requests(&status));
    g_assert_cmpint(status, ==, 7);
    g_assert_true(all_vcpus_paused());

    cpus_join_threads();
    for (int i = 0; i < TEST_CPUS; i++) {
        g_assert_null(cpus[i]->thread);
    }
    bql_unlock();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpus/lifecycle", test_lifecycle);
    return g_test_run();
}
