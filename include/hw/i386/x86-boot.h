/*
 * Direct kernel boot (-kernel/-initrd/-append): every loader turns the files
 * into a boot plan (byte blobs to put in guest RAM plus the CPU entry state),
 * built once at machine init and applied again at every reset, so a guest
 * reboot starts the payload afresh without re-reading the files.
 */
#ifndef HW_I386_X86_BOOT_H
#define HW_I386_X86_BOOT_H

#include "kestrel/osdep.h"
#include "exec/memory.h"
#include "hw/i386/e820.h"
#include "target/i386/cpu.h"

typedef struct FWCfgState FWCfgState;

/* Where RAM is: [0, below_4g) minus the legacy hole, [4 GiB, +above_4g). */
typedef struct X86MemoryLayout {
    uint64_t below_4g_mem_size;
    uint64_t above_4g_mem_size;
} X86MemoryLayout;

/* The map reported to the OS: usable RAM below 640 KiB, reserved 640 KiB -
 * 1 MiB (VGA, option ROMs, the 0xe0000-0xfffff ACPI/BIOS area), usable 1 MiB
 * to the end of low RAM, usable RAM above 4 GiB. Returns
 * the number of entries written (at most max). */
unsigned x86_memory_layout_e820(const X86MemoryLayout *layout, E820Entry *out, unsigned max);

typedef struct X86BootBlob {
    hwaddr addr;
    GBytes *data;           /* copied to addr */
    uint64_t zero_len;      /* then this many zero bytes (bss) */
    char *name;             /* for error messages */
} X86BootBlob;

typedef struct X86BootPlan {
    const char *loader;     /* "multiboot" or "linux" */
    GPtrArray *blobs;       /* X86BootBlob*, written in order */
    uint32_t entry;         /* flat 32-bit protected mode entry point */
    uint32_t eax, ebx, esi; /* register values at entry; all other GPRs are 0 */
    /* GDTR at entry (the table itself is one of the blobs); limit 0 leaves
     * the CPU's GDTR as reset made it. */
    uint32_t gdt_base;
    uint16_t gdt_limit;

    /* What fw_cfg's kernel keys describe. */
    GBytes *kernel_file;    /* multiboot: the file; Linux: the protected-mode part */
    uint32_t kernel_load_addr;
    GBytes *setup_file;     /* Linux: the real-mode part as loaded (patched header) */
    uint32_t setup_addr;
    char *cmdline;          /* -append text (may be empty), NUL-terminated */
    uint32_t cmdline_addr;  /* guest address of the command line given to the kernel */
    GBytes *initrd_file;    /* first module / initrd, or NULL */
    uint32_t initrd_addr;
} X86BootPlan;

typedef struct X86KernelLoadOptions {
    const char *kernel_filename;
    const char *kernel_cmdline;   /* -append, may be NULL */
    const char *initrd_filename;  /* -initrd, may be NULL */
    X86MemoryLayout layout;
    /* Physical address of the ACPI RSDP handed to Linux in the zero page
     * (boot_params.acpi_rsdp_addr); 0 = none, the kernel then scans
     * 0xe0000-0xfffff itself. */
    uint64_t acpi_rsdp_addr;
} X86KernelLoadOptions;

/* Reads -kernel and tries each known format in turn (a Linux setup header
 * first, then multiboot). The error names the file and why no loader took it. */
X86BootPlan *x86_load_kernel(const X86KernelLoadOptions *opts, GError **errp);

/* Reads a whole file for a loader, refusing files larger than max_size. */
GBytes *x86_boot_read_file(const char *what, const char *filename, uint64_t max_size,
                           GError **errp);

/* Writes the blobs into guest memory (address_space_memory, ROM-capable and
 * dirty-tracked) and sets env to the entry state. False (logged) if some
 * blob could not be written. */
bool x86_boot_plan_apply(const X86BootPlan *plan, CPUX86State *env);
/* Fills the fw_cfg kernel/initrd/cmdline keys from the plan. */
void x86_boot_plan_fill_fw_cfg(const X86BootPlan *plan, FWCfgState *fw_cfg);

X86BootPlan *x86_boot_plan_new(const char *loader);
void x86_boot_plan_add_blob(X86BootPlan *plan, const char *name, hwaddr addr,
                            GBytes *data, uint64_t zero_len);
void x86_boot_plan_free(X86BootPlan *plan);

#endif
