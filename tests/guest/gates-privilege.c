/*
 * gates-privilege: privilege transitions. Built as gates-privilege32 and
 * gates-privilege64.
 *
 * Both: CPL 0 -> 3 with IRET; CPL 3 -> 0 through an interrupt gate and a
 * trap gate (the TSS's ring-0 stack, the frame the CPU pushes, IF cleared
 * by interrupt gates only); a call gate from CPL 3 to CPL 0 and RETF back
 * to the outer level.
 * 32-bit: the call gate copies two parameters, RETF nulls ES holding a
 * DPL-0 segment; JMP to a TSS and back; a task gate (NT and the back link,
 * IRET returning to the first task); virtual-8086 mode entered with IRET
 * (VM=1) and left through an interrupt (the 9-word frame, segment
 * registers cleared).
 * 64-bit: the 16-byte call gate (no parameters, SS becomes null), IST
 * stacks at CPL 0 and CPL 3.
 * The asm is in gates-privilege.S; handlers record into `rec`.
 */
#include "runtime.h"
#include "sysenv.h"

extern uintptr_t rec[16];
extern uint32_t callgate_ptr[2];
extern char gate_handler[], callgate_target[], user_callgate[];

#ifdef __x86_64__
#define SPREG "rsp"
#else
#define SPREG "esp"
#endif

static int failures;
static uint8_t user_stack[8192] __attribute__((aligned(16)));
#define USER_STACK_TOP (user_stack + sizeof(user_stack))

static void check(const char *what, uint64_t got, uint64_t want)
{
    failures += !sysenv_check("gates-privilege", what, got, want);
}

/* After code armed with expect_exception(): false (and a FAILED line) if
 * the transition itself faulted. */
static bool transition_ran(const char *what)
{
    struct expected_exception *x = &expected_exception;
    x->armed = false;
    if (!x->taken) {
        return true;
    }
    printf("gates-privilege: %s: raised vector %u err=0x%lx FAILED\n", what,
           sysenv_last_vector, (unsigned long)x->error);
    failures++;
    return false;
}

static void clear_rec(void)
{
    memset(rec, 0, 16 * sizeof(uintptr_t));
}

static volatile uintptr_t user_sp_before_int;
static volatile unsigned user_vector;

static uintptr_t user_cs_probe(void)
{
    uint16_t cs, ss;
    __asm__ volatile("mov %%cs, %0\n\tmov %%ss, %1" : "=r"(cs), "=r"(ss));
    return ((uintptr_t)ss << 16) | cs;
}

static uintptr_t user_int82(void)
{
    __asm__ volatile("mov %%" SPREG ", %0\n\tint $0x82" : "=m"(user_sp_before_int) : : "memory");
    return 0;
}

static uintptr_t user_int83(void)
{
    __asm__ volatile("mov %%" SPREG ", %0\n\tint $0x83" : "=m"(user_sp_before_int) : : "memory");
    return 0;
}

#ifdef __x86_64__
static uintptr_t user_int86(void)
{
    __asm__ volatile("mov %%" SPREG ", %0\n\tint $0x86" : "=m"(user_sp_before_int) : : "memory");
    return 0;
}
#endif

/* sti/int/cli at CPL 0 with the PIC masked: nothing else can arrive. */
static uintptr_t handler_flags_from_cpl0(unsigned vector)
{
    clear_rec();
    if (vector == 0x82) {
        __asm__ volatile("sti\n\tint $0x82\n\tcli" ::: "memory");
    } else {
        __asm__ volatile("sti\n\tint $0x83\n\tcli" ::: "memory");
    }
#ifdef __x86_64__
    return rec[10];
#else
    return rec[6];
#endif
}

