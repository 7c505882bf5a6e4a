/* -object memory-backend-{ram,memfd,file},id=..,size=..,share=on|off,... */
#ifndef SYSEMU_HOSTMEM_H
#define SYSEMU_HOSTMEM_H

#include "exec/ramblock.h"

typedef struct HostMemoryBackend {
    char *id;
    char *type;              /* "memory-backend-ram", ... */
    uint64_t size;
    bool share;
    bool prealloc;
    char *mem_path;          /* memory-backend-file */
    bool used;               /* claimed by the machine or a device */
    MemoryRegion mr;         /* a RAM region over the backend's block */
} HostMemoryBackend;

/* Creates a backend from parsed options (key -> value strings, including
 * "qom-type" and "id"). Unknown keys and bad values are errors. */
HostMemoryBackend *host_memory_backend_create(GHashTable *opts, GError **errp);
HostMemoryBackend *host_memory_backend_find(const char *id);

#endif
