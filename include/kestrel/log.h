/* Logging selected by -d ITEM[,ITEM...] (QEMU's spelling) and -D FILE. */
#ifndef KESTREL_LOG_H
#define KESTREL_LOG_H

#include "kestrel/osdep.h"

#define LOG_GUEST_ERROR  (1u << 0)   /* -d guest_errors: the guest did something invalid */
#define LOG_UNIMP        (1u << 1)   /* -d unimp: the guest used something not implemented */
#define LOG_MTREE        (1u << 2)   /* -d mtree: dump the memory tree once the machine is built */
#define LOG_INT          (1u << 3)   /* -d int: interrupts and exceptions */
#define LOG_CPU          (1u << 4)   /* -d cpu: register dump before each translation block */
#define LOG_IN_ASM       (1u << 5)   /* -d in_asm: guest code as it is translated */
#define LOG_EXEC         (1u << 6)   /* -d exec: each executed translation block */
#define LOG_KVM          (1u << 7)   /* -d kvm: KVM exits */

extern unsigned kestrel_log_mask;

static inline bool log_enabled(unsigned mask)
{
    return (kestrel_log_mask & mask) != 0;
}

/* Parses "guest_errors,unimp" (or "help"); false with *errp set on an unknown item. */
bool log_parse_items(const char *items, GError **errp);
/* Prints the list of -d items to stdout. */
void log_print_items(void);
/* Sends log output to a file instead of stderr (-D). */
bool log_set_file(const char *path, GError **errp);

/* Writes to the log unconditionally. Thread safe. */
void log_printf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Logs under `mask` if enabled. LOG_GUEST_ERROR and LOG_UNIMP are rate-limited
 * (a hostile guest must not be able to flood the host's disk). */
void log_mask(unsigned mask, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
#define log_guest_error(...) log_mask(LOG_GUEST_ERROR, __VA_ARGS__)

#endif
