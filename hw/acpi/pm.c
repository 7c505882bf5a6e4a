/*
 * ACPI fixed-feature hardware: PM1a event and control registers, the 24-bit
 * power-management timer and an (empty) GPE0 block.
 *
 * Accesses may have any size and any offset: the guest is hostile and the
 * spec lets an OS read PM1_STS and PM1_EN with one 32-bit access. Every
 * access is taken apart byte by byte against the 16-bit registers, except
 * the timer, which is sampled once per access so a 32-bit read is coherent.
 *
 * The timer counts at 3.579545 MHz from the host monotonic clock. Its
 * overflow status (TMR_STS, set each time bit 23 flips) is computed when
 * the guest looks at PM1_STS or the timer; no host timer fires for it, so
 * an enabled TMR_EN raises the SCI only at those moments (Linux never
 * enables it). Sleep states other than S5 are not implemented: they are
 * logged under -d unimp and the guest keeps running.
 */
#include "hw/acpi/pm.h"
#include "exec/memory.h"
#include "kestrel/log.h"
#include "sysemu/runstate.h"
#include <time.h>

/* Bits the OS may set in PM1_EN, may clear in PM1_STS, may set in PM1_CNT. */
#define PM1_EN_WRITABLE  (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
                          ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
#define PM1_STS_CLEARABLE (PM1_EN_WRITABLE | ACPI_PM1_WAK_STS)
#define PM1_CNT_BM_RLD   (1u << 1)
#define PM1_CNT_STORED   (ACPI_PM1_CNT_SCI_EN | PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP_MASK)

typedef struct AcpiPMState {
    DeviceState parent;
    uint16_t io_base;
    uint16_t gpe0_base;
    qemu_irq sci;

    MemoryRegion pm_io;
    MemoryRegion gpe0_io;
    bool mapped;

    uint16_t pm1_sts;
    uint16_t pm1_en;
    uint16_t pm1_cnt;
    uint8_t gpe0_sts[ACPI_GPE0_LEN / 2];
    uint8_t gpe0_en[ACPI_GPE0_LEN / 2];
    int sci_level;                 /* last level driven, -1 = never driven */

    int64_t (*clock_ns)(void);
    int64_t timer_start_ns;
    uint64_t timer_last_half;      /* ticks >> 23 at the last sample */
} AcpiPMState;

/* The machine's PM block, for QMP system_powerdown. */
static AcpiPMState *acpi_pm_current;

static int64_t host_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Ticks since the start, not wrapped. Split so the product cannot overflow. */
static uint64_t timer_ticks_full(int64_t ns)
{
    uint64_t u = ns > 0 ? (uint64_t)ns : 0;
    return (u / 1000000000u) * ACPI_PM_TIMER_HZ +
           (u % 1000000000u) * ACPI_PM_TIMER_HZ / 1000000000u;
}

uint32_t acpi_pm_timer_ticks(int64_t ns)
{
    return (uint32_t)(timer_ticks_full(ns) & ACPI_PM_TIMER_MASK);
}

static void pm_update_sci(AcpiPMState *s)
{
    bool pending = (s->pm1_sts & s->pm1_en & PM1_EN_WRITABLE) != 0;
    int level;

    for (unsigned i = 0; i < sizeof(s->gpe0_sts); i++) {
        pending |= (s->gpe0_sts[i] & s->gpe0_en[i]) != 0;
    }
    level = (s->pm1_cnt & ACPI_PM1_CNT_SCI_EN) && pending;
    if (level != s->sci_level) {
        s->sci_level = level;
        irq_set_level(s->sci, level);
    }
}

/* Reads the timer and notes an overflow of bit 23 since the last sample. */
static uint32_t pm_timer_sample(AcpiPMState *s)
{
    uint64_t ticks = timer_ticks_full(s->clock_ns() - s->timer_start_ns);

    if ((ticks >> 23) != s->timer_last_half) {
        s->timer_last_half = ticks >> 23;
        s->pm1_sts |= ACPI_PM1_TMR;
    }
    return (uint32_t)(ticks & ACPI_PM_TIMER_MASK);
}

static uint64_t pm_io_read(void *opaque, hwaddr addr, unsigned size)
{
    AcpiPMState *s = opaque;
    bool touches_timer = addr < ACPI_PM_TMR_OFFSET + ACPI_PM_TMR_LEN &&
                         addr + size > ACPI_PM_TMR_OFFSET;
    bool touches_status = addr < ACPI_PM1_EVT_OFFSET + 2;
    uint32_t timer = 0;
    uint64_t value = 0;

    if (touches_timer || touches_status) {
        timer = pm_timer_sample(s);
        pm_update_sci(s);
    }
    for (unsigned i = 0; i < size && i < 8; i++) {
        hwaddr off = addr + i;
        uint8_t byte = 0;

        if (off < 2) {
            byte = (uint8_t)(s->pm1_sts >> (8 * off));
        } else if (off < 4) {
            byte = (uint8_t)(s->pm1_en >> (8 * (off - 2)));
        } else if (off < 6) {
            /* SLP_EN is write-only: it reads as zero. */
            byte = (uint8_t)(s->pm1_cnt >> (8 * (off - 4)));
        } else if (off >= ACPI_PM_TMR_OFFSET && off < ACPI_PM_TMR_OFFSET + ACPI_PM_TMR_LEN) {
            byte = (uint8_t)(timer >> (8 * (off - ACPI_PM_TMR_OFFSET)));
        }
        value |= (uint64_t)byte << (8 * i);
    }
    return value;
}

