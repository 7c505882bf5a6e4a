/*
 * smp-counter's application-processor start-up code. The BSP copies the
 * bytes between smp_trampoline_start and smp_trampoline_end to physical
 * 0x8000 and sends start-up IPIs with vector 0x08, so an AP starts here in
 * real mode with CS = 0x0800, IP = 0. It loads the GDT kept in this page,
 * enters flat 32-bit protected mode, takes a stack slot and calls
 * ap_main(slot).
 */
#define TRAMPOLINE_BASE 0x8000
#define REL(sym) ((sym) - smp_trampoline_start)

    .text
    .globl smp_trampoline_start, smp_trampoline_end
    .code16
smp_trampoline_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl REL(tramp_gdt_ptr)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $(TRAMPOLINE_BASE + REL(tramp_pm))

    .code32
tramp_pm:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $1, %eax
    lock xaddl %eax, ap_slot_next     /* eax = this AP's slot */
    mov %eax, %ecx
    inc %ecx
    shl $12, %ecx                      /* 4 KiB of stack per slot */
    lea ap_stacks(%ecx), %esp
    push %eax
    mov $ap_main, %eax
    call *%eax
1:  cli
    hlt
    jmp 1b

    .p2align 3
tramp_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff           /* 0x08: flat 32-bit code */
    .quad 0x00cf92000000ffff           /* 0x10: flat data */
tramp_gdt_ptr:
    .word 3 * 8 - 1
    .long TRAMPOLINE_BASE + REL(tramp_gdt)
smp_trampoline_end:
