/*
 * QMP's JSON on the wire: the serializer (QEMU's spacing, ASCII only) and
 * the stream splitter that cuts input into messages before parsing them.
 */
#include "monitor/qmp.h"
#include <math.h>

/* ---- output ---- */

static void append_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const char *p = s; *p;) {
        gunichar c = g_utf8_get_char_validated(p, -1);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            /* Not UTF-8 (cannot come from json-glib, but be safe): U+FFFD. */
            g_string_append(out, "\\ufffd");
            p++;
            continue;
        }
        p = g_utf8_next_char(p);
        switch (c) {
        case '"':  g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                g_string_append_printf(out, "\\u%04x", c);
            } else if (c < 0x80) {
                g_string_append_c(out, (char)c);
            } else if (c < 0x10000) {
                g_string_append_printf(out, "\\u%04X", c);
            } else {
                c -= 0x10000;
                g_string_append_printf(out, "\\u%04X\\u%04X", 0xd800 + (c >> 10),
                                       0xdc00 + (c & 0x3ff));
            }
        }
    }
    g_string_append_c(out, '"');
}

static void append_node(GString *out, JsonNode *node)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT: {
        JsonObject *obj = json_node_get_object(node);
        GList *names = json_object_get_members(obj);   /* insertion order */
        g_string_append_c(out, '{');
        for (GList *l = names; l; l = l->next) {
            append_string(out, l->data);
            g_string_append(out, ": ");
            append_node(out, json_object_get_member(obj, l->data));
            if (l->next) {
                g_string_append(out, ", ");
            }
        }
        g_list_free(names);
        g_string_append_c(out, '}');
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(node);
        guint n = json_array_get_length(arr);
        g_string_append_c(out, '[');
        for (guint i = 0; i < n; i++) {
            append_node(out, json_array_get_element(arr, i));
            if (i + 1 < n) {
                g_string_append(out, ", ");
            }
        }
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    case JSON_NODE_VALUE:
        switch (json_node_get_value_type(node)) {
        case G_TYPE_BOOLEAN:
            g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
            break;
        case G_TYPE_INT64:
            g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node));
            break;
        case G_TYPE_DOUBLE: {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            double d = json_node_get_double(node);
            if (!isfinite(d)) {
                g_string_append(out, "null");   /* JSON has no inf/nan */
            } else {
                g_string_append(out, g_ascii_dtostr(buf, sizeof(buf), d));
            }
            break;
        }
        case G_TYPE_STRING:
            append_string(out, json_node_get_string(node));
            break;
        default:
            g_string_append(out, "null");
        }
        break;
    }
}

char *qmp_to_json(JsonNode *node)
{
    GString *out = g_string_new(NULL);
    append_node(out, node);
    return g_string_free(out, FALSE);
}

/* ---- the stream splitter ---- */

void qmp_stream_init(QmpStreamParser *p, void (*emit)(void *, const char *, size_t,
                                                      const char *), void *opaque)
{
    memset(p, 0, sizeof(*p));
    p->buf = g_string_new(NULL);
    p->emit = emit;
    p->opaque = opaque;
}

void qmp_stream_reset(QmpStreamParser *p)
{
    g_string_truncate(p->buf, 0);
    p->depth = 0;
    p->in_string = p->escape = p->bare = false;
    p->discarding = false;
    p->discarded = 0;
}

void qmp_stream_destroy(QmpStreamParser *p)
{
    if (p->buf) {
        g_string_free(p->buf, TRUE);
        p->buf = NULL;
    }
}

static bool is_json_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_structural(uint8_t c)
{
    return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':' || c == '"';
}

/* The message in buf is complete: hand it on (unless it was being skipped). */
static void message_done(QmpStreamParser *p)
{
    bool skipped = p->discarding;

    p->depth = 0;
    p->in_string = p->escape = p->bare = false;
    p->discarding = false;
    p->discarded = 0;
    if (!skipped) {
        p->emit(p->opaque, p->buf->str, p->buf->len, NULL);
    }
    g_string_truncate(p->buf, 0);
}

/* Stops collecting the current message: reports `why` once and skips the
 * rest of it. */
static void start_discard(QmpStreamParser *p, const char *why)
{
    p->discarding = true;
    p->discarded = p->buf->len;
    g_string_truncate(p->buf, 0);
    p->emit(p->opaque, NULL, 0, why);
}

bool qmp_stream_feed(QmpStreamParser *p, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        bool top = p->depth == 0 && !p->in_string && !p->bare &&
                   (p->discarding ? p->discarded == 0 : p->buf->len == 0);

        if (top) {
            if (is_json_space(c)) {
                continue;
            }
            if (c == '}' || c == ']' || c == ',' || c == ':') {
                p->emit(p->opaque, NULL, 0, "JSON parse error, expecting value");
                continue;
            }
        }
        if (p->bare && (is_json_space(c) || is_structural(c))) {
            /* A bare word (number, literal or garbage) ends here; the byte
             * starts whatever comes next. */
            message_done(p);
            i--;
            continue;
        }
        if (p->discarding) {
            p->discarded++;
            if (p->discarded > QMP_MAX_DISCARD_BYTES) {
                return false;
            }
        } else {
            g_string_append_c(p->buf, (char)c);
        }

        if (p->in_string) {
            if (p->escape) {
                p->escape = false;
            } else if (c == '\\') {
                p->escape = true;
            } else if (c == '"') {
                p->in_string = false;
                if (p->depth == 0) {
                    message_done(p);
                    continue;
                }
            }
        } else if (p->bare) {
            /* collected above */
        } else if (c == '"') {
            p->in_string = true;
        } else if (c == '{' || c == '[') {
            if (++p->depth > QMP_MAX_NESTING && !p->discarding) {
                start_discard(p, "JSON nesting depth limit exceeded");
            }
        } else if (c == '}' || c == ']') {
            if (--p->depth == 0) {
                message_done(p);
                continue;
            }
        } else if (p->depth == 0) {
            p->bare = true;
        }
        if (!p->discarding && p->buf->len > QMP_MAX_MESSAGE_BYTES) {
            start_discard(p, "JSON message size limit exceeded");
        }
    }
    return true;
}
