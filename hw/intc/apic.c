/*
 * Local APIC, xAPIC mode (see include/hw/intc/apic.h, docs/interrupts.md).
 *
 * Every APIC of the machine sits on one "bus" (the array below): IPIs,
 * IOAPIC and MSI messages are delivered at once by setting the target's
 * IRR (or its INIT/SIPI/NMI request) with the big lock held, then raising
 * CPU_INTERRUPT_HARD on the target vCPU while it has a vector whose
 * priority class beats its PPR, or while its LINT0 accepts the PIC's
 * ExtINT and the PIC has a request. The timer counts the guest clock at
 * 1 GHz (the bus frequency KVM's APIC uses too) divided by the divide
 * configuration.
 */
#include "hw/intc/apic.h"
#include "hw/intc/i8259.h"
#include "hw/timer/guest-timer.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "kestrel/log.h"

#define NUM_LVT         6
#define LVT_TIMER       0
#define LVT_THERMAL     1
#define LVT_PERF        2
#define LVT_LINT0       3
#define LVT_LINT1       4
#define LVT_ERROR       5

#define LVT_DELIVERY_MODE(v) (((v) >> 8) & 7)
#define LVT_TIMER_PERIODIC   (1u << 17)
#define LVT_LEVEL            (1u << 15)

#define SVR_ENABLE           (1u << 8)
#define APIC_BASE_ENABLE     (1ULL << 11)
#define APIC_BASE_BSP        (1ULL << 8)

#define ICR_DELIV_STATUS     (1u << 12)
#define ICR_LEVEL_ASSERT     (1u << 14)
#define ICR_TRIGGER_LEVEL    (1u << 15)
#define ICR_DEST_LOGICAL     (1u << 11)
#define ICR_WRITABLE         0x000ccfffu

/* Periodic timers faster than this fire at this rate (the count the guest
 * reads stays exact); it keeps a hostile guest from flooding the host. */
#define MIN_PERIOD_NS        50000

static const uint32_t lvt_writable[NUM_LVT] = {
    [LVT_TIMER] = 0xff | APIC_LVT_MASKED | LVT_TIMER_PERIODIC,
    [LVT_THERMAL] = 0x7ff | APIC_LVT_MASKED,
    [LVT_PERF] = 0x7ff | APIC_LVT_MASKED,
    [LVT_LINT0] = 0x7ff | (1u << 13) | LVT_LEVEL | APIC_LVT_MASKED,
    [LVT_LINT1] = 0x7ff | (1u << 13) | LVT_LEVEL | APIC_LVT_MASKED,
    [LVT_ERROR] = 0xff | APIC_LVT_MASKED,
};

typedef struct APICState {
    DeviceState parent;
    CPUState *cpu;
    uint8_t id;
    uint8_t tpr;
    uint32_t ldr, dfr, svr;
    uint32_t isr[8], tmr[8], irr[8];
    uint32_t esr, esr_pending;
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[NUM_LVT];
    uint32_t timer_initial;
    uint32_t timer_divide_reg;
    int64_t timer_start;           /* guest ns when the count was loaded */
    bool timer_running;            /* counting (one-shot not yet expired) */
    GuestTimer *timer;
    bool wait_for_sipi;
    uint8_t sipi_vector;
    bool extint_pending;           /* an ExtINT message: ack from the PIC */
    /* IA32_APIC_BASE moved the page away from APIC_DEFAULT_BASE. */
    MemoryRegion reloc_mmio;
    bool reloc_mapped;
} APICState;

/* The bus. */
static GPtrArray *apics;
static DeviceState *bus_pic;
static void (*eoi_handler)(void *opaque, uint8_t vector);
static void *eoi_opaque;
static MemoryRegion apic_mmio;
static bool apic_mmio_mapped;

static APICState *apic_state(DeviceState *dev)
{
    g_assert(dev && strcmp(dev->klass->name, TYPE_APIC) == 0);
    return (APICState *)dev;
}

DeviceState *apic_of_cpu(CPUState *cpu)
{
    for (unsigned i = 0; apics && cpu && i < apics->len; i++) {
        APICState *s = g_ptr_array_index(apics, i);
        if (s->cpu == cpu) {
            return &s->parent;
        }
    }
    return NULL;
}

static bool hw_enabled(const APICState *s)
{
    return s->cpu->env.apic_base & APIC_BASE_ENABLE;
}

