/*
 * MC146818 real-time clock with CMOS RAM ("mc146818rtc"). See
 * include/hw/rtc/mc146818rtc.h and docs/platform-devices.md.
 *
 * Time model: the RTC time is the host clock plus an offset, in
 * microseconds, counted like Unix time but read as the RTC's own wall
 * clock (broken down as UTC, so base=localtime just adds the host's UTC
 * offset at start). The clock registers are not ticked: they are computed
 * from that time whenever the guest reads them, so nothing runs while the
 * guest does not look. With SET (register B bit 7) the registers freeze and
 * hold what the guest writes; clearing SET makes the written time current,
 * starting a fresh second at that instant. Writing a clock register without
 * SET does the same for that one field.
 *
 * Events: the periodic interrupt (rate from register A) and the once-a-
 * second update-ended / alarm check are GLib sources on the main loop,
 * armed only while an interrupt that needs them is enabled. A guest that
 * polls register C without interrupts still sees UF (and an alarm that
 * matches the current second) because reading C first catches up with the
 * seconds that passed. The interrupt line is the OR of the enabled flags
 * (register C bits 6-4 masked with register B bits 6-4); reading C clears
 * them.
 */
#include "hw/rtc/mc146818rtc.h"
#include "exec/memory.h"
#include "kestrel/keyval.h"
#include "kestrel/log.h"
#include "sysemu/main-loop.h"

#include <time.h>

#define USEC_PER_SEC      1000000ll
#define NSEC_PER_SEC      1000000000ll
/* UIP rises this long before each update (datasheet: 244 us). */
#define UIP_WINDOW_US     244
#define REG_A_RATE_MASK   0x0f
#define REG_B_IRQ_ENABLES (RTC_REG_B_PIE | RTC_REG_B_AIE | RTC_REG_B_UIE)
#define ALARM_DONT_CARE   0xc0
#define CMOS_NMI_DISABLE  0x80
#define CMOS_INDEX_MASK   0x7f
#define CMOS_FIRST_RAM    0x0e
/* Bound on seconds checked one by one for alarms when catching up. */
#define ALARM_CATCH_UP_MAX 4

/* Standard PC CMOS fields. */
#define CMOS_FLOPPY_TYPES  0x10
#define CMOS_EQUIPMENT     0x14
#define CMOS_BASE_MEM_LO   0x15
#define CMOS_EXT_MEM_LO    0x17
#define CMOS_CHECKSUM_HI   0x2e
#define CMOS_EXT_MEM2_LO   0x30
#define CMOS_MEM_16M_LO    0x34
#define CMOS_MEM_4G_LO     0x5b
#define CMOS_NR_CPUS       0x5f

typedef enum RtcBaseKind {
    RTC_BASE_UTC,
    RTC_BASE_LOCALTIME,
    RTC_BASE_DATETIME,
} RtcBaseKind;

/* -rtc settings, for RTCs created afterwards. */
static RtcBaseKind rtc_base_kind = RTC_BASE_UTC;
static int64_t rtc_base_unix;    /* RTC_BASE_DATETIME: seconds */

static int64_t (*host_clock)(void) = g_get_real_time;

typedef struct RtcTimer {
    GSource source;
    struct RTCState *rtc;
    void (*fire)(struct RTCState *s);
} RtcTimer;

typedef struct RTCState {
    DeviceState parent;

    MemoryRegion io;
    bool io_mapped;
    qemu_irq irq;
    int irq_level;

    uint8_t cmos[RTC_CMOS_SIZE];
    uint8_t index;
    bool nmi_disabled;

    int64_t offset_us;           /* RTC time = host clock + offset */
    int64_t last_update_sec;     /* the last second whose update was seen */

    RtcTimer *periodic;
    int64_t periodic_period_ns;  /* 0: off */
    int64_t periodic_deadline_ns;   /* monotonic */
    RtcTimer *update;
} RTCState;

