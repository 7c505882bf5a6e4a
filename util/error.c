/* User-facing error reporting. */
#include "kestrel/osdep.h"
#include <unistd.h>

G_DEFINE_QUARK(kestrel-error-quark, kestrel_error)

void error_setg(GError **errp, const char *fmt, ...)
{
    va_list ap;

    if (!errp) {
        return;
    }
    /* Keep the first error: later ones are usually consequences of it. */
    if (*errp) {
        return;
    }
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    *errp = g_error_new_literal(KESTREL_ERROR, KESTREL_ERROR_FAILED, msg);
    g_free(msg);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "kestrel-system-x86_64: %s\n", msg);
    g_free(msg);
}

void error_report_err(GError *err)
{
    error_report("%s", err->message);
    g_error_free(err);
}

uint64_t host_physical_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    return pages > 0 && page_size > 0 ? (uint64_t)pages * (uint64_t)page_size : 0;
}