static bool sw_enabled(const APICState *s)
{
    return s->svr & SVR_ENABLE;
}

static bool is_bsp(const APICState *s)
{
    return s->cpu->env.apic_base & APIC_BASE_BSP;
}

/* ---- vector bitmaps ---- */

static void bit_set(uint32_t *map, unsigned v) { map[v >> 5] |= 1u << (v & 31); }
static void bit_clear(uint32_t *map, unsigned v) { map[v >> 5] &= ~(1u << (v & 31)); }
static bool bit_test(const uint32_t *map, unsigned v) { return map[v >> 5] & (1u << (v & 31)); }

static int highest_bit(const uint32_t *map)
{
    for (int i = 7; i >= 0; i--) {
        if (map[i]) {
            return i * 32 + 31 - __builtin_clz(map[i]);
        }
    }
    return -1;
}

/* ---- priorities and the CPU's interrupt line ---- */

/* CR8 is the TPR's priority class: a MOV to CR8 changes it behind our back. */
static uint8_t current_tpr(APICState *s)
{
    uint8_t cr8 = s->cpu->env.cr8 & 0xf;
    if (cr8 != s->tpr >> 4) {
        s->tpr = cr8 << 4;
    }
    return s->tpr;
}

static uint8_t current_ppr(APICState *s)
{
    uint8_t tpr = current_tpr(s);
    int isrv = highest_bit(s->isr);
    uint8_t isr_class = isrv < 0 ? 0 : (isrv & 0xf0);

    return (tpr & 0xf0) >= isr_class ? tpr : isr_class;
}

static bool accepts_pic(const APICState *s)
{
    uint32_t lint0 = s->lvt[LVT_LINT0];

    if (!hw_enabled(s)) {
        return true;        /* no APIC: INTR goes straight to the core */
    }
    return !(lint0 & APIC_LVT_MASKED) && LVT_DELIVERY_MODE(lint0) == APIC_DM_EXTINT;
}

static int deliverable_vector(APICState *s)
{
    int v = highest_bit(s->irr);

    if (v < 0 || !hw_enabled(s)) {
        return -1;
    }
    return (v & 0xf0) > (current_ppr(s) & 0xf0) ? v : -1;
}

static void apic_update_irq(APICState *s)
{
    CPUState *cs = s->cpu;
    bool want = deliverable_vector(s) >= 0 || (hw_enabled(s) && s->extint_pending) ||
                (bus_pic && accepts_pic(s) && i8259_intr_pending(bus_pic));

    if (want) {
        if (!(g_atomic_int_get(&cs->interrupt_request) & CPU_INTERRUPT_HARD)) {
            cpu_interrupt(cs, CPU_INTERRUPT_HARD);
        }
    } else {
        cpu_reset_interrupt(cs, CPU_INTERRUPT_HARD);
    }
}

void apic_bus_pic_intr(void *opaque, int n, int level)
{
    for (unsigned i = 0; apics && i < apics->len; i++) {
        apic_update_irq(g_ptr_array_index(apics, i));
    }
}

/* ---- accepting messages ---- */

static void apic_local_error(APICState *s, uint32_t bit);

static bool apic_set_vector(APICState *s, uint8_t vector, bool level)
{
    if (vector < 16) {
        apic_local_error(s, APIC_ESR_RECV_ILLEGAL_VECTOR);
        return false;
    }
    bit_set(s->irr, vector);
    if (level) {
        bit_set(s->tmr, vector);
    } else {
        bit_clear(s->tmr, vector);
    }
    apic_update_irq(s);
    return true;
}

static void apic_local_error(APICState *s, uint32_t bit)
{
    uint32_t lvt = s->lvt[LVT_ERROR];

    s->esr_pending |= bit;
    if (!(lvt & APIC_LVT_MASKED) && (lvt & 0xff) >= 16) {
        bit_set(s->irr, lvt & 0xff);
        bit_clear(s->tmr, lvt & 0xff);
        apic_update_irq(s);
    }
}

/* Whether the APIC took the message (a fixed or lowest-priority vector
 * made it into IRR): the IOAPIC sets Remote IRR only then. */
