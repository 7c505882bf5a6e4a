/*
 * The mode transitions of mode-switch.c. Two entry points, both called from
 * 32-bit C (cdecl, no arguments), both returning in flat 32-bit protected
 * mode with paging off:
 *
 *   mode_down: 32-bit PM -> 16-bit PM (CS 0x58 and DS/SS 0x60, base
 *     LOW_BASE) -> real mode (CS 0x0800) -> 32-bit PM.
 *   mode_long: 32-bit PM -> PAE paging -> paging off -> EFER.LME, 4-level
 *     paging on (compatibility mode, CS 0x08) -> 64-bit mode (CS 0x18) ->
 *     compatibility mode -> paging off (LMA clears) -> LME off -> 32-bit PM.
 *
 * The 16-bit and real-mode code is assembled between low_blob_start and
 * low_blob_end and copied to LOW_BASE (0x8000) by the C code: real mode can
 * only run below 1 MiB. Its results are stored inside the blob (r_* labels,
 * addressed relative to the blob's segment base). Results of the long-mode
 * part are stored in lm_results.
 *
 * Operand size is measured as the ESP/RSP delta of "push imm8" (6a 00),
 * with and without an operand-size prefix.
 */
#define LOW_BASE 0x8000
#define B low_blob_start

    .text
    .code32
    .globl mode_down
mode_down:
    pushal
    movl %esp, saved_esp32
    sidt saved_idtr32
    ljmp $0x58, $(pm16_entry - B)

pm32_back:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl saved_esp32, %esp
    lidt saved_idtr32
    popal
    ret

    .globl low_blob_start, low_blob_end
    .globl r_pm16_cs, r_pm16_push, r_pm16_push66, r_pm16_ss16_esp, r_pm16_ss16_word
    .globl r_rm_cs, r_rm_push, r_rm_push66, r_rm_msw, r_rm_alias, r_rm_int, r_rm_int_cs
    .balign 16
low_blob_start:
    .code16
pm16_entry:
    /* 16-bit protected mode: CS D=0, SS still the flat 32-bit segment. */
    movw $0x60, %ax
    movw %ax, %ds
    movw %cs, %ax
    movw %ax, (r_pm16_cs - B)
    movl %esp, %ebx
    .byte 0x6a, 0x00                /* push imm8: word */
    movl %ebx, %ecx
    subl %esp, %ecx
    movl %ecx, (r_pm16_push - B)
    movl %ebx, %esp
    .byte 0x66, 0x6a, 0x00          /* push imm8 with 66: dword */
    movl %ebx, %ecx
    subl %esp, %ecx
    movl %ecx, (r_pm16_push66 - B)
    movl %ebx, %esp
    /* A 16-bit stack segment (B=0): pushes change SP only. */
    movw $0x60, %ax
    movw %ax, %ss
    movl $0xabcd7f00, %esp
    .byte 0x68, 0x34, 0x12          /* push $0x1234 (word) */
    movl %esp, (r_pm16_ss16_esp - B)
    movw (0x7efe), %ax
    movw %ax, (r_pm16_ss16_word - B)
    /* Leave protected mode; the far jump loads a real-mode CS. */
    movl %cr0, %eax
    andl $~1, %eax
    movl %eax, %cr0
    ljmp $(LOW_BASE >> 4), $(rm_entry - B)

rm_entry:
    movw $(LOW_BASE >> 4), %ax
    movw %ax, %ds
    movw %ax, %ss
    movl $0x7f00, %esp
    movw %cs, %ax
    movw %ax, (r_rm_cs - B)
    movl %esp, %ebx
    .byte 0x6a, 0x00
    movl %ebx, %ecx
    subl %esp, %ecx
    movl %ecx, (r_rm_push - B)
    movl %ebx, %esp
    .byte 0x66, 0x6a, 0x00
    movl %ebx, %ecx
    subl %esp, %ecx
    movl %ecx, (r_rm_push66 - B)
    movl %ebx, %esp
    smsw %ax
    movw %ax, (r_rm_msw - B)
    /* Segment arithmetic: ES 0x0a00:0 is DS (0x0800):0x2000. */
    movw $0x0a00, %ax
    movw %ax, %es
    movw $0xbeef, %es:(0)
    movw (0x2000), %ax
    movw %ax, (r_rm_alias - B)
    /* A software interrupt through a real-mode IVT at 0. */
    lidt (rm_idtr - B)
    xorw %ax, %ax
    movw %ax, %es
    movw $(rm_int_handler - B), %es:(0x40 * 4)
    movw $(LOW_BASE >> 4), %es:(0x40 * 4 + 2)
    movw $0, (r_rm_int - B)
    int $0x40
    /* Back to 32-bit protected mode. */
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $pm32_back

rm_int_handler:
    movw $0x4242, (r_rm_int - B)
    movw %sp, %bp
    movw 2(%bp), %ax                /* the pushed CS */
    movw %ax, (r_rm_int_cs - B)
    iret

    .balign 4
rm_idtr:        .word 0x3ff
                .long 0
