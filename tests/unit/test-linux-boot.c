/*
 * The Linux bzImage loader: Debian's real kernel (linux-image-amd64) parsed
 * and planned, the zero page, GDT, command line, initrd and kernel as the
 * guest sees them in RAM, the entry state, fw_cfg's items, and synthesized
 * headers for every refusal.
 */
#include "hw/i386/linux-boot.h"
#include "hw/i386/multiboot.h"
#include "hw/i386/pc.h"
#include "hw/nvram/fw_cfg.h"
#include "exec/memory.h"

#include <glib/gstdio.h>

#define RAM_SIZE (128u << 20)

static MemoryRegion ram;
static PCMachineState pcms;
static char *tmpdir;

/* ---- helpers ---- */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void put8(GByteArray *a, size_t off, uint8_t v)
{
    g_assert_cmpuint(off, <, a->len);
    a->data[off] = v;
}

static void put16(GByteArray *a, size_t off, uint16_t v)
{
    put8(a, off, v);
    put8(a, off + 1, v >> 8);
}

static void put32(GByteArray *a, size_t off, uint32_t v)
{
    put16(a, off, v);
    put16(a, off + 2, v >> 16);
}

static void put64(GByteArray *a, size_t off, uint64_t v)
{
    put32(a, off, (uint32_t)v);
    put32(a, off + 4, (uint32_t)(v >> 32));
}

static char *write_file(const char *name, const void *data, size_t len)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    g_autoptr(GError) err = NULL;

    g_assert_true(g_file_set_contents(path, data, (gssize)len, &err));
    return path;
}

static char *write_image(const char *name, GByteArray *a)
{
    char *path = write_file(name, a->data, a->len);
    g_byte_array_unref(a);
    return path;
}

static X86BootPlan *load_rsdp(const char *kernel, const char *append, const char *initrd,
                              uint64_t rsdp, GError **errp)
{
    X86KernelLoadOptions opts = {
        .kernel_filename = kernel,
        .kernel_cmdline = append,
        .initrd_filename = initrd,
        .layout = pcms.layout,
        .acpi_rsdp_addr = rsdp,
    };
    return x86_load_kernel(&opts, errp);
}

static X86BootPlan *load(const char *kernel, const char *append, const char *initrd,
                         GError **errp)
{
    return load_rsdp(kernel, append, initrd, 0, errp);
}

static void guest_read(uint64_t addr, void *buf, size_t len)
{
    g_assert_cmpint(address_space_read(&address_space_memory, addr, buf, len), ==, MEMTX_OK);
}

static uint32_t guest32(uint64_t addr)
{
    uint8_t b[4];
    guest_read(addr, b, 4);
    return get32(b);
}

static uint64_t guest64(uint64_t addr)
{
    return guest32(addr) | (uint64_t)guest32(addr + 4) << 32;
}

static uint8_t guest8(uint64_t addr)
{
    uint8_t b;
    guest_read(addr, &b, 1);
    return b;
}

static char *guest_string(uint64_t addr)
{
    GString *s = g_string_new(NULL);
    for (;;) {
        uint8_t c = guest8(addr++);
        if (c == 0) {
            return g_string_free(s, FALSE);
        }
        g_string_append_c(s, (char)c);
        g_assert_cmpuint(s->len, <, 0x10000);
    }
}

static void fill_guest(uint64_t addr, uint8_t value, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);
    memset(buf, value, len);
    g_assert_cmpint(address_space_write(&address_space_memory, addr, buf, len), ==, MEMTX_OK);
}

static uint32_t fw_cfg_u32(FWCfgState *fw_cfg, uint16_t key)
{
    GBytes *item = fw_cfg_get_item(fw_cfg, key);

    g_assert_nonnull(item);
    g_assert_cmpuint(g_bytes_get_size(item), ==, 4);
    return get32(g_bytes_get_data(item, NULL));
}

/* A synthetic bzImage: boot sector + setup_sects sectors of setup, then
 * prot_len bytes of "kernel" (byte i is i * 7 + 1). */
