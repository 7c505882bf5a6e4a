/*
 * Memory tests over physical RAM (identity mapped), shared by the longmode
 * and demo payloads. All tests use 64-bit words through volatile pointers so
 * each access really reaches memory.
 */
#ifndef GUEST_MEMTEST_H
#define GUEST_MEMTEST_H

#include "runtime.h"

struct memtest_report {
    uint64_t errors;             /* mismatching words */
    uint64_t first_addr;         /* first mismatch */
    uint64_t first_expected;
    uint64_t first_actual;
};

/* Walking ones then walking zeros through the first word of every page of
 * [base, base + size): catches stuck or shorted data bits. */
void memtest_walking_bits(uint64_t base, uint64_t size, struct memtest_report *r);

/* Address in address: pass 0 writes each word's own address, pass 1 reads
 * it back, pass 2 writes the complement, pass 3 reads that back. Catches
 * address lines that alias and cells that keep the wrong value. Callers that
 * show progress run the passes piecewise. */
#define MEMTEST_AIA_PASSES 4
extern const char *const memtest_aia_pass_names[MEMTEST_AIA_PASSES];
void memtest_aia_pass(uint64_t base, uint64_t size, int pass, struct memtest_report *r);
/* All four passes over one range. */
void memtest_address_in_address(uint64_t base, uint64_t size, struct memtest_report *r);

/* Prints "<label>: ok" or "<label>: FAIL (...)"; returns true on ok. */
bool memtest_print(const char *label, const struct memtest_report *r);

#endif
