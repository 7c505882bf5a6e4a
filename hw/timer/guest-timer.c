/*
 * The guest clock and main-loop timers (see include/hw/timer/guest-timer.h).
 */
#include "hw/timer/guest-timer.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"

struct GuestTimer {
    GuestTimerCb cb;
    void *opaque;
    int64_t deadline;      /* guest ns; valid while pending */
    bool pending;
    GSource *source;       /* real clock: armed GLib source */
};

static bool clock_manual;
static int64_t manual_now;
static GList *manual_timers;      /* pending timers of the manual clock */

/* Real clock: guest = host - stopped_total, frozen at frozen_host while the
 * VM was last seen not running. */
static int64_t host_origin = -1;
static int64_t stopped_total;
static int64_t frozen_host = -1;

static int64_t host_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

int64_t guest_clock_ns(void)
{
    int64_t now;

    if (clock_manual) {
        return manual_now;
    }
    now = host_ns();
    if (host_origin < 0) {
        host_origin = now;
    }
    if (!runstate_is_running()) {
        if (frozen_host < 0) {
            frozen_host = now;
        }
        return frozen_host - host_origin - stopped_total;
    }
    if (frozen_host >= 0) {
        stopped_total += now - frozen_host;
        frozen_host = -1;
    }
    return now - host_origin - stopped_total;
}

GuestTimer *guest_timer_new(GuestTimerCb cb, void *opaque)
{
    GuestTimer *t = g_new0(GuestTimer, 1);
    t->cb = cb;
    t->opaque = opaque;
    return t;
}

static void source_drop(GuestTimer *t)
{
    if (t->source) {
        g_source_destroy(t->source);
        g_source_unref(t->source);
        t->source = NULL;
    }
}

void guest_timer_del(GuestTimer *t)
{
    if (!t) {
        return;
    }
    t->pending = false;
    source_drop(t);
    manual_timers = g_list_remove(manual_timers, t);
}

void guest_timer_free(GuestTimer *t)
{
    guest_timer_del(t);
    g_free(t);
}

bool guest_timer_pending(const GuestTimer *t)
{
    return t && t->pending;
}

int64_t guest_timer_deadline(const GuestTimer *t)
{
    return t->deadline;
}

static void arm_source(GuestTimer *t);

static gboolean timer_dispatch(gpointer data)
{
    GuestTimer *t = data;

    if (!t->pending) {
        return G_SOURCE_REMOVE;
    }
    if (!runstate_is_running() || guest_clock_ns() < t->deadline) {
        /* Paused (the guest clock stands still) or early: try again later. */
        arm_source(t);
        return G_SOURCE_CONTINUE;
    }
    t->pending = false;
    source_drop(t);
    t->cb(t->opaque);
    return G_SOURCE_CONTINUE;   /* the source was destroyed or re-armed */
}

/* A source that is ready at its ready time and calls its callback. */
static gboolean ready_time_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    return cb ? cb(data) : G_SOURCE_REMOVE;
}

static GSourceFuncs ready_time_funcs = {
    .dispatch = ready_time_dispatch,
};

static void arm_source(GuestTimer *t)
{
    int64_t delta = t->deadline - guest_clock_ns();

    if (!runstate_is_running()) {
        delta = 10 * 1000 * 1000;   /* the clock stands still: look again in 10 ms */
    }
    if (delta < 0) {
        delta = 0;
    }
    if (!t->source) {
        t->source = g_source_new(&ready_time_funcs, sizeof(GSource));
        g_source_set_callback(t->source, timer_dispatch, t, NULL);
        g_source_set_priority(t->source, G_PRIORITY_HIGH);
        g_source_attach(t->source, main_loop_context());
    }
    g_source_set_ready_time(t->source, g_get_monotonic_time() + (delta + 999) / 1000);
}

static gint by_deadline(gconstpointer a, gconstpointer b)
{
    const GuestTimer *x = a, *y = b;
    return x->deadline < y->deadline ? -1 : x->deadline > y->deadline;
}

void guest_timer_mod(GuestTimer *t, int64_t deadline_ns)
{
    t->deadline = deadline_ns;
    t->pending = true;
    if (clock_manual) {
        manual_timers = g_list_remove(manual_timers, t);
        manual_timers = g_list_insert_sorted(manual_timers, t, by_deadline);
        return;
    }
    arm_source(t);
}

void guest_clock_set_manual(bool manual)
{
    clock_manual = manual;
    manual_now = 0;
}

void guest_clock_advance(int64_t ns)
{
    int64_t target = manual_now + ns;

    g_assert(clock_manual);
    while (manual_timers) {
        GuestTimer *t = manual_timers->data;
        if (t->deadline > target) {
            break;
        }
        manual_timers = g_list_delete_link(manual_timers, manual_timers);
        if (t->deadline > manual_now) {
            manual_now = t->deadline;
        }
        t->pending = false;
        t->cb(t->opaque);
    }
    manual_now = target;
}
