/*
 * aout: a multiboot kernel that is not an ELF file. It is a flat binary whose
 * multiboot header sets flags bit 16 (the "a.out kludge") and gives the load
 * addresses itself: loaded at 2 MiB, .data ending with a marker word, then a
 * .bss the loader must zero, entered at _start (not the first byte).
 * Exits with code 0 if everything is where the header says.
 */
#include "runtime.h"

extern char _load_end[], _bss_end[];
extern char multiboot_header[];
extern void _start(void);

static volatile uint32_t initialised_data = 0x12345678;
static volatile uint32_t bss_block[2048];          /* 8 KiB the loader must zero */

static unsigned failures;

static void check(const char *what, bool ok)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAIL");
    failures += !ok;
}

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    printf("aout: a flat multiboot image loaded through the a.out kludge\n");
    check("image loaded at 0x200000", (uintptr_t)_image_start == 0x200000 &&
          (uintptr_t)&main >= 0x200000 && (uintptr_t)&main < (uintptr_t)_load_end);
    check("multiboot header at header_addr",
          ((volatile uint32_t *)multiboot_header)[0] == 0x1BADB002u);
    check("entered at entry_addr, past the header", (uintptr_t)&_start > 0x200000);
    check("initialised data loaded", initialised_data == 0x12345678);
    check("data loaded up to load_end_addr",
          *(volatile uint32_t *)((uintptr_t)_load_end - 4) == 0x600dda7au);
    bool zero = true;
    for (unsigned i = 0; i < sizeof(bss_block) / sizeof(bss_block[0]); i++) {
        zero &= bss_block[i] == 0;
    }
    check("bss up to bss_end_addr zeroed", zero);
    check("memory information present", (mbi->flags & MB_INFO_MEMORY) != 0);
    printf("aout: %s\n", failures ? "checks failed" : "all checks passed");
    return failures ? 1 : 0;
}
