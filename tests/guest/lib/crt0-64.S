/*
 * Entry of the payloads whose C code runs in 64-bit long mode. The multiboot
 * loader enters _start in flat 32-bit protected mode (paging off, EAX =
 * 0x2BADB002, EBX = multiboot information; ESP, GDTR, IDTR undefined). We
 * save the entry state for runtime_start()'s checks, build page tables that
 * identity-map the first 4 GiB with 2 MiB pages, enable PAE, EFER.LME and
 * paging, and far-jump to 64-bit code. Payloads may add finer mappings
 * (see paging64.h) once in C.
 */
#define CR0_PG      0x80000000
#define CR4_PAE     0x00000020
#define MSR_EFER    0xC0000080
#define EFER_LME    0x00000100
#define PTE_P_RW    0x003
#define PTE_P_RW_PS 0x083

    .section .text
    .code32
    .globl _start
_start:
    movl %eax, entry_eax
    movl %ebx, entry_ebx
    movl %cr0, %eax
    movl %eax, entry_cr0
    movl $stack_top, %esp         /* ESP is undefined until we set it */
    pushfl
    popl %eax
    movl %eax, entry_eflags
    cld
    lgdt gdt_descriptor
    ljmp $0x08, $1f
1:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss

    /* Long mode needs CPUID leaf 0x80000001 EDX bit 29. */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc no_long_mode

    /* PML4 and PDPT start empty (the loader zeroes .bss, but do not rely
     * on that for tables the CPU walks). */
    movl $pml4, %edi
    movl $(2 * 4096 / 4), %ecx
    xorl %eax, %eax
    rep stosl

    movl $pdpt, %eax
    orl $PTE_P_RW, %eax
    movl %eax, pml4

    /* PDPT[0..3] -> the four page directories. */
    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $12, %eax
    addl $page_directories, %eax
    orl $PTE_P_RW, %eax
    movl %eax, pdpt(,%ecx,8)
    movl $0, pdpt+4(,%ecx,8)
    incl %ecx
    cmpl $4, %ecx
    jb 2b

    /* 2048 2 MiB pages: entry j maps j << 21. */
    xorl %ecx, %ecx
3:  movl %ecx, %eax
    shll $21, %eax
    orl $PTE_P_RW_PS, %eax
    movl %eax, page_directories(,%ecx,8)
    movl $0, page_directories+4(,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jb 3b

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $CR0_PG, %eax
    movl %eax, %cr0
    /* Now in compatibility mode; a far jump to a 64-bit code segment
     * activates 64-bit mode. */
    ljmp $0x18, $start64

no_long_mode:
    movl $no_long_mode_msg, %esi
4:  lodsb
    testb %al, %al
    jz 6f
    movb %al, %bl
    movw $0x3fd, %dx
5:  inb %dx, %al
    testb $0x20, %al
    jz 5b
    movw $0x3f8, %dx
    movb %bl, %al
    outb %al, %dx
    jmp 4b
6:  movw $0xf4, %dx
    movl $0x3f, %eax              /* EXIT_PANIC */
    outl %eax, %dx
7:  cli
    hlt
    jmp 7b

    .code64
start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movq $stack_top, %rsp
    xorl %ebp, %ebp
    call runtime_start            /* does not return */
8:  cli
    hlt
    jmp 8b

    .macro exception_stub vec
exception_stub_\vec:
    .if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq $0
    .endif
    pushq $\vec
    jmp exception_common
    .endm

    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    exception_stub \v
    .endr

exception_common:
    /* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. guest_exception()
     * returns the RIP to resume at (an expected exception, see
     * expect_exception()) or does not return. */
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rbx
    pushq %rbp
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq 120(%rsp), %rdi          /* vector */
    movq 128(%rsp), %rsi          /* error code */
    movq 136(%rsp), %rdx          /* RIP */
    movq %rsp, %rbx               /* callee-saved: the frame, across the call */
    andq $-16, %rsp
    call guest_exception
    movq %rbx, %rsp
    movq %rax, 136(%rsp)
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rbp
    popq %rbx
    popq %rdx
    popq %rcx
    popq %rax
    addq $16, %rsp                /* vector and error code */
    iretq

    .section .rodata
no_long_mode_msg:
    .asciz "PANIC: the CPU does not support long mode\n"
    .balign 4
    .globl exception_stub_table
exception_stub_table:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long exception_stub_\v
    .endr

    .section .data
    .balign 8
    .globl gdt
gdt:
    .quad 0                       /* null */
    .quad 0x00CF9A000000FFFF      /* 0x08: flat 32-bit code */
    .quad 0x00CF92000000FFFF      /* 0x10: flat data */
    .quad 0x00AF9A000000FFFF      /* 0x18: 64-bit code */
gdt_end:
    .balign 4
gdt_descriptor:
    .word gdt_end - gdt - 1
    .long gdt

    .section .bss
    .balign 4096
    .globl pml4, pdpt, page_directories
pml4:             .skip 4096
pdpt:             .skip 4096
page_directories: .skip 4 * 4096
    .balign 16
    .globl entry_eax, entry_ebx, entry_cr0, entry_eflags
entry_eax:    .long 0
entry_ebx:    .long 0
entry_cr0:    .long 0
entry_eflags: .long 0
    .balign 16
stack_bottom:
    .skip 16384
stack_top:
