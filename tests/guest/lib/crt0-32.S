/*
 * Entry of the 32-bit payloads. The multiboot loader jumps to _start in flat
 * 32-bit protected mode, paging off, interrupts off, with EAX = 0x2BADB002
 * and EBX = the physical address of the multiboot information. ESP, GDTR and
 * IDTR are undefined, so we load our own before anything could use them.
 */
    .section .text
    .code32
    .globl _start
_start:
    /* Save what the loader gave us before touching any register. */
    movl %eax, entry_eax
    movl %ebx, entry_ebx
    movl %cr0, %eax
    movl %eax, entry_cr0
    /* ESP is undefined: switch to our stack before the first push. The
     * loader's data segment is flat, so SS:ESP works until we reload SS. */
    movl $stack_top, %esp
    pushfl
    popl %eax
    movl %eax, entry_eflags
    cld
    lgdt gdt_descriptor
    ljmp $0x08, $2f
2:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $stack_top, %esp
    xorl %ebp, %ebp
    call runtime_start          /* does not return */
3:  cli
    hlt
    jmp 3b

/* Exception stubs: push a zero error code where the CPU pushes none, then
 * the vector number, and report through guest_exception(). */
    .macro exception_stub vec
exception_stub_\vec:
    .if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushl $0
    .endif
    pushl $\vec
    jmp exception_common
    .endm

    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    exception_stub \v
    .endr

exception_common:
    /* Stack: vector, error code, EIP, CS, EFLAGS. guest_exception() returns
     * the EIP to resume at (an expected exception, see expect_exception())
     * or does not return. */
    pushal
    movl 32(%esp), %eax           /* vector */
    movl 36(%esp), %edx           /* error code */
    movl 40(%esp), %ecx           /* EIP */
    pushl %ecx
    pushl %edx
    pushl %eax
    call guest_exception
    addl $12, %esp
    movl %eax, 40(%esp)
    popal
    addl $8, %esp                 /* vector and error code */
    iret

    .section .rodata
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