/* ---- time ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t rtc_now_us(const RTCState *s)
{
    return host_clock() + s->offset_us;
}

static bool binary_mode(const RTCState *s)
{
    return s->cmos[RTC_REG_B] & RTC_REG_B_DM;
}

static uint8_t to_reg(const RTCState *s, unsigned v)
{
    v %= 100;
    return binary_mode(s) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Hostile BCD (nibbles above 9) gives odd but bounded numbers. */
static unsigned from_reg(const RTCState *s, uint8_t b)
{
    return binary_mode(s) ? b : (unsigned)(b >> 4) * 10 + (b & 0x0f);
}

static uint8_t hour_to_reg(const RTCState *s, unsigned hour)
{
    if (s->cmos[RTC_REG_B] & RTC_REG_B_24H) {
        return to_reg(s, hour);
    }
    return to_reg(s, hour % 12 == 0 ? 12 : hour % 12) | (hour >= 12 ? 0x80 : 0);
}

static unsigned hour_from_reg(const RTCState *s, uint8_t b)
{
    if (s->cmos[RTC_REG_B] & RTC_REG_B_24H) {
        return from_reg(s, b);
    }
    return from_reg(s, b & 0x7f) % 12 + ((b & 0x80) ? 12 : 0);
}

/* The Unix seconds GLib can break down (years 1..9999). */
#define RTC_MIN_UNIX  (-62135596800ll)
#define RTC_MAX_UNIX  (253402300799ll)

/* Writes the clock registers for RTC time `secs`. */
static void set_registers_from_time(RTCState *s, int64_t secs)
{
    GDateTime *dt = g_date_time_new_from_unix_utc(CLAMP(secs, RTC_MIN_UNIX, RTC_MAX_UNIX));
    int year = g_date_time_get_year(dt);

    s->cmos[RTC_SECONDS] = to_reg(s, g_date_time_get_second(dt));
    s->cmos[RTC_MINUTES] = to_reg(s, g_date_time_get_minute(dt));
    s->cmos[RTC_HOURS] = hour_to_reg(s, g_date_time_get_hour(dt));
    /* GLib: 1 = Monday .. 7 = Sunday; the RTC: 1 = Sunday .. 7 = Saturday. */
    s->cmos[RTC_DAY_OF_WEEK] = to_reg(s, g_date_time_get_day_of_week(dt) % 7 + 1);
    s->cmos[RTC_DAY_OF_MONTH] = to_reg(s, g_date_time_get_day_of_month(dt));
    s->cmos[RTC_MONTH] = to_reg(s, g_date_time_get_month(dt));
    s->cmos[RTC_YEAR] = to_reg(s, year % 100);
    s->cmos[RTC_CENTURY] = to_reg(s, year / 100);
    g_date_time_unref(dt);
}

static int days_in_month(int year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* The RTC time the clock registers describe. Out-of-range fields (the
 * guest may write anything) are clamped to the nearest valid value. */
static int64_t time_from_registers(const RTCState *s)
{
    int year = (int)(from_reg(s, s->cmos[RTC_CENTURY]) * 100 + from_reg(s, s->cmos[RTC_YEAR]));
    int month = (int)from_reg(s, s->cmos[RTC_MONTH]);
    int day = (int)from_reg(s, s->cmos[RTC_DAY_OF_MONTH]);
    int hour = (int)hour_from_reg(s, s->cmos[RTC_HOURS]);
    int minute = (int)from_reg(s, s->cmos[RTC_MINUTES]);
    int second = (int)from_reg(s, s->cmos[RTC_SECONDS]);
    GDateTime *dt;
    int64_t secs;

    year = CLAMP(year, 1, 9999);
    month = CLAMP(month, 1, 12);
    day = CLAMP(day, 1, days_in_month(year, month));
    hour = CLAMP(hour, 0, 23);
    minute = CLAMP(minute, 0, 59);
    second = CLAMP(second, 0, 59);
    dt = g_date_time_new_utc(year, month, day, hour, minute, second);
    g_assert(dt);
    secs = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return secs;
}

static bool clock_frozen(const RTCState *s)
{
    return s->cmos[RTC_REG_B] & RTC_REG_B_SET;
}

/* Brings the clock registers up to the current time (unless frozen). */
static void refresh_registers(RTCState *s)
{
    if (!clock_frozen(s)) {
        set_registers_from_time(s, floor_div(rtc_now_us(s), USEC_PER_SEC));
    }
}

/* Makes the time in the registers current, at the start of its second. */
static void adopt_register_time(RTCState *s)
{
    int64_t secs = time_from_registers(s);

    s->offset_us = secs * USEC_PER_SEC - host_clock();
    s->last_update_sec = secs;
}

/* ---- interrupts ---- */

static void update_irq(RTCState *s)
{
    int level = (s->cmos[RTC_REG_C] & s->cmos[RTC_REG_B] & REG_B_IRQ_ENABLES) != 0;

    if (level) {
        s->cmos[RTC_REG_C] |= RTC_REG_C_IRQF;
    } else {
        s->cmos[RTC_REG_C] &= ~RTC_REG_C_IRQF;
    }
    if (level != s->irq_level) {
        s->irq_level = level;
        irq_set_level(s->irq, level);
    }
}

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
    return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == now;
}

