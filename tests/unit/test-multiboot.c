/*
 * The multiboot loader on synthesized images: ELF32 and a.out-kludge
 * kernels, modules, the information structure and memory map as the guest
 * sees them in RAM, and every class of malformed input.
 */
#include "hw/i386/multiboot.h"
#include "hw/i386/pc.h"
#include "hw/nvram/fw_cfg.h"
#include "exec/memory.h"

#include <glib/gstdio.h>

#define RAM_SIZE (32u << 20)

static MemoryRegion ram;
static PCMachineState pcms;
static char *tmpdir;

/* ---- image builders ---- */

typedef struct TestSeg {
    uint32_t type;
    uint32_t paddr, vaddr;
    uint32_t filesz, memsz;
    uint8_t fill;            /* file bytes are fill + i */
} TestSeg;

static void put32(GByteArray *a, size_t off, uint32_t v)
{
    while (a->len < off + 4) {
        g_byte_array_append(a, (const uint8_t *)"\0", 1);
    }
    a->data[off] = v; a->data[off + 1] = v >> 8; a->data[off + 2] = v >> 16; a->data[off + 3] = v >> 24;
}

static void put16(GByteArray *a, size_t off, uint16_t v)
{
    while (a->len < off + 2) {
        g_byte_array_append(a, (const uint8_t *)"\0", 1);
    }
    a->data[off] = v; a->data[off + 1] = v >> 8;
}

static uint32_t seg_byte(const TestSeg *s, uint32_t i)
{
    return (uint8_t)(s->fill + i);
}

/* An ELF32 i386 executable: header, program headers, a multiboot header,
 * then each segment's file bytes. */
