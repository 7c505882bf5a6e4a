/*
 * Entry points for syscall-sysret.c; results go to `sc` (see the C file
 * for the layout). 64-bit build: SYSCALL (LSTAR, CSTAR) entries using
 * SWAPGS to find the kernel stack, SYSRET to 64-bit and compatibility
 * mode. 32-bit build: SYSENTER/SYSEXIT.
 */
    .text
#ifdef __x86_64__
    .code64
/* LSTAR and CSTAR share the body; EDI = 1 asks for a SYSRET to
 * compatibility mode at compat_target. GS (kernel) holds: 0 kernel stack
 * top, 8 saved user RSP, 16 a marker. */
    .globl lstar_entry, cstar_entry
cstar_entry:
    swapgs
    movq %rsp, %gs:8
    movq %gs:0, %rsp
    movq $2, sc + 88(%rip)           /* entered through CSTAR */
    jmp syscall_common
lstar_entry:
    swapgs
    movq %rsp, %gs:8
    movq %gs:0, %rsp
    movq $1, sc + 88(%rip)           /* entered through LSTAR */
syscall_common:
    movq %rcx, sc + 0(%rip)
    movq %r11, sc + 8(%rip)
    pushfq
    popq sc + 16(%rip)
    movw %cs, %ax
    movzwl %ax, %eax
    movq %rax, sc + 24(%rip)
    movw %ss, %ax
    movzwl %ax, %eax
    movq %rax, sc + 32(%rip)
    movq %gs:8, %rax
    movq %rax, sc + 40(%rip)
    movq %gs:16, %rax
    movq %rax, sc + 48(%rip)
    movl $0xc0000101, %ecx            /* GS_BASE: the kernel's now */
    rdmsr
    movl %eax, sc + 56(%rip)
    movl %edx, sc + 60(%rip)
    movq sc + 0(%rip), %rcx
    movq %gs:8, %rsp
    swapgs
    cmpq $2, sc + 88(%rip)            /* from compatibility mode: back there */
    je 2f
    cmpl $1, %edi
    je 1f
    sysretq
1:
    movl $compat_target, %ecx
2:
    sysretl

/* Compatibility-mode code at CPL 3. compat_target: reached by SYSRET
 * (32-bit form); records CS and SS. compat_syscall: SYSCALL from
 * compatibility mode (valid on AMD, #UD on Intel). */
    .code32
    .globl compat_target, compat_syscall, compat_syscall_after
compat_target:
    movw %cs, %ax
    movzwl %ax, %eax
    movl %eax, sc + 64
    movw %ss, %ax
    movzwl %ax, %eax
    movl %eax, sc + 72
    int $0x81
compat_syscall:
    movl $1, %edi
    syscall
compat_syscall_after:
    movw %cs, %ax
    movzwl %ax, %eax
    movl %eax, sc + 80
    int $0x81
    .code64

#else
    .code32
/* SYSENTER target: records ESP, CS, SS, EFLAGS; SYSEXIT to EDX/ECX. */
    .globl sysenter_entry
sysenter_entry:
    movl %esp, sc + 0
    movw %cs, %ax
    movzwl %ax, %eax
    movl %eax, sc + 4
    movw %ss, %ax
    movzwl %ax, %eax
    movl %eax, sc + 8
    pushfl
    popl sc + 12
    sysexit

/* User code: SYSENTER with ECX = ESP, EDX = the return label; records
 * ESP before, and CS, SS, ESP after SYSEXIT. */
    .globl user_sysenter, user_sysenter_return
user_sysenter:
    pushl %ebx
    movl %esp, %ecx
    movl $user_sysenter_return, %edx
    movl %esp, sc + 16
    sysenter
user_sysenter_return:
    movw %cs, %ax
    movzwl %ax, %eax
    movl %eax, sc + 20
    movw %ss, %ax
    movzwl %ax, %eax
    movl %eax, sc + 24
    movl %esp, sc + 28
    popl %ebx
    ret
#endif

    .bss
    .balign 8
    .globl sc
sc: .skip 128