static bool apic_accept(APICState *s, uint8_t mode, uint8_t vector, bool level)
{
    CPUState *cs = s->cpu;

    if (!hw_enabled(s)) {
        return false;
    }
    switch (mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (!sw_enabled(s)) {
            return false;       /* a software-disabled APIC drops them */
        }
        return apic_set_vector(s, vector, level);
    case APIC_DM_NMI:
        if (!s->wait_for_sipi) {
            cpu_interrupt(cs, CPU_INTERRUPT_NMI);
        }
        break;
    case APIC_DM_INIT:
        /* From now on a start-up IPI is remembered, even before the
         * target's thread got round to the INIT itself. */
        s->wait_for_sipi = !is_bsp(s);
        cpu_interrupt(cs, CPU_INTERRUPT_INIT);
        break;
    case APIC_DM_STARTUP:
        if (s->wait_for_sipi) {
            s->sipi_vector = vector;
            cpu_interrupt(cs, CPU_INTERRUPT_SIPI);
        }
        break;
    case APIC_DM_EXTINT:
        s->extint_pending = true;
        apic_update_irq(s);
        break;
    default:
        log_mask(LOG_UNIMP, "apic: delivery mode %u (SMI/reserved) ignored\n", mode);
        return false;
    }
    return true;
}

static bool logical_match(const APICState *s, uint8_t dest)
{
    uint8_t ldr = s->ldr >> 24;

    if (dest == 0xff) {
        return true;
    }
    if ((s->dfr >> 28) == 0xf) {                  /* flat model */
        return (ldr & dest) != 0;
    }
    /* Cluster model: cluster in bits 7-4, member bitmap in bits 3-0. */
    return ((dest >> 4) == (ldr >> 4) || (dest >> 4) == 0xf) && (ldr & dest & 0xf) != 0;
}

static bool dest_match(const APICState *s, uint8_t dest, bool logical)
{
    if (logical) {
        return logical_match(s, dest);
    }
    return dest == 0xff || dest == s->id;
}

/* Delivers to every APIC matching (dest, logical), or with lowest priority
 * to the matching one with the lowest TPR. Returns how many matched;
 * *accepted tells whether at least one took the message. */
static unsigned deliver_to(APICState *from, unsigned shorthand, uint8_t dest, bool logical,
                           uint8_t mode, uint8_t vector, bool level, bool *accepted)
{
    APICState *targets[256];
    unsigned n = 0;

    for (unsigned i = 0; apics && i < apics->len && n < G_N_ELEMENTS(targets); i++) {
        APICState *t = g_ptr_array_index(apics, i);
        bool match;
        switch (shorthand) {
        case 1: match = t == from; break;
        case 2: match = true; break;
        case 3: match = t != from; break;
        default: match = hw_enabled(t) && dest_match(t, dest, logical); break;
        }
        if (match) {
            targets[n++] = t;
        }
    }
    if (mode == APIC_DM_LOWEST && n > 1) {
        APICState *best = NULL;
        for (unsigned i = 0; i < n; i++) {
            if (hw_enabled(targets[i]) && sw_enabled(targets[i]) &&
                (!best || current_tpr(targets[i]) < current_tpr(best))) {
                best = targets[i];
            }
        }
        targets[0] = best ? best : targets[0];
        n = 1;
    }
    *accepted = false;
    for (unsigned i = 0; i < n; i++) {
        *accepted |= apic_accept(targets[i], mode, vector, level);
    }
    return n;
}

bool apic_bus_deliver(void *opaque, const APICMessage *msg)
{
    bool accepted;

    if (deliver_to(NULL, 0, msg->dest, msg->logical, msg->delivery_mode, msg->vector,
                   msg->level, &accepted) == 0) {
        log_guest_error("apic: interrupt message (vector %u) to absent %s destination 0x%02x\n",
                        msg->vector, msg->logical ? "logical" : "physical", msg->dest);
    }
    return accepted;
}

static void apic_send_ipi(APICState *s)
{
    uint32_t lo = s->icr_lo;
    uint8_t vector = lo & 0xff, mode = (lo >> 8) & 7, dest = s->icr_hi >> 24;
    unsigned shorthand = (lo >> 18) & 3;
    bool logical = lo & ICR_DEST_LOGICAL;
    bool level = lo & ICR_TRIGGER_LEVEL;
    bool accepted;

    if (mode == APIC_DM_INIT && !(lo & ICR_LEVEL_ASSERT)) {
        /* INIT level de-assert: only synchronises arbitration IDs. */
        return;
    }
    if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && vector < 16) {
        log_guest_error("apic %u: IPI with illegal vector %u\n", s->id, vector);
        apic_local_error(s, APIC_ESR_SEND_ILLEGAL_VECTOR);
        return;
    }
    if (shorthand == 1 && mode != APIC_DM_FIXED) {
        log_guest_error("apic %u: self IPI with delivery mode %u\n", s->id, mode);
        return;
    }
    if (mode == APIC_DM_LOWEST && shorthand != 0) {
        log_guest_error("apic %u: lowest-priority IPI with a shorthand\n", s->id);
    }
    if (deliver_to(s, shorthand, dest, logical, mode, vector, level, &accepted) == 0 && shorthand == 0) {
        log_guest_error("apic %u: IPI to absent %s destination 0x%02x\n", s->id,
                        logical ? "logical" : "physical", dest);
    }
}

