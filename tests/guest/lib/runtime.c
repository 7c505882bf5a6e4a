/*
 * The payload runtime: 16550 UART output, a small printf, exit through
 * isa-debug-exit, panic, exception reports, the mem and str functions the
 * compiler may call, and the C half of start-up (checks on the machine state
 * the multiboot loader must establish). Built for both 32-bit and 64-bit
 * payloads.
 */
#include "runtime.h"

#define UART_BASE   0x3f8
#define UART_THR    0     /* transmit holding register (DLAB = 0) */
#define UART_IER    1
#define UART_DLL    0     /* divisor latch (DLAB = 1) */
#define UART_DLM    1
#define UART_FCR    2
#define UART_LCR    3
#define UART_MCR    4
#define UART_LSR    5
#define UART_LSR_THRE 0x20

#define DEBUG_EXIT_PORT 0xf4

void uart_init(void)
{
    outb(UART_BASE + UART_IER, 0x00);        /* no interrupts: we poll */
    outb(UART_BASE + UART_LCR, 0x80);        /* DLAB to set the baud rate */
    outb(UART_BASE + UART_DLL, 0x01);        /* 115200 baud */
    outb(UART_BASE + UART_DLM, 0x00);
    outb(UART_BASE + UART_LCR, 0x03);        /* 8 data bits, no parity, 1 stop */
    outb(UART_BASE + UART_FCR, 0x07);        /* FIFOs on and cleared */
    outb(UART_BASE + UART_MCR, 0x03);        /* DTR, RTS */
}

void putchar_serial(char c)
{
    /* A real UART drops bytes written while the holding register is full;
     * polling LSR.THRE is what a driver must do. Bounded, so a broken LSR
     * cannot hang the payload forever. */
    for (unsigned spins = 0; spins < 10000000u; spins++) {
        if (inb(UART_BASE + UART_LSR) & UART_LSR_THRE) {
            break;
        }
    }
    outb(UART_BASE + UART_THR, (uint8_t)c);
}

void puts_serial(const char *s)
{
    while (*s) {
        putchar_serial(*s++);
    }
}

/* ---- strings and memory ---- */

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--) {
        *p++ = (unsigned char)c;
    }
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--) {
        *dp++ = *sp++;
    }
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    if (dp < sp) {
        while (n--) {
            *dp++ = *sp++;
        }
    } else {
        while (n--) {
            dp[n] = sp[n];
        }
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *ap = a, *bp = b;
    for (size_t i = 0; i < n; i++) {
        if (ap[i] != bp[i]) {
            return ap[i] < bp[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i] || !a[i]) {
            return (unsigned char)a[i] - (unsigned char)b[i];
        }
    }
    return 0;
}

const char *strrchr(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c) {
            last = s;
        }
        if (!*s) {
            return last;
        }
    }
}

/* ---- the multiboot command line ---- */

const char *cmdline_find(const struct multiboot_info *mbi, const char *key)
{
    if (!(mbi->flags & MB_INFO_CMDLINE) || !mbi->cmdline) {
        return NULL;
    }
    size_t key_len = strlen(key);
    const char *p = phys_to_ptr(mbi->cmdline);
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        const char *word = p;
        while (*p && *p != ' ') {
            p++;
        }
        if ((size_t)(p - word) > key_len && !strncmp(word, key, key_len) &&
            word[key_len] == '=') {
            return word + key_len + 1;
        }
    }
    return NULL;
}

uint64_t cmdline_uint(const struct multiboot_info *mbi, const char *key,
                      uint64_t fallback)
{
    const char *v = cmdline_find(mbi, key);
    if (!v || *v < '0' || *v > '9') {
        return fallback;
    }
    uint64_t n = 0;
    while (*v >= '0' && *v <= '9') {
        n = n * 10 + (uint64_t)(*v++ - '0');
    }
    return n;
}

/* ---- the multiboot memory map ---- */

bool multiboot_mmap_foreach(const struct multiboot_info *mbi,
                            void (*fn)(uint64_t addr, uint64_t len, uint32_t type,
                                       void *opaque),
                            void *opaque)
{
    if (!(mbi->flags & MB_INFO_MEM_MAP)) {
        return false;
    }
    uint64_t p = mbi->mmap_addr;
    uint64_t end = (uint64_t)mbi->mmap_addr + mbi->mmap_length;
    while (p < end) {
        const struct multiboot_mmap_entry *e = phys_to_ptr((uint32_t)p);
        if (e->size < 20 || p + 4 + e->size > end) {
            return false;
        }
        fn(e->addr, e->len, e->type, opaque);
        p += 4 + e->size;
    }
    return true;
}

struct range_query {
    uint64_t start, end;
    bool found;
};

static void range_query_fn(uint64_t addr, uint64_t len, uint32_t type, void *opaque)
{
    struct range_query *q = opaque;
    if (type == MB_MMAP_AVAILABLE && addr <= q->start && q->end <= addr + len) {
        q->found = true;
    }
}

