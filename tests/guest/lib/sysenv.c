/*
 * System-level helpers: a bigger GDT with user segments and a TSS, a
 * 256-vector IDT, and run_user() to call a function at CPL 3. See sysenv.h.
 */
#include "sysenv.h"

uint64_t sysenv_gdt[GDT_ENTRIES] __attribute__((aligned(16)));
#ifdef __x86_64__
struct tss64 sysenv_tss __attribute__((aligned(128)));
static uint64_t sysenv_idt[256 * 2] __attribute__((aligned(16)));
#else
struct tss32 sysenv_tss __attribute__((aligned(128)));
static uint64_t sysenv_idt[256] __attribute__((aligned(16)));
#endif
__attribute__((used)) static uint8_t sysenv_kstack[16384] __attribute__((aligned(16)));
uintptr_t sysenv_saved_sp;

struct sysenv_table_register {
    uint16_t limit;
    uintptr_t base;
} __attribute__((packed));

extern char sysenv_return_handler[];

void idt_get_gate(unsigned vector, uint64_t out[2])
{
#ifdef __x86_64__
    out[0] = sysenv_idt[vector * 2];
    out[1] = sysenv_idt[vector * 2 + 1];
#else
    out[0] = sysenv_idt[vector];
    out[1] = 0;
#endif
}

void idt_put_gate(unsigned vector, const uint64_t in[2])
{
#ifdef __x86_64__
    sysenv_idt[vector * 2] = in[0];
    sysenv_idt[vector * 2 + 1] = in[1];
#else
    sysenv_idt[vector] = in[0];
#endif
}

void idt_set_gate(unsigned vector, uintptr_t offset, uint16_t sel, uint8_t type,
                  unsigned dpl, unsigned ist)
{
    uint64_t g[2];
    g[0] = gate_desc32((uint32_t)offset, sel, (uint8_t)(DESC_P | DESC_DPL(dpl) | type), 0);
#ifdef __x86_64__
    g[0] |= (uint64_t)(ist & 7) << 32;
    g[1] = (uint64_t)offset >> 32;
#else
    (void)ist;
    g[1] = 0;
#endif
    idt_put_gate(vector, g);
}

void sysenv_reload_tr(void)
{
    /* Clear the busy bit that LTR set, then load TR again. */
    sysenv_gdt[SEL_TSS >> 3] &= ~(2ull << 40);
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS) : "memory");
}

