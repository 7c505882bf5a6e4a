/*
 * Fixture pieces shared by the interrupt-controller and timer unit tests:
 * see intc-test-helpers.h.
 */
#include "intc-test-helpers.h"
#include "hw/timer/guest-timer.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"

void intc_test_init(int *argc, char ***argv, bool manual_guest_clock)
{
    g_test_init(argc, argv, NULL);
    bql_lock();
    main_loop_init();
    memory_system_init();
    if (manual_guest_clock) {
        guest_clock_set_manual(true);
    }
}

int intc_test_run(void)
{
    int ret = g_test_run();
    bql_unlock();
    return ret;
}

uint8_t pio_inb(uint16_t port)
{
    uint64_t v = 0;
    g_assert_cmpint(address_space_read_sized(&address_space_io, port, &v, 1), ==, MEMTX_OK);
    return (uint8_t)v;
}

void pio_outb(uint16_t port, uint8_t value)
{
    g_assert_cmpint(address_space_write_sized(&address_space_io, port, value, 1), ==, MEMTX_OK);
}

uint32_t mmio_read32(hwaddr addr)
{
    uint64_t v = 0;
    g_assert_cmpint(address_space_read_sized(&address_space_memory, addr, &v, 4), ==, MEMTX_OK);
    return (uint32_t)v;
}

void mmio_write32(hwaddr addr, uint32_t value)
{
    g_assert_cmpint(address_space_write_sized(&address_space_memory, addr, value, 4), ==,
                    MEMTX_OK);
}