bool multiboot_range_is_ram(const struct multiboot_info *mbi, uint64_t start, uint64_t end)
{
    struct range_query q = { .start = start, .end = end };
    return multiboot_mmap_foreach(mbi, range_query_fn, &q) && q.found;
}

/* ---- printf ---- */

/* Output sink: either the UART or a bounded buffer. */
struct sink {
    char *buf;          /* NULL: UART */
    size_t size;
    size_t len;         /* characters produced (even past size) */
};

static void sink_put(struct sink *s, char c)
{
    if (!s->buf) {
        putchar_serial(c);
    } else if (s->len + 1 < s->size) {
        s->buf[s->len] = c;
    }
    s->len++;
}

/* 64-bit unsigned division by a small base without libgcc (the 32-bit build
 * would otherwise call __udivdi3): binary long division. */
static uint64_t udivmod(uint64_t n, unsigned base, unsigned *rem)
{
    uint64_t q = 0;
    uint64_t r = 0;
    for (int bit = 63; bit >= 0; bit--) {
        r = (r << 1) | ((n >> bit) & 1);
        if (r >= base) {
            r -= base;
            q |= (uint64_t)1 << bit;
        }
    }
    *rem = (unsigned)r;
    return q;
}

static void put_number(struct sink *s, uint64_t v, unsigned base, bool negative,
                       bool upper, int width, bool zero_pad, bool left)
{
    char digits[24];
    int n = 0;
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        unsigned rem;
        v = udivmod(v, base, &rem);
        digits[n++] = set[rem];
    } while (v);
    int len = n + (negative ? 1 : 0);
    if (!left && !zero_pad) {
        for (; width > len; width--) {
            sink_put(s, ' ');
        }
    }
    if (negative) {
        sink_put(s, '-');
    }
    if (!left && zero_pad) {
        for (; width > len; width--) {
            sink_put(s, '0');
        }
    }
    while (n) {
        sink_put(s, digits[--n]);
    }
    if (left) {
        for (; width > len; width--) {
            sink_put(s, ' ');
        }
    }
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(s, *fmt);
            continue;
        }
        fmt++;
        bool left = false, zero_pad = false;
        for (;; fmt++) {
            if (*fmt == '-') {
                left = true;
            } else if (*fmt == '0') {
                zero_pad = true;
            } else {
                break;
            }
        }
        int width = 0;
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        int longs = 0;          /* 1: long, 2: long long, 3: size_t */
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        if (*fmt == 'z') {
            longs = 3;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = longs == 2 ? va_arg(ap, long long)
                      : longs == 1 ? va_arg(ap, long)
                      : longs == 3 ? (int64_t)va_arg(ap, size_t)
                      : va_arg(ap, int);
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            put_number(s, mag, 10, v < 0, false, width, zero_pad, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs == 2 ? va_arg(ap, unsigned long long)
                       : longs == 1 ? va_arg(ap, unsigned long)
                       : longs == 3 ? va_arg(ap, size_t)
                       : va_arg(ap, unsigned int);
            put_number(s, v, *fmt == 'u' ? 10 : 16, false, *fmt == 'X',
                       width, zero_pad, left);
            break;
        }
        case 'p':
            sink_put(s, '0');
            sink_put(s, 'x');
            put_number(s, (uintptr_t)va_arg(ap, void *), 16, false, false,
                       width, zero_pad, left);
            break;
        case 'c':
            sink_put(s, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str) {
                str = "(null)";
            }
            int len = (int)strlen(str);
            if (!left) {
                for (; width > len; width--) {
                    sink_put(s, ' ');
                }
            }
            while (*str) {
                sink_put(s, *str++);
            }
            if (left) {
                for (; width > len; width--) {
                    sink_put(s, ' ');
                }
            }
            break;
        }
        case '%':
            sink_put(s, '%');
            break;
        case '\0':
            return;
        default:
            sink_put(s, '%');
            sink_put(s, *fmt);
            break;
        }
    }
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink s = { 0 };
    format(&s, fmt, ap);
    return (int)s.len;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { .buf = buf, .size = size };
    format(&s, fmt, ap);
    if (size) {
        buf[s.len < size ? s.len : size - 1] = '\0';
    }
    return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- exit and panic ---- */

