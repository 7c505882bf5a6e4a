/*
 * The QMP commands and events Kestrel implements: their types (which the
 * dispatcher checks arguments against and query-qmp-schema lists) and
 * handlers. Everything runs on the main thread with the big lock held.
 * Reply shapes follow QEMU 7.2.
 */
#include "monitor/qmp.h"
#include "monitor/monitor.h"
#include "chardev/char.h"
#include "hw/acpi/pm.h"
#include "hw/boards.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"
#include <unistd.h>
#include <sys/syscall.h>

#define MEMBERS(...) (const QmpMember[]) { __VA_ARGS__, { NULL } }
#define VALUES(...) (const char *const[]) { __VA_ARGS__, NULL }
#define OBJECT(n, ...) { .name = (n), .kind = QMP_KIND_OBJECT, .members = MEMBERS(__VA_ARGS__) }
#define ENUM(n, ...) { .name = (n), .kind = QMP_KIND_ENUM, .values = VALUES(__VA_ARGS__) }
#define ARRAY(n, elem) { .name = (n), .kind = QMP_KIND_ARRAY, .element = (elem) }

/* ---- types ---- */

static const QmpType QMPCapability = ENUM("QMPCapability", "oob");
static const QmpType QMPCapabilityList = ARRAY("[QMPCapability]", &QMPCapability);
static const QmpType qmp_capabilities_arg = OBJECT("q_obj_qmp_capabilities-arg",
    { "enable", &QMPCapabilityList, true });

static const QmpType VersionTriple = OBJECT("VersionTriple",
    { "major", &qmp_type_int }, { "minor", &qmp_type_int }, { "micro", &qmp_type_int });
static const QmpType VersionInfo = OBJECT("VersionInfo",
    { "qemu", &VersionTriple }, { "package", &qmp_type_str });

static const QmpType RunStateType = ENUM("RunState", "prelaunch", "running", "paused",
    "shutdown", "internal-error", "guest-panicked", "inmigrate", "postmigrate",
    "finish-migrate");
static const QmpType StatusInfo = OBJECT("StatusInfo",
    { "running", &qmp_type_bool }, { "singlestep", &qmp_type_bool },
    { "status", &RunStateType });

static const QmpType NameInfo = OBJECT("NameInfo", { "name", &qmp_type_str, true });
static const QmpType UuidInfo = OBJECT("UuidInfo", { "UUID", &qmp_type_str });

static const QmpType SysEmuTarget = ENUM("SysEmuTarget", "x86_64");
static const QmpType TargetInfo = OBJECT("TargetInfo", { "arch", &SysEmuTarget });

static const QmpType CommandInfo = OBJECT("CommandInfo", { "name", &qmp_type_str });
static const QmpType CommandInfoList = ARRAY("[CommandInfo]", &CommandInfo);

static const QmpType KvmInfo = OBJECT("KvmInfo",
    { "enabled", &qmp_type_bool }, { "present", &qmp_type_bool });

static const QmpType MachineInfo = OBJECT("MachineInfo",
    { "name", &qmp_type_str }, { "alias", &qmp_type_str, true },
    { "is-default", &qmp_type_bool, true }, { "cpu-max", &qmp_type_int },
    { "hotpluggable-cpus", &qmp_type_bool }, { "numa-mem-supported", &qmp_type_bool },
    { "deprecated", &qmp_type_bool }, { "default-cpu-type", &qmp_type_str, true },
    { "default-ram-id", &qmp_type_str, true });
static const QmpType MachineInfoList = ARRAY("[MachineInfo]", &MachineInfo);

static const QmpType CpuInstanceProperties = OBJECT("CpuInstanceProperties",
    { "node-id", &qmp_type_int, true }, { "socket-id", &qmp_type_int, true },
    { "die-id", &qmp_type_int, true }, { "cluster-id", &qmp_type_int, true },
    { "core-id", &qmp_type_int, true }, { "thread-id", &qmp_type_int, true });
static const QmpType CpuInfoFast = OBJECT("CpuInfoFast",
    { "cpu-index", &qmp_type_int }, { "qom-path", &qmp_type_str },
    { "thread-id", &qmp_type_int }, { "props", &CpuInstanceProperties, true },
    { "target", &SysEmuTarget });
