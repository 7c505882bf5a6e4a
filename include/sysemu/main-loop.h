/* The main loop: a GLib main context on the main thread. */
#ifndef SYSEMU_MAIN_LOOP_H
#define SYSEMU_MAIN_LOOP_H

#include "kestrel/osdep.h"

/* Sets up the main context; the poll step releases the big lock. */
void main_loop_init(void);
GMainContext *main_loop_context(void);
/* Wakes the main loop (from any thread) so it re-checks requests. */
void main_loop_wakeup(void);
/* Schedules fn(opaque) to run once on the main thread with the big lock
 * held (a "bottom half"). Any thread. */
void main_loop_schedule(void (*fn)(void *opaque), void *opaque);
/* Runs until a shutdown/exit request ends the process; returns the exit
 * status for main(). */
int main_loop_run(void);

#endif
