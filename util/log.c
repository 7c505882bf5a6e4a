/* -d / -D logging with rate limiting for guest-triggered messages. */
#include "kestrel/log.h"

unsigned kestrel_log_mask;

static FILE *log_file;
static GMutex log_lock;

typedef struct LogItem {
    unsigned mask;
    const char *name;
    const char *help;
} LogItem;

static const LogItem log_items[] = {
    { LOG_GUEST_ERROR, "guest_errors", "log when the guest OS does something invalid" },
    { LOG_UNIMP, "unimp", "log unimplemented functionality" },
    { LOG_MTREE, "mtree", "dump the memory tree and flat views once the machine is built" },
    { LOG_INT, "int", "show interrupts and exceptions" },
    { LOG_CPU, "cpu", "show CPU registers before entering a translation block (TCG)" },
    { LOG_IN_ASM, "in_asm", "show guest code as it is translated (TCG)" },
    { LOG_EXEC, "exec", "show each executed translation block (TCG)" },
    { LOG_KVM, "kvm", "show KVM exits to userspace" },
};

bool log_parse_items(const char *items, GError **errp)
{
    unsigned mask = 0;
    g_auto(GStrv) parts = g_strsplit(items, ",", -1);

    for (char **p = parts; *p; p++) {
        bool found = false;
        if (!**p) {
            continue;
        }
        for (size_t i = 0; i < G_N_ELEMENTS(log_items); i++) {
            if (!strcmp(*p, log_items[i].name)) {
                mask |= log_items[i].mask;
                found = true;
            }
        }
        if (!found) {
            error_setg(errp, "-d: unknown log item '%s' (use -d help for the list)", *p);
            return false;
        }
    }
    kestrel_log_mask |= mask;
    return true;
}

void log_print_items(void)
{
    printf("Log items (comma separated):\n");
    for (size_t i = 0; i < G_N_ELEMENTS(log_items); i++) {
        printf("%-14s %s\n", log_items[i].name, log_items[i].help);
    }
}

bool log_set_file(const char *path, GError **errp)
{
    FILE *f = fopen(path, "a");
    if (!f) {
        error_setg(errp, "-D %s: %s", path, g_strerror(errno));
        return false;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    g_mutex_lock(&log_lock);
    if (log_file) {
        fclose(log_file);
    }
    log_file = f;
    g_mutex_unlock(&log_lock);
    return true;
}

static void log_vprintf(const char *fmt, va_list ap)
{
    g_mutex_lock(&log_lock);
    vfprintf(log_file ? log_file : stderr, fmt, ap);
    g_mutex_unlock(&log_lock);
}

void log_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vprintf(fmt, ap);
    va_end(ap);
}

/* Guest-triggered messages: at most LOG_BURST per LOG_WINDOW_US, then one
 * line saying how many were suppressed when the window rolls over. */
#define LOG_BURST 100
#define LOG_WINDOW_US (1000 * 1000)

static gint64 window_start;
static unsigned window_count;
static unsigned window_suppressed;

static bool log_rate_limit_allows(void)
{
    bool allowed;
    gint64 now = g_get_monotonic_time();

    g_mutex_lock(&log_lock);
    if (now - window_start >= LOG_WINDOW_US) {
        if (window_suppressed) {
            fprintf(log_file ? log_file : stderr,
                    "(%u guest log messages suppressed)\n", window_suppressed);
        }
        window_start = now;
        window_count = 0;
        window_suppressed = 0;
    }
    allowed = window_count < LOG_BURST;
    if (allowed) {
        window_count++;
    } else {
        window_suppressed++;
    }
    g_mutex_unlock(&log_lock);
    return allowed;
}

void log_mask(unsigned mask, const char *fmt, ...)
{
    va_list ap;

    if (!log_enabled(mask)) {
        return;
    }
    if ((mask & (LOG_GUEST_ERROR | LOG_UNIMP)) && !log_rate_limit_allows()) {
        return;
    }
    va_start(ap, fmt);
    log_vprintf(fmt, ap);
    va_end(ap);
}
