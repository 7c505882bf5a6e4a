/*
 * The ACPI power-management register block ("acpi-pm"): the fixed-feature
 * hardware the FADT describes. Port layout, relative to io_base:
 *   +0  PM1a_STS (16)   +2 PM1a_EN (16)   +4 PM1a_CNT (16)   +8 PM_TMR (32)
 * plus a 4-byte GPE0 block (status, enable) at its own base. See docs/acpi.md.
 */
#ifndef HW_ACPI_PM_H
#define HW_ACPI_PM_H

#include "kestrel/osdep.h"
#include "hw/irq.h"
#include "hw/qdev.h"

#define TYPE_ACPI_PM "acpi-pm"

#define ACPI_PM_DEFAULT_IO_BASE    0x600
#define ACPI_PM_IO_SIZE            0x40     /* ports claimed at io_base */
#define ACPI_PM_DEFAULT_GPE0_BASE  0xafe0
#define ACPI_GPE0_LEN              4
#define ACPI_PM_DEFAULT_SCI_GSI    9

/* Offsets within the block. */
#define ACPI_PM1_EVT_OFFSET        0x00
#define ACPI_PM1_EVT_LEN           4
#define ACPI_PM1_CNT_OFFSET        0x04
#define ACPI_PM1_CNT_LEN           2
#define ACPI_PM_TMR_OFFSET         0x08
#define ACPI_PM_TMR_LEN            4

/* PM1 status/enable bits. */
#define ACPI_PM1_TMR               (1u << 0)
#define ACPI_PM1_GBL               (1u << 5)
#define ACPI_PM1_PWRBTN            (1u << 8)
#define ACPI_PM1_SLPBTN            (1u << 9)
#define ACPI_PM1_RTC               (1u << 10)
#define ACPI_PM1_WAK_STS           (1u << 15)
/* PM1 control bits. */
#define ACPI_PM1_CNT_SCI_EN        (1u << 0)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK  (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN        (1u << 13)

/* The SLP_TYP value of S5 (soft off), what \_S5 in the DSDT hands the OS. */
#define ACPI_SLP_TYP_S5            7

#define ACPI_PM_TIMER_HZ           3579545u
#define ACPI_PM_TIMER_MASK         0xffffffu   /* a 24-bit counter */

/* Creates and realizes the PM block at io_base (PM1/timer) and gpe0_base in
 * the system I/O space; sci is raised (level) while an enabled event is
 * pending and SCI_EN is set. */
DeviceState *acpi_pm_create(uint16_t io_base, uint16_t gpe0_base, qemu_irq sci,
                            GError **errp);
/* Presses the power button (fixed feature): sets PWRBTN_STS and raises the
 * SCI if the OS enabled it. For QMP system_powerdown. Big lock held. */
void acpi_pm_power_button(DeviceState *dev);
/* The realized PM block, or NULL (no ACPI, no machine). */
DeviceState *acpi_pm_find(void);

/* The counter value `ns` nanoseconds after the timer's start. */
uint32_t acpi_pm_timer_ticks(int64_t ns);
/* For tests: replaces the host monotonic clock (nanoseconds) the timer
 * reads; NULL restores it. */
void acpi_pm_set_clock(DeviceState *dev, int64_t (*clock_ns)(void));

#endif