/* ---- timer ---- */

static unsigned timer_divide_shift(const APICState *s)
{
    unsigned v = (s->timer_divide_reg & 3) | ((s->timer_divide_reg >> 1) & 4);
    return (v + 1) & 7;          /* 0b111 divides by 1 */
}

static int64_t timer_period_ns(const APICState *s)
{
    return (int64_t)s->timer_initial << timer_divide_shift(s);
}

static uint32_t timer_current(const APICState *s)
{
    int64_t elapsed;

    if (!s->timer_running || s->timer_initial == 0) {
        return 0;
    }
    elapsed = (guest_clock_ns() - s->timer_start) >> timer_divide_shift(s);
    if (s->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC) {
        return s->timer_initial - (uint32_t)(elapsed % s->timer_initial);
    }
    return elapsed >= s->timer_initial ? 0 : s->timer_initial - (uint32_t)elapsed;
}

/* Arms the host timer for the next expiry after `now`. */
static void timer_arm(APICState *s, int64_t now)
{
    int64_t period = timer_period_ns(s), next;

    if (!s->timer_running || period == 0) {
        guest_timer_del(s->timer);
        return;
    }
    if (s->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC) {
        int64_t fire = MAX(period, MIN_PERIOD_NS);
        int64_t done = (now - s->timer_start) / fire;
        next = s->timer_start + (done + 1) * fire;
    } else {
        next = s->timer_start + period;
    }
    guest_timer_mod(s->timer, next);
}

static void timer_expired(void *opaque)
{
    APICState *s = opaque;
    uint32_t lvt = s->lvt[LVT_TIMER];

    if (!s->timer_running) {
        return;
    }
    if (!(lvt & APIC_LVT_MASKED)) {
        apic_accept(s, APIC_DM_FIXED, lvt & 0xff, false);
    }
    if (lvt & LVT_TIMER_PERIODIC) {
        timer_arm(s, guest_clock_ns());
    } else {
        s->timer_running = false;
    }
}

static void timer_load(APICState *s, uint32_t count)
{
    s->timer_initial = count;
    s->timer_start = guest_clock_ns();
    s->timer_running = count != 0;
    timer_arm(s, s->timer_start);
}

/* ---- registers ---- */

static uint32_t lvt_index(unsigned offset)
{
    return (offset - APIC_REG_LVT_TIMER) >> 4;
}

static void apic_eoi(APICState *s)
{
    int v = highest_bit(s->isr);

    if (v < 0) {
        return;
    }
    bit_clear(s->isr, v);
    if (bit_test(s->tmr, v) && eoi_handler) {
        eoi_handler(eoi_opaque, (uint8_t)v);
    }
    apic_update_irq(s);
}

static void illegal_register(APICState *s, unsigned offset, bool write)
{
    log_guest_error("apic %u: %s of reserved register 0x%03x\n", s->id,
                    write ? "write" : "read", offset);
    apic_local_error(s, APIC_ESR_ILLEGAL_REGISTER);
}

