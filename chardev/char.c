/*
 * Character backends, the generic part: the registry of chardevs, -chardev
 * and -serial option parsing, frontends, output, the input pump on the main
 * context and the mux (several frontends on one backend, C-a escapes).
 * See docs/chardev.md.
 */
#include "chardev/char-internal.h"
#include "kestrel/keyval.h"
#include "kestrel/log.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"

#include <signal.h>
#include <unistd.h>

/* Creation order, for chardev_foreach (and so -serial output is stable). */
static GPtrArray *chardevs;

static const ChardevBackend *const backends[] = {
    &chardev_null_backend,
    &chardev_file_backend,
    &chardev_pipe_backend,
    &chardev_socket_backend,
    &chardev_stdio_backend,
    &chardev_pty_backend,
};

/* QEMU backends Kestrel knows the name of but does not implement: they get
 * "not supported" rather than "unknown". */
static const char *const unsupported_backends[] = {
    "vc", "serial", "tty", "parallel", "parport", "udp", "ringbuf",
    "memory", "spicevmc", "spiceport", "braille", "msmouse", "testdev",
    "wctablet", "qemu-vdagent", "dbus", "console", NULL,
};

static const char *const common_keys[] = {
    "backend", "id", "mux", "logfile", "logappend", NULL,
};

static bool key_in_list(const char *key, const char *const *list)
{
    for (; list && *list; list++) {
        if (strcmp(key, *list) == 0) {
            return true;
        }
    }
    return false;
}

const char *chardev_opt(GHashTable *opts, const char *key)
{
    return g_hash_table_lookup(opts, key);
}

bool chardev_opt_bool(GHashTable *opts, const char *key, bool dflt, bool *out,
                      GError **errp)
{
    const char *value = chardev_opt(opts, key);

    if (!value) {
        *out = dflt;
        return true;
    }
    return keyval_parse_bool(key, value, out, errp);
}

/* SIGPIPE would kill the process when a socket client or a pipe reader goes
 * away; write() reporting EPIPE is what the backends handle instead. */
static void chardev_ignore_sigpipe(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        signal(SIGPIPE, SIG_IGN);
        g_once_init_leave(&done, 1);
    }
}

/* ---- registry ---- */

Chardev *chardev_find(const char *id)
{
    if (!chardevs || !id) {
        return NULL;
    }
    for (guint i = 0; i < chardevs->len; i++) {
        Chardev *chr = g_ptr_array_index(chardevs, i);
        if (strcmp(chr->id, id) == 0) {
            return chr;
        }
    }
    return NULL;
}

const char *chardev_id(const Chardev *chr)
{
    return chr ? chr->id : NULL;
}

bool chardev_is_mux(const Chardev *chr)
{
    return chr && chr->mux;
}

const char *chardev_filename(const Chardev *chr)
{
    return chr ? chr->filename : NULL;
}

bool chardev_is_connected(const Chardev *chr)
{
    if (!chr || chr->closed) {
        return false;
    }
    return chr->backend->connected ? chr->backend->connected(chr) : true;
}

bool chardev_has_frontend(const Chardev *chr)
{
    return chr && chr->nr_fe > 0;
}

void chardev_foreach(void (*fn)(Chardev *chr, void *opaque), void *opaque)
{
    if (!chardevs) {
        return;
    }
    /* A copy: fn may delete chardevs. */
    g_autoptr(GPtrArray) copy = g_ptr_array_copy(chardevs, NULL, NULL);
    for (guint i = 0; i < copy->len; i++) {
        fn(g_ptr_array_index(copy, i), opaque);
    }
}

/* QEMU's rule for ids: a letter, then letters, digits, '-', '.', '_'. */
static bool id_is_valid(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_') {
            return false;
        }
    }
    return true;
}

static const ChardevBackend *backend_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(backends); i++) {
        if (strcmp(backends[i]->name, name) == 0) {
            return backends[i];
        }
    }
    return NULL;
}

static char *backend_names(void)
{
    GString *names = g_string_new(NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(backends); i++) {
        g_string_append_printf(names, "%s%s", i ? ", " : "", backends[i]->name);
    }
    return g_string_free(names, FALSE);
}

/* The first key (in sorted order, so the message is stable) that neither
 * char.c nor the backend knows. */
