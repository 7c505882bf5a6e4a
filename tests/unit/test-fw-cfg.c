/*
 * fw_cfg through its guest interface: the selector/data ports and the DMA
 * register in address_space_io, with DMA descriptors in a small guest RAM.
 */
#include "hw/nvram/fw_cfg.h"
#include "exec/memory.h"

#define RAM_SIZE        (1u << 20)
#define DESC_ADDR       0x1000
#define BUF_ADDR        0x2000
#define IO_BASE         0x510
#define NODMA_IO_BASE   0x600

static FWCfgState *fw_cfg;
static MemoryRegion ram;

static void select_key(uint16_t base, uint16_t key)
{
    g_assert_cmpint(address_space_write_sized(&address_space_io, base, key, 2), ==, MEMTX_OK);
}

static uint8_t read_data(uint16_t base)
{
    uint64_t v = 0xdead;
    g_assert_cmpint(address_space_read_sized(&address_space_io, base + 1, &v, 1), ==, MEMTX_OK);
    g_assert_cmpuint(v, <=, 0xff);
    return (uint8_t)v;
}

static void read_item(uint16_t key, uint8_t *buf, size_t len)
{
    select_key(IO_BASE, key);
    for (size_t i = 0; i < len; i++) {
        buf[i] = read_data(IO_BASE);
    }
}

static void test_signature(void)
{
    uint8_t buf[4];
    uint32_t id;

    read_item(FW_CFG_SIGNATURE, buf, 4);
    g_assert_cmpmem(buf, 4, "QEMU", 4);
    /* Past the end: zeros, however far we read. */
    for (int i = 0; i < 64; i++) {
        g_assert_cmpuint(read_data(IO_BASE), ==, 0);
    }
    /* Re-selecting rewinds. */
    read_item(FW_CFG_SIGNATURE, buf, 1);
    g_assert_cmpuint(buf[0], ==, 'Q');

    read_item(FW_CFG_ID, (uint8_t *)&id, 4);
    g_assert_cmphex(GUINT32_FROM_LE(id), ==, FW_CFG_VERSION | FW_CFG_VERSION_DMA);
}

static void test_ram_size(void)
{
    uint64_t size;

    fw_cfg_add_i64(fw_cfg, FW_CFG_RAM_SIZE, 0x123456789ULL);
    fw_cfg_add_i16(fw_cfg, FW_CFG_NB_CPUS, 3);
    read_item(FW_CFG_RAM_SIZE, (uint8_t *)&size, 8);
    g_assert_cmphex(GUINT64_FROM_LE(size), ==, 0x123456789ULL);
    g_assert_cmpuint(read_data(IO_BASE), ==, 0);
    /* Replacing an item takes effect for the next selection. */
    fw_cfg_add_i64(fw_cfg, FW_CFG_RAM_SIZE, 128u << 20);
    read_item(FW_CFG_RAM_SIZE, (uint8_t *)&size, 8);
    g_assert_cmphex(GUINT64_FROM_LE(size), ==, 128u << 20);
}

static void test_bad_selector(void)
{
    static const uint16_t bad_keys[] = {
        0x000d,                       /* a slot with no item */
        0x3fff, 0x1234,               /* beyond the table */
        FW_CFG_ARCH_LOCAL | 0x0001,   /* arch-local, empty */
        FW_CFG_INVALID,
    };

    for (size_t k = 0; k < G_N_ELEMENTS(bad_keys); k++) {
        select_key(IO_BASE, bad_keys[k]);
        for (int i = 0; i < 16; i++) {
            g_assert_cmpuint(read_data(IO_BASE), ==, 0);
        }
    }
    /* Bit 14 (write channel) selects the same item for reading. */
    select_key(IO_BASE, FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE);
    g_assert_cmpuint(read_data(IO_BASE), ==, 'Q');
    /* Data-port writes are ignored. */
    g_assert_cmpint(address_space_write_sized(&address_space_io, IO_BASE + 1, 'X', 1), ==,
                    MEMTX_OK);
    select_key(IO_BASE, FW_CFG_SIGNATURE);
    g_assert_cmpuint(read_data(IO_BASE), ==, 'Q');
    /* A byte write to the 16-bit selector is dropped, not half-applied. */
    g_assert_cmpint(address_space_write_sized(&address_space_io, IO_BASE, 0x01, 1), ==,
                    MEMTX_OK);
    g_assert_cmpuint(read_data(IO_BASE), ==, 'E');
}

