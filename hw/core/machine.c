/* Machine type registry. */
#include "hw/boards.h"

MachineState *current_machine;
struct Chardev *serial_backends[MAX_SERIAL_PORTS + 1];

static GPtrArray *machine_classes;

void machine_class_register(const MachineClass *mc)
{
    if (!machine_classes) {
        machine_classes = g_ptr_array_new();
    }
    g_ptr_array_add(machine_classes, (gpointer)mc);
}

const MachineClass *machine_class_find(const char *name)
{
    for (guint i = 0; machine_classes && i < machine_classes->len; i++) {
        const MachineClass *mc = g_ptr_array_index(machine_classes, i);
        if (!strcmp(mc->name, name) || (mc->alias && !strcmp(mc->alias, name))) {
            return mc;
        }
    }
    return NULL;
}

const MachineClass *machine_class_default(void)
{
    for (guint i = 0; machine_classes && i < machine_classes->len; i++) {
        const MachineClass *mc = g_ptr_array_index(machine_classes, i);
        if (mc->is_default) {
            return mc;
        }
    }
    return NULL;
}

void machine_class_foreach(void (*fn)(const MachineClass *mc, void *opaque), void *opaque)
{
    for (guint i = 0; machine_classes && i < machine_classes->len; i++) {
        fn(g_ptr_array_index(machine_classes, i), opaque);
    }
}
