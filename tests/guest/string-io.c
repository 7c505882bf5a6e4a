/*
 * string-io: port I/O with string instructions, the case where one
 * instruction moves many bytes (KVM reports it as one exit with count > 1;
 * TCG loops). Reads fw_cfg (selector 0x510, data 0x511) with REP INSB and
 * writes the UART's THR (0x3f8) with REP OUTSB, forwards and, with DF set,
 * backwards.
 */
#include "runtime.h"

#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA     0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_RAM_SIZE  0x0003
#define UART_THR 0x3f8

static void rep_insb(uint16_t port, void *buf, uint32_t count)
{
    __asm__ volatile("cld; rep insb"
                     : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}

static void rep_outsb(uint16_t port, const void *buf, uint32_t count)
{
    __asm__ volatile("cld; rep outsb"
                     : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

/* With DF set the string is sent from its last byte down to its first. */
static void rep_outsb_backwards(uint16_t port, const void *last, uint32_t count)
{
    __asm__ volatile("std; rep outsb; cld"
                     : "+S"(last), "+c"(count) : "d"(port) : "memory", "cc");
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    char signature[5] = { 0 };
    uint8_t ram_bytes[8];
    uint64_t ram_size = 0;
    static const char forwards[] = "string I/O: written with rep outsb\n";
    /* The reversed text of "string I/O: written backwards with std; rep outsb\n". */
    static const char backwards[] = "\nbstuo per ;dts htiw sdrawkcab nettirw :O/I gnirts";
    int failures = 0;

    outw(FW_CFG_SELECTOR, FW_CFG_SIGNATURE);
    rep_insb(FW_CFG_DATA, signature, 4);
    printf("string I/O: fw_cfg signature read with rep insb: %s\n", signature);
    if (memcmp(signature, "QEMU", 4) != 0) {
        failures++;
    }

    outw(FW_CFG_SELECTOR, FW_CFG_RAM_SIZE);
    rep_insb(FW_CFG_DATA, ram_bytes, sizeof(ram_bytes));
    for (int i = 7; i >= 0; i--) {
        ram_size = (ram_size << 8) | ram_bytes[i];
    }
    printf("string I/O: RAM size from fw_cfg: %u MiB\n", (unsigned)(ram_size >> 20));
    if (ram_size != 128ull << 20) {
        failures++;
    }

    rep_outsb(UART_THR, forwards, sizeof(forwards) - 1);
    rep_outsb_backwards(UART_THR, &backwards[sizeof(backwards) - 2], sizeof(backwards) - 1);

    printf("string I/O: %s\n", failures ? "FAILED" : "ok");
    return failures;
}
