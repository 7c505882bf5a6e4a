/*
 * irq-pit: external interrupts end to end (32-bit, no paging).
 *
 * 1. PIC: both 8259s initialised (vectors 0x20/0x28), only IRQ 0 unmasked,
 *    PIT channel 0 in mode 2 at ~1 kHz; 20 ticks counted by HLT waits, EOI
 *    to the master; ISR empty afterwards.
 * 2. IOAPIC + LAPIC: PIC fully masked, LAPIC software-enabled, IOAPIC pin 2
 *    (the PIT: ISA IRQ 0 via the MADT override) -> vector 0x30 fixed,
 *    physical, edge, to the BSP; 20 ticks, EOI to the LAPIC.
 * 3. LAPIC timer: one-shot (fires once, current count 0 afterwards) and
 *    periodic (10 interrupts), vector 0x40.
 * 4. PIT channel 2 gated by port 0x61: mode 0, output (bit 5) goes high.
 * Interrupt counts are exact because each HLT wait stops at the target;
 * nothing printed depends on timing.
 */
#include "runtime.h"

#define LAPIC_BASE   0xfee00000u
#define IOAPIC_BASE  0xfec00000u

#define LAPIC_ID      0x020
#define LAPIC_EOI     0x0b0
#define LAPIC_SVR     0x0f0
#define LAPIC_ISR     0x100
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0

volatile uint32_t pic_ticks, ioapic_ticks, lapic_ticks, stray_count;

/* Interrupt handlers: count, EOI, return. */
__asm__(
    ".text\n"
    "isr_pic:\n"
    "    pushl %eax\n"
    "    lock incl pic_ticks\n"
    "    movb $0x20, %al\n"
    "    outb %al, $0x20\n"
    "    popl %eax\n"
    "    iret\n"
    "isr_ioapic:\n"
    "    lock incl ioapic_ticks\n"
    "    movl $0, 0xfee000b0\n"
    "    iret\n"
    "isr_lapic_timer:\n"
    "    lock incl lapic_ticks\n"
    "    movl $0, 0xfee000b0\n"
    "    iret\n"
    "isr_stray:\n"
    "    lock incl stray_count\n"
    "    iret\n");
extern char isr_pic[], isr_ioapic[], isr_lapic_timer[], isr_stray[];

struct gate {
    uint16_t off_lo, sel;
    uint8_t zero, attr;
    uint16_t off_hi;
} __attribute__((packed));

struct dtr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

static struct gate idt[256] __attribute__((aligned(8)));

static void set_gate(int v, void *fn)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    idt[v] = (struct gate){ (uint16_t)(uintptr_t)fn, cs, 0, 0x8e, (uint16_t)((uintptr_t)fn >> 16) };
}

static void install_idt(void)
{
    struct dtr old, new;
    __asm__ volatile("sidt %0" : "=m"(old));
    memcpy(idt, (void *)old.base, 32 * sizeof(struct gate));
    for (int v = 32; v < 256; v++) {
        set_gate(v, isr_stray);
    }
    set_gate(0x20, isr_pic);
    set_gate(0x30, isr_ioapic);
    set_gate(0x40, isr_lapic_timer);
    new.limit = sizeof(idt) - 1;
    new.base = (uint32_t)(uintptr_t)idt;
    __asm__ volatile("lidt %0" : : "m"(new));
}

static uint32_t lapic_read(uint32_t reg)
{
    return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)IOAPIC_BASE = reg;
    *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + 0x10) = v;
}

static uint32_t ioapic_read(uint32_t reg)
{
    *(volatile uint32_t *)(uintptr_t)IOAPIC_BASE = reg;
    return *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + 0x10);
}

/* Waits with interrupts enabled only inside "sti; hlt" until *counter
 * reaches target; false if a (generous) number of wake-ups passed. */