static bool alarm_matches_now(RTCState *s)
{
    return alarm_field_matches(s->cmos[RTC_SECONDS_ALARM], s->cmos[RTC_SECONDS]) &&
           alarm_field_matches(s->cmos[RTC_MINUTES_ALARM], s->cmos[RTC_MINUTES]) &&
           alarm_field_matches(s->cmos[RTC_HOURS_ALARM], s->cmos[RTC_HOURS]);
}

/* Sets UF (and AF on an alarm match) for updates since the last check. */
static void catch_up_updates(RTCState *s)
{
    int64_t now_sec;

    if (clock_frozen(s)) {
        return;
    }
    now_sec = floor_div(rtc_now_us(s), USEC_PER_SEC);
    if (now_sec == s->last_update_sec) {
        return;
    }
    if (now_sec > s->last_update_sec) {
        s->cmos[RTC_REG_C] |= RTC_REG_C_UF;
        /* Alarms in the seconds just passed; a long gap checks only the
         * last few (with AIE set the timer runs every second anyway). */
        int64_t first = MAX(s->last_update_sec + 1, now_sec - ALARM_CATCH_UP_MAX + 1);
        for (int64_t sec = first; sec <= now_sec; sec++) {
            set_registers_from_time(s, sec);
            if (alarm_matches_now(s)) {
                s->cmos[RTC_REG_C] |= RTC_REG_C_AF;
            }
        }
    }
    /* The time may also have gone backwards (the guest set it). */
    s->last_update_sec = now_sec;
    refresh_registers(s);
}

/* ---- timers ---- */

static gboolean rtc_timer_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
    RtcTimer *t = (RtcTimer *)source;

    g_source_set_ready_time(source, -1);
    t->fire(t->rtc);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs rtc_timer_funcs = {
    .dispatch = rtc_timer_dispatch,
};

static RtcTimer *rtc_timer_new(RTCState *s, void (*fire)(RTCState *s))
{
    RtcTimer *t = (RtcTimer *)g_source_new(&rtc_timer_funcs, sizeof(RtcTimer));

    t->rtc = s;
    t->fire = fire;
    g_source_set_priority(&t->source, G_PRIORITY_HIGH);
    g_source_set_ready_time(&t->source, -1);
    g_source_attach(&t->source, main_loop_context());
    return t;
}

static void rtc_timer_free(RtcTimer *t)
{
    if (t) {
        g_source_destroy(&t->source);
        g_source_unref(&t->source);
    }
}

static int64_t monotonic_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

/* Period of the periodic interrupt for register A's rate select, in ns
 * (32.768 kHz time base: rates 1 and 2 repeat 8 and 9). 0: off. */
static int64_t periodic_period_ns(uint8_t reg_a)
{
    unsigned rs = reg_a & REG_A_RATE_MASK;
    unsigned hz;

    if (rs == 0) {
        return 0;
    }
    if (rs <= 2) {
        rs += 7;
    }
    hz = 65536u >> rs;
    return NSEC_PER_SEC / hz;
}

