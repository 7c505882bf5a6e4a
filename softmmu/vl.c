/*
 * The command line and the machine's start-up sequence. Spellings follow
 * qemu-system-x86_64 so that users and libvirt can drive Kestrel the same way.
 */
#include "kestrel/osdep.h"
#include "kestrel/log.h"
#include "kestrel/keyval.h"
#include "exec/memory.h"
#include "exec/ramblock.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/hostmem.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"
#include "sysemu/vl.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "chardev/char.h"
#include "monitor/monitor.h"
#include <sys/stat.h>
#include "hw/rtc/mc146818rtc.h"
#include <glib-unix.h>
#include <unistd.h>
#include <fcntl.h>

#define DEFAULT_RAM_SIZE_MIB 128

typedef struct StartupOptions {
    GPtrArray *accels;          /* char*: -accel names in order */
    GPtrArray *devices;         /* char*: -device arguments */
    GPtrArray *chardevs;        /* char*: -chardev arguments */
    GPtrArray *objects;         /* char*: -object arguments */
    GPtrArray *serials;         /* char*: -serial specs */
    char *machine_type;
    char *machine_accel;        /* -machine accel=kvm:tcg */
    char *memory_backend;       /* -machine memory-backend=ID */
    uint64_t ram_size;
    bool ram_size_given;
    unsigned smp;
    char *cpu_model;
    char *kernel, *initrd, *append;
    bool nographic;
    bool nodefaults;
    bool no_acpi;
    bool start_paused;
    char *dirty_log_file;
    GPtrArray *qmps;            /* char*: -qmp specs */
    GPtrArray *mons;            /* char*: -mon arguments */
    bool daemonize;
    char *pidfile;
} StartupOptions;

static void print_version(void)
{
    printf("Kestrel emulator version %s (kestrel-system-x86_64)\n"
           "Copyright (c) the Kestrel authors. License GPL-2.0-or-later.\n", KESTREL_VERSION);
}

static void print_help(void)
{
    print_version();
    printf("usage: kestrel-system-x86_64 [options]\n\n"
           "Standard options:\n"
           "-h or -help            display this help and exit\n"
           "-version               display version information and exit\n"
           "-machine [type=]name[,accel=kvm:tcg][,memory-backend=id][,acpi=on|off]\n"
           "                       select the machine ('-machine help' lists them)\n"
           "-M name                same as -machine name\n"
           "-accel name            select an accelerator (kvm, tcg); repeat for a fallback order\n"
           "-enable-kvm            same as -accel kvm\n"
           "-cpu model             select the CPU model ('-cpu help' lists them)\n"
           "-smp [cpus=]n          number of vCPUs\n"
           "-m [size=]megs[M|G]    guest RAM size (default %d MiB)\n"
           "-object type,id=..     create an object, e.g. memory-backend-ram|memfd|file,\n"
           "                       id=ID,size=SIZE[,share=on|off][,mem-path=PATH]\n"
           "-device driver[,prop=value,...] or JSON\n"
           "                       add a device ('-device help' lists them)\n"
           "\nBoot options:\n"
           "-kernel file           boot this kernel (multiboot ELF)\n"
           "-initrd file[,file2]   initial ramdisk / multiboot modules ('file arg' passes arg)\n"
           "-append cmdline        kernel command line\n"
           "\nCharacter devices and display:\n"
           "-chardev backend,id=ID[,...]   stdio, null, file,path=, socket,path=,server=on\n"
           "-serial dev            stdio, null, file:PATH, unix:PATH[,server=on,wait=off],\n"
           "                       chardev:ID, none\n"
           "-nographic             no display; serial on stdio\n"
           "-display none          no display\n"
           "-nodefaults            create no default devices\n"
           "-no-acpi               no ACPI tables (an MP table describes the CPUs instead)\n"
           "\nRun control:\n"
           "-rtc base=utc|localtime|DATETIME   where the guest's CMOS clock starts\n"
           "-S                     do not start the CPUs (start paused)\n"
           "-no-reboot             exit instead of rebooting\n"
           "-no-shutdown           stop instead of exiting when the guest shuts down\n"
           "-name [guest=]name     the VM's name (query-name)\n"
           "-uuid uuid             the VM's UUID (query-uuid)\n"
           "-daemonize             detach once started (the monitor listens, the pidfile exists)\n"
           "-pidfile file          write the process id to file\n"
           "\nMonitor (QMP, see docs/qmp.md):\n"
           "-qmp unix:PATH,server=on,wait=off | tcp:HOST:PORT,server=on,wait=off\n"
           "-mon chardev=ID,mode=control   a QMP monitor on a -chardev\n"
           "-machine none          no machine: only the monitor\n"
           "\nDebugging:\n"
           "-d item1,...           log items ('-d help' lists them)\n"
           "-D logfile             write the log to logfile instead of stderr\n"
           "-debug-dirty-log file  track guest writes from boot and write the dirty pages of\n"
           "                       the migration bitmap to file at exit\n",
           DEFAULT_RAM_SIZE_MIB);
}