static const char *find_unknown_key(GHashTable *opts, const ChardevBackend *be)
{
    g_autofree const char **keys =
        (const char **)g_hash_table_get_keys_as_array(opts, NULL);
    const char *unknown = NULL;

    for (const char **k = keys; *k; k++) {
        if (!key_in_list(*k, common_keys) && !key_in_list(*k, be->keys) &&
            (!unknown || strcmp(*k, unknown) < 0)) {
            unknown = *k;
        }
    }
    return unknown;
}

static void chardev_free(Chardev *chr)
{
    for (int i = 0; i < chr->nr_fe; i++) {
        g_free(chr->fe[i]);
    }
    g_mutex_clear(&chr->out_lock);
    g_mutex_clear(&chr->in_lock);
    g_free(chr->filename);
    g_free(chr->id);
    g_free(chr);
}

/* Builds a chardev from parsed options (both -chardev and -serial end here). */
static Chardev *chardev_new_from_opts(GHashTable *opts, GError **errp)
{
    const char *backend_name = chardev_opt(opts, "backend");
    const char *id = chardev_opt(opts, "id");
    const char *logfile = chardev_opt(opts, "logfile");
    const ChardevBackend *be;
    const char *unknown;
    bool mux, logappend;

    if (!backend_name || !*backend_name) {
        error_setg(errp, "chardev: no backend given (for example -chardev stdio,id=ID)");
        return NULL;
    }
    be = backend_find(backend_name);
    if (!be) {
        if (key_in_list(backend_name, unsupported_backends)) {
            error_setg(errp, "chardev backend '%s' is not supported", backend_name);
        } else {
            g_autofree char *names = backend_names();
            error_setg(errp, "'%s' is not a valid chardev backend (choose from %s)",
                       backend_name, names);
        }
        return NULL;
    }
    if (!id) {
        error_setg(errp, "chardev: parameter 'id' is missing");
        return NULL;
    }
    if (!id_is_valid(id)) {
        error_setg(errp, "chardev: id '%s' is invalid (a letter, then letters, "
                   "digits, '-', '.' or '_')", id);
        return NULL;
    }
    if (chardev_find(id)) {
        error_setg(errp, "chardev: duplicate id '%s'", id);
        return NULL;
    }
    unknown = find_unknown_key(opts, be);
    if (unknown) {
        error_setg(errp, "chardev: invalid parameter '%s' for backend '%s'",
                   unknown, be->name);
        return NULL;
    }
    if (!chardev_opt_bool(opts, "mux", false, &mux, errp) ||
        !chardev_opt_bool(opts, "logappend", false, &logappend, errp)) {
        return NULL;
    }

    chardev_ignore_sigpipe();

    Chardev *chr = g_new0(Chardev, 1);
    chr->id = g_strdup(id);
    chr->backend = be;
    chr->mux = mux;
    chr->out_fd = -1;
    chr->in_fd = -1;
    chr->log_fd = -1;
    g_mutex_init(&chr->out_lock);
    g_mutex_init(&chr->in_lock);

    if (logfile) {
        chr->log_fd = open(logfile, O_WRONLY | O_CREAT | O_CLOEXEC |
                           (logappend ? O_APPEND : O_TRUNC), 0666);
        if (chr->log_fd < 0) {
            error_setg(errp, "chardev '%s': cannot open logfile '%s': %s",
                       id, logfile, g_strerror(errno));
            chardev_free(chr);
            return NULL;
        }
    }
    if (!be->open(chr, opts, errp)) {
        if (chr->log_fd >= 0) {
            close(chr->log_fd);
        }
        chardev_free(chr);
        return NULL;
    }
    if (!chr->filename) {
        chr->filename = g_strdup(be->name);
    }

    if (!chardevs) {
        chardevs = g_ptr_array_new();
    }
    g_ptr_array_add(chardevs, chr);
    chr->registered = true;
    return chr;
}

Chardev *chardev_new_from_option(const char *optarg, GError **errp)
{
    g_autoptr(GHashTable) opts = keyval_parse(optarg, "backend", errp);

    if (!opts) {
        return NULL;
    }
    return chardev_new_from_opts(opts, errp);
}

