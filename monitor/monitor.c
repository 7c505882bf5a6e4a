/*
 * QMP monitors on chardevs: each client (one at a time per chardev) gets
 * the greeting and a fresh session; input goes through the stream splitter
 * into a queue of messages. One main-loop step per monitor writes the reply
 * of the previous message and runs the next one, so that the run-state
 * requests a command makes (reset, quit) are handled, with their events,
 * between its execution and its reply, as with QEMU; and a batch of
 * messages still gets its replies and events in order. Events are written
 * at once, always as whole messages, never inside a reply.
 */
#include "monitor/monitor.h"
#include "monitor/qmp.h"
#include "chardev/char.h"
#include "kestrel/keyval.h"
#include "kestrel/log.h"
#include "sysemu/main-loop.h"
#include <unistd.h>

char *vm_name;
char vm_uuid[37] = "00000000-0000-0000-0000-000000000000";

typedef struct Monitor {
    Chardev *chr;
    QmpSession session;
    QmpStreamParser parser;
    GHashTable *named_fds;     /* getfd: name -> fd, kept across clients */
    GQueue requests;           /* QueuedMessage: split, not run yet */
    GString *replies;          /* written by the next step */
    GSource *step;
    bool connected;
    /* Output the client has not taken yet: written as the socket drains.
     * While it holds more than MONITOR_OUTPUT_PAUSE bytes, no input is read
     * and no command runs (a client that never reads costs nothing); events
     * alone past MONITOR_OUTPUT_MAX drop the client. */
    GString *outbuf;
    gsize out_done;            /* bytes of outbuf already written */
    GSource *out_watch;
} Monitor;

#define MONITOR_OUTPUT_PAUSE    (64u << 10)
#define MONITOR_OUTPUT_MAX      (16u << 20)

/* A message text from the splitter, or the error the splitter reported. */
typedef struct QueuedMessage {
    char *text;
    size_t len;
    char *error;
} QueuedMessage;



static GPtrArray *monitors;
static unsigned compat_monitor_count;

static void monitor_schedule_step(Monitor *mon);
static void monitor_try_output(Monitor *mon);

static gsize monitor_output_pending(Monitor *mon)
{
    return mon->outbuf->len - mon->out_done;
}

static bool monitor_output_full(Monitor *mon)
{
    return monitor_output_pending(mon) > MONITOR_OUTPUT_PAUSE;
}

static void monitor_drop_output(Monitor *mon)
{
    if (mon->out_watch) {
        g_source_destroy(mon->out_watch);
        g_source_unref(mon->out_watch);
        mon->out_watch = NULL;
    }
    g_string_truncate(mon->outbuf, 0);
    mon->out_done = 0;
}

static gboolean monitor_out_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    Monitor *mon = opaque;

    g_source_unref(mon->out_watch);
    mon->out_watch = NULL;
    monitor_try_output(mon);
    if (!monitor_output_full(mon)) {
        /* Go on with what waited for room. */
        if (!g_queue_is_empty(&mon->requests) || mon->replies->len) {
            monitor_schedule_step(mon);
        } else {
            chardev_accept_input(mon->chr);
        }
    }
    return G_SOURCE_REMOVE;
}

/* Writes what the client takes now; the rest waits for the socket. */
static void monitor_try_output(Monitor *mon)
{
    int n;

    if (!monitor_output_pending(mon) || mon->out_watch) {
        return;
    }
    n = chardev_write_nonblock(mon->chr, (const uint8_t *)mon->outbuf->str + mon->out_done,
                               (int)MIN(monitor_output_pending(mon), (gsize)INT_MAX));
    if (n < 0) {
        /* No client (it left): the output is for nobody. */
        monitor_drop_output(mon);
        return;
    }
    mon->out_done += (gsize)n;
    if (!monitor_output_pending(mon)) {
        g_string_truncate(mon->outbuf, 0);
        mon->out_done = 0;
        return;
    }
    if (mon->out_done > mon->outbuf->len / 2) {
        /* Compact now and then, not on every partial write. */
        g_string_erase(mon->outbuf, 0, (gssize)mon->out_done);
        mon->out_done = 0;
    }
    mon->out_watch = chardev_add_out_watch(mon->chr, monitor_out_ready, mon);
    if (!mon->out_watch) {
        monitor_drop_output(mon);
    }
}

/* Replies and the greeting are bounded (one at a time, and no command
 * runs while output waits); events are not, so they are the ones capped. */
