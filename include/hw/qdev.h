/*
 * The device model: device types registered by name (the -device driver
 * name), typed properties, realize/unrealize/reset. See docs/devices.md.
 */
#ifndef HW_QDEV_H
#define HW_QDEV_H

#include "kestrel/osdep.h"

typedef struct DeviceState DeviceState;
typedef struct DeviceClass DeviceClass;
typedef struct Chardev Chardev;

typedef enum PropertyType {
    PROP_BOOL,
    PROP_UINT8,
    PROP_UINT16,
    PROP_UINT32,
    PROP_UINT64,
    PROP_SIZE,       /* uint64_t, accepts K/M/G suffixes */
    PROP_STRING,     /* char *, g_free'd with the device */
    PROP_CHARDEV,    /* Chardev *, given by chardev id */
} PropertyType;

typedef struct Property {
    const char *name;
    PropertyType type;
    size_t offset;          /* of the field in the device's struct */
    uint64_t default_value; /* integers and bools */
    const char *default_string;
    const char *description;
} Property;

#define DEFINE_PROP(_name, _type, _state, _field, _default, _desc) \
    { .name = (_name), .type = (_type), .offset = offsetof(_state, _field), \
      .default_value = (_default), .description = (_desc) }
#define DEFINE_PROP_END { .name = NULL }

struct DeviceClass {
    const char *name;           /* driver name */
    const char *description;
    size_t instance_size;       /* the device struct, which starts with DeviceState */
    const Property *props;      /* terminated by DEFINE_PROP_END */
    bool user_creatable;        /* may be given with -device */
    /* Called once properties are set; builds regions, connects backends. */
    bool (*realize)(DeviceState *dev, GError **errp);
    void (*unrealize)(DeviceState *dev);
    /* Device reset (machine reset): back to the power-on state. */
    void (*reset)(DeviceState *dev);
};

struct DeviceState {
    const DeviceClass *klass;
    char *id;                   /* -device ...,id=NAME (may be NULL) */
    bool realized;
};

void device_class_register(const DeviceClass *klass);
const DeviceClass *device_class_find(const char *name);
/* Calls fn for every registered class in name order. */
void device_class_foreach(void (*fn)(const DeviceClass *klass, void *opaque), void *opaque);

/* Allocates a device with default property values. */
DeviceState *device_new(const char *driver, GError **errp);
bool device_set_prop(DeviceState *dev, const char *name, const char *value, GError **errp);
bool device_realize(DeviceState *dev, GError **errp);
/* Unrealizes (if realized) and frees. */
void device_destroy(DeviceState *dev);
/* -device argument, either "drv,k=v,..." or JSON '{"driver":"drv",...}':
 * creates, sets properties, realizes. "help" and "drv,help" list to stdout
 * and return NULL with no error. */
DeviceState *device_create_from_option(const char *optarg, GError **errp);
/* Realized devices in creation order. */
void devices_reset_all(void);
void devices_destroy_all(void);
DeviceState *device_find_by_id(const char *id);
/* Calls fn for every realized device in creation order (info qtree). */
void device_foreach(void (*fn)(DeviceState *dev, void *opaque), void *opaque);

#endif