/* Fetches the argument of an option, or reports it missing. */
static bool option_argument(int argc, char **argv, int *i, const char *name, char **out,
                            GError **errp)
{
    if (*i + 1 >= argc) {
        error_setg(errp, "-%s: requires an argument", name);
        return false;
    }
    *out = argv[++*i];
    return true;
}

/* Handles one key=value of an option; false with *errp set for an unknown
 * key or a bad value. */
typedef bool (*OptionKeyHandler)(StartupOptions *opts, const char *key, const char *value,
                                 GError **errp);

/* Parses "-option arg" as key=value pairs and hands each to `handler`. */
static bool parse_keyed_option(StartupOptions *opts, const char *arg, const char *implied_key,
                               OptionKeyHandler handler, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, implied_key, errp);
    GHashTableIter iter;
    gpointer key, value;

    if (!kv) {
        return false;
    }
    g_hash_table_iter_init(&iter, kv);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (!handler(opts, key, value, errp)) {
            return false;
        }
    }
    return true;
}

static bool machine_option_key(StartupOptions *opts, const char *key, const char *value,
                               GError **errp)
{
    char **field;

    if (!strcmp(key, "type")) {
        field = &opts->machine_type;
    } else if (!strcmp(key, "accel")) {
        field = &opts->machine_accel;
    } else if (!strcmp(key, "memory-backend")) {
        field = &opts->memory_backend;
    } else if (!strcmp(key, "acpi")) {
        bool acpi;
        if (!keyval_parse_bool(key, value, &acpi, errp)) {
            return false;
        }
        opts->no_acpi = !acpi;
        return true;
    } else {
        error_setg(errp, "-machine: unsupported property '%s'", key);
        return false;
    }
    g_free(*field);
    *field = g_strdup(value);
    return true;
}

static bool memory_option_key(StartupOptions *opts, const char *key, const char *value,
                              GError **errp)
{
    if (strcmp(key, "size") != 0) {
        error_setg(errp, "-m: unsupported property '%s'", key);
        return false;
    }
    if (!keyval_parse_size("-m", value, 'M', &opts->ram_size, errp)) {
        return false;
    }
    opts->ram_size_given = true;
    return true;
}

static bool smp_option_key(StartupOptions *opts, const char *key, const char *value,
                           GError **errp)
{
    static const char *const topology_keys[] = {
        "cpus", "maxcpus", "sockets", "cores", "threads",
    };
    uint64_t n;

    for (size_t i = 0; i < G_N_ELEMENTS(topology_keys); i++) {
        if (strcmp(key, topology_keys[i]) != 0) {
            continue;
        }
        if (!keyval_parse_uint64(key, value, &n, errp)) {
            return false;
        }
        if (n == 0 || n > 1024) {
            error_setg(errp, "-smp: %s=%s is out of range", key, value);
            return false;
        }
        if (!strcmp(key, "cpus")) {
            opts->smp = (unsigned)n;
        }
        return true;
    }
    error_setg(errp, "-smp: unsupported property '%s'", key);
    return false;
}

static bool parse_accel_option(StartupOptions *opts, const char *arg, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(arg, "accel", errp);

    if (!kv) {
        return false;
    }
    if (!g_hash_table_lookup(kv, "accel")) {
        error_setg(errp, "-accel: an accelerator name is required");
        return false;
    }
    g_ptr_array_add(opts->accels, g_strdup(arg));
    return true;
}

static const MachineClass none_machine_class = {
    .name = "none",
    .description = "empty machine",
    .max_cpus = 1,
};

/* Like QEMU: the alias on a line of its own, then the versioned name. */
static void print_machine(const MachineClass *mc, void *opaque)
{
    if (mc->alias) {
        printf("%-20s %s (alias of %s)\n", mc->alias, mc->description, mc->name);
    }
    printf("%-20s %s%s\n", mc->name, mc->description, mc->is_default ? " (default)" : "");
}

/* -name [guest=]NAME[,process=P][,debug-threads=on|off]: one key. */
static bool name_option_key(StartupOptions *opts, const char *key, const char *value,
                            GError **errp)
{
    (void)opts;
    if (!strcmp(key, "debug-threads")) {
        bool on;
        return keyval_parse_bool(key, value, &on, errp);
    }
    if (!strcmp(key, "guest")) {
        g_free(vm_name);
        vm_name = g_strdup(value);
        return true;
    }
    if (!strcmp(key, "process")) {
        return true;
    }
    error_setg(errp, "-name: invalid parameter '%s'", key);
    return false;
}

