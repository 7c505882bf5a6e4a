/*
 * Private to chardev/: the Chardev structure shared by the generic layer
 * (char.c: registry, option parsing, frontends, mux, input pump) and the
 * backends (char-fd.c, char-stdio.c, char-socket.c).
 */
#ifndef CHARDEV_CHAR_INTERNAL_H
#define CHARDEV_CHAR_INTERNAL_H

#include "chardev/char.h"

#include <fcntl.h>
#include <glib-unix.h>

/* Bytes a mux chardev holds per frontend while that frontend cannot take
 * them, so that C-a escapes still work when the guest is not reading. */
#define CHARDEV_MUX_BUFFER 256

typedef struct ChardevBackend {
    const char *name;
    /* Backend-specific option keys (NULL-terminated); the common ones (id,
     * backend, mux, logfile, logappend) are handled by char.c. */
    const char *const *keys;
    /* Opens the backend from its options; sets chr->filename. May set
     * in_fd/out_fd and call chardev_input_start(). */
    bool (*open)(Chardev *chr, GHashTable *opts, GError **errp);
    /* Releases everything open() made (fds, sockets, terminal mode). */
    void (*close)(Chardev *chr);
    /* Optional: writes with out_lock held. Default: chardev_fd_write(). */
    int (*write)(Chardev *chr, const uint8_t *buf, int len);
    /* Optional: input reached end-of-file or failed (main thread). Default:
     * input stops. Sockets drop the client instead. */
    void (*input_eof)(Chardev *chr);
    /* Optional: input was paused (the frontend is full) or resumed (main
     * thread). Sockets watch for hang-ups while paused. */
    void (*input_paused)(Chardev *chr, bool paused);
    /* Optional: is there a peer (sockets). Default: true. */
    bool (*connected)(const Chardev *chr);
    /* Optional: reads input (main thread); default read(in_fd). Sockets use
     * recvmsg() to collect fds passed with SCM_RIGHTS. */
    ssize_t (*read)(Chardev *chr, uint8_t *buf, size_t len);
} ChardevBackend;

typedef struct CharFrontend {
    const CharFrontendOps *ops;
    void *opaque;
    bool open_event_pending;   /* CHR_EVENT_OPENED not delivered yet */
    /* Mux only: input that arrived while the frontend could not take it. */
    uint8_t buf[CHARDEV_MUX_BUFFER];
    unsigned buf_len;
} CharFrontend;

struct Chardev {
    char *id;
    const ChardevBackend *backend;
    char *filename;            /* QEMU -serial spelling, for query-chardev */
    bool mux;
    bool closed;               /* backend closed; writes fail, no input */
    bool registered;           /* listed in the registry (chardev_find) */

    /* Frontends: at most one unless mux. All touched on the main thread or
     * with the big lock held. */
    CharFrontend *fe[CHARDEV_MUX_MAX];
    int nr_fe;
    int focus;                 /* mux: index in fe[] that gets input */
    CharFrontend *focus_announced; /* mux: the last one told CHR_EVENT_MUX_IN */
    bool mux_escape;           /* mux: the previous input byte was C-a */

    /* Output: serialised by out_lock (vCPU threads and the main thread may
     * both write; the big lock normally serialises them already). */
    GMutex out_lock;
    int out_fd;                /* -1: output is dropped */
    bool out_congested;        /* the last write stalled: do not wait again */
    bool out_broken;           /* a hard error: drop until the backend recovers */
    int log_fd;                /* logfile=, -1 if none */

    /* Input: in_fd is read by a watch on the main context. */
    GMutex in_lock;
    int in_fd;                 /* -1: no input */
    GSource *in_watch;         /* reading (NULL while paused or stopped) */
    GSource *kick;             /* pending main-thread resume/flush/events */
    bool in_paused;            /* the frontend was full; kick resumes */
    unsigned in_resume_seq;    /* bumped by chardev_accept_input() */

    void *opaque;              /* the backend's private state */
};

/* Backends. */
extern const ChardevBackend chardev_null_backend;
extern const ChardevBackend chardev_file_backend;
extern const ChardevBackend chardev_pipe_backend;
extern const ChardevBackend chardev_stdio_backend;
extern const ChardevBackend chardev_socket_backend;
extern const ChardevBackend chardev_pty_backend;

/* Starts (or restarts) reading in_fd on the main context. */
void chardev_input_start(Chardev *chr);
/* Stops reading in_fd (the fd is left open). */
void chardev_input_stop(Chardev *chr);
/* True while input waits for the frontend to make room. */
bool chardev_input_is_paused(Chardev *chr);
/* Schedules, on the main thread: delivery of pending OPENED events and mux
 * buffers, and resumption of paused input. Any thread. */
void chardev_kick(Chardev *chr);
/* Tells every frontend (main thread). */
void chardev_send_event(Chardev *chr, ChardevEvent event);

/* Writes all of buf to fd, waiting briefly (never forever) when the fd is
 * full. Returns the bytes written; *error gets errno on a hard error (0 if
 * none); *congested is set when it gave up waiting. */
int chardev_fd_write(int fd, const uint8_t *buf, int len, bool *congested, int *error);
/* The default write: out_fd, or dropped when there is none. */
int chardev_default_write(Chardev *chr, const uint8_t *buf, int len);

/* Option helpers for backends: a key's value or NULL; a bool with default. */
const char *chardev_opt(GHashTable *opts, const char *key);
bool chardev_opt_bool(GHashTable *opts, const char *key, bool dflt, bool *out,
                      GError **errp);

#endif
