/*
 * Page tables of the 64-bit payloads. crt0-64.S identity-maps the first
 * 4 GiB with 2 MiB pages: pml4[0] -> pdpt, pdpt[0..3] -> page_directories.
 * Payloads may replace entries (then flush: write_cr3(read_cr3()) or invlpg).
 */
#ifndef GUEST_PAGING64_H
#define GUEST_PAGING64_H

#include "runtime.h"

#define PTE_PRESENT   (1ull << 0)
#define PTE_WRITABLE  (1ull << 1)
#define PTE_USER      (1ull << 2)
#define PTE_ACCESSED  (1ull << 5)
#define PTE_DIRTY     (1ull << 6)
#define PTE_LARGE     (1ull << 7)     /* PS: 2 MiB page in a page directory */
#define PTE_ADDR_MASK 0x000ffffffffff000ull

#define PAGE_SIZE     4096ull
#define LARGE_PAGE    (2ull << 20)

extern uint64_t pml4[512], pdpt[512], page_directories[4 * 512];

static inline uint64_t read_cr0(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static inline uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline void write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline uint64_t read_cr4(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static inline void invlpg(const volatile void *va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

#define MSR_EFER  0xC0000080u
#define EFER_LME  (1ull << 8)
#define EFER_LMA  (1ull << 10)

#endif