uint32_t apic_reg_read(DeviceState *dev, unsigned offset)
{
    APICState *s = apic_state(dev);

    if (offset & 0xf) {
        log_guest_error("apic %u: unaligned read at 0x%03x\n", s->id, offset);
        return 0;
    }
    switch (offset) {
    case APIC_REG_ID: return (uint32_t)s->id << 24;
    case APIC_REG_VERSION: return APIC_VERSION_VALUE;
    case APIC_REG_TPR: return current_tpr(s);
    case APIC_REG_APR: return 0;
    case APIC_REG_PPR: return current_ppr(s);
    case APIC_REG_EOI: return 0;
    case APIC_REG_RRD: return 0;
    case APIC_REG_LDR: return s->ldr;
    case APIC_REG_DFR: return s->dfr;
    case APIC_REG_SVR: return s->svr;
    case APIC_REG_ESR: return s->esr;
    case APIC_REG_ICR_LO: return s->icr_lo & ~ICR_DELIV_STATUS;
    case APIC_REG_ICR_HI: return s->icr_hi;
    case APIC_REG_TIMER_INIT: return s->timer_initial;
    case APIC_REG_TIMER_CUR: return timer_current(s);
    case APIC_REG_TIMER_DIV: return s->timer_divide_reg;
    default:
        break;
    }
    if (offset >= APIC_REG_ISR && offset < APIC_REG_ISR + 0x80) {
        return s->isr[(offset - APIC_REG_ISR) >> 4];
    }
    if (offset >= APIC_REG_TMR && offset < APIC_REG_TMR + 0x80) {
        return s->tmr[(offset - APIC_REG_TMR) >> 4];
    }
    if (offset >= APIC_REG_IRR && offset < APIC_REG_IRR + 0x80) {
        return s->irr[(offset - APIC_REG_IRR) >> 4];
    }
    if (offset >= APIC_REG_LVT_TIMER && offset <= APIC_REG_LVT_ERROR) {
        return s->lvt[lvt_index(offset)];
    }
    illegal_register(s, offset, false);
    return 0;
}

static void write_svr(APICState *s, uint32_t val)
{
    s->svr = val & 0x3ff;      /* vector, enable, focus check disable */
    if (!sw_enabled(s)) {
        for (int i = 0; i < NUM_LVT; i++) {
            s->lvt[i] |= APIC_LVT_MASKED;
        }
    }
    apic_update_irq(s);
}

static void write_lvt(APICState *s, unsigned idx, uint32_t val)
{
    uint32_t old = s->lvt[idx];

    val &= lvt_writable[idx];
    if (!sw_enabled(s)) {
        val |= APIC_LVT_MASKED;  /* stays masked while software-disabled */
    }
    s->lvt[idx] = val;
    if (idx == LVT_TIMER && ((old ^ val) & LVT_TIMER_PERIODIC) && s->timer_running) {
        timer_arm(s, guest_clock_ns());
    }
    apic_update_irq(s);
}

void apic_reg_write(DeviceState *dev, unsigned offset, uint32_t val)
{
    APICState *s = apic_state(dev);

    if (offset & 0xf) {
        log_guest_error("apic %u: unaligned write at 0x%03x\n", s->id, offset);
        return;
    }
    switch (offset) {
    case APIC_REG_ID:
        s->id = val >> 24;
        return;
    case APIC_REG_TPR:
        s->tpr = val & 0xff;
        s->cpu->env.cr8 = s->tpr >> 4;
        apic_update_irq(s);
        return;
    case APIC_REG_EOI:
        apic_eoi(s);
        return;
    case APIC_REG_LDR:
        s->ldr = val & 0xff000000u;
        return;
    case APIC_REG_DFR:
        s->dfr = val | 0x0fffffffu;
        return;
    case APIC_REG_SVR:
        write_svr(s, val);
        return;
    case APIC_REG_ESR:
        /* A write latches the errors seen since the previous one. */
        s->esr = s->esr_pending;
        s->esr_pending = 0;
        return;
    case APIC_REG_ICR_LO:
        s->icr_lo = val & ICR_WRITABLE;
        apic_send_ipi(s);
        return;
    case APIC_REG_ICR_HI:
        s->icr_hi = val & 0xff000000u;
        return;
    case APIC_REG_TIMER_INIT:
        timer_load(s, val);
        return;
    case APIC_REG_TIMER_DIV: {
        uint32_t cur = timer_current(s);
        int64_t now = guest_clock_ns();
        s->timer_divide_reg = val & 0xb;
        if (s->timer_running) {
            /* Keep counting from the current value at the new rate. */
            s->timer_start = now - ((int64_t)(s->timer_initial - cur) << timer_divide_shift(s));
            timer_arm(s, now);
        }
        return;
    }
    case APIC_REG_VERSION:
    case APIC_REG_APR:
    case APIC_REG_PPR:
    case APIC_REG_RRD:
    case APIC_REG_TIMER_CUR:
        log_guest_error("apic %u: write to read-only register 0x%03x\n", s->id, offset);
        return;
    default:
        break;
    }
    if (offset >= APIC_REG_LVT_TIMER && offset <= APIC_REG_LVT_ERROR) {
        write_lvt(s, lvt_index(offset), val);
        return;
    }
    if (offset >= APIC_REG_ISR && offset < APIC_REG_IRR + 0x80) {
        log_guest_error("apic %u: write to read-only register 0x%03x\n", s->id, offset);
        return;
    }
    illegal_register(s, offset, true);
}

