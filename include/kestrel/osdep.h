/* Common includes and basic types shared by every Kestrel source file. */
#ifndef KESTREL_OSDEP_H
#define KESTREL_OSDEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <glib.h>

/* A guest physical address (or an offset within an address space). */
typedef uint64_t hwaddr;
#define HWADDR_PRIx PRIx64

/* An offset in the packed space that holds every RAMBlock back to back. */
typedef uint64_t ram_addr_t;
#define RAM_ADDR_INVALID (~(ram_addr_t)0)

#define KESTREL_ALIGN_DOWN(n, m) ((n) / (m) * (m))
#define KESTREL_ALIGN_UP(n, m) KESTREL_ALIGN_DOWN((n) + (m) - 1, (m))
#define KESTREL_IS_ALIGNED(n, m) (((n) % (m)) == 0)

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define KESTREL_PAGE_BITS 12
#define KESTREL_PAGE_SIZE ((uint64_t)1 << KESTREL_PAGE_BITS)
#define KESTREL_PAGE_MASK (~(KESTREL_PAGE_SIZE - 1))

/* Registers a type (device, machine, accelerator) at program start-up.
 * The core library is linked whole, so these constructors always run. */
#define type_init(fn) \
    static void __attribute__((constructor)) kestrel_type_init_##fn(void) { fn(); }

/* Bytes of physical memory the host has (0 if unknown). */
uint64_t host_physical_memory_bytes(void);

/* The error domain used by every Kestrel GError. */
#define KESTREL_ERROR kestrel_error_quark()
GQuark kestrel_error_quark(void);
enum { KESTREL_ERROR_FAILED = 1 };

/* Sets *errp (if errp is non-NULL) to a new Kestrel error. */
void error_setg(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Prints "kestrel-system-x86_64: <message>" on stderr. */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* error_report() of err->message, then frees err. */
void error_report_err(GError *err);

#endif
