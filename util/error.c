/* User-facing error reporting. */
#include "kestrel/osdep.h"

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
