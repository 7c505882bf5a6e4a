/*
 * The QMP dispatcher: checks the shape of a request, capability
 * negotiation, looks the command up in the table, checks its arguments
 * against the table's types, runs it and builds the reply. Error texts
 * follow QEMU's so that clients matching on them keep working.
 */
#include "monitor/qmp.h"
#include <sys/time.h>

G_DEFINE_QUARK(qmp-error-quark, qmp_error)

const char *qmp_error_class_name(const GError *err)
{
    static const char *const names[] = {
        [QMP_ERROR_CLASS_GENERIC] = "GenericError",
        [QMP_ERROR_CLASS_COMMAND_NOT_FOUND] = "CommandNotFound",
        [QMP_ERROR_CLASS_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
        [QMP_ERROR_CLASS_DEVICE_NOT_FOUND] = "DeviceNotFound",
        [QMP_ERROR_CLASS_KVM_MISSING_CAP] = "KVMMissingCap",
    };

    if (err->domain == QMP_ERROR && err->code >= 0 && (size_t)err->code < G_N_ELEMENTS(names)) {
        return names[err->code];
    }
    return "GenericError";
}

const QmpCommand *qmp_command_find(const char *name)
{
    for (const QmpCommand *c = qmp_commands; c->name; c++) {
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

const QmpEvent *qmp_event_find(const char *name)
{
    for (const QmpEvent *e = qmp_events; e->name; e++) {
        if (!strcmp(e->name, name)) {
            return e;
        }
    }
    return NULL;
}

void qmp_session_init(QmpSession *session, GHashTable *named_fds)
{
    memset(session, 0, sizeof(*session));
    session->named_fds = named_fds;
}

JsonNode *qmp_error_response(const GError *err, JsonNode *id)
{
    JsonObject *reply = json_object_new();
    JsonObject *error = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_string_member(error, "class", qmp_error_class_name(err));
    json_object_set_string_member(error, "desc", err->message);
    json_object_set_object_member(reply, "error", error);
    if (id) {
        json_object_set_member(reply, "id", json_node_copy(id));
    }
    json_node_take_object(node, reply);
    return node;
}

static JsonNode *success_response(JsonNode *ret, JsonNode *id)
{
    JsonObject *reply = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_member(reply, "return", ret);
    if (id) {
        json_object_set_member(reply, "id", json_node_copy(id));
    }
    json_node_take_object(node, reply);
    return node;
}

static JsonNode *fail(JsonNode *id, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static JsonNode *fail(JsonNode *id, int code, const char *fmt, ...)
{
    va_list ap;
    GError *err;
    JsonNode *reply;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    err = g_error_new_literal(QMP_ERROR, code, msg);
    reply = qmp_error_response(err, id);
    g_error_free(err);
    return reply;
}

JsonNode *qmp_dispatch(QmpSession *session, JsonNode *request)
{
    JsonObject *req;
    JsonNode *id = NULL, *args_node = NULL;
    const char *name = NULL;
    const QmpCommand *cmd;
    GError *err = NULL;
    JsonNode *ret;

    if (!JSON_NODE_HOLDS_OBJECT(request)) {
        return fail(NULL, QMP_ERROR_CLASS_GENERIC, "QMP input must be a JSON object");
    }
    req = json_node_get_object(request);
    id = json_object_get_member(req, "id");

    g_autoptr(GList) members = json_object_get_members(req);
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *value = json_object_get_member(req, key);

        if (!strcmp(key, "execute")) {
            if (!JSON_NODE_HOLDS_VALUE(value) ||
                json_node_get_value_type(value) != G_TYPE_STRING) {
                return fail(id, QMP_ERROR_CLASS_GENERIC,
                            "QMP input member 'execute' must be a string");
            }
            name = json_node_get_string(value);
        } else if (!strcmp(key, "exec-oob")) {
            return fail(id, QMP_ERROR_CLASS_GENERIC,
                        "QMP input member 'exec-oob' is unexpected (Out-Of-Band is not "
                        "supported)");
        } else if (!strcmp(key, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(value)) {
                return fail(id, QMP_ERROR_CLASS_GENERIC,
                            "QMP input member 'arguments' must be an object");
            }
            args_node = value;
        } else if (strcmp(key, "id") != 0) {
            return fail(id, QMP_ERROR_CLASS_GENERIC, "QMP input member '%s' is unexpected",
                        key);
        }
    }
    if (!name) {
        return fail(id, QMP_ERROR_CLASS_GENERIC, "QMP input lacks member 'execute'");
    }
    if (!session->negotiated && strcmp(name, "qmp_capabilities") != 0) {
        return fail(id, QMP_ERROR_CLASS_COMMAND_NOT_FOUND,
                    "Expecting capabilities negotiation with 'qmp_capabilities'");
    }
    if (session->negotiated && !strcmp(name, "qmp_capabilities")) {
        return fail(id, QMP_ERROR_CLASS_COMMAND_NOT_FOUND,
                    "Capabilities negotiation is already complete, command ignored");
    }
    cmd = qmp_command_find(name);
    if (!cmd) {
        return fail(id, QMP_ERROR_CLASS_COMMAND_NOT_FOUND, "The command %s has not been found",
                    name);
    }

    g_autoptr(JsonNode) empty = NULL;
    if (!args_node) {
        empty = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(empty, json_object_new());
        args_node = empty;
    }
    if (!qmp_type_check(cmd->args, args_node, NULL, &err)) {
        JsonNode *reply = qmp_error_response(err, id);
        g_error_free(err);
        return reply;
    }
    ret = cmd->fn(session, json_node_get_object(args_node), &err);
    if (!ret) {
        JsonNode *reply;
        if (!err) {
            error_setg(&err, "command '%s' failed", name);
        }
        reply = qmp_error_response(err, id);
        g_error_free(err);
        return reply;
    }
    return success_response(ret, id);
}

/* QEMU names a bare word that is no JSON value an "invalid keyword". */
static bool looks_like_bare_word(const char *text, size_t len)
{
    return len > 0 && text[0] != '{' && text[0] != '[' && text[0] != '"';
}

/* json-glib keeps the last of duplicate keys; QMP refuses them (else
 * {"execute": "query-status", "execute": "quit"} would quit). Counts the
 * members parsed into each object and compares with what it holds. */
typedef struct DuplicateKeyCheck {
    GHashTable *members_seen;   /* JsonObject * -> members parsed */
    bool found;
} DuplicateKeyCheck;

static void count_member(JsonParser *parser, JsonObject *object, const char *name,
                         gpointer opaque)
{
    DuplicateKeyCheck *check = opaque;
    guint seen = GPOINTER_TO_UINT(g_hash_table_lookup(check->members_seen, object)) + 1;

    g_hash_table_insert(check->members_seen, object, GUINT_TO_POINTER(seen));
    if (seen > json_object_get_size(object)) {
        check->found = true;
    }
}

static void object_done(JsonParser *parser, JsonObject *object, gpointer opaque)
{
    DuplicateKeyCheck *check = opaque;

    /* The object may be freed and its address reused by a later one. */
    g_hash_table_remove(check->members_seen, object);
}

/* The value of the \uXXXX escape at text[i] (the backslash), or -1. */
static int unicode_escape_at(const char *text, size_t len, size_t i)
{
    int value = 0;

    if (i + 6 > len || text[i] != '\\' || text[i + 1] != 'u') {
        return -1;
    }
    for (size_t k = i + 2; k < i + 6; k++) {
        if (!g_ascii_isxdigit(text[k])) {
            return -1;
        }
        value = value * 16 + g_ascii_xdigit_value(text[k]);
    }
    return value;
}

/* What json-glib gets wrong, fixed up or refused before it parses:
 * - it wraps integers beyond 64-bit signed range (2^63 becomes -2^63,
 *   -2^64-1 becomes 1), so a hostile number could pass a range check as a
 *   small one. QEMU keeps such numbers as doubles: so do we, by making
 *   them decimals;
 * - it turns a lone UTF-16 surrogate escape into invalid UTF-8 (or a
 *   confusing error); QEMU refuses it, with this text.
 * Returns the text to parse (NULL: the original) or sets *errp. */
static GString *prepare_text(const char *text, size_t len, GError **errp)
{
    GString *out = NULL;
    size_t copied = 0;
    char quote = 0;
    bool escape = false;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];

        if (quote) {
            int unit = escape ? -1 : unicode_escape_at(text, len, i);

            if (unit >= 0xd800 && unit <= 0xdfff) {
                int low = unit < 0xdc00 ? unicode_escape_at(text, len, i + 6) : -1;
                if (low < 0xdc00 || low > 0xdfff) {
                    error_setg(errp, "JSON parse error, \\u%.4s is not a valid Unicode "
                               "character", text + i + 2);
                    if (out) {
                        g_string_free(out, TRUE);
                    }
                    return NULL;
                }
                i += 11;    /* the pair is fine */
                continue;
            }
            if (escape) {
                escape = false;
            } else if (c == '\\') {
                escape = true;
            } else if (c == quote) {
                quote = 0;
            }
            continue;
        }
        if (c == '"' || c == '\'') {
            quote = c;
            continue;
        }
        if (!(c == '-' || g_ascii_isdigit(c)) ||
            (i > 0 && (g_ascii_isalnum(text[i - 1]) || text[i - 1] == '.' ||
                       text[i - 1] == '-' || text[i - 1] == '+'))) {
            continue;
        }
        /* A number starts here: an integer unless it has '.', 'e' or 'E'. */
        size_t end = i + 1;
        bool integer = true;
        while (end < len && (g_ascii_isalnum(text[end]) || text[end] == '.' ||
                             text[end] == '-' || text[end] == '+')) {
            if (!g_ascii_isdigit(text[end])) {
                integer = false;
            }
            end++;
        }
        if (integer && end - i < 64) {
            char digits[64];
            gint64 value;

            memcpy(digits, text + i, end - i);
            digits[end - i] = '\0';
            if (!g_ascii_string_to_signed(digits, 10, G_MININT64, G_MAXINT64, &value, NULL) &&
                strcmp(digits, "-") != 0) {
                if (!out) {
                    out = g_string_sized_new(len + 16);
                }
                g_string_append_len(out, text + copied, (gssize)(end - copied));
                g_string_append(out, ".0");
                copied = end;
            }
        } else if (integer) {
            /* Too long for any int64: a decimal too. */
            if (!out) {
                out = g_string_sized_new(len + 16);
            }
            g_string_append_len(out, text + copied, (gssize)(end - copied));
            g_string_append(out, ".0");
            copied = end;
        }
        i = end - 1;
    }
    if (out) {
        g_string_append_len(out, text + copied, (gssize)(len - copied));
    }
    return out;
}

JsonNode *qmp_dispatch_text(QmpSession *session, const char *text, size_t len)
{
    GError *prep_err = NULL;
    g_autoptr(GString) widened = prepare_text(text, len, &prep_err);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GHashTable) members_seen = g_hash_table_new(NULL, NULL);
    DuplicateKeyCheck dup = { .members_seen = members_seen };
    GError *err = NULL;
    JsonNode *root;

    if (prep_err) {
        JsonNode *reply = qmp_error_response(prep_err, NULL);
        g_error_free(prep_err);
        return reply;
    }
    g_signal_connect(parser, "object-member", G_CALLBACK(count_member), &dup);
    g_signal_connect(parser, "object-end", G_CALLBACK(object_done), &dup);
    if (json_parser_load_from_data(parser, widened ? widened->str : text,
                                   widened ? (gssize)widened->len : (gssize)len, &err) &&
        dup.found) {
        return fail(NULL, QMP_ERROR_CLASS_GENERIC, "JSON parse error, duplicate key");
    }
    if (err || !json_parser_get_root(parser)) {
        JsonNode *reply;
        if (looks_like_bare_word(text, len)) {
            g_autofree char *word = g_strndup(text, MIN(len, 64));
            reply = fail(NULL, QMP_ERROR_CLASS_GENERIC, "JSON parse error, invalid keyword '%s'",
                         g_utf8_validate(word, -1, NULL) ? word : "?");
        } else {
            /* json-glib says "<data>:1:12: Parse error: ..."; keep the reason. */
            const char *why = err ? err->message : "empty input";
            const char *p = strstr(why, "error: ");
            reply = fail(NULL, QMP_ERROR_CLASS_GENERIC, "JSON parse error, %s",
                         p ? p + strlen("error: ") : why);
        }
        g_clear_error(&err);
        return reply;
    }
    root = json_parser_get_root(parser);
    return qmp_dispatch(session, root);
}

JsonNode *qmp_greeting(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "QMP");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "micro");
    json_builder_add_int_value(b, 0);
    json_builder_set_member_name(b, "minor");
    json_builder_add_int_value(b, 2);
    json_builder_set_member_name(b, "major");
    json_builder_add_int_value(b, 7);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "package");
    json_builder_add_string_value(b, "Kestrel " KESTREL_VERSION);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "capabilities");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

JsonNode *qmp_event_message(const char *name, JsonNode *data)
{
    struct timeval tv;
    JsonObject *msg = json_object_new();
    JsonObject *ts = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    gettimeofday(&tv, NULL);
    json_object_set_int_member(ts, "seconds", tv.tv_sec);
    json_object_set_int_member(ts, "microseconds", tv.tv_usec);
    json_object_set_object_member(msg, "timestamp", ts);
    json_object_set_string_member(msg, "event", name);
    if (data) {
        json_object_set_member(msg, "data", data);
    }
    json_node_take_object(node, msg);
    return node;
}
