/* The main loop: GLib's default main context on the main thread. The big
 * lock is held while dispatching and dropped only while polling. */
#include "sysemu/main-loop.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"

static GMainContext *main_context;
static GPollFunc glib_poll;

static gint poll_without_bql(GPollFD *fds, guint nfds, gint timeout)
{
    gint ret;

    bql_unlock();
    ret = glib_poll(fds, nfds, timeout);
    bql_lock();
    return ret;
}

void main_loop_init(void)
{
    main_context = g_main_context_default();
    glib_poll = g_main_context_get_poll_func(main_context);
    g_main_context_set_poll_func(main_context, poll_without_bql);
}

GMainContext *main_loop_context(void)
{
    return main_context ? main_context : g_main_context_default();
}

void main_loop_wakeup(void)
{
    g_main_context_wakeup(main_loop_context());
}

typedef struct ScheduledCall {
    void (*fn)(void *opaque);
    void *opaque;
} ScheduledCall;

static gboolean run_scheduled_call(gpointer data)
{
    ScheduledCall *call = data;
    call->fn(call->opaque);
    return G_SOURCE_REMOVE;
}

void main_loop_schedule(void (*fn)(void *opaque), void *opaque)
{
    ScheduledCall *call = g_new(ScheduledCall, 1);
    GSource *source = g_idle_source_new();

    call->fn = fn;
    call->opaque = opaque;
    g_source_set_priority(source, G_PRIORITY_HIGH);
    g_source_set_callback(source, run_scheduled_call, call, g_free);
    g_source_attach(source, main_loop_context());
    g_source_unref(source);
}


int main_loop_run(void)
{
    int status = 0;

    while (!runstate_handle_requests(&status)) {
        g_main_context_iteration(main_loop_context(), TRUE);
    }
    return status;
}
