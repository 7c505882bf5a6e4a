/*
 * The stdio backend: input from fd 0, output to fd 1. When stdin is a
 * terminal it is switched to raw mode (every key goes to the guest at once,
 * no local echo); signal=off also passes C-c and C-z to the guest. The
 * terminal is restored when the chardev closes, at exit, and on fatal
 * signals.
 */
#include "chardev/char-internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

static const char *const stdio_keys[] = { "signal", NULL };

/* Only one chardev may own the terminal. */
static bool stdio_in_use;

/* The terminal state to restore; read from signal handlers, so plain
 * globals written before the handlers are installed. */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

static void stdio_restore_terminal(void)
{
    if (termios_saved) {
        /* A process that was put in the background since would be stopped
         * by SIGTTOU here; with it blocked the change just goes through.
         * Both calls are async-signal-safe. */
        sigset_t ttou, old;
        sigemptyset(&ttou);
        sigaddset(&ttou, SIGTTOU);
        pthread_sigmask(SIG_BLOCK, &ttou, &old);
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
}

static void stdio_restore_at_exit(void)
{
    stdio_restore_terminal();
}

/* Signals that end the process with the default action: restore the
 * terminal first, then die the way the signal asked. */
static const int fatal_signals[] = {
    SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT, SIGTERM, SIGINT, SIGHUP,
};

static void stdio_fatal_signal(int sig)
{
    int saved_errno = errno;

    stdio_restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
    errno = saved_errno;
}

static void stdio_install_restore_hooks(void)
{
    static bool installed;

    if (installed) {
        return;
    }
    installed = true;
    atexit(stdio_restore_at_exit);
    for (size_t i = 0; i < G_N_ELEMENTS(fatal_signals); i++) {
        struct sigaction old;
        /* Someone else (the main loop's shutdown-on-signal handling) owns
         * signals it has claimed; its clean exit restores the terminal. */
        if (sigaction(fatal_signals[i], NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
            old.sa_handler == SIG_DFL) {
            struct sigaction sa = { .sa_handler = stdio_fatal_signal };
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESETHAND | SA_NODEFER;
            sigaction(fatal_signals[i], &sa, NULL);
        }
    }
}

static void stdio_set_raw(bool signals)
{
    struct termios tty;

    if (tcgetattr(STDIN_FILENO, &tty) < 0) {
        return;
    }
    saved_termios = tty;
    termios_saved = 1;
    stdio_install_restore_hooks();

    /* Input: bytes as typed (no CR/NL mapping, no flow control, no 8th-bit
     * stripping). Output post-processing stays on so the host terminal
     * still maps NL. Local: no echo, no line editing. */
    tty.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    tty.c_oflag |= OPOST;
    tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    if (!signals) {
        tty.c_lflag &= ~ISIG;
    }
    tty.c_cflag &= ~(CSIZE | PARENB);
    tty.c_cflag |= CS8;
    tty.c_cc[VMIN] = 1;
    tty.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &tty);
}

static bool stdio_open(Chardev *chr, GHashTable *opts, GError **errp)
{
    bool signals;

    if (stdio_in_use) {
        error_setg(errp, "chardev '%s': stdio is already used by another chardev", chr->id);
        return false;
    }
    if (!chardev_opt_bool(opts, "signal", true, &signals, errp)) {
        return false;
    }
    stdio_in_use = true;
    /* A closed stdin (or stdout) just means no input (output). */
    chr->in_fd = fcntl(STDIN_FILENO, F_GETFD) >= 0 ? STDIN_FILENO : -1;
    chr->out_fd = fcntl(STDOUT_FILENO, F_GETFD) >= 0 ? STDOUT_FILENO : -1;
    if (chr->in_fd >= 0 && isatty(chr->in_fd)) {
        /* tcgetpgrp fails for a terminal that is not our controlling
         * one; job control does not apply to those. */
        pid_t foreground = tcgetpgrp(chr->in_fd);
        if (foreground >= 0 && foreground != getpgrp()) {
            /* Started in the background (cmd &): reading the terminal or
             * changing its mode would stop the process (SIGTTIN/SIGTTOU),
             * so leave the terminal to the foreground job; output works. */
            chr->in_fd = -1;
        } else {
            stdio_set_raw(signals);
        }
    }
    chr->filename = g_strdup("stdio");
    chardev_input_start(chr);
    return true;
}

static void stdio_close(Chardev *chr)
{
    stdio_restore_terminal();
    termios_saved = 0;
    /* fds 0 and 1 stay open: other code may still print to stdout. */
    chr->in_fd = -1;
    chr->out_fd = -1;
    stdio_in_use = false;
}

const ChardevBackend chardev_stdio_backend = {
    .name = "stdio",
    .keys = stdio_keys,
    .open = stdio_open,
    .close = stdio_close,
};