/* -uuid xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits) */
static bool parse_uuid_option(const char *arg, GError **errp)
{
    bool ok = strlen(arg) == 36;

    for (int i = 0; ok && i < 36; i++) {
        ok = (i == 8 || i == 13 || i == 18 || i == 23) ? arg[i] == '-'
                                                        : g_ascii_isxdigit(arg[i]);
    }
    if (!ok) {
        error_setg(errp, "-uuid %s: not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", arg);
        return false;
    }
    for (int i = 0; i < 36; i++) {
        vm_uuid[i] = g_ascii_tolower(arg[i]);
    }
    vm_uuid[36] = '\0';
    return true;
}

/* Parses argv into opts. Returns 0 to go on, 1 on error (reported), or 2
 * when an informational option (-help, -version) was handled. */
static int parse_command_line(int argc, char **argv, StartupOptions *opts, GError **errp)
{
    for (int i = 1; i < argc; i++) {
        const char *raw = argv[i];
        char *arg = NULL;

        if (raw[0] != '-') {
            /* QEMU's positional argument is a disk image: not supported yet. */
            error_setg(errp, "%s: disk images are not supported yet", raw);
            return 1;
        }
        const char *name = raw + 1;
        if (name[0] == '-') {
            name++;
        }

#define ARG() do { if (!option_argument(argc, argv, &i, name, &arg, errp)) return 1; } while (0)
        if (!strcmp(name, "h") || !strcmp(name, "help")) {
            print_help();
            return 2;
        } else if (!strcmp(name, "version")) {
            print_version();
            return 2;
        } else if (!strcmp(name, "machine") || !strcmp(name, "M")) {
            ARG();
            if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
                printf("Supported machines are:\n");
                machine_class_foreach(print_machine, NULL);
                print_machine(&none_machine_class, NULL);
                return 2;
            }
            if (!parse_keyed_option(opts, arg, "type", machine_option_key, errp)) return 1;
        } else if (!strcmp(name, "accel")) {
            ARG();
            if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
                g_autofree char *names = accel_list_names();
                printf("Accelerators supported in Kestrel binary: %s\n", names);
                return 2;
            }
            if (!parse_accel_option(opts, arg, errp)) return 1;
        } else if (!strcmp(name, "enable-kvm")) {
            g_ptr_array_add(opts->accels, g_strdup("kvm"));
        } else if (!strcmp(name, "cpu")) {
            ARG();
            g_free(opts->cpu_model);
            opts->cpu_model = g_strdup(arg);
        } else if (!strcmp(name, "smp")) {
            ARG();
            if (!parse_keyed_option(opts, arg, "cpus", smp_option_key, errp)) return 1;
        } else if (!strcmp(name, "m")) {
            ARG();
            if (!parse_keyed_option(opts, arg, "size", memory_option_key, errp)) return 1;
        } else if (!strcmp(name, "object")) {
            ARG();
            g_ptr_array_add(opts->objects, g_strdup(arg));
        } else if (!strcmp(name, "device")) {
            ARG();
            g_ptr_array_add(opts->devices, g_strdup(arg));
        } else if (!strcmp(name, "chardev")) {
            ARG();
            g_ptr_array_add(opts->chardevs, g_strdup(arg));
        } else if (!strcmp(name, "serial")) {
            ARG();
            g_ptr_array_add(opts->serials, g_strdup(arg));
        } else if (!strcmp(name, "kernel")) {
            ARG();
            opts->kernel = g_strdup(arg);
        } else if (!strcmp(name, "initrd")) {
            ARG();
            opts->initrd = g_strdup(arg);
        } else if (!strcmp(name, "append")) {
            ARG();
            opts->append = g_strdup(arg);
        } else if (!strcmp(name, "nographic")) {
            opts->nographic = true;
        } else if (!strcmp(name, "display")) {
            ARG();
            if (strcmp(arg, "none") != 0) {
                error_setg(errp, "-display %s: only 'none' is supported (Kestrel has no "
                           "graphical display yet)", arg);
                return 1;
            }
        } else if (!strcmp(name, "vga")) {
            ARG();
            if (strcmp(arg, "none") != 0) {
                error_setg(errp, "-vga %s: only 'none' is supported", arg);
                return 1;
            }
        } else if (!strcmp(name, "nodefaults")) {
            opts->nodefaults = true;
        } else if (!strcmp(name, "rtc")) {
            ARG();
            if (!rtc_parse_option(arg, errp)) return 1;
        } else if (!strcmp(name, "no-acpi")) {
            opts->no_acpi = true;
        } else if (!strcmp(name, "S")) {
            opts->start_paused = true;
        } else if (!strcmp(name, "no-reboot")) {
            no_reboot = true;
        } else if (!strcmp(name, "no-shutdown")) {
            no_shutdown = true;
        } else if (!strcmp(name, "d")) {
            ARG();
            if (!strcmp(arg, "help")) {
                log_print_items();
                return 2;
            }
            if (!log_parse_items(arg, errp)) return 1;
        } else if (!strcmp(name, "D")) {
            ARG();
            if (!log_set_file(arg, errp)) return 1;
        } else if (!strcmp(name, "name")) {
            ARG();
            if (!parse_keyed_option(opts, arg, "guest", name_option_key, errp)) return 1;
        } else if (!strcmp(name, "uuid")) {
            ARG();
            if (!parse_uuid_option(arg, errp)) return 1;
        } else if (!strcmp(name, "qmp")) {
            ARG();
            g_ptr_array_add(opts->qmps, g_strdup(arg));
        } else if (!strcmp(name, "mon")) {
            ARG();
            g_ptr_array_add(opts->mons, g_strdup(arg));
        } else if (!strcmp(name, "daemonize")) {
            opts->daemonize = true;
        } else if (!strcmp(name, "pidfile")) {
            ARG();
            g_free(opts->pidfile);
            opts->pidfile = g_strdup(arg);
        } else if (!strcmp(name, "debug-dirty-log")) {
            ARG();
            opts->dirty_log_file = g_strdup(arg);
        } else {
            error_setg(errp, "%s: invalid option", raw);
            return 1;
        }