typedef struct FakeKernel {
    uint8_t setup_sects;
    uint16_t protocol;
    uint8_t loadflags;
    uint8_t jump_len;          /* header ends at 0x202 + jump_len */
    uint32_t prot_len;
    uint32_t syssize;          /* 0: prot_len / 16 rounded up */
    uint32_t initrd_addr_max;
    uint32_t cmdline_size;
    uint32_t init_size;
    uint64_t pref_address;
} FakeKernel;

static const FakeKernel fake_default = {
    .setup_sects = 2, .protocol = 0x020f, .loadflags = LINUX_LOADED_HIGH, .jump_len = 0x6a,
    .prot_len = 0x3000, .initrd_addr_max = 0x7fffffff, .cmdline_size = 2047,
    .init_size = 0x400000, .pref_address = 0x1000000,
};

static uint8_t fake_kernel_byte(uint32_t i)
{
    return (uint8_t)(i * 7 + 1);
}

static GByteArray *build_fake(const FakeKernel *k)
{
    GByteArray *a = g_byte_array_new();
    unsigned sects = k->setup_sects ? k->setup_sects : 4;
    size_t setup_len = (size_t)(sects + 1) * 512;

    g_byte_array_set_size(a, setup_len + k->prot_len);
    for (size_t i = 0; i < setup_len; i++) {
        a->data[i] = (uint8_t)(i ^ 0x5a);   /* boot sector and setup "code" */
    }
    memset(a->data + LINUX_SETUP_SECTS, 0, 0x290 - LINUX_SETUP_SECTS);
    put8(a, LINUX_SETUP_SECTS, k->setup_sects);
    put32(a, LINUX_SYSSIZE, k->syssize ? k->syssize : (k->prot_len + 15) / 16);
    put16(a, LINUX_VID_MODE, 0xffff);
    put16(a, LINUX_BOOT_FLAG, LINUX_BOOT_FLAG_MAGIC);
    put8(a, LINUX_JUMP, 0xeb);
    put8(a, LINUX_JUMP + 1, k->jump_len);
    put32(a, LINUX_HEADER, LINUX_HDR_MAGIC);
    put16(a, LINUX_VERSION, k->protocol);
    put8(a, LINUX_LOADFLAGS, k->loadflags);
    put32(a, LINUX_CODE32_START, 0x100000);
    put32(a, LINUX_INITRD_ADDR_MAX, k->initrd_addr_max);
    put32(a, LINUX_KERNEL_ALIGNMENT, 0x200000);
    put8(a, LINUX_RELOCATABLE_KERNEL, 1);
    put32(a, LINUX_CMDLINE_SIZE, k->cmdline_size);
    put64(a, LINUX_PREF_ADDRESS, k->pref_address);
    put32(a, LINUX_INIT_SIZE, k->init_size);
    for (uint32_t i = 0; i < k->prot_len; i++) {
        a->data[setup_len + i] = fake_kernel_byte(i);
    }
    return a;
}

/* ---- Debian's kernel ---- */

static char *find_debian_kernel(void)
{
    g_autoptr(GDir) dir = g_dir_open("/boot", 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        if (g_str_has_prefix(name, "vmlinuz-")) {
            g_ptr_array_add(names, g_strdup(name));
        }
    }
    if (names->len == 0) {
        return NULL;
    }
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    return g_build_filename("/boot", (const char *)g_ptr_array_index(names, names->len - 1),
                            NULL);
}

/* Bytes of the setup header the loader must change; all others are copied
 * from the image unchanged. */
