/*
 * The socket backend: a unix (path=) or TCP (host=,port=) stream socket,
 * either listening (server=on) for one client at a time or connected to a
 * server at start-up. Output while no client is connected is dropped; a
 * client that stops reading loses output rather than stalling the guest.
 */
#include "chardev/char-internal.h"
#include "kestrel/log.h"
#include "kestrel/keyval.h"
#include "sysemu/main-loop.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct SocketState {
    bool server;
    bool nodelay;
    char *unix_path;          /* unix sockets */
    bool unlink_on_close;     /* we created the socket file */
    int listen_fd;
    GSource *listen_watch;
    int client_fd;
    GSource *hup_watch;       /* while input is paused */
    GSource *hangup_check;    /* scheduled after a failed write */
    GQueue received_fds;      /* SCM_RIGHTS fds not taken yet (int in pointer) */
} SocketState;

/* At most this many passed fds wait to be taken; more are closed. */
#define SOCKET_MAX_PENDING_FDS 16

static const char *const socket_keys[] = {
    "path", "host", "port", "fd", "server", "wait", "nowait", "nodelay",
    /* Known QEMU options that Kestrel does not implement. */
    "telnet", "tn3270", "websocket", "reconnect", "tls-creds", NULL,
};

static void socket_listen_start(Chardev *chr);
static void socket_mark_broken(Chardev *chr);

static void drop_received_fds(SocketState *s)
{
    while (!g_queue_is_empty(&s->received_fds)) {
        close(GPOINTER_TO_INT(g_queue_pop_head(&s->received_fds)));
    }
}

static void source_destroy(GSource **src)
{
    if (*src) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

/* Main thread: drops the client and listens again (servers). */
static void socket_disconnect(Chardev *chr)
{
    SocketState *s = chr->opaque;

    if (s->client_fd < 0) {
        return;
    }
    chardev_input_stop(chr);
    source_destroy(&s->hup_watch);
    g_mutex_lock(&chr->out_lock);
    source_destroy(&s->hangup_check);
    close(s->client_fd);
    s->client_fd = -1;
    drop_received_fds(s);
    chr->in_fd = -1;
    chr->out_fd = -1;
    chr->out_broken = false;
    chr->out_congested = false;
    g_mutex_unlock(&chr->out_lock);
    if (s->server) {
        socket_listen_start(chr);
    }
    chardev_send_event(chr, CHR_EVENT_CLOSED);
}

static void socket_connected(Chardev *chr, int fd)
{
    SocketState *s = chr->opaque;
    int flags = fcntl(fd, F_GETFL);

    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (s->nodelay) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    /* One client at a time: later ones wait in the listen backlog. */
    source_destroy(&s->listen_watch);
    g_mutex_lock(&chr->out_lock);
    s->client_fd = fd;
    chr->out_fd = fd;
    chr->out_broken = false;
    chr->out_congested = false;
    g_mutex_unlock(&chr->out_lock);
    chr->in_fd = fd;
    chardev_input_start(chr);
    chardev_send_event(chr, CHR_EVENT_OPENED);
}

static gboolean socket_accept_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    Chardev *chr = opaque;
    SocketState *s = chr->opaque;
    int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (client < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            /* Out of fds, most likely: stop listening rather than spin. */
            log_printf("chardev '%s': accept failed, no more clients: %s\n",
                       chr->id, g_strerror(errno));
            source_destroy(&s->listen_watch);
        }
        return G_SOURCE_CONTINUE;
    }
    if (s->client_fd >= 0) {
        close(client);
        return G_SOURCE_CONTINUE;
    }
    socket_connected(chr, client);
    return G_SOURCE_CONTINUE;
}

static void socket_listen_start(Chardev *chr)
{
    SocketState *s = chr->opaque;

    if (s->listen_fd < 0 || s->listen_watch || chr->closed) {
        return;
    }
    s->listen_watch = g_unix_fd_source_new(s->listen_fd, G_IO_IN);
    g_source_set_callback(s->listen_watch, G_SOURCE_FUNC(socket_accept_ready), chr, NULL);
    g_source_attach(s->listen_watch, main_loop_context());
}