static const QmpType CpuInfoFastList = ARRAY("[CpuInfoFast]", &CpuInfoFast);

static const QmpType ChardevInfo = OBJECT("ChardevInfo",
    { "label", &qmp_type_str }, { "filename", &qmp_type_str },
    { "frontend-open", &qmp_type_bool });
static const QmpType ChardevInfoList = ARRAY("[ChardevInfo]", &ChardevInfo);

static const QmpType CommandLineParameterType = ENUM("CommandLineParameterType",
    "string", "boolean", "number", "size");
static const QmpType CommandLineParameterInfo = OBJECT("CommandLineParameterInfo",
    { "name", &qmp_type_str }, { "type", &CommandLineParameterType },
    { "help", &qmp_type_str, true }, { "default", &qmp_type_str, true });
static const QmpType CommandLineParameterInfoList = ARRAY("[CommandLineParameterInfo]",
                                                          &CommandLineParameterInfo);
static const QmpType CommandLineOptionInfo = OBJECT("CommandLineOptionInfo",
    { "option", &qmp_type_str }, { "parameters", &CommandLineParameterInfoList });
static const QmpType CommandLineOptionInfoList = ARRAY("[CommandLineOptionInfo]",
                                                       &CommandLineOptionInfo);
static const QmpType query_command_line_options_arg =
    OBJECT("q_obj_query-command-line-options-arg", { "option", &qmp_type_str, true });

static const QmpType fdname_arg = OBJECT("q_obj_getfd-arg", { "fdname", &qmp_type_str });
static const QmpType closefd_arg = OBJECT("q_obj_closefd-arg", { "fdname", &qmp_type_str });

static const QmpType hmp_arg = OBJECT("q_obj_human-monitor-command-arg",
    { "command-line", &qmp_type_str }, { "cpu-index", &qmp_type_int, true });

/* SchemaInfo: what query-qmp-schema returns, described in its own terms. */
static const QmpType SchemaMetaType = ENUM("SchemaMetaType", "builtin", "enum", "array",
    "object", "alternate", "command", "event");
static const QmpType JSONType = ENUM("JSONType", "string", "number", "int", "boolean",
    "null", "object", "array", "value");
static const QmpType SchemaInfoBuiltin = OBJECT("SchemaInfoBuiltin",
    { "json-type", &JSONType });
static const QmpType SchemaInfoEnumMember = OBJECT("SchemaInfoEnumMember",
    { "name", &qmp_type_str }, { "features", &qmp_type_str_list, true });
static const QmpType SchemaInfoEnumMemberList = ARRAY("[SchemaInfoEnumMember]",
                                                      &SchemaInfoEnumMember);
static const QmpType SchemaInfoEnum = OBJECT("SchemaInfoEnum",
    { "members", &SchemaInfoEnumMemberList }, { "values", &qmp_type_str_list });
static const QmpType SchemaInfoArray = OBJECT("SchemaInfoArray",
    { "element-type", &qmp_type_str });
static const QmpType SchemaInfoObjectMember = OBJECT("SchemaInfoObjectMember",
    { "name", &qmp_type_str }, { "type", &qmp_type_str }, { "default", &qmp_type_any, true },
    { "features", &qmp_type_str_list, true });
static const QmpType SchemaInfoObjectMemberList = ARRAY("[SchemaInfoObjectMember]",
                                                        &SchemaInfoObjectMember);
static const QmpType SchemaInfoObjectVariant = OBJECT("SchemaInfoObjectVariant",
    { "case", &qmp_type_str }, { "type", &qmp_type_str });
static const QmpType SchemaInfoObjectVariantList = ARRAY("[SchemaInfoObjectVariant]",
                                                         &SchemaInfoObjectVariant);
static const QmpType SchemaInfoObject = OBJECT("SchemaInfoObject",
    { "members", &SchemaInfoObjectMemberList }, { "tag", &qmp_type_str, true },
    { "variants", &SchemaInfoObjectVariantList, true });
static const QmpType SchemaInfoAlternateMember = OBJECT("SchemaInfoAlternateMember",
    { "type", &qmp_type_str });
static const QmpType SchemaInfoAlternateMemberList = ARRAY("[SchemaInfoAlternateMember]",
                                                           &SchemaInfoAlternateMember);
static const QmpType SchemaInfoAlternate = OBJECT("SchemaInfoAlternate",
    { "members", &SchemaInfoAlternateMemberList });
