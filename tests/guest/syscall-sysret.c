/*
 * syscall-sysret: fast system calls. Built as syscall-sysret64 and
 * syscall-sysret32.
 *
 * 64-bit: SYSCALL from CPL 3 through LSTAR (RCX = return RIP, R11 = RFLAGS,
 * RFLAGS masked with SFMASK, CS/SS from STAR[47:32], RSP unchanged), a
 * kernel entry that finds its stack with SWAPGS (GS base and KERNEL_GS_BASE
 * exchanged), SYSRETQ back (CS/SS from STAR[63:48], RFLAGS from R11), SYSRETL
 * to compatibility mode, SYSCALL from compatibility mode through CSTAR on
 * AMD (#UD on Intel; the line is the same either way), #UD for SYSCALL with
 * EFER.SCE clear, #GP(0) for SWAPGS at CPL 3.
 * 32-bit: SYSENTER/SYSEXIT (CS/SS from SYSENTER_CS, ESP from SYSENTER_ESP,
 * IF cleared; back to CPL 3 at EDX with ESP = ECX), #GP(0) for SYSENTER
 * with SYSENTER_CS = 0.
 */
#include "runtime.h"
#include "sysenv.h"

extern uint64_t sc[16];
static int failures;
static uint8_t user_stack[8192] __attribute__((aligned(16)));
#define USER_STACK_TOP (user_stack + sizeof(user_stack))

static void check(const char *what, uint64_t got, uint64_t want)
{
    failures += !sysenv_check("syscall-sysret", what, got, want);
}

/* After an armed expect_exception(): print and count the outcome. */
static bool outcome(const char *what, int want_vector, uintptr_t want_err)
{
    struct expected_exception *x = &expected_exception;
    x->armed = false;
    bool ok;
    char buf[64];
    if (x->taken) {
        snprintf(buf, sizeof(buf), "vector %u err=0x%lx", sysenv_last_vector,
                 (unsigned long)x->error);
        ok = want_vector == (int)sysenv_last_vector && x->error == want_err;
    } else {
        snprintf(buf, sizeof(buf), "no exception");
        ok = want_vector < 0;
    }
    printf("syscall-sysret: %s: %s %s\n", what, buf, ok ? "ok" : "FAILED");
    if (!ok) {
        failures++;
    }
    return !x->taken;
}

#ifdef __x86_64__
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_CSTAR 0xc0000083u
#define MSR_SFMASK 0xc0000084u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define RFLAGS_DF 0x400u
#define RFLAGS_AC 0x40000u

extern char lstar_entry[], cstar_entry[], compat_target[], compat_syscall[],
    compat_syscall_after[];
static uint64_t kernel_percpu[4] __attribute__((aligned(16)));
static uint64_t user_percpu[4] __attribute__((aligned(16)));
static uint8_t syscall_stack[4096] __attribute__((aligned(16)));
/* Written by the asm of user_syscall (hence global). */
volatile uint64_t user_rsp, user_rip_after, user_flags_after, user_cs_after, user_ss_after,
    user_gs_marker;

static uintptr_t user_syscall(void)
{
    /* DF and AC set, SYSCALL with EDI = 0 (SYSRETQ back). */
    __asm__ volatile("std\n\t"
                     "pushfq\n\torq $0x40000, (%%rsp)\n\tpopfq\n\t"
                     "movq %%rsp, user_rsp(%%rip)\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, user_rip_after(%%rip)\n\t"
                     "xorl %%edi, %%edi\n\t"
                     "syscall\n"
                     "1:\n\t"
                     "pushfq\n\tpopq user_flags_after(%%rip)\n\t"
                     "cld\n\t"
                     "pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq\n\t"
                     "movw %%cs, %%ax\n\tmovzwl %%ax, %%eax\n\tmovq %%rax, user_cs_after(%%rip)\n\t"
                     "movw %%ss, %%ax\n\tmovzwl %%ax, %%eax\n\tmovq %%rax, user_ss_after(%%rip)\n\t"
                     "movq %%gs:16, %%rax\n\tmovq %%rax, user_gs_marker(%%rip)"
                     : : : "rax", "rcx", "rdx", "rdi", "r11", "memory", "cc");
    return 0;
}

static uintptr_t user_syscall_to_compat(void)
{
    __asm__ volatile("movl $1, %%edi\n\tsyscall" : : : "rax", "rcx", "rdx", "rdi", "r11",
                     "memory");
    return 0;     /* not reached: SYSRET goes to compat_target */
}

static uintptr_t user_plain_syscall(void)
{
    __asm__ volatile(ASM_SET_RESUME("1f") "xorl %%edi, %%edi\n\tsyscall\n1:"
                     : : : "rax", "rcx", "rdx", "rdi", "r11", "memory");
    return 0;
}