static void socket_input_eof(Chardev *chr)
{
    socket_disconnect(chr);
}

static gboolean socket_hup_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    /* The client hung up while the frontend was full: what it sent last
     * cannot be delivered to anyone now, so let the next client in. */
    socket_disconnect(opaque);
    return G_SOURCE_CONTINUE;
}

static void socket_input_paused(Chardev *chr, bool paused)
{
    SocketState *s = chr->opaque;

    source_destroy(&s->hup_watch);
    if (paused && s->client_fd >= 0) {
        s->hup_watch = g_unix_fd_source_new(s->client_fd, G_IO_HUP | G_IO_ERR);
        g_source_set_callback(s->hup_watch, G_SOURCE_FUNC(socket_hup_ready), chr, NULL);
        g_source_attach(s->hup_watch, main_loop_context());
    }
}

static gboolean socket_hangup_check(gpointer opaque)
{
    Chardev *chr = opaque;
    SocketState *s = chr->opaque;

    g_mutex_lock(&chr->out_lock);
    if (s->hangup_check) {
        g_source_unref(s->hangup_check);
        s->hangup_check = NULL;
    }
    g_mutex_unlock(&chr->out_lock);
    /* While reading, end-of-file will come through the input path; while
     * paused, nothing would notice, so drop the client now. */
    if (chardev_input_is_paused(chr) || !chr->in_watch) {
        socket_disconnect(chr);
    }
    return G_SOURCE_REMOVE;
}

/* out_lock held; any thread. */
static int socket_write(Chardev *chr, const uint8_t *buf, int len)
{
    SocketState *s = chr->opaque;
    int error = 0;

    if (s->client_fd < 0 || chr->out_broken) {
        return len;   /* no client: dropped */
    }
    chardev_fd_write(s->client_fd, buf, len, &chr->out_congested, &error);
    if (error) {
        /* The client is gone (EPIPE, ECONNRESET). */
        socket_mark_broken(chr);
    }
    return len;
}

static bool socket_is_connected(const Chardev *chr)
{
    const SocketState *s = chr->opaque;

    return s && s->client_fd >= 0;
}

/* Main thread: reads like read(), keeping fds passed with SCM_RIGHTS. */
static ssize_t socket_read(Chardev *chr, uint8_t *buf, size_t len)
{
    SocketState *s = chr->opaque;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * SOCKET_MAX_PENDING_FDS)];
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    ssize_t n = recvmsg(chr->in_fd, &msg, MSG_CMSG_CLOEXEC);
    bool replaced = false;

    if (n < 0) {
        return n;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        /* As with QEMU, fds belong to the read that brought them: new ones
         * replace those no command took, so a later getfd without fds
         * cannot pick up a stale one. */
        if (!replaced) {
            drop_received_fds(s);
            replaced = true;
        }
        size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfds; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (g_queue_get_length(&s->received_fds) >= SOCKET_MAX_PENDING_FDS) {
                close(fd);
                continue;
            }
            g_queue_push_tail(&s->received_fds, GINT_TO_POINTER(fd));
        }
    }
    return n;
}

int chardev_take_received_fd(Chardev *chr)
{
    SocketState *s;
    int fd;

    if (!chr || chr->backend != &chardev_socket_backend || !chr->opaque) {
        return -1;
    }
    s = chr->opaque;
    if (g_queue_is_empty(&s->received_fds)) {
        return -1;
    }
    fd = GPOINTER_TO_INT(g_queue_pop_head(&s->received_fds));
    /* The others that came with it are not for anyone (QEMU closes them). */
    drop_received_fds(s);
    return fd;
}

static bool is_plain_socket(const Chardev *chr)
{
    return chr && chr->backend == &chardev_socket_backend && chr->opaque && !chr->mux;
}

