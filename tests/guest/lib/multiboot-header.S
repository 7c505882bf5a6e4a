/*
 * The multiboot v1 header shared by the ELF payloads. It must sit, 4-byte
 * aligned, in the first 8 KiB of the file: the linker scripts put the
 * .multiboot section first.
 *
 * Flags: bit 0 = align modules on 4 KiB pages, bit 1 = provide memory
 * information (mem_lower/mem_upper and the memory map). No a.out kludge
 * (bit 16): the loader takes the load addresses from the ELF headers.
 */
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_HEADER_FLAGS 0x00000003

    .section .multiboot, "a"
    .balign 4
    .globl multiboot_header
multiboot_header:
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
