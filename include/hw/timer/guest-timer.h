/*
 * The guest clock and one-shot timers for the interrupt controllers and
 * timers Kestrel emulates itself (PIT, local APIC timer).
 *
 * The guest clock counts nanoseconds of host monotonic time while the VM
 * runs and stands still while it does not (paused, -S, shutdown): time
 * spent outside RUN_STATE_RUNNING is taken out when the clock is next read.
 * Timers fire on the main loop (GLib sources with a ready time) with the big
 * lock held; a timer whose deadline was pushed back by a pause re-arms
 * itself.
 *
 * Tests switch to a manual clock (guest_clock_set_manual) which only moves
 * with guest_clock_advance(), firing due timers in deadline order.
 */
#ifndef HW_TIMER_GUEST_TIMER_H
#define HW_TIMER_GUEST_TIMER_H

#include "kestrel/osdep.h"

typedef struct GuestTimer GuestTimer;
typedef void (*GuestTimerCb)(void *opaque);

/* Nanoseconds of guest time (monotonic, starts near 0). Big lock held. */
int64_t guest_clock_ns(void);

GuestTimer *guest_timer_new(GuestTimerCb cb, void *opaque);
void guest_timer_free(GuestTimer *t);
/* Fires cb once at guest time deadline_ns (at once if already passed). */
void guest_timer_mod(GuestTimer *t, int64_t deadline_ns);
void guest_timer_del(GuestTimer *t);
bool guest_timer_pending(const GuestTimer *t);
int64_t guest_timer_deadline(const GuestTimer *t);

/* Tests: a clock that only guest_clock_advance() moves. */
void guest_clock_set_manual(bool manual);
void guest_clock_advance(int64_t ns);

#endif