/* out_lock held: the client is gone; stop writing, let the main thread
 * drop it. */
static void socket_mark_broken(Chardev *chr)
{
    SocketState *s = chr->opaque;

    chr->out_broken = true;
    if (!s->hangup_check) {
        s->hangup_check = g_idle_source_new();
        g_source_set_callback(s->hangup_check, socket_hangup_check, chr, NULL);
        g_source_attach(s->hangup_check, main_loop_context());
    }
}

int chardev_write_nonblock(Chardev *chr, const uint8_t *buf, int len)
{
    SocketState *s;
    int done = 0;

    if (!is_plain_socket(chr)) {
        return chardev_write(chr, buf, len);
    }
    s = chr->opaque;
    g_mutex_lock(&chr->out_lock);
    if (chr->closed || s->client_fd < 0 || chr->out_broken) {
        g_mutex_unlock(&chr->out_lock);
        return -1;
    }
    while (done < len) {
        ssize_t n = send(s->client_fd, buf + done, (size_t)(len - done),
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            done += (int)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            socket_mark_broken(chr);
            done = -1;
            break;
        }
    }
    g_mutex_unlock(&chr->out_lock);
    return done;
}

GSource *chardev_add_out_watch(Chardev *chr, gboolean (*fn)(gint fd, GIOCondition cond,
                                                        gpointer opaque), void *opaque)
{
    SocketState *s;
    GSource *src;

    if (!is_plain_socket(chr)) {
        return NULL;
    }
    s = chr->opaque;
    if (s->client_fd < 0) {
        return NULL;
    }
    src = g_unix_fd_source_new(s->client_fd, G_IO_OUT | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(src, G_SOURCE_FUNC(fn), opaque, NULL);
    g_source_attach(src, main_loop_context());
    return src;
}

void chardev_disconnect_client(Chardev *chr)
{
    if (chr && chr->backend == &chardev_socket_backend && chr->opaque) {
        socket_disconnect(chr);
    }
}

/* ---- opening ---- */

static bool unix_address(Chardev *chr, const char *path, struct sockaddr_un *addr,
                         GError **errp)
{
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr->sun_path)) {
        error_setg(errp, "chardev '%s': socket path '%s' is too long (at most %zu bytes)",
                   chr->id, path, sizeof(addr->sun_path) - 1);
        return false;
    }
    strcpy(addr->sun_path, path);
    return true;
}

static int unix_listen(Chardev *chr, const char *path, GError **errp)
{
    SocketState *s = chr->opaque;
    struct sockaddr_un addr;
    struct stat st;
    int fd;

    if (!unix_address(chr, path, &addr, errp)) {
        return -1;
    }
    /* A socket file left by an earlier run is replaced; anything else at
     * that path is the user's and stays. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            error_setg(errp, "chardev '%s': '%s' exists and is not a socket", chr->id, path);
            return -1;
        }
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        error_setg(errp, "chardev '%s': socket: %s", chr->id, g_strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        error_setg(errp, "chardev '%s': cannot bind to '%s': %s", chr->id, path,
                   g_strerror(errno));
        close(fd);
        return -1;
    }
    s->unlink_on_close = true;
    if (listen(fd, 4) < 0) {
        error_setg(errp, "chardev '%s': listen on '%s': %s", chr->id, path, g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int unix_connect(Chardev *chr, const char *path, GError **errp)
{
    struct sockaddr_un addr;
    int fd;

    if (!unix_address(chr, path, &addr, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg(errp, "chardev '%s': socket: %s", chr->id, g_strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        error_setg(errp, "chardev '%s': cannot connect to '%s': %s", chr->id, path,
                   g_strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int tcp_open(Chardev *chr, const char *host, const char *port, bool server,
                    GError **errp)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = server ? AI_PASSIVE : 0,
    };
    struct addrinfo *res, *ai;
    int err, fd = -1, last_errno = 0;

    err = getaddrinfo(host && *host ? host : NULL, port, &hints, &res);
    if (err) {
        error_setg(errp, "chardev '%s': address '%s:%s': %s", chr->id, host ? host : "",
                   port, gai_strerror(err));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (server) {
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4) == 0) {
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                break;
            }
        } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg(errp, "chardev '%s': cannot %s '%s:%s': %s", chr->id,
                   server ? "listen on" : "connect to", host ? host : "", port,
                   g_strerror(last_errno));
    }
    return fd;
}

/* wait=on: start-up blocks until the first client connects, like QEMU. */
static int socket_wait_for_client(Chardev *chr, GError **errp)
{
    SocketState *s = chr->opaque;

    fprintf(stderr, "kestrel-system-x86_64: waiting for connection on: disconnected:%s\n",
            chr->filename);
    for (;;) {
        struct pollfd pfd = { .fd = s->listen_fd, .events = POLLIN };
        int client;

        if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
            break;
        }
        client = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (client >= 0) {
            return client;
        }
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            break;
        }
    }
    error_setg(errp, "chardev '%s': waiting for a client failed: %s", chr->id,
               g_strerror(errno));
    return -1;
}

