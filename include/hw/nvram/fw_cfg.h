/*
 * fw_cfg: the firmware configuration device. The guest selects an item by
 * key through a 16-bit selector register and reads its bytes through an
 * 8-bit data register (x86: ports 0x510 / 0x511), or copies them with the
 * DMA interface (port 0x514, 64-bit big-endian address of a descriptor).
 * Key numbers and formats follow QEMU's docs/specs/fw_cfg.rst so firmware
 * written for QEMU (SeaBIOS, OVMF, Linux's qemu_fw_cfg driver) works.
 * See docs/pc-machine.md.
 */
#ifndef HW_NVRAM_FW_CFG_H
#define HW_NVRAM_FW_CFG_H

#include "kestrel/osdep.h"
#include "hw/qdev.h"

typedef struct FWCfgState FWCfgState;

#define TYPE_FW_CFG_IO "fw_cfg_io"

/* Well-known keys. */
#define FW_CFG_SIGNATURE        0x0000  /* "QEMU" */
#define FW_CFG_ID               0x0001  /* u32 LE feature bits */
#define FW_CFG_UUID             0x0002  /* 16 bytes */
#define FW_CFG_RAM_SIZE         0x0003  /* u64 LE */
#define FW_CFG_NOGRAPHIC        0x0004  /* u16 LE */
#define FW_CFG_NB_CPUS          0x0005  /* u16 LE */
#define FW_CFG_MACHINE_ID       0x0006
#define FW_CFG_KERNEL_ADDR      0x0007  /* u32 LE */
#define FW_CFG_KERNEL_SIZE      0x0008  /* u32 LE */
#define FW_CFG_KERNEL_CMDLINE   0x0009  /* u32 LE: guest address of the command line */
#define FW_CFG_INITRD_ADDR      0x000a
#define FW_CFG_INITRD_SIZE      0x000b
#define FW_CFG_BOOT_DEVICE      0x000c
#define FW_CFG_NUMA             0x000d
#define FW_CFG_BOOT_MENU        0x000e
#define FW_CFG_MAX_CPUS         0x000f  /* u16 LE */
#define FW_CFG_KERNEL_ENTRY     0x0010
#define FW_CFG_KERNEL_DATA      0x0011
#define FW_CFG_INITRD_DATA      0x0012
#define FW_CFG_CMDLINE_ADDR     0x0013
#define FW_CFG_CMDLINE_SIZE     0x0014
#define FW_CFG_CMDLINE_DATA     0x0015
#define FW_CFG_SETUP_ADDR       0x0016
#define FW_CFG_SETUP_SIZE       0x0017
#define FW_CFG_SETUP_DATA       0x0018
#define FW_CFG_FILE_DIR         0x0019  /* u32 BE count, then FWCfgFile entries */
#define FW_CFG_FILE_FIRST       0x0020  /* first key given to add_file items */

/* Selector bits: write channel (ignored, as in QEMU >= 2.4) and
 * architecture-specific item. */
#define FW_CFG_WRITE_CHANNEL    0x4000
#define FW_CFG_ARCH_LOCAL       0x8000
#define FW_CFG_ENTRY_MASK       0x3fff
#define FW_CFG_INVALID          0xffff

/* How many add_file items fit (keys FW_CFG_FILE_FIRST ...). */
#define FW_CFG_FILE_SLOTS       0x40
#define FW_CFG_MAX_FILE_PATH    56
#define FW_CFG_FILE_ENTRY_SIZE  64      /* size, select, reserved, name[56] */

/* FW_CFG_ID bits. */
#define FW_CFG_VERSION          0x01    /* traditional selector/data interface */
#define FW_CFG_VERSION_DMA      0x02    /* DMA interface */

/* DMA descriptor control bits (the descriptor is big-endian in guest RAM:
 * u32 control, u32 length, u64 address). */
#define FW_CFG_DMA_CTL_ERROR    0x01
#define FW_CFG_DMA_CTL_READ     0x02
#define FW_CFG_DMA_CTL_SKIP     0x04
#define FW_CFG_DMA_CTL_SELECT   0x08
#define FW_CFG_DMA_CTL_WRITE    0x10
#define FW_CFG_DMA_SIGNATURE    0x51454d5520434647ULL  /* "QEMU CFG" read big-endian */

/* The x86 I/O ports. */
#define FW_CFG_IO_BASE          0x510   /* selector; data at +1 */
#define FW_CFG_IO_DMA_OFFSET    4       /* DMA address at base + 4 (8 bytes) */

/* Creates and realizes an fw_cfg_io device at iobase (selector/data at
 * iobase, iobase + 1; DMA, if enabled, at iobase + 4, doing its copies in
 * address_space_memory). The signature and ID items are already present. */
FWCfgState *fw_cfg_init_io(uint16_t iobase, bool dma_enabled, GError **errp);

/* Items. Each call copies the data (or refs the GBytes) and replaces any item
 * already at that key. Keys are FW_CFG_* values, optionally | FW_CFG_ARCH_LOCAL;
 * a key out of range (or in the file range) is a programming error. */
void fw_cfg_add_bytes(FWCfgState *s, uint16_t key, const void *data, size_t len);
void fw_cfg_add_gbytes(FWCfgState *s, uint16_t key, GBytes *data);
void fw_cfg_add_string(FWCfgState *s, uint16_t key, const char *value); /* with its NUL */
void fw_cfg_add_i16(FWCfgState *s, uint16_t key, uint16_t value);      /* little-endian */
void fw_cfg_add_i32(FWCfgState *s, uint16_t key, uint32_t value);
void fw_cfg_add_i64(FWCfgState *s, uint16_t key, uint64_t value);

/* Adds a named item (listed in FW_CFG_FILE_DIR) and returns its key, or 0
 * with *errp set if the name is empty, too long (>= 56 bytes), already used,
 * or no slot is left. Files get keys in the order they are added. */
uint16_t fw_cfg_add_file(FWCfgState *s, const char *name, const void *data, size_t len,
                         GError **errp);
uint16_t fw_cfg_add_file_gbytes(FWCfgState *s, const char *name, GBytes *data,
                                GError **errp);
/* Replaces the data of an existing file item; false if there is none. */
bool fw_cfg_modify_file(FWCfgState *s, const char *name, const void *data, size_t len);
/* The data of the item at key (NULL if none); for tests and inspection. */
GBytes *fw_cfg_get_item(FWCfgState *s, uint16_t key);

/* The device behind a state (it starts with a DeviceState). */
DeviceState *fw_cfg_device(FWCfgState *s);

#endif
