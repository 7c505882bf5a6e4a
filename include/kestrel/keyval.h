/* Parsing of "key=value,key=value" option strings (QEMU's syntax: ",," is an
 * escaped comma; a leading bare word is the value of an implied key). */
#ifndef KESTREL_KEYVAL_H
#define KESTREL_KEYVAL_H

#include "kestrel/osdep.h"

/* Returns a table of g_strdup'ed key -> value. `implied_key` names the key a
 * leading bare word gets (e.g. "driver" for -device), or NULL. A key with no
 * '=' gets the value "on". Duplicate keys: the last one wins. */
GHashTable *keyval_parse(const char *str, const char *implied_key, GError **errp);

/* Typed readers. Each returns false with *errp set naming key and value. */
bool keyval_parse_bool(const char *key, const char *value, bool *out, GError **errp);
bool keyval_parse_uint64(const char *key, const char *value, uint64_t *out, GError **errp);
/* Sizes with QEMU's suffixes: plain number = bytes unless default_suffix says
 * otherwise ('M' for -m); K, M, G, T (powers of 1024), optional 'B'/'iB'. */
bool keyval_parse_size(const char *key, const char *value, char default_suffix,
                       uint64_t *out, GError **errp);

#endif