static void test_iret_and_gates(void)
{
    uintptr_t r = run_user(user_cs_probe, USER_STACK_TOP);
#ifdef __x86_64__
    check("IRET to CPL 3: CS", r & 0xffff, SEL_UCODE64);
#else
    check("IRET to CPL 3: CS", r & 0xffff, SEL_UCODE32);
#endif
    check("IRET to CPL 3: SS", r >> 16, SEL_UDATA);

    const char *kinds[2] = { "interrupt gate", "trap gate" };
    for (int k = 0; k < 2; k++) {
        char what[96];
        clear_rec();
        run_user(k == 0 ? user_int82 : user_int83, USER_STACK_TOP);
        uintptr_t frame_size = 5 * sizeof(uintptr_t);
        snprintf(what, sizeof(what), "CPL 3 -> 0 %s: ESP0 minus the handler's SP", kinds[k]);
        check(what, (uintptr_t)sysenv_kstack_top - rec[0], frame_size);
        snprintf(what, sizeof(what), "CPL 3 -> 0 %s: handler CS", kinds[k]);
#ifdef __x86_64__
        check(what, rec[6] & 0xffff, SEL_KCODE64);
#else
        check(what, rec[7] & 0xffff, SEL_KCODE32);
#endif
        snprintf(what, sizeof(what), "CPL 3 -> 0 %s: saved CS", kinds[k]);
        check(what, rec[2] & 0xffff, sizeof(uintptr_t) == 8 ? SEL_UCODE64 : SEL_UCODE32);
        snprintf(what, sizeof(what), "CPL 3 -> 0 %s: saved SP is the user's", kinds[k]);
        check(what, rec[4] == user_sp_before_int, 1);
        snprintf(what, sizeof(what), "CPL 3 -> 0 %s: saved SS", kinds[k]);
        check(what, rec[5] & 0xffff, SEL_UDATA);
        snprintf(what, sizeof(what), "%s at CPL 0 with IF=1: handler's IF", kinds[k]);
        check(what, (handler_flags_from_cpl0(k == 0 ? 0x82 : 0x83) >> 9) & 1, k == 0 ? 0 : 1);
    }
}

static void test_call_gate(void)
{
    clear_rec();
#ifdef __x86_64__
    /* A 16-byte call gate at 0x58 to the 64-bit kernel code segment. */
    sysenv_gdt[0x58 >> 3] = gate_desc32((uint32_t)(uintptr_t)callgate_target, SEL_KCODE64,
                                        DESC_P | DESC_DPL(3) | DESC_CALL_GATE, 0);
    sysenv_gdt[(0x58 >> 3) + 1] = (uint64_t)(uintptr_t)callgate_target >> 32;
    callgate_ptr[0] = 0;
    callgate_ptr[1] = 0x5b;
    expect_exception(13);
    run_user((uintptr_t (*)(void))user_callgate, USER_STACK_TOP);
    if (!transition_ran("64-bit call gate from CPL 3")) {
        return;
    }
    check("64-bit call gate: RSP0 minus the target's RSP", (uintptr_t)sysenv_kstack_top - rec[0],
          32);
    check("64-bit call gate: target CS", rec[6] & 0xffff, SEL_KCODE64);
    check("64-bit call gate: new SS is null", rec[5] & 0xffff, 0);
    check("64-bit call gate: saved CS", rec[2] & 0xffff, SEL_UCODE64);
    check("64-bit call gate: saved RSP is the caller's", rec[3] == rec[7], 1);
    check("64-bit call gate: saved SS", rec[4] & 0xffff, SEL_UDATA);
    check("lretq to CPL 3: RSP restored", rec[8] == rec[7], 1);
    check("lretq to CPL 3: CS", rec[9], SEL_UCODE64);
#else
    sysenv_gdt[0x58 >> 3] = gate_desc32((uint32_t)(uintptr_t)callgate_target, SEL_KCODE32,
                                        DESC_P | DESC_DPL(3) | DESC_CALL_GATE, 2);
    callgate_ptr[0] = 0;
    callgate_ptr[1] = 0x5b;
    expect_exception(13);
    run_user((uintptr_t (*)(void))user_callgate, USER_STACK_TOP);
    if (!transition_ran("32-bit call gate from CPL 3")) {
        return;
    }
    check("32-bit call gate: ESP0 minus the target's ESP", (uintptr_t)sysenv_kstack_top - rec[0],
          24);
    check("32-bit call gate: target CS", rec[7] & 0xffff, SEL_KCODE32);
    check("32-bit call gate: saved CS", rec[2] & 0xffff, SEL_UCODE32);
    check("32-bit call gate: parameter 1 copied (pushed last)", rec[3], 0x22222222);
    check("32-bit call gate: parameter 2 copied", rec[4], 0x11111111);
    check("32-bit call gate: saved ESP points at the parameters", rec[5] == rec[8] - 8, 1);
    check("32-bit call gate: saved SS", rec[6] & 0xffff, SEL_UDATA);
    check("lret $8 to CPL 3: ESP after the parameters", rec[9] == rec[8], 1);
    check("lret $8 to CPL 3: ES holding a DPL-0 segment is nulled", rec[10], 0);
#endif
}