void sysenv_init(void)
{
    uint64_t *g = sysenv_gdt;
    memset(g, 0, sizeof(sysenv_gdt));
    g[1] = seg_desc(0, 0xfffff, DESC_P | DESC_CODE_RX, DESC_G | DESC_DB);
    g[2] = seg_desc(0, 0xfffff, DESC_P | DESC_DATA_RW, DESC_G | DESC_DB);
    g[3] = seg_desc(0, 0xfffff, DESC_P | DESC_CODE_RX, DESC_G | DESC_L);
    g[4] = seg_desc(0, 0xfffff, DESC_P | DESC_DATA_RW, DESC_G | DESC_DB);
    g[5] = seg_desc(0, 0xfffff, DESC_P | DESC_DPL(3) | DESC_CODE_RX, DESC_G | DESC_DB);
    g[6] = seg_desc(0, 0xfffff, DESC_P | DESC_DPL(3) | DESC_DATA_RW, DESC_G | DESC_DB);
    g[7] = seg_desc(0, 0xfffff, DESC_P | DESC_DPL(3) | DESC_CODE_RX, DESC_G | DESC_L);
    g[8] = seg_desc(0, 0xfffff, DESC_P | DESC_DPL(3) | DESC_DATA_RW, DESC_G | DESC_DB);

    memset(&sysenv_tss, 0, sizeof(sysenv_tss));
    uintptr_t tss = (uintptr_t)&sysenv_tss;
#ifdef __x86_64__
    sysenv_tss.rsp0 = (uintptr_t)sysenv_kstack_top;
    sysenv_tss.iomap = sizeof(sysenv_tss);
    g[SEL_TSS >> 3] = seg_desc((uint32_t)tss, sizeof(sysenv_tss) - 1,
                               DESC_P | DESC_TSS_AVL, 0);
    g[(SEL_TSS >> 3) + 1] = (uint64_t)tss >> 32;
#else
    sysenv_tss.esp0 = (uintptr_t)sysenv_kstack_top;
    sysenv_tss.ss0 = SEL_KDATA;
    sysenv_tss.iomap = sizeof(sysenv_tss);
    g[SEL_TSS >> 3] = seg_desc((uint32_t)tss, sizeof(sysenv_tss) - 1,
                               DESC_P | DESC_TSS_AVL, 0);
#endif

    /* Vectors 0-31 keep the runtime's handlers. */
    struct sysenv_table_register old;
    __asm__ volatile("sidt %0" : "=m"(old));
    memset(sysenv_idt, 0, sizeof(sysenv_idt));
#ifdef __x86_64__
    memcpy(sysenv_idt, (const void *)old.base, 32 * 16);
#else
    memcpy(sysenv_idt, (const void *)old.base, 32 * 8);
#endif
#ifdef __x86_64__
    idt_set_gate(SYSENV_RETURN_VECTOR, (uintptr_t)sysenv_return_handler, SEL_KCODE64,
                 DESC_INT_GATE, 3, 0);
#else
    idt_set_gate(SYSENV_RETURN_VECTOR, (uintptr_t)sysenv_return_handler, SEL_KCODE32,
                 DESC_INT_GATE, 3, 0);
#endif

    struct sysenv_table_register gdtr = { sizeof(sysenv_gdt) - 1, (uintptr_t)sysenv_gdt };
    struct sysenv_table_register idtr = { sizeof(sysenv_idt) - 1, (uintptr_t)sysenv_idt };
    __asm__ volatile("lgdt %0\n\tlidt %1\n\t"
                     "movw %w2, %%ds\n\tmovw %w2, %%es\n\tmovw %w2, %%ss\n\t"
                     "movw %w2, %%fs\n\tmovw %w2, %%gs\n\t"
                     "ltr %w3"
                     : : "m"(gdtr), "m"(idtr), "r"(SEL_KDATA), "r"(SEL_TSS) : "memory");
}

volatile unsigned sysenv_last_vector;
extern const uint32_t sysenv_exc_table[32];
uintptr_t guest_exception(uintptr_t vector, uintptr_t error, uintptr_t ip);
uintptr_t sysenv_exception(uintptr_t vector, uintptr_t error, uintptr_t ip);

uintptr_t sysenv_exception(uintptr_t vector, uintptr_t error, uintptr_t ip)
{
    struct expected_exception *x = &expected_exception;
    if (x->armed && x->resume_ip) {
        uintptr_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        x->armed = false;
        x->taken = true;
        x->error = error;
        x->ip = ip;
        x->cr2 = cr2;
        sysenv_last_vector = (unsigned)vector;
        return x->resume_ip;
    }
    return guest_exception(vector, error, ip);     /* reports and exits */
}

void sysenv_catch_all_exceptions(void)
{
    for (unsigned v = 0; v < 32; v++) {
#ifdef __x86_64__
        idt_set_gate(v, sysenv_exc_table[v], SEL_KCODE64, DESC_INT_GATE, 0, 0);
#else
        idt_set_gate(v, sysenv_exc_table[v], SEL_KCODE32, DESC_INT_GATE, 0, 0);
#endif
    }
}

bool sysenv_check(const char *payload, const char *what, uint64_t got, uint64_t want)
{
    bool ok = got == want;
    printf("%s: %s = 0x%llx %s\n", payload, what, (unsigned long long)got,
           ok ? "ok" : "FAILED");
    if (!ok) {
        printf("%s:   expected 0x%llx\n", payload, (unsigned long long)want);
    }
    return ok;
}

