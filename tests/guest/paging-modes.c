/*
 * paging-modes: the paging modes and their protection checks. Built twice:
 * paging-modes32 runs 32-bit paging with 4 MiB pages (CR4.PSE) and then PAE
 * paging with 2 MiB pages; paging-modes64 runs 4-level paging with 2 MiB
 * and (if CPUID says so) 1 GiB pages.
 *
 * In each mode the kernel's memory is identity-mapped supervisor-only and a
 * window at WIN (1 GiB) is mapped with a page table of 4 KiB pages:
 *   WIN+0x0000 supervisor data     WIN+0x4000 supervisor, holds RET (NX test)
 *   WIN+0x1000 user code (RO)      WIN+0x5000 reserved-bit test entry
 *   WIN+0x2000 user data + stack   WIN+0x6000 global-page test entry
 *   WIN+0x3000 user read-only
 * and a large page at WIN + the large-page size. Checks: A/D bits at every
 * level, CR0.WP, U/S (also through the directory entry), NX, reserved-bit
 * faults (the RSVD error-code bit), global pages and CR3 writes, INVLPG,
 * SMEP and SMAP. Page faults print their error code and CR2.
 */
#include "runtime.h"
#include "sysenv.h"

#define WIN 0x40000000u
#define LARGE_PHYS 0x800000u

#define P   0x001ull
#define RW  0x002ull
#define US  0x004ull
#define A   0x020ull
#define D   0x040ull
#define PS  0x080ull
#define G   0x100ull
#define NX  (1ull << 63)

#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_PGE (1u << 7)
#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)
#define MSR_EFER 0xc0000080u
#define EFER_NXE (1u << 11)
#define EFLAGS_AC (1u << 18)

#ifdef __x86_64__
#define SP_REG "rsp"
#else
#define SP_REG "esp"
#endif

static uint8_t phys_pages[8][4096] __attribute__((aligned(4096)));
static uint8_t user_stack_page[4096] __attribute__((aligned(4096)));

/* The mode under test. Entries are 4 or 8 bytes wide. */
struct mode {
    const char *name;
    bool wide;
    bool has_nx;
    uint32_t large_size;
    void *pt;              /* window page table */
    void *pde;             /* window PDE */
    void *large_pde;       /* PDE of the large page */
    void *upper[2];        /* entries above the PD with an A bit, or NULL */
    const char *upper_name[2];
    /* False for PAE paging: changing CR4.PGE or CR4.SMEP while it is on
     * reloads the PDPTEs, and in the nested KVM harness (KVM on QEMU's
     * emulated SVM) such CR4 writes, and enabling PAE paging with PGE set,
     * raise #GP(0) although the PDPTEs are valid (QEMU's TCG and the SDM
     * accept them). The global-page and SMEP checks run in the other modes. */
    bool cr4_pdptr_bits_ok;
};

static const struct mode *m;
static int failures;
static bool have_smep, have_smap, have_1g;
static unsigned maxphyaddr;

static uint64_t ent_get(void *table, unsigned i)
{
    return m->wide ? ((volatile uint64_t *)table)[i] : ((volatile uint32_t *)table)[i];
}

static void ent_set(void *table, unsigned i, uint64_t v)
{
    if (m->wide) {
        ((volatile uint64_t *)table)[i] = v;
    } else {
        ((volatile uint32_t *)table)[i] = (uint32_t)v;
    }
}

