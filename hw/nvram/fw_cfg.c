/*
 * fw_cfg, the firmware configuration device (I/O-port flavour, x86).
 *
 * Registers (relative to iobase, 0x510 on the pc machine):
 *   +0  selector, 16-bit write: picks an item, rewinds its data offset
 *   +1  data, 8-bit read: the next byte of the item, 0 past its end
 *   +4  DMA address, 8 bytes big-endian; writing the low half (+8, or one
 *       64-bit write at +4) runs the descriptor at that guest address
 *
 * Everything the guest gives us (selector values, DMA descriptor address,
 * length and target) is checked: reads of missing items or past an item's
 * end produce zeros, DMA copies go through the memory API (so they can only
 * reach guest RAM, and dirty tracking sees them), and every failure ends in
 * the descriptor's error bit rather than in the host.
 */
#include "hw/nvram/fw_cfg.h"
#include "exec/memory.h"
#include "kestrel/log.h"

#define FW_CFG_ENTRIES (FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS)

typedef struct FWCfgEntry {
    GBytes *data;          /* NULL: no item at this key */
    bool allow_write;      /* DMA writes permitted (none are, so far) */
} FWCfgEntry;

struct FWCfgState {
    DeviceState parent;

    /* properties */
    uint16_t iobase;
    bool dma_enabled;

    MemoryRegion ctl_data_io;   /* selector + data, 2 ports */
    MemoryRegion dma_io;        /* DMA address register, 8 ports */
    bool regions_mapped;

    /* [0] generic items, [1] FW_CFG_ARCH_LOCAL items */
    FWCfgEntry entries[2][FW_CFG_ENTRIES];
    char file_names[FW_CFG_FILE_SLOTS][FW_CFG_MAX_FILE_PATH];
    unsigned file_count;

    /* Guest-visible state. */
    uint16_t cur_key;           /* FW_CFG_INVALID when nothing valid is selected */
    uint32_t cur_offset;
    uint64_t dma_addr;          /* the high half written so far */
};

/* ---- item table ---- */

/* The entry a key (selector value) names, or NULL for keys with no slot. */
static FWCfgEntry *fw_cfg_entry(FWCfgState *s, uint16_t key)
{
    unsigned index = key & FW_CFG_ENTRY_MASK;
    unsigned arch = (key & FW_CFG_ARCH_LOCAL) ? 1 : 0;

    if (key == FW_CFG_INVALID || index >= FW_CFG_ENTRIES) {
        return NULL;
    }
    return &s->entries[arch][index];
}

static void fw_cfg_set_entry(FWCfgState *s, uint16_t key, GBytes *data)
{
    FWCfgEntry *entry = fw_cfg_entry(s, key);

    g_assert(entry != NULL);
    if (entry->data) {
        g_bytes_unref(entry->data);
    }
    entry->data = data;
}

void fw_cfg_add_gbytes(FWCfgState *s, uint16_t key, GBytes *data)
{
    /* Files go through fw_cfg_add_file so the directory stays right. */
    g_assert((key & FW_CFG_ENTRY_MASK) < FW_CFG_FILE_FIRST || (key & FW_CFG_ARCH_LOCAL));
    fw_cfg_set_entry(s, key, g_bytes_ref(data));
}

void fw_cfg_add_bytes(FWCfgState *s, uint16_t key, const void *data, size_t len)
{
    GBytes *bytes = g_bytes_new(data, len);

    fw_cfg_add_gbytes(s, key, bytes);
    g_bytes_unref(bytes);
}

void fw_cfg_add_string(FWCfgState *s, uint16_t key, const char *value)
{
    fw_cfg_add_bytes(s, key, value, strlen(value) + 1);
}

void fw_cfg_add_i16(FWCfgState *s, uint16_t key, uint16_t value)
{
    uint16_t le = GUINT16_TO_LE(value);
    fw_cfg_add_bytes(s, key, &le, sizeof(le));
}

void fw_cfg_add_i32(FWCfgState *s, uint16_t key, uint32_t value)
{
    uint32_t le = GUINT32_TO_LE(value);
    fw_cfg_add_bytes(s, key, &le, sizeof(le));
}

void fw_cfg_add_i64(FWCfgState *s, uint16_t key, uint64_t value)
{
    uint64_t le = GUINT64_TO_LE(value);
    fw_cfg_add_bytes(s, key, &le, sizeof(le));
}