static bool wait_for(volatile uint32_t *counter, uint32_t target)
{
    for (uint32_t wakeups = 0; *counter < target; wakeups++) {
        if (wakeups > 100000) {
            return false;
        }
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
    return true;
}

static void pic_init(uint8_t master_mask, uint8_t slave_mask)
{
    outb(0x20, 0x11); outb(0xa0, 0x11);     /* ICW1: edge, cascade, ICW4 */
    outb(0x21, 0x20); outb(0xa1, 0x28);     /* ICW2: vector bases */
    outb(0x21, 0x04); outb(0xa1, 0x02);     /* ICW3: slave on IRQ 2 */
    outb(0x21, 0x01); outb(0xa1, 0x01);     /* ICW4: 8086 mode */
    outb(0x21, master_mask); outb(0xa1, slave_mask);
}

static void pit_channel0(uint8_t mode, uint16_t count)
{
    outb(0x43, 0x30 | (mode << 1));          /* channel 0, lobyte/hibyte */
    outb(0x40, count & 0xff);
    outb(0x40, count >> 8);
}

static int test_pic(void)
{
    uint8_t isr;

    pic_init(0xfe, 0xff);
    pit_channel0(2, 1193);                   /* ~1 kHz */
    if (!wait_for(&pic_ticks, 20)) {
        printf("pic: timeout after %u ticks\n", pic_ticks);
        return 1;
    }
    outb(0x21, 0xff);
    outb(0x20, 0x0b);                        /* OCW3: read ISR */
    isr = inb(0x20);
    outb(0x20, 0x0a);                        /* back to IRR */
    printf("pic: %s 20 timer interrupts on vector 0x20, master ISR 0x%02x, IMR 0x%02x\n",
           pic_ticks >= 20 ? "got" : "MISSED", isr, inb(0x21));
    return 0;
}

static int test_ioapic(void)
{
    uint32_t id = lapic_read(LAPIC_ID) >> 24;
    uint32_t ver = ioapic_read(1);

    printf("ioapic: %u pins\n", ((ver >> 16) & 0xff) + 1);
    lapic_write(LAPIC_SVR, 0x1ff);           /* enable, spurious vector 0xff */
    ioapic_write(0x10 + 2 * 2 + 1, id << 24);
    ioapic_write(0x10 + 2 * 2, 0x30);        /* fixed, physical, edge, unmasked */
    if (!wait_for(&ioapic_ticks, 20)) {
        printf("ioapic: timeout after %u ticks\n", ioapic_ticks);
        return 1;
    }
    ioapic_write(0x10 + 2 * 2, 0x10030);     /* masked */
    printf("ioapic: %s 20 PIT interrupts via pin 2 on vector 0x30 to the BSP's APIC\n",
           ioapic_ticks >= 20 ? "got" : "MISSED");
    printf("ioapic: redirection entry 2 reads 0x%08x\n", ioapic_read(0x10 + 2 * 2));
    return 0;
}

static int test_lapic_timer(void)
{
    uint32_t cur, after;

    pit_channel0(0, 0);                      /* stop the PIT's periodic interrupts */
    lapic_write(LAPIC_TIMER_DIV, 0xb);       /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, 0x40);      /* one-shot, vector 0x40 */
    lapic_write(LAPIC_TIMER_INIT, 2000000);
    cur = lapic_read(LAPIC_TIMER_CUR);
    if (!wait_for(&lapic_ticks, 1)) {
        printf("lapic one-shot: timeout\n");
        return 1;
    }
    after = lapic_read(LAPIC_TIMER_CUR);
    printf("lapic one-shot: %u interrupt, count while running %s, current count %u after\n",
           lapic_ticks, cur > 0 && cur <= 2000000 ? "in range" : "WRONG", after);

    lapic_ticks = 0;
    lapic_write(LAPIC_TIMER_DIV, 0x3);       /* divide by 16 */
    lapic_write(LAPIC_LVT_TIMER, 0x40 | (1u << 17));
    lapic_write(LAPIC_TIMER_INIT, 62500);    /* 1 ms at 1 GHz / 16 */
    if (!wait_for(&lapic_ticks, 10)) {
        printf("lapic periodic: timeout after %u\n", lapic_ticks);
        return 1;
    }
    cur = lapic_read(LAPIC_TIMER_CUR);
    lapic_write(LAPIC_LVT_TIMER, 0x10040);   /* masked */
    lapic_write(LAPIC_TIMER_INIT, 0);
    printf("lapic periodic: %s 10 interrupts, count while running %s, LVT 0x%05x\n",
           lapic_ticks >= 10 ? "got" : "MISSED", cur > 0 && cur <= 62500 ? "in range" : "WRONG",
           lapic_read(LAPIC_LVT_TIMER));
    return 0;
}

static int test_pit_channel2(void)
{
    uint32_t spins = 0;
    uint8_t lo, hi;

    outb(0x61, (inb(0x61) & ~0x02) | 0x01);  /* gate on, speaker off */
    outb(0x43, 0xb0);                        /* channel 2, lobyte/hibyte, mode 0 */
    outb(0x42, 0x00);
    outb(0x42, 0x30);                        /* 0x3000 ticks: ~10 ms */
    outb(0x43, 0x80);                        /* latch channel 2 */
    lo = inb(0x42);
    hi = inb(0x42);
    bool was_low = !(inb(0x61) & 0x20);
    while (!(inb(0x61) & 0x20)) {
        if (++spins > 100000000) {
            printf("pit channel 2: output never went high\n");
            return 1;
        }
    }
    printf("pit channel 2: latched count %s, output low then high: %s\n",
           (hi << 8 | lo) <= 0x3000 ? "in range" : "WRONG", was_low ? "yes" : "no");
    outb(0x61, inb(0x61) & ~0x03);
    return 0;
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    (void)mb_magic;
    (void)mbi;
    install_idt();
    if (test_pic() || test_ioapic() || test_lapic_timer() || test_pit_channel2()) {
        return 1;
    }
    printf("irq-pit: stray interrupts: %u\n", stray_count);
    printf("irq-pit: done\n");
    return 0;
}
