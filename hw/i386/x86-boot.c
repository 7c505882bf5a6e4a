/*
 * Direct kernel boot: reading -kernel, choosing the loader, and applying the
 * resulting boot plan (at machine init and again at every reset).
 */
#include "hw/i386/x86-boot.h"
#include "hw/i386/linux-boot.h"
#include "hw/i386/multiboot.h"
#include "hw/i386/pc.h"
#include "hw/nvram/fw_cfg.h"
#include "kestrel/log.h"

#include <sys/stat.h>

unsigned x86_memory_layout_e820(const X86MemoryLayout *layout, E820Entry *out, unsigned max)
{
    unsigned n = 0;
    uint64_t below = layout->below_4g_mem_size;

#define E820_ADD(a, l, t) do { \
        if (n < max) { out[n].addr = (a); out[n].len = (l); out[n].type = (t); } \
        n++; \
    } while (0)

    if (below > 0) {
        E820_ADD(0, MIN(below, PC_LOW_RAM_END), E820_RAM);
    }
    /* VGA window, option ROMs and BIOS: never RAM to the OS, whatever
     * happens to be mapped there today. */
    E820_ADD(PC_LOW_RAM_END, PC_HIGH_RAM_BASE - PC_LOW_RAM_END, E820_RESERVED);
    if (below > PC_HIGH_RAM_BASE) {
        E820_ADD(PC_HIGH_RAM_BASE, below - PC_HIGH_RAM_BASE, E820_RAM);
    }
    if (layout->above_4g_mem_size > 0) {
        E820_ADD(PC_ABOVE_4G_BASE, layout->above_4g_mem_size, E820_RAM);
    }
#undef E820_ADD
    return MIN(n, max);
}

/* ---- boot plans ---- */

static void x86_boot_blob_free(gpointer p)
{
    X86BootBlob *blob = p;

    g_bytes_unref(blob->data);
    g_free(blob->name);
    g_free(blob);
}

X86BootPlan *x86_boot_plan_new(const char *loader)
{
    X86BootPlan *plan = g_new0(X86BootPlan, 1);

    plan->loader = loader;
    plan->blobs = g_ptr_array_new_with_free_func(x86_boot_blob_free);
    plan->cmdline = g_strdup("");
    return plan;
}

void x86_boot_plan_add_blob(X86BootPlan *plan, const char *name, hwaddr addr,
                            GBytes *data, uint64_t zero_len)
{
    X86BootBlob *blob = g_new0(X86BootBlob, 1);

    blob->addr = addr;
    blob->data = data ? g_bytes_ref(data) : g_bytes_new(NULL, 0);
    blob->zero_len = zero_len;
    blob->name = g_strdup(name);
    g_ptr_array_add(plan->blobs, blob);
}

void x86_boot_plan_free(X86BootPlan *plan)
{
    if (plan == NULL) {
        return;
    }
    g_ptr_array_unref(plan->blobs);
    if (plan->kernel_file) {
        g_bytes_unref(plan->kernel_file);
    }
    if (plan->initrd_file) {
        g_bytes_unref(plan->initrd_file);
    }
    if (plan->setup_file) {
        g_bytes_unref(plan->setup_file);
    }
    g_free(plan->cmdline);
    g_free(plan);
}

static bool x86_boot_write_zeros(hwaddr addr, uint64_t len)
{
    static const uint8_t zeros[4096];

    while (len > 0) {
        uint64_t chunk = MIN(len, (uint64_t)sizeof(zeros));
        if (address_space_write_rom(&address_space_memory, addr, zeros, chunk) != MEMTX_OK) {
            return false;
        }
        addr += chunk;
        len -= chunk;
    }
    return true;
}

bool x86_boot_plan_apply(const X86BootPlan *plan, CPUX86State *env)
{
    bool ok = true;

    for (unsigned i = 0; i < plan->blobs->len; i++) {
        const X86BootBlob *blob = g_ptr_array_index(plan->blobs, i);
        size_t len;
        const uint8_t *data = g_bytes_get_data(blob->data, &len);

        if ((len > 0 && address_space_write_rom(&address_space_memory, blob->addr,
                                                data, len) != MEMTX_OK) ||
            !x86_boot_write_zeros(blob->addr + len, blob->zero_len)) {
            error_report("boot: cannot write %s at 0x%" HWADDR_PRIx " (not RAM)",
                         blob->name, blob->addr);
            ok = false;
        }
    }
    if (env) {
        x86_cpu_set_flat_protected_mode(env, plan->entry);
        /* Linux wants EBP/EDI/EBX zero; multiboot leaves the rest undefined,
         * so a clean slate suits both. */
        memset(env->regs, 0, sizeof(env->regs));
        env->regs[R_EAX] = plan->eax;
        env->regs[R_EBX] = plan->ebx;
        env->regs[R_ESI] = plan->esi;
        if (plan->gdt_limit != 0) {
            env->gdt.base = plan->gdt_base;
            env->gdt.limit = plan->gdt_limit;
        }
    }
    return ok;
}

