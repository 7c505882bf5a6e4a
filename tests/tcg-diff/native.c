/*
 * Native runner: the sequence runs on the host CPU at CODE_VA, a page mapped
 * at a fixed address next to the data window, read-only page and guard
 * pages (the same virtual addresses the guest's page tables map). An
 * assembly trampoline loads all sixteen registers and the flags, jumps to
 * the sequence, and the tail appended to it stores them back. Exceptions
 * arrive as signals on an alternate stack; the handler records the state
 * from the signal context (vector = trapno, error code, CR2) and resumes at
 * the trampoline's exit.
 */
#include <asm/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "tcg-diff.h"

/* Layout known to the assembly below. */
typedef struct NativeState {
    uint64_t r[16];     /* 0 */
    uint64_t flags;     /* 128 */
    uint64_t entry;     /* 136 */
    uint64_t host_rsp;  /* 144 */
    uint32_t far_off;   /* 152: far pointer to 32-bit code */
    uint16_t far_sel;   /* 156 */
    uint16_t pad;
} NativeState;

NativeState tcgdiff_native_state;
uint8_t tcgdiff_native_stack[65536] __attribute__((aligned(64)));

void tcgdiff_native_enter(void);
extern const uint8_t tcgdiff_native_far[];
extern const uint8_t tcgdiff_native_seq_end[], tcgdiff_native_leave[];

#define NS "tcgdiff_native_state"
#define STK "tcgdiff_native_stack+65536(%rip)"
__asm__(".text\n"
        ".globl tcgdiff_native_enter, tcgdiff_native_far, tcgdiff_native_seq_end\n"
        ".globl tcgdiff_native_leave\n"
        "tcgdiff_native_far:\n"                  /* to 32-bit code: flags untouched */
        "  ljmpl *" NS "+152(%rip)\n"
        "tcgdiff_native_enter:\n"
        "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  mov %rsp, " NS "+144(%rip)\n"
        "  lea " STK ", %rsp\n"
        "  pushq " NS "+128(%rip)\n"
        "  popfq\n"
        "  mov " NS "+0(%rip), %rax\n"
        "  mov " NS "+8(%rip), %rcx\n"
        "  mov " NS "+16(%rip), %rdx\n"
        "  mov " NS "+24(%rip), %rbx\n"
        "  mov " NS "+40(%rip), %rbp\n"
        "  mov " NS "+48(%rip), %rsi\n"
        "  mov " NS "+56(%rip), %rdi\n"
        "  mov " NS "+64(%rip), %r8\n"
        "  mov " NS "+72(%rip), %r9\n"
        "  mov " NS "+80(%rip), %r10\n"
        "  mov " NS "+88(%rip), %r11\n"
        "  mov " NS "+96(%rip), %r12\n"
        "  mov " NS "+104(%rip), %r13\n"
        "  mov " NS "+112(%rip), %r14\n"
        "  mov " NS "+120(%rip), %r15\n"
        "  mov " NS "+32(%rip), %rsp\n"
        "  jmp *" NS "+136(%rip)\n"
        "tcgdiff_native_seq_end:\n"
        "  mov %rsp, " NS "+32(%rip)\n"
        "  lea " STK ", %rsp\n"
        "  pushfq\n"
        "  popq " NS "+128(%rip)\n"
        "  mov %rax, " NS "+0(%rip)\n"
        "  mov %rcx, " NS "+8(%rip)\n"
        "  mov %rdx, " NS "+16(%rip)\n"
        "  mov %rbx, " NS "+24(%rip)\n"
        "  mov %rbp, " NS "+40(%rip)\n"
        "  mov %rsi, " NS "+48(%rip)\n"
        "  mov %rdi, " NS "+56(%rip)\n"
        "  mov %r8, " NS "+64(%rip)\n"
        "  mov %r9, " NS "+72(%rip)\n"
        "  mov %r10, " NS "+80(%rip)\n"
        "  mov %r11, " NS "+88(%rip)\n"
        "  mov %r12, " NS "+96(%rip)\n"
        "  mov %r13, " NS "+104(%rip)\n"
        "  mov %r14, " NS "+112(%rip)\n"
        "  mov %r15, " NS "+120(%rip)\n"
        "tcgdiff_native_leave:\n"
        "  mov " NS "+144(%rip), %rsp\n"
        "  cld\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
        "  ret\n");

static volatile sig_atomic_t native_running;
static uint16_t native_cs64;
static struct {
    bool faulted;
    int trapno;
    uint32_t err;
    uint64_t cr2, rip, flags, r[16];
} fault;

static const int greg_of[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    if (!native_running) {
        /* A real crash of the tester: let it happen. */
        signal(sig, SIG_DFL);
        return;
    }
    fault.faulted = true;
    fault.trapno = (int)g[REG_TRAPNO];
    fault.err = (uint32_t)g[REG_ERR];
    fault.cr2 = (uint64_t)g[REG_CR2];
    fault.rip = (uint64_t)g[REG_RIP];
    fault.flags = (uint64_t)g[REG_EFL];
    for (int i = 0; i < 16; i++) {
        fault.r[i] = (uint64_t)g[greg_of[i]];
    }
    g[REG_RIP] = (greg_t)(uintptr_t)tcgdiff_native_leave;
    g[REG_RSP] = (greg_t)(uintptr_t)(tcgdiff_native_stack + sizeof(tcgdiff_native_stack) - 64);
    g[REG_EFL] = 0x202;
    /* 32-bit sequences fault with CS 0x23: the exit is 64-bit code. */
    g[REG_CSGSFS] = (greg_t)(((uint64_t)g[REG_CSGSFS] & ~0xffffull) | native_cs64);
}

static uint8_t *region;