static void monitor_output(Monitor *mon, const char *text, size_t len, bool is_event)
{
    if (!mon->connected) {
        return;
    }
    if (is_event && monitor_output_pending(mon) + len > MONITOR_OUTPUT_MAX) {
        /* The client has stopped reading for good. */
        log_printf("QMP monitor on '%s': the client does not read its output, "
                   "dropping it\n", chardev_id(mon->chr));
        monitor_drop_output(mon);
        chardev_disconnect_client(mon->chr);
        return;
    }
    g_string_append_len(mon->outbuf, text, (gssize)len);
    monitor_try_output(mon);
}

static void monitor_write_line(Monitor *mon, JsonNode *msg, bool is_event)
{
    g_autofree char *text = qmp_to_json(msg);
    g_autofree char *line = g_strconcat(text, "\r\n", NULL);

    monitor_output(mon, line, strlen(line), is_event);
}

static void queued_message_free(gpointer data)
{
    QueuedMessage *m = data;

    g_free(m->text);
    g_free(m->error);
    g_free(m);
}

static void monitor_flush_replies(Monitor *mon)
{
    if (mon->replies->len) {
        monitor_output(mon, mon->replies->str, mon->replies->len, false);
    }
    g_string_truncate(mon->replies, 0);
}

/* Forgets everything of the current client but the getfd names. */
static void monitor_drop_work(Monitor *mon)
{
    if (mon->step) {
        g_source_destroy(mon->step);
        g_source_unref(mon->step);
        mon->step = NULL;
    }
    g_queue_clear_full(&mon->requests, queued_message_free);
    g_string_truncate(mon->replies, 0);
    monitor_drop_output(mon);
}

static void monitor_run_message(Monitor *mon, QueuedMessage *m)
{
    JsonNode *reply;
    g_autofree char *text = NULL;

    if (m->error) {
        GError *err = g_error_new_literal(QMP_ERROR, QMP_ERROR_CLASS_GENERIC, m->error);
        reply = qmp_error_response(err, NULL);
        g_error_free(err);
    } else {
        reply = qmp_dispatch_text(&mon->session, m->text, m->len);
    }
    text = qmp_to_json(reply);
    json_node_unref(reply);
    g_string_append(mon->replies, text);
    g_string_append(mon->replies, "\r\n");
}

static gboolean monitor_step_cb(gpointer opaque)
{
    Monitor *mon = opaque;
    GSource *self = mon->step;
    QueuedMessage *m;

    /* The previous message's reply goes after the events its requests
     * caused (the main loop handled them since). */
    monitor_flush_replies(mon);
    if (mon->step != self) {
        /* Writing dropped the client (and this source with its work). */
        return G_SOURCE_REMOVE;
    }
    if (monitor_output_full(mon)) {
        /* The client is not reading: wait until it took some output
         * (monitor_out_ready schedules the next step). */
        g_source_unref(mon->step);
        mon->step = NULL;
        return G_SOURCE_REMOVE;
    }
    m = g_queue_pop_head(&mon->requests);
    if (m) {
        monitor_run_message(mon, m);
        queued_message_free(m);
    }
    if (g_queue_is_empty(&mon->requests)) {
        /* Read on (input pauses while messages wait, as QEMU's monitor
         * does without out-of-band: so a client's end-of-file is seen only
         * after everything it sent before has been answered). */
        chardev_accept_input(mon->chr);
    }
    if (m || mon->replies->len) {
        return G_SOURCE_CONTINUE;
    }
    g_source_unref(mon->step);
    mon->step = NULL;
    return G_SOURCE_REMOVE;
}

static void monitor_stream_emit(void *opaque, const char *text, size_t len, const char *error)
{
    Monitor *mon = opaque;
    QueuedMessage *m = g_new0(QueuedMessage, 1);

    if (error) {
        m->error = g_strdup(error);
    } else {
        m->text = g_strndup(text, len);
        m->len = len;
    }
    g_queue_push_tail(&mon->requests, m);
    if (!monitor_output_full(mon)) {
        monitor_schedule_step(mon);
    }
}

static void monitor_schedule_step(Monitor *mon)
{
    if (!mon->step) {
        mon->step = g_idle_source_new();
        g_source_set_priority(mon->step, G_PRIORITY_DEFAULT);
        g_source_set_callback(mon->step, monitor_step_cb, mon, NULL);
        g_source_attach(mon->step, main_loop_context());
    }
}