static bool loader_owned(size_t off)
{
    static const struct { size_t off, len; } owned[] = {
        { LINUX_TYPE_OF_LOADER, 1 }, { LINUX_LOADFLAGS, 1 }, { LINUX_CODE32_START, 4 },
        { LINUX_RAMDISK_IMAGE, 4 }, { LINUX_RAMDISK_SIZE, 4 }, { LINUX_HEAP_END_PTR, 2 },
        { LINUX_CMD_LINE_PTR, 4 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(owned); i++) {
        if (off >= owned[i].off && off < owned[i].off + owned[i].len) {
            return true;
        }
    }
    return false;
}

static void test_debian_kernel(void)
{
    g_autofree char *kernel = find_debian_kernel();
    g_autofree char *initrd = NULL, *cmdline = NULL;
    g_autofree uint8_t *image = NULL, *initrd_data = NULL, *buf = NULL;
    g_autoptr(GError) err = NULL;
    gsize image_len;
    const size_t initrd_len = 300001;
    size_t setup_len, hdr_end, prot_len;
    uint32_t initrd_addr, runtime_end, bp = LINUX_BOOT_PARAMS_ADDR;
    E820Entry map[PC_MAX_E820_ENTRIES];
    unsigned nr_map;
    X86BootPlan *plan;
    CPUX86State env = { 0 };

    if (kernel == NULL) {
        g_test_message("no /boot/vmlinuz-* found: install Debian's linux-image-amd64 "
                       "(scripts/test does)");
        g_test_fail();
        return;
    }
    g_test_message("kernel: %s", kernel);
    g_assert_true(g_file_get_contents(kernel, (char **)&image, &image_len, &err));
    g_assert_no_error(err);
    g_assert_cmphex(get32(image + LINUX_HEADER), ==, LINUX_HDR_MAGIC);
    g_assert_cmphex(get16(image + LINUX_VERSION), >=, 0x020a);
    setup_len = ((size_t)(image[LINUX_SETUP_SECTS] ? image[LINUX_SETUP_SECTS] : 4) + 1) * 512;
    hdr_end = MIN(0x202u + image[LINUX_JUMP + 1], 0x290u);
    prot_len = image_len - setup_len;
    /* Where a relocatable kernel loaded at 1 MiB runs: pref_address
     * (16 MiB on Debian), then init_size bytes. */
    runtime_end = (uint32_t)get32(image + LINUX_PREF_ADDRESS) + get32(image + LINUX_INIT_SIZE);
    g_assert_cmpuint(runtime_end, <, RAM_SIZE);

    initrd_data = g_malloc(initrd_len);
    for (size_t i = 0; i < initrd_len; i++) {
        initrd_data[i] = (uint8_t)(i * 31 + (i >> 9));
    }
    initrd = write_file("initrd.img", initrd_data, initrd_len);

    plan = load_rsdp(kernel, "console=ttyS0 root=/dev/ram0 rdinit=/init", initrd, 0xf0010, &err);
    g_assert_no_error(err);
    g_assert_nonnull(plan);
    g_assert_cmpstr(plan->loader, ==, "linux");

    /* Junk everywhere the loader writes, so every field is really written. */
    fill_guest(0, 0xcc, 0xa0000);
    fill_guest(0x100000, 0xcc, 0x100000);
    fill_guest(RAM_SIZE - 0x100000, 0xcc, 0x100000);
    x86_cpu_reset(&env);
    env.regs[R_EBP] = env.regs[R_EDI] = env.regs[R_EBX] = 0x12345678;
    env.eflags |= IF_MASK;
    g_assert_true(x86_boot_plan_apply(plan, &env));

    /* Entry: 32-bit flat protected mode at 1 MiB, ESI = zero page. */
    g_assert_cmphex(env.rip, ==, 0x100000);
    g_assert_cmphex(env.regs[R_ESI], ==, bp);
    g_assert_cmphex(env.regs[R_EBP], ==, 0);
    g_assert_cmphex(env.regs[R_EDI], ==, 0);
    g_assert_cmphex(env.regs[R_EBX], ==, 0);
    g_assert_cmphex(env.eflags & IF_MASK, ==, 0);
    g_assert_cmphex(env.cr[0] & (CR0_PE | CR0_PG), ==, CR0_PE);
    g_assert_cmphex(env.segs[R_CS].selector, ==, 0x10);
    g_assert_cmphex(env.segs[R_DS].selector, ==, 0x18);
    g_assert_cmphex(env.segs[R_ES].selector, ==, 0x18);
    g_assert_cmphex(env.segs[R_SS].selector, ==, 0x18);
    g_assert_cmphex(env.segs[R_CS].flags & DESC_B_MASK, ==, DESC_B_MASK);

    /* The GDT it points at: flat 4 GiB code (0x10) and data (0x18). */
    g_assert_cmphex(env.gdt.base, ==, LINUX_BOOT_GDT_ADDR);
    g_assert_cmphex(env.gdt.limit, ==, 31);
    g_assert_cmphex(guest64(env.gdt.base + 0x00), ==, 0);
    g_assert_cmphex(guest64(env.gdt.base + 0x10), ==, 0x00cf9b000000ffffULL);
    g_assert_cmphex(guest64(env.gdt.base + 0x18), ==, 0x00cf93000000ffffULL);

    /* The zero page: the image's setup header, loader fields changed. */
    for (size_t off = LINUX_SETUP_SECTS; off < hdr_end; off++) {
        if (!loader_owned(off)) {
            g_assert_cmphex(guest8(bp + off), ==, image[off]);
        }
    }
    g_assert_cmphex(guest32(bp + LINUX_HEADER), ==, LINUX_HDR_MAGIC);
    g_assert_cmphex(guest8(bp + LINUX_TYPE_OF_LOADER), ==, 0xff);
    g_assert_cmphex(guest8(bp + LINUX_LOADFLAGS), ==,
                    image[LINUX_LOADFLAGS] | LINUX_LOADED_HIGH | LINUX_CAN_USE_HEAP);
    g_assert_cmphex(guest32(bp + LINUX_CODE32_START), ==, 0x100000);
    g_assert_cmphex(guest8(bp + LINUX_HEAP_END_PTR) | guest8(bp + LINUX_HEAP_END_PTR + 1) << 8,
                    ==, LINUX_BOOT_HEAP_END - 0x200);
    cmdline = guest_string(guest32(bp + LINUX_CMD_LINE_PTR));
    g_assert_cmpstr(cmdline, ==, "console=ttyS0 root=/dev/ram0 rdinit=/init");
    g_assert_cmpuint(guest32(bp + LINUX_CMD_LINE_PTR) + strlen(cmdline) + 1, <=, 0x9f000);
    /* Nothing past the header, before e820, and the sentinel stay zero. */
    g_assert_cmphex(guest8(bp + 0x1ef), ==, 0);
    g_assert_cmphex(guest64(bp + LINUX_BP_ACPI_RSDP_ADDR), ==, 0xf0010);
    g_assert_cmphex(guest32(bp + LINUX_BP_ALT_MEM_K), ==, (RAM_SIZE - 0x100000) / 1024);
    g_assert_cmphex(guest64(bp + 0x000), ==, 0);     /* screen_info: no VGA text */
    g_assert_cmphex(guest32(bp + 0x0c0), ==, 0);     /* ext_ramdisk_image */

    /* The initrd: page-aligned, as high as RAM allows, clear of the kernel
     * while it decompresses, contents intact. */
    initrd_addr = guest32(bp + LINUX_RAMDISK_IMAGE);
    g_assert_cmphex(guest32(bp + LINUX_RAMDISK_SIZE), ==, initrd_len);
    g_assert_cmphex(initrd_addr % 4096, ==, 0);
    g_assert_cmphex(initrd_addr + initrd_len, <=, RAM_SIZE);
    g_assert_cmphex(RAM_SIZE - (initrd_addr + initrd_len), <, 4096);
    g_assert_cmphex(initrd_addr, >=, runtime_end);
    buf = g_malloc(MAX(initrd_len, prot_len));
    guest_read(initrd_addr, buf, initrd_len);
    g_assert_true(memcmp(buf, initrd_data, initrd_len) == 0);

    /* The e820 map: the machine's layout. */
    nr_map = x86_memory_layout_e820(&pcms.layout, map, PC_MAX_E820_ENTRIES);
    g_assert_cmpuint(nr_map, ==, 3);
    g_assert_cmpuint(guest8(bp + LINUX_BP_E820_ENTRIES), ==, nr_map);
    for (unsigned i = 0; i < nr_map; i++) {
        uint64_t ent = bp + LINUX_BP_E820_TABLE + i * 20;
        g_assert_cmphex(guest64(ent), ==, map[i].addr);
        g_assert_cmphex(guest64(ent + 8), ==, map[i].len);
        g_assert_cmphex(guest32(ent + 16), ==, map[i].type);
    }
    g_assert_cmphex(guest64(bp + LINUX_BP_E820_TABLE + 20), ==, 0xa0000);
    g_assert_cmphex(guest32(bp + LINUX_BP_E820_TABLE + 20 + 16), ==, E820_RESERVED);
    g_assert_cmphex(guest64(bp + LINUX_BP_E820_TABLE + 20 + 8), ==, 0x60000);
    g_assert_cmphex(guest64(bp + LINUX_BP_E820_TABLE + nr_map * 20), ==, 0);

    /* The protected-mode kernel at 1 MiB, byte for byte. */
    guest_read(0x100000, buf, prot_len);
    g_assert_true(memcmp(buf, image + setup_len, prot_len) == 0);

    /* The real-mode part at 0x90000 with the same patched header. */
    guest_read(LINUX_BOOT_SETUP_ADDR, buf, setup_len);
    g_assert_true(memcmp(buf, image, LINUX_SETUP_SECTS) == 0);
    g_assert_true(memcmp(buf + hdr_end, image + hdr_end, setup_len - hdr_end) == 0);
    g_assert_cmphex(get32(buf + LINUX_CMD_LINE_PTR), ==, LINUX_BOOT_CMDLINE_ADDR);
    g_assert_cmphex(get32(buf + LINUX_RAMDISK_IMAGE), ==, initrd_addr);

    /* fw_cfg: QEMU's Linux items. */
    {
        FWCfgState *fw_cfg = fw_cfg_init_io(FW_CFG_IO_BASE, false, &err);
        GBytes *item;

        g_assert_no_error(err);
        x86_boot_plan_fill_fw_cfg(plan, fw_cfg);
        g_assert_cmphex(fw_cfg_u32(fw_cfg, FW_CFG_SETUP_ADDR), ==, LINUX_BOOT_SETUP_ADDR);
        g_assert_cmphex(fw_cfg_u32(fw_cfg, FW_CFG_SETUP_SIZE), ==, setup_len);
        item = fw_cfg_get_item(fw_cfg, FW_CFG_SETUP_DATA);
        g_assert_cmpuint(g_bytes_get_size(item), ==, setup_len);
        g_assert_cmphex(get32((const uint8_t *)g_bytes_get_data(item, NULL) + LINUX_HEADER),
                        ==, LINUX_HDR_MAGIC);
        g_assert_cmphex(fw_cfg_u32(fw_cfg, FW_CFG_KERNEL_ADDR), ==, 0x100000);
        g_assert_cmphex(fw_cfg_u32(fw_cfg, FW_CFG_KERNEL_SIZE), ==, prot_len);
        item = fw_cfg_get_item(fw_cfg, FW_CFG_KERNEL_DATA);
        g_assert_cmpuint(g_bytes_get_size(item), ==, prot_len);
        g_assert_true(memcmp(g_bytes_get_data(item, NULL), image + setup_len, prot_len) == 0);
        g_assert_cmphex(fw_cfg_u32(fw_cfg, FW_CFG_INITRD_ADDR), ==, initrd_addr);
        g_assert_cmphex(fw_cfg_u32(fw_cfg, FW_CFG_INITRD_SIZE), ==, initrd_len);
        g_assert_cmphex(fw_cfg_u32(fw_cfg, FW_CFG_CMDLINE_ADDR), ==, LINUX_BOOT_CMDLINE_ADDR);
        g_assert_cmphex(fw_cfg_u32(fw_cfg, FW_CFG_CMDLINE_SIZE), ==, strlen(cmdline) + 1);
        item = fw_cfg_get_item(fw_cfg, FW_CFG_CMDLINE_DATA);
        g_assert_cmpstr(g_bytes_get_data(item, NULL), ==, cmdline);
        g_assert_null(fw_cfg_get_item(fw_cfg, FW_CFG_KERNEL_ENTRY));
        device_destroy(fw_cfg_device(fw_cfg));
    }

    /* A reset writes it all again: a guest that scribbled over its zero
     * page boots the same. */
    fill_guest(bp, 0xee, 4096);
    x86_cpu_reset(&env);
    g_assert_true(x86_boot_plan_apply(plan, &env));
    g_assert_cmphex(guest32(bp + LINUX_HEADER), ==, LINUX_HDR_MAGIC);
    g_assert_cmphex(guest32(bp + LINUX_RAMDISK_IMAGE), ==, initrd_addr);
    g_assert_cmphex(guest8(bp + 0x1ef), ==, 0);
    g_assert_cmphex(env.regs[R_ESI], ==, bp);
    x86_boot_plan_free(plan);
}

/* ---- synthetic images that load ---- */

static void test_synthetic(void)
{
    FakeKernel k = fake_default;
    g_autofree char *kernel = NULL, *initrd = NULL;
    g_autoptr(GError) err = NULL;
    uint8_t rd[5000];
    X86BootPlan *plan;
    CPUX86State env = { 0 };
    uint32_t bp = LINUX_BOOT_PARAMS_ADDR;

    /* setup_sects 0 means 4; the initrd must end at initrd_addr_max. */
    k.setup_sects = 0;
    k.initrd_addr_max = 0x3fffff;
    kernel = write_image("fake.bzImage", build_fake(&k));
    memset(rd, 0x3c, sizeof(rd));
    initrd = write_file("small-initrd", rd, sizeof(rd));

    plan = load(kernel, NULL, initrd, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(plan->loader, ==, "linux");
    fill_guest(LINUX_BOOT_CMDLINE_ADDR, 0xcc, 16);
    x86_cpu_reset(&env);
    g_assert_true(x86_boot_plan_apply(plan, &env));
    for (uint32_t i = 0; i < k.prot_len; i += 0x101) {
        g_assert_cmphex(guest8(0x100000 + i), ==, fake_kernel_byte(i));
    }
    g_assert_cmphex(guest8(bp + LINUX_SETUP_SECTS), ==, 0);   /* copied as is */
    g_assert_cmphex(guest32(bp + LINUX_RAMDISK_IMAGE), ==, 0x400000 - 0x2000);
    g_assert_cmphex(guest32(bp + LINUX_RAMDISK_SIZE), ==, sizeof(rd));
    g_assert_cmphex(guest8(0x400000 - 0x2000), ==, 0x3c);
    g_assert_cmphex(guest64(bp + LINUX_BP_ACPI_RSDP_ADDR), ==, 0);
    g_assert_cmphex(guest32(bp + LINUX_CMD_LINE_PTR), ==, LINUX_BOOT_CMDLINE_ADDR);
    g_assert_cmphex(guest8(LINUX_BOOT_CMDLINE_ADDR), ==, 0);   /* no -append: empty */
    g_assert_cmpuint(g_bytes_get_size(plan->setup_file), ==, 5 * 512);
    x86_boot_plan_free(plan);

    /* No initrd: both ramdisk fields zero. */
    plan = load(kernel, "x", NULL, &err);
    g_assert_no_error(err);
    g_assert_true(x86_boot_plan_apply(plan, &env));
    g_assert_cmphex(guest32(bp + LINUX_RAMDISK_IMAGE), ==, 0);
    g_assert_cmphex(guest32(bp + LINUX_RAMDISK_SIZE), ==, 0);
    x86_boot_plan_free(plan);
}

/* A bzImage that also carries a multiboot header boots as Linux. */
static void test_linux_wins_over_multiboot(void)
{
    GByteArray *a = build_fake(&fake_default);
    g_autofree char *kernel = NULL;
    g_autoptr(GError) err = NULL;
    X86BootPlan *plan;
    size_t mb = 5 * 512 - 64;   /* inside the setup, 4-aligned, below 8 KiB */

    put32(a, mb, MULTIBOOT_HEADER_MAGIC);
    put32(a, mb + 4, 0);
    put32(a, mb + 8, -MULTIBOOT_HEADER_MAGIC);
    g_assert_true(multiboot_probe(a->data, a->len, NULL));
    kernel = write_image("both.bin", a);
    plan = load(kernel, NULL, NULL, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(plan->loader, ==, "linux");
    g_assert_cmphex(plan->esi, ==, LINUX_BOOT_PARAMS_ADDR);
    x86_boot_plan_free(plan);
}

/* ---- refusals ---- */

static void expect_error_naming(const char *kernel, const char *append, const char *initrd,
                                const char *fragment, const char *culprit)
{
    g_autoptr(GError) err = NULL;
    X86BootPlan *plan = load(kernel, append, initrd, &err);

    g_assert_null(plan);
    g_assert_error(err, KESTREL_ERROR, KESTREL_ERROR_FAILED);
    g_test_message("error: %s", err->message);
    g_assert_nonnull(strstr(err->message, fragment));
    g_assert_nonnull(strstr(err->message, culprit));
    g_assert_null(strchr(err->message, '\n'));
}

static void expect_fake_error(const char *name, const FakeKernel *k, const char *fragment)
{
    g_autofree char *kernel = write_image(name, build_fake(k));
    expect_error_naming(kernel, NULL, NULL, fragment, kernel);
}

static void test_not_a_kernel(void)
{
    uint8_t junk[4096];
    g_autofree char *path = NULL;

    memset(junk, 0x90, sizeof(junk));
    path = write_file("junk.bin", junk, sizeof(junk));
    expect_error_naming(path, NULL, NULL, "not a Linux bzImage or multiboot kernel", path);
    expect_error_naming(path, NULL, NULL, "no Linux setup header", path);
    expect_error_naming(path, NULL, NULL, "no multiboot header", path);

    /* A boot sector without "HdrS": Linux older than protocol 2.00. */
    junk[0x1fe] = 0x55;
    junk[0x1ff] = 0xaa;
    g_free(path);
    path = write_file("old-linux.bin", junk, sizeof(junk));
    expect_error_naming(path, NULL, NULL, "older than 2.00", path);
}

static void test_protocol_too_old(void)
{
    FakeKernel k = fake_default;

    k.protocol = 0x0205;
    expect_fake_error("proto205.bzImage", &k, "boot protocol 2.05 is too old");
}

static void test_zimage(void)
{
    FakeKernel k = fake_default;

    k.loadflags = 0;
    expect_fake_error("zImage", &k, "not a bzImage");
}

static void test_truncated(void)
{
    FakeKernel k = fake_default;
    g_autofree char *kernel = find_debian_kernel();
    g_autofree char *contents = NULL, *path = NULL;
    gsize len;

    /* syssize claims more than the file holds. */
    k.syssize = k.prot_len / 16 + 1;
    expect_fake_error("short.bzImage", &k, "truncated");
    /* Nothing after the setup. */
    k = fake_default;
    k.prot_len = 0;
    expect_fake_error("setup-only.bzImage", &k, "truncated");

    /* The real kernel cut to 1 MiB. */
    g_assert_nonnull(kernel);
    g_assert_true(g_file_get_contents(kernel, &contents, &len, NULL));
    g_assert_cmpuint(len, >, 1 << 20);
    path = write_file("vmlinuz-cut", contents, 1 << 20);
    expect_error_naming(path, NULL, NULL, "truncated", path);
    /* Cut inside the setup header. */
    g_free(path);
    path = write_file("vmlinuz-stub", contents, 0x210);
    expect_error_naming(path, NULL, NULL, "truncated", path);
}

static void test_bad_header(void)
{
    FakeKernel k = fake_default;

    k.jump_len = 0x10;   /* header would end at 0x212, before cmdline_size */
    expect_fake_error("short-header.bzImage", &k, "too short");
    k = fake_default;
    k.setup_sects = 200;
    expect_fake_error("huge-setup.bzImage", &k, "64 KiB");
}

static void test_initrd_does_not_fit(void)
{
    FakeKernel k = fake_default;
    g_autofree char *kernel = NULL, *initrd = NULL;
    g_autofree uint8_t *rd = g_malloc0(0x200000);

    /* initrd_addr_max at 2 MiB leaves less than 1 MiB above the kernel. */
    k.initrd_addr_max = 0x1fffff;
    k.init_size = 0;
    kernel = write_image("low-initrd-max.bzImage", build_fake(&k));
    initrd = write_file("big-initrd", rd, 0x100000);
    expect_error_naming(kernel, NULL, initrd, "do not fit in guest RAM", initrd);
    expect_error_naming(kernel, NULL, initrd, "initrd_addr_max", initrd);

    /* The decompression area (init_size from pref_address) fills RAM up
     * to its last 64 KiB: the initrd goes just below it... */
    k = fake_default;
    k.init_size = RAM_SIZE - 0x1000000 - 0x10000;
    g_free(kernel);
    kernel = write_image("big-init-size.bzImage", build_fake(&k));
    {
        g_autoptr(GError) err = NULL;
        X86BootPlan *plan = load(kernel, NULL, initrd, &err);

        g_assert_no_error(err);
        g_assert_cmphex(plan->initrd_addr, ==, 0x1000000 - 0x100000);
        x86_boot_plan_free(plan);
    }
    /* ... unless the gap between the image and that area is too small. */
    k.pref_address = 0x200000;
    k.init_size = RAM_SIZE - 0x200000 - 0x10000;
    g_free(kernel);
    kernel = write_image("low-pref.bzImage", build_fake(&k));
    expect_error_naming(kernel, NULL, initrd, "end of RAM", initrd);
    expect_error_naming(kernel, NULL, initrd, "decompressing at 0x200000-", initrd);
    k.init_size = RAM_SIZE;
    g_free(kernel);
    kernel = write_image("huge-init-size.bzImage", build_fake(&k));
    expect_error_naming(kernel, NULL, NULL, "more memory", kernel);

    /* A missing initrd. */
    g_free(kernel);
    kernel = write_image("ok.bzImage", build_fake(&fake_default));
    g_free(initrd);
    initrd = g_build_filename(tmpdir, "no-such-initrd", NULL);
    expect_error_naming(kernel, NULL, initrd, "No such file", initrd);
}

static void test_cmdline_too_long(void)
{
    FakeKernel k = fake_default;
    g_autofree char *kernel = NULL;
    g_autoptr(GError) err = NULL;
    X86BootPlan *plan;

    k.cmdline_size = 16;
    kernel = write_image("short-cmdline.bzImage", build_fake(&k));
    plan = load(kernel, "0123456789abcdef", NULL, &err);   /* exactly 16: fits */
    g_assert_no_error(err);
    x86_boot_plan_free(plan);
    expect_error_naming(kernel, "0123456789abcdefg", NULL, "at most 16", kernel);
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    memory_system_init();
    g_assert_true(memory_region_init_ram(&ram, NULL, "pc.ram", RAM_SIZE, &err));
    pc_memory_init(&pcms, get_system_memory(), &ram, RAM_SIZE);
    tmpdir = g_dir_make_tmp("kestrel-linux-boot-XXXXXX", &err);
    g_assert_no_error(err);

    g_test_add_func("/linux-boot/debian_kernel", test_debian_kernel);
    g_test_add_func("/linux-boot/synthetic", test_synthetic);
    g_test_add_func("/linux-boot/linux_wins_over_multiboot", test_linux_wins_over_multiboot);
    g_test_add_func("/linux-boot/error/not_a_kernel", test_not_a_kernel);
    g_test_add_func("/linux-boot/error/protocol_too_old", test_protocol_too_old);
    g_test_add_func("/linux-boot/error/zimage", test_zimage);
    g_test_add_func("/linux-boot/error/truncated", test_truncated);
    g_test_add_func("/linux-boot/error/bad_header", test_bad_header);
    g_test_add_func("/linux-boot/error/initrd_does_not_fit", test_initrd_does_not_fit);
    g_test_add_func("/linux-boot/error/cmdline_too_long", test_cmdline_too_long);
    ret = g_test_run();

    {
        g_autoptr(GDir) dir = g_dir_open(tmpdir, 0, NULL);
        const char *name;
        while (dir && (name = g_dir_read_name(dir))) {
            g_autofree char *p = g_build_filename(tmpdir, name, NULL);
            g_unlink(p);
        }
        g_rmdir(tmpdir);
    }
    return ret;
}