void native_init(uint64_t *fs_base)
{
    static uint8_t altstack[1 << 16];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
    struct sigaction sa;
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };

    region = mmap((void *)(uintptr_t)REGION_VA, REGION_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (region != (void *)(uintptr_t)REGION_VA) {
        fprintf(stderr, "tcg-diff: cannot map the test region at 0x%llx\n",
                (unsigned long long)REGION_VA);
        exit(1);
    }
    if (sigaltstack(&ss, NULL) != 0) {
        perror("sigaltstack");
        exit(1);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (sigaction(sigs[i], &sa, NULL) != 0) {
            perror("sigaction");
            exit(1);
        }
    }
    {
        uint16_t cs;
        __asm__ volatile("mov %%cs, %0" : "=r"(cs));
        native_cs64 = cs;
    }
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)GS_BASE) != 0 ||
        syscall(SYS_arch_prctl, ARCH_GET_FS, fs_base) != 0) {
        perror("arch_prctl");
        exit(1);
    }
}

/* 16-bit addresses (32-bit mode, prefix 67) land below 64 KiB (plus an
 * operand, or a BT bit offset): that range must be unmapped, so it is
 * reserved inaccessible. Returns false when it cannot be (something is
 * mapped there): 16-bit addressing is then not generated. */
bool native_reserve_low(void)
{
    const uintptr_t lo = 0x1000, hi = 0x20000;   /* below lo: mmap_min_addr */
    void *p = mmap((void *)lo, hi - lo, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return false;
    }
    if (p != (void *)lo) {
        munmap(p, hi - lo);
        return false;
    }
    return true;
}

/* The read-only page gets its contents before it is made read-only. */
void native_set_ro_page(const uint8_t *page)
{
    memcpy(region + (RO_VA - REGION_VA), page, 0x1000);
    if (mprotect(region + (RO_VA - REGION_VA), 0x1000, PROT_READ) != 0 ||
        mprotect(region + (GUARD0_VA - REGION_VA), 0x1000, PROT_NONE) != 0 ||
        mprotect(region + (GUARD1_VA - REGION_VA), 0x1000, PROT_NONE) != 0) {
        perror("mprotect");
        exit(1);
    }
}

void native_selectors(uint16_t sel[6])
{
    uint16_t v = 0x2b;
    __asm__ volatile("mov %0, %%ds\n\tmov %0, %%es" : : "r"(v));
    __asm__ volatile("mov %%es, %0" : "=r"(v)); sel[0] = v;
    __asm__ volatile("mov %%cs, %0" : "=r"(v)); sel[1] = v;
    __asm__ volatile("mov %%ss, %0" : "=r"(v)); sel[2] = v;
    __asm__ volatile("mov %%ds, %0" : "=r"(v)); sel[3] = v;
    __asm__ volatile("mov %%fs, %0" : "=r"(v)); sel[4] = v;
    __asm__ volatile("mov %%gs, %0" : "=r"(v)); sel[5] = v;
}

void native_run(const Seq *seq, const uint8_t *data, Outcome *out)
{
    uint8_t *code = region + (CODE_VA - REGION_VA);
    uint64_t end = (uint64_t)(uintptr_t)tcgdiff_native_seq_end;
    static const uint8_t jmp_abs[6] = { 0xff, 0x25, 0, 0, 0, 0 };   /* jmp *0(%rip) */
    uint16_t user_data = 0x2b;

    memcpy(code, seq->code, seq->len);
    if (seq->mode32) {
        /* ljmp $cs64, $CODE_VA + BACK64_OFF, where a 64-bit jmp goes on. */
        uint8_t far[7] = { 0xea };
        uint32_t off = (uint32_t)(CODE_VA + BACK64_OFF);
        memcpy(far + 1, &off, 4);
        memcpy(far + 5, &native_cs64, 2);
        memcpy(code + seq->len, far, 7);
        memcpy(code + BACK64_OFF, jmp_abs, sizeof(jmp_abs));
        memcpy(code + BACK64_OFF + 6, &end, 8);
    } else {
        memcpy(code + seq->len, jmp_abs, sizeof(jmp_abs));
        memcpy(code + seq->len + 6, &end, 8);
    }
    /* 32-bit code needs usable DS/ES (a sequence may load null ones). */
    __asm__ volatile("mov %0, %%ds\n\tmov %0, %%es" : : "r"(user_data));
    memcpy(region + (DATA_VA - REGION_VA), data, DATA_SIZE);

    memcpy(tcgdiff_native_state.r, seq->init.r, sizeof(seq->init.r));
    tcgdiff_native_state.flags = seq->init.flags;
    tcgdiff_native_state.entry = seq->mode32 ? (uint64_t)(uintptr_t)tcgdiff_native_far : CODE_VA;
    tcgdiff_native_state.far_off = (uint32_t)CODE_VA;
    tcgdiff_native_state.far_sel = 0x23;
    fault.faulted = false;

    native_running = 1;
    __asm__ volatile("" ::: "memory");
    tcgdiff_native_enter();
    __asm__ volatile("" ::: "memory");
    native_running = 0;

    if (fault.faulted) {
        memcpy(out->regs.r, fault.r, sizeof(fault.r));
        out->regs.rip = fault.rip;
        out->regs.flags = fault.flags;
        out->vector = fault.trapno;
        out->error_code = fault.err;
        out->cr2 = fault.cr2;
    } else {
        memcpy(out->regs.r, tcgdiff_native_state.r, sizeof(out->regs.r));
        out->regs.rip = CODE_VA + seq->len;
        out->regs.flags = tcgdiff_native_state.flags;
        out->vector = -1;
        out->error_code = 0;
        out->cr2 = 0;
    }
    memcpy(out->data, region + (DATA_VA - REGION_VA), DATA_SIZE);
}