#ifdef __x86_64__
static uint8_t ist_stack[4096] __attribute__((aligned(16)));

static void test_ist(void)
{
    sysenv_tss.ist[0] = (uintptr_t)(ist_stack + sizeof(ist_stack));
    idt_set_gate(0x86, (uintptr_t)gate_handler, SEL_KCODE64, DESC_INT_GATE, 3, 1);
    clear_rec();
    __asm__ volatile("int $0x86" ::: "memory");
    check("IST 1 at CPL 0: IST top minus the handler's RSP",
          (uintptr_t)(ist_stack + sizeof(ist_stack)) - rec[0], 40);
    clear_rec();
    run_user(user_int86, USER_STACK_TOP);
    check("IST 1 from CPL 3: IST top minus the handler's RSP",
          (uintptr_t)(ist_stack + sizeof(ist_stack)) - rec[0], 40);
    check("IST 1 from CPL 3: saved RSP is the user's", rec[4] == user_sp_before_int, 1);
}
#else
struct tss32 tss2 __attribute__((aligned(128))), tss3 __attribute__((aligned(128)));
static uint8_t task_stack2[4096] __attribute__((aligned(16)));
static uint8_t task_stack3[4096] __attribute__((aligned(16)));
extern char task2_entry[], task3_entry[], vm86_exit_handler[], vm86_code_start[],
    vm86_code_end[];
void jump_to_task(void);
void enter_vm86(void);

static void init_task(struct tss32 *t, void *entry, uint8_t *stack_top)
{
    memset(t, 0, sizeof(*t));
    t->eip = (uintptr_t)entry;
    t->eflags = 2;
    t->esp = (uintptr_t)stack_top;
    t->cs = SEL_KCODE32;
    t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
    t->cr3 = (uint32_t)SYS_READ_CR(3);
    t->iomap = sizeof(*t);
}

static void test_tasks(void)
{
    init_task(&tss2, task2_entry, task_stack2 + sizeof(task_stack2));
    init_task(&tss3, task3_entry, task_stack3 + sizeof(task_stack3));
    sysenv_gdt[0x60 >> 3] = seg_desc((uintptr_t)&tss2, sizeof(tss2) - 1, DESC_P | DESC_TSS_AVL, 0);
    sysenv_gdt[0x68 >> 3] = seg_desc((uintptr_t)&tss3, sizeof(tss3) - 1, DESC_P | DESC_TSS_AVL, 0);
    clear_rec();
    expect_exception(13);
    __asm__ volatile("movl $0x60, %%eax\n\tcall jump_to_task" ::: "eax", "ecx", "edx", "memory");
    if (!transition_ran("JMP to a TSS")) {
        return;
    }
    check("JMP to a TSS: TR in the new task", rec[0] & 0xffff, 0x60);
    check("JMP to a TSS: NT in the new task", (rec[1] >> 14) & 1, 0);
    check("JMP to a TSS: back link untouched", rec[2] & 0xffff, 0);
    check("JMP back: registers reloaded from the first TSS", rec[3], 0x5a5a5a5a);
    uint16_t tr;
    __asm__ volatile("str %0" : "=r"(tr));
    check("JMP back: TR", tr, SEL_TSS);
    check("JMP back: the second TSS is available again", (sysenv_gdt[0x60 >> 3] >> 40) & 0xf,
          DESC_TSS_AVL);

    idt_set_gate(0x84, 0, 0x68, DESC_TASK_GATE, 0, 0);
    clear_rec();
    expect_exception(13);
    __asm__ volatile(ASM_SET_RESUME("1f") "int $0x84\n1:" ::: "memory");
    if (!transition_ran("INT through a task gate")) {
        return;
    }
    check("task gate: TR in the new task", rec[0] & 0xffff, 0x68);
    check("task gate: NT in the new task", (rec[1] >> 14) & 1, 1);
    check("task gate: back link", rec[2] & 0xffff, SEL_TSS);
    __asm__ volatile("str %0" : "=r"(tr));
    check("IRET with NT: back in the first task, TR", tr, SEL_TSS);
    uint32_t eflags;
    __asm__ volatile("pushfl\n\tpopl %0" : "=r"(eflags));
    check("IRET with NT: NT clear in the first task", (eflags >> 14) & 1, 0);
    check("IRET with NT: the task-gate TSS is available again",
          (sysenv_gdt[0x68 >> 3] >> 40) & 0xf, DESC_TSS_AVL);
}