static void periodic_arm(RTCState *s)
{
    if (s->periodic) {
        g_source_set_ready_time(&s->periodic->source,
                                (s->periodic_deadline_ns + 999) / 1000);
    }
}

/* Starts, retunes or stops the periodic timer after A or B changed. */
static void periodic_reconfigure(RTCState *s)
{
    int64_t period = (s->cmos[RTC_REG_B] & RTC_REG_B_PIE) ? periodic_period_ns(s->cmos[RTC_REG_A])
                                                          : 0;

    if (period == s->periodic_period_ns) {
        return;
    }
    s->periodic_period_ns = period;
    if (period == 0) {
        if (s->periodic) {
            g_source_set_ready_time(&s->periodic->source, -1);
        }
        return;
    }
    s->periodic_deadline_ns = monotonic_ns() + period;
    periodic_arm(s);
}

void mc146818_rtc_periodic_tick(DeviceState *dev)
{
    RTCState *s = (RTCState *)dev;

    s->cmos[RTC_REG_C] |= RTC_REG_C_PF;
    update_irq(s);
}

static void periodic_fire(RTCState *s)
{
    int64_t now = monotonic_ns();

    if (s->periodic_period_ns == 0) {
        return;
    }
    /* Late ticks coalesce into one interrupt (driftfix=none); after a long
     * stall the phase restarts from now. */
    if (now - s->periodic_deadline_ns > 1000 * s->periodic_period_ns) {
        s->periodic_deadline_ns = now;
    }
    while (s->periodic_deadline_ns <= now) {
        s->periodic_deadline_ns += s->periodic_period_ns;
    }
    mc146818_rtc_periodic_tick(&s->parent);
    periodic_arm(s);
}

/* The update timer runs at each second boundary while UIE or AIE is set. */
static void update_timer_rearm(RTCState *s)
{
    int64_t now_us, into_second;

    if (!s->update) {
        return;
    }
    if (clock_frozen(s) || !(s->cmos[RTC_REG_B] & (RTC_REG_B_UIE | RTC_REG_B_AIE))) {
        g_source_set_ready_time(&s->update->source, -1);
        return;
    }
    now_us = rtc_now_us(s);
    into_second = now_us - floor_div(now_us, USEC_PER_SEC) * USEC_PER_SEC;
    g_source_set_ready_time(&s->update->source,
                            g_get_monotonic_time() + (USEC_PER_SEC - into_second));
}

static void update_fire(RTCState *s)
{
    catch_up_updates(s);
    update_irq(s);
    update_timer_rearm(s);
}

void mc146818_rtc_run_timers(DeviceState *dev)
{
    update_fire((RTCState *)dev);
}

bool mc146818_rtc_periodic_timer_armed(DeviceState *dev)
{
    return ((RTCState *)dev)->periodic_period_ns != 0;
}

void mc146818_rtc_set_host_clock(int64_t (*clock_us)(void))
{
    host_clock = clock_us ? clock_us : g_get_real_time;
}

/* ---- registers ---- */

static bool is_clock_register(unsigned index)
{
    return index <= RTC_YEAR || index == RTC_CENTURY;
}

static bool is_alarm_register(unsigned index)
{
    return index == RTC_SECONDS_ALARM || index == RTC_MINUTES_ALARM ||
           index == RTC_HOURS_ALARM;
}

static bool update_in_progress(const RTCState *s)
{
    int64_t now_us;

    if (clock_frozen(s)) {
        return false;
    }
    now_us = rtc_now_us(s);
    return now_us - floor_div(now_us, USEC_PER_SEC) * USEC_PER_SEC >=
           USEC_PER_SEC - UIP_WINDOW_US;
}

static uint8_t cmos_read(RTCState *s, unsigned index)
{
    uint8_t val;

    switch (index) {
    case RTC_REG_A:
        return (s->cmos[RTC_REG_A] & ~RTC_REG_A_UIP) |
               (update_in_progress(s) ? RTC_REG_A_UIP : 0);
    case RTC_REG_C:
        catch_up_updates(s);
        update_irq(s);
        val = s->cmos[RTC_REG_C];
        s->cmos[RTC_REG_C] = 0;
        update_irq(s);
        return val;
    case RTC_REG_D:
        return RTC_REG_D_VRT;
    default:
        if (is_clock_register(index) && !is_alarm_register(index)) {
            refresh_registers(s);
        }
        return s->cmos[index];
    }
}