static GByteArray *build_elf(uint32_t entry, const TestSeg *segs, unsigned n,
                             uint32_t mb_flags, uint32_t mb_checksum_delta)
{
    GByteArray *a = g_byte_array_new();
    size_t phoff = 52, mb_off = KESTREL_ALIGN_UP(phoff + 32 * n, 16), data_off = mb_off + 64;

    g_byte_array_set_size(a, data_off);
    memset(a->data, 0, a->len);
    memcpy(a->data, "\177ELF", 4);
    a->data[4] = 1;     /* ELFCLASS32 */
    a->data[5] = 1;     /* little endian */
    a->data[6] = 1;
    put16(a, 16, 2);    /* ET_EXEC */
    put16(a, 18, 3);    /* EM_386 */
    put32(a, 20, 1);
    put32(a, 24, entry);
    put32(a, 28, (uint32_t)phoff);
    put16(a, 40, 52);
    put16(a, 42, 32);
    put16(a, 44, (uint16_t)n);

    put32(a, mb_off, MULTIBOOT_HEADER_MAGIC);
    put32(a, mb_off + 4, mb_flags);
    put32(a, mb_off + 8, -(MULTIBOOT_HEADER_MAGIC + mb_flags) + mb_checksum_delta);

    for (unsigned i = 0; i < n; i++) {
        size_t ph = phoff + 32 * i;
        size_t off = KESTREL_ALIGN_UP(a->len, 16);

        put32(a, ph, segs[i].type);
        put32(a, ph + 4, (uint32_t)off);
        put32(a, ph + 8, segs[i].vaddr);
        put32(a, ph + 12, segs[i].paddr);
        put32(a, ph + 16, segs[i].filesz);
        put32(a, ph + 20, segs[i].memsz);
        put32(a, ph + 24, 7);
        g_byte_array_set_size(a, off + segs[i].filesz);
        for (uint32_t j = 0; j < segs[i].filesz; j++) {
            a->data[off + j] = seg_byte(&segs[i], j);
        }
    }
    return a;
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

static X86BootPlan *load(const char *kernel, const char *append, const char *initrd,
                         GError **errp)
{
    X86KernelLoadOptions opts = {
        .kernel_filename = kernel,
        .kernel_cmdline = append,
        .initrd_filename = initrd,
        .layout = pcms.layout,
    };
    return x86_load_kernel(&opts, errp);
}

static uint32_t guest32(uint64_t addr)
{
    uint32_t v;
    g_assert_cmpint(address_space_read(&address_space_memory, addr, &v, 4), ==, MEMTX_OK);
    return GUINT32_FROM_LE(v);
}

static uint64_t guest64(uint64_t addr)
{
    return guest32(addr) | (uint64_t)guest32(addr + 4) << 32;
}

static char *guest_string(uint64_t addr)
{
    GString *s = g_string_new(NULL);
    for (;;) {
        uint8_t c;
        g_assert_cmpint(address_space_read(&address_space_memory, addr++, &c, 1), ==, MEMTX_OK);
        if (c == 0) {
            return g_string_free(s, FALSE);
        }
        g_string_append_c(s, (char)c);
        g_assert_cmpuint(s->len, <, 4096);
    }
}

static void fill_guest(uint64_t addr, uint8_t value, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);
    memset(buf, value, len);
    g_assert_cmpint(address_space_write(&address_space_memory, addr, buf, len), ==, MEMTX_OK);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* ---- the good case ---- */

static void test_elf_boot(void)
{
    static const TestSeg segs[] = {
        /* text+bss, linked high, loaded at 1 MiB */
        { 1, 0x100000, 0xc0100000, 0x300, 0x2000, 0x10 },
        { 4, 0, 0, 0, 0, 0 },   /* PT_NOTE: ignored */
        { 1, 0x200000, 0xc0200000, 0x20, 0x20, 0x80 },
    };
    g_autofree char *kernel = write_image("kernel.elf",
                                          build_elf(0xc0100010, segs, 3, 0x3, 0));
    uint8_t mod1[5000], mod2[3] = { 'x', 'y', 'z' };
    g_autofree char *mod1_path = NULL, *mod2_path = NULL, *initrd = NULL;
    g_autofree char *cmdline = NULL, *expect_cmdline = NULL, *name = NULL;
    g_autoptr(GError) err = NULL;
    X86BootPlan *plan;
    CPUX86State env = { 0 };
    uint32_t info, flags, mods, mmap, mmap_len;
    uint32_t mod_start[2], mod_end[2];

    for (size_t i = 0; i < sizeof(mod1); i++) {
        mod1[i] = (uint8_t)(i * 13);
    }
    mod1_path = write_file("mod1", mod1, sizeof(mod1));
    mod2_path = write_file("mod2", mod2, sizeof(mod2));
    initrd = g_strdup_printf("%s arg1 arg2,%s", mod1_path, mod2_path);

    plan = load(kernel, "console=ttyS0 quiet", initrd, &err);
    g_assert_no_error(err);
    g_assert_nonnull(plan);
    g_assert_cmpstr(plan->loader, ==, "multiboot");

    /* Junk where bss goes: the loader must zero it. */
    fill_guest(0x100000, 0xee, 0x3000);
    x86_cpu_reset(&env);
    g_assert_true(x86_boot_plan_apply(plan, &env));

    /* CPU state: flat protected mode at the physical entry. */
    g_assert_cmphex(env.rip, ==, 0x100010);
    g_assert_cmphex(env.regs[R_EAX], ==, MULTIBOOT_BOOTLOADER_MAGIC);
    g_assert_cmphex(env.cr[0] & CR0_PE, ==, CR0_PE);
    g_assert_cmphex(env.cr[0] & CR0_PG, ==, 0);
    g_assert_cmphex(env.segs[R_CS].base, ==, 0);
    g_assert_cmphex(env.eflags & IF_MASK, ==, 0);
    info = (uint32_t)env.regs[R_EBX];
    g_assert_cmphex(info, ==, plan->ebx);

    /* The image. */
    for (uint32_t i = 0; i < 0x300; i += 0x41) {
        uint8_t b;
        address_space_read(&address_space_memory, 0x100000 + i, &b, 1);
        g_assert_cmphex(b, ==, seg_byte(&segs[0], i));
    }
    for (uint32_t i = 0x300; i < 0x2000; i += 0x100) {
        uint8_t b;
        address_space_read(&address_space_memory, 0x100000 + i, &b, 1);
        g_assert_cmphex(b, ==, 0);
    }
    g_assert_cmphex(guest32(0x100000 + 0x2000), ==, 0xeeeeeeee);   /* past bss: untouched */
    g_assert_cmphex(guest32(0x200000), ==, 0x83828180);

    /* The information structure. */
    g_assert_false(ranges_overlap(info, MBI_SIZE, 0x100000, 0x2000));
    g_assert_false(ranges_overlap(info, MBI_SIZE, 0x200000, 0x20));
    g_assert_cmphex(info & 3, ==, 0);
    flags = guest32(info + MBI_FLAGS);
    g_assert_cmphex(flags, ==, MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE |
                    MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_LOADER_NAME);
    g_assert_cmpuint(guest32(info + MBI_MEM_LOWER), ==, 640);
    g_assert_cmpuint(guest32(info + MBI_MEM_UPPER), ==, (RAM_SIZE - 0x100000) / 1024);
    cmdline = guest_string(guest32(info + MBI_CMDLINE));
    expect_cmdline = g_strdup_printf("%s console=ttyS0 quiet", kernel);
    g_assert_cmpstr(cmdline, ==, expect_cmdline);
    name = guest_string(guest32(info + MBI_BOOT_LOADER_NAME));
    g_assert_cmpstr(name, ==, "kestrel");

    /* Modules: page aligned, contents intact, own strings, no overlaps. */
    g_assert_cmpuint(guest32(info + MBI_MODS_COUNT), ==, 2);
    mods = guest32(info + MBI_MODS_ADDR);
    for (unsigned i = 0; i < 2; i++) {
        g_autofree char *str = guest_string(guest32(mods + i * 16 + 8));
        g_autofree char *expect = i == 0 ? g_strdup_printf("%s arg1 arg2", mod1_path)
                                         : g_strdup(mod2_path);
        mod_start[i] = guest32(mods + i * 16);
        mod_end[i] = guest32(mods + i * 16 + 4);
        g_assert_cmpstr(str, ==, expect);
        g_assert_cmphex(mod_start[i] & 0xfff, ==, 0);
        g_assert_cmpuint(mod_start[i], >=, 0x200020);
        g_assert_cmpuint(mod_end[i], <=, RAM_SIZE);
        g_assert_false(ranges_overlap(mod_start[i], mod_end[i] - mod_start[i], info, MBI_SIZE));
    }
    g_assert_cmpuint(mod_end[0] - mod_start[0], ==, sizeof(mod1));
    g_assert_cmpuint(mod_end[1] - mod_start[1], ==, sizeof(mod2));
    g_assert_false(ranges_overlap(mod_start[0], sizeof(mod1), mod_start[1], sizeof(mod2)));
    {
        uint8_t back[sizeof(mod1)];
        address_space_read(&address_space_memory, mod_start[0], back, sizeof(back));
        g_assert_cmpmem(back, sizeof(back), mod1, sizeof(mod1));
        address_space_read(&address_space_memory, mod_start[1], back, 3);
        g_assert_cmpmem(back, 3, "xyz", 3);
    }

    /* Memory map. */
    mmap = guest32(info + MBI_MMAP_ADDR);
    mmap_len = guest32(info + MBI_MMAP_LENGTH);
    g_assert_cmpuint(mmap_len, ==, 3 * 24);
    {
        static const struct { uint64_t addr, len; uint32_t type; } expect[] = {
            { 0, 0xa0000, 1 },
            { 0xa0000, 0x60000, 2 },
            { 0x100000, RAM_SIZE - 0x100000, 1 },
        };
        for (unsigned i = 0; i < 3; i++) {
            uint32_t e = mmap + i * 24;
            g_assert_cmpuint(guest32(e), ==, 20);
            g_assert_cmphex(guest64(e + 4), ==, expect[i].addr);
            g_assert_cmphex(guest64(e + 12), ==, expect[i].len);
            g_assert_cmpuint(guest32(e + 20), ==, expect[i].type);
        }
    }
    g_assert_false(ranges_overlap(mmap, mmap_len, 0x100000, 0x2000));

    /* A guest that scribbles over its image gets it back at reset. */
    fill_guest(0x100000, 0x55, 0x10);
    fill_guest(mod_start[0], 0x55, 0x10);
    env.rip = 0x1234;
    g_assert_true(x86_boot_plan_apply(plan, &env));
    g_assert_cmphex(env.rip, ==, 0x100010);
    g_assert_cmphex(guest32(0x100000), ==, 0x13121110);
    g_assert_cmphex(guest32(mod_start[0]), ==, mod1[0] | mod1[1] << 8 | mod1[2] << 16 |
                    (uint32_t)mod1[3] << 24);

    /* fw_cfg's kernel keys. */
    {
        FWCfgState *fw_cfg = fw_cfg_init_io(FW_CFG_IO_BASE, false, &err);
        GBytes *item;
        uint32_t v;

        g_assert_no_error(err);
        x86_boot_plan_fill_fw_cfg(plan, fw_cfg);
        item = fw_cfg_get_item(fw_cfg, FW_CFG_KERNEL_ENTRY);
        g_assert_cmpuint(g_bytes_get_size(item), ==, 4);
        memcpy(&v, g_bytes_get_data(item, NULL), 4);
        g_assert_cmphex(GUINT32_FROM_LE(v), ==, 0x100010);
        item = fw_cfg_get_item(fw_cfg, FW_CFG_KERNEL_ADDR);
        memcpy(&v, g_bytes_get_data(item, NULL), 4);
        g_assert_cmphex(GUINT32_FROM_LE(v), ==, 0x100000);
        item = fw_cfg_get_item(fw_cfg, FW_CFG_CMDLINE_DATA);
        g_assert_cmpstr(g_bytes_get_data(item, NULL), ==, "console=ttyS0 quiet");
        item = fw_cfg_get_item(fw_cfg, FW_CFG_INITRD_SIZE);
        memcpy(&v, g_bytes_get_data(item, NULL), 4);
        g_assert_cmpuint(GUINT32_FROM_LE(v), ==, sizeof(mod1));
        item = fw_cfg_get_item(fw_cfg, FW_CFG_KERNEL_DATA);
        g_assert_nonnull(item);
        g_assert_cmpmem(g_bytes_get_data(item, NULL), 4, "\177ELF", 4);
        device_destroy(fw_cfg_device(fw_cfg));
    }
    x86_boot_plan_free(plan);
}

/* A flat binary with the a.out kludge: load addresses from the header. */
static void test_aout_kludge(void)
{
    GByteArray *a = g_byte_array_new();
    const uint32_t load_addr = 0x300000, hdr_off = 0x40, flags = MULTIBOOT_AOUT_KLUDGE | 0x2;
    g_autofree char *kernel = NULL;
    g_autoptr(GError) err = NULL;
    X86BootPlan *plan;
    CPUX86State env = { 0 };

    g_byte_array_set_size(a, 0x200);
    for (unsigned i = 0; i < a->len; i++) {
        a->data[i] = (uint8_t)(i ^ 0x5a);
    }
    put32(a, hdr_off, MULTIBOOT_HEADER_MAGIC);
    put32(a, hdr_off + 4, flags);
    put32(a, hdr_off + 8, -(MULTIBOOT_HEADER_MAGIC + flags));
    put32(a, hdr_off + 12, load_addr + hdr_off);      /* header_addr */
    put32(a, hdr_off + 16, load_addr);                /* load_addr */
    put32(a, hdr_off + 20, load_addr + 0x180);        /* load_end_addr: not the whole file */
    put32(a, hdr_off + 24, load_addr + 0x1000);       /* bss_end_addr */
    put32(a, hdr_off + 28, load_addr + 0x100);        /* entry */
    kernel = write_image("kludge.bin", a);

    fill_guest(load_addr, 0xee, 0x1100);
    plan = load(kernel, NULL, NULL, &err);
    g_assert_no_error(err);
    x86_cpu_reset(&env);
    g_assert_true(x86_boot_plan_apply(plan, &env));
    g_assert_cmphex(env.rip, ==, load_addr + 0x100);
    g_assert_cmphex(guest32(load_addr + hdr_off), ==, MULTIBOOT_HEADER_MAGIC);
    g_assert_cmphex(guest32(load_addr + 0x17c), ==, (uint32_t)(uint8_t)(0x17c ^ 0x5a) |
                    (uint32_t)(uint8_t)(0x17d ^ 0x5a) << 8 |
                    (uint32_t)(uint8_t)(0x17e ^ 0x5a) << 16 |
                    (uint32_t)(uint8_t)(0x17f ^ 0x5a) << 24);
    g_assert_cmphex(guest32(load_addr + 0x180), ==, 0);   /* bss, not file bytes */
    g_assert_cmphex(guest32(load_addr + 0xffc), ==, 0);
    /* The information structure goes after the image, not over it. */
    g_assert_cmphex(plan->ebx, >=, load_addr + 0x1000);
    {
        g_autofree char *cmdline = guest_string(guest32(plan->ebx + MBI_CMDLINE));
        g_assert_cmpstr(cmdline, ==, kernel);
        g_assert_cmpuint(guest32(plan->ebx + MBI_MODS_COUNT), ==, 0);
    }
    x86_boot_plan_free(plan);
}

/* ---- errors ---- */

/* Loading must fail with a message containing `fragment` and naming the
 * file at fault (the kernel unless `culprit` says otherwise). */
static void expect_error_naming(const char *kernel, const char *initrd, const char *fragment,
                                const char *culprit)
{
    g_autoptr(GError) err = NULL;
    X86BootPlan *plan = load(kernel, NULL, initrd, &err);

    g_assert_null(plan);
    g_assert_error(err, KESTREL_ERROR, KESTREL_ERROR_FAILED);
    g_test_message("error: %s", err->message);
    g_assert_nonnull(strstr(err->message, fragment));
    g_assert_nonnull(strstr(err->message, culprit));
}

static void expect_error(const char *kernel, const char *initrd, const char *fragment)
{
    expect_error_naming(kernel, initrd, fragment, kernel);
}

static const TestSeg one_seg[] = { { 1, 0x100000, 0x100000, 0x100, 0x100, 1 } };

static void test_missing_file(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "does-not-exist", NULL);
    expect_error(path, NULL, "No such file");
}