void exit(int code)
{
    outl(DEBUG_EXIT_PORT, (uint32_t)code);
    /* Still here: no isa-debug-exit device at 0xf4. */
    printf("exit(%d): no isa-debug-exit device at 0x%x, halting\n",
           code, DEBUG_EXIT_PORT);
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

void panic(const char *fmt, ...)
{
    va_list ap;
    puts_serial("PANIC: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    puts_serial("\n");
    exit(EXIT_PANIC);
}

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
    "#MC machine check", "#XM SIMD error", "#VE virtualization",
    "#CP control protection", "reserved 22", "reserved 23", "reserved 24",
    "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
    "#VC VMM communication", "#SX security", "reserved 31",
};

struct expected_exception expected_exception;

/* Called by the exception stubs of crt0-32.S / crt0-64.S with the vector,
 * the error code (0 if the CPU pushes none) and the saved instruction
 * pointer. Returns where to resume for an expected exception; anything else
 * is reported and ends the payload. */
uintptr_t guest_exception(uintptr_t vector, uintptr_t error, uintptr_t ip);

uintptr_t guest_exception(uintptr_t vector, uintptr_t error, uintptr_t ip)
{
    uintptr_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    struct expected_exception *x = &expected_exception;
    if (x->armed && x->vector == vector && x->resume_ip) {
        x->armed = false;
        x->taken = true;
        x->error = error;
        x->ip = ip;
        x->cr2 = cr2;
        return x->resume_ip;
    }
    printf("PANIC: unexpected exception %u (%s), error code 0x%lx, ip 0x%lx",
           (unsigned)vector, exception_names[vector & 31],
           (unsigned long)error, (unsigned long)ip);
    if (vector == 14) {
        printf(", cr2 0x%lx", (unsigned long)cr2);
    }
    printf("\n");
    exit(EXIT_EXCEPTION);
}

void expect_exception(unsigned vector)
{
    expected_exception = (struct expected_exception){ .vector = vector, .armed = true };
}

/* ---- start-up ---- */

struct idt_gate32 {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attr;
    uint16_t offset_high;
} __attribute__((packed));

struct idt_gate64 {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

struct table_register {
    uint16_t limit;
    uintptr_t base;
} __attribute__((packed));

extern const uint32_t exception_stub_table[32];
extern uint32_t entry_eax, entry_ebx, entry_cr0, entry_eflags;

#define SEL_CODE32 0x08
#define SEL_CODE64 0x18
#define GATE_INTERRUPT_PRESENT 0x8E

static void install_idt(void)
{
#ifdef __x86_64__
    static struct idt_gate64 idt[32];
    for (int v = 0; v < 32; v++) {
        uint64_t off = exception_stub_table[v];
        idt[v] = (struct idt_gate64){
            .offset_low = (uint16_t)off, .selector = SEL_CODE64,
            .type_attr = GATE_INTERRUPT_PRESENT,
            .offset_mid = (uint16_t)(off >> 16), .offset_high = (uint32_t)(off >> 32),
        };
    }
#else
    static struct idt_gate32 idt[32];
    for (int v = 0; v < 32; v++) {
        uint32_t off = exception_stub_table[v];
        idt[v] = (struct idt_gate32){
            .offset_low = (uint16_t)off, .selector = SEL_CODE32,
            .type_attr = GATE_INTERRUPT_PRESENT, .offset_high = (uint16_t)(off >> 16),
        };
    }
#endif
    struct table_register idtr = { .limit = sizeof(idt) - 1, .base = (uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* The loader must leave the A20 gate enabled. An address in our image and
 * the same address with bit 20 flipped alias only if A20 is masked. Only our
 * own variable is written. */
static volatile uint32_t a20_probe;

static bool a20_enabled(void)
{
    volatile uint32_t *alias =
        (volatile uint32_t *)((uintptr_t)&a20_probe ^ (uintptr_t)0x100000);
    a20_probe = 0x5a5aa5a5u;
    if (*alias != a20_probe) {
        return true;
    }
    a20_probe = 0xa5a55a5au;
    return *alias != a20_probe;
}

#define CR0_PE (1u << 0)
#define CR0_PG (1u << 31)
#define EFLAGS_IF (1u << 9)
#define EFLAGS_VM (1u << 17)

__attribute__((noreturn)) void runtime_start(void);

void runtime_start(void)
{
    uart_init();
    install_idt();
    if (entry_eax != MULTIBOOT_BOOTLOADER_MAGIC) {
        panic("entered with EAX=0x%x, expected the multiboot magic 0x%x",
              entry_eax, MULTIBOOT_BOOTLOADER_MAGIC);
    }
    if (entry_ebx == 0 || entry_ebx > 0xffffffffu - sizeof(struct multiboot_info)) {
        panic("entered with EBX=0x%x, not a multiboot information address", entry_ebx);
    }
    if ((entry_cr0 & CR0_PE) == 0 || (entry_cr0 & CR0_PG) != 0) {
        panic("entered with CR0=0x%x: want protected mode without paging", entry_cr0);
    }
    if (entry_eflags & (EFLAGS_IF | EFLAGS_VM)) {
        panic("entered with EFLAGS=0x%x: IF and VM must be clear", entry_eflags);
    }
    if (!a20_enabled()) {
        panic("the A20 gate is disabled");
    }
    exit(main(entry_eax, phys_to_ptr(entry_ebx)));
}