#undef ARG
    }
    return 0;
}

/* The accelerators to try, in order, as option strings "name[,k=v...]":
 * the -accel list, else -machine accel=a:b, else kvm when /dev/kvm opens,
 * else tcg. */
static GPtrArray *accelerator_order(StartupOptions *opts, bool *implicit)
{
    GPtrArray *order = g_ptr_array_new_with_free_func(g_free);

    *implicit = false;
    if (opts->accels->len) {
        for (guint i = 0; i < opts->accels->len; i++) {
            g_ptr_array_add(order, g_strdup(g_ptr_array_index(opts->accels, i)));
        }
    } else if (opts->machine_accel) {
        g_auto(GStrv) names = g_strsplit(opts->machine_accel, ":", -1);
        for (char **n = names; *n; n++) {
            g_ptr_array_add(order, g_strdup(*n));
        }
    } else {
        *implicit = true;
        g_ptr_array_add(order, g_strdup("kvm"));
        g_ptr_array_add(order, g_strdup("tcg"));
    }
    return order;
}

/* Finds the accelerator an option string names and applies its options. */
static const AccelOps *configure_accelerator(const char *spec, GError **errp)
{
    g_autoptr(GHashTable) kv = keyval_parse(spec, "accel", errp);
    const char *name;
    const AccelOps *ops;
    GHashTableIter iter;
    gpointer key, value;

    if (!kv) {
        return NULL;
    }
    name = g_hash_table_lookup(kv, "accel");
    ops = name ? accel_find(name) : NULL;
    if (!ops) {
        g_autofree char *names = accel_list_names();
        error_setg(errp, "-accel %s: invalid accelerator (available: %s)",
                   name ? name : "", names);
        return NULL;
    }
    g_hash_table_iter_init(&iter, kv);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        if (!strcmp(key, "accel")) {
            continue;
        }
        if (!ops->set_option) {
            error_setg(errp, "-accel %s: the %s accelerator has no option '%s'", spec, name,
                       (char *)key);
            return NULL;
        }
        if (!ops->set_option(key, value, errp)) {
            return NULL;
        }
    }
    return ops;
}

