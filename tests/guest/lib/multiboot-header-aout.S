/*
 * Multiboot v1 header with the a.out kludge (flags bit 16): the loader must
 * take the load addresses from this header instead of an executable format.
 * The image is a flat binary (objcopy -O binary) whose first byte is loaded at
 * load_addr; the addresses come from lib/link-aout.ld.
 */
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_HEADER_FLAGS 0x00010003      /* page-align modules, memory info, a.out kludge */

    .section .multiboot, "a"
    .balign 4
    .globl multiboot_header
multiboot_header:
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
    .long multiboot_header              /* header_addr */
    .long _image_start                  /* load_addr: the file's first byte */
    .long _load_end                     /* load_end_addr: end of .data */
    .long _bss_end                      /* bss_end_addr: the loader zeroes up to here */
    .long _start                        /* entry_addr */