static void pm_sleep(AcpiPMState *s, unsigned slp_typ)
{
    if (slp_typ == ACPI_SLP_TYP_S5) {
        system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        return;
    }
    log_mask(LOG_UNIMP, "acpi-pm: sleep type %u requested; only S5 (%u) is implemented\n",
             slp_typ, ACPI_SLP_TYP_S5);
}

/* Applies a write of `value` to the bytes of a 16-bit register selected by
 * `mask` (0x00ff, 0xff00 or 0xffff). */
static void pm_write_reg16(AcpiPMState *s, unsigned reg, uint16_t value, uint16_t mask)
{
    switch (reg) {
    case ACPI_PM1_EVT_OFFSET:
        /* Status bits are cleared by writing ones. */
        pm_timer_sample(s);
        s->pm1_sts &= (uint16_t)~(value & mask & PM1_STS_CLEARABLE);
        break;
    case ACPI_PM1_EVT_OFFSET + 2:
        s->pm1_en = (uint16_t)((s->pm1_en & ~mask) | (value & mask & PM1_EN_WRITABLE));
        break;
    case ACPI_PM1_CNT_OFFSET:
        s->pm1_cnt = (uint16_t)((s->pm1_cnt & ~mask) | (value & mask & PM1_CNT_STORED));
        if (value & mask & ACPI_PM1_CNT_SLP_EN) {
            pm_sleep(s, (s->pm1_cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT);
        }
        break;
    default:
        log_guest_error("acpi-pm: write 0x%x (mask 0x%x) to read-only or reserved "
                        "offset 0x%x\n", value, mask, reg);
        break;
    }
}

static void pm_io_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    AcpiPMState *s = opaque;

    /* Group the written bytes by the 16-bit register they belong to. */
    for (unsigned i = 0; i < size && i < 8;) {
        hwaddr off = addr + i;
        unsigned reg = (unsigned)(off & ~(hwaddr)1);
        uint16_t value = 0, mask = 0;

        if (off >= ACPI_PM_IO_SIZE) {
            break;
        }
        while (i < size && i < 8 && ((addr + i) & ~(hwaddr)1) == reg) {
            unsigned shift = 8 * ((addr + i) & 1);
            value |= (uint16_t)(((data >> (8 * i)) & 0xff) << shift);
            mask |= (uint16_t)(0xff << shift);
            i++;
        }
        pm_write_reg16(s, reg, value, mask);
    }
    pm_update_sci(s);
}

static const MemoryRegionOps pm_io_ops = {
    .read = pm_io_read,
    .write = pm_io_write,
    .min_access_size = 1,
    .max_access_size = 4,
    .unaligned = true,
};

/* GPE0: status bytes then enable bytes. No general-purpose events exist
 * yet, so status stays zero; enables are kept so the OS reads back what it
 * wrote. */
static uint64_t gpe0_read(void *opaque, hwaddr addr, unsigned size)
{
    AcpiPMState *s = opaque;
    const unsigned half = ACPI_GPE0_LEN / 2;
    uint64_t value = 0;

    for (unsigned i = 0; i < size && i < 8; i++) {
        hwaddr off = addr + i;
        uint8_t byte = 0;

        if (off < half) {
            byte = s->gpe0_sts[off];
        } else if (off < ACPI_GPE0_LEN) {
            byte = s->gpe0_en[off - half];
        }
        value |= (uint64_t)byte << (8 * i);
    }
    return value;
}

static void gpe0_write(void *opaque, hwaddr addr, uint64_t data, unsigned size)
{
    AcpiPMState *s = opaque;
    const unsigned half = ACPI_GPE0_LEN / 2;

    for (unsigned i = 0; i < size && i < 8; i++) {
        hwaddr off = addr + i;
        uint8_t byte = (uint8_t)(data >> (8 * i));

        if (off < half) {
            s->gpe0_sts[off] &= (uint8_t)~byte;
        } else if (off < ACPI_GPE0_LEN) {
            s->gpe0_en[off - half] = byte;
        }
    }
    pm_update_sci(s);
}

static const MemoryRegionOps gpe0_ops = {
    .read = gpe0_read,
    .write = gpe0_write,
    .min_access_size = 1,
    .max_access_size = 4,
    .unaligned = true,
};

static void acpi_pm_reset(DeviceState *dev)
{
    AcpiPMState *s = (AcpiPMState *)dev;

    s->pm1_sts = 0;
    s->pm1_en = 0;
    /* There is no firmware to switch into ACPI mode (the FADT has no
     * SMI_CMD), so the hardware starts in it. */
    s->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
    memset(s->gpe0_sts, 0, sizeof(s->gpe0_sts));
    memset(s->gpe0_en, 0, sizeof(s->gpe0_en));
    s->sci_level = -1;
    pm_update_sci(s);
}

