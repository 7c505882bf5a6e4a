/* Run states and the requests that vCPUs and devices send to the main loop. */
#include "sysemu/runstate.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "monitor/monitor.h"

bool no_reboot;
bool no_shutdown;
bool exit_on_internal_error = true;

static RunState current_state = RUN_STATE_PRELAUNCH;

/* Pending requests; set from any thread, consumed by the main loop. */
static gint shutdown_request_cause;   /* ShutdownCause, NONE = no request */
static gint reset_request_cause;
static gint exit_requested;
static gint exit_status_requested;
static gint internal_error_requested;

static const char *const runstate_names[RUN_STATE__MAX] = {
    [RUN_STATE_PRELAUNCH] = "prelaunch",
    [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_PAUSED] = "paused",
    [RUN_STATE_SHUTDOWN] = "shutdown",
    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_GUEST_PANICKED] = "guest-panicked",
    [RUN_STATE_INMIGRATE] = "inmigrate",
    [RUN_STATE_POSTMIGRATE] = "postmigrate",
    [RUN_STATE_FINISH_MIGRATE] = "finish-migrate",
};

RunState runstate_get(void)
{
    return current_state;
}

bool runstate_is_running(void)
{
    return current_state == RUN_STATE_RUNNING;
}

const char *runstate_name(RunState state)
{
    return state < RUN_STATE__MAX ? runstate_names[state] : "unknown";
}

void runstate_set(RunState state)
{
    g_assert(state < RUN_STATE__MAX);
    current_state = state;
}

void vm_start(void)
{
    if (current_state == RUN_STATE_RUNNING) {
        return;
    }
    runstate_set(RUN_STATE_RUNNING);
    resume_all_vcpus();
    qmp_send_event_resume();
}

/* STOP goes out only when a running VM stops and the process lives on
 * (QEMU does not send it on the way out). */
static void do_vm_stop(RunState state, bool send_stop)
{
    bool was_running = current_state == RUN_STATE_RUNNING;

    if (was_running) {
        pause_all_vcpus();
    }
    runstate_set(state);
    if (was_running && send_stop) {
        qmp_send_event_stop();
    }
}

void vm_stop(RunState state)
{
    do_vm_stop(state, true);
}

/* A request that will pause the VM stops every vCPU right away, so the guest
 * does not run on past the instruction that asked (e.g. code after the
 * isa-debug-exit write). Only possible with the big lock, which devices hold;
 * other callers just wake the main loop, which pauses the vCPUs itself. */
static void stop_vcpus_for_request(void)
{
    if (!bql_locked()) {
        return;
    }
    for (unsigned i = 0; i < nr_cpus; i++) {
        cpus[i]->stop = true;
        cpu_exit(cpus[i]);
    }
}

void system_shutdown_request(ShutdownCause cause)
{
    stop_vcpus_for_request();
    g_atomic_int_compare_and_exchange(&shutdown_request_cause, SHUTDOWN_CAUSE_NONE, (gint)cause);
    main_loop_wakeup();
}

void system_reset_request(ShutdownCause cause)
{
    if (no_reboot && cause != SHUTDOWN_CAUSE_HOST_QMP_QUIT) {
        system_shutdown_request(cause);
        return;
    }
    stop_vcpus_for_request();
    g_atomic_int_set(&reset_request_cause, (gint)cause);
    main_loop_wakeup();
}

void system_exit_request(int status)
{
    if (g_atomic_int_compare_and_exchange(&exit_requested, 0, 1)) {
        g_atomic_int_set(&exit_status_requested, status);
    }
    stop_vcpus_for_request();
    main_loop_wakeup();
}

void system_internal_error_request(void)
{
    g_atomic_int_set(&internal_error_requested, 1);
    main_loop_wakeup();
}

void system_reset(void)
{
    const AccelOps *accel = current_accel();

    devices_reset_all();
    if (accel && accel->machine_reset && current_machine) {
        accel->machine_reset(current_machine);
    }
    if (current_machine && current_machine->mc->reset) {
        current_machine->mc->reset(current_machine);
    }
    cpu_synchronize_all_post_reset();
}

bool runstate_handle_requests(int *status)
{
    if (g_atomic_int_get(&exit_requested)) {
        do_vm_stop(RUN_STATE_SHUTDOWN, false);
        *status = g_atomic_int_get(&exit_status_requested);
        return true;
    }
    if (g_atomic_int_compare_and_exchange(&internal_error_requested, 1, 0)) {
        vm_stop(RUN_STATE_INTERNAL_ERROR);
        if (exit_on_internal_error) {
            error_report("the vCPU could not continue (internal error); stopping");
            *status = 1;
            return true;
        }
    }
    gint cause = g_atomic_int_and(&shutdown_request_cause, 0);
    if (cause != SHUTDOWN_CAUSE_NONE) {
        if (cause == SHUTDOWN_CAUSE_HOST_SIGNAL) {
            error_report("terminating on signal");
        }
        bool host_asked = cause == SHUTDOWN_CAUSE_HOST_SIGNAL ||
                          cause == SHUTDOWN_CAUSE_HOST_UI ||
                          cause == SHUTDOWN_CAUSE_HOST_QMP_QUIT;
        qmp_send_event_shutdown((ShutdownCause)cause);
        if (no_shutdown && !host_asked) {
            /* libvirt's -no-shutdown: the guest powered off, the process
             * stays (paused, STOP) until it is reset or told to quit. */
            vm_stop(RUN_STATE_SHUTDOWN);
        } else {
            do_vm_stop(RUN_STATE_SHUTDOWN, false);
            *status = 0;
            return true;
        }
    }
    cause = g_atomic_int_and(&reset_request_cause, 0);
    if (cause != SHUTDOWN_CAUSE_NONE) {
        RunState previous = current_state;
        if (previous == RUN_STATE_RUNNING) {
            pause_all_vcpus();
        }
        system_reset();
        qmp_send_event_reset((ShutdownCause)cause);
        if (previous == RUN_STATE_RUNNING) {
            resume_all_vcpus();
        } else {
            /* As QEMU: a VM reset while not running (paused, shut down,
             * internal error) is in prelaunch, startable again by cont. */
            runstate_set(RUN_STATE_PRELAUNCH);
        }
    }
    return false;
}