bool apic_waiting_for_sipi(DeviceState *dev)
{
    return apic_state(dev)->wait_for_sipi;
}

/* ---- the MMIO window ---- */

/* A write from a device: an MSI (address 0xFEEx_xxxx, data = vector etc.). */
static void apic_msi(hwaddr addr, uint32_t data)
{
    APICMessage msg = {
        .vector = data & 0xff,
        .delivery_mode = (data >> 8) & 7,
        .level = data & (1u << 15),
        .logical = addr & (1u << 2),
        .dest = (addr >> 12) & 0xff,
    };
    apic_bus_deliver(NULL, &msg);
}

/* The vCPU's APIC if its page is the default one and enabled. */
static DeviceState *default_page_apic(void)
{
    DeviceState *dev = apic_of_cpu(current_cpu());

    if (dev && (current_cpu()->env.apic_base & ~0xfffULL & ((1ULL << 52) - 1)) !=
               APIC_DEFAULT_BASE) {
        return NULL;    /* relocated: this page is just the MSI window now */
    }
    return dev;
}

static uint64_t apic_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    DeviceState *dev = default_page_apic();

    if (!dev || !hw_enabled(apic_state(dev)) || addr >= 0x1000) {
        log_guest_error("apic: read at 0x%05x %s\n", (unsigned)addr,
                        !dev ? "from a device or with the APIC relocated" : addr >= 0x1000 ? "outside the APIC page"
                                                                : "while the APIC is disabled");
        return 0;
    }
    return apic_reg_read(dev, (unsigned)addr);
}

static void apic_mmio_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    DeviceState *dev = default_page_apic();

    if (!current_cpu()) {
        apic_msi(addr, (uint32_t)val);
        return;
    }
    if (!dev || !hw_enabled(apic_state(dev)) || addr >= 0x1000) {
        log_guest_error("apic: write at 0x%05x %s\n", (unsigned)addr,
                        addr >= 0x1000 ? "outside the APIC page" : "while the APIC is disabled");
        return;
    }
    apic_reg_write(dev, (unsigned)addr, (uint32_t)val);
}

static const MemoryRegionOps apic_mmio_ops = {
    .read = apic_mmio_read,
    .write = apic_mmio_write,
    .min_access_size = 4,
    .max_access_size = 4,
};

/* A relocated APIC page: mapped for everyone (one address space), but only
 * the owning vCPU reaches its registers through it. */
static uint64_t reloc_read(void *opaque, hwaddr addr, unsigned size)
{
    APICState *s = opaque;

    if (apic_of_cpu(current_cpu()) != &s->parent) {
        log_guest_error("apic %u: relocated page read by another agent\n", s->id);
        return 0;
    }
    return apic_reg_read(&s->parent, (unsigned)addr);
}

static void reloc_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    APICState *s = opaque;

    if (apic_of_cpu(current_cpu()) != &s->parent) {
        log_guest_error("apic %u: relocated page written by another agent\n", s->id);
        return;
    }
    apic_reg_write(&s->parent, (unsigned)addr, (uint32_t)val);
}

static const MemoryRegionOps reloc_ops = {
    .read = reloc_read,
    .write = reloc_write,
    .min_access_size = 4,
    .max_access_size = 4,
};

static void reloc_unmap(APICState *s)
{
    if (s->reloc_mapped) {
        memory_region_del_subregion(get_system_memory(), &s->reloc_mmio);
        memory_region_destroy(&s->reloc_mmio);
        s->reloc_mapped = false;
    }
}

/* Maps the page where IA32_APIC_BASE says (nothing extra for the default). */
static void reloc_update(APICState *s)
{
    uint64_t base = s->cpu->env.apic_base & ~0xfffULL;

    reloc_unmap(s);
    if (!hw_enabled(s) || base == APIC_DEFAULT_BASE) {
        return;
    }
    log_mask(LOG_UNIMP, "apic %u: relocated to 0x%" PRIx64 "\n", s->id, base);
    memory_region_init_io(&s->reloc_mmio, s, &reloc_ops, s, "apic-relocated", 0x1000);
    memory_region_add_subregion_overlap(get_system_memory(), base, &s->reloc_mmio, 2);
    s->reloc_mapped = true;
}