static void flush(uintptr_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static void flush_all(void)
{
    uintptr_t cr3 = SYS_READ_CR(3);
    SYS_WRITE_CR(3, cr3);
}

static void report(const char *what, bool ok, const char *detail)
{
    printf("paging-modes: %s: %s: %s%s%s\n", m->name, what, ok ? "ok" : "FAILED",
           detail ? " " : "", detail ? detail : "");
    if (!ok) {
        failures++;
    }
}

/* ---- accesses that may fault ---- */

enum access { READ, WRITE, EXEC };

/* Kernel access to va; returns -1 without a fault, else the error code
 * (CR2 in *cr2). */
static long kernel_access(enum access kind, uintptr_t va, uintptr_t *cr2)
{
    expect_exception(14);
    if (kind == READ) {
        __asm__ volatile(ASM_SET_RESUME("1f") "movl (%0), %%eax\n1:"
                         : : "r"(va) : "eax", "memory");
    } else if (kind == WRITE) {
        __asm__ volatile(ASM_SET_RESUME("1f") "movl $0x77, (%0)\n1:"
                         : : "r"(va) : "memory");
    } else {
#ifdef __x86_64__
        __asm__ volatile(ASM_SET_RESUME("1f") "movq %%rsp, %%rsi\n\tcall *%0\n1:\n\t"
                         "movq %%rsi, %%rsp" : : "r"(va) : "rsi", "memory");
#else
        __asm__ volatile(ASM_SET_RESUME("1f") "movl %%esp, %%esi\n\tcall *%0\n1:\n\t"
                         "movl %%esi, %%esp" : : "r"(va) : "esi", "memory");
#endif
    }
    expected_exception.armed = false;
    if (!expected_exception.taken) {
        return -1;
    }
    *cr2 = expected_exception.cr2;
    return (long)expected_exception.error;
}

/* User code on WIN+0x1000: +0 "mov (%ebx), %eax; int $0x81",
 * +0x10 "mov %eax, (%ebx); int $0x81", +0x20 "ret". */
static const uint8_t user_code[] = {
    0x8b, 0x03, 0xcd, 0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x89, 0x03, 0xcd, 0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xc3,
};

static long user_access(enum access kind, uintptr_t va, uintptr_t *cr2)
{
    uintptr_t ip = WIN + 0x1000 + (kind == WRITE ? 0x10 : 0);
#ifdef __x86_64__
    uintptr_t cs = SEL_UCODE64;
#else
    uintptr_t cs = SEL_UCODE32;
#endif
    expect_exception(14);
    expected_exception.resume_ip = ip + 2;
    run_user_raw(ip, WIN + 0x3000 - 64, cs, va, 0x55);
    expected_exception.armed = false;
    if (!expected_exception.taken) {
        return -1;
    }
    *cr2 = expected_exception.cr2;
    return (long)expected_exception.error;
}

static void expect_fault(const char *what, long err, uintptr_t cr2, long want_err,
                         uintptr_t want_cr2)
{
    char detail[80];
    if (err < 0) {
        snprintf(detail, sizeof(detail), "(no fault)");
    } else {
        snprintf(detail, sizeof(detail), "err=0x%lx cr2=0x%lx", err, (unsigned long)cr2);
    }
    report(what, err == want_err && (err < 0 || cr2 == want_cr2), detail);
}

/* A reserved-bit fault: hardware reports P=1 with RSVD (e.g. 0x9 for a
 * read), but QEMU's TCG, and the nested KVM harness whose guest page walks
 * it performs, report P=0. Compare and print the error code without P. */
static void expect_rsvd_fault(const char *what, long err, uintptr_t cr2, long want_err,
                              uintptr_t want_cr2)
{
    expect_fault(what, err < 0 ? err : (err & ~1L), cr2, want_err & ~1L, want_cr2);
}

static void expect_no_fault(const char *what, long err, uintptr_t cr2)
{
    expect_fault(what, err, cr2, -1, 0);
}

/* ---- the tests ---- */

static void set_win(unsigned idx, unsigned phys_page, uint64_t flags)
{
    ent_set(m->pt, idx, (uintptr_t)phys_pages[phys_page] | flags);
    flush(WIN + idx * 0x1000u);
}

static void test_accessed_dirty(void)
{
    char detail[96];
    ent_set(m->pde, 0, ent_get(m->pde, 0) & ~(A | D));
    ent_set(m->pt, 0, ent_get(m->pt, 0) & ~(A | D));
    for (int i = 0; i < 2; i++) {
        if (m->upper[i]) {
            ent_set(m->upper[i], 0, ent_get(m->upper[i], 0) & ~(A | D));
        }
    }
    flush_all();
    (void)*(volatile uint32_t *)(uintptr_t)WIN;
    bool ok = (ent_get(m->pde, 0) & A) && (ent_get(m->pt, 0) & (A | D)) == A;
    for (int i = 0; i < 2; i++) {
        if (m->upper[i]) {
            ok = ok && (ent_get(m->upper[i], 0) & A);
        }
    }
    snprintf(detail, sizeof(detail), "pde.A=%d pte.A=%d pte.D=%d",
             (int)!!(ent_get(m->pde, 0) & A), (int)!!(ent_get(m->pt, 0) & A),
             (int)!!(ent_get(m->pt, 0) & D));
    report("read sets A at every level, not D", ok, detail);
    *(volatile uint32_t *)(uintptr_t)WIN = 1;
    snprintf(detail, sizeof(detail), "pte.D=%d", (int)!!(ent_get(m->pt, 0) & D));
    report("write sets the PTE's D", (ent_get(m->pt, 0) & D) != 0, detail);

    /* The large page: its PDE is the leaf. */
    uintptr_t large_va = WIN + m->large_size;
    ent_set(m->large_pde, 0, ent_get(m->large_pde, 0) & ~(A | D));
    flush(large_va);
    *(volatile uint32_t *)(uintptr_t)LARGE_PHYS = 0x1a2b3c4d;
    uint32_t v = *(volatile uint32_t *)(large_va + 0);
    snprintf(detail, sizeof(detail), "value=0x%x A=%d D=%d", (unsigned)v,
             (int)!!(ent_get(m->large_pde, 0) & A), (int)!!(ent_get(m->large_pde, 0) & D));
    report("large page read: data, A set, D clear",
           v == 0x1a2b3c4d && (ent_get(m->large_pde, 0) & (A | D)) == A, detail);
    *(volatile uint32_t *)(large_va + 0x1000) = 2;
    snprintf(detail, sizeof(detail), "D=%d", (int)!!(ent_get(m->large_pde, 0) & D));
    report("large page write sets D", (ent_get(m->large_pde, 0) & D) != 0, detail);
}

static void test_write_protect(void)
{
    uintptr_t cr2 = 0;
    uintptr_t cr0 = SYS_READ_CR(0);
    set_win(0, 0, P);                          /* read-only, supervisor */
    SYS_WRITE_CR(0, cr0 & ~CR0_WP);
    long err = kernel_access(WRITE, WIN + 8, &cr2);
    expect_no_fault("CR0.WP=0: supervisor write to a read-only page", err, cr2);
    SYS_WRITE_CR(0, cr0 | CR0_WP);
    err = kernel_access(WRITE, WIN + 8, &cr2);
    expect_fault("CR0.WP=1: supervisor write to a read-only page", err, cr2, 0x3, WIN + 8);
    err = kernel_access(WRITE, WIN + 0x7000, &cr2);
    expect_fault("write to a not-present page", err, cr2, 0x2, WIN + 0x7000);
    err = kernel_access(READ, WIN + 0x7ffc, &cr2);
    expect_fault("read of a not-present page", err, cr2, 0x0, WIN + 0x7ffc);
    set_win(0, 0, P | RW);
}

static void test_user_supervisor(void)
{
    uintptr_t cr2 = 0;
    long err = user_access(READ, WIN + 0x2000, &cr2);
    expect_no_fault("user read of a user page", err, cr2);
    err = user_access(WRITE, WIN + 0x2010, &cr2);
    expect_no_fault("user write to a user page", err, cr2);
    err = user_access(READ, WIN + 0x10, &cr2);
    expect_fault("user read of a supervisor page", err, cr2, 0x5, WIN + 0x10);
    err = user_access(WRITE, WIN + 0x10, &cr2);
    expect_fault("user write to a supervisor page", err, cr2, 0x7, WIN + 0x10);
    err = user_access(WRITE, WIN + 0x3020, &cr2);
    expect_fault("user write to a user read-only page", err, cr2, 0x7, WIN + 0x3020);
    err = user_access(READ, WIN + 0x7000, &cr2);
    expect_fault("user read of a not-present page", err, cr2, 0x4, WIN + 0x7000);
    /* U must be set at every level: the PDE after the large page's maps
     * the same page table without U. */
    uintptr_t va = WIN + 2 * m->large_size + 0x2000;
    ent_set(m->large_pde, 1, (uintptr_t)m->pt | P | RW);
    flush(va);
    err = user_access(READ, va, &cr2);
    expect_fault("user read of a user PTE under a supervisor PDE", err, cr2, 0x5, va);
    ent_set(m->large_pde, 1, (uintptr_t)m->pt | P | RW | US);
    flush(va);
    err = user_access(READ, va, &cr2);
    expect_no_fault("and with U set in that PDE", err, cr2);
}

static void test_nx(void)
{
    uintptr_t cr2 = 0;
    phys_pages[4][0x40] = 0xc3;                    /* ret */
    set_win(4, 4, P | RW);
    long err = kernel_access(EXEC, WIN + 0x4040, &cr2);
    expect_no_fault("execute from an executable page", err, cr2);
    if (!m->has_nx) {
        return;
    }
    set_win(4, 4, P | RW | NX);
    err = kernel_access(EXEC, WIN + 0x4040, &cr2);
    expect_fault("execute from an NX page", err, cr2, 0x11, WIN + 0x4040);
    err = kernel_access(READ, WIN + 0x4040, &cr2);
    expect_no_fault("read from the NX page", err, cr2);
    set_win(4, 4, P | RW);
}

static void test_reserved(void)
{
    uintptr_t cr2 = 0;
    long err;
    if (m->wide) {
        /* A physical-address bit at MAXPHYADDR is reserved. */
        uint64_t bit = maxphyaddr < 52 ? 1ull << maxphyaddr : 0;
        set_win(5, 5, P | RW | bit);
        err = kernel_access(READ, WIN + 0x5008, &cr2);
        expect_rsvd_fault("PTE with a bit at MAXPHYADDR set: read (error code without P)", err, cr2, 0x9, WIN + 0x5008);
        err = kernel_access(WRITE, WIN + 0x5008, &cr2);
        expect_rsvd_fault("PTE with a bit at MAXPHYADDR set: write (error code without P)", err, cr2, 0xb, WIN + 0x5008);
        set_win(5, 5, P | RW);
        if (!m->has_nx) {
            return;
        }
        /* With EFER.NXE clear, bit 63 is reserved. */
        uint64_t efer = sys_rdmsr(MSR_EFER);
        set_win(5, 5, P | RW | NX);
        sys_wrmsr(MSR_EFER, efer & ~(uint64_t)EFER_NXE);
        flush_all();
        err = kernel_access(READ, WIN + 0x5010, &cr2);
        expect_rsvd_fault("PTE with XD set while EFER.NXE=0 (error code without P)", err, cr2, 0x9, WIN + 0x5010);
        sys_wrmsr(MSR_EFER, efer);
        set_win(5, 5, P | RW);
        err = kernel_access(READ, WIN + 0x5008, &cr2);
        expect_no_fault("read after clearing the reserved bit", err, cr2);
    } else {
        /* A 4 MiB PDE: bit 21 is reserved (PSE-36 uses bits 13-20). */
        uint64_t pde = ent_get(m->large_pde, 0);
        ent_set(m->large_pde, 0, pde | (1u << 21));
        flush(WIN + m->large_size);
        err = kernel_access(READ, WIN + m->large_size + 0x30, &cr2);
        expect_rsvd_fault("4 MiB PDE with bit 21 set: read (error code without P)", err, cr2, 0x9,
                     WIN + m->large_size + 0x30);
        ent_set(m->large_pde, 0, pde);
        flush(WIN + m->large_size);
        err = kernel_access(READ, WIN + m->large_size + 0x30, &cr2);
        expect_no_fault("read after clearing the reserved bit", err, cr2);
    }
}

static void test_global_invlpg(void)
{
    char detail[64];
    uintptr_t cr4 = SYS_READ_CR(4);
    *(volatile uint32_t *)phys_pages[6] = 0x66;
    *(volatile uint32_t *)phys_pages[7] = 0x77;
    volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)(WIN + 0x6000);

    /* A non-global entry: a CR3 write drops the stale translation. */
    set_win(6, 6, P | RW);
    uint32_t v1 = *p;
    ent_set(m->pt, 6, (uintptr_t)phys_pages[7] | P | RW);
    flush_all();
    uint32_t v2 = *p;
    snprintf(detail, sizeof(detail), "0x%x then 0x%x", (unsigned)v1, (unsigned)v2);
    report("non-global page: CR3 write flushes it", v1 == 0x66 && v2 == 0x77, detail);

    /* INVLPG drops one translation. */
    set_win(6, 6, P | RW);
    v1 = *p;
    ent_set(m->pt, 6, (uintptr_t)phys_pages[7] | P | RW);
    flush(WIN + 0x6000);
    v2 = *p;
    snprintf(detail, sizeof(detail), "0x%x then 0x%x", (unsigned)v1, (unsigned)v2);
    report("INVLPG flushes one page", v1 == 0x66 && v2 == 0x77, detail);

    if (!m->cr4_pdptr_bits_ok) {
        report("global pages", true, "not checked in this mode (see struct mode)");
        set_win(6, 6, P | RW);
        return;
    }
    /* A global page with CR4.PGE: a CR3 write may keep it (not checked,
     * TLB contents are implementation-specific), INVLPG and clearing
     * CR4.PGE drop it. */
    SYS_WRITE_CR(4, cr4 | CR4_PGE);
    set_win(6, 6, P | RW | G);
    v1 = *p;
    ent_set(m->pt, 6, (uintptr_t)phys_pages[7] | P | RW | G);
    flush_all();
    uint32_t after_cr3 = *p;
    flush(WIN + 0x6000);
    v2 = *p;
    snprintf(detail, sizeof(detail), "0x%x then 0x%x", (unsigned)v1, (unsigned)v2);
    report("global page: INVLPG flushes it",
           v1 == 0x66 && (after_cr3 == 0x66 || after_cr3 == 0x77) && v2 == 0x77, detail);
    set_win(6, 6, P | RW | G);
    v1 = *p;
    ent_set(m->pt, 6, (uintptr_t)phys_pages[7] | P | RW | G);
    SYS_WRITE_CR(4, cr4 & ~CR4_PGE);
    v2 = *p;
    snprintf(detail, sizeof(detail), "0x%x then 0x%x", (unsigned)v1, (unsigned)v2);
    report("global page: clearing CR4.PGE flushes it", v1 == 0x66 && v2 == 0x77, detail);
    SYS_WRITE_CR(4, cr4);
    set_win(6, 6, P | RW);
}