static void write_reg_b(RTCState *s, uint8_t val)
{
    bool was_set = clock_frozen(s);
    bool set = val & RTC_REG_B_SET;

    if (set && !was_set) {
        /* Freeze what the registers show now. */
        refresh_registers(s);
        catch_up_updates(s);
    }
    if (set) {
        /* Setting SET clears UIE. */
        val &= ~RTC_REG_B_UIE;
    }
    s->cmos[RTC_REG_B] = val;
    if (!set && was_set) {
        adopt_register_time(s);
    }
    update_irq(s);
    periodic_reconfigure(s);
    update_timer_rearm(s);
}

static void cmos_write(RTCState *s, unsigned index, uint8_t val)
{
    switch (index) {
    case RTC_REG_A:
        s->cmos[RTC_REG_A] = val & ~RTC_REG_A_UIP;
        periodic_reconfigure(s);
        break;
    case RTC_REG_B:
        write_reg_b(s, val);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        log_guest_error("mc146818rtc: write 0x%02x to read-only register 0x%x ignored\n",
                        val, index);
        break;
    default:
        if (is_clock_register(index) && !is_alarm_register(index) && !clock_frozen(s)) {
            /* Without SET, a written field takes effect at once. */
            refresh_registers(s);
            s->cmos[index] = val;
            adopt_register_time(s);
            refresh_registers(s);
            update_timer_rearm(s);
        } else {
            s->cmos[index] = val;
        }
        break;
    }
}

static uint64_t rtc_io_read(void *opaque, hwaddr addr, unsigned size)
{
    RTCState *s = opaque;

    if (addr == 0) {
        /* The index register is write-only. */
        return 0xff;
    }
    return cmos_read(s, s->index);
}

static void rtc_io_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    RTCState *s = opaque;

    if (addr == 0) {
        s->nmi_disabled = val & CMOS_NMI_DISABLE;
        s->index = val & CMOS_INDEX_MASK;
    } else {
        cmos_write(s, s->index, (uint8_t)val);
    }
}

static const MemoryRegionOps rtc_io_ops = {
    .read = rtc_io_read,
    .write = rtc_io_write,
    .min_access_size = 1,
    .max_access_size = 1,
};

/* ---- machine interface ---- */

static RTCState *rtc_from_dev(DeviceState *dev)
{
    g_assert(dev && dev->klass && strcmp(dev->klass->name, TYPE_MC146818_RTC) == 0);
    return (RTCState *)dev;
}

void mc146818_rtc_set_cmos(DeviceState *dev, unsigned index, uint8_t val)
{
    RTCState *s = rtc_from_dev(dev);

    if (index < CMOS_FIRST_RAM || index >= RTC_CMOS_SIZE || index == RTC_CENTURY) {
        error_report("mc146818rtc: CMOS index 0x%x is not plain RAM", index);
        return;
    }
    s->cmos[index] = val;
}

uint8_t mc146818_rtc_get_cmos(DeviceState *dev, unsigned index)
{
    RTCState *s = rtc_from_dev(dev);

    if (index >= RTC_CMOS_SIZE) {
        return 0xff;
    }
    return cmos_read(s, index);
}

static void set_cmos_word(RTCState *s, unsigned index, unsigned val)
{
    s->cmos[index] = val & 0xff;
    s->cmos[index + 1] = (val >> 8) & 0xff;
}

