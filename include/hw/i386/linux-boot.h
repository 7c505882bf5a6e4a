/*
 * Linux bzImage loading per the x86 boot protocol (Documentation/arch/x86/
 * boot.rst, 2.06 or later) through the 32-bit entry: the protected-mode
 * kernel at 1 MiB, a zero page (struct boot_params) built here, and the CPU
 * in flat protected mode with ESI pointing at the zero page. See
 * docs/boot.md, "Linux kernel loading".
 */
#ifndef HW_I386_LINUX_BOOT_H
#define HW_I386_LINUX_BOOT_H

#include "hw/i386/x86-boot.h"

/* Setup header offsets, in the image file and in the zero page alike. */
#define LINUX_SETUP_SECTS           0x1f1   /* u8: 512-byte sectors of setup (0 = 4) */
#define LINUX_SYSSIZE               0x1f4   /* u32: protected-mode size in 16-byte units */
#define LINUX_VID_MODE              0x1fa   /* u16 */
#define LINUX_BOOT_FLAG             0x1fe   /* u16: 0xaa55 */
#define LINUX_JUMP                  0x200   /* u16: jmp short; its byte 0x201 sizes the header */
#define LINUX_HEADER                0x202   /* u32: "HdrS" */
#define LINUX_VERSION               0x206   /* u16: protocol version, e.g. 0x020f */
#define LINUX_KERNEL_VERSION        0x20e   /* u16: offset - 0x200 of a version string */
#define LINUX_TYPE_OF_LOADER        0x210   /* u8 */
#define LINUX_LOADFLAGS             0x211   /* u8 */
#define LINUX_CODE32_START          0x214   /* u32 */
#define LINUX_RAMDISK_IMAGE         0x218   /* u32 */
#define LINUX_RAMDISK_SIZE          0x21c   /* u32 */
#define LINUX_HEAP_END_PTR          0x224   /* u16: heap end - 0x200, from setup start */
#define LINUX_CMD_LINE_PTR          0x228   /* u32 */
#define LINUX_INITRD_ADDR_MAX       0x22c   /* u32: highest byte the initrd may occupy */
#define LINUX_KERNEL_ALIGNMENT      0x230   /* u32 */
#define LINUX_RELOCATABLE_KERNEL    0x234   /* u8 */
#define LINUX_XLOADFLAGS            0x236   /* u16 */
#define LINUX_CMDLINE_SIZE          0x238   /* u32: longest command line, without NUL */
#define LINUX_PREF_ADDRESS          0x258   /* u64 */
#define LINUX_INIT_SIZE             0x260   /* u32 */
#define LINUX_SETUP_HEADER_LIMIT    0x290   /* the zero page's header area ends here */

#define LINUX_HDR_MAGIC             0x53726448u   /* "HdrS" little-endian */
#define LINUX_BOOT_FLAG_MAGIC       0xaa55
#define LINUX_MIN_PROTOCOL          0x0206

/* loadflags bits. */
#define LINUX_LOADED_HIGH           0x01
#define LINUX_CAN_USE_HEAP          0x80

/* Zero page (struct boot_params) fields outside the setup header. */
#define LINUX_BP_ACPI_RSDP_ADDR     0x070   /* u64, any protocol */
#define LINUX_BP_ALT_MEM_K          0x1e0   /* u32: KiB of memory above 1 MiB */
#define LINUX_BP_E820_ENTRIES       0x1e8   /* u8 */
#define LINUX_BP_E820_TABLE         0x2d0   /* 128 x {u64 addr, u64 size, u32 type} */
#define LINUX_BP_E820_MAX           128
#define LINUX_BP_E820_ENTRY_SIZE    20
#define LINUX_BP_SIZE               0x1000

#define LINUX_TYPE_OF_LOADER_UNDEFINED 0xff

/* Where the loader puts things (all free RAM below 640 KiB on the pc
 * machine; see docs/boot.md). */
#define LINUX_BOOT_GDT_ADDR         0x1000    /* null, null, 0x10 code, 0x18 data */
#define LINUX_BOOT_GDT_SIZE         32
#define LINUX_BOOT_PARAMS_ADDR      0x7000    /* the zero page, ESI at entry */
#define LINUX_BOOT_CMDLINE_ADDR     0x20000   /* up to LINUX_BOOT_CMDLINE_MAX bytes */
#define LINUX_BOOT_CMDLINE_MAX      0x10000
#define LINUX_BOOT_SETUP_ADDR       0x90000   /* real-mode code (not run; see docs) */
#define LINUX_BOOT_HEAP_END         0xe000    /* from LINUX_BOOT_SETUP_ADDR */
#define LINUX_BOOT_KERNEL_ADDR      0x100000  /* protected-mode kernel, the entry */

/* True if the image carries a Linux setup header ("HdrS" at 0x202). A
 * bzImage is claimed even when it also has a multiboot header. Otherwise
 * *why_not (if given) gets a g_strdup'ed reason. */
bool linux_boot_probe(const uint8_t *image, size_t len, char **why_not);

/* Builds the boot plan for a bzImage already read into `image`. Refuses
 * (naming the file) protocols older than 2.06, zImages, truncated images,
 * command lines longer than the kernel accepts and initrds that do not fit. */
X86BootPlan *linux_boot_load(const X86KernelLoadOptions *opts, GBytes *image, GError **errp);

#endif