bool apic_cpu_set_base(void *opaque, CPUState *cpu, uint64_t value)
{
    DeviceState *dev = apic_of_cpu(cpu);
    CPUX86State *env = &cpu->env;
    uint32_t eax, ebx, ecx, edx, phys_bits = 36;
    uint64_t old = env->apic_base, reserved;
    APICState *s;

    x86_cpu_get_cpuid(env, 0x80000000, 0, &eax, &ebx, &ecx, &edx);
    if (eax >= 0x80000008) {
        x86_cpu_get_cpuid(env, 0x80000008, 0, &eax, &ebx, &ecx, &edx);
        phys_bits = eax & 0xff;
    }
    /* Bits 0-7 and 9 are reserved, bit 10 (x2APIC) is not advertised. */
    reserved = 0x6ffULL | (phys_bits < 64 ? ~0ULL << phys_bits : 0);
    if (value & reserved) {
        log_guest_error("apic: IA32_APIC_BASE write 0x%" PRIx64 " sets reserved bits\n", value);
        return false;
    }
    env->apic_base = value;
    if (!dev) {
        return true;
    }
    s = apic_state(dev);
    if ((old ^ value) & APIC_BASE_ENABLE) {
        if (value & APIC_BASE_ENABLE) {
            /* Re-enabled: the ID is the CPU's again (as KVM does). */
            s->id = (uint8_t)env->apic_id;
        } else {
            /* Disabled: pending and in-service state is lost. */
            memset(s->irr, 0, sizeof(s->irr));
            memset(s->isr, 0, sizeof(s->isr));
            s->timer_running = false;
            guest_timer_del(s->timer);
        }
    }
    if ((old ^ value) & (APIC_BASE_ENABLE | ~0xfffULL)) {
        reloc_update(s);
    }
    apic_update_irq(s);
    return true;
}

/* ---- CPU side ---- */

int apic_cpu_interrupt_ack(void *opaque, CPUState *cpu)
{
    DeviceState *dev = apic_of_cpu(cpu);
    APICState *s;
    int v;

    if (!dev) {
        if (bus_pic && i8259_intr_pending(bus_pic)) {
            return i8259_ack(bus_pic);
        }
        cpu_reset_interrupt(cpu, CPU_INTERRUPT_HARD);
        return -1;
    }
    s = apic_state(dev);
    if (bus_pic && accepts_pic(s) && i8259_intr_pending(bus_pic)) {
        v = i8259_ack(bus_pic);    /* updates every APIC's line */
        apic_update_irq(s);
        return v;
    }
    if (s->extint_pending && hw_enabled(s)) {
        s->extint_pending = false;
        if (bus_pic) {
            v = i8259_ack(bus_pic);
            apic_update_irq(s);
            return v;
        }
    }
    v = deliverable_vector(s);
    if (v >= 0) {
        bit_clear(s->irr, v);
        bit_set(s->isr, v);
    }
    apic_update_irq(s);
    return v;
}

/* INIT: registers back to their power-on values, except the ID. */
static void apic_init_state(APICState *s, bool bsp)
{
    s->tpr = 0;
    s->cpu->env.cr8 = 0;
    s->ldr = 0;
    s->dfr = 0xffffffffu;
    s->svr = 0xff;
    memset(s->isr, 0, sizeof(s->isr));
    memset(s->tmr, 0, sizeof(s->tmr));
    memset(s->irr, 0, sizeof(s->irr));
    s->esr = s->esr_pending = 0;
    s->icr_lo = s->icr_hi = 0;
    for (int i = 0; i < NUM_LVT; i++) {
        s->lvt[i] = APIC_LVT_MASKED;
    }
    if (bsp) {
        /* What firmware leaves (and KVM's APIC starts with): the BSP's LINT0
         * takes the PIC's ExtINT ("virtual wire"). */
        s->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
    }
    s->timer_initial = 0;
    s->timer_divide_reg = 0;
    s->timer_running = false;
    guest_timer_del(s->timer);
    s->extint_pending = false;
}

