/*
 * MC146818 CMOS real-time clock and 128 bytes of CMOS RAM at io ports
 * 0x70 (index; bit 7 is the NMI mask) and 0x71 (data), interrupting on
 * ISA IRQ 8. The clock starts from the host's time per -rtc base= and
 * advances with the host clock; a time the guest sets is kept as an
 * offset. See docs/platform-devices.md.
 */
#ifndef HW_RTC_MC146818RTC_H
#define HW_RTC_MC146818RTC_H

#include "hw/qdev.h"
#include "hw/irq.h"

#define TYPE_MC146818_RTC "mc146818rtc"
#define RTC_ISA_IOBASE    0x70
#define RTC_ISA_IRQ       8

/* Register indexes. */
#define RTC_SECONDS        0x00
#define RTC_SECONDS_ALARM  0x01
#define RTC_MINUTES        0x02
#define RTC_MINUTES_ALARM  0x03
#define RTC_HOURS          0x04
#define RTC_HOURS_ALARM    0x05
#define RTC_DAY_OF_WEEK    0x06
#define RTC_DAY_OF_MONTH   0x07
#define RTC_MONTH          0x08
#define RTC_YEAR           0x09
#define RTC_REG_A          0x0a
#define RTC_REG_B          0x0b
#define RTC_REG_C          0x0c
#define RTC_REG_D          0x0d
#define RTC_CENTURY        0x32
#define RTC_CMOS_SIZE      128

#define RTC_REG_A_UIP      0x80
#define RTC_REG_B_SET      0x80
#define RTC_REG_B_PIE      0x40
#define RTC_REG_B_AIE      0x20
#define RTC_REG_B_UIE      0x10
#define RTC_REG_B_SQWE     0x08
#define RTC_REG_B_DM       0x04   /* 1: binary, 0: BCD */
#define RTC_REG_B_24H      0x02
#define RTC_REG_B_DSE      0x01
#define RTC_REG_C_IRQF     0x80
#define RTC_REG_C_PF       0x40
#define RTC_REG_C_AF       0x20
#define RTC_REG_C_UF       0x10
#define RTC_REG_D_VRT      0x80

/* Creates and realizes the RTC at 0x70/0x71 driving irq8 (may be NULL). */
DeviceState *mc146818_rtc_create(qemu_irq irq8, GError **errp);
/* Connects (or with NULL disconnects) the interrupt output. */
void mc146818_rtc_set_irq(DeviceState *dev, qemu_irq irq8);

/* Writes a CMOS RAM byte (index 0x0e..0x7f; the clock registers and
 * anything else are refused and logged). For machines. */
void mc146818_rtc_set_cmos(DeviceState *dev, unsigned index, uint8_t val);
uint8_t mc146818_rtc_get_cmos(DeviceState *dev, unsigned index);
/* Fills the standard PC fields: equipment, base/extended memory sizes
 * (0x15-0x18, 0x30-0x31), memory above 16 MiB and above 4 GiB in 64 KiB
 * units (0x34-0x35, 0x5b-0x5d), CPU count - 1 (0x5f), and the checksum
 * over 0x10-0x2d (0x2e-0x2f). */
void mc146818_rtc_set_pc_config(DeviceState *dev, uint64_t ram_below_4g,
                                uint64_t ram_above_4g, unsigned nr_cpus);

/* -rtc base=utc|localtime|YYYY-MM-DD[THH:MM:SS],clock=host|rt|vm,
 * driftfix=none|slew. Applies to RTCs created afterwards. */
bool rtc_parse_option(const char *optarg, GError **errp);

/* ---- for tests ---- */

/* Replaces the host clock (microseconds since the Unix epoch, like
 * g_get_real_time); NULL restores it. */
void mc146818_rtc_set_host_clock(int64_t (*clock_us)(void));
/* Runs what the RTC's timers would do at the current (host clock) time:
 * periodic, alarm and update-ended events that are due. */
void mc146818_rtc_run_timers(DeviceState *dev);
/* Forces one periodic-interrupt tick (as when its timer fires). */
void mc146818_rtc_periodic_tick(DeviceState *dev);
/* Whether the periodic / update timer is armed now. */
bool mc146818_rtc_periodic_timer_armed(DeviceState *dev);

#endif
