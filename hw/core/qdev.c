/* The device model: type registry, properties, life cycle. */
#include "hw/qdev.h"
#include "chardev/char.h"
#include "kestrel/keyval.h"
#include <json-glib/json-glib.h>

static GHashTable *device_classes;   /* name -> const DeviceClass* */
static GPtrArray *realized_devices;  /* DeviceState*, creation order */

void device_class_register(const DeviceClass *klass)
{
    if (!device_classes) {
        device_classes = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_assert(klass->instance_size >= sizeof(DeviceState));
    g_assert(!g_hash_table_contains(device_classes, klass->name));
    g_hash_table_insert(device_classes, (gpointer)klass->name, (gpointer)klass);
}

const DeviceClass *device_class_find(const char *name)
{
    return device_classes ? g_hash_table_lookup(device_classes, name) : NULL;
}

static gint compare_class_names(gconstpointer a, gconstpointer b)
{
    return strcmp(((const DeviceClass *)a)->name, ((const DeviceClass *)b)->name);
}

void device_class_foreach(void (*fn)(const DeviceClass *klass, void *opaque), void *opaque)
{
    if (!device_classes) {
        return;
    }
    GList *sorted = g_list_sort(g_hash_table_get_values(device_classes), compare_class_names);
    for (GList *l = sorted; l; l = l->next) {
        fn(l->data, opaque);
    }
    g_list_free(sorted);
}

static void *prop_field(DeviceState *dev, const Property *prop)
{
    return (char *)dev + prop->offset;
}

static const Property *device_find_prop(const DeviceClass *klass, const char *name)
{
    for (const Property *p = klass->props; p && p->name; p++) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

DeviceState *device_new(const char *driver, GError **errp)
{
    const DeviceClass *klass = device_class_find(driver);
    DeviceState *dev;

    if (!klass) {
        error_setg(errp, "'%s' is not a valid device model name (-device help lists them)",
                   driver);
        return NULL;
    }
    dev = g_malloc0(klass->instance_size);
    dev->klass = klass;
    for (const Property *p = klass->props; p && p->name; p++) {
        void *field = prop_field(dev, p);
        switch (p->type) {
        case PROP_BOOL: *(bool *)field = p->default_value != 0; break;
        case PROP_UINT8: *(uint8_t *)field = (uint8_t)p->default_value; break;
        case PROP_UINT16: *(uint16_t *)field = (uint16_t)p->default_value; break;
        case PROP_UINT32: *(uint32_t *)field = (uint32_t)p->default_value; break;
        case PROP_UINT64:
        case PROP_SIZE: *(uint64_t *)field = p->default_value; break;
        case PROP_STRING: *(char **)field = g_strdup(p->default_string); break;
        case PROP_CHARDEV: *(Chardev **)field = NULL; break;
        }
    }
    return dev;
}

static bool set_uint_prop(const Property *p, const char *value, uint64_t max, uint64_t *out,
                          GError **errp)
{
    if (!keyval_parse_uint64(p->name, value, out, errp)) {
        return false;
    }
    if (*out > max) {
        error_setg(errp, "property '%s': value %s is out of range (at most %" PRIu64 ")",
                   p->name, value, max);
        return false;
    }
    return true;
}

bool device_set_prop(DeviceState *dev, const char *name, const char *value, GError **errp)
{
    const Property *p;
    uint64_t v;

    if (!strcmp(name, "id")) {
        if (!*value) {
            error_setg(errp, "device id must not be empty");
            return false;
        }
        if (device_find_by_id(value)) {
            error_setg(errp, "duplicate device id '%s'", value);
            return false;
        }
        g_free(dev->id);
        dev->id = g_strdup(value);
        return true;
    }
    p = device_find_prop(dev->klass, name);
    if (!p) {
        error_setg(errp, "device '%s' has no property '%s' (-device %s,help lists them)",
                   dev->klass->name, name, dev->klass->name);
        return false;
    }
    void *field = prop_field(dev, p);
    switch (p->type) {
    case PROP_BOOL:
        return keyval_parse_bool(name, value, (bool *)field, errp);
    case PROP_UINT8:
        if (!set_uint_prop(p, value, UINT8_MAX, &v, errp)) return false;
        *(uint8_t *)field = (uint8_t)v;
        return true;
    case PROP_UINT16:
        if (!set_uint_prop(p, value, UINT16_MAX, &v, errp)) return false;
        *(uint16_t *)field = (uint16_t)v;
        return true;
    case PROP_UINT32:
        if (!set_uint_prop(p, value, UINT32_MAX, &v, errp)) return false;
        *(uint32_t *)field = (uint32_t)v;
        return true;
    case PROP_UINT64:
        return set_uint_prop(p, value, UINT64_MAX, (uint64_t *)field, errp);
    case PROP_SIZE:
        return keyval_parse_size(name, value, 0, (uint64_t *)field, errp);
    case PROP_STRING:
        g_free(*(char **)field);
        *(char **)field = g_strdup(value);
        return true;
    case PROP_CHARDEV: {
        Chardev *chr = chardev_find(value);
        if (!chr) {
            error_setg(errp, "property '%s': no chardev with id '%s'", name, value);
            return false;
        }
        *(Chardev **)field = chr;
        return true;
    }
    }
    g_assert_not_reached();
}

bool device_realize(DeviceState *dev, GError **errp)
{
    g_assert(!dev->realized);
    if (dev->klass->realize && !dev->klass->realize(dev, errp)) {
        return false;
    }
    dev->realized = true;
    if (!realized_devices) {
        realized_devices = g_ptr_array_new();
    }
    g_ptr_array_add(realized_devices, dev);
    return true;
}

void device_destroy(DeviceState *dev)
{
    if (!dev) {
        return;
    }
    if (dev->realized) {
        if (dev->klass->unrealize) {
            dev->klass->unrealize(dev);
        }
        g_ptr_array_remove(realized_devices, dev);
    }
    for (const Property *p = dev->klass->props; p && p->name; p++) {
        if (p->type == PROP_STRING) {
            g_free(*(char **)prop_field(dev, p));
        }
    }
    g_free(dev->id);
    g_free(dev);
}

DeviceState *device_find_by_id(const char *id)
{
    for (guint i = 0; realized_devices && i < realized_devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(realized_devices, i);
        if (dev->id && !strcmp(dev->id, id)) {
            return dev;
        }
    }
    return NULL;
}

void devices_reset_all(void)
{
    for (guint i = 0; realized_devices && i < realized_devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(realized_devices, i);
        if (dev->klass->reset) {
            dev->klass->reset(dev);
        }
    }
}

void devices_destroy_all(void)
{
    while (realized_devices && realized_devices->len) {
        device_destroy(g_ptr_array_index(realized_devices, realized_devices->len - 1));
    }
}

static const char *prop_type_name(PropertyType type)
{
    static const char *const names[] = {
        [PROP_BOOL] = "bool", [PROP_UINT8] = "uint8", [PROP_UINT16] = "uint16",
        [PROP_UINT32] = "uint32", [PROP_UINT64] = "uint64", [PROP_SIZE] = "size",
        [PROP_STRING] = "str", [PROP_CHARDEV] = "chardev",
    };
    return names[type];
}

static void print_device_class(const DeviceClass *klass, void *opaque)
{
    if (!klass->user_creatable) {
        return;
    }
    if (klass->description) {
        printf("name \"%s\", desc \"%s\"\n", klass->name, klass->description);
    } else {
        printf("name \"%s\"\n", klass->name);
    }
}

static void print_device_props(const DeviceClass *klass)
{
    printf("%s options:\n", klass->name);
    for (const Property *p = klass->props; p && p->name; p++) {
        printf("  %s=<%s>%s%s\n", p->name, prop_type_name(p->type),
               p->description ? " - " : "", p->description ? p->description : "");
    }
}

/* Converts a JSON -device argument into the same string table as keyval. */
static GHashTable *device_options_from_json(const char *optarg, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *local_err = NULL;
    JsonNode *root;

    if (!json_parser_load_from_data(parser, optarg, -1, &local_err)) {
        error_setg(errp, "-device: invalid JSON: %s", local_err->message);
        g_error_free(local_err);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        error_setg(errp, "-device: JSON argument must be an object");
        return NULL;
    }
    GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    JsonObject *obj = json_node_get_object(root);
    g_autoptr(GList) members = json_object_get_members(obj);
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *node = json_object_get_member(obj, key);
        char *value = NULL;
        if (JSON_NODE_HOLDS_VALUE(node)) {
            GType t = json_node_get_value_type(node);
            if (t == G_TYPE_STRING) {
                value = g_strdup(json_node_get_string(node));
            } else if (t == G_TYPE_INT64) {
                value = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(node));
            } else if (t == G_TYPE_BOOLEAN) {
                value = g_strdup(json_node_get_boolean(node) ? "on" : "off");
            }
        }
        if (!value) {
            error_setg(errp, "-device: JSON member '%s' must be a string, integer or boolean",
                       key);
            g_hash_table_destroy(table);
            return NULL;
        }
        g_hash_table_insert(table, g_strdup(key), value);
    }
    return table;
}