static GHashTable *new_opts(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

static void opts_set(GHashTable *opts, const char *key, const char *value)
{
    g_hash_table_insert(opts, g_strdup(key), g_strdup(value));
}

/* "tcp:HOST:PORT,opts": HOST may be empty (all addresses) or [v6]. */
static GHashTable *parse_legacy_tcp(const char *rest, GError **errp)
{
    const char *comma = strchr(rest, ',');
    g_autofree char *hostport = comma ? g_strndup(rest, comma - rest) : g_strdup(rest);
    g_autoptr(GHashTable) opts = NULL;
    char *colon = strrchr(hostport, ':');
    char *host = hostport;

    if (comma) {
        opts = keyval_parse(comma + 1, NULL, errp);
        if (!opts) {
            return NULL;
        }
    } else {
        opts = new_opts();
    }
    if (!colon || !colon[1]) {
        error_setg(errp, "chardev: 'tcp:%s' needs HOST:PORT", hostport);
        return NULL;
    }
    *colon = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        host[strlen(host) - 1] = '\0';
        host++;
    }
    opts_set(opts, "host", host);
    opts_set(opts, "port", colon + 1);
    return g_steal_pointer(&opts);
}

Chardev *chardev_new_from_legacy(const char *id, const char *spec, GError **errp)
{
    g_autoptr(GHashTable) opts = NULL;
    bool monitor = false;
    const char *rest;

    if (!spec || strcmp(spec, "none") == 0) {
        return NULL;
    }
    if (g_str_has_prefix(spec, "chardev:")) {
        Chardev *chr = chardev_find(spec + strlen("chardev:"));
        if (!chr) {
            error_setg(errp, "chardev '%s' not found", spec + strlen("chardev:"));
        }
        return chr;
    }
    /* mon:DEV shares DEV with the monitor; the monitor itself is created
     * by whoever parses -serial (the lead's vl.c). */
    if (g_str_has_prefix(spec, "mon:")) {
        spec += strlen("mon:");
        monitor = true;
    }

    if (strcmp(spec, "stdio") == 0 || strcmp(spec, "null") == 0 || strcmp(spec, "pty") == 0) {
        opts = new_opts();
        opts_set(opts, "backend", spec);
        if (monitor && strcmp(spec, "stdio") == 0) {
            /* Like QEMU: C-c goes to the guest, C-a x quits. */
            opts_set(opts, "signal", "off");
        }
    } else if ((rest = g_str_has_prefix(spec, "file:") ? spec + 5 : NULL)) {
        opts = new_opts();
        opts_set(opts, "backend", "file");
        opts_set(opts, "path", rest);
    } else if ((rest = g_str_has_prefix(spec, "pipe:") ? spec + 5 : NULL)) {
        opts = new_opts();
        opts_set(opts, "backend", "pipe");
        opts_set(opts, "path", rest);
    } else if ((rest = g_str_has_prefix(spec, "unix:") ? spec + 5 : NULL)) {
        opts = keyval_parse(rest, "path", errp);
        if (!opts) {
            return NULL;
        }
        opts_set(opts, "backend", "socket");
    } else if ((rest = g_str_has_prefix(spec, "tcp:") ? spec + 4 : NULL)) {
        opts = parse_legacy_tcp(rest, errp);
        if (!opts) {
            return NULL;
        }
        opts_set(opts, "backend", "socket");
    } else {
        error_setg(errp, "'%s' is not a supported character device (use stdio, "
                   "null, none, file:PATH, pipe:PATH, unix:PATH[,server=on,wait=off], "
                   "tcp:HOST:PORT[,server=on,wait=off], mon:DEV or chardev:ID)", spec);
        return NULL;
    }
    if (g_hash_table_contains(opts, "id")) {
        error_setg(errp, "chardev: '%s': 'id' cannot be given here", spec);
        return NULL;
    }
    opts_set(opts, "id", id);
    if (monitor) {
        opts_set(opts, "mux", "on");
    }
    return chardev_new_from_opts(opts, errp);
}

/* ---- output ---- */