static const QmpType SchemaInfoCommand = OBJECT("SchemaInfoCommand",
    { "arg-type", &qmp_type_str }, { "ret-type", &qmp_type_str },
    { "allow-oob", &qmp_type_bool, true });
static const QmpType SchemaInfoEvent = OBJECT("SchemaInfoEvent", { "arg-type", &qmp_type_str });
static const QmpType SchemaInfo = {
    .name = "SchemaInfo", .kind = QMP_KIND_OBJECT,
    .members = MEMBERS({ "name", &qmp_type_str }, { "meta-type", &SchemaMetaType },
                       { "features", &qmp_type_str_list, true }),
    .tag = "meta-type",
    .variants = (const QmpVariant[]) {
        { "builtin", &SchemaInfoBuiltin }, { "enum", &SchemaInfoEnum },
        { "array", &SchemaInfoArray }, { "object", &SchemaInfoObject },
        { "alternate", &SchemaInfoAlternate }, { "command", &SchemaInfoCommand },
        { "event", &SchemaInfoEvent }, { NULL },
    },
};
static const QmpType SchemaInfoList = ARRAY("[SchemaInfo]", &SchemaInfo);

static const QmpType ShutdownCauseType = ENUM("ShutdownCause", "none", "host-error",
    "host-qmp-quit", "host-qmp-system-reset", "host-signal", "host-ui", "guest-shutdown",
    "guest-reset", "guest-panic");
static const QmpType ShutdownEventData = OBJECT("q_obj_SHUTDOWN-arg",
    { "guest", &qmp_type_bool }, { "reason", &ShutdownCauseType });
static const QmpType ResetEventData = OBJECT("q_obj_RESET-arg",
    { "guest", &qmp_type_bool }, { "reason", &ShutdownCauseType });

/* ---- helpers ---- */

static JsonNode *empty_return(void)
{
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, json_object_new());
    return node;
}

static JsonNode *object_node(JsonObject *obj)
{
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, obj);
    return node;
}

static JsonNode *array_node(JsonArray *arr)
{
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    return node;
}

/* ---- commands ---- */

static JsonNode *cmd_qmp_capabilities(QmpSession *s, JsonObject *args, GError **errp)
{
    if (json_object_has_member(args, "enable")) {
        JsonArray *caps = json_object_get_array_member(args, "enable");
        if (json_array_get_length(caps) > 0) {
            /* "oob" is the only capability QEMU has; Kestrel does not offer it. */
            error_setg(errp, "Capability '%s' not available",
                       json_array_get_string_element(caps, 0));
            return NULL;
        }
    }
    s->negotiated = true;
    return empty_return();
}

static JsonNode *cmd_query_version(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonObject *qemu = json_object_new(), *info = json_object_new();

    json_object_set_int_member(qemu, "micro", 0);
    json_object_set_int_member(qemu, "minor", 2);
    json_object_set_int_member(qemu, "major", 7);
    json_object_set_object_member(info, "qemu", qemu);
    json_object_set_string_member(info, "package", "Kestrel " KESTREL_VERSION);
    return object_node(info);
}

static JsonNode *cmd_query_status(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonObject *info = json_object_new();

    json_object_set_string_member(info, "status", runstate_name(runstate_get()));
    json_object_set_boolean_member(info, "singlestep", false);
    json_object_set_boolean_member(info, "running", runstate_is_running());
    return object_node(info);
}

static JsonNode *cmd_query_name(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonObject *info = json_object_new();

    if (vm_name) {
        json_object_set_string_member(info, "name", vm_name);
    }
    return object_node(info);
}

static JsonNode *cmd_query_uuid(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonObject *info = json_object_new();

    json_object_set_string_member(info, "UUID", vm_uuid);
    return object_node(info);
}

static JsonNode *cmd_query_target(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonObject *info = json_object_new();

    json_object_set_string_member(info, "arch", "x86_64");
    return object_node(info);
}

static JsonNode *cmd_query_commands(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonArray *list = json_array_new();

    for (const QmpCommand *c = qmp_commands; c->name; c++) {
        JsonObject *info = json_object_new();
        json_object_set_string_member(info, "name", c->name);
        json_array_add_object_element(list, info);
    }
    return array_node(list);
}