DeviceState *device_create_from_option(const char *optarg, GError **errp)
{
    g_autoptr(GHashTable) opts = NULL;
    const char *driver;
    DeviceState *dev;

    if (optarg[0] == '{') {
        opts = device_options_from_json(optarg, errp);
    } else {
        opts = keyval_parse(optarg, "driver", errp);
    }
    if (!opts) {
        return NULL;
    }
    driver = g_hash_table_lookup(opts, "driver");
    if (!driver) {
        error_setg(errp, "-device: 'driver' is missing");
        return NULL;
    }
    if (!strcmp(driver, "help") || !strcmp(driver, "?")) {
        printf("Devices:\n");
        device_class_foreach(print_device_class, NULL);
        return NULL;
    }
    const DeviceClass *klass = device_class_find(driver);
    if (!klass) {
        error_setg(errp, "'%s' is not a valid device model name (-device help lists them)",
                   driver);
        return NULL;
    }
    if (g_hash_table_contains(opts, "help")) {
        print_device_props(klass);
        return NULL;
    }
    if (!klass->user_creatable) {
        error_setg(errp, "device '%s' can not be created with -device", driver);
        return NULL;
    }
    dev = device_new(driver, errp);
    if (!dev) {
        return NULL;
    }
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, opts);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (!strcmp(key, "driver")) {
            continue;
        }
        if (!device_set_prop(dev, key, value, errp)) {
            device_destroy(dev);
            return NULL;
        }
    }
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

void device_foreach(void (*fn)(DeviceState *dev, void *opaque), void *opaque)
{
    for (guint i = 0; realized_devices && i < realized_devices->len; i++) {
        fn(g_ptr_array_index(realized_devices, i), opaque);
    }
}
