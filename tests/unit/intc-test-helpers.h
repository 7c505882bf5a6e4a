/*
 * Fixture pieces shared by the interrupt-controller and timer unit tests
 * (test-apic, test-i8259, test-ioapic, test-pit): the process set-up a
 * device model expects and guest port / MMIO accesses that assert they
 * were dispatched.
 */
#ifndef TESTS_UNIT_INTC_TEST_HELPERS_H
#define TESTS_UNIT_INTC_TEST_HELPERS_H

#include "kestrel/osdep.h"
#include "exec/memory.h"

/* g_test_init(), then the big lock held, the main loop and the memory
 * system initialised; with manual_guest_clock the guest clock only moves
 * through guest_clock_advance(). */
void intc_test_init(int *argc, char ***argv, bool manual_guest_clock);
/* g_test_run(), then the big lock released; returns g_test_run()'s value. */
int intc_test_run(void);

uint8_t pio_inb(uint16_t port);
void pio_outb(uint16_t port, uint8_t value);
uint32_t mmio_read32(hwaddr addr);
void mmio_write32(hwaddr addr, uint32_t value);

#endif