static JsonNode *cmd_query_kvm(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonObject *info = json_object_new();
    const AccelOps *accel = current_accel();

    json_object_set_boolean_member(info, "enabled", accel && !strcmp(accel->name, "kvm"));
    json_object_set_boolean_member(info, "present", accel_find("kvm") != NULL);
    return object_node(info);
}

/* QEMU 7.2's MachineInfo (it has no "acpi" member yet). */
static void add_machine_info(JsonArray *list, const char *name, const char *alias,
                             bool is_default, unsigned cpu_max, bool pc)
{
    JsonObject *info = json_object_new();

    json_object_set_string_member(info, "name", name);
    if (alias) {
        json_object_set_string_member(info, "alias", alias);
    }
    if (is_default) {
        json_object_set_boolean_member(info, "is-default", true);
    }
    json_object_set_int_member(info, "cpu-max", cpu_max);
    json_object_set_boolean_member(info, "hotpluggable-cpus", false);
    json_object_set_boolean_member(info, "numa-mem-supported", false);
    json_object_set_boolean_member(info, "deprecated", false);
    if (pc) {
        json_object_set_string_member(info, "default-cpu-type", "qemu64-x86_64-cpu");
    }
    json_object_set_string_member(info, "default-ram-id", pc ? "pc.ram" : "ram");
    json_array_add_object_element(list, info);
}

static void machine_info_cb(const MachineClass *mc, void *opaque)
{
    add_machine_info(opaque, mc->name, mc->alias, mc->is_default,
                     mc->max_cpus ? mc->max_cpus : 1, true);
}

static JsonNode *cmd_query_machines(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonArray *list = json_array_new();

    machine_class_foreach(machine_info_cb, list);
    add_machine_info(list, "none", NULL, false, 1, false);
    return array_node(list);
}

static void get_thread_id(CPUState *cpu, void *data)
{
    *(int64_t *)data = (int64_t)syscall(SYS_gettid);
}

int64_t qmp_cpu_thread_id(CPUState *cpu)
{
    int64_t tid = getpid();

    if (cpu->created && cpu->thread) {
        run_on_cpu(cpu, get_thread_id, &tid);
    }
    return tid;
}

static JsonNode *cmd_query_cpus_fast(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonArray *list = json_array_new();

    for (unsigned i = 0; i < nr_cpus; i++) {
        JsonObject *info = json_object_new(), *props = json_object_new();
        /* QEMU 7.2's pc machine creates one other unattached device
         * between the first vCPU and the next ones. */
        g_autofree char *path = g_strdup_printf("/machine/unattached/device[%u]",
                                                i ? i + 1 : 0);

        json_object_set_int_member(info, "thread-id", qmp_cpu_thread_id(cpus[i]));
        json_object_set_int_member(props, "core-id", i);
        json_object_set_int_member(props, "thread-id", 0);
        json_object_set_int_member(props, "socket-id", 0);
        json_object_set_object_member(info, "props", props);
        json_object_set_string_member(info, "qom-path", path);
        json_object_set_int_member(info, "cpu-index", i);
        json_object_set_string_member(info, "target", "x86_64");
        json_array_add_object_element(list, info);
    }
    return array_node(list);
}

static void chardev_info_cb(Chardev *chr, void *opaque)
{
    JsonObject *info = json_object_new();

    json_object_set_boolean_member(info, "frontend-open", chardev_has_frontend(chr));
    json_object_set_string_member(info, "filename", chardev_filename(chr));
    json_object_set_string_member(info, "label", chardev_id(chr));
    json_array_add_object_element(opaque, info);
}

static JsonNode *cmd_query_chardev(QmpSession *s, JsonObject *args, GError **errp)
{
    JsonArray *list = json_array_new();

    chardev_foreach(chardev_info_cb, list);
    return array_node(list);
}

/* The key=value options Kestrel's command line accepts. */
typedef struct OptionParam {
    const char *name, *type, *help;
} OptionParam;

