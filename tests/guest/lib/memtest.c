/* Memory tests; see memtest.h. */
#include "memtest.h"

#define PAGE 4096u

static void note(struct memtest_report *r, uint64_t addr, uint64_t expected, uint64_t actual)
{
    if (r->errors++ == 0) {
        r->first_addr = addr;
        r->first_expected = expected;
        r->first_actual = actual;
    }
}

void memtest_walking_bits(uint64_t base, uint64_t size, struct memtest_report *r)
{
    for (uint64_t page = base; page + 8 <= base + size; page += PAGE) {
        volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)page;
        for (int bit = 0; bit < 64; bit++) {
            uint64_t one = (uint64_t)1 << bit;
            *w = one;
            uint64_t got = *w;
            if (got != one) {
                note(r, page, one, got);
            }
            *w = ~one;
            got = *w;
            if (got != ~one) {
                note(r, page, ~one, got);
            }
        }
    }
}

const char *const memtest_aia_pass_names[MEMTEST_AIA_PASSES] = {
    "write address", "verify address", "write complement", "verify complement",
};

void memtest_aia_pass(uint64_t base, uint64_t size, int pass, struct memtest_report *r)
{
    bool complement = pass >= 2;
    bool verify = pass & 1;
    volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)base;
    uint64_t words = size / 8;
    for (uint64_t i = 0; i < words; i++) {
        uint64_t addr = base + i * 8;
        uint64_t want = complement ? ~addr : addr;
        if (verify) {
            uint64_t got = w[i];
            if (got != want) {
                note(r, addr, want, got);
            }
        } else {
            w[i] = want;
        }
    }
}

void memtest_address_in_address(uint64_t base, uint64_t size, struct memtest_report *r)
{
    for (int pass = 0; pass < MEMTEST_AIA_PASSES; pass++) {
        memtest_aia_pass(base, size, pass, r);
    }
}

bool memtest_print(const char *label, const struct memtest_report *r)
{
    if (!r->errors) {
        printf("%s: ok\n", label);
        return true;
    }
    printf("%s: FAIL (%llu bad words; first at 0x%llx: wrote 0x%016llx, read 0x%016llx)\n",
           label, (unsigned long long)r->errors, (unsigned long long)r->first_addr,
           (unsigned long long)r->first_expected, (unsigned long long)r->first_actual);
    return false;
}