void x86_boot_plan_fill_fw_cfg(const X86BootPlan *plan, FWCfgState *fw_cfg)
{
    size_t cmdline_len = strlen(plan->cmdline) + 1;

    if (plan->kernel_file) {
        fw_cfg_add_i32(fw_cfg, FW_CFG_KERNEL_ADDR, plan->kernel_load_addr);
        fw_cfg_add_i32(fw_cfg, FW_CFG_KERNEL_SIZE, (uint32_t)g_bytes_get_size(plan->kernel_file));
        fw_cfg_add_gbytes(fw_cfg, FW_CFG_KERNEL_DATA, plan->kernel_file);
    }
    if (plan->setup_file) {
        /* Linux: the real-mode part is its own item and the entry is implied
         * by the protocol, so no KERNEL_ENTRY (as QEMU does). */
        fw_cfg_add_i32(fw_cfg, FW_CFG_SETUP_ADDR, plan->setup_addr);
        fw_cfg_add_i32(fw_cfg, FW_CFG_SETUP_SIZE, (uint32_t)g_bytes_get_size(plan->setup_file));
        fw_cfg_add_gbytes(fw_cfg, FW_CFG_SETUP_DATA, plan->setup_file);
    } else {
        fw_cfg_add_i32(fw_cfg, FW_CFG_KERNEL_ENTRY, plan->entry);
    }
    fw_cfg_add_i32(fw_cfg, FW_CFG_KERNEL_CMDLINE, plan->cmdline_addr);
    fw_cfg_add_i32(fw_cfg, FW_CFG_CMDLINE_ADDR, plan->cmdline_addr);
    fw_cfg_add_i32(fw_cfg, FW_CFG_CMDLINE_SIZE, (uint32_t)cmdline_len);
    fw_cfg_add_bytes(fw_cfg, FW_CFG_CMDLINE_DATA, plan->cmdline, cmdline_len);
    if (plan->initrd_file) {
        fw_cfg_add_i32(fw_cfg, FW_CFG_INITRD_ADDR, plan->initrd_addr);
        fw_cfg_add_i32(fw_cfg, FW_CFG_INITRD_SIZE, (uint32_t)g_bytes_get_size(plan->initrd_file));
        fw_cfg_add_gbytes(fw_cfg, FW_CFG_INITRD_DATA, plan->initrd_file);
    }
}

/* ---- reading files and choosing a loader ---- */

GBytes *x86_boot_read_file(const char *what, const char *filename, uint64_t max_size,
                           GError **errp)
{
    struct stat st;
    char *contents = NULL;
    gsize len = 0;
    GError *local_err = NULL;

    if (stat(filename, &st) < 0) {
        error_setg(errp, "could not load %s '%s': %s", what, filename, g_strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        error_setg(errp, "could not load %s '%s': not a regular file", what, filename);
        return NULL;
    }
    if ((uint64_t)st.st_size > max_size) {
        error_setg(errp, "could not load %s '%s': %" PRIu64 " bytes do not fit in guest RAM",
                   what, filename, (uint64_t)st.st_size);
        return NULL;
    }
    if (!g_file_get_contents(filename, &contents, &len, &local_err)) {
        error_setg(errp, "could not load %s '%s': %s", what, filename, local_err->message);
        g_error_free(local_err);
        return NULL;
    }
    if ((uint64_t)len > max_size) {   /* it grew since stat() */
        g_free(contents);
        error_setg(errp, "could not load %s '%s': too large", what, filename);
        return NULL;
    }
    return g_bytes_new_take(contents, len);
}

typedef struct X86KernelLoader {
    const char *name;
    bool (*probe)(const uint8_t *image, size_t len, char **why_not);
    X86BootPlan *(*load)(const X86KernelLoadOptions *opts, GBytes *image, GError **errp);
} X86KernelLoader;

/* Every -kernel format, tried in order; the first whose probe accepts the
 * image loads it. Linux comes first: an image with a Linux setup header is
 * booted as Linux even if it also carries a multiboot header (QEMU decides
 * the same way). */
static const X86KernelLoader x86_kernel_loaders[] = {
    { "linux", linux_boot_probe, linux_boot_load },
    { "multiboot", multiboot_probe, multiboot_load },
};

X86BootPlan *x86_load_kernel(const X86KernelLoadOptions *opts, GError **errp)
{
    uint64_t ram = opts->layout.below_4g_mem_size + opts->layout.above_4g_mem_size;
    g_autoptr(GBytes) image = NULL;
    g_autoptr(GString) reasons = g_string_new(NULL);
    const uint8_t *data;
    size_t len;

    image = x86_boot_read_file("kernel", opts->kernel_filename, MIN(ram, (uint64_t)UINT32_MAX),
                               errp);
    if (image == NULL) {
        return NULL;
    }
    data = g_bytes_get_data(image, &len);
    for (size_t i = 0; i < G_N_ELEMENTS(x86_kernel_loaders); i++) {
        const X86KernelLoader *loader = &x86_kernel_loaders[i];
        g_autofree char *why_not = NULL;

        if (loader->probe(data, len, &why_not)) {
            return loader->load(opts, image, errp);
        }
        g_string_append_printf(reasons, "%s%s", reasons->len ? "; " : "",
                               why_not ? why_not : "unknown format");
    }
    error_setg(errp, "could not load kernel '%s': not a Linux bzImage or multiboot kernel (%s)",
               opts->kernel_filename, reasons->str);
    return NULL;
}