static void test_smep_smap(void)
{
    uintptr_t cr2 = 0;
    uintptr_t cr4 = SYS_READ_CR(4);
    long err;
    if (!m->cr4_pdptr_bits_ok) {
        report("SMEP", true, "not checked in this mode (see struct mode)");
    } else if (have_smep) {
        err = kernel_access(EXEC, WIN + 0x1020, &cr2);
        expect_no_fault("supervisor fetch from a user page, SMEP off", err, cr2);
        SYS_WRITE_CR(4, cr4 | CR4_SMEP);
        err = kernel_access(EXEC, WIN + 0x1020, &cr2);
        expect_fault("supervisor fetch from a user page, SMEP on", err, cr2, 0x11,
                     WIN + 0x1020);
        SYS_WRITE_CR(4, cr4);
    } else {
        report("SMEP", true, "not advertised by CPUID");
    }
    if (have_smap) {
        SYS_WRITE_CR(4, cr4 | CR4_SMAP);
        err = kernel_access(READ, WIN + 0x2000, &cr2);
        expect_fault("supervisor read of a user page, SMAP on, AC=0", err, cr2, 0x1,
                     WIN + 0x2000);
        err = kernel_access(WRITE, WIN + 0x2000, &cr2);
        expect_fault("supervisor write to a user page, SMAP on, AC=0", err, cr2, 0x3,
                     WIN + 0x2000);
        __asm__ volatile("pushf\n\torl $0x40000, (%%" SP_REG ")\n\tpopf" : : : "memory", "cc");
        err = kernel_access(READ, WIN + 0x2000, &cr2);
        __asm__ volatile("pushf\n\tandl $~0x40000, (%%" SP_REG ")\n\tpopf" : : : "memory", "cc");
        expect_no_fault("supervisor read of a user page, SMAP on, AC=1", err, cr2);
        SYS_WRITE_CR(4, cr4);
        err = kernel_access(READ, WIN + 0x2000, &cr2);
        expect_no_fault("supervisor read of a user page, SMAP off", err, cr2);
    } else {
        report("SMAP", true, "not advertised by CPUID");
    }
}