static void test_no_header(void)
{
    uint8_t junk[9000];
    g_autofree char *path = NULL;

    memset(junk, 0x90, sizeof(junk));
    path = write_file("junk.bin", junk, sizeof(junk));
    expect_error(path, NULL, "no multiboot header");
}

static void test_header_beyond_8k(void)
{
    GByteArray *a = g_byte_array_new();
    g_autofree char *path = NULL;

    g_byte_array_set_size(a, 8192 + 64);
    memset(a->data, 0, a->len);
    put32(a, 8192, MULTIBOOT_HEADER_MAGIC);
    put32(a, 8196, 0);
    put32(a, 8200, -MULTIBOOT_HEADER_MAGIC);
    path = write_image("late-header.bin", a);
    expect_error(path, NULL, "no multiboot header");
}

static void test_bad_checksum(void)
{
    g_autofree char *path = write_image("badsum.elf", build_elf(0x100000, one_seg, 1, 3, 1));
    expect_error(path, NULL, "bad checksum");
}

static void test_unsupported_flags(void)
{
    g_autofree char *path = write_image("flags.elf",
                                        build_elf(0x100000, one_seg, 1, 3 | (1u << 5), 0));
    expect_error(path, NULL, "unsupported");
}

static void test_elf64(void)
{
    GByteArray *a = build_elf(0x100000, one_seg, 1, 3, 0);
    g_autofree char *path = NULL;

    a->data[4] = 2;   /* ELFCLASS64 */
    path = write_image("kernel64.elf", a);
    expect_error(path, NULL, "Cannot load x86-64 image, give a 32bit one.");
}