GBytes *fw_cfg_get_item(FWCfgState *s, uint16_t key)
{
    FWCfgEntry *entry = fw_cfg_entry(s, key);
    return entry ? entry->data : NULL;
}

DeviceState *fw_cfg_device(FWCfgState *s)
{
    return &s->parent;
}

/* Rebuilds the FW_CFG_FILE_DIR item: a big-endian count, then one 64-byte
 * entry (BE size, BE key, reserved, NUL-padded name) per file. */
static void fw_cfg_rebuild_file_dir(FWCfgState *s)
{
    size_t len = 4 + (size_t)s->file_count * FW_CFG_FILE_ENTRY_SIZE;
    uint8_t *dir = g_malloc0(len);
    uint32_t count_be = GUINT32_TO_BE(s->file_count);

    memcpy(dir, &count_be, 4);
    for (unsigned i = 0; i < s->file_count; i++) {
        uint8_t *ent = dir + 4 + (size_t)i * FW_CFG_FILE_ENTRY_SIZE;
        uint16_t key = FW_CFG_FILE_FIRST + i;
        GBytes *data = s->entries[0][key].data;
        uint32_t size_be = GUINT32_TO_BE((uint32_t)(data ? g_bytes_get_size(data) : 0));
        uint16_t key_be = GUINT16_TO_BE(key);

        memcpy(ent, &size_be, 4);
        memcpy(ent + 4, &key_be, 2);
        /* ent[6..7] reserved, zero */
        memcpy(ent + 8, s->file_names[i], FW_CFG_MAX_FILE_PATH);
    }
    fw_cfg_set_entry(s, FW_CFG_FILE_DIR, g_bytes_new_take(dir, len));
}