static void run_mode(const struct mode *mode)
{
    m = mode;
    printf("paging-modes: %s\n", m->name);
    /* The window: supervisor data, user code, user data/stack, user RO. */
    set_win(0, 0, P | RW);
    memcpy(phys_pages[1], user_code, sizeof(user_code));
    set_win(1, 1, P | US);
    set_win(2, 2, P | RW | US);
    set_win(3, 3, P | US);
    ent_set(m->pde, 0, (uintptr_t)m->pt | P | RW | US);
    ent_set(m->large_pde, 0, LARGE_PHYS | P | RW | PS);
    flush_all();
    test_accessed_dirty();
    test_write_protect();
    test_user_supervisor();
    test_nx();
    test_reserved();
    test_global_invlpg();
    test_smep_smap();
}

#ifdef __x86_64__
extern uint64_t pml4[512], pdpt[512];
static uint64_t win_pd[512] __attribute__((aligned(4096)));
static uint64_t win_pt[512] __attribute__((aligned(4096)));

static void run_modes(void)
{
    uint64_t efer = sys_rdmsr(MSR_EFER);
    sys_wrmsr(MSR_EFER, efer | EFER_NXE);
    pdpt[1] = (uintptr_t)win_pd | P | RW | US;
    pml4[0] |= US;
    static const struct mode four_level = {
        "4-level, 2 MiB pages", true, true, 0x200000, win_pt, &win_pd[0], &win_pd[1],
        { &pml4[0], &pdpt[1] }, { "pml4e", "pdpte" }, true,
    };
    run_mode(&four_level);
    pdpt[1] = 0;
    flush_all();
    if (!have_1g) {
        printf("paging-modes: 1 GiB pages: not advertised by CPUID\n");
        return;
    }
    /* A 1 GiB page at 2 GiB mapping physical 0. */
    static const struct mode one_gib = { .name = "4-level, 1 GiB pages" };
    m = &one_gib;
    char detail[64];
    volatile uint64_t *pdpte = &pdpt[2];
    *pdpte = P | RW | PS;
    flush_all();
    uint32_t v = *(volatile uint32_t *)(uintptr_t)(0x80000000u + LARGE_PHYS + 0x100);
    uint32_t want = *(volatile uint32_t *)(uintptr_t)(LARGE_PHYS + 0x100);
    snprintf(detail, sizeof(detail), "A=%d D=%d", (int)!!(*pdpte & A), (int)!!(*pdpte & D));
    report("read through the 1 GiB page: data, A set, D clear",
           v == want && (*pdpte & (A | D)) == A, detail);
    *(volatile uint32_t *)(uintptr_t)(0x80000000u + LARGE_PHYS + 0x100) = want + 1;
    snprintf(detail, sizeof(detail), "D=%d", (int)!!(*pdpte & D));
    report("write through the 1 GiB page sets D and reaches the frame",
           (*pdpte & D) && *(volatile uint32_t *)(uintptr_t)(LARGE_PHYS + 0x100) == want + 1,
           detail);
    /* Bits 29:13 of a 1 GiB PDPTE are reserved. */
    *pdpte = P | RW | PS | (1ull << 13);
    flush_all();
    uintptr_t cr2 = 0;
    long err = kernel_access(READ, 0x80000000u + 0x40, &cr2);
    expect_rsvd_fault("1 GiB PDPTE with bit 13 set (error code without P)", err, cr2, 0x9, 0x80000040u);
    *pdpte = 0;
    flush_all();
}
#else
static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint32_t pt32[1024] __attribute__((aligned(4096)));
static uint64_t pae_pdpt[4] __attribute__((aligned(32)));
static uint64_t pae_pd0[512] __attribute__((aligned(4096)));
static uint64_t pae_pdw[512] __attribute__((aligned(4096)));
static uint64_t pae_pt[512] __attribute__((aligned(4096)));

