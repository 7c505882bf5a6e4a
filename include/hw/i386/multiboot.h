/*
 * Multiboot (version 0.6.96) kernel loading: the header in the first 8 KiB
 * of the image, ELF32 or a.out-kludge loading, modules from -initrd and the
 * multiboot information structure. See docs/pc-machine.md.
 */
#ifndef HW_I386_MULTIBOOT_H
#define HW_I386_MULTIBOOT_H

#include "hw/i386/x86-boot.h"

#define MULTIBOOT_HEADER_MAGIC      0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC  0x2BADB002u
#define MULTIBOOT_SEARCH            8192

/* Header flags. */
#define MULTIBOOT_PAGE_ALIGN        (1u << 0)
#define MULTIBOOT_MEMORY_INFO       (1u << 1)
#define MULTIBOOT_VIDEO_MODE        (1u << 2)
#define MULTIBOOT_AOUT_KLUDGE       (1u << 16)

/* Information structure flags. */
#define MULTIBOOT_INFO_MEMORY       (1u << 0)
#define MULTIBOOT_INFO_BOOTDEV      (1u << 1)
#define MULTIBOOT_INFO_CMDLINE      (1u << 2)
#define MULTIBOOT_INFO_MODS         (1u << 3)
#define MULTIBOOT_INFO_MEM_MAP      (1u << 6)
#define MULTIBOOT_INFO_LOADER_NAME  (1u << 9)

/* Offsets in the information structure. */
#define MBI_FLAGS                   0
#define MBI_MEM_LOWER               4
#define MBI_MEM_UPPER               8
#define MBI_BOOT_DEVICE             12
#define MBI_CMDLINE                 16
#define MBI_MODS_COUNT              20
#define MBI_MODS_ADDR               24
#define MBI_MMAP_LENGTH             44
#define MBI_MMAP_ADDR               48
#define MBI_BOOT_LOADER_NAME        64
#define MBI_SIZE                    88   /* up to the VBE fields */

#define MB_MOD_SIZE                 16   /* mod_start, mod_end, string, reserved */
#define MB_MMAP_ENTRY_SIZE          24   /* size (=20), base_addr, length, type */

#define MULTIBOOT_LOADER_NAME       "kestrel"

/* True if a valid multiboot header is in the image. Otherwise *why_not (if
 * given) gets a g_strdup'ed reason ("no multiboot header", "... bad
 * checksum"). */
bool multiboot_probe(const uint8_t *image, size_t len, char **why_not);

/* Builds the boot plan for a multiboot image (already read into `image`). */
X86BootPlan *multiboot_load(const X86KernelLoadOptions *opts, GBytes *image, GError **errp);

#endif
