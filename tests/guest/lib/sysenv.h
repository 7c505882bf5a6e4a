/*
 * System-level helpers for the payloads that test privilege levels, gates,
 * paging and system instructions (additive to the runtime; both modes).
 *
 * sysenv_init() replaces the runtime's GDT and IDT by bigger ones with the
 * same kernel selectors (0x08 code32, 0x10 data, 0x18 code64), so the
 * runtime's exception handling keeps working, and adds user segments, a TSS
 * and 256 IDT vectors (0-31 still go to the runtime's handlers):
 *
 *   0x00 null            0x28 user code32 (DPL3)   0x48 TSS (16 bytes in
 *   0x08 kernel code32   0x30 user data   (DPL3)        long mode)
 *   0x10 kernel data     0x38 user code64 (DPL3)   0x58.. free slots for
 *   0x18 kernel code64   0x40 user data   (DPL3)        the payload
 *   0x20 kernel data
 *
 * The layout fits SYSCALL/SYSRET (STAR[47:32] = 0x18, STAR[63:48] = 0x28);
 * syscall-sysret.c puts the four SYSENTER/SYSEXIT segments in free slots.
 *
 * run_user(fn, stack) enters fn at CPL 3 (IRET to 0x2b or 0x3b, SS 0x33,
 * IOPL 0) on `stack`; fn returns through a DPL-3 interrupt gate (vector
 * SYSENV_RETURN_VECTOR) and run_user returns fn's return value. Exceptions
 * at CPL 3 arrive on the TSS's ring-0 stack; the runtime's expected-exception
 * mechanism resumes in user mode.
 */
#ifndef GUEST_SYSENV_H
#define GUEST_SYSENV_H

#include "runtime.h"

#define SEL_KCODE32 0x08
#define SEL_KDATA   0x10
#define SEL_KCODE64 0x18
#define SEL_KDATA2  0x20
#define SEL_UCODE32 0x2b
#define SEL_UDATA   0x33
#define SEL_UCODE64 0x3b
#define SEL_UDATA2  0x43
#define SEL_TSS     0x48
#define SEL_FREE    0x58           /* first free slot */
#define GDT_ENTRIES 32

#define SYSENV_RETURN_VECTOR 0x81

/* Descriptor types (access byte, with P and DPL). */
#define DESC_P        0x80
#define DESC_DPL(n)   ((n) << 5)
#define DESC_S        0x10           /* code/data */
#define DESC_CODE_RX  0x1a           /* S + code, readable, accessed clear */
#define DESC_DATA_RW  0x12           /* S + data, writable */
#define DESC_TSS_AVL  0x09
#define DESC_TSS_BUSY 0x0b
#define DESC_CALL_GATE 0x0c
#define DESC_INT_GATE  0x0e
#define DESC_TRAP_GATE 0x0f
#define DESC_TASK_GATE 0x05
/* Flags nibble (bits 52-55). */
#define DESC_G   0x8
#define DESC_DB  0x4
#define DESC_L   0x2

static inline uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access,
                                uint8_t flags)
{
    return (uint64_t)(limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
           ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
           ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

/* A 32-bit gate (call/interrupt/trap/task) as one descriptor; param_count
 * is the call gate's dword count. */
static inline uint64_t gate_desc32(uint32_t offset, uint16_t sel, uint8_t access,
                                   uint8_t param_count)
{
    return (uint64_t)(offset & 0xffff) | ((uint64_t)sel << 16) |
           ((uint64_t)(param_count & 0x1f) << 32) | ((uint64_t)access << 40) |
           ((uint64_t)(offset >> 16) << 48);
}

extern uint64_t sysenv_gdt[GDT_ENTRIES];

struct tss32 {
    uint16_t link, r0;
    uint32_t esp0; uint16_t ss0, r1;
    uint32_t esp1; uint16_t ss1, r2;
    uint32_t esp2; uint16_t ss2, r3;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
    uint16_t trap, iomap;
} __attribute__((packed));

struct tss64 {
    uint32_t r0;
    uint64_t rsp0, rsp1, rsp2;
    uint64_t r1;
    uint64_t ist[7];
    uint64_t r2;
    uint16_t r3, iomap;
} __attribute__((packed));

#ifdef __x86_64__
extern struct tss64 sysenv_tss;
#else
extern struct tss32 sysenv_tss;
#endif
/* Top of the ring-0 stack the TSS names (16 KiB). */
extern uint8_t sysenv_kstack_top[];

void sysenv_init(void);
/* Installs an IDT gate: handler at `offset` in `sel`, `type` one of
 * DESC_INT_GATE/DESC_TRAP_GATE/DESC_TASK_GATE, with `dpl`, and (64-bit) `ist`. */
void idt_set_gate(unsigned vector, uintptr_t offset, uint16_t sel, uint8_t type,
                  unsigned dpl, unsigned ist);
void idt_get_gate(unsigned vector, uint64_t out[2]);
void idt_put_gate(unsigned vector, const uint64_t in[2]);
/* Re-loads TR after the TSS descriptor changed (clears its busy bit). */
void sysenv_reload_tr(void);

uintptr_t run_user(uintptr_t (*fn)(void), void *stack_top);
/* For run_user's 64-bit variant: enter fn in a 32-bit (compatibility-mode)
 * user segment instead. fn must then be 32-bit code (asm). */
uintptr_t run_user_cs(uintptr_t (*fn)(void), void *stack_top, uint16_t cs);

/* Enters CPL 3 at `ip` (code selector `cs`, SS 0x33, stack `sp`) with
 * EBX/RBX = bx and EAX/RAX = ax and everything else unspecified. The user
 * code returns with "int $0x81" (SYSENV_RETURN_VECTOR); the result is the
 * EAX/RAX it had then. For code on user pages (run_user's entry path lies
 * in the payload image). */
uintptr_t run_user_raw(uintptr_t ip, uintptr_t sp, uintptr_t cs, uintptr_t bx,
                       uintptr_t ax);

/* Replaces the handlers of vectors 0-31 by ones that, while an expected
 * exception is armed (runtime.h), resume at its resume label whatever the
 * vector, recording the vector in sysenv_last_vector; so a payload can
 * report "got #GP instead of #SS" and go on. Unarmed exceptions still end
 * the payload through the runtime's report. */
void sysenv_catch_all_exceptions(void);
extern volatile unsigned sysenv_last_vector;

/* Prints one line for a checked value: "<payload>: <what> = 0x<got> ok",
 * or "... FAILED" and then "<payload>:   expected 0x<want>". Returns
 * whether got == want (the payload counts its failures). */
bool sysenv_check(const char *payload, const char *what, uint64_t got, uint64_t want);

#ifdef __x86_64__
/* Makes crt0-64's identity map of the first 4 GiB user-accessible (U at
 * every level) so that code in the payload image runs at CPL 3 (no SMEP
 * or SMAP here), and flushes the TLB. */
void sysenv_identity_map_user(void);
#endif

static inline uint64_t sys_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void sys_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
                     : "memory");
}

static inline void sys_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}

#define SYS_READ_CR(n) ({ uintptr_t v_; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_)); v_; })
#define SYS_WRITE_CR(n, v) __asm__ volatile("mov %0, %%cr" #n : : "r"((uintptr_t)(v)) : "memory")

#endif
