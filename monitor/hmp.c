/*
 * A small human monitor, reached through QMP's human-monitor-command:
 * info status|mtree|registers|cpus|qtree, help. Output lines end in CRLF
 * like QEMU's.
 */
#include "monitor/qmp.h"
#include "exec/memory.h"
#include "hw/qdev.h"
#include "chardev/char.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"

typedef struct HmpInfo {
    const char *name;
    const char *help;
    void (*fn)(GString *out, int cpu_index);
} HmpInfo;

static void info_status(GString *out, int cpu_index)
{
    RunState state = runstate_get();

    if (state == RUN_STATE_RUNNING) {
        g_string_append(out, "VM status: running\n");
    } else if (state == RUN_STATE_PAUSED) {
        g_string_append(out, "VM status: paused\n");
    } else {
        g_string_append_printf(out, "VM status: paused (%s)\n", runstate_name(state));
    }
}

static void info_mtree(GString *out, int cpu_index)
{
    memory_tree_dump(out, false);
}

static void info_registers(GString *out, int cpu_index)
{
    if (cpu_index < 0 || (unsigned)cpu_index >= nr_cpus) {
        g_string_append(out, "No CPU available\n");
        return;
    }
    cpu_synchronize_state(cpus[cpu_index]);
    x86_cpu_dump_state(&cpus[cpu_index]->env, out);
}

static void info_cpus(GString *out, int cpu_index)
{
    for (unsigned i = 0; i < nr_cpus; i++) {
        g_string_append_printf(out, "%c CPU #%u: thread_id=%" G_GINT64_FORMAT "\n",
                               (int)i == cpu_index ? '*' : ' ', i,
                               qmp_cpu_thread_id(cpus[i]));
    }
}

static void print_prop(GString *out, DeviceState *dev, const Property *p)
{
    const char *field = (const char *)dev + p->offset;

    g_string_append_printf(out, "    %s = ", p->name);
    switch (p->type) {
    case PROP_BOOL:
        g_string_append(out, *(const bool *)field ? "true" : "false");
        break;
    case PROP_UINT8:
        g_string_append_printf(out, "%u (0x%x)", *(const uint8_t *)field,
                               *(const uint8_t *)field);
        break;
    case PROP_UINT16:
        g_string_append_printf(out, "%u (0x%x)", *(const uint16_t *)field,
                               *(const uint16_t *)field);
        break;
    case PROP_UINT32:
        g_string_append_printf(out, "%u (0x%x)", *(const uint32_t *)field,
                               *(const uint32_t *)field);
        break;
    case PROP_UINT64:
    case PROP_SIZE:
        g_string_append_printf(out, "%" PRIu64 " (0x%" PRIx64 ")", *(const uint64_t *)field,
                               *(const uint64_t *)field);
        break;
    case PROP_STRING: {
        const char *s = *(char *const *)field;
        if (s) {
            g_string_append_printf(out, "\"%s\"", s);
        } else {
            g_string_append(out, "null");
        }
        break;
    }
    case PROP_CHARDEV: {
        Chardev *chr = *(Chardev *const *)field;
        g_string_append_printf(out, "\"%s\"", chr ? chardev_id(chr) : "");
        break;
    }
    }
    g_string_append_c(out, '\n');
}

static void qtree_device(DeviceState *dev, void *opaque)
{
    GString *out = opaque;

    g_string_append_printf(out, "  dev: %s, id \"%s\"\n", dev->klass->name,
                           dev->id ? dev->id : "");
    for (const Property *p = dev->klass->props; p && p->name; p++) {
        print_prop(out, dev, p);
    }
}

static void info_qtree(GString *out, int cpu_index)
{
    g_string_append(out, "bus: main-system-bus\n  type System\n");
    device_foreach(qtree_device, out);
}

static const HmpInfo info_commands[] = {
    { "cpus", "show infos for each CPU", info_cpus },
    { "mtree", "show memory tree", info_mtree },
    { "qtree", "show device tree", info_qtree },
    { "registers", "show the cpu registers", info_registers },
    { "status", "show the current VM status (running|paused)", info_status },
};

static void list_info(GString *out)
{
    for (size_t i = 0; i < G_N_ELEMENTS(info_commands); i++) {
        g_string_append_printf(out, "info %s  -- %s\n", info_commands[i].name,
                               info_commands[i].help);
    }
}

/* Turns "\n" into "\r\n" (HMP output is terminal text). */
static char *to_crlf(const char *text)
{
    GString *out = g_string_new(NULL);

    for (const char *p = text; *p; p++) {
        if (*p == '\n' && (p == text || p[-1] != '\r')) {
            g_string_append_c(out, '\r');
        }
        g_string_append_c(out, *p);
    }
    return g_string_free(out, FALSE);
}

char *hmp_run(const char *command_line, int cpu_index)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_auto(GStrv) words = g_strsplit_set(command_line, " \t\r\n", -1);
    const char *argv[4] = { NULL };
    int argc = 0;

    for (char **w = words; *w && argc < 4; w++) {
        if (**w) {
            argv[argc++] = *w;
        }
    }
    if (argc == 0) {
        return g_strdup("");
    }
    if (!strcmp(argv[0], "info") || !strcmp(argv[0], "i")) {
        if (argc == 1) {
            list_info(out);
        } else {
            const HmpInfo *found = NULL;
            for (size_t i = 0; i < G_N_ELEMENTS(info_commands); i++) {
                if (!strcmp(info_commands[i].name, argv[1])) {
                    found = &info_commands[i];
                }
            }
            if (found) {
                found->fn(out, cpu_index);
            } else {
                g_string_append_printf(out, "unknown command: 'info %s'\n", argv[1]);
            }
        }
    } else if (!strcmp(argv[0], "help") || !strcmp(argv[0], "?")) {
        g_string_append(out, "help|?  -- show the help\n"
                             "info [subcommand]  -- show various information\n");
        list_info(out);
    } else {
        g_string_append_printf(out, "unknown command: '%s'\n", argv[0]);
    }
    return to_crlf(out->str);
}