void apic_cpu_handle_init_sipi(void *opaque, CPUState *cpu)
{
    DeviceState *dev = apic_of_cpu(cpu);
    unsigned req = (unsigned)g_atomic_int_get(&cpu->interrupt_request);
    CPUX86State *env = &cpu->env;
    APICState *s;

    cpu_reset_interrupt(cpu, req & (CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI));
    if (!dev) {
        return;
    }
    s = apic_state(dev);
    if (req & CPU_INTERRUPT_INIT) {
        uint64_t apic_base = env->apic_base;
        bool a20 = env->a20_enabled;

        x86_cpu_reset(env);
        env->apic_base = apic_base;
        env->a20_enabled = a20;
        cpu_reset_interrupt(cpu, CPU_INTERRUPT_HARD | CPU_INTERRUPT_NMI);
        apic_init_state(s, is_bsp(s));
        /* The BSP restarts at the reset vector; the others wait for SIPI. */
        s->wait_for_sipi = !is_bsp(s);
        env->halted = s->wait_for_sipi;
    }
    if ((req & CPU_INTERRUPT_SIPI) && s->wait_for_sipi) {
        env->segs[R_CS].selector = (uint16_t)s->sipi_vector << 8;
        env->segs[R_CS].base = (uint64_t)s->sipi_vector << 12;
        env->segs[R_CS].limit = 0xffff;
        env->rip = 0;
        env->halted = false;
        s->wait_for_sipi = false;
    }
    apic_update_irq(s);
}

/* ---- device ---- */

void apic_bus_set_pic(DeviceState *pic)
{
    bus_pic = pic;
}

void apic_bus_set_eoi_handler(void (*fn)(void *opaque, uint8_t vector), void *opaque)
{
    eoi_handler = fn;
    eoi_opaque = opaque;
}

static void apic_reset(DeviceState *dev)
{
    APICState *s = (APICState *)dev;

    s->id = (uint8_t)s->cpu->env.apic_id;
    /* env->apic_base is reset after the devices: decide by the index. */
    apic_init_state(s, s->cpu->index == 0);
    s->wait_for_sipi = s->cpu->index != 0;
    s->sipi_vector = 0;
    /* A pending NMI must not survive either: it would wake an AP waiting
     * for SIPI (it counts as work) and start it at the reset vector. */
    cpu_reset_interrupt(s->cpu, CPU_INTERRUPT_HARD | CPU_INTERRUPT_NMI | CPU_INTERRUPT_INIT |
                                CPU_INTERRUPT_SIPI);
    reloc_unmap(s);     /* the CPU reset puts IA32_APIC_BASE back at the default */
}

static bool apic_realize(DeviceState *dev, GError **errp)
{
    APICState *s = (APICState *)dev;

    if (!s->cpu) {
        error_setg(errp, "apic: no CPU");
        return false;
    }
    s->timer = guest_timer_new(timer_expired, s);
    if (!apics) {
        apics = g_ptr_array_new();
    }
    if (!apic_mmio_mapped) {
        /* The 1 MiB MSI window; vCPUs see their APIC in its first page. */
        memory_region_init_io(&apic_mmio, NULL, &apic_mmio_ops, NULL, "apic-msi", 0x100000);
        memory_region_add_subregion(get_system_memory(), APIC_DEFAULT_BASE, &apic_mmio);
        apic_mmio_mapped = true;
    }
    g_ptr_array_add(apics, s);
    apic_reset(dev);
    return true;
}

static void apic_unrealize(DeviceState *dev)
{
    APICState *s = (APICState *)dev;

    guest_timer_free(s->timer);
    s->timer = NULL;
    reloc_unmap(s);
    if (apics) {
        g_ptr_array_remove(apics, s);
        if (apics->len == 0 && apic_mmio_mapped) {
            memory_region_del_subregion(get_system_memory(), &apic_mmio);
            memory_region_destroy(&apic_mmio);
            apic_mmio_mapped = false;
            bus_pic = NULL;
            eoi_handler = NULL;
        }
    }
}

DeviceState *apic_create(CPUState *cpu, GError **errp)
{
    DeviceState *dev = device_new(TYPE_APIC, errp);

    if (!dev) {
        return NULL;
    }
    ((APICState *)dev)->cpu = cpu;
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

static const Property apic_props[] = {
    DEFINE_PROP_END,
};

static const DeviceClass apic_class = {
    .name = TYPE_APIC,
    .description = "local APIC (xAPIC)",
    .instance_size = sizeof(APICState),
    .props = apic_props,
    .realize = apic_realize,
    .unrealize = apic_unrealize,
    .reset = apic_reset,
};

static void apic_register(void)
{
    device_class_register(&apic_class);
}
type_init(apic_register)
