/*
 * The QMP type system: builtin types, the generic checker that validates
 * command arguments (and, in the unit tests, every return value and event)
 * against the tables, and query-qmp-schema generated from the same tables,
 * in QEMU's SchemaInfo format.
 */
#include "monitor/qmp.h"

const QmpType qmp_type_str = { .name = "str", .kind = QMP_KIND_BUILTIN, .json_type = "string" };
const QmpType qmp_type_int = { .name = "int", .kind = QMP_KIND_BUILTIN, .json_type = "int" };
const QmpType qmp_type_bool = { .name = "bool", .kind = QMP_KIND_BUILTIN,
                                .json_type = "boolean" };
const QmpType qmp_type_number = { .name = "number", .kind = QMP_KIND_BUILTIN,
                                  .json_type = "number" };
const QmpType qmp_type_any = { .name = "any", .kind = QMP_KIND_BUILTIN, .json_type = "value" };
static const QmpMember no_members[] = { { NULL } };
const QmpType qmp_type_empty = { .name = "q_empty", .kind = QMP_KIND_OBJECT,
                                 .members = no_members };
const QmpType qmp_type_str_list = { .name = "[str]", .kind = QMP_KIND_ARRAY,
                                    .element = &qmp_type_str };

/* ---- checking ---- */

static const char *expected_name(const QmpType *t)
{
    switch (t->kind) {
    case QMP_KIND_BUILTIN:
        if (!strcmp(t->json_type, "int")) {
            return "integer";
        }
        return t->json_type;
    case QMP_KIND_ENUM:
        return "string";
    case QMP_KIND_ARRAY:
        return "array";
    case QMP_KIND_OBJECT:
        return "object";
    }
    return "value";
}

static GType value_type(JsonNode *node)
{
    return JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node) : G_TYPE_INVALID;
}

static bool type_mismatch(const QmpType *type, const char *path, GError **errp)
{
    if (!path) {
        error_setg(errp, "Invalid input type, expected: %s", expected_name(type));
    } else {
        error_setg(errp, "Invalid parameter type for '%s', expected: %s", path,
                   expected_name(type));
    }
    return false;
}

static char *member_path(const char *path, const char *name)
{
    return path ? g_strdup_printf("%s.%s", path, name) : g_strdup(name);
}

static const QmpMember *find_member(const QmpMember *members, const char *name)
{
    for (const QmpMember *m = members; m && m->name; m++) {
        if (!strcmp(m->name, name)) {
            return m;
        }
    }
    return NULL;
}

static bool check_members(const QmpMember *members, JsonObject *obj, const char *path,
                          GError **errp)
{
    for (const QmpMember *m = members; m && m->name; m++) {
        JsonNode *value = json_object_get_member(obj, m->name);
        g_autofree char *sub = member_path(path, m->name);

        if (!value) {
            if (!m->optional) {
                error_setg(errp, "Parameter '%s' is missing", sub);
                return false;
            }
            continue;
        }
        if (!qmp_type_check(m->type, value, sub, errp)) {
            return false;
        }
    }
    return true;
}

/* The variant selected by the tag member's value, if any. */
static const QmpType *selected_variant(const QmpType *type, JsonObject *obj)
{
    const char *tag;

    if (!type->tag || !type->variants) {
        return NULL;
    }
    tag = json_object_get_string_member_with_default(obj, type->tag, NULL);
    for (const QmpVariant *v = type->variants; tag && v->tag_value; v++) {
        if (!strcmp(v->tag_value, tag)) {
            return v->type;
        }
    }
    return NULL;
}

bool qmp_type_check(const QmpType *type, JsonNode *value, const char *path, GError **errp)
{
    switch (type->kind) {
    case QMP_KIND_BUILTIN: {
        GType vt = value_type(value);
        bool ok;
        if (!strcmp(type->json_type, "value")) {
            ok = true;
        } else if (!strcmp(type->json_type, "string")) {
            ok = vt == G_TYPE_STRING;
        } else if (!strcmp(type->json_type, "int")) {
            ok = vt == G_TYPE_INT64;
        } else if (!strcmp(type->json_type, "number")) {
            ok = vt == G_TYPE_INT64 || vt == G_TYPE_DOUBLE;
        } else if (!strcmp(type->json_type, "boolean")) {
            ok = vt == G_TYPE_BOOLEAN;
        } else {
            ok = false;
        }
        return ok ? true : type_mismatch(type, path, errp);
    }
    case QMP_KIND_ENUM: {
        const char *s;
        if (value_type(value) != G_TYPE_STRING) {
            return type_mismatch(type, path, errp);
        }
        s = json_node_get_string(value);
        for (const char *const *v = type->values; *v; v++) {
            if (!strcmp(*v, s)) {
                return true;
            }
        }
        error_setg(errp, "Parameter '%s' does not accept value '%s'", path ? path : "", s);
        return false;
    }
    case QMP_KIND_ARRAY: {
        JsonArray *arr;
        if (!JSON_NODE_HOLDS_ARRAY(value)) {
            return type_mismatch(type, path, errp);
        }
        arr = json_node_get_array(value);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            g_autofree char *sub = g_strdup_printf("%s[%u]", path ? path : "", i);
            if (!qmp_type_check(type->element, json_array_get_element(arr, i), sub, errp)) {
                return false;
            }
        }
        return true;
    }
    case QMP_KIND_OBJECT: {
        JsonObject *obj;
        const QmpType *variant;
        if (!JSON_NODE_HOLDS_OBJECT(value)) {
            return type_mismatch(type, path, errp);
        }
        obj = json_node_get_object(value);
        if (!check_members(type->members, obj, path, errp)) {
            return false;
        }
        variant = selected_variant(type, obj);
        if (variant && !check_members(variant->members, obj, path, errp)) {
            return false;
        }
        g_autoptr(GList) names = json_object_get_members(obj);
        for (GList *l = names; l; l = l->next) {
            if (!find_member(type->members, l->data) &&
                !(variant && find_member(variant->members, l->data))) {
                g_autofree char *sub = member_path(path, l->data);
                error_setg(errp, "Parameter '%s' is unexpected", sub);
                return false;
            }
        }
        return true;
    }
    }
    return false;
}