static bool reject_unsupported(Chardev *chr, GHashTable *opts, GError **errp)
{
    static const char *const bool_opts[] = { "telnet", "tn3270", "websocket", NULL };

    for (const char *const *k = bool_opts; *k; k++) {
        bool on;
        if (!chardev_opt_bool(opts, *k, false, &on, errp)) {
            return false;
        }
        if (on) {
            error_setg(errp, "chardev '%s': socket option '%s' is not supported",
                       chr->id, *k);
            return false;
        }
    }
    const char *reconnect = chardev_opt(opts, "reconnect");
    if (reconnect && strcmp(reconnect, "0") != 0) {
        error_setg(errp, "chardev '%s': socket option 'reconnect' is not supported", chr->id);
        return false;
    }
    if (chardev_opt(opts, "tls-creds")) {
        error_setg(errp, "chardev '%s': socket option 'tls-creds' is not supported", chr->id);
        return false;
    }
    return true;
}

static void socket_free_state(Chardev *chr)
{
    SocketState *s = chr->opaque;

    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    if (s->unlink_on_close && s->unix_path) {
        unlink(s->unix_path);
    }
    drop_received_fds(s);
    g_free(s->unix_path);
    g_free(s);
    chr->opaque = NULL;
}

/* fd=N: a socket inherited from the parent (libvirt passes one that is
 * already bound and listening). */
static bool socket_open_fd(Chardev *chr, GHashTable *opts, bool server, bool wait,
                           GError **errp)
{
    const char *value = chardev_opt(opts, "fd");
    SocketState *s;
    uint64_t n;
    int fd, type = 0, listening = 0;
    socklen_t optlen = sizeof(type);

    if (chardev_opt(opts, "path") || chardev_opt(opts, "host") || chardev_opt(opts, "port")) {
        error_setg(errp, "chardev '%s': fd= cannot be combined with path=, host= or port=",
                   chr->id);
        return false;
    }
    if (!keyval_parse_uint64("fd", value, &n, errp)) {
        return false;
    }
    fd = n > INT_MAX ? -1 : (int)n;
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) < 0 ||
        type != SOCK_STREAM) {
        error_setg(errp, "chardev '%s': fd=%s is not an open stream socket", chr->id, value);
        return false;
    }
    optlen = sizeof(listening);
    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen);
    if (server && !listening) {
        error_setg(errp, "chardev '%s': fd=%s is not a listening socket", chr->id, value);
        return false;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    s = g_new0(SocketState, 1);
    s->server = server;
    s->listen_fd = -1;
    s->client_fd = -1;
    chr->opaque = s;
    chr->filename = g_strdup_printf("fd:%d%s", fd, server ? ",server=on" : "");
    if (!server) {
        socket_connected(chr, fd);
        return true;
    }
    s->listen_fd = fd;
    if (wait) {
        int client = socket_wait_for_client(chr, errp);
        if (client < 0) {
            socket_free_state(chr);
            return false;
        }
        socket_connected(chr, client);
    } else {
        socket_listen_start(chr);
    }
    return true;
}