int chardev_write(Chardev *chr, const uint8_t *buf, int len)
{
    int ret;

    if (!chr || len < 0 || (len > 0 && !buf)) {
        return -1;
    }
    if (len == 0) {
        return 0;
    }
    g_mutex_lock(&chr->out_lock);
    if (chr->closed) {
        ret = -1;
    } else {
        if (chr->log_fd >= 0) {
            bool congested = false;
            int error = 0;
            chardev_fd_write(chr->log_fd, buf, len, &congested, &error);
        }
        ret = chr->backend->write ? chr->backend->write(chr, buf, len)
                                  : chardev_default_write(chr, buf, len);
    }
    g_mutex_unlock(&chr->out_lock);
    return ret;
}

static void chardev_write_str(Chardev *chr, const char *str)
{
    chardev_write(chr, (const uint8_t *)str, (int)strlen(str));
}

/* ---- frontends and events ---- */

static int fe_index(Chardev *chr, void *opaque)
{
    for (int i = 0; i < chr->nr_fe; i++) {
        if (chr->fe[i]->opaque == opaque) {
            return i;
        }
    }
    return -1;
}

static void fe_event(CharFrontend *fe, ChardevEvent event)
{
    if (fe->ops->event) {
        fe->ops->event(fe->opaque, event);
    }
}

void chardev_send_event(Chardev *chr, ChardevEvent event)
{
    /* A frontend may detach from its event handler: walk a snapshot and
     * re-check membership before each call. */
    CharFrontend *snapshot[CHARDEV_MUX_MAX];
    int n = chr->nr_fe;

    memcpy(snapshot, chr->fe, sizeof(snapshot[0]) * n);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < chr->nr_fe; j++) {
            if (chr->fe[j] == snapshot[i]) {
                if (event == CHR_EVENT_OPENED) {
                    snapshot[i]->open_event_pending = false;
                }
                fe_event(snapshot[i], event);
                break;
            }
        }
    }
}

/* Mux: hands buffered input to the focused frontend as far as it takes it. */
static void mux_flush(Chardev *chr)
{
    while (chr->nr_fe > 0) {
        CharFrontend *fe = chr->fe[chr->focus];
        int room;

        if (fe->buf_len == 0) {
            return;
        }
        room = fe->ops->can_receive ? fe->ops->can_receive(fe->opaque) : 0;
        if (room <= 0) {
            return;
        }
        int n = MIN((unsigned)room, fe->buf_len);
        uint8_t chunk[CHARDEV_MUX_BUFFER];
        memcpy(chunk, fe->buf, n);
        memmove(fe->buf, fe->buf + n, fe->buf_len - n);
        fe->buf_len -= n;
        fe->ops->receive(fe->opaque, chunk, n);
    }
}

/* Tells the frontends about a focus change: MUX_OUT to the one that had it
 * (if still attached), MUX_IN to the one that has it now. */
static void mux_announce_focus(Chardev *chr)
{
    CharFrontend *old = chr->focus_announced;

    if (chr->nr_fe == 0 || chr->fe[chr->focus] == old) {
        return;
    }
    chr->focus_announced = chr->fe[chr->focus];
    for (int i = 0; i < chr->nr_fe; i++) {
        if (chr->fe[i] == old) {
            fe_event(old, CHR_EVENT_MUX_OUT);
            break;
        }
    }
    /* The handler above may have detached frontends. */
    for (int i = 0; i < chr->nr_fe; i++) {
        if (chr->fe[i] == chr->focus_announced) {
            fe_event(chr->focus_announced, CHR_EVENT_MUX_IN);
            break;
        }
    }
}

static void mux_set_focus_index(Chardev *chr, int index)
{
    if (index < 0 || index >= chr->nr_fe) {
        return;
    }
    chr->focus = index;
    mux_announce_focus(chr);
    mux_flush(chr);
}

bool chardev_mux_set_focus(Chardev *chr, void *opaque)
{
    int index;

    if (!chr || !chr->mux) {
        return false;
    }
    index = fe_index(chr, opaque);
    if (index < 0) {
        return false;
    }
    mux_set_focus_index(chr, index);
    return true;
}

static gboolean chardev_kick_cb(gpointer opaque);

void chardev_kick(Chardev *chr)
{
    g_mutex_lock(&chr->in_lock);
    if (!chr->kick && !chr->closed) {
        chr->kick = g_idle_source_new();
        g_source_set_priority(chr->kick, G_PRIORITY_DEFAULT);
        g_source_set_callback(chr->kick, chardev_kick_cb, chr, NULL);
        g_source_attach(chr->kick, main_loop_context());
    }
    g_mutex_unlock(&chr->in_lock);
}