static int monitor_can_receive(void *opaque)
{
    Monitor *mon = opaque;

    /* Nothing before the greeting went out (a client that connected while
     * the chardev was created gets it from the main loop, a little later);
     * and a client that sends but never reads stops being read from. */
    if (!mon->connected || !g_queue_is_empty(&mon->requests) || monitor_output_full(mon)) {
        return 0;
    }
    return 4096;
}

static void monitor_receive(void *opaque, const uint8_t *buf, int len)
{
    Monitor *mon = opaque;

    if (!mon->connected) {
        return;
    }
    if (!qmp_stream_feed(&mon->parser, buf, (size_t)len)) {
        /* Unbounded input: only this client goes (with the replies it is
         * owed so far). */
        while (!g_queue_is_empty(&mon->requests)) {
            QueuedMessage *m = g_queue_pop_head(&mon->requests);
            monitor_flush_replies(mon);
            monitor_run_message(mon, m);
            queued_message_free(m);
        }
        monitor_flush_replies(mon);
        chardev_disconnect_client(mon->chr);
    }
}

static int monitor_take_fd(void *opaque)
{
    Monitor *mon = opaque;

    return chardev_take_received_fd(mon->chr);
}

static void monitor_new_session(Monitor *mon)
{
    qmp_session_init(&mon->session, mon->named_fds);
    mon->session.take_fd = monitor_take_fd;
    mon->session.opaque = mon;
    qmp_stream_reset(&mon->parser);
    monitor_drop_work(mon);
}

static void monitor_event(void *opaque, ChardevEvent event)
{
    Monitor *mon = opaque;

    switch (event) {
    case CHR_EVENT_OPENED: {
        g_autoptr(JsonNode) greeting = qmp_greeting();
        monitor_new_session(mon);
        mon->connected = true;
        monitor_write_line(mon, greeting, false);
        break;
    }
    case CHR_EVENT_CLOSED:
        mon->connected = false;
        monitor_new_session(mon);
        break;
    default:
        break;
    }
}

static const CharFrontendOps monitor_ops = {
    .can_receive = monitor_can_receive,
    .receive = monitor_receive,
    .event = monitor_event,
};

static void close_fd_value(gpointer value)
{
    close(GPOINTER_TO_INT(value));
}

bool monitor_new_qmp(Chardev *chr, GError **errp)
{
    Monitor *mon = g_new0(Monitor, 1);

    mon->chr = chr;
    mon->named_fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, close_fd_value);
    mon->replies = g_string_new(NULL);
    mon->outbuf = g_string_new(NULL);
    qmp_stream_init(&mon->parser, monitor_stream_emit, mon);
    monitor_new_session(mon);
    if (!chardev_attach_frontend(chr, &monitor_ops, mon, errp)) {
        qmp_stream_destroy(&mon->parser);
        monitor_drop_work(mon);
        g_hash_table_destroy(mon->named_fds);
        g_string_free(mon->replies, TRUE);
        g_string_free(mon->outbuf, TRUE);
        g_free(mon);
        return false;
    }
    if (!monitors) {
        monitors = g_ptr_array_new();
    }
    g_ptr_array_add(monitors, mon);
    /* Someone can now look at a VM stuck in internal-error. */
    exit_on_internal_error = false;
    return true;
}

bool monitor_new_from_qmp_option(const char *spec, GError **errp)
{
    g_autofree char *id = g_strdup_printf("compat_monitor%u", compat_monitor_count++);
    Chardev *chr;

    if (!strcmp(spec, "none")) {
        return true;
    }
    chr = chardev_new_from_legacy(id, spec, errp);
    if (!chr) {
        return false;
    }
    return monitor_new_qmp(chr, errp);
}

