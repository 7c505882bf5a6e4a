/* Machines: the board a VM is (memory map, default devices, loaders). */
#ifndef HW_BOARDS_H
#define HW_BOARDS_H

#include "exec/memory.h"
#include "sysemu/hostmem.h"

typedef struct MachineState MachineState;
typedef struct FWCfgState FWCfgState;

typedef struct MachineClass {
    const char *name;
    const char *description;
    const char *alias;              /* e.g. "pc" for the versioned name */
    bool is_default;
    unsigned max_cpus;
    uint64_t default_ram_size;
    /* Builds the machine: RAM, devices, firmware, loads -kernel. */
    bool (*init)(MachineState *ms, GError **errp);
    /* Resets devices and CPUs and re-runs the boot loader. Big lock held. */
    void (*reset)(MachineState *ms);
} MachineClass;

struct MachineState {
    const MachineClass *mc;
    uint64_t ram_size;
    unsigned smp_cpus;
    char *cpu_model;                /* -cpu, NULL = machine default */
    char *kernel_filename;
    char *initrd_filename;
    char *kernel_cmdline;
    char *memory_backend_id;        /* -machine memory-backend=ID */
    HostMemoryBackend *ram_backend; /* the machine's RAM (created if none given) */
    bool defaults_enabled;          /* false with -nodefaults */
    bool graphics_enabled;          /* false with -nographic / -display none */
    bool acpi_enabled;              /* false with -no-acpi / -machine acpi=off */
    char *accel_list;               /* -machine accel=kvm:tcg */
    FWCfgState *fw_cfg;
    void *board;                    /* the machine's own state */
};

extern MachineState *current_machine;

void machine_class_register(const MachineClass *mc);
const MachineClass *machine_class_find(const char *name);
const MachineClass *machine_class_default(void);
void machine_class_foreach(void (*fn)(const MachineClass *mc, void *opaque), void *opaque);

/* Serial backends from -serial/-nographic, in order (NULL-terminated); a
 * machine gives backend i to its i-th UART. */
#define MAX_SERIAL_PORTS 4
extern struct Chardev *serial_backends[MAX_SERIAL_PORTS + 1];

#endif