bool chardev_attach_frontend(Chardev *chr, const CharFrontendOps *ops, void *opaque,
                             GError **errp)
{
    CharFrontend *fe;

    if (!chr || !ops || !ops->can_receive || !ops->receive) {
        error_setg(errp, "chardev: invalid frontend");
        return false;
    }
    if (chr->closed) {
        error_setg(errp, "chardev '%s' is closed", chr->id);
        return false;
    }
    if (fe_index(chr, opaque) >= 0) {
        error_setg(errp, "chardev '%s': this device is already connected to it", chr->id);
        return false;
    }
    if (chr->nr_fe >= (chr->mux ? CHARDEV_MUX_MAX : 1)) {
        if (chr->mux) {
            error_setg(errp, "chardev '%s': too many users (at most %d with mux=on)",
                       chr->id, CHARDEV_MUX_MAX);
        } else {
            error_setg(errp, "chardev '%s' is already in use (add mux=on to share it)",
                       chr->id);
        }
        return false;
    }
    fe = g_new0(CharFrontend, 1);
    fe->ops = ops;
    fe->opaque = opaque;
    fe->open_event_pending = chardev_is_connected(chr);
    chr->fe[chr->nr_fe++] = fe;
    if (chr->mux && chr->nr_fe > 1) {
        /* Like QEMU, the newest user gets the focus; the events go out on
         * the main loop, not from inside the caller's realize. */
        chr->focus = chr->nr_fe - 1;
    }
    chardev_kick(chr);
    /* Input may have been paused while nobody listened. */
    chardev_accept_input(chr);
    return true;
}

static void maybe_free_orphan(Chardev *chr)
{
    /* chardev_close_all() leaves chardevs that still have frontends alive
     * (closed) so those devices do not touch freed memory; the last detach
     * frees them. */
    if (!chr->registered && chr->closed && chr->nr_fe == 0) {
        chardev_free(chr);
    }
}

static void detach_index(Chardev *chr, int index)
{
    if (chr->focus_announced == chr->fe[index]) {
        chr->focus_announced = NULL;
    }
    g_free(chr->fe[index]);
    memmove(&chr->fe[index], &chr->fe[index + 1],
            sizeof(chr->fe[0]) * (chr->nr_fe - index - 1));
    chr->nr_fe--;
    chr->fe[chr->nr_fe] = NULL;
    if (chr->focus > index || chr->focus >= chr->nr_fe) {
        chr->focus = chr->focus > 0 ? chr->focus - 1 : 0;
    }
    if (chr->mux && chr->nr_fe > 0 && !chr->closed) {
        /* The remaining focused frontend learns it has the input. */
        chardev_kick(chr);
    }
}

void chardev_detach_frontend(Chardev *chr)
{
    if (!chr) {
        return;
    }
    while (chr->nr_fe > 0) {
        detach_index(chr, chr->nr_fe - 1);
    }
    maybe_free_orphan(chr);
}

void chardev_detach_frontend_opaque(Chardev *chr, void *opaque)
{
    int index;

    if (!chr) {
        return;
    }
    index = fe_index(chr, opaque);
    if (index >= 0) {
        detach_index(chr, index);
    }
    maybe_free_orphan(chr);
}

/* ---- mux escapes ---- */

#define MUX_ESCAPE_CHAR 0x01   /* C-a */

static const char mux_help[] =
    "\r\n"
    "C-a h    show this help\r\n"
    "C-a x    quit the emulator\r\n"
    "C-a c    switch the input between the console and the monitor\r\n"
    "C-a b    send a break to the focused device\r\n"
    "C-a C-a  type a C-a\r\n";

/* Runs C-a `c`; false means "not a command: pass it on as data". */
static bool mux_command(Chardev *chr, uint8_t c)
{
    switch (c) {
    case 'h':
    case 'H':
    case '?':
        chardev_write_str(chr, mux_help);
        return true;
    case 'x':
    case 'X':
        chardev_write_str(chr, "\r\nkestrel: terminating on C-a x\r\n");
        system_shutdown_request(SHUTDOWN_CAUSE_HOST_UI);
        return true;
    case 'c':
    case 'C':
        if (chr->nr_fe > 1) {
            mux_set_focus_index(chr, (chr->focus + 1) % chr->nr_fe);
        }
        return true;
    case 'b':
    case 'B':
        if (chr->nr_fe > 0) {
            fe_event(chr->fe[chr->focus], CHR_EVENT_BREAK);
        }
        return true;
    case MUX_ESCAPE_CHAR:
        return false;
    default:
        /* Unknown escapes are swallowed, like a terminal multiplexer. */
        return true;
    }
}