#ifdef __x86_64__
void sysenv_identity_map_user(void)
{
    extern uint64_t pml4[512], pdpt[512], page_directories[4 * 512];
    pml4[0] |= 4;
    for (int i = 0; i < 4; i++) {
        pdpt[i] |= 4;
    }
    for (int i = 0; i < 4 * 512; i++) {
        page_directories[i] |= 4;
    }
    SYS_WRITE_CR(3, SYS_READ_CR(3));
}
#endif

uintptr_t run_user(uintptr_t (*fn)(void), void *stack_top)
{
#ifdef __x86_64__
    return run_user_cs(fn, stack_top, SEL_UCODE64);
#else
    return run_user_cs(fn, stack_top, SEL_UCODE32);
#endif
}

#ifdef __x86_64__
__asm__(
    ".text\n"
    ".globl run_user_cs\n"
    "run_user_cs:\n\t"
    "pushq %rbp\n\tpushq %rbx\n\tpushq %r12\n\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n\t"
    "movq %rsp, sysenv_saved_sp\n\t"
    "movq %rdi, %r12\n\t"
    "pushq $0x33\n\t"
    "pushq %rsi\n\t"
    "pushq $2\n\t"
    "pushq %rdx\n\t"
    "cmpq $0x3b, %rdx\n\t"
    "je 1f\n\t"
    "pushq %rdi\n\t"              /* compatibility mode: enter fn itself */
    "iretq\n"
    "1:\n\t"
    "pushq $sysenv_user_entry\n\t"
    "iretq\n"
    "sysenv_user_entry:\n\t"
    "call *%r12\n\t"
    "int $0x81\n"
    ".globl sysenv_return_handler\n"
    "sysenv_return_handler:\n\t"
    "movq sysenv_saved_sp, %rsp\n\t"
    "movw $0x10, %cx\n\tmovw %cx, %ss\n\tmovw %cx, %ds\n\tmovw %cx, %es\n\t"
    "movw %cx, %fs\n\tmovw %cx, %gs\n\t"
    "popq %r15\n\tpopq %r14\n\tpopq %r13\n\tpopq %r12\n\tpopq %rbx\n\tpopq %rbp\n\t"
    "ret\n"
    ".globl run_user_raw\n"
    "run_user_raw:\n\t"
    "pushq %rbp\n\tpushq %rbx\n\tpushq %r12\n\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n\t"
    "movq %rsp, sysenv_saved_sp\n\t"
    "movq %rcx, %rbx\n\t"
    "movq %r8, %rax\n\t"
    "pushq $0x33\n\tpushq %rsi\n\tpushq $2\n\tpushq %rdx\n\tpushq %rdi\n\t"
    "iretq\n"
    ".globl sysenv_kstack_top\n"
    ".set sysenv_kstack_top, sysenv_kstack + 16384\n");
#else
__asm__(
    ".text\n"
    ".globl run_user_cs\n"
    "run_user_cs:\n\t"
    "pushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n\t"
    "movl %esp, sysenv_saved_sp\n\t"
    "movl 20(%esp), %ecx\n\t"
    "movl 24(%esp), %edx\n\t"
    "movl 28(%esp), %eax\n\t"
    "pushl $0x33\n\t"
    "pushl %edx\n\t"
    "pushl $2\n\t"
    "pushl %eax\n\t"
    "pushl $sysenv_user_entry\n\t"
    "movw $0x33, %bx\n\tmovw %bx, %ds\n\tmovw %bx, %es\n\tmovw %bx, %fs\n\tmovw %bx, %gs\n\t"
    "iret\n"
    "sysenv_user_entry:\n\t"
    "call *%ecx\n\t"
    "int $0x81\n"
    ".globl sysenv_return_handler\n"
    "sysenv_return_handler:\n\t"
    "movl sysenv_saved_sp, %esp\n\t"
    "movw $0x10, %cx\n\tmovw %cx, %ds\n\tmovw %cx, %es\n\t"
    "movw %cx, %fs\n\tmovw %cx, %gs\n\t"
    "popl %edi\n\tpopl %esi\n\tpopl %ebx\n\tpopl %ebp\n\t"
    "ret\n"
    ".globl run_user_raw\n"
    "run_user_raw:\n\t"
    "pushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n\t"
    "movl %esp, sysenv_saved_sp\n\t"
    "movl 20(%esp), %ecx\n\t"
    "movl 24(%esp), %edx\n\t"
    "movl 28(%esp), %esi\n\t"
    "movl 32(%esp), %ebx\n\t"
    "movl 36(%esp), %eax\n\t"
    "pushl $0x33\n\tpushl %edx\n\tpushl $2\n\tpushl %esi\n\tpushl %ecx\n\t"
    "movw $0x33, %di\n\tmovw %di, %ds\n\tmovw %di, %es\n\tmovw %di, %fs\n\tmovw %di, %gs\n\t"
    "iret\n"
    ".globl sysenv_kstack_top\n"
    ".set sysenv_kstack_top, sysenv_kstack + 16384\n");