static uintptr_t user_swapgs(void)
{
    __asm__ volatile(ASM_SET_RESUME("1f") "swapgs\n1:" : : : "memory");
    return 0;
}

static void test_syscall64(void)
{
    uint32_t r[4];
    sys_cpuid(0, 0, r);
    bool intel = r[1] == 0x756e6547u;             /* "Genu" */

    kernel_percpu[0] = (uintptr_t)(syscall_stack + sizeof(syscall_stack));
    kernel_percpu[2] = 0x6b65726e656c6773ull;      /* markers */
    user_percpu[2] = 0x7573657267732121ull;
    sys_wrmsr(MSR_GS_BASE, (uintptr_t)user_percpu);
    sys_wrmsr(MSR_KERNEL_GS_BASE, (uintptr_t)kernel_percpu);

    /* SWAPGS at CPL 0. */
    __asm__ volatile("swapgs" ::: "memory");
    check("SWAPGS: GS base is the old KERNEL_GS_BASE",
          sys_rdmsr(MSR_GS_BASE) == (uintptr_t)kernel_percpu, 1);
    check("SWAPGS: KERNEL_GS_BASE is the old GS base",
          sys_rdmsr(MSR_KERNEL_GS_BASE) == (uintptr_t)user_percpu, 1);
    uint64_t marker;
    __asm__ volatile("movq %%gs:16, %0" : "=r"(marker));
    check("SWAPGS: %gs:16 reads the kernel area", marker, kernel_percpu[2]);
    __asm__ volatile("swapgs" ::: "memory");
    check("SWAPGS again: GS base restored", sys_rdmsr(MSR_GS_BASE) == (uintptr_t)user_percpu, 1);

    /* SYSCALL with EFER.SCE clear. */
    uint64_t efer = sys_rdmsr(MSR_EFER);
    sys_wrmsr(MSR_EFER, efer & ~1ull);
    expect_exception(6);
    run_user(user_plain_syscall, USER_STACK_TOP);
    outcome("SYSCALL with EFER.SCE=0", 6, 0);

    sys_wrmsr(MSR_EFER, efer | 1);
    sys_wrmsr(MSR_STAR, (0x28ull << 48) | (0x18ull << 32));
    sys_wrmsr(MSR_LSTAR, (uintptr_t)lstar_entry);
    sys_wrmsr(MSR_CSTAR, (uintptr_t)cstar_entry);
    sys_wrmsr(MSR_SFMASK, RFLAGS_DF | RFLAGS_AC);
    memset(sc, 0, 16 * sizeof(uint64_t));
    /* run_user's way back reloads GS (and so its base): set it again. */
    sys_wrmsr(MSR_GS_BASE, (uintptr_t)user_percpu);
    sys_wrmsr(MSR_KERNEL_GS_BASE, (uintptr_t)kernel_percpu);
    expect_exception(6);
    run_user(user_syscall, USER_STACK_TOP);
    if (outcome("SYSCALL/SYSRETQ round trip", -1, 0)) {
        check("SYSCALL: entered through LSTAR", sc[11], 1);
        check("SYSCALL: RCX is the return RIP", sc[0] == user_rip_after, 1);
        check("SYSCALL: R11 is RFLAGS (DF, AC, IF, bit 1)", sc[1] & 0x40602, 0x40402);
        check("SYSCALL: kernel RFLAGS masked by SFMASK (DF, AC)", sc[2] & 0x40400, 0);
        check("SYSCALL: CS from STAR[47:32]", sc[3], 0x18);
        check("SYSCALL: SS from STAR[47:32] + 8", sc[4], 0x20);
        check("SYSCALL: RSP unchanged", sc[5] == user_rsp, 1);
        check("SYSCALL entry: SWAPGS gave the kernel area", sc[6], kernel_percpu[2]);
        check("SYSCALL entry: GS base after SWAPGS", sc[7] == (uintptr_t)kernel_percpu, 1);
        check("SYSRETQ: CS from STAR[63:48] + 16", user_cs_after, 0x3b);
        check("SYSRETQ: SS from STAR[63:48] + 8", user_ss_after, 0x33);
        check("SYSRETQ: RFLAGS from R11 (DF, AC)", user_flags_after & 0x40400, 0x40400);
        check("after SYSRETQ: %gs:16 reads the user area (SWAPGS on the way out)",
              user_gs_marker, user_percpu[2]);
    }

    memset(sc, 0, 16 * sizeof(uint64_t));
    expect_exception(6);
    run_user(user_syscall_to_compat, USER_STACK_TOP);
    if (outcome("SYSCALL, then SYSRETL to compatibility mode", -1, 0)) {
        check("SYSRETL: CS from STAR[63:48]", sc[8], 0x2b);
        check("SYSRETL: SS from STAR[63:48] + 8", sc[9], 0x33);
    }

    /* SYSCALL in compatibility mode: through CSTAR on AMD, #UD on Intel. */
    memset(sc, 0, 16 * sizeof(uint64_t));
    expect_exception(6);
    expected_exception.resume_ip = (uintptr_t)compat_syscall_after;
    run_user_cs((uintptr_t (*)(void))compat_syscall, USER_STACK_TOP, SEL_UCODE32);
    expected_exception.armed = false;
    bool ok;
    if (intel) {
        ok = expected_exception.taken && sysenv_last_vector == 6 && sc[10] == 0x2b;
    } else {
        ok = !expected_exception.taken && sc[11] == 2 &&
             sc[0] == (uintptr_t)compat_syscall_after && sc[3] == 0x18 && sc[10] == 0x2b &&
             (sc[2] & 0x40400) == 0;
    }
    printf("syscall-sysret: SYSCALL in compatibility mode (CSTAR on AMD, #UD on Intel), "
           "back in compatibility mode: %s\n", ok ? "ok" : "FAILED");
    if (!ok) {
        printf("syscall-sysret:   taken %d vector %u entry %llu rcx-ok %d cs 0x%llx back-cs 0x%llx\n",
               expected_exception.taken, sysenv_last_vector, (unsigned long long)sc[11],
               sc[0] == (uintptr_t)compat_syscall_after, (unsigned long long)sc[3],
               (unsigned long long)sc[10]);
        failures++;
    }

    expect_exception(13);
    run_user(user_swapgs, USER_STACK_TOP);
    outcome("SWAPGS at CPL 3: #GP(0)", 13, 0);
}
#else
#define MSR_SYSENTER_CS 0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u
extern char sysenter_entry[], user_sysenter[], user_sysenter_return[];
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));