bool monitor_new_from_mon_option(const char *optarg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(optarg, "chardev", errp);
    GHashTableIter iter;
    gpointer key, value;
    const char *id, *mode;
    Chardev *chr;

    if (!kv) {
        return false;
    }
    g_hash_table_iter_init(&iter, kv);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (strcmp(key, "chardev") && strcmp(key, "mode") && strcmp(key, "pretty")) {
            error_setg(errp, "-mon: invalid parameter '%s'", (char *)key);
            return false;
        }
        if (!strcmp(key, "pretty")) {
            bool pretty;
            if (!keyval_parse_bool(key, value, &pretty, errp)) {
                return false;
            }
        }
    }
    id = g_hash_table_lookup(kv, "chardev");
    mode = g_hash_table_lookup(kv, "mode");
    if (!id) {
        error_setg(errp, "-mon: parameter 'chardev' is missing");
        return false;
    }
    if (!mode || !strcmp(mode, "readline")) {
        error_setg(errp, "-mon %s: only mode=control (QMP) is supported", optarg);
        return false;
    }
    if (strcmp(mode, "control") != 0) {
        error_setg(errp, "-mon: unknown mode '%s' (readline or control)", mode);
        return false;
    }
    chr = chardev_find(id);
    if (!chr) {
        error_setg(errp, "-mon: chardev '%s' not found", id);
        return false;
    }
    return monitor_new_qmp(chr, errp);
}

bool monitor_exists(void)
{
    return monitors && monitors->len > 0;
}

void monitor_cleanup(void)
{
    if (!monitors) {
        return;
    }
    for (guint i = 0; i < monitors->len; i++) {
        Monitor *mon = g_ptr_array_index(monitors, i);
        /* The reply to the last command run (quit) still goes out, with
         * what the client had not taken yet (waiting briefly for it). */
        monitor_flush_replies(mon);
        if (mon->connected && monitor_output_pending(mon)) {
            chardev_write(mon->chr, (const uint8_t *)mon->outbuf->str + mon->out_done,
                          (int)MIN(monitor_output_pending(mon), (gsize)INT_MAX));
        }
        monitor_drop_work(mon);
        chardev_detach_frontend_opaque(mon->chr, mon);
        qmp_stream_destroy(&mon->parser);
        g_hash_table_destroy(mon->named_fds);
        g_string_free(mon->replies, TRUE);
        g_string_free(mon->outbuf, TRUE);
        g_free(mon);
    }
    g_ptr_array_free(monitors, TRUE);
    monitors = NULL;
}

/* ---- events ---- */

static void send_event(const char *name, JsonNode *data)
{
    g_autoptr(JsonNode) msg = NULL;

    g_assert(qmp_event_find(name));
    msg = qmp_event_message(name, data);
    for (guint i = 0; monitors && i < monitors->len; i++) {
        Monitor *mon = g_ptr_array_index(monitors, i);
        if (mon->connected && mon->session.negotiated) {
            monitor_write_line(mon, msg, true);
        }
    }
}

const char *shutdown_cause_name(ShutdownCause cause)
{
    switch (cause) {
    case SHUTDOWN_CAUSE_NONE: return "none";
    case SHUTDOWN_CAUSE_HOST_ERROR: return "host-error";
    case SHUTDOWN_CAUSE_HOST_QMP_QUIT: return "host-qmp-quit";
    case SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET: return "host-qmp-system-reset";
    case SHUTDOWN_CAUSE_HOST_SIGNAL: return "host-signal";
    case SHUTDOWN_CAUSE_HOST_UI: return "host-ui";
    case SHUTDOWN_CAUSE_GUEST_SHUTDOWN: return "guest-shutdown";
    case SHUTDOWN_CAUSE_GUEST_RESET: return "guest-reset";
    case SHUTDOWN_CAUSE_GUEST_PANIC: return "guest-panic";
    }
    return "none";
}

bool shutdown_cause_is_guest(ShutdownCause cause)
{
    return cause == SHUTDOWN_CAUSE_GUEST_SHUTDOWN || cause == SHUTDOWN_CAUSE_GUEST_RESET ||
           cause == SHUTDOWN_CAUSE_GUEST_PANIC;
}

static JsonNode *cause_data(ShutdownCause cause)
{
    JsonObject *data = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_boolean_member(data, "guest", shutdown_cause_is_guest(cause));
    json_object_set_string_member(data, "reason", shutdown_cause_name(cause));
    json_node_take_object(node, data);
    return node;
}

void qmp_send_event_stop(void)
{
    send_event("STOP", NULL);
}

void qmp_send_event_resume(void)
{
    send_event("RESUME", NULL);
}

void qmp_send_event_powerdown(void)
{
    send_event("POWERDOWN", NULL);
}

void qmp_send_event_shutdown(ShutdownCause cause)
{
    send_event("SHUTDOWN", cause_data(cause));
}

void qmp_send_event_reset(ShutdownCause cause)
{
    send_event("RESET", cause_data(cause));
}
