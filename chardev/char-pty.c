/*
 * The pty backend (-chardev pty,id=ID, -serial pty): a new pseudo-terminal
 * whose slave side (/dev/pts/N) a user opens with a terminal program. The
 * name is printed on stderr like QEMU does and reported by query-chardev as
 * "pty:/dev/pts/N". Kestrel keeps a slave fd open itself, so reading the
 * master never fails with EIO while nobody is attached; output written
 * meanwhile fills the pty buffer and then is dropped (a congested chardev).
 */
#include "chardev/char-internal.h"

#include <termios.h>
#include <unistd.h>

typedef struct PtyState {
    int master;
    int slave;
} PtyState;

static const char *const pty_keys[] = { NULL };

static bool pty_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    PtyState *s;
    struct termios tio;
    const char *name;
    int master, slave;

    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
        !(name = ptsname(master))) {
        error_setg(errp, "chardev '%s': cannot create a pty: %s", chr->id, g_strerror(errno));
        if (master >= 0) {
            close(master);
        }
        return false;
    }
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        error_setg(errp, "chardev '%s': cannot open %s: %s", chr->id, name, g_strerror(errno));
        close(master);
        return false;
    }
    /* A raw line: the guest's bytes pass unchanged both ways. */
    if (tcgetattr(slave, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(slave, TCSAFLUSH, &tio);
    }
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

    s = g_new0(PtyState, 1);
    s->master = master;
    s->slave = slave;
    chr->opaque = s;
    chr->filename = g_strdup_printf("pty:%s", name);
    fprintf(stderr, "char device redirected to %s (label %s)\n", name, chr->id);
    chr->in_fd = master;
    chr->out_fd = master;
    chardev_input_start(chr);
    return true;
}

static void pty_close(Chardev *chr)
{
    PtyState *s = chr->opaque;

    if (!s) {
        return;
    }
    chr->in_fd = -1;
    chr->out_fd = -1;
    close(s->master);
    close(s->slave);
    g_free(s);
    chr->opaque = NULL;
}

const ChardevBackend chardev_pty_backend = {
    .name = "pty",
    .keys = pty_keys,
    .open = pty_open,
    .close = pty_close,
};