static uint32_t be32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static void test_file_dir(void)
{
    static const char small[] = "abc";
    uint8_t big[300];
    uint8_t dir[4 + 3 * FW_CFG_FILE_ENTRY_SIZE];
    uint8_t buf[sizeof(big)];
    g_autoptr(GError) err = NULL;
    uint16_t key_small, key_big, key;
    char long_name[FW_CFG_MAX_FILE_PATH + 1];

    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i * 7 + 1);
    }
    key_small = fw_cfg_add_file(fw_cfg, "etc/small", small, 3, &err);
    g_assert_no_error(err);
    key_big = fw_cfg_add_file(fw_cfg, "opt/org.kestrel/big", big, sizeof(big), &err);
    g_assert_no_error(err);
    g_assert_cmphex(key_small, ==, FW_CFG_FILE_FIRST);
    g_assert_cmphex(key_big, ==, FW_CFG_FILE_FIRST + 1);

    read_item(FW_CFG_FILE_DIR, dir, 4 + 2 * FW_CFG_FILE_ENTRY_SIZE);
    g_assert_cmpuint(be32_at(dir), ==, 2);
    g_assert_cmpuint(be32_at(dir + 4), ==, 3);
    g_assert_cmphex(dir[8] << 8 | dir[9], ==, key_small);
    g_assert_cmpstr((char *)dir + 12, ==, "etc/small");
    g_assert_cmpuint(be32_at(dir + 4 + 64), ==, sizeof(big));
    g_assert_cmphex(dir[8 + 64] << 8 | dir[9 + 64], ==, key_big);
    g_assert_cmpstr((char *)dir + 12 + 64, ==, "opt/org.kestrel/big");
    /* The directory ends after its two entries. */
    g_assert_cmpuint(read_data(IO_BASE), ==, 0);

    read_item(key_big, buf, sizeof(buf));
    g_assert_cmpmem(buf, sizeof(buf), big, sizeof(big));
    g_assert_cmpuint(read_data(IO_BASE), ==, 0);

    /* Rejected names leave the directory alone. */
    key = fw_cfg_add_file(fw_cfg, "etc/small", small, 3, &err);
    g_assert_cmpuint(key, ==, 0);
    g_assert_error(err, KESTREL_ERROR, KESTREL_ERROR_FAILED);
    g_assert_nonnull(strstr(err->message, "already exists"));
    g_clear_error(&err);
    memset(long_name, 'n', FW_CFG_MAX_FILE_PATH);
    long_name[FW_CFG_MAX_FILE_PATH] = '\0';
    g_assert_cmpuint(fw_cfg_add_file(fw_cfg, long_name, small, 3, &err), ==, 0);
    g_assert_nonnull(err);
    g_clear_error(&err);
    read_item(FW_CFG_FILE_DIR, dir, 4);
    g_assert_cmpuint(be32_at(dir), ==, 2);

    /* modify_file updates the data and the directory's size. */
    g_assert_true(fw_cfg_modify_file(fw_cfg, "etc/small", "wxyz", 4));
    g_assert_false(fw_cfg_modify_file(fw_cfg, "etc/none", "x", 1));
    read_item(FW_CFG_FILE_DIR, dir, 4 + FW_CFG_FILE_ENTRY_SIZE);
    g_assert_cmpuint(be32_at(dir + 4), ==, 4);
    read_item(key_small, buf, 5);
    g_assert_cmpmem(buf, 5, "wxyz\0", 5);
}

/* ---- DMA ---- */