static bool socket_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    const char *path = chardev_opt(opts, "path");
    const char *host = chardev_opt(opts, "host");
    const char *port = chardev_opt(opts, "port");
    bool server, wait, nowait, nodelay;
    SocketState *s;
    int fd;

    if (!reject_unsupported(chr, opts, errp) ||
        !chardev_opt_bool(opts, "server", false, &server, errp) ||
        !chardev_opt_bool(opts, "wait", true, &wait, errp) ||
        !chardev_opt_bool(opts, "nowait", false, &nowait, errp) ||
        !chardev_opt_bool(opts, "nodelay", false, &nodelay, errp)) {
        return false;
    }
    if (nowait) {
        wait = false;   /* the old spelling of wait=off */
    }
    if ((chardev_opt(opts, "wait") || nowait) && !server) {
        error_setg(errp, "chardev '%s': 'wait' only applies to server=on sockets", chr->id);
        return false;
    }
    if (chardev_opt(opts, "fd")) {
        return socket_open_fd(chr, opts, server, wait, errp);
    }
    if (path && (host || port)) {
        error_setg(errp, "chardev '%s': give either path= (unix) or host=,port= (tcp)",
                   chr->id);
        return false;
    }
    if (!path && !port) {
        error_setg(errp, "chardev '%s': backend 'socket' needs path=PATH or "
                   "host=HOST,port=PORT", chr->id);
        return false;
    }
    if (path && !*path) {
        error_setg(errp, "chardev '%s': socket path is empty", chr->id);
        return false;
    }

    s = g_new0(SocketState, 1);
    s->server = server;
    s->nodelay = nodelay;
    s->listen_fd = -1;
    s->client_fd = -1;
    chr->opaque = s;
    if (path) {
        /* Absolute, so the file can be removed after a chdir (-daemonize). */
        s->unix_path = g_canonicalize_filename(path, NULL);
        chr->filename = g_strdup_printf("unix:%s%s", path, server ? ",server=on" : "");
    } else {
        chr->filename = g_strdup_printf("tcp:%s:%s%s", host ? host : "", port,
                                        server ? ",server=on" : "");
    }

    if (!server) {
        fd = path ? unix_connect(chr, path, errp) : tcp_open(chr, host, port, false, errp);
        if (fd < 0) {
            socket_free_state(chr);
            return false;
        }
        socket_connected(chr, fd);
        return true;
    }

    s->listen_fd = path ? unix_listen(chr, path, errp) : tcp_open(chr, host, port, true, errp);
    if (s->listen_fd < 0) {
        socket_free_state(chr);
        return false;
    }
    if (wait) {
        fd = socket_wait_for_client(chr, errp);
        if (fd < 0) {
            socket_free_state(chr);
            return false;
        }
        socket_connected(chr, fd);
    } else {
        socket_listen_start(chr);
    }
    return true;
}

static void socket_close(Chardev *chr)
{
    SocketState *s = chr->opaque;

    if (!s) {
        return;
    }
    /* Called with out_lock held and input stopped by char.c. */
    source_destroy(&s->listen_watch);
    source_destroy(&s->hup_watch);
    source_destroy(&s->hangup_check);
    if (s->client_fd >= 0) {
        close(s->client_fd);
        s->client_fd = -1;
    }
    chr->in_fd = -1;
    chr->out_fd = -1;
    socket_free_state(chr);
}

const ChardevBackend chardev_socket_backend = {
    .name = "socket",
    .keys = socket_keys,
    .open = socket_open,
    .close = socket_close,
    .write = socket_write,
    .input_eof = socket_input_eof,
    .input_paused = socket_input_paused,
    .connected = socket_is_connected,
    .read = socket_read,
};