/* ---- introspection ---- */

typedef struct Introspection {
    JsonArray *entries;
    GHashTable *seen;           /* type names already listed */
    GPtrArray *pending;         /* types referenced but not yet listed */
} Introspection;

static const char *reference(Introspection *in, const QmpType *type)
{
    if (!g_hash_table_contains(in->seen, type->name)) {
        g_hash_table_add(in->seen, (gpointer)type->name);
        g_ptr_array_add(in->pending, (gpointer)type);
    }
    return type->name;
}

static void add_members(Introspection *in, JsonBuilder *b, const QmpMember *members)
{
    for (const QmpMember *m = members; m && m->name; m++) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, m->name);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, reference(in, m->type));
        if (m->optional) {
            json_builder_set_member_name(b, "default");
            json_builder_add_null_value(b);
        }
        json_builder_end_object(b);
    }
}

static void add_type_entry(Introspection *in, const QmpType *type)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, type->name);
    json_builder_set_member_name(b, "meta-type");
    switch (type->kind) {
    case QMP_KIND_BUILTIN:
        json_builder_add_string_value(b, "builtin");
        json_builder_set_member_name(b, "json-type");
        json_builder_add_string_value(b, type->json_type);
        break;
    case QMP_KIND_ENUM:
        json_builder_add_string_value(b, "enum");
        json_builder_set_member_name(b, "members");
        json_builder_begin_array(b);
        for (const char *const *v = type->values; *v; v++) {
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "name");
            json_builder_add_string_value(b, *v);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_set_member_name(b, "values");
        json_builder_begin_array(b);
        for (const char *const *v = type->values; *v; v++) {
            json_builder_add_string_value(b, *v);
        }
        json_builder_end_array(b);
        break;
    case QMP_KIND_ARRAY:
        json_builder_add_string_value(b, "array");
        json_builder_set_member_name(b, "element-type");
        json_builder_add_string_value(b, reference(in, type->element));
        break;
    case QMP_KIND_OBJECT:
        json_builder_add_string_value(b, "object");
        json_builder_set_member_name(b, "members");
        json_builder_begin_array(b);
        add_members(in, b, type->members);
        json_builder_end_array(b);
        if (type->tag) {
            json_builder_set_member_name(b, "tag");
            json_builder_add_string_value(b, type->tag);
            json_builder_set_member_name(b, "variants");
            json_builder_begin_array(b);
            for (const QmpVariant *v = type->variants; v && v->tag_value; v++) {
                json_builder_begin_object(b);
                json_builder_set_member_name(b, "case");
                json_builder_add_string_value(b, v->tag_value);
                json_builder_set_member_name(b, "type");
                json_builder_add_string_value(b, reference(in, v->type));
                json_builder_end_object(b);
            }
            json_builder_end_array(b);
        }
        break;
    }
    json_builder_end_object(b);
    json_array_add_element(in->entries, json_builder_get_root(b));
}

static void add_entry(Introspection *in, const char *name, const char *meta,
                      const QmpType *args, const QmpType *ret)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "name", name);
    json_object_set_string_member(o, "meta-type", meta);
    json_object_set_string_member(o, "arg-type", reference(in, args));
    if (ret) {
        json_object_set_string_member(o, "ret-type", reference(in, ret));
    }
    json_array_add_object_element(in->entries, o);
}

JsonNode *qmp_introspect(void)
{
    Introspection in = {
        .entries = json_array_new(),
        .seen = g_hash_table_new(g_str_hash, g_str_equal),
        .pending = g_ptr_array_new(),
    };
    JsonNode *root = json_node_new(JSON_NODE_ARRAY);

    for (const QmpCommand *c = qmp_commands; c->name; c++) {
        add_entry(&in, c->name, "command", c->args, c->ret);
    }
    for (const QmpEvent *e = qmp_events; e->name; e++) {
        add_entry(&in, e->name, "event", e->data, NULL);
    }
    /* Listing a type may reference more: the array grows while we walk it. */
    for (guint i = 0; i < in.pending->len; i++) {
        add_type_entry(&in, g_ptr_array_index(in.pending, i));
    }
    g_ptr_array_free(in.pending, TRUE);
    g_hash_table_destroy(in.seen);
    json_node_take_array(root, in.entries);
    return root;
}