static void test_wrong_machine(void)
{
    GByteArray *a = build_elf(0x100000, one_seg, 1, 3, 0);
    g_autofree char *path = NULL;

    put16(a, 18, 62);   /* EM_X86_64 in an ELF32 file */
    path = write_image("x32.elf", a);
    expect_error(path, NULL, "not i386");
}

static void test_truncated(void)
{
    GByteArray *a = build_elf(0x100000, one_seg, 1, 3, 0);
    g_autofree char *path = NULL, *path2 = NULL, *path3 = NULL;

    /* The segment's bytes are cut off. */
    g_byte_array_set_size(a, a->len - 0x10);
    path = write_image("cut.elf", a);
    expect_error(path, NULL, "truncated");

    /* Program headers past the end of the file. */
    a = build_elf(0x100000, one_seg, 1, 3, 0);
    put16(a, 44, 200);
    path2 = write_image("phnum.elf", a);
    expect_error(path2, NULL, "program headers truncated");

    /* An a.out-kludge header without its address fields. */
    a = g_byte_array_new();
    g_byte_array_set_size(a, 64);
    memset(a->data, 0, a->len);
    put32(a, 48, MULTIBOOT_HEADER_MAGIC);
    put32(a, 52, MULTIBOOT_AOUT_KLUDGE);
    put32(a, 56, -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_AOUT_KLUDGE));
    path3 = write_image("shorthdr.bin", a);
    expect_error(path3, NULL, "header truncated");
}