static const struct {
    const char *option;
    const OptionParam *params;
} command_line_options[] = {
    { "machine", (const OptionParam[]) {
        { "type", "string", "emulated machine" },
        { "accel", "string", "accelerator list (kvm:tcg)" },
        { "memory-backend", "string", "ID of the memory backend object for RAM" },
        { "acpi", "boolean", "enable ACPI tables" }, { NULL } } },
    { "accel", (const OptionParam[]) { { "accel", "string", "accelerator name" }, { NULL } } },
    { "smp-opts", (const OptionParam[]) {
        { "cpus", "number", NULL }, { "maxcpus", "number", NULL },
        { "sockets", "number", NULL }, { "cores", "number", NULL },
        { "threads", "number", NULL }, { NULL } } },
    { "memory", (const OptionParam[]) { { "size", "size", NULL }, { NULL } } },
    { "chardev", (const OptionParam[]) {
        { "backend", "string", NULL }, { "id", "string", NULL }, { "path", "string", NULL },
        { "host", "string", NULL }, { "port", "string", NULL }, { "fd", "string", NULL },
        { "server", "boolean", NULL }, { "wait", "boolean", NULL },
        { "nodelay", "boolean", NULL }, { "mux", "boolean", NULL },
        { "logfile", "string", NULL }, { "logappend", "boolean", NULL },
        { "signal", "boolean", NULL }, { "append", "boolean", NULL }, { NULL } } },
    { "mon", (const OptionParam[]) {
        { "pretty", "boolean", NULL }, { "chardev", "string", NULL },
        { "mode", "string", NULL }, { NULL } } },
    { "name", (const OptionParam[]) {
        { "guest", "string", "Sets the name of the guest" },
        { "process", "string", "Sets the name of the process" },
        { "debug-threads", "boolean", "Accepted; has no effect" }, { NULL } } },
    { "rtc", (const OptionParam[]) { { "base", "string", NULL }, { NULL } } },
};

static JsonNode *cmd_query_command_line_options(QmpSession *s, JsonObject *args,
                                                GError **errp)
{
    const char *only = json_object_get_string_member_with_default(args, "option", NULL);
    JsonArray *list = json_array_new();
    bool found = false;

    for (size_t i = 0; i < G_N_ELEMENTS(command_line_options); i++) {
        JsonObject *info;
        JsonArray *params;

        if (only && strcmp(only, command_line_options[i].option) != 0) {
            continue;
        }
        found = true;
        info = json_object_new();
        params = json_array_new();
        for (const OptionParam *p = command_line_options[i].params; p->name; p++) {
            JsonObject *param = json_object_new();
            json_object_set_string_member(param, "name", p->name);
            if (p->help) {
                json_object_set_string_member(param, "help", p->help);
            }
            json_object_set_string_member(param, "type", p->type);
            json_array_add_object_element(params, param);
        }
        json_object_set_array_member(info, "parameters", params);
        json_object_set_string_member(info, "option", command_line_options[i].option);
        json_array_add_object_element(list, info);
    }
    if (only && !found) {
        json_array_unref(list);
        error_setg(errp, "invalid option name: %s", only);
        return NULL;
    }
    return array_node(list);
}

static JsonNode *cmd_stop(QmpSession *s, JsonObject *args, GError **errp)
{
    if (runstate_is_running()) {
        vm_stop(RUN_STATE_PAUSED);   /* sends STOP */
    }
    return empty_return();
}

static JsonNode *cmd_cont(QmpSession *s, JsonObject *args, GError **errp)
{
    RunState state = runstate_get();

    if (state == RUN_STATE_SHUTDOWN || state == RUN_STATE_INTERNAL_ERROR ||
        state == RUN_STATE_GUEST_PANICKED) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return NULL;
    }
    if (state == RUN_STATE_INMIGRATE) {
        error_setg(errp, "Migration is not implemented");
        return NULL;
    }
    vm_start();   /* sends RESUME unless already running */
    return empty_return();
}

static JsonNode *cmd_system_reset(QmpSession *s, JsonObject *args, GError **errp)
{
    system_reset_request(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    return empty_return();
}

static JsonNode *cmd_system_powerdown(QmpSession *s, JsonObject *args, GError **errp)
{
    DeviceState *pm = acpi_pm_find();

    qmp_send_event_powerdown();
    if (pm) {
        acpi_pm_power_button(pm);
    }
    return empty_return();
}

static JsonNode *cmd_quit(QmpSession *s, JsonObject *args, GError **errp)
{
    system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    return empty_return();
}

static JsonNode *cmd_getfd(QmpSession *s, JsonObject *args, GError **errp)
{
    const char *name = json_object_get_string_member(args, "fdname");
    int fd;

    /* Taken first, so that a refused request does not leave it open. */
    fd = s->take_fd ? s->take_fd(s->opaque) : -1;
    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return NULL;
    }
    if (g_ascii_isdigit(name[0])) {
        close(fd);
        error_setg(errp, "Parameter 'fdname' expects a name not starting with a digit");
        return NULL;
    }
    /* A name given again replaces (and closes) the old descriptor. */
    g_hash_table_insert(s->named_fds, g_strdup(name), GINT_TO_POINTER(fd));
    return empty_return();
}

