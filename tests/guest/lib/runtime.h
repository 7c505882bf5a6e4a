/*
 * The freestanding runtime shared by the guest payloads.
 *
 * Payloads are multiboot v1 kernels. The start-up code (crt0-32.S for
 * 32-bit payloads, crt0-64.S for payloads whose C code is 64-bit) checks
 * the machine state the loader must establish, initialises the UART,
 * installs exception handlers that report and exit, then calls
 *
 *     int main(uint32_t mb_magic, const struct multiboot_info *mbi);
 *
 * whose return value becomes the isa-debug-exit code (process exit status
 * (code << 1) | 1). Output goes to the 16550 UART at 0x3f8; only '\n' is
 * sent for a line end so that expected outputs are plain text.
 */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

/* Exit codes used by the runtime itself (payloads use 0 for success and
 * small numbers for their own failures). */
#define EXIT_PANIC      0x3f   /* panic(): status 127 */
#define EXIT_EXCEPTION  0x3e   /* unexpected CPU exception: status 125 */

/* Multiboot v1 information structure (multiboot specification 0.6.96, 3.3). */
struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;          /* flags bit 0: KiB of RAM from 0 */
    uint32_t mem_upper;          /* flags bit 0: KiB of RAM from 1 MiB */
    uint32_t boot_device;        /* bit 1 */
    uint32_t cmdline;            /* bit 2: physical address of a C string */
    uint32_t mods_count;         /* bit 3 */
    uint32_t mods_addr;
    uint32_t syms[4];            /* bits 4/5 */
    uint32_t mmap_length;        /* bit 6 */
    uint32_t mmap_addr;
    uint32_t drives_length;      /* bit 7 */
    uint32_t drives_addr;
    uint32_t config_table;       /* bit 8 */
    uint32_t boot_loader_name;   /* bit 9 */
    uint32_t apm_table;          /* bit 10 */
    uint32_t vbe[6];             /* bit 11 */
} __attribute__((packed));

#define MB_INFO_MEMORY      (1u << 0)
#define MB_INFO_BOOTDEV     (1u << 1)
#define MB_INFO_CMDLINE     (1u << 2)
#define MB_INFO_MODS        (1u << 3)
#define MB_INFO_MEM_MAP     (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)

struct multiboot_module {
    uint32_t mod_start;
    uint32_t mod_end;            /* exclusive */
    uint32_t string;             /* physical address of a C string, or 0 */
    uint32_t reserved;
} __attribute__((packed));

/* One memory-map entry; `size` does not count itself. */
struct multiboot_mmap_entry {
    uint32_t size;
    uint64_t addr;
    uint64_t len;
    uint32_t type;               /* 1 = available RAM */
} __attribute__((packed));

#define MB_MMAP_AVAILABLE 1

/* ---- port I/O ---- */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* ---- the runtime ---- */
void uart_init(void);
void putchar_serial(char c);
void puts_serial(const char *s);          /* no newline appended */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* Writes `code` to isa-debug-exit (port 0xf4). Never returns: without the
 * device it says so and halts forever. */
__attribute__((noreturn)) void exit(int code);
/* Prints "PANIC: <message>" and exits with EXIT_PANIC. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
const char *strrchr(const char *s, int c);

/*
 * Expected exceptions. To test that an instruction faults:
 *
 *     expect_exception(0);
 *     __asm__ volatile(ASM_SET_RESUME("1f") "divl %1\n1:" ...);
 *     if (expected_exception.taken) ... .error, .ip, .cr2
 *
 * The handler resumes at the label recorded by ASM_SET_RESUME instead of
 * ending the payload. Any other exception still panics. Registers written
 * by the faulting asm hold unspecified values afterwards.
 */
struct expected_exception {
    unsigned vector;
    bool armed;                  /* cleared when taken */
    bool taken;
    uintptr_t resume_ip;         /* set by ASM_SET_RESUME */
    uintptr_t error, ip, cr2;
};
extern struct expected_exception expected_exception;
void expect_exception(unsigned vector);
#ifdef __x86_64__
#define ASM_MOV_PTR "movq"
#else
#define ASM_MOV_PTR "movl"
#endif
#define ASM_SET_RESUME(label) \
    ASM_MOV_PTR " $" label ", expected_exception+8\n\t"
_Static_assert(offsetof(struct expected_exception, resume_ip) == 8,
               "ASM_SET_RESUME hard-codes the offset of resume_ip");

/* The value of "key=value" in the multiboot command line (the text after
 * '=', up to the next space), or NULL. */
const char *cmdline_find(const struct multiboot_info *mbi, const char *key);
/* The decimal value of "key=N", or `fallback`. */
uint64_t cmdline_uint(const struct multiboot_info *mbi, const char *key,
                      uint64_t fallback);

/* Calls fn for each memory-map entry; false if there is no map or an
 * entry is malformed (entries before it were still visited). */
bool multiboot_mmap_foreach(const struct multiboot_info *mbi,
                            void (*fn)(uint64_t addr, uint64_t len, uint32_t type,
                                       void *opaque),
                            void *opaque);
/* True if [start, end) lies inside one available memory-map entry. */
bool multiboot_range_is_ram(const struct multiboot_info *mbi, uint64_t start, uint64_t end);

/* The payload. */
int main(uint32_t mb_magic, const struct multiboot_info *mbi);

/* Set by the start-up code: physical end of the loaded image (incl. bss). */
extern char _image_start[], _image_end[];

/* Reads a physical address below 4 GiB as a pointer (identity mapped in
 * both the 32-bit flat model and the 64-bit runtime's page tables). */
static inline void *phys_to_ptr(uint32_t addr)
{
    return (void *)(uintptr_t)addr;
}

#endif