static int fw_cfg_find_file(FWCfgState *s, const char *name)
{
    for (unsigned i = 0; i < s->file_count; i++) {
        if (strcmp(s->file_names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

uint16_t fw_cfg_add_file_gbytes(FWCfgState *s, const char *name, GBytes *data,
                                GError **errp)
{
    size_t name_len = strlen(name);
    uint16_t key;

    if (name_len == 0 || name_len >= FW_CFG_MAX_FILE_PATH) {
        error_setg(errp, "fw_cfg file name '%s' must be 1 to %d bytes long",
                   name, FW_CFG_MAX_FILE_PATH - 1);
        return 0;
    }
    if (fw_cfg_find_file(s, name) >= 0) {
        error_setg(errp, "fw_cfg file '%s' already exists", name);
        return 0;
    }
    if (s->file_count >= FW_CFG_FILE_SLOTS) {
        error_setg(errp, "fw_cfg has no free slot for file '%s' (%d files max)",
                   name, FW_CFG_FILE_SLOTS);
        return 0;
    }
    if (g_bytes_get_size(data) > UINT32_MAX) {
        error_setg(errp, "fw_cfg file '%s' is larger than 4 GiB", name);
        return 0;
    }
    key = FW_CFG_FILE_FIRST + s->file_count;
    memset(s->file_names[s->file_count], 0, FW_CFG_MAX_FILE_PATH);
    memcpy(s->file_names[s->file_count], name, name_len);
    s->file_count++;
    fw_cfg_set_entry(s, key, g_bytes_ref(data));
    fw_cfg_rebuild_file_dir(s);
    return key;
}

uint16_t fw_cfg_add_file(FWCfgState *s, const char *name, const void *data, size_t len,
                         GError **errp)
{
    GBytes *bytes = g_bytes_new(data, len);
    uint16_t key = fw_cfg_add_file_gbytes(s, name, bytes, errp);

    g_bytes_unref(bytes);
    return key;
}

bool fw_cfg_modify_file(FWCfgState *s, const char *name, const void *data, size_t len)
{
    int index = fw_cfg_find_file(s, name);

    if (index < 0) {
        return false;
    }
    fw_cfg_set_entry(s, FW_CFG_FILE_FIRST + index, g_bytes_new(data, len));
    fw_cfg_rebuild_file_dir(s);
    return true;
}

/* ---- the guest interface ---- */

static void fw_cfg_select(FWCfgState *s, uint16_t key)
{
    s->cur_offset = 0;
    if (fw_cfg_entry(s, key) == NULL) {
        log_guest_error("fw_cfg: selected key 0x%04x has no item slot\n", key);
        s->cur_key = FW_CFG_INVALID;
        return;
    }
    s->cur_key = key;
}

/* The selected item's bytes (NULL and 0 if none). */
static const uint8_t *fw_cfg_current(FWCfgState *s, size_t *len)
{
    FWCfgEntry *entry = fw_cfg_entry(s, s->cur_key);

    if (entry == NULL || entry->data == NULL) {
        *len = 0;
        return NULL;
    }
    return g_bytes_get_data(entry->data, len);
}

static uint8_t fw_cfg_read_byte(FWCfgState *s)
{
    size_t len;
    const uint8_t *data = fw_cfg_current(s, &len);

    if (data == NULL || s->cur_offset >= len) {
        return 0;   /* missing item or past its end */
    }
    return data[s->cur_offset++];
}

static uint64_t fw_cfg_ctl_data_read(void *opaque, hwaddr addr, unsigned size)
{
    FWCfgState *s = opaque;
    uint64_t value = 0;

    if (addr != 1) {
        log_guest_error("fw_cfg: read of the write-only selector register\n");
        return 0;
    }
    /* The data register is byte wide on x86; a wider read still behaves like
     * successive byte reads (string order), which is what MMIO fw_cfg does. */
    for (unsigned i = 0; i < size && i < 8; i++) {
        value |= (uint64_t)fw_cfg_read_byte(s) << (8 * i);
    }
    return value;
}

static void fw_cfg_ctl_data_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    FWCfgState *s = opaque;

    if (addr == 0 && size >= 2) {
        fw_cfg_select(s, (uint16_t)data);
    } else if (addr == 0) {
        log_guest_error("fw_cfg: %u-byte write to the 16-bit selector ignored\n", size);
    } else {
        /* Data-port writes are ignored, as in QEMU >= 2.4. */
        log_guest_error("fw_cfg: write to the data register ignored\n");
    }
}

static const MemoryRegionOps fw_cfg_ctl_data_ops = {
    .read = fw_cfg_ctl_data_read,
    .write = fw_cfg_ctl_data_write,
    .min_access_size = 1,
    .max_access_size = 2,
    .unaligned = true,
};

/* Zero-fills [addr, addr + len) of guest memory; false if any of it is not
 * writable RAM (the rest of the write is then abandoned). */
static bool fw_cfg_dma_zero(hwaddr addr, uint64_t len)
{
    static const uint8_t zeros[4096];

    while (len > 0) {
        hwaddr chunk = MIN(len, sizeof(zeros));
        if (address_space_write(&address_space_memory, addr, zeros, chunk) != MEMTX_OK) {
            return false;
        }
        addr += chunk;
        len -= chunk;
    }
    return true;
}

/* Runs one DMA descriptor; returns the control value to write back. */
static uint32_t fw_cfg_dma_run(FWCfgState *s, uint32_t control, uint32_t length,
                               uint64_t address)
{
    FWCfgEntry *entry;
    const uint8_t *data;
    size_t item_len;

    if (control & FW_CFG_DMA_CTL_SELECT) {
        fw_cfg_select(s, control >> 16);
    }
    entry = fw_cfg_entry(s, s->cur_key);
    data = fw_cfg_current(s, &item_len);

    if (control & FW_CFG_DMA_CTL_READ) {
        uint64_t avail = (s->cur_offset < item_len) ? item_len - s->cur_offset : 0;
        uint64_t copy = MIN((uint64_t)length, avail);

        if (length > 0 && address + length - 1 < address) {
            log_guest_error("fw_cfg: DMA read target 0x%" PRIx64 "+0x%x wraps\n",
                            address, length);
            return FW_CFG_DMA_CTL_ERROR;
        }
        if (copy > 0 &&
            address_space_write(&address_space_memory, address,
                                data + s->cur_offset, copy) != MEMTX_OK) {
            log_guest_error("fw_cfg: DMA read to 0x%" PRIx64 " is not RAM\n", address);
            return FW_CFG_DMA_CTL_ERROR;
        }
        /* Past the end of the item the guest gets zeros. */
        if (length > copy && !fw_cfg_dma_zero(address + copy, length - copy)) {
            log_guest_error("fw_cfg: DMA read to 0x%" PRIx64 " is not RAM\n",
                            address + copy);
            return FW_CFG_DMA_CTL_ERROR;
        }
        s->cur_offset = (uint32_t)MIN((uint64_t)s->cur_offset + copy, (uint64_t)item_len);
        return 0;
    }
    if (control & FW_CFG_DMA_CTL_WRITE) {
        uint8_t *buf;
        GBytes *updated;

        if (entry == NULL || entry->data == NULL || !entry->allow_write ||
            (uint64_t)s->cur_offset + length > item_len) {
            log_guest_error("fw_cfg: DMA write to key 0x%04x rejected\n", s->cur_key);
            return FW_CFG_DMA_CTL_ERROR;
        }
        buf = g_memdup2(data, item_len);
        if (address_space_read(&address_space_memory, address, buf + s->cur_offset,
                               length) != MEMTX_OK) {
            g_free(buf);
            log_guest_error("fw_cfg: DMA write source 0x%" PRIx64 " is not RAM\n", address);
            return FW_CFG_DMA_CTL_ERROR;
        }
        updated = g_bytes_new_take(buf, item_len);
        g_bytes_unref(entry->data);
        entry->data = updated;
        s->cur_offset += length;
        return 0;
    }
    if (control & FW_CFG_DMA_CTL_SKIP) {
        s->cur_offset = (uint32_t)MIN((uint64_t)s->cur_offset + length, (uint64_t)item_len);
        return 0;
    }
    return 0;   /* select only (or nothing) */
}

/* The guest wrote the low half of the DMA address: fetch the descriptor at
 * dma_addr, run it, write the result into its control field. */
static void fw_cfg_dma_transfer(FWCfgState *s)
{
    uint8_t desc[16];
    uint32_t control_be, length_be, result_be;
    uint64_t address_be;
    hwaddr desc_addr = s->dma_addr;

    s->dma_addr = 0;   /* the register reads back 0 after an operation */
    if (address_space_read(&address_space_memory, desc_addr, desc, sizeof(desc)) != MEMTX_OK) {
        log_guest_error("fw_cfg: DMA descriptor at 0x%" PRIx64 " is not in RAM\n", desc_addr);
        return;
    }
    memcpy(&control_be, desc, 4);
    memcpy(&length_be, desc + 4, 4);
    memcpy(&address_be, desc + 8, 8);
    result_be = GUINT32_TO_BE(fw_cfg_dma_run(s, GUINT32_FROM_BE(control_be),
                                             GUINT32_FROM_BE(length_be),
                                             GUINT64_FROM_BE(address_be)));
    if (address_space_write(&address_space_memory, desc_addr, &result_be, 4) != MEMTX_OK) {
        log_guest_error("fw_cfg: cannot write DMA status to 0x%" PRIx64 "\n", desc_addr);
    }
}

static uint64_t fw_cfg_dma_read(void *opaque, hwaddr addr, unsigned size)
{
    uint64_t value = 0;

    /* The register reads as the bytes "QEMU CFG" in address order. */
    for (unsigned i = 0; i < size && addr + i < 8; i++) {
        uint8_t byte = (uint8_t)(FW_CFG_DMA_SIGNATURE >> (8 * (7 - (addr + i))));
        value |= (uint64_t)byte << (8 * i);
    }
    return value;
}

static void fw_cfg_dma_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    FWCfgState *s = opaque;

    /* The port bytes hold a big-endian value, so the little-endian access
     * value is byte-swapped. */
    if (addr == 0 && size == 4) {
        s->dma_addr = (uint64_t)GUINT32_SWAP_LE_BE((uint32_t)data) << 32;
    } else if (addr == 4 && size == 4) {
        s->dma_addr = (s->dma_addr & 0xffffffff00000000ULL) |
                      GUINT32_SWAP_LE_BE((uint32_t)data);
        fw_cfg_dma_transfer(s);
    } else if (addr == 0 && size == 8) {
        s->dma_addr = GUINT64_SWAP_LE_BE(data);
        fw_cfg_dma_transfer(s);
    } else {
        log_guest_error("fw_cfg: %u-byte DMA register write at +%" HWADDR_PRIx " ignored\n",
                        size, addr);
    }
}

static const MemoryRegionOps fw_cfg_dma_ops = {
    .read = fw_cfg_dma_read,
    .write = fw_cfg_dma_write,
    .min_access_size = 1,
    .max_access_size = 8,
    .unaligned = true,
};

/* ---- device ---- */

static bool fw_cfg_realize(DeviceState *dev, GError **errp)
{
    FWCfgState *s = (FWCfgState *)dev;
    uint32_t id = FW_CFG_VERSION | (s->dma_enabled ? FW_CFG_VERSION_DMA : 0);
    unsigned span = s->dma_enabled ? FW_CFG_IO_DMA_OFFSET + 8 : 2;

    if ((uint32_t)s->iobase + span > 0x10000) {
        error_setg(errp, "fw_cfg: iobase 0x%x leaves no room for its %u ports",
                   s->iobase, span);
        return false;
    }
    fw_cfg_add_bytes(s, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_i32(s, FW_CFG_ID, id);
    fw_cfg_rebuild_file_dir(s);   /* an empty directory (count 0) */
    s->cur_key = FW_CFG_INVALID;

    memory_region_init_io(&s->ctl_data_io, s, &fw_cfg_ctl_data_ops, s, "fwcfg", 2);
    memory_region_add_subregion(get_system_io(), s->iobase, &s->ctl_data_io);
    if (s->dma_enabled) {
        memory_region_init_io(&s->dma_io, s, &fw_cfg_dma_ops, s, "fwcfg.dma", 8);
        memory_region_add_subregion(get_system_io(), s->iobase + FW_CFG_IO_DMA_OFFSET,
                                    &s->dma_io);
    }
    s->regions_mapped = true;
    return true;
}

static void fw_cfg_unrealize(DeviceState *dev)
{
    FWCfgState *s = (FWCfgState *)dev;

    if (s->regions_mapped) {
        memory_region_del_subregion(get_system_io(), &s->ctl_data_io);
        memory_region_destroy(&s->ctl_data_io);
        if (s->dma_enabled) {
            memory_region_del_subregion(get_system_io(), &s->dma_io);
            memory_region_destroy(&s->dma_io);
        }
        s->regions_mapped = false;
    }
    for (unsigned arch = 0; arch < 2; arch++) {
        for (unsigned i = 0; i < FW_CFG_ENTRIES; i++) {
            if (s->entries[arch][i].data) {
                g_bytes_unref(s->entries[arch][i].data);
                s->entries[arch][i].data = NULL;
            }
        }
    }
    s->file_count = 0;
}

static void fw_cfg_reset(DeviceState *dev)
{
    FWCfgState *s = (FWCfgState *)dev;

    s->cur_key = FW_CFG_INVALID;
    s->cur_offset = 0;
    s->dma_addr = 0;
}

static const Property fw_cfg_props[] = {
    DEFINE_PROP("iobase", PROP_UINT16, FWCfgState, iobase, FW_CFG_IO_BASE,
                "first I/O port (selector; data at +1, DMA at +4)"),
    DEFINE_PROP("dma_enabled", PROP_BOOL, FWCfgState, dma_enabled, true,
                "offer the DMA interface"),
    DEFINE_PROP_END,
};

static const DeviceClass fw_cfg_io_class = {
    .name = TYPE_FW_CFG_IO,
    .description = "firmware configuration interface (I/O ports)",
    .instance_size = sizeof(FWCfgState),
    .props = fw_cfg_props,
    .user_creatable = false,   /* the machine makes it */
    .realize = fw_cfg_realize,
    .unrealize = fw_cfg_unrealize,
    .reset = fw_cfg_reset,
};

static void fw_cfg_register(void)
{
    device_class_register(&fw_cfg_io_class);
}
type_init(fw_cfg_register)

FWCfgState *fw_cfg_init_io(uint16_t iobase, bool dma_enabled, GError **errp)
{
    DeviceState *dev = device_new(TYPE_FW_CFG_IO, errp);
    g_autofree char *base = g_strdup_printf("0x%x", iobase);

    if (dev == NULL) {
        return NULL;
    }
    if (!device_set_prop(dev, "iobase", base, errp) ||
        !device_set_prop(dev, "dma_enabled", dma_enabled ? "on" : "off", errp) ||
        !device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return (FWCfgState *)dev;
}