static JsonNode *cmd_closefd(QmpSession *s, JsonObject *args, GError **errp)
{
    const char *name = json_object_get_string_member(args, "fdname");

    if (!g_hash_table_remove(s->named_fds, name)) {
        error_setg(errp, "File descriptor named '%s' not found", name);
        return NULL;
    }
    return empty_return();
}

static JsonNode *cmd_human_monitor_command(QmpSession *s, JsonObject *args, GError **errp)
{
    const char *line = json_object_get_string_member(args, "command-line");
    int64_t cpu_index = json_object_get_int_member_with_default(args, "cpu-index", 0);
    JsonNode *node;

    /* QEMU's text (QERR_INVALID_PARAMETER_VALUE); without the member the
     * first vCPU is the default, even when there is none (-machine none). */
    if (json_object_has_member(args, "cpu-index") &&
        (cpu_index < 0 || cpu_index >= (int64_t)nr_cpus)) {
        error_setg(errp, "Parameter 'cpu-index' expects a CPU number");
        return NULL;
    }
    g_autofree char *out = hmp_run(line, (int)cpu_index);
    node = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(node, out);
    return node;
}

static JsonNode *cmd_query_qmp_schema(QmpSession *s, JsonObject *args, GError **errp)
{
    return qmp_introspect();
}

const QmpCommand qmp_commands[] = {
    { "qmp_capabilities", &qmp_capabilities_arg, &qmp_type_empty, cmd_qmp_capabilities },
    { "query-version", &qmp_type_empty, &VersionInfo, cmd_query_version },
    { "query-status", &qmp_type_empty, &StatusInfo, cmd_query_status },
    { "query-name", &qmp_type_empty, &NameInfo, cmd_query_name },
    { "query-uuid", &qmp_type_empty, &UuidInfo, cmd_query_uuid },
    { "query-target", &qmp_type_empty, &TargetInfo, cmd_query_target },
    { "query-commands", &qmp_type_empty, &CommandInfoList, cmd_query_commands },
    { "query-kvm", &qmp_type_empty, &KvmInfo, cmd_query_kvm },
    { "query-machines", &qmp_type_empty, &MachineInfoList, cmd_query_machines },
    { "query-cpus-fast", &qmp_type_empty, &CpuInfoFastList, cmd_query_cpus_fast },
    { "query-chardev", &qmp_type_empty, &ChardevInfoList, cmd_query_chardev },
    { "query-command-line-options", &query_command_line_options_arg,
      &CommandLineOptionInfoList, cmd_query_command_line_options },
    { "query-qmp-schema", &qmp_type_empty, &SchemaInfoList, cmd_query_qmp_schema },
    { "stop", &qmp_type_empty, &qmp_type_empty, cmd_stop },
    { "cont", &qmp_type_empty, &qmp_type_empty, cmd_cont },
    { "system_reset", &qmp_type_empty, &qmp_type_empty, cmd_system_reset },
    { "system_powerdown", &qmp_type_empty, &qmp_type_empty, cmd_system_powerdown },
    { "quit", &qmp_type_empty, &qmp_type_empty, cmd_quit },
    { "getfd", &fdname_arg, &qmp_type_empty, cmd_getfd },
    { "closefd", &closefd_arg, &qmp_type_empty, cmd_closefd },
    { "human-monitor-command", &hmp_arg, &qmp_type_str, cmd_human_monitor_command },
    { NULL },
};

const QmpEvent qmp_events[] = {
    { "SHUTDOWN", &ShutdownEventData },
    { "POWERDOWN", &qmp_type_empty },
    { "RESET", &ResetEventData },
    { "STOP", &qmp_type_empty },
    { "RESUME", &qmp_type_empty },
    { NULL },
};