static void mux_input(Chardev *chr, const uint8_t *buf, int len)
{
    for (int i = 0; i < len; i++) {
        uint8_t c = buf[i];

        if (chr->mux_escape) {
            chr->mux_escape = false;
            if (mux_command(chr, c)) {
                continue;
            }
        } else if (c == MUX_ESCAPE_CHAR) {
            chr->mux_escape = true;
            continue;
        }
        if (chr->nr_fe > 0) {
            CharFrontend *fe = chr->fe[chr->focus];
            /* The read was sized to the free space, so this only drops on
             * a focus change in the middle of a chunk. */
            if (fe->buf_len < sizeof(fe->buf)) {
                fe->buf[fe->buf_len++] = c;
            }
        }
    }
    mux_flush(chr);
}

/* ---- input pump (main thread) ---- */

/* How many bytes to read now: what the frontend takes (0 pauses). */
static int input_budget(Chardev *chr, int max)
{
    if (chr->mux) {
        if (chr->nr_fe == 0) {
            return max;   /* read anyway so that C-a x works */
        }
        mux_flush(chr);
        if (chr->nr_fe == 0) {
            return max;
        }
        return MIN(max, (int)(sizeof(chr->fe[0]->buf) - chr->fe[chr->focus]->buf_len));
    }
    if (chr->nr_fe == 0) {
        return 0;
    }
    return MIN(max, chr->fe[0]->ops->can_receive(chr->fe[0]->opaque));
}

static void deliver(Chardev *chr, const uint8_t *buf, int len)
{
    if (chr->mux) {
        mux_input(chr, buf, len);
    } else if (chr->nr_fe > 0) {
        chr->fe[0]->ops->receive(chr->fe[0]->opaque, buf, len);
    }
}

static void input_pause(Chardev *chr);

static gboolean chardev_in_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    Chardev *chr = opaque;
    uint8_t buf[4096];
    unsigned seq = (unsigned)g_atomic_int_get(&chr->in_resume_seq);
    int budget = input_budget(chr, sizeof(buf));
    ssize_t n;

    if (budget <= 0) {
        g_mutex_lock(&chr->in_lock);
        if ((unsigned)g_atomic_int_get(&chr->in_resume_seq) != seq) {
            /* chardev_accept_input() ran meanwhile: look again. */
            g_mutex_unlock(&chr->in_lock);
            return G_SOURCE_CONTINUE;
        }
        g_mutex_unlock(&chr->in_lock);
        input_pause(chr);
        return G_SOURCE_CONTINUE;
    }

    n = chr->backend->read ? chr->backend->read(chr, buf, budget) : read(fd, buf, budget);
    if (n > 0) {
        deliver(chr, buf, n);
        return G_SOURCE_CONTINUE;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return G_SOURCE_CONTINUE;
    }
    /* End of input (or an error, which ends it just the same). */
    if (chr->backend->input_eof) {
        chr->backend->input_eof(chr);
    } else {
        chardev_input_stop(chr);
    }
    return G_SOURCE_CONTINUE;
}

static void watch_destroy(GSource **watch)
{
    if (*watch) {
        g_source_destroy(*watch);
        g_source_unref(*watch);
        *watch = NULL;
    }
}