static void test_outside_ram(void)
{
    static const TestSeg high[] = { { 1, 0x10000000, 0x10000000, 0x100, 0x100, 1 } };
    static const TestSeg bss_past_end[] = { { 1, RAM_SIZE - 0x1000, RAM_SIZE - 0x1000,
                                              0x100, 0x2000, 1 } };
    static const TestSeg in_hole[] = { { 1, 0xb8000, 0xb8000, 0x100, 0x100, 1 } };
    static const TestSeg wraps[] = { { 1, 0xfffff000, 0xfffff000, 0x10, 0x2000, 1 } };
    g_autofree char *p1 = write_image("high.elf", build_elf(0x10000000, high, 1, 3, 0));
    g_autofree char *p2 = write_image("bss.elf", build_elf(RAM_SIZE - 0x1000, bss_past_end,
                                                          1, 3, 0));
    g_autofree char *p3 = write_image("hole.elf", build_elf(0xb8000, in_hole, 1, 3, 0));
    g_autofree char *p4 = write_image("wrap.elf", build_elf(0xfffff000, wraps, 1, 3, 0));

    expect_error(p1, NULL, "outside guest RAM");
    expect_error(p2, NULL, "outside guest RAM");
    expect_error(p3, NULL, "outside guest RAM");
    expect_error(p4, NULL, "outside guest RAM");
}