void mc146818_rtc_set_pc_config(DeviceState *dev, uint64_t ram_below_4g,
                                uint64_t ram_above_4g, unsigned nr_cpus)
{
    RTCState *s = rtc_from_dev(dev);
    const uint64_t one_mb = 1024 * 1024, sixteen_mb = 16 * one_mb, unit64k = 64 * 1024;
    uint64_t ext_kb = ram_below_4g > one_mb ? (ram_below_4g - one_mb) / 1024 : 0;
    uint64_t above_16m = ram_below_4g > sixteen_mb ? (ram_below_4g - sixteen_mb) / unit64k : 0;
    uint64_t above_4g = ram_above_4g / unit64k;
    unsigned sum = 0;

    s->cmos[CMOS_FLOPPY_TYPES] = 0;
    s->cmos[CMOS_EQUIPMENT] = 0x02;   /* no floppy, FPU present, EGA/VGA */
    set_cmos_word(s, CMOS_BASE_MEM_LO, 640);
    set_cmos_word(s, CMOS_EXT_MEM_LO, (unsigned)MIN(ext_kb, 0xffff));
    set_cmos_word(s, CMOS_EXT_MEM2_LO, (unsigned)MIN(ext_kb, 0xffff));
    set_cmos_word(s, CMOS_MEM_16M_LO, (unsigned)MIN(above_16m, 0xffff));
    above_4g = MIN(above_4g, 0xffffff);
    s->cmos[CMOS_MEM_4G_LO] = above_4g & 0xff;
    s->cmos[CMOS_MEM_4G_LO + 1] = (above_4g >> 8) & 0xff;
    s->cmos[CMOS_MEM_4G_LO + 2] = (above_4g >> 16) & 0xff;
    s->cmos[CMOS_NR_CPUS] = (uint8_t)(nr_cpus ? MIN(nr_cpus - 1, 0xffu) : 0);
    for (unsigned i = CMOS_FLOPPY_TYPES; i < CMOS_CHECKSUM_HI; i++) {
        sum += s->cmos[i];
    }
    s->cmos[CMOS_CHECKSUM_HI] = (sum >> 8) & 0xff;
    s->cmos[CMOS_CHECKSUM_HI + 1] = sum & 0xff;
}

void mc146818_rtc_set_irq(DeviceState *dev, qemu_irq irq8)
{
    RTCState *s = rtc_from_dev(dev);

    if (s->irq && s->irq_level) {
        irq_set_level(s->irq, 0);
    }
    s->irq = irq8;
    if (s->irq_level) {
        irq_set_level(s->irq, 1);
    }
}

/* ---- -rtc ---- */

static bool parse_base_datetime(const char *value, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    char tail;
    GDateTime *dt;

    if (sscanf(value, "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h, &mi, &sec, &tail) != 6 &&
        sscanf(value, "%d-%d-%d%c", &y, &mo, &d, &tail) != 3) {
        return false;
    }
    if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) {
        return false;
    }
    dt = g_date_time_new_utc(y, mo, d, h, mi, sec);
    if (!dt) {
        return false;
    }
    *out = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return true;
}

bool rtc_parse_option(const char *optarg, GError **errp)
{
    g_autoptr(GHashTable) opts = keyval_parse(optarg, NULL, errp);
    RtcBaseKind kind = rtc_base_kind;
    int64_t base = rtc_base_unix;
    GHashTableIter iter;
    gpointer key, value;

    if (!opts) {
        return false;
    }
    g_hash_table_iter_init(&iter, opts);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        const char *k = key, *v = value;

        if (!strcmp(k, "base")) {
            if (!strcmp(v, "utc")) {
                kind = RTC_BASE_UTC;
            } else if (!strcmp(v, "localtime")) {
                kind = RTC_BASE_LOCALTIME;
            } else if (parse_base_datetime(v, &base)) {
                kind = RTC_BASE_DATETIME;
            } else {
                error_setg(errp, "-rtc: invalid base '%s' (utc, localtime, "
                           "YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD)", v);
                return false;
            }
        } else if (!strcmp(k, "clock")) {
            /* The RTC follows the host clock in every case; rt and vm are
             * accepted for compatibility. */
            if (strcmp(v, "host") && strcmp(v, "rt") && strcmp(v, "vm")) {
                error_setg(errp, "-rtc: invalid clock '%s' (host, rt or vm)", v);
                return false;
            }
        } else if (!strcmp(k, "driftfix")) {
            if (strcmp(v, "none") && strcmp(v, "slew")) {
                error_setg(errp, "-rtc: invalid driftfix '%s' (none or slew)", v);
                return false;
            }
        } else {
            error_setg(errp, "-rtc: unknown option '%s' (base, clock, driftfix)", k);
            return false;
        }
    }
    rtc_base_kind = kind;
    rtc_base_unix = base;
    return true;
}

