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

JsonNode *qmp_dispatch_text(QmpSession *session, const char *text, size_t len)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *err = NULL;
    JsonNode *root;

    if (!json_parser_load_from_data(parser, text, (gssize)len, &err) ||
        !json_parser_get_root(parser)) {
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