r_pm16_cs:        .long 0
r_pm16_push:      .long 0
r_pm16_push66:    .long 0
r_pm16_ss16_esp:  .long 0
r_pm16_ss16_word: .long 0
r_rm_cs:          .long 0
r_rm_push:        .long 0
r_rm_push66:      .long 0
r_rm_msw:         .long 0
r_rm_alias:       .long 0
r_rm_int:         .long 0
r_rm_int_cs:      .long 0
low_blob_end:

    .code32
    .globl mode_long
mode_long:
    pushal
    movl %esp, saved_esp32
    /* Legacy PAE paging. */
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl $pae_pdpt, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x80000000, %eax
    movl %eax, %cr0
    movl %cr0, %eax
    movl %eax, lm_results + 0         /* CR0 under PAE paging */
    movl $0x40000000, %eax             /* PDPT[1] aliases physical 0 */
    addl $alias_word, %eax
    movl (%eax), %eax
    movl %eax, lm_results + 4
    /* Paging off, LME on, 4-level tables, paging on: compatibility mode. */
    movl %cr0, %eax
    andl $0x7fffffff, %eax
    movl %eax, %cr0
    movl $0xc0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl $lm_pml4, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x80000000, %eax
    movl %eax, %cr0
    movl $0xc0000080, %ecx
    rdmsr
    movl %eax, lm_results + 8         /* EFER in compatibility mode */
    movl %esp, %ebx
    .byte 0x6a, 0x00
    movl %ebx, %ecx
    subl %esp, %ecx
    movl %ecx, lm_results + 12        /* push size in compatibility mode */
    movl %ebx, %esp
    movw %cs, %ax
    movw %ax, lm_results + 16
    ljmp $0x18, $long64

    .code64
long64:
    movl %esp, %esp                   /* upper half of RSP: zero */
    movw %cs, %ax
    movw %ax, lm_results + 20(%rip)
    movq %rsp, %rbx
    .byte 0x6a, 0x00
    movq %rbx, %rcx
    subq %rsp, %rcx
    movl %ecx, lm_results + 24(%rip)        /* push size in 64-bit mode */
    movq %rbx, %rsp
    .byte 0x66, 0x6a, 0x00
    movq %rbx, %rcx
    subq %rsp, %rcx
    movl %ecx, lm_results + 28(%rip)        /* with 66: a word */
    movq %rbx, %rsp
    /* 64-bit arithmetic and a mapping above 4 GiB. */
    movabsq $0x0123456789abcdef, %rax
    addq %rax, %rax
    movq %rax, lm_results + 32(%rip)
    movabsq $0x8000000000, %rax       /* PML4[1] aliases physical 0 */
    movl $alias_word, %ecx
    addq %rcx, %rax
    movl (%rax), %eax
    movl %eax, lm_results + 40(%rip)
    leaq long64(%rip), %rax
    movl $long64, %ecx
    subq %rcx, %rax
    movl %eax, lm_results + 44(%rip)        /* RIP-relative LEA: 0 */
    /* Back to compatibility mode through a far pointer (m16:32). */
    ljmpl *compat_ptr(%rip)

    .code32
compat_back:
    movw %cs, %ax
    movw %ax, lm_results + 48
    movl %esp, %ebx
    .byte 0x6a, 0x00
    movl %ebx, %ecx
    subl %esp, %ecx
    movl %ecx, lm_results + 52
    movl %ebx, %esp
    /* Paging off deactivates long mode (LMA clears, LME stays). */
    movl %cr0, %eax
    andl $0x7fffffff, %eax
    movl %eax, %cr0
    movl $0xc0000080, %ecx
    rdmsr
    movl %eax, lm_results + 56
    andl $~0x100, %eax
    wrmsr
    rdmsr
    movl %eax, lm_results + 60
    movl %cr4, %eax
    andl $~0x20, %eax
    movl %eax, %cr4
    movl %esp, %ebx
    .byte 0x6a, 0x00
    movl %ebx, %ecx
    subl %esp, %ecx
    movl %ecx, lm_results + 64
    movl %ebx, %esp
    movl saved_esp32, %esp
    popal
    ret

    .data
    .balign 8
compat_ptr:
    .long compat_back
    .word 0x08
    .globl alias_word
    .balign 4
alias_word: .long 0x600dcafe

    .bss
    .balign 8
    .globl lm_results
lm_results:   .skip 128
saved_esp32:  .long 0
saved_idtr32: .skip 8

    /* Page tables: identity-map 0-8 MiB with 2 MiB pages. Legacy PAE:
     * PDPT[0] -> pd_low, PDPT[1] -> pd_low again (alias at 1 GiB).
     * 4-level: PML4[0] and PML4[1] -> lm_pdpt -> pd_low (alias at 512 GiB). */
    .balign 4096
    .globl pae_pdpt, lm_pml4, lm_pdpt, pd_low
pd_low:    .skip 4096
lm_pml4:   .skip 4096
lm_pdpt:   .skip 4096
pae_pdpt:  .skip 32