void chardev_input_start(Chardev *chr)
{
    bool was_paused;

    g_mutex_lock(&chr->in_lock);
    watch_destroy(&chr->in_watch);
    was_paused = chr->in_paused;
    chr->in_paused = false;
    if (chr->in_fd >= 0 && !chr->closed) {
        chr->in_watch = g_unix_fd_source_new(chr->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
        g_source_set_callback(chr->in_watch, G_SOURCE_FUNC(chardev_in_ready), chr, NULL);
        g_source_attach(chr->in_watch, main_loop_context());
    }
    g_mutex_unlock(&chr->in_lock);
    if (was_paused && chr->backend->input_paused) {
        chr->backend->input_paused(chr, false);
    }
}

void chardev_input_stop(Chardev *chr)
{
    bool was_paused;

    g_mutex_lock(&chr->in_lock);
    watch_destroy(&chr->in_watch);
    was_paused = chr->in_paused;
    chr->in_paused = false;
    g_mutex_unlock(&chr->in_lock);
    if (was_paused && chr->backend->input_paused) {
        chr->backend->input_paused(chr, false);
    }
}

bool chardev_input_is_paused(Chardev *chr)
{
    bool paused;

    g_mutex_lock(&chr->in_lock);
    paused = chr->in_paused;
    g_mutex_unlock(&chr->in_lock);
    return paused;
}

static void input_pause(Chardev *chr)
{
    bool paused = false;

    g_mutex_lock(&chr->in_lock);
    if (chr->in_watch) {
        watch_destroy(&chr->in_watch);
        chr->in_paused = paused = true;
    }
    g_mutex_unlock(&chr->in_lock);
    if (paused && chr->backend->input_paused) {
        chr->backend->input_paused(chr, true);
    }
}

static gboolean chardev_kick_cb(gpointer opaque)
{
    Chardev *chr = opaque;
    bool resume;

    g_mutex_lock(&chr->in_lock);
    if (chr->kick) {
        g_source_unref(chr->kick);
        chr->kick = NULL;
    }
    g_mutex_unlock(&chr->in_lock);
    if (chr->closed) {
        return G_SOURCE_REMOVE;
    }

    /* OPENED to the frontends that have not seen it (newly attached). */
    for (int i = 0; i < chr->nr_fe; i++) {
        CharFrontend *fe = chr->fe[i];
        if (fe->open_event_pending) {
            fe->open_event_pending = false;
            fe_event(fe, CHR_EVENT_OPENED);
            i = -1;   /* the handler may have changed the list: restart */
        }
    }
    if (chr->mux) {
        mux_announce_focus(chr);
        mux_flush(chr);
    }

    g_mutex_lock(&chr->in_lock);
    resume = chr->in_paused && chr->in_fd >= 0 && !chr->closed;
    g_mutex_unlock(&chr->in_lock);
    if (resume) {
        chardev_input_start(chr);
    }
    return G_SOURCE_REMOVE;
}

void chardev_accept_input(Chardev *chr)
{
    bool need;

    if (!chr) {
        return;
    }
    g_atomic_int_inc(&chr->in_resume_seq);
    g_mutex_lock(&chr->in_lock);
    need = chr->in_paused;
    g_mutex_unlock(&chr->in_lock);
    if (!need && chr->mux && chr->nr_fe > 0 && chr->fe[chr->focus]->buf_len > 0) {
        need = true;
    }
    if (need) {
        chardev_kick(chr);
    }
}

/* ---- closing ---- */

static void chardev_close(Chardev *chr)
{
    if (chr->closed) {
        return;
    }
    g_mutex_lock(&chr->in_lock);
    watch_destroy(&chr->in_watch);
    watch_destroy(&chr->kick);
    chr->in_paused = false;
    g_mutex_unlock(&chr->in_lock);

    g_mutex_lock(&chr->out_lock);
    chr->closed = true;
    chr->backend->close(chr);
    if (chr->log_fd >= 0) {
        close(chr->log_fd);
        chr->log_fd = -1;
    }
    g_mutex_unlock(&chr->out_lock);
}

static void chardev_unregister(Chardev *chr)
{
    if (chr->registered) {
        g_ptr_array_remove(chardevs, chr);
        chr->registered = false;
    }
}

void chardev_delete(Chardev *chr)
{
    if (!chr) {
        return;
    }
    chardev_close(chr);
    chardev_unregister(chr);
    while (chr->nr_fe > 0) {
        detach_index(chr, chr->nr_fe - 1);
    }
    chardev_free(chr);
}

void chardev_close_all(void)
{
    if (!chardevs) {
        return;
    }
    while (chardevs->len > 0) {
        Chardev *chr = g_ptr_array_index(chardevs, chardevs->len - 1);
        chardev_close(chr);
        chardev_unregister(chr);
        maybe_free_orphan(chr);
    }
}