static bool acpi_pm_realize(DeviceState *dev, GError **errp)
{
    AcpiPMState *s = (AcpiPMState *)dev;

    if ((uint32_t)s->io_base + ACPI_PM_IO_SIZE > 0x10000 ||
        (uint32_t)s->gpe0_base + ACPI_GPE0_LEN > 0x10000) {
        error_setg(errp, "acpi-pm: I/O ports 0x%x/0x%x do not fit the 64 KiB I/O space",
                   s->io_base, s->gpe0_base);
        return false;
    }
    if (s->gpe0_base < s->io_base + ACPI_PM_IO_SIZE &&
        s->gpe0_base + ACPI_GPE0_LEN > s->io_base) {
        error_setg(errp, "acpi-pm: GPE0 block at 0x%x overlaps the PM block at 0x%x",
                   s->gpe0_base, s->io_base);
        return false;
    }
    if (!s->clock_ns) {
        s->clock_ns = host_monotonic_ns;
    }
    s->timer_start_ns = s->clock_ns();
    s->timer_last_half = 0;

    memory_region_init_io(&s->pm_io, s, &pm_io_ops, s, "acpi-pm", ACPI_PM_IO_SIZE);
    memory_region_init_io(&s->gpe0_io, s, &gpe0_ops, s, "acpi-gpe0", ACPI_GPE0_LEN);
    memory_region_transaction_begin();
    memory_region_add_subregion(get_system_io(), s->io_base, &s->pm_io);
    memory_region_add_subregion(get_system_io(), s->gpe0_base, &s->gpe0_io);
    memory_region_transaction_commit();
    s->mapped = true;
    acpi_pm_current = s;
    acpi_pm_reset(dev);
    return true;
}

static void acpi_pm_unrealize(DeviceState *dev)
{
    AcpiPMState *s = (AcpiPMState *)dev;

    if (acpi_pm_current == s) {
        acpi_pm_current = NULL;
    }
    if (s->mapped) {
        memory_region_transaction_begin();
        memory_region_del_subregion(get_system_io(), &s->pm_io);
        memory_region_del_subregion(get_system_io(), &s->gpe0_io);
        memory_region_transaction_commit();
        memory_region_destroy(&s->pm_io);
        memory_region_destroy(&s->gpe0_io);
        s->mapped = false;
    }
}

static const Property acpi_pm_props[] = {
    DEFINE_PROP("iobase", PROP_UINT16, AcpiPMState, io_base, ACPI_PM_DEFAULT_IO_BASE,
                "first port of PM1a_EVT, PM1a_CNT and PM_TMR (64 ports)"),
    DEFINE_PROP("gpe0-base", PROP_UINT16, AcpiPMState, gpe0_base, ACPI_PM_DEFAULT_GPE0_BASE,
                "first port of the GPE0 block (4 ports)"),
    DEFINE_PROP_END,
};

static const DeviceClass acpi_pm_class = {
    .name = TYPE_ACPI_PM,
    .description = "ACPI PM1a event/control registers, PM timer and GPE0 block",
    .instance_size = sizeof(AcpiPMState),
    .props = acpi_pm_props,
    .user_creatable = false,
    .realize = acpi_pm_realize,
    .unrealize = acpi_pm_unrealize,
    .reset = acpi_pm_reset,
};

DeviceState *acpi_pm_create(uint16_t io_base, uint16_t gpe0_base, qemu_irq sci,
                            GError **errp)
{
    DeviceState *dev = device_new(TYPE_ACPI_PM, errp);
    AcpiPMState *s;

    if (!dev) {
        return NULL;
    }
    s = (AcpiPMState *)dev;
    s->io_base = io_base;
    s->gpe0_base = gpe0_base;
    s->sci = sci;
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    return dev;
}

static AcpiPMState *acpi_pm_cast(DeviceState *dev)
{
    g_assert(dev && dev->klass == &acpi_pm_class);
    return (AcpiPMState *)dev;
}

void acpi_pm_power_button(DeviceState *dev)
{
    AcpiPMState *s = acpi_pm_cast(dev);

    s->pm1_sts |= ACPI_PM1_PWRBTN;
    pm_update_sci(s);
}

DeviceState *acpi_pm_find(void)
{
    return acpi_pm_current ? &acpi_pm_current->parent : NULL;
}

void acpi_pm_set_clock(DeviceState *dev, int64_t (*clock_ns)(void))
{
    AcpiPMState *s = acpi_pm_cast(dev);

    s->clock_ns = clock_ns ? clock_ns : host_monotonic_ns;
    s->timer_start_ns = s->clock_ns();
    s->timer_last_half = 0;
}

static void acpi_pm_register(void)
{
    device_class_register(&acpi_pm_class);
}
type_init(acpi_pm_register)
