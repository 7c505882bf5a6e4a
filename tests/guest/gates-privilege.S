/*
 * Handlers and entry code for gates-privilege.c. Every handler records
 * what it finds (its own stack pointer, the words of the frame the CPU
 * pushed, its EFLAGS) into `rec`, for the C code to check. 32-bit and
 * 64-bit builds share the names.
 */
#define SEL_KDATA 0x10

/* Handler prologue: records the stack pointer in rec[0], saves the
 * accumulator, then copies the `words` frame words above it to
 * rec[1..words]. The handler pops the accumulator before returning. */
#ifdef __x86_64__
    .macro record_sp_and_frame words
    movq %rsp, rec + 0(%rip)
    pushq %rax
    .Lframe_offset = 8
    .rept \words
    movq .Lframe_offset(%rsp), %rax
    movq %rax, rec + .Lframe_offset(%rip)
    .Lframe_offset = .Lframe_offset + 8
    .endr
    .endm
#else
/* Copies `words` stack words from `from`(%esp) up to rec[1..words]
 * (clobbers EAX). */
    .macro record_stack_words from, words
    .Lframe_offset = 0
    .rept \words
    movl (\from + .Lframe_offset)(%esp), %eax
    movl %eax, rec + 4 + .Lframe_offset
    .Lframe_offset = .Lframe_offset + 4
    .endr
    .endm

    .macro record_sp_and_frame words
    movl %esp, rec + 0
    pushl %eax
    record_stack_words 4, \words
    .endm
#endif

    .text
#ifndef __x86_64__
    .code32
/* Interrupt/trap gate handler (vectors 0x82, 0x83): records ESP, five
 * frame words (EIP CS EFLAGS ESP SS) and its own EFLAGS. */
    .globl gate_handler
gate_handler:
    record_sp_and_frame 5
    pushfl
    popl %eax
    movl %eax, rec + 24
    movw %cs, %ax
    movw %ax, rec + 28
    popl %eax
    iret

/* Call gate target (two dword parameters): records ESP and six words
 * (EIP CS P1 P2 ESP SS), loads ES with a DPL-0 segment, and returns to
 * CPL 3 with "lret $8". */
    .globl callgate_target
callgate_target:
    record_sp_and_frame 6
    movw %cs, %ax
    movw %ax, rec + 28
    movw $SEL_KDATA, %ax
    movw %ax, %es
    popl %eax
    lret $8

/* User code for the call gate: pushes two parameters, calls through the
 * gate selector in EAX, returns ESP before/after and ES after. */
    .globl user_callgate
user_callgate:
    pushl %ebx
    movl %esp, rec + 32
    pushl $0x11111111
    pushl $0x22222222
    movl $9f, expected_exception + 8  /* resume here if the call faults */
    lcall *callgate_ptr
9:
    movl %esp, rec + 36
    movw %es, %ax
    movzwl %ax, %eax
    movl %eax, rec + 40
    movw $0x33, %ax
    movw %ax, %es
    movl rec + 32, %esp
    popl %ebx
    ret

/* The task of the JMP/task-gate tests: records TR, EFLAGS and its TSS's
 * back link, then leaves by JMP back (task 2) or IRET (task 3, entered
 * through a task gate, so NT is set). */
    .globl task2_entry, task3_entry
task2_entry:
    str rec + 0
    pushfl
    popl rec + 4
    movl tss2, %eax                   /* back link (offset 0) */
    movl %eax, rec + 8
    ljmp $0x48, $0                    /* back to the first task */
    jmp task2_entry                   /* a later JMP to task 2 resumes here */
task3_entry:
    str rec + 0
    pushfl
    popl rec + 4
    movl tss3, %eax
    movl %eax, rec + 8
    iret                              /* NT=1: return to the linked task */
    jmp task3_entry

/* Jumps to the TSS selector in EAX (JMP ptr16:32); the state of the
 * first task is saved in its TSS and reloaded when task 2 jumps back. */
    .globl jump_to_task
jump_to_task:
    pushl %ebx
    pushl %esi
    pushl %edi
    pushl %ebp
    movl %eax, task_ptr + 4
    movl $0x5a5a5a5a, %esi
    movl $9f, expected_exception + 8  /* resume here if the jump faults */
    ljmp *task_ptr
9:
    movl %esi, rec + 12              /* restored from the TSS */
    popl %ebp
    popl %edi
    popl %esi
    popl %ebx
    ret

/* vm86: enter with IRET (VM=1, IOPL=3), code at 0x0700:0 (copied to
 * linear 0x7000 by C) runs "mov $0x1234,%ax; mov %ax,(0x100); ...; int $0x85";
 * the handler of 0x85 records the 9-word frame and returns to the caller
 * of enter_vm86. */
    .globl enter_vm86, vm86_exit_handler, vm86_code_start, vm86_code_end
enter_vm86:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, sysenv_saved_sp
    pushl $0x0000                     /* GS */
    pushl $0x0000                     /* FS */
    pushl $0x0700                     /* DS */
    pushl $0x0800                     /* ES */
    pushl $0x0600                     /* SS */
    pushl $0x0ffe                     /* ESP */
    pushl $0x23002                    /* EFLAGS: VM, IOPL 3 */
    pushl $0x0700                     /* CS */
    pushl $0                          /* EIP */
    movl $vm86_entry_failed, expected_exception + 8
    iret
vm86_entry_failed:
    movl sysenv_saved_sp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret
vm86_exit_handler:
    pushl %eax
    movw $SEL_KDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    popl %eax
    movl %eax, rec + 40
    movl %esp, rec + 0
    record_stack_words 0, 9
    movw %fs, %ax
    movzwl %ax, %eax
    movl %eax, rec + 44
    movl sysenv_saved_sp, %esp
    movw $SEL_KDATA, %ax
    movw %ax, %fs
    movw %ax, %gs
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .code16
vm86_code_start:
    movw $0x1234, %ax
    movw %ax, (0x100)
    movw %cs, %bx
    movw %bx, (0x102)
    pushw $0x7777
    int $0x85
vm86_code_end:
    .code32

    .data
    .balign 4
    .globl callgate_ptr
callgate_ptr: .long 0, 0
task_ptr:     .long 0, 0

#else /* __x86_64__ */

    .code64
/* Interrupt/trap gate handler: records RSP and five frame words (RIP CS
 * RFLAGS RSP SS) and its CS. */
    .globl gate_handler
gate_handler:
    record_sp_and_frame 5
    movw %cs, %ax
    movw %ax, rec + 48(%rip)
    pushfq
    popq %rax
    movq %rax, rec + 80(%rip)
    popq %rax
    iretq

/* 64-bit call gate target: records RSP, four words (RIP CS RSP SS),
 * returns with lretq. */
    .globl callgate_target
callgate_target:
    record_sp_and_frame 4
    movw %cs, %ax
    movw %ax, rec + 48(%rip)
    movw %ss, %ax
    movw %ax, rec + 40(%rip)
    popq %rax
    lretq

/* User code: far call through the gate selector in callgate_ptr. */
    .globl user_callgate
user_callgate:
    movq %rsp, rec + 56(%rip)
    leaq 9f(%rip), %rax
    movq %rax, expected_exception + 8(%rip)   /* resume here if the call faults */
    lcall *callgate_ptr(%rip)
9:
    movq %rsp, rec + 64(%rip)
    movw %cs, %ax
    movzwl %ax, %eax
    movq %rax, rec + 72(%rip)
    ret

    .data
    .balign 8
    .globl callgate_ptr
callgate_ptr: .long 0, 0
#endif

    .bss
    .balign 8
    .globl rec
rec: .skip 128
