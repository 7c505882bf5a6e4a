/* "key=value,key=value" option strings, QEMU's syntax. */
#include "kestrel/keyval.h"

/* Reads one comma-terminated item starting at *pos, undoing ",," escapes. */
static char *keyval_next_item(const char **pos)
{
    GString *item = g_string_new(NULL);
    const char *p = *pos;

    while (*p) {
        if (*p == ',') {
            if (p[1] == ',') {
                g_string_append_c(item, ',');
                p += 2;
                continue;
            }
            p++;
            break;
        }
        g_string_append_c(item, *p++);
    }
    *pos = p;
    return g_string_free(item, FALSE);
}

GHashTable *keyval_parse(const char *str, const char *implied_key, GError **errp)
{
    GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    const char *pos = str;
    bool first = true;

    while (*pos) {
        char *item = keyval_next_item(&pos);
        char *eq = strchr(item, '=');

        if (!*item) {
            g_free(item);
            error_setg(errp, "'%s': empty option (stray comma?)", str);
            g_hash_table_destroy(table);
            return NULL;
        }
        if (eq) {
            *eq = '\0';
            if (!*item) {
                error_setg(errp, "'%s': option with an empty name", str);
                g_free(item);
                g_hash_table_destroy(table);
                return NULL;
            }
            g_hash_table_insert(table, g_strdup(item), g_strdup(eq + 1));
        } else if (first && implied_key) {
            g_hash_table_insert(table, g_strdup(implied_key), g_strdup(item));
        } else {
            g_hash_table_insert(table, g_strdup(item), g_strdup("on"));
        }
        g_free(item);
        first = false;
    }
    return table;
}

bool keyval_parse_bool(const char *key, const char *value, bool *out, GError **errp)
{
    if (!strcmp(value, "on") || !strcmp(value, "yes") || !strcmp(value, "true")) {
        *out = true;
        return true;
    }
    if (!strcmp(value, "off") || !strcmp(value, "no") || !strcmp(value, "false")) {
        *out = false;
        return true;
    }
    error_setg(errp, "'%s' must be on or off, not '%s'", key, value);
    return false;
}

bool keyval_parse_uint64(const char *key, const char *value, uint64_t *out, GError **errp)
{
    char *end;
    guint64 v;

    if (!*value || *value == '-' || g_ascii_isspace(*value)) {
        error_setg(errp, "'%s' expects a non-negative number, not '%s'", key, value);
        return false;
    }
    errno = 0;
    v = g_ascii_strtoull(value, &end, 0);
    if (errno || *end) {
        error_setg(errp, "'%s' expects a non-negative number, not '%s'", key, value);
        return false;
    }
    *out = v;
    return true;
}

static int size_suffix_shift(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B': return 0;
    case 'K': return 10;
    case 'M': return 20;
    case 'G': return 30;
    case 'T': return 40;
    case 'P': return 50;
    case 'E': return 60;
    default: return -1;
    }
}

bool keyval_parse_size(const char *key, const char *value, char default_suffix,
                       uint64_t *out, GError **errp)
{
    const char *p = value;
    guint64 whole = 0;
    double fraction = 0;
    bool has_digits = false;
    int shift;

    while (g_ascii_isdigit(*p)) {
        if (whole > (G_MAXUINT64 - 9) / 10) {
            goto bad;
        }
        whole = whole * 10 + (guint64)(*p++ - '0');
        has_digits = true;
    }
    if (*p == '.') {
        double scale = 0.1;
        p++;
        while (g_ascii_isdigit(*p)) {
            fraction += (*p++ - '0') * scale;
            scale /= 10;
            has_digits = true;
        }
    }
    if (!has_digits) {
        goto bad;
    }
    if (*p) {
        shift = size_suffix_shift(*p++);
        if (shift < 0) {
            goto bad;
        }
        /* Accept "M", "MB" and "MiB". */
        if (shift && (*p == 'i' || *p == 'I')) {
            p++;
        }
        if (shift && (*p == 'b' || *p == 'B')) {
            p++;
        }
        if (*p) {
            goto bad;
        }
    } else {
        shift = default_suffix ? size_suffix_shift(default_suffix) : 0;
    }
    if (fraction != 0 && shift == 0) {
        goto bad;
    }
    if (shift >= 64 || whole > (G_MAXUINT64 >> shift)) {
        error_setg(errp, "'%s': size '%s' is too large", key, value);
        return false;
    }
    *out = (whole << shift) + (guint64)(fraction * (double)((guint64)1 << shift));
    return true;

bad:
    error_setg(errp, "'%s' expects a size (e.g. 512M, 2G), not '%s'", key, value);
    return false;
}