/* The offset that makes the RTC show the -rtc base now. */
static int64_t initial_offset_us(void)
{
    int64_t now = host_clock();

    switch (rtc_base_kind) {
    case RTC_BASE_LOCALTIME: {
        time_t t = (time_t)floor_div(now, USEC_PER_SEC);
        struct tm tm;
        if (localtime_r(&t, &tm) == NULL) {
            return 0;
        }
        return (int64_t)tm.tm_gmtoff * USEC_PER_SEC;
    }
    case RTC_BASE_DATETIME:
        return rtc_base_unix * USEC_PER_SEC - now;
    case RTC_BASE_UTC:
    default:
        return 0;
    }
}

/* ---- device ---- */

static void rtc_reset(DeviceState *dev)
{
    RTCState *s = (RTCState *)dev;

    /* The RESET pin: interrupt enables and flags clear; the time, the
     * other registers and the RAM are battery-backed and stay. */
    s->cmos[RTC_REG_B] &= ~(REG_B_IRQ_ENABLES | RTC_REG_B_SQWE);
    s->cmos[RTC_REG_C] = 0;
    update_irq(s);
    periodic_reconfigure(s);
    update_timer_rearm(s);
}

static bool rtc_realize(DeviceState *dev, GError **errp)
{
    RTCState *s = (RTCState *)dev;

    memset(s->cmos, 0, sizeof(s->cmos));
    s->cmos[RTC_REG_A] = 0x26;                 /* 32.768 kHz divider, 1024 Hz rate */
    s->cmos[RTC_REG_B] = RTC_REG_B_24H;        /* BCD, 24-hour */
    s->cmos[RTC_REG_D] = RTC_REG_D_VRT;
    s->offset_us = initial_offset_us();
    s->last_update_sec = floor_div(rtc_now_us(s), USEC_PER_SEC);
    refresh_registers(s);

    s->periodic = rtc_timer_new(s, periodic_fire);
    s->update = rtc_timer_new(s, update_fire);
    memory_region_init_io(&s->io, s, &rtc_io_ops, s, "rtc", 2);
    memory_region_add_subregion(get_system_io(), RTC_ISA_IOBASE, &s->io);
    s->io_mapped = true;
    return true;
}

static void rtc_unrealize(DeviceState *dev)
{
    RTCState *s = (RTCState *)dev;

    if (s->io_mapped) {
        memory_region_del_subregion(get_system_io(), &s->io);
        memory_region_destroy(&s->io);
        s->io_mapped = false;
    }
    rtc_timer_free(s->periodic);
    rtc_timer_free(s->update);
    s->periodic = s->update = NULL;
    if (s->irq_level) {
        irq_set_level(s->irq, 0);
        s->irq_level = 0;
    }
}

DeviceState *mc146818_rtc_create(qemu_irq irq8, GError **errp)
{
    DeviceState *dev = device_new(TYPE_MC146818_RTC, errp);

    if (!dev) {
        return NULL;
    }
    if (!device_realize(dev, errp)) {
        device_destroy(dev);
        return NULL;
    }
    mc146818_rtc_set_irq(dev, irq8);
    return dev;
}

static const Property rtc_props[] = {
    DEFINE_PROP_END,
};

static const DeviceClass rtc_class = {
    .name = TYPE_MC146818_RTC,
    .description = "MC146818 real-time clock and CMOS RAM",
    .instance_size = sizeof(RTCState),
    .props = rtc_props,
    .user_creatable = false,
    .realize = rtc_realize,
    .unrealize = rtc_unrealize,
    .reset = rtc_reset,
};

static void rtc_register(void)
{
    device_class_register(&rtc_class);
}
type_init(rtc_register)