static void test_vm86(void)
{
    memcpy((void *)0x7000, vm86_code_start, (size_t)(vm86_code_end - vm86_code_start));
    *(volatile uint32_t *)0x7100 = 0;
    idt_set_gate(0x85, (uintptr_t)vm86_exit_handler, SEL_KCODE32, DESC_INT_GATE, 3, 0);
    clear_rec();
    expect_exception(13);
    enter_vm86();
    if (!transition_ran("IRET to virtual-8086 mode")) {
        return;
    }
    check("vm86 exit by INT: ESP0 minus the handler's ESP", (uintptr_t)sysenv_kstack_top - rec[0],
          36);
    check("vm86 exit by INT: saved IP (after the INT)", rec[1],
          (uintptr_t)(vm86_code_end - vm86_code_start));
    check("vm86 exit by INT: saved CS", rec[2], 0x0700);
    check("vm86 exit by INT: saved EFLAGS.VM and IOPL", rec[3] & 0x23000, 0x23000);
    check("vm86 exit by INT: saved SP (after a word push)", rec[4], 0x0ffc);
    check("vm86 exit by INT: saved SS", rec[5], 0x0600);
    check("vm86 exit by INT: saved ES", rec[6], 0x0800);
    check("vm86 exit by INT: saved DS", rec[7], 0x0700);
    check("vm86 exit by INT: saved FS", rec[8], 0);
    check("vm86 exit by INT: saved GS", rec[9], 0);
    check("vm86 exit by INT: AX from vm86 code", rec[10] & 0xffff, 0x1234);
    check("vm86 exit by INT: FS null in the handler", rec[11], 0);
    check("vm86: DS:0x100 is linear 0x7100", *(volatile uint16_t *)0x7100, 0x1234);
    check("vm86: CS read in vm86 mode", *(volatile uint16_t *)0x7102, 0x0700);
    check("vm86: the pushed word at SS:SP (linear 0x6ffc)", *(volatile uint16_t *)0x6ffc, 0x7777);
}
#endif

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    (void)mb_magic;
    (void)mbi;
    sysenv_init();
    sysenv_catch_all_exceptions();
    outb(0x21, 0xff);                 /* mask the PICs: IF=1 is safe */
    outb(0xa1, 0xff);
#ifdef __x86_64__
    printf("gates-privilege: 64-bit long mode\n");
    sysenv_identity_map_user();
    uint16_t kcs = SEL_KCODE64;
#else
    printf("gates-privilege: 32-bit protected mode\n");
    uint16_t kcs = SEL_KCODE32;
#endif
    idt_set_gate(0x82, (uintptr_t)gate_handler, kcs, DESC_INT_GATE, 3, 0);
    idt_set_gate(0x83, (uintptr_t)gate_handler, kcs, DESC_TRAP_GATE, 3, 0);
    test_iret_and_gates();
    test_call_gate();
#ifdef __x86_64__
    test_ist();
#else
    test_tasks();
    test_vm86();
#endif
    printf("gates-privilege: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
