/* Port 0x80 sink. See include/hw/misc/port80.h. */
#include "hw/misc/port80.h"
#include "exec/memory.h"

typedef struct Port80State {
    DeviceState parent;
    MemoryRegion io;
    bool io_mapped;
} Port80State;

static uint64_t port80_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0xff;
}

static void port80_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    /* A POST code or an I/O delay: nothing to do, and nothing to log. */
}

static const MemoryRegionOps port80_ops = {
    .read = port80_read,
    .write = port80_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

static bool port80_realize(DeviceState *dev, GError **errp)
{
    Port80State *s = (Port80State *)dev;

    memory_region_init_io(&s->io, s, &port80_ops, s, "port80", 1);
    memory_region_add_subregion(get_system_io(), PORT80_PORT, &s->io);
    s->io_mapped = true;
    return true;
}

static void port80_unrealize(DeviceState *dev)
{
    Port80State *s = (Port80State *)dev;

    if (s->io_mapped) {
        memory_region_del_subregion(get_system_io(), &s->io);
        memory_region_destroy(&s->io);
        s->io_mapped = false;
    }
}

DeviceState *port80_create(GError **errp)
{
    DeviceState *dev = device_new(TYPE_PORT80, errp);

    if (!dev) {
        return NULL;
    }
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

static const Property port80_props[] = {
    DEFINE_PROP_END,
};

static const DeviceClass port80_class = {
    .name = TYPE_PORT80,
    .description = "port 0x80 (POST code / I/O delay) sink",
    .instance_size = sizeof(Port80State),
    .props = port80_props,
    .user_creatable = false,
    .realize = port80_realize,
    .unrealize = port80_unrealize,
};

static void port80_register(void)
{
    device_class_register(&port80_class);
}
type_init(port80_register)
