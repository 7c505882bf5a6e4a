/*
 * File-descriptor plumbing shared by the backends, and the simple backends:
 * null (discards), file (output to a file) and pipe (a pair of FIFOs).
 */
#include "chardev/char-internal.h"
#include "kestrel/log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long one write may wait for a full fd (a socket client that does not
 * read, a stopped terminal) before the rest is dropped. The caller may hold
 * the big lock, so this must stay short; after a stall the next writes do
 * not wait at all until the fd drains. */
#define WRITE_STALL_MS 500
/* Chunks no larger than this fit a pipe or socket that poll() calls
 * writable, so a blocking fd (stdout) does not block in write(). */
#define WRITE_CHUNK 4096

int chardev_fd_write(int fd, const uint8_t *buf, int len, bool *congested, int *error)
{
    gint64 deadline = 0;
    int done = 0;

    *error = 0;
    while (done < len) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int timeout_ms;
        int ready;
        ssize_t n;

        /* Wait for room first: stdout and pipes may be blocking fds, which
         * must never block in write() for long. */
        if (*congested) {
            timeout_ms = 0;
        } else {
            gint64 now = g_get_monotonic_time();
            if (!deadline) {
                deadline = now + WRITE_STALL_MS * 1000;
            }
            timeout_ms = now >= deadline ? 0 : (int)((deadline - now + 999) / 1000);
        }
        ready = poll(&pfd, 1, timeout_ms);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            *error = errno;
            return done;
        }
        if (ready == 0) {
            *congested = true;
            return done;
        }
        if (pfd.revents & POLLNVAL) {
            *error = EBADF;
            return done;
        }
        n = write(fd, buf + done, MIN(len - done, WRITE_CHUNK));
        if (n > 0) {
            done += n;
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        *error = n < 0 ? errno : EIO;
        return done;
    }
    *congested = false;
    return done;
}

int chardev_default_write(Chardev *chr, const uint8_t *buf, int len)
{
    int error = 0;

    if (chr->out_broken) {
        return -1;
    }
    if (chr->out_fd < 0) {
        return len;   /* nowhere to go: dropped, as a disconnected line would */
    }
    chardev_fd_write(chr->out_fd, buf, len, &chr->out_congested, &error);
    if (error) {
        chr->out_broken = true;
        log_printf("chardev '%s': write failed, output stops: %s\n",
                   chr->id, g_strerror(error));
        return -1;
    }
    /* Bytes dropped after a stall still count: the guest must not retry. */
    return len;
}

static void fd_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ---- null ---- */

static bool null_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    chr->filename = g_strdup("null");
    return true;
}

static void null_close(Chardev *chr)
{
}

const ChardevBackend chardev_null_backend = {
    .name = "null",
    .open = null_open,
    .close = null_close,
};

/* ---- file ---- */

static const char *const file_keys[] = { "path", "append", NULL };

static bool file_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    const char *path = chardev_opt(opts, "path");
    bool append;

    if (!path || !*path) {
        error_setg(errp, "chardev '%s': backend 'file' needs path=PATH", chr->id);
        return false;
    }
    if (!chardev_opt_bool(opts, "append", false, &append, errp)) {
        return false;
    }
    chr->out_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
                       0666);
    if (chr->out_fd < 0) {
        error_setg(errp, "chardev '%s': cannot open '%s': %s", chr->id, path,
                   g_strerror(errno));
        return false;
    }
    chr->filename = g_strdup_printf("file:%s", path);
    return true;
}

static void file_close(Chardev *chr)
{
    fd_close(&chr->out_fd);
}

const ChardevBackend chardev_file_backend = {
    .name = "file",
    .keys = file_keys,
    .open = file_open,
    .close = file_close,
};

/* ---- pipe ---- */

static const char *const pipe_keys[] = { "path", NULL };

/* Read+write opens of a FIFO do not wait for the other side, and keep the
 * FIFO from reporting end-of-file when a peer closes it. */
static int pipe_open_one(const char *path, GError **errp, const char *id)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        error_setg(errp, "chardev '%s': cannot open '%s': %s", id, path, g_strerror(errno));
    }
    return fd;
}

static bool pipe_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    const char *path = chardev_opt(opts, "path");
    g_autofree char *in_path = NULL;
    g_autofree char *out_path = NULL;

    if (!path || !*path) {
        error_setg(errp, "chardev '%s': backend 'pipe' needs path=PATH", chr->id);
        return false;
    }
    /* Like QEMU: PATH.in and PATH.out if both exist, else PATH both ways. */
    in_path = g_strdup_printf("%s.in", path);
    out_path = g_strdup_printf("%s.out", path);
    if (access(in_path, F_OK) == 0 && access(out_path, F_OK) == 0) {
        chr->in_fd = pipe_open_one(in_path, errp, chr->id);
        if (chr->in_fd < 0) {
            return false;
        }
        chr->out_fd = pipe_open_one(out_path, errp, chr->id);
        if (chr->out_fd < 0) {
            fd_close(&chr->in_fd);
            return false;
        }
    } else {
        chr->in_fd = pipe_open_one(path, errp, chr->id);
        if (chr->in_fd < 0) {
            return false;
        }
        chr->out_fd = dup(chr->in_fd);
        if (chr->out_fd < 0) {
            error_setg(errp, "chardev '%s': dup: %s", chr->id, g_strerror(errno));
            fd_close(&chr->in_fd);
            return false;
        }
    }
    chr->filename = g_strdup_printf("pipe:%s", path);
    chardev_input_start(chr);
    return true;
}

static void pipe_close(Chardev *chr)
{
    fd_close(&chr->in_fd);
    fd_close(&chr->out_fd);
}

const ChardevBackend chardev_pipe_backend = {
    .name = "pipe",
    .keys = pipe_keys,
    .open = pipe_open,
    .close = pipe_close,
};
