/* The accelerator registry. */
#include "sysemu/accel.h"

static GPtrArray *accelerators;
static const AccelOps *current;

void accel_register(const AccelOps *ops)
{
    if (!accelerators) {
        accelerators = g_ptr_array_new();
    }
    g_ptr_array_add(accelerators, (gpointer)ops);
}

const AccelOps *accel_find(const char *name)
{
    for (guint i = 0; accelerators && i < accelerators->len; i++) {
        const AccelOps *ops = g_ptr_array_index(accelerators, i);
        if (!strcmp(ops->name, name)) {
            return ops;
        }
    }
    return NULL;
}

const AccelOps *current_accel(void)
{
    return current;
}

void accel_set_current(const AccelOps *ops)
{
    current = ops;
}

char *accel_list_names(void)
{
    GString *names = g_string_new(NULL);
    for (guint i = 0; accelerators && i < accelerators->len; i++) {
        const AccelOps *ops = g_ptr_array_index(accelerators, i);
        g_string_append_printf(names, "%s%s", i ? ", " : "", ops->name);
    }
    return g_string_free(names, FALSE);
}

bool accel_irqchip_in_kernel(void)
{
    return current && current->irqchip_in_kernel && current->irqchip_in_kernel();
}

void accel_set_gsi(unsigned gsi, int level)
{
    if (current && current->set_gsi) {
        current->set_gsi(gsi, level);
    }
}
