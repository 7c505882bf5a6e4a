/*
 * Host memory backends: -object memory-backend-{ram,memfd,file},id=...,size=...
 * Each backend owns one RAMBlock (named after the backend id, the name the
 * migration stream uses) and a RAM MemoryRegion over it.
 */
#include "kestrel/osdep.h"
#include "kestrel/keyval.h"
#include "sysemu/hostmem.h"

static GPtrArray *backends;      /* HostMemoryBackend* */

typedef struct BackendType {
    const char *name;
    RAMBlockBacking backing;
    bool default_share;
    bool has_mem_path;
} BackendType;

static const BackendType backend_types[] = {
    { "memory-backend-ram", RAM_BACKING_ANON, false, false },
    /* Like QEMU, a memfd backend is shared unless told otherwise. */
    { "memory-backend-memfd", RAM_BACKING_MEMFD, true, false },
    { "memory-backend-file", RAM_BACKING_FILE, false, true },
};

/*
 * Options accepted for compatibility (management tools such as libvirt emit
 * them) that change nothing here; their values are still checked.
 */
static const char *const accepted_boolean_options[] = {
    "merge", "dump", "x-use-canonical-path-for-ramblock-id",
};

static bool backend_id_valid(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_') {
            return false;
        }
    }
    return true;
}

HostMemoryBackend *host_memory_backend_find(const char *id)
{
    if (!backends || !id) {
        return NULL;
    }
    for (guint i = 0; i < backends->len; i++) {
        HostMemoryBackend *backend = g_ptr_array_index(backends, i);
        if (strcmp(backend->id, id) == 0) {
            return backend;
        }
    }
    return NULL;
}

static bool backend_check_keys(GHashTable *opts, const BackendType *type, GError **errp)
{
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, opts);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        const char *name = key;
        bool known = !strcmp(name, "qom-type") || !strcmp(name, "id") ||
                     !strcmp(name, "size") || !strcmp(name, "share") ||
                     !strcmp(name, "prealloc") ||
                     (type->has_mem_path && !strcmp(name, "mem-path"));
        for (size_t i = 0; !known && i < G_N_ELEMENTS(accepted_boolean_options); i++) {
            if (!strcmp(name, accepted_boolean_options[i])) {
                bool ignored;
                if (!keyval_parse_bool(name, g_hash_table_lookup(opts, name), &ignored, errp)) {
                    return false;
                }
                known = true;
            }
        }
        if (!known) {
            error_setg(errp, "Property '%s.%s' not found", type->name, name);
            return false;
        }
    }
    return true;
}

static bool backend_bool_option(GHashTable *opts, const char *key, bool default_value,
                                bool *out, GError **errp)
{
    const char *value = g_hash_table_lookup(opts, key);
    if (!value) {
        *out = default_value;
        return true;
    }
    return keyval_parse_bool(key, value, out, errp);
}

HostMemoryBackend *host_memory_backend_create(GHashTable *opts, GError **errp)
{
    const char *qom_type = g_hash_table_lookup(opts, "qom-type");
    const char *id = g_hash_table_lookup(opts, "id");
    const char *size_str = g_hash_table_lookup(opts, "size");
    const BackendType *type = NULL;
    RAMBlockOptions block_opts = { 0 };
    HostMemoryBackend *backend;
    RAMBlock *block;
    uint64_t size;
    bool share, prealloc;

    if (!qom_type) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(backend_types); i++) {
        if (!strcmp(backend_types[i].name, qom_type)) {
            type = &backend_types[i];
        }
    }
    if (!type) {
        error_setg(errp, "invalid object type: %s", qom_type);
        return NULL;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    if (!backend_id_valid(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return NULL;
    }
    if (!backend_check_keys(opts, type, errp)) {
        return NULL;
    }
    if (host_memory_backend_find(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object (type 'container')",
                   id);
        return NULL;
    }
    if (!size_str) {
        error_setg(errp, "can't create backend with size 0");
        return NULL;
    }
    if (!keyval_parse_size("size", size_str, '\0', &size, errp)) {
        return NULL;
    }
    if (size == 0) {
        error_setg(errp, "can't create backend with size 0");
        return NULL;
    }
    if (!backend_bool_option(opts, "share", type->default_share, &share, errp) ||
        !backend_bool_option(opts, "prealloc", false, &prealloc, errp)) {
        return NULL;
    }
    /* Anonymous and memfd memory comes out of the host's RAM: asking for more
     * than exists (worse with prealloc or share) ends in the host's OOM
     * killer rather than a clear error. A file may be larger than RAM. */
    uint64_t host_bytes = host_physical_memory_bytes();
    if (!type->has_mem_path && host_bytes && size > host_bytes) {
        g_autofree char *want = g_format_size_full(size, G_FORMAT_SIZE_IEC_UNITS);
        g_autofree char *have = g_format_size_full(host_bytes, G_FORMAT_SIZE_IEC_UNITS);
        error_setg(errp, "%s '%s': %s is more than this host's memory (%s)", type->name, id,
                   want, have);
        return NULL;
    }
    block_opts.backing = type->backing;
    block_opts.shared = share;
    block_opts.prealloc = prealloc;
    if (type->has_mem_path) {
        block_opts.mem_path = g_hash_table_lookup(opts, "mem-path");
        if (!block_opts.mem_path || !*block_opts.mem_path) {
            error_setg(errp, "mem-path property not set");
            return NULL;
        }
    }

    block = ram_block_new(id, size, &block_opts, errp);
    if (!block) {
        return NULL;
    }
    backend = g_new0(HostMemoryBackend, 1);
    backend->id = g_strdup(id);
    backend->type = g_strdup(type->name);
    backend->size = size;
    backend->share = share;
    backend->prealloc = prealloc;
    backend->mem_path = g_strdup(block_opts.mem_path);
    memory_region_init_ram_from_block(&backend->mr, backend, id, block);
    /* The region has exactly the requested size even if the block rounded up. */
    backend->mr.size = size;
    if (!backends) {
        backends = g_ptr_array_new();
    }
    g_ptr_array_add(backends, backend);
    return backend;
}