static bool kvm_device_usable(char **why)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *why = g_strdup_printf("/dev/kvm: %s", g_strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

static bool select_accelerator(StartupOptions *opts, MachineState *ms, GError **errp)
{
    bool implicit;
    g_autoptr(GPtrArray) order = accelerator_order(opts, &implicit);
    g_autofree char *kvm_why = NULL;
    GError *last_err = NULL;

    /* Check every entry's name and options before trying any, so a mistake
     * in a fallback entry is reported even when an earlier one works. */
    for (guint i = 0; i < order->len; i++) {
        if (!configure_accelerator(g_ptr_array_index(order, i), errp)) {
            return false;
        }
    }
    for (guint i = 0; i < order->len; i++) {
        /* Again: an accelerator listed twice takes this entry's options. */
        const AccelOps *ops = configure_accelerator(g_ptr_array_index(order, i), errp);
        const char *name;
        GError *err = NULL;

        if (!ops) {
            g_clear_error(&last_err);
            return false;
        }
        name = ops->name;
        if (implicit && !strcmp(name, "kvm") && !kvm_device_usable(&kvm_why)) {
            continue;
        }
        if (ops->init_machine(ms, &err)) {
            accel_set_current(ops);
            if (implicit) {
                fprintf(stderr, "kestrel-system-x86_64: no -accel given: using %s%s%s%s\n",
                        name, kvm_why ? " (kvm unavailable: " : "", kvm_why ? kvm_why : "",
                        kvm_why ? ")" : "");
            } else if (last_err) {
                fprintf(stderr, "kestrel-system-x86_64: %s; falling back to %s\n",
                        last_err->message, name);
            }
            g_clear_error(&last_err);
            return true;
        }
        if (implicit && !strcmp(name, "kvm")) {
            g_free(kvm_why);
            kvm_why = g_strdup(err->message);
            g_error_free(err);
            continue;
        }
        g_clear_error(&last_err);
        last_err = err;
    }
    if (last_err) {
        g_propagate_error(errp, last_err);
    } else {
        error_setg(errp, "no accelerator could be initialised");
    }
    return false;
}

static bool create_objects(StartupOptions *opts, GError **errp)
{
    for (guint i = 0; i < opts->objects->len; i++) {
        const char *arg = g_ptr_array_index(opts->objects, i);
        g_autoptr(GHashTable) kv = keyval_parse(arg, "qom-type", errp);
        const char *type;

        if (!kv) {
            return false;
        }
        type = g_hash_table_lookup(kv, "qom-type");
        if (!type || !g_str_has_prefix(type, "memory-backend-")) {
            error_setg(errp, "-object %s: unsupported object type '%s'", arg,
                       type ? type : "");
            return false;
        }
        if (!host_memory_backend_create(kv, errp)) {
            return false;
        }
    }
    return true;
}

/* The machine's RAM: the -machine memory-backend=, or a private anonymous
 * backend named like QEMU's default ("pc.ram"). */
static bool create_machine_ram(StartupOptions *opts, MachineState *ms, GError **errp)
{
    HostMemoryBackend *backend;
    uint64_t host_bytes = host_physical_memory_bytes();

    if (opts->memory_backend) {
        backend = host_memory_backend_find(opts->memory_backend);
        if (!backend) {
            error_setg(errp, "-machine memory-backend=%s: no such memory backend object",
                       opts->memory_backend);
            return false;
        }
        if (opts->ram_size_given && opts->ram_size != backend->size) {
            error_setg(errp, "-m %" PRIu64 "M does not match memory-backend %s size %" PRIu64
                       "M", opts->ram_size >> 20, backend->id, backend->size >> 20);
            return false;
        }
        if (backend->used) {
            error_setg(errp, "memory backend '%s' is already in use", backend->id);
            return false;
        }
        ms->ram_size = backend->size;
    } else {
        if (ms->ram_size < (1u << 20)) {
            error_setg(errp, "-m: guest RAM must be at least 1 MiB");
            return false;
        }
        if (host_bytes && ms->ram_size > host_bytes) {
            g_autofree char *want = g_format_size_full(ms->ram_size, G_FORMAT_SIZE_IEC_UNITS);
            g_autofree char *have = g_format_size_full(host_bytes, G_FORMAT_SIZE_IEC_UNITS);
            error_setg(errp, "-m: %s of guest RAM is more than this host has (%s)", want, have);
            return false;
        }
        GHashTable *kv = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
        g_hash_table_insert(kv, "qom-type", g_strdup("memory-backend-ram"));
        g_hash_table_insert(kv, "id", g_strdup("pc.ram"));
        g_hash_table_insert(kv, "size", g_strdup_printf("%" PRIu64, ms->ram_size));
        backend = host_memory_backend_create(kv, errp);
        g_hash_table_destroy(kv);
        if (!backend) {
            return false;
        }
    }
    backend->used = true;
    ms->ram_backend = backend;
    ms->memory_backend_id = g_strdup(backend->id);
    return true;
}

static bool create_serial_ports(StartupOptions *opts, MachineState *ms, GError **errp)
{
    GPtrArray *specs = opts->serials;
    unsigned n = 0;

    if (specs->len == 0 && (!opts->nodefaults || opts->nographic)) {
        /* No display exists yet, so the default serial port is the terminal,
         * multiplexed like QEMU's -nographic (C-a x quits, C-a h helps). A
         * daemon has no terminal: its default serial port goes nowhere. */
        g_ptr_array_add(specs, g_strdup(opts->daemonize ? "null" : "mon:stdio"));
    }
    for (guint i = 0; i < specs->len; i++) {
        const char *spec = g_ptr_array_index(specs, i);
        char id[16];
        Chardev *chr;

        if (n >= MAX_SERIAL_PORTS) {
            error_setg(errp, "-serial: at most %d serial ports", MAX_SERIAL_PORTS);
            return false;
        }
        g_snprintf(id, sizeof(id), "serial%u", n);
        chr = chardev_new_from_legacy(id, spec, errp);
        if (!chr) {
            if (errp && *errp) {
                return false;
            }
            continue;   /* "none" */
        }
        serial_backends[n++] = chr;
    }
    serial_backends[n] = NULL;
    return true;
}

/* -debug-dirty-log: start tracking after the boot loader ran, so the file
 * lists exactly the pages the guest (or devices on its behalf) wrote. */
static void debug_dirty_log_start(void)
{
    GError *err = NULL;

    if (!memory_global_dirty_log_start(&err)) {
        error_report_err(err);
        return;
    }
    memory_global_dirty_log_sync();
    ram_addr_t end = ram_list_end();
    if (end) {
        dirty_bitmap_test_and_clear_range(0, end, DIRTY_MEMORY_MIGRATION);
    }
}

typedef struct DirtyLogWriter {
    FILE *out;
} DirtyLogWriter;

static void write_block_dirty_runs(RAMBlock *block, void *opaque)
{
    DirtyLogWriter *w = opaque;
    DirtyBitmapSnapshot *snap =
        dirty_bitmap_snapshot_and_clear(block->offset, block->used_length,
                                        DIRTY_MEMORY_MIGRATION);
    uint64_t run_start = 0;
    bool in_run = false;

    for (uint64_t off = 0; off < block->used_length; off += KESTREL_PAGE_SIZE) {
        bool dirty = dirty_bitmap_snapshot_test(snap, block->offset + off);
        if (dirty && !in_run) {
            run_start = off;
            in_run = true;
        } else if (!dirty && in_run) {
            fprintf(w->out, "%s %" PRIx64 "-%" PRIx64 "\n", block->idstr, run_start, off - 1);
            in_run = false;
        }
    }
    if (in_run) {
        fprintf(w->out, "%s %" PRIx64 "-%" PRIx64 "\n", block->idstr, run_start,
                block->used_length - 1);
    }
    dirty_bitmap_snapshot_free(snap);
}

static void debug_dirty_log_write(FILE *out)
{
    DirtyLogWriter w = { .out = out };

    memory_global_dirty_log_sync();
    ram_block_foreach(write_block_dirty_runs, &w);
    fclose(out);
}

static gboolean on_terminate_signal(gpointer data)
{
    system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

static bool create_devices(StartupOptions *opts, GError **errp)
{
    for (guint i = 0; i < opts->devices->len; i++) {
        const char *arg = g_ptr_array_index(opts->devices, i);
        GError *err = NULL;
        if (!device_create_from_option(arg, &err) && err) {
            g_propagate_prefixed_error(errp, err, "-device %s: ", arg);
            return false;
        }
    }
    return true;
}

/* Returns true when only help output was requested (-device help ...). */
static bool device_help_requested(StartupOptions *opts)
{
    for (guint i = 0; i < opts->devices->len; i++) {
        const char *arg = g_ptr_array_index(opts->devices, i);
        if (!strcmp(arg, "help") || !strcmp(arg, "?") || g_str_has_suffix(arg, ",help")) {
            GError *err = NULL;
            device_create_from_option(arg, &err);
            if (err) {
                error_report_err(err);
            }
            return true;
        }
    }
    return false;
}

/* -machine none: no RAM, CPUs or devices; a process for the monitor (libvirt
 * probes capabilities this way). Without -accel it uses tcg, which needs
 * nothing from the host. */
static bool build_no_machine(StartupOptions *opts, MachineState *ms, GError **errp)
{
    ms->mc = &none_machine_class;
    ms->cpu_model = g_strdup(opts->cpu_model ? opts->cpu_model : "qemu64");
    ms->kernel_cmdline = g_strdup("");
    ms->accel_list = g_strdup(opts->machine_accel);
    current_machine = ms;
    if (opts->accels->len == 0 && !opts->machine_accel) {
        g_ptr_array_add(opts->accels, g_strdup("tcg"));
    }
    if (!create_objects(opts, errp)) {
        return false;
    }
    for (guint i = 0; i < opts->chardevs->len; i++) {
        if (!chardev_new_from_option(g_ptr_array_index(opts->chardevs, i), errp)) {
            return false;
        }
    }
    if (opts->devices->len) {
        error_setg(errp, "-device: the 'none' machine has no buses to plug devices into");
        return false;
    }
    return select_accelerator(opts, ms, errp);
}

static bool build_machine(StartupOptions *opts, MachineState *ms, GError **errp)
{
    if (opts->machine_type && !strcmp(opts->machine_type, "none")) {
        return build_no_machine(opts, ms, errp);
    }
    const MachineClass *mc = opts->machine_type ? machine_class_find(opts->machine_type)
                                                : machine_class_default();
    if (!mc) {
        error_setg(errp, "-machine %s: unsupported machine type ('-machine help' lists them)",
                   opts->machine_type ? opts->machine_type : "(default)");
        return false;
    }
    ms->mc = mc;
    ms->ram_size = opts->ram_size_given ? opts->ram_size
                 : (mc->default_ram_size ? mc->default_ram_size
                                         : (uint64_t)DEFAULT_RAM_SIZE_MIB << 20);
    ms->smp_cpus = opts->smp ? opts->smp : 1;
    if (mc->max_cpus && ms->smp_cpus > mc->max_cpus) {
        error_setg(errp, "-smp %u: the %s machine supports at most %u vCPU%s for now",
                   ms->smp_cpus, mc->alias ? mc->alias : mc->name, mc->max_cpus,
                   mc->max_cpus == 1 ? "" : "s");
        return false;
    }
    ms->cpu_model = g_strdup(opts->cpu_model ? opts->cpu_model : "qemu64");
    ms->kernel_filename = g_strdup(opts->kernel);
    ms->initrd_filename = g_strdup(opts->initrd);
    ms->kernel_cmdline = g_strdup(opts->append ? opts->append : "");
    ms->defaults_enabled = !opts->nodefaults;
    ms->acpi_enabled = !opts->no_acpi;
    ms->graphics_enabled = false;
    ms->accel_list = g_strdup(opts->machine_accel);
    current_machine = ms;

    if (!create_objects(opts, errp) || !create_machine_ram(opts, ms, errp)) {
        return false;
    }
    for (guint i = 0; i < opts->chardevs->len; i++) {
        if (!chardev_new_from_option(g_ptr_array_index(opts->chardevs, i), errp)) {
            return false;
        }
    }
    if (!create_serial_ports(opts, ms, errp)) {
        return false;
    }

    cpus_create(ms->smp_cpus);
    for (unsigned i = 0; i < nr_cpus; i++) {
        if (!x86_cpu_set_model(&cpus[i]->env, ms->cpu_model, errp)) {
            return false;
        }
        x86_cpu_set_topology(&cpus[i]->env, ms->smp_cpus);
    }
    if (!select_accelerator(opts, ms, errp)) {
        return false;
    }
    if (!mc->init(ms, errp)) {
        return false;
    }
    return create_devices(opts, errp);
}

static void free_startup_options(StartupOptions *opts)
{
    g_ptr_array_unref(opts->accels);
    g_ptr_array_unref(opts->devices);
    g_ptr_array_unref(opts->chardevs);
    g_ptr_array_unref(opts->objects);
    g_ptr_array_unref(opts->serials);
    g_free(opts->machine_type);
    g_free(opts->machine_accel);
    g_free(opts->memory_backend);
    g_free(opts->cpu_model);
    g_free(opts->kernel);
    g_free(opts->initrd);
    g_free(opts->append);
    g_free(opts->dirty_log_file);
    g_ptr_array_unref(opts->qmps);
    g_ptr_array_unref(opts->mons);
    g_free(opts->pidfile);
}

static bool create_monitors(StartupOptions *opts, GError **errp)
{
    for (guint i = 0; i < opts->qmps->len; i++) {
        if (!monitor_new_from_qmp_option(g_ptr_array_index(opts->qmps, i), errp)) {
            return false;
        }
    }
    for (guint i = 0; i < opts->mons->len; i++) {
        if (!monitor_new_from_mon_option(g_ptr_array_index(opts->mons, i), errp)) {
            return false;
        }
    }
    return true;
}

/* -daemonize: the parent waits on this pipe for one byte that says the
 * daemon is up (monitors listening, pidfile written); end-of-file means the
 * daemon failed and already said why on stderr. */
static int daemon_ready_fd = -1;

/* Returns -1 in the daemon (go on), else the parent's exit status. */
static int daemonize_start(void)
{
    int pipefd[2];
    pid_t pid;

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        error_report("-daemonize: pipe: %s", g_strerror(errno));
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        error_report("-daemonize: fork: %s", g_strerror(errno));
        return 1;
    }
    if (pid > 0) {
        char status = 1;
        ssize_t n;

        close(pipefd[1]);
        do {
            n = read(pipefd[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        close(pipefd[0]);
        return (n == 1 && status == 0) ? 0 : 1;
    }
    close(pipefd[0]);
    setsid();
    daemon_ready_fd = pipefd[1];
    return -1;
}

static void daemonize_finish(void)
{
    char ok = 0;
    int null_fd;

    if (daemon_ready_fd < 0) {
        return;
    }
    if (chdir("/") < 0) {
        /* Harmless: every file is open already. */
    }
    null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        if (null_fd > STDERR_FILENO) {
            close(null_fd);
        }
    }
    if (write(daemon_ready_fd, &ok, 1) != 1) {
        /* The parent is gone; nobody to tell. */
    }
    close(daemon_ready_fd);
    daemon_ready_fd = -1;
}

static char *pidfile_path;

/* Creates and locks the pidfile (a second instance on the same file fails,
 * like QEMU) and writes our pid. The fd stays open to hold the lock. */
static bool write_pidfile(const char *path, GError **errp)
{
    g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        error_setg(errp, "-pidfile %s: %s", path, g_strerror(errno));
        return false;
    }
    if (lockf(fd, F_TLOCK, 0) < 0) {
        error_setg(errp, "-pidfile %s: cannot lock it (another instance running?): %s", path,
                   g_strerror(errno));
        close(fd);
        return false;
    }
    if (ftruncate(fd, 0) < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        error_setg(errp, "-pidfile %s: cannot write: %s", path, g_strerror(errno));
        close(fd);
        return false;
    }
    /* An absolute path, so the daemon can remove it after chdir("/"). */
    pidfile_path = g_canonicalize_filename(path, NULL);
    return true;
}

int kestrel_main(int argc, char **argv)
{
    StartupOptions opts = {
        .accels = g_ptr_array_new_with_free_func(g_free),
        .devices = g_ptr_array_new_with_free_func(g_free),
        .chardevs = g_ptr_array_new_with_free_func(g_free),
        .objects = g_ptr_array_new_with_free_func(g_free),
        .serials = g_ptr_array_new_with_free_func(g_free),
        .qmps = g_ptr_array_new_with_free_func(g_free),
        .mons = g_ptr_array_new_with_free_func(g_free),
    };
    MachineState *ms = g_new0(MachineState, 1);
    GError *err = NULL;
    int status;

    switch (parse_command_line(argc, argv, &opts, &err)) {
    case 1:
        error_report_err(err);
        free_startup_options(&opts);
        g_free(ms);
        return 1;
    case 2:
        /* -version, -help: freed so that leak checkers stay quiet. */
        free_startup_options(&opts);
        g_free(ms);
        return 0;
    }
    if (opts.cpu_model && (!strcmp(opts.cpu_model, "help") || !strcmp(opts.cpu_model, "?"))) {
        x86_cpu_list_models();
        return 0;
    }
    if (device_help_requested(&opts)) {
        return 0;
    }
    if (opts.daemonize) {
        if (opts.nographic) {
            error_report("-nographic cannot be used with -daemonize");
            return 1;
        }
        for (guint i = 0; i < opts.serials->len; i++) {
            const char *spec = g_ptr_array_index(opts.serials, i);
            if (!strcmp(spec, "stdio") || !strcmp(spec, "mon:stdio")) {
                error_report("-serial %s cannot be used with -daemonize (the daemon has no "
                             "terminal)", spec);
                return 1;
            }
        }
        int parent_status = daemonize_start();
        if (parent_status >= 0) {
            /* The parent is done (freed so that leak checkers stay quiet
             * and its exit status is its own). */
            free_startup_options(&opts);
            g_free(ms);
            return parent_status;
        }
    }
    if (opts.pidfile && !write_pidfile(opts.pidfile, &err)) {
        error_report_err(err);
        return 1;
    }
    /* Opened now so that a bad path is a start-up error, not a surprise at exit. */
    FILE *dirty_log = NULL;
    if (opts.dirty_log_file) {
        dirty_log = fopen(opts.dirty_log_file, "w");
        if (!dirty_log) {
            error_report("-debug-dirty-log %s: %s", opts.dirty_log_file, g_strerror(errno));
            return 1;
        }
    }

    bql_lock();
    main_loop_init();
    memory_system_init();
    if (!build_machine(&opts, ms, &err) || !create_monitors(&opts, &err) ||
        !cpus_start_threads(&err)) {
        error_report_err(err);
        monitor_cleanup();
        chardev_close_all();
        if (pidfile_path) {
            unlink(pidfile_path);
        }
        return 1;
    }
    system_reset();
    cpu_synchronize_all_post_init();
    /* Only now: until the main loop runs, a signal must end the process the
     * default way, or a start-up step that blocks (a chardev waiting for its
     * client, preallocating RAM) could not be interrupted. */
    g_unix_signal_add(SIGINT, on_terminate_signal, NULL);
    g_unix_signal_add(SIGTERM, on_terminate_signal, NULL);
    g_unix_signal_add(SIGHUP, on_terminate_signal, NULL);

    if (log_enabled(LOG_MTREE)) {
        GString *tree = g_string_new(NULL);
        memory_tree_dump(tree, true);
        log_printf("%s", tree->str);
        g_string_free(tree, TRUE);
    }
    if (dirty_log) {
        debug_dirty_log_start();
    }
    if (!opts.start_paused) {
        vm_start();
    }
    daemonize_finish();

    status = main_loop_run();

    vm_stop(RUN_STATE_SHUTDOWN);
    if (dirty_log) {
        debug_dirty_log_write(dirty_log);
    }
    cpus_join_threads();
    monitor_cleanup();
    chardev_close_all();
    if (pidfile_path) {
        unlink(pidfile_path);
    }
    bql_unlock();
    free_startup_options(&opts);
    fflush(stdout);
    /* Device and RAM teardown is left to process exit: nothing persists. */
    return status;
}