#endif

/* The catch-all exception stubs (the same frame handling as crt0's). */
#define SYSENV_STUBS \
    ".macro sysenv_stub vec\n" \
    "sysenv_exc_\\vec:\n" \
    ".if (\\vec == 8) || ((\\vec >= 10) && (\\vec <= 14)) || (\\vec == 17) || (\\vec == 21) || (\\vec == 29) || (\\vec == 30)\n" \
    ".else\n" \
    PUSH_ZERO "\n" \
    ".endif\n" \
    PUSH_VEC "\n" \
    "jmp sysenv_exc_common\n" \
    ".endm\n" \
    ".irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n" \
    "sysenv_stub \\v\n" \
    ".endr\n"
#define SYSENV_TABLE \
    ".section .rodata\n" \
    ".balign 4\n" \
    ".globl sysenv_exc_table\n" \
    "sysenv_exc_table:\n" \
    ".irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n" \
    ".long sysenv_exc_\\v\n" \
    ".endr\n" \
    ".text\n"
#ifdef __x86_64__
#define PUSH_ZERO "pushq $0"
#define PUSH_VEC "pushq $\\vec"
__asm__(".text\n" SYSENV_STUBS
        "sysenv_exc_common:\n\t"
        "pushq %rax\n\tpushq %rcx\n\tpushq %rdx\n\tpushq %rbx\n\tpushq %rbp\n\t"
        "pushq %rsi\n\tpushq %rdi\n\tpushq %r8\n\tpushq %r9\n\tpushq %r10\n\t"
        "pushq %r11\n\tpushq %r12\n\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n\t"
        "movq 120(%rsp), %rdi\n\t"
        "movq 128(%rsp), %rsi\n\t"
        "movq 136(%rsp), %rdx\n\t"
        "movq %rsp, %rbx\n\t"
        "andq $-16, %rsp\n\t"
        "call sysenv_exception\n\t"
        "movq %rbx, %rsp\n\t"
        "movq %rax, 136(%rsp)\n\t"
        "popq %r15\n\tpopq %r14\n\tpopq %r13\n\tpopq %r12\n\tpopq %r11\n\t"
        "popq %r10\n\tpopq %r9\n\tpopq %r8\n\tpopq %rdi\n\tpopq %rsi\n\t"
        "popq %rbp\n\tpopq %rbx\n\tpopq %rdx\n\tpopq %rcx\n\tpopq %rax\n\t"
        "addq $16, %rsp\n\t"
        "iretq\n"
        SYSENV_TABLE);
#else
#define PUSH_ZERO "pushl $0"
#define PUSH_VEC "pushl $\\vec"
__asm__(".text\n" SYSENV_STUBS
        "sysenv_exc_common:\n\t"
        "pushal\n\t"
        "movl 32(%esp), %eax\n\t"
        "movl 36(%esp), %edx\n\t"
        "movl 40(%esp), %ecx\n\t"
        "pushl %ecx\n\tpushl %edx\n\tpushl %eax\n\t"
        "call sysenv_exception\n\t"
        "addl $12, %esp\n\t"
        "movl %eax, 40(%esp)\n\t"
        "popal\n\t"
        "addl $8, %esp\n\t"
        "iret\n"
        SYSENV_TABLE);
#endif