static void test_sysenter(void)
{
    /* SYSENTER_CS = 0x58: 0x58 kernel code, 0x60 kernel data, 0x68 user
     * code, 0x70 user data. */
    sysenv_gdt[0x58 >> 3] = seg_desc(0, 0xfffff, DESC_P | DESC_CODE_RX, DESC_G | DESC_DB);
    sysenv_gdt[0x60 >> 3] = seg_desc(0, 0xfffff, DESC_P | DESC_DATA_RW, DESC_G | DESC_DB);
    sysenv_gdt[0x68 >> 3] = seg_desc(0, 0xfffff, DESC_P | DESC_DPL(3) | DESC_CODE_RX,
                                     DESC_G | DESC_DB);
    sysenv_gdt[0x70 >> 3] = seg_desc(0, 0xfffff, DESC_P | DESC_DPL(3) | DESC_DATA_RW,
                                     DESC_G | DESC_DB);
    uintptr_t kstack = (uintptr_t)(sysenter_stack + sizeof(sysenter_stack));

    sys_wrmsr(MSR_SYSENTER_CS, 0);
    sys_wrmsr(MSR_SYSENTER_ESP, kstack);
    sys_wrmsr(MSR_SYSENTER_EIP, (uintptr_t)sysenter_entry);
    expect_exception(13);
    expected_exception.resume_ip = (uintptr_t)user_sysenter_return;
    run_user((uintptr_t (*)(void))user_sysenter, USER_STACK_TOP);
    outcome("SYSENTER with SYSENTER_CS=0", 13, 0);

    sys_wrmsr(MSR_SYSENTER_CS, 0x58);
    memset(sc, 0, 16 * sizeof(uint64_t));
    expect_exception(13);
    expected_exception.resume_ip = (uintptr_t)user_sysenter_return;
    run_user((uintptr_t (*)(void))user_sysenter, USER_STACK_TOP);
    uint32_t *s = (uint32_t *)sc;
    if (outcome("SYSENTER/SYSEXIT round trip", -1, 0)) {
        check("SYSENTER: ESP from SYSENTER_ESP", s[0] == kstack, 1);
        check("SYSENTER: CS = SYSENTER_CS", s[1], 0x58);
        check("SYSENTER: SS = SYSENTER_CS + 8", s[2], 0x60);
        check("SYSENTER: IF and VM clear", s[3] & 0x20200, 0);
        check("SYSEXIT: CS = SYSENTER_CS + 16, RPL 3", s[5], 0x6b);
        check("SYSEXIT: SS = SYSENTER_CS + 24, RPL 3", s[6], 0x73);
        check("SYSEXIT: ESP from ECX", s[7] == s[4], 1);
    }
}
#endif

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    (void)mb_magic;
    (void)mbi;
    sysenv_init();
    sysenv_catch_all_exceptions();
#ifdef __x86_64__
    printf("syscall-sysret: 64-bit long mode\n");
    sysenv_identity_map_user();
    test_syscall64();
#else
    printf("syscall-sysret: 32-bit protected mode\n");
    test_sysenter();
#endif
    printf("syscall-sysret: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