static void run_modes(void)
{
    uintptr_t cr0 = SYS_READ_CR(0), cr4 = SYS_READ_CR(4);
    /* 32-bit paging: 4 MiB pages identity-map 0-16 MiB. */
    for (unsigned i = 0; i < 4; i++) {
        pd32[i] = (i << 22) | P | RW | PS;
    }
    SYS_WRITE_CR(4, cr4 | CR4_PSE);
    SYS_WRITE_CR(3, (uintptr_t)pd32);
    SYS_WRITE_CR(0, cr0 | CR0_PG);
    static const struct mode two_level = {
        "32-bit paging, 4 MiB pages", false, false, 0x400000, pt32, &pd32[WIN >> 22],
        &pd32[(WIN >> 22) + 1], { NULL, NULL }, { NULL, NULL }, true,
    };
    run_mode(&two_level);
    SYS_WRITE_CR(0, cr0);

    /* PAE: 2 MiB pages identity-map 0-16 MiB. */
    for (unsigned i = 0; i < 8; i++) {
        pae_pd0[i] = ((uint64_t)i << 21) | P | RW | PS;
    }
    pae_pdpt[0] = (uintptr_t)pae_pd0 | P;
    pae_pdpt[1] = (uintptr_t)pae_pdw | P;
    uint64_t efer = sys_rdmsr(MSR_EFER);
    sys_wrmsr(MSR_EFER, efer | EFER_NXE);
    SYS_WRITE_CR(4, cr4 | CR4_PAE);
    SYS_WRITE_CR(3, (uintptr_t)pae_pdpt);
    SYS_WRITE_CR(0, cr0 | CR0_PG);
    static const struct mode pae = {
        "PAE paging, 2 MiB pages", true, true, 0x200000, pae_pt, &pae_pdw[0],
        &pae_pdw[1], { NULL, NULL }, { NULL, NULL }, false,
    };
    run_mode(&pae);
    SYS_WRITE_CR(0, cr0);
    SYS_WRITE_CR(4, cr4);
    sys_wrmsr(MSR_EFER, efer);
}
#endif

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    (void)mb_magic;
    (void)mbi;
    (void)user_stack_page;
    sysenv_init();
    uint32_t r[4];
    sys_cpuid(0, 0, r);
    if (r[0] >= 7) {
        sys_cpuid(7, 0, r);
        have_smep = r[1] & (1u << 7);
        have_smap = r[1] & (1u << 20);
    }
    sys_cpuid(0x80000000u, 0, r);
    uint32_t max_ext = r[0];
    maxphyaddr = 36;
    if (max_ext >= 0x80000001u) {
        sys_cpuid(0x80000001u, 0, r);
        have_1g = r[3] & (1u << 26);
    }
    if (max_ext >= 0x80000008u) {
        sys_cpuid(0x80000008u, 0, r);
        maxphyaddr = r[0] & 0xff;
    }
    run_modes();
    printf("paging-modes: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
