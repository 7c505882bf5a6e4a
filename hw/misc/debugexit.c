/*
 * isa-debug-exit: lets a test payload end the emulator with a chosen exit
 * status. The write only posts a request to the main loop
 * (system_exit_request); devices never call exit() themselves.
 */
#include "hw/misc/debugexit.h"
#include "hw/qdev.h"
#include "exec/memory.h"
#include "sysemu/runstate.h"

typedef struct ISADebugExitState {
    DeviceState parent;
    uint32_t iobase;
    uint32_t iosize;
    MemoryRegion io;
    bool mapped;
} ISADebugExitState;

static uint64_t debug_exit_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static void debug_exit_write(void *opaque, hwaddr addr, uint64_t value, unsigned size)
{
    /* The status is an int; the OS keeps its low 8 bits, as with QEMU. */
    system_exit_request((int)((value << 1) | 1));
}

static const MemoryRegionOps debug_exit_ops = {
    .read = debug_exit_read,
    .write = debug_exit_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static bool debug_exit_realize(DeviceState *dev, GError **errp)
{
    ISADebugExitState *s = (ISADebugExitState *)dev;

    if (s->iosize == 0 || s->iosize > 0x10000 || s->iobase > 0xffff ||
        s->iobase + s->iosize > 0x10000) {
        error_setg(errp, "isa-debug-exit: ports 0x%x+%u do not fit the 64 KiB I/O space",
                   s->iobase, s->iosize);
        return false;
    }
    memory_region_init_io(&s->io, s, &debug_exit_ops, s, "isa-debug-exit", s->iosize);
    memory_region_add_subregion(get_system_io(), s->iobase, &s->io);
    s->mapped = true;
    return true;
}

static void debug_exit_unrealize(DeviceState *dev)
{
    ISADebugExitState *s = (ISADebugExitState *)dev;

    if (s->mapped) {
        memory_region_del_subregion(get_system_io(), &s->io);
        memory_region_destroy(&s->io);
        s->mapped = false;
    }
}

static const Property debug_exit_props[] = {
    DEFINE_PROP("iobase", PROP_UINT32, ISADebugExitState, iobase,
                ISA_DEBUG_EXIT_DEFAULT_IOBASE, "first I/O port"),
    DEFINE_PROP("iosize", PROP_UINT32, ISADebugExitState, iosize,
                ISA_DEBUG_EXIT_DEFAULT_IOSIZE, "number of ports"),
    DEFINE_PROP_END,
};

static const DeviceClass debug_exit_class = {
    .name = TYPE_ISA_DEBUG_EXIT,
    .description = "exit the emulator with status (value << 1) | 1 on a write",
    .instance_size = sizeof(ISADebugExitState),
    .props = debug_exit_props,
    .user_creatable = true,
    .realize = debug_exit_realize,
    .unrealize = debug_exit_unrealize,
};

static void debug_exit_register(void)
{
    device_class_register(&debug_exit_class);
}
type_init(debug_exit_register)