static void put_desc(uint32_t control, uint32_t length, uint64_t address)
{
    uint8_t desc[16];
    uint32_t c = GUINT32_TO_BE(control), l = GUINT32_TO_BE(length);
    uint64_t a = GUINT64_TO_BE(address);

    memcpy(desc, &c, 4);
    memcpy(desc + 4, &l, 4);
    memcpy(desc + 8, &a, 8);
    g_assert_cmpint(address_space_write(&address_space_memory, DESC_ADDR, desc, 16), ==,
                    MEMTX_OK);
}

static uint32_t get_control(void)
{
    uint32_t c;
    g_assert_cmpint(address_space_read(&address_space_memory, DESC_ADDR, &c, 4), ==, MEMTX_OK);
    return GUINT32_FROM_BE(c);
}

/* Triggers DMA the way a guest does: the big-endian halves, high first. */
static void kick_dma(uint64_t desc_addr)
{
    uint32_t hi = GUINT32_SWAP_LE_BE((uint32_t)(desc_addr >> 32));
    uint32_t lo = GUINT32_SWAP_LE_BE((uint32_t)desc_addr);

    g_assert_cmpint(address_space_write_sized(&address_space_io, IO_BASE + 4, hi, 4), ==,
                    MEMTX_OK);
    g_assert_cmpint(address_space_write_sized(&address_space_io, IO_BASE + 8, lo, 4), ==,
                    MEMTX_OK);
}

static void fill_buf(uint8_t value, size_t len)
{
    g_autofree uint8_t *junk = g_malloc(len);
    memset(junk, value, len);
    address_space_write(&address_space_memory, BUF_ADDR, junk, len);
}

static void test_dma_read(void)
{
    uint8_t buf[16];
    uint64_t sig = 0;

    /* The DMA register reads as "QEMU CFG". */
    g_assert_cmpint(address_space_read_sized(&address_space_io, IO_BASE + 4, &sig, 4), ==,
                    MEMTX_OK);
    g_assert_cmphex(sig, ==, 0x554d4551);   /* bytes 'Q' 'E' 'M' 'U' */
    g_assert_cmpint(address_space_read_sized(&address_space_io, IO_BASE + 8, &sig, 4), ==,
                    MEMTX_OK);
    g_assert_cmphex(sig, ==, 0x47464320);   /* bytes ' ' 'C' 'F' 'G' */

    /* Select + read more than the item: the rest is zero-filled. */
    fill_buf(0xaa, sizeof(buf));
    put_desc(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 8, BUF_ADDR);
    kick_dma(DESC_ADDR);
    g_assert_cmphex(get_control(), ==, 0);
    address_space_read(&address_space_memory, BUF_ADDR, buf, sizeof(buf));
    g_assert_cmpmem(buf, 8, "QEMU\0\0\0\0", 8);
    g_assert_cmpuint(buf[8], ==, 0xaa);

    /* Skip then read continues at the offset; port reads share it. */
    fill_buf(0xaa, sizeof(buf));
    put_desc(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 1, 0);
    kick_dma(DESC_ADDR);
    g_assert_cmphex(get_control(), ==, 0);
    put_desc(FW_CFG_DMA_CTL_READ, 2, BUF_ADDR);
    kick_dma(DESC_ADDR);
    g_assert_cmphex(get_control(), ==, 0);
    address_space_read(&address_space_memory, BUF_ADDR, buf, 3);
    g_assert_cmpmem(buf, 3, "EM\xaa", 3);
    g_assert_cmpuint(read_data(IO_BASE), ==, 'U');

    /* One 64-bit write (the DMA register as MMIO-style) also triggers. */
    put_desc(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4, BUF_ADDR);
    g_assert_cmpint(address_space_write_sized(&address_space_io, IO_BASE + 4,
                                              GUINT64_SWAP_LE_BE((uint64_t)DESC_ADDR), 8),
                    ==, MEMTX_OK);
    g_assert_cmphex(get_control(), ==, 0);
}

