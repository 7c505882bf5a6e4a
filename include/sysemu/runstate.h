/* The VM's run state and requests to the main loop. */
#ifndef SYSEMU_RUNSTATE_H
#define SYSEMU_RUNSTATE_H

#include "kestrel/osdep.h"

typedef enum RunState {
    RUN_STATE_PRELAUNCH,       /* built, not started yet (-S waits here) */
    RUN_STATE_RUNNING,
    RUN_STATE_PAUSED,          /* stopped by the user */
    RUN_STATE_SHUTDOWN,        /* guest shut down (with -no-shutdown) */
    RUN_STATE_INTERNAL_ERROR,  /* the accelerator could not go on */
    RUN_STATE_GUEST_PANICKED,
    RUN_STATE_INMIGRATE,
    RUN_STATE_POSTMIGRATE,
    RUN_STATE_FINISH_MIGRATE,
    RUN_STATE__MAX,
} RunState;

typedef enum ShutdownCause {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_ERROR,
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,
    SHUTDOWN_CAUSE_HOST_SIGNAL,
    SHUTDOWN_CAUSE_HOST_UI,          /* the user quit (C-a x on the mux) */
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN,   /* ACPI S5, debug-exit */
    SHUTDOWN_CAUSE_GUEST_RESET,      /* triple fault, keyboard controller, ... */
    SHUTDOWN_CAUSE_GUEST_PANIC,
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,   /* QMP system_reset */
} ShutdownCause;

RunState runstate_get(void);
bool runstate_is_running(void);
const char *runstate_name(RunState state);
void runstate_set(RunState state);

/* Starts (or resumes) the vCPUs; moves to RUNNING. Big lock held. */
void vm_start(void);
/* Pauses the vCPUs and moves to `state`. Big lock held. */
void vm_stop(RunState state);

/* Requests, handled by the main loop (any thread may call them). */
void system_shutdown_request(ShutdownCause cause);
void system_reset_request(ShutdownCause cause);
/* Ends the process with this exit status once the main loop sees it
 * (isa-debug-exit). The first request wins. */
void system_exit_request(int status);
/* A vCPU could not continue: stop the VM in RUN_STATE_INTERNAL_ERROR. */
void system_internal_error_request(void);

/* For the main loop: acts on pending requests; true when the process
 * should now exit with *status. Big lock held. */
bool runstate_handle_requests(int *status);
/* Resets devices, the accelerator, the machine (re-running its boot loader)
 * and the CPUs, then pushes CPU state into the accelerator. vCPUs must be
 * paused or not started. Big lock held. */
void system_reset(void);
/* With no monitor to inspect a VM in internal-error state, end the process
 * (status 1) instead of waiting forever. The monitor clears this. */
extern bool exit_on_internal_error;

/* -no-reboot: a guest reset request shuts down instead. */
extern bool no_reboot;
/* -no-shutdown: a guest shutdown stops the VM instead of exiting. */
extern bool no_shutdown;

#endif