static void test_overlap_and_entry(void)
{
    static const TestSeg overlap[] = {
        { 1, 0x100000, 0x100000, 0x100, 0x1000, 1 },
        { 1, 0x100800, 0x100800, 0x100, 0x100, 2 },
    };
    static const TestSeg fat[] = { { 1, 0x100000, 0x100000, 0x200, 0x100, 1 } };
    g_autofree char *p1 = write_image("overlap.elf", build_elf(0x100000, overlap, 2, 3, 0));
    g_autofree char *p2 = write_image("entry.elf", build_elf(0x400000, one_seg, 1, 3, 0));
    g_autofree char *p3 = write_image("fat.elf", build_elf(0x100000, fat, 1, 3, 0));
    g_autofree char *p4 = write_image("noload.elf", build_elf(0x100000, one_seg, 0, 3, 0));

    expect_error(p1, NULL, "overlaps");
    expect_error(p2, NULL, "entry point");
    expect_error(p3, NULL, "file size larger");
    expect_error(p4, NULL, "program headers");
}

static void test_module_errors(void)
{
    g_autofree char *kernel = write_image("k.elf", build_elf(0x100000, one_seg, 1, 3, 0));
    g_autofree char *missing = g_build_filename(tmpdir, "no-module", NULL);
    g_autofree char *spec = g_strdup_printf("%s arg", missing);

    expect_error_naming(kernel, spec, "No such file", missing);
    expect_error(kernel, ",", "empty module name");
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    memory_system_init();
    g_assert_true(memory_region_init_ram(&ram, NULL, "pc.ram", RAM_SIZE, &err));
    pc_memory_init(&pcms, get_system_memory(), &ram, RAM_SIZE);
    tmpdir = g_dir_make_tmp("kestrel-multiboot-XXXXXX", &err);
    g_assert_no_error(err);

    g_test_add_func("/multiboot/elf_boot", test_elf_boot);
    g_test_add_func("/multiboot/aout_kludge", test_aout_kludge);
    g_test_add_func("/multiboot/error/missing_file", test_missing_file);
    g_test_add_func("/multiboot/error/no_header", test_no_header);
    g_test_add_func("/multiboot/error/header_beyond_8k", test_header_beyond_8k);
    g_test_add_func("/multiboot/error/bad_checksum", test_bad_checksum);
    g_test_add_func("/multiboot/error/unsupported_flags", test_unsupported_flags);
    g_test_add_func("/multiboot/error/elf64", test_elf64);
    g_test_add_func("/multiboot/error/wrong_machine", test_wrong_machine);
    g_test_add_func("/multiboot/error/truncated", test_truncated);
    g_test_add_func("/multiboot/error/outside_ram", test_outside_ram);
    g_test_add_func("/multiboot/error/overlap_and_entry", test_overlap_and_entry);
    g_test_add_func("/multiboot/error/modules", test_module_errors);
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