static void test_dma_errors(void)
{
    uint8_t byte;

    /* Target outside RAM: error bit, nothing else happens. */
    put_desc(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4,
             0x80000000ULL);
    kick_dma(DESC_ADDR);
    g_assert_cmphex(get_control() & FW_CFG_DMA_CTL_ERROR, ==, FW_CFG_DMA_CTL_ERROR);

    /* Target running off the end of RAM. */
    put_desc(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 0x100,
             RAM_SIZE - 2);
    kick_dma(DESC_ADDR);
    g_assert_cmphex(get_control() & FW_CFG_DMA_CTL_ERROR, ==, FW_CFG_DMA_CTL_ERROR);

    /* A wrapping target. */
    put_desc(FW_CFG_DMA_CTL_READ, 0x100, UINT64_MAX - 0x10);
    kick_dma(DESC_ADDR);
    g_assert_cmphex(get_control() & FW_CFG_DMA_CTL_ERROR, ==, FW_CFG_DMA_CTL_ERROR);

    /* Writes to read-only items are refused and change nothing. */
    fill_buf('Z', 4);
    put_desc(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4, BUF_ADDR);
    kick_dma(DESC_ADDR);
    g_assert_cmphex(get_control() & FW_CFG_DMA_CTL_ERROR, ==, FW_CFG_DMA_CTL_ERROR);
    select_key(IO_BASE, FW_CFG_SIGNATURE);
    g_assert_cmpuint(read_data(IO_BASE), ==, 'Q');

    /* Reading an invalid key by DMA gives zeros, like the port. */
    fill_buf(0xaa, 4);
    put_desc(0x3000u << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4, BUF_ADDR);
    kick_dma(DESC_ADDR);
    g_assert_cmphex(get_control(), ==, 0);
    address_space_read(&address_space_memory, BUF_ADDR + 3, &byte, 1);
    g_assert_cmpuint(byte, ==, 0);

    /* A descriptor outside RAM: dropped (there is nowhere to report). */
    kick_dma(0x90000000ULL);
    kick_dma(UINT64_MAX - 4);
    /* Odd-sized register writes are ignored. */
    g_assert_cmpint(address_space_write_sized(&address_space_io, IO_BASE + 5, 0x12, 1), ==,
                    MEMTX_OK);
    /* The device still works. */
    select_key(IO_BASE, FW_CFG_SIGNATURE);
    g_assert_cmpuint(read_data(IO_BASE), ==, 'Q');
}

static void test_no_dma(void)
{
    g_autoptr(GError) err = NULL;
    FWCfgState *plain = fw_cfg_init_io(NODMA_IO_BASE, false, &err);
    uint32_t id = 0;
    uint64_t v;

    g_assert_no_error(err);
    g_assert_nonnull(plain);
    select_key(NODMA_IO_BASE, FW_CFG_ID);
    for (int i = 0; i < 4; i++) {
        id |= (uint32_t)read_data(NODMA_IO_BASE) << (8 * i);
    }
    g_assert_cmphex(id, ==, FW_CFG_VERSION);
    /* Nothing answers at the DMA port. */
    g_assert_cmpint(address_space_read_sized(&address_space_io, NODMA_IO_BASE + 4, &v, 4), !=,
                    MEMTX_OK);
    device_destroy(fw_cfg_device(plain));
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;

    g_test_init(&argc, &argv, NULL);
    memory_system_init();
    g_assert_true(memory_region_init_ram(&ram, NULL, "test.ram", RAM_SIZE, &err));
    memory_region_add_subregion(get_system_memory(), 0, &ram);
    fw_cfg = fw_cfg_init_io(IO_BASE, true, &err);
    g_assert_no_error(err);

    g_test_add_func("/fw_cfg/signature", test_signature);
    g_test_add_func("/fw_cfg/ram_size", test_ram_size);
    g_test_add_func("/fw_cfg/bad_selector", test_bad_selector);
    g_test_add_func("/fw_cfg/file_dir", test_file_dir);
    g_test_add_func("/fw_cfg/dma_read", test_dma_read);
    g_test_add_func("/fw_cfg/dma_errors", test_dma_errors);
    g_test_add_func("/fw_cfg/no_dma", test_no_dma);
    return g_test_run();
}
