/*
 * smp-counter: start every application processor with INIT / SIPI / SIPI
 * (broadcast to all but self, as the MP specification describes), then
 * have every CPU (BSP included) add to one shared counter with LOCK INC.
 * The BSP waits for all APs and prints the total, which must be exact, and
 * the sorted APIC IDs it saw. The number of CPUs comes from "cpus=N" on the
 * command line (-append).
 */
#include "runtime.h"

#define LAPIC_BASE   0xfee00000u
#define LAPIC_ID     0x020
#define LAPIC_SVR    0x0f0
#define LAPIC_ESR    0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

#define MAX_CPUS     16
#define INCREMENTS   100000u
#define TRAMPOLINE   0x8000u

extern char smp_trampoline_start[], smp_trampoline_end[];

/* Used by the trampoline. */
volatile uint32_t ap_slot_next;
uint8_t ap_stacks[(MAX_CPUS + 1) * 4096] __attribute__((aligned(4096)));

static volatile uint32_t counter;
static volatile uint32_t aps_done;
static volatile uint32_t apic_ids[MAX_CPUS];

static uint32_t lapic_read(uint32_t reg)
{
    return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

static void add_to_counter(void)
{
    for (uint32_t i = 0; i < INCREMENTS; i++) {
        __asm__ volatile("lock incl %0" : "+m"(counter));
    }
}

void ap_main(uint32_t slot);
void ap_main(uint32_t slot)
{
    if (slot + 1 < MAX_CPUS) {
        apic_ids[slot + 1] = lapic_read(LAPIC_ID) >> 24;
    }
    add_to_counter();
    __asm__ volatile("lock incl %0" : "+m"(aps_done));
}

/* Busy-waits about `us` microseconds with PIT channel 2 (mode 0). */
static void delay_us(uint32_t us)
{
    uint32_t ticks = us * 1193 / 1000 + 1;

    while (ticks) {
        uint16_t chunk = ticks > 0xffff ? 0xffff : (uint16_t)ticks;
        outb(0x61, (inb(0x61) & ~0x03) | 0x01);
        outb(0x43, 0xb0);
        outb(0x42, chunk & 0xff);
        outb(0x42, chunk >> 8);
        while (!(inb(0x61) & 0x20)) {
            __asm__ volatile("pause");
        }
        ticks -= chunk;
    }
}

static void send_ipi(uint32_t icr_lo)
{
    lapic_write(LAPIC_ICR_HI, 0);
    lapic_write(LAPIC_ICR_LO, icr_lo);
    for (uint32_t i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LO) & (1u << 12)); i++) {
        __asm__ volatile("pause");
    }
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    uint32_t cpus = (uint32_t)cmdline_uint(mbi, "cpus", 1);
    uint32_t aps, total, expected;

    (void)mb_magic;
    if (cpus < 1 || cpus > MAX_CPUS) {
        printf("smp: cpus=%u out of range\n", cpus);
        return 2;
    }
    aps = cpus - 1;
    memcpy((void *)(uintptr_t)TRAMPOLINE, smp_trampoline_start,
           (size_t)(smp_trampoline_end - smp_trampoline_start));
    apic_ids[0] = lapic_read(LAPIC_ID) >> 24;
    lapic_write(LAPIC_SVR, 0x1ff);
    lapic_write(LAPIC_ESR, 0);

    /* INIT (assert), INIT (de-assert), then two start-up IPIs, all to "all
     * excluding self". */
    send_ipi(0x000c4500);
    send_ipi(0x000c8500);
    delay_us(10000);
    send_ipi(0x000c4600 | (TRAMPOLINE >> 12));
    delay_us(200);
    send_ipi(0x000c4600 | (TRAMPOLINE >> 12));

    add_to_counter();

    /* Wait up to ~30 s for the APs. */
    for (uint32_t ms = 0; aps_done < aps && ms < 30000; ms++) {
        delay_us(1000);
    }
    total = counter;
    expected = cpus * INCREMENTS;
    printf("smp: %u of %u application processors finished\n", aps_done, aps);
    printf("smp: counter = %u (expected %u): %s\n", total, expected,
           total == expected ? "ok" : "WRONG");

    /* Sort the APIC IDs for a stable line. */
    uint32_t n = 1 + (aps_done < MAX_CPUS - 1 ? aps_done : MAX_CPUS - 1);
    uint32_t ids[MAX_CPUS];
    for (uint32_t i = 0; i < n; i++) {
        ids[i] = apic_ids[i];
    }
    for (uint32_t i = 1; i < n; i++) {
        for (uint32_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            uint32_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    }
    printf("smp: APIC IDs:");
    for (uint32_t i = 0; i < n; i++) {
        printf(" %u", ids[i]);
    }
    printf("\n");
    lapic_write(LAPIC_ESR, 0);
    printf("smp: ESR 0x%x\n", lapic_read(LAPIC_ESR));
    return aps_done == aps && total == expected ? 0 : 1;
}
