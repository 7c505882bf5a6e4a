/*
 * TCG system-level CPU tests on a tiny machine (RAM at 0, no board): call
 * gates with privilege changes and parameter copies, hardware task switches
 * (JMP/CALL to a TSS or task gate, IRET with NT, #DF through a task gate),
 * virtual-8086 mode entry by IRET and interrupts out of it, and the TSS I/O
 * permission bitmap, segment checks, debug registers (exact instruction
 * breakpoints, I/O breakpoints), global pages, NMI blocking and faults
 * during external interrupt delivery. Guest snippets are assembled by the
 * host assembler;
 * exceptions end in stubs that leave the vector in EBP, the error code in
 * ESI and halt.
 */
#include "kestrel/osdep.h"
#include "exec/memory.h"
#include "exec/tcg.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "target/i386/tcg/tcg-cpu.h"

#define RAM_SIZE (16u << 20)
#define GDT_ADDR 0x800u
#define IDT_ADDR 0x2000u
#define STUBS_ADDR 0x4000u
#define USER_STACK 0x7000u
#define RING0_STACK 0x9000u
#define CODE_ADDR 0x10000u
#define PT_ADDR 0x20000u
#define TSS_A 0x30000u
#define TSS_B 0x31000u
#define TSS_C 0x32000u
#define DATA_ADDR 0x100000u

/* GDT layout */
#define SEL_CODE64 0x08
#define SEL_CODE32 0x10
#define SEL_DATA 0x18
#define SEL_UCODE32 0x20        /* DPL 3 */
#define SEL_UDATA 0x28          /* DPL 3 */
#define SEL_TSS_A 0x30
#define SEL_GATE32 0x38         /* call gate, DPL 3, 2 parameters -> CODE32:gate_entry */
#define SEL_TSS_B 0x40
#define SEL_TASK_GATE_B 0x48    /* task gate -> TSS B, DPL 3 */
#define SEL_TSS_C 0x50
#define SEL_GATE_DPL0 0x58      /* call gate, DPL 0 */
#define SEL_UCODE64 0x60        /* DPL 3 */
#define SEL_GATE64 0x68         /* 64-bit call gate (16 bytes), DPL 3 */
#define SEL_TSS64 0x78          /* 16 bytes */
#define SEL_SMALL_DATA 0x88     /* base 0x100000, limit 0xfff, byte granular */
#define SEL_RO_DATA 0x90        /* flat, read-only */
#define SEL_XO_CODE 0x98        /* flat, execute-only */
#define SEL_EXPDOWN_U 0xa0      /* DPL 3 expand-down writable, limit 0xfff, B */
#define SEL_CONFORMING 0xa8     /* conforming code, DPL 0 */
#define GDT_LIMIT 0xaf

#define GUEST(name, text)                                                          \
    __asm__(".pushsection .rodata\n.globl " #name "_start, " #name "_end\n"        \
            #name "_start:\n" text "\n" #name "_end:\n.code64\n.popsection\n");    \
    extern const uint8_t name##_start[], name##_end[]

/* Offset of a label inside a snippet. */
#define OFF(label, start) ((uint32_t)(label - start))

/* ---- guest code ---- */

/* Ring 3 calls ring 0 through a 32-bit call gate with two parameters; the
 * handler records what it sees, loads a DPL-0 DS and returns with RETF 8,
 * which must null DS on the way out. */
GUEST(cg32, ".code32\n"
      "  push $0x11111111\n"
      "  push $0x22222222\n"
      "  lcall $0x3b, $0\n"
      "  mov %ds, %eax\n"
      "  mov %esp, %ebx\n"
      "  mov %cs, %ecx\n"
      "  hlt\n"                         /* CPL 3: #GP */
      ".globl cg32_entry\n"
      "cg32_entry:\n"
      "  mov 8(%esp), %eax\n"
      "  mov %eax, 0x100000\n"
      "  mov 12(%esp), %eax\n"
      "  mov %eax, 0x100004\n"
      "  mov 4(%esp), %eax\n"
      "  mov %eax, 0x100008\n"          /* caller CS */
      "  mov 16(%esp), %eax\n"
      "  mov %eax, 0x10000c\n"          /* caller ESP */
      "  mov 20(%esp), %eax\n"
      "  mov %eax, 0x100010\n"          /* caller SS */
      "  mov %esp, 0x100014\n"
      "  mov %cs, %eax\n"
      "  mov %eax, 0x100018\n"
      "  mov %ss, %eax\n"
      "  mov %eax, 0x10001c\n"
      "  mov $0x18, %ax\n"
      "  mov %ax, %ds\n"
      "  lret $8\n");
extern const uint8_t cg32_entry[];

/* A call gate with DPL 0 is not usable from ring 3: #GP(gate selector). */
GUEST(cg_dpl, ".code32\n"
      "  lcall $0x5b, $0\n"
      "  hlt\n");

/* 64-bit call gate from ring 3 to ring 0, back with LRETQ. */
GUEST(cg64, ".code64\n"
      "  mov $0x1234, %r8\n"
      "  lcall *0x100100\n"             /* m16:32 far pointer -> gate 0x6b */
      ".globl cg64_ret\n"
      "cg64_ret:\n"
      "  mov %ss, %eax\n"
      "  mov %rsp, %rbx\n"
      "  mov %cs, %ecx\n"
      "  hlt\n"                         /* CPL 3: #GP */
      ".globl cg64_entry\n"
      "cg64_entry:\n"
      "  mov (%rsp), %rax\n"
      "  mov %rax, 0x100000\n"          /* return RIP */
      "  mov 8(%rsp), %rax\n"
      "  mov %rax, 0x100008\n"          /* caller CS */
      "  mov 16(%rsp), %rax\n"
      "  mov %rax, 0x100010\n"          /* caller RSP */
      "  mov 24(%rsp), %rax\n"
      "  mov %rax, 0x100018\n"          /* caller SS */
      "  mov %ss, %eax\n"
      "  mov %rax, 0x100020\n"
      "  mov %cs, %eax\n"
      "  mov %rax, 0x100028\n"
      "  lretq\n");
extern const uint8_t cg64_entry[], cg64_ret[];

/* Task A calls task B through a task gate; B returns with IRET (NT set). */
GUEST(task_call, ".code32\n"
      "  mov $0x5555, %eax\n"
      "  mov $0x6666, %edx\n"
      "  lcall $0x48, $0\n"
      "  mov %eax, 0x100020\n"
      "  str %ebx\n"
      "  pushf\n"
      "  pop %ecx\n"
      "  hlt\n"
      ".globl task_b_entry\n"
      "task_b_entry:\n"
      "  mov %eax, 0x100000\n"          /* loaded from TSS B */
      "  str %eax\n"
      "  mov %eax, 0x100004\n"
      "  pushf\n"
      "  pop %eax\n"
      "  mov %eax, 0x100008\n"
      "  mov %esp, 0x10000c\n"
      "  iret\n"
      ".globl task_b_after_iret\n"
      "task_b_after_iret:\n"
      "  hlt\n");
extern const uint8_t task_b_entry[], task_b_after_iret[];

GUEST(task_jmp, ".code32\n"
      "  mov $0xabcd, %esi\n"
      "  ljmp $0x40, $0\n"
      ".globl task_jmp_after\n"
      "task_jmp_after:\n"
      "  hlt\n");
extern const uint8_t task_jmp_after[];

/* #DE with a not-present IDT entry 0: #NP while delivering -> #DF, whose
 * IDT entry is a task gate to task C. */
GUEST(task_df, ".code32\n"
      "  xor %ecx, %ecx\n"
      "  mov $1, %eax\n"
      ".globl task_df_div\n"
      "task_df_div:\n"
      "  div %ecx\n"
      "  hlt\n"
      ".globl task_c_entry\n"
      "task_c_entry:\n"
      "  pop %eax\n"                    /* the #DF error code */
      "  mov %eax, 0x100000\n"
      "  str %eax\n"
      "  mov %eax, 0x100004\n"
      "  mov %esp, 0x100008\n"
      "  hlt\n");
extern const uint8_t task_df_div[], task_c_entry[];

/* Enters virtual-8086 mode with IRET; the vm86 code reads its segment
 * registers, then INT 0x21. */
GUEST(vm86, ".code32\n"
      "  pushl $0x3000\n"               /* GS */
      "  pushl $0x2000\n"               /* FS */
      "  pushl $0x1000\n"               /* DS */
      "  pushl $0x0800\n"               /* ES */
      "  pushl $0x0600\n"               /* SS */
      "  pushl $0x0ff0\n"               /* SP */
      "  pushl 0x100100\n"              /* EFLAGS (VM, IOPL from the test) */
      "  pushl $0x1000\n"               /* CS */
      "  pushl $(vm86_code - vm86_start)\n"
      "  iret\n"
      "vm86_code:\n"
      ".code16\n"
      "  mov %cs, %ax\n"
      "  mov %ds, %bx\n"
      "  mov %ss, %cx\n"
      "  movw $0x4242, 0x1000\n"        /* DS:0x1000 = linear 0x11000 */
      "  mov 0x1000, %dx\n"
      "  int $0x21\n"
      "  hlt\n"
      ".code32\n");

/* Ring 3 with IOPL 0: port 0x80 is allowed by the TSS bitmap, 0x81 not. */
GUEST(iobitmap, ".code32\n"
      "  mov $1, %ebx\n"
      "  out %al, $0x80\n"
      "  mov $2, %ebx\n"
      "  in $0x80, %al\n"
      "  mov $3, %ebx\n"
      "  out %ax, $0x80\n"              /* covers 0x81: denied */
      "  mov $4, %ebx\n"
      "  hlt\n");

/* Segment limit and rights checks: EBX counts the steps that completed. */
GUEST(seg_limit, ".code32\n"
      "  mov $0x88, %ax\n"
      "  mov %ax, %ds\n"
      "  xor %ecx, %ecx\n"
      "  mov $1, %ebx\n"
      "  mov 0xffc(%ecx), %eax\n"       /* last dword inside the limit */
      "  mov 0xfff, %al\n"              /* last byte */
      "  mov $2, %ebx\n"
      "  mov 0xffd(%ecx), %eax\n"       /* crosses the limit: #GP(0) */
      "  mov $3, %ebx\n"
      "  hlt\n");

GUEST(seg_limit_moffs, ".code32\n"
      "  mov $0x88, %ax\n"
      "  mov %ax, %ds\n"
      "  mov $1, %ebx\n"
      "  mov 0x1000, %eax\n"            /* beyond the limit: #GP(0) */
      "  mov $2, %ebx\n"
      "  hlt\n");

GUEST(seg_readonly, ".code32\n"
      "  mov $0x90, %ax\n"
      "  mov %ax, %es\n"
      "  mov $1, %ebx\n"
      "  mov %es:0x100000, %eax\n"
      "  mov $2, %ebx\n"
      "  movl $1, %es:0x100000\n"       /* write to a read-only segment */
      "  mov $3, %ebx\n"
      "  hlt\n");

GUEST(seg_null, ".code32\n"
      "  xor %eax, %eax\n"
      "  mov %ax, %fs\n"                /* loading null is fine */
      "  mov $1, %ebx\n"
      "  mov %fs:0x100000, %eax\n"      /* using it is #GP(0) */
      "  mov $2, %ebx\n"
      "  hlt\n");

GUEST(seg_cs_write, ".code32\n"
      "  mov $1, %ebx\n"
      "  mov %cs:0x100000, %eax\n"      /* readable code: fine */
      "  mov $2, %ebx\n"
      "  movl $1, %cs:0x100000\n"       /* never writable */
      "  mov $3, %ebx\n"
      "  hlt\n");

/* Other stores through a CS override: MOV m16, Sreg, SGDT, SMSW, STR. */
GUEST(seg_cs_write_sreg, ".code32\n"
      "  mov $1, %ebx\n"
      "  mov %ds, %cs:0x100000\n"
      "  mov $2, %ebx\n"
      "  hlt\n");
GUEST(seg_cs_write_sgdt, ".code32\n"
      "  mov $1, %ebx\n"
      "  sgdt %cs:0x100000\n"
      "  mov $2, %ebx\n"
      "  hlt\n");
GUEST(seg_cs_write_smsw, ".code32\n"
      "  mov $1, %ebx\n"
      "  smsw %cs:0x100000\n"
      "  mov $2, %ebx\n"
      "  hlt\n");
GUEST(seg_cs_write_str, ".code32\n"
      "  mov $1, %ebx\n"
      "  str %cs:0x100000\n"
      "  mov $2, %ebx\n"
      "  hlt\n");
/* LGDT whose 6-byte operand crosses the segment limit (0xfff): #GP(0)
 * although its first byte is inside. */
GUEST(seg_limit_lgdt, ".code32\n"
      "  mov $0x88, %eax\n"
      "  mov %eax, %ds\n"
      "  mov $1, %ebx\n"
      "  lgdt 0xffc\n"
      "  mov $2, %ebx\n"
      "  hlt\n");

GUEST(seg_xo_read, ".code32\n"
      "  ljmp $0x98, $(0x10000 + 1f - seg_xo_read_start)\n"
      "1: mov $1, %ebx\n"
      "  mov %cs:0x100000, %eax\n"      /* execute-only: #GP(0) */
      "  mov $2, %ebx\n"
      "  hlt\n");

/* Ring 3 on an expand-down stack (valid offsets 0x1000..0xffffffff). */
GUEST(seg_expdown, ".code32\n"
      "  mov $0xa3, %ax\n"
      "  mov %ax, %ss\n"
      "  mov $0x1008, %esp\n"
      "  mov $1, %ebx\n"
      "  push %eax\n"
      "  push %eax\n"                   /* ESP = 0x1000 */
      "  mov $2, %ebx\n"
      "  push %eax\n"                   /* 0xffc is below: #SS(0) */
      "  mov $3, %ebx\n"
      "  hlt\n");

/* MTRRs and PAT as storage, with #GP on reserved values. */
GUEST(msr_mtrr, ".code32\n"
      "  mov $0xfe, %ecx\n"
      "  rdmsr\n"
      "  mov %eax, 0x100000\n"          /* MTRRcap */
      "  mov $0x2ff, %ecx\n"
      "  mov $0xc06, %eax\n"
      "  xor %edx, %edx\n"
      "  wrmsr\n"
      "  rdmsr\n"
      "  mov %eax, 0x100004\n"          /* MTRRdefType */
      "  mov $0x200, %ecx\n"
      "  mov $0x80000006, %eax\n"
      "  wrmsr\n"                       /* PHYSBASE0 */
      "  mov $0x259, %ecx\n"
      "  mov $0x01010101, %eax\n"
      "  mov $0x06060606, %edx\n"
      "  wrmsr\n"                       /* fix16K_A0000 */
      "  mov $1, %ebx\n"
      "  mov $0x277, %ecx\n"
      "  mov $0x00000002, %eax\n"       /* PAT type 2 is reserved */
      "  xor %edx, %edx\n"
      "  wrmsr\n"
      "  mov $2, %ebx\n"
      "  hlt\n");

/* DR6/DR7 fixed bits, then DR7.GD makes the next MOV DR a #DB fault. */
GUEST(dr_gd, ".code32\n"
      "  xor %eax, %eax\n"
      "  mov %eax, %dr6\n"
      "  mov %dr6, %eax\n"
      "  mov %eax, 0x100000\n"
      "  mov %dr7, %eax\n"
      "  mov %eax, 0x100004\n"
      "  mov $0x2000, %eax\n"
      "  mov %eax, %dr7\n"
      "  mov $1, %ebx\n"
      ".globl dr_gd_insn\n"
      "dr_gd_insn:\n"
      "  mov %dr0, %eax\n"
      "  mov $2, %ebx\n"
      "  hlt\n");
extern const uint8_t dr_gd_insn[];

/* ICEBP from ring 3 through a DPL-0 gate: a #DB trap, no DPL check. */
GUEST(icebp, ".code32\n"
      "  .byte 0xf1\n"
      ".globl icebp_after\n"
      "icebp_after:\n"
      "  hlt\n");
extern const uint8_t icebp_after[];

/* INT 1 from ring 3 is checked against the gate DPL: #GP(vector * 8 + 2). */
GUEST(int1_soft, ".code32\n"
      "  int $1\n"
      "  hlt\n");

/* CR4.VME is not advertised: setting it is #GP(0). */
GUEST(cr4_vme, ".code32\n"
      "  mov %cr4, %eax\n"
      "  or $1, %eax\n"
      "  mov $1, %ebx\n"
      "  mov %eax, %cr4\n"
      "  mov $2, %ebx\n"
      "  hlt\n");

/* 64-bit: a load through the address in 0x100100. */
GUEST(load64, ".code64\n"
      "  mov 0x100100, %rax\n"
      "  mov (%rax), %rbx\n"
      "  hlt\n");

/* 64-bit SYSEXIT to a non-canonical RIP is #GP(0). */
GUEST(sysexit64, ".code64\n"
      "  mov $0x800000000000, %rdx\n"
      "  mov $0x1000, %rcx\n"
      "  rex64 sysexit\n"
      "  hlt\n");

/* Ring 0 enables SMEP, then jumps to a user page. */
GUEST(smep, ".code64\n"
      "  mov %cr4, %rax\n"
      "  bts $20, %rax\n"
      "  mov 0x100100, %rbx\n"
      "  test %rbx, %rbx\n"
      "  jz 1f\n"
      "  mov %rax, %cr4\n"
      "1: mov $0x200000, %rax\n"
      "  jmp *%rax\n");

/* A task switch into virtual-8086 mode; CLI there faults with IOPL 0. */
GUEST(task_vm86, ".code32\n"
      "  ljmp $0x40, $0\n"
      ".globl task_vm86_code\n"
      "task_vm86_code:\n"
      ".code16\n"
      "  mov %cs, %ax\n"
      "  mov %ds, %bx\n"
      "  cli\n"
      "  hlt\n"
      ".code32\n");
extern const uint8_t task_vm86_code[];

/* CALL to a 16-bit TSS; the task returns with IRET (NT). */
GUEST(task16, ".code32\n"
      "  mov $0x11112222, %eax\n"
      "  lcall $0x40, $0\n"
      "  mov %eax, 0x100010\n"
      "  hlt\n"
      ".globl task16_entry\n"
      "task16_entry:\n"
      "  mov %eax, 0x100000\n"
      "  iret\n"
      ".globl task16_after_iret\n"
      "task16_after_iret:\n"
      "  hlt\n");
extern const uint8_t task16_entry[], task16_after_iret[];

/* Ring 3: far call into a conforming DPL-0 segment keeps CPL 3; a far jump
 * to non-conforming DPL-0 code is #GP(selector). */
GUEST(conforming, ".code32\n"
      "  lcall $0xab, $(0x10000 + conforming_target - conforming_start)\n"
      "  mov %eax, 0x100000\n"
      "  ljmp $0x10, $0\n"
      "conforming_target:\n"
      "  mov %cs, %eax\n"
      "  lret\n");

/* LAR/LSL/VERR/VERW at ring 3; results and ZF stored at 0x100000+. */
GUEST(lar_lsl, ".code32\n"
      "  mov $0x23, %ecx\n"
      "  lar %ecx, %eax\n"
      "  setz 0x100000\n"
      "  mov %eax, 0x100004\n"
      "  mov $0x18, %ecx\n"             /* DPL 0 data from CPL 3 */
      "  lar %ecx, %eax\n"
      "  setz 0x100008\n"
      "  mov $0x8b, %ecx\n"             /* small data, DPL 0 */
      "  lsl %ecx, %eax\n"
      "  setz 0x100009\n"
      "  mov $0x2b, %ecx\n"
      "  lsl %ecx, %eax\n"
      "  setz 0x10000a\n"
      "  mov %eax, 0x10000c\n"          /* 0xffffffff */
      "  mov $0x9b, %ecx\n"             /* execute-only code (DPL 0, but verr fails anyway) */
      "  verr %cx\n"
      "  setz 0x100010\n"
      "  mov $0x2b, %ecx\n"
      "  verw %cx\n"
      "  setz 0x100011\n"
      "  mov $0x23, %ecx\n"
      "  verr %cx\n"
      "  setz 0x100012\n"
      "  verw %cx\n"
      "  setz 0x100013\n"
      "  mov $0x33, %ecx\n"             /* a TSS: LSL works (DPL 0: not visible) */
      "  lsl %ecx, %eax\n"
      "  setz 0x100014\n"
      "  hlt\n");

/* Ring 3, IOPL 0: POPF silently keeps IF and IOPL; CLI is #GP(0). */
GUEST(popf_iopl, ".code32\n"
      "  pushf\n"
      "  pop %eax\n"
      "  mov %eax, 0x100000\n"
      "  and $~0x200, %eax\n"           /* clear IF */
      "  or $0x3000, %eax\n"            /* IOPL 3 */
      "  or $0x400, %eax\n"             /* DF */
      "  push %eax\n"
      "  popf\n"
      "  pushf\n"
      "  pop %eax\n"
      "  mov %eax, 0x100004\n"
      "  cld\n"
      "  mov $1, %ebx\n"
      "  cli\n"
      "  mov $2, %ebx\n"
      "  hlt\n");

/* 64-bit: non-canonical RSP-based address is #SS(0); R12-based is #GP(0). */
GUEST(noncanon_ss, ".code64\n"
      "  mov $0x8000000000000000, %rdx\n"
      "  cmpl $0, 0x100100\n"
      "  jnz 1f\n"
      "  movzwl (%rsp,%rdx,1), %eax\n"   /* (fast.c specialises 32/64-bit loads) */
      "  hlt\n"
      "1: movzwl (%r12,%rdx,1), %eax\n"
      "  hlt\n");

/* Ring 0 with CR4.SMAP: reads a user page with AC=1 (STAC), then with
 * AC=0 (CLAC): #PF. */
GUEST(smap, ".code64\n"
      "  mov %cr4, %rax\n"
      "  bts $21, %rax\n"
      "  mov %rax, %cr4\n"
      "  mov $0x200000, %rsi\n"
      "  stac\n"
      "  mov (%rsi), %rbx\n"          /* allowed */
      "  clac\n"
      "  mov $1, %ecx\n"
      "  mov (%rsi), %rbx\n"          /* SMAP violation */
      "  mov $2, %ecx\n"
      "  hlt\n");

/* A write data breakpoint on 0x100040..43: reads do not trigger it; the
 * overlapping store traps after it completes. */
GUEST(data_bp, ".code32\n"
      "  mov $0x100040, %eax\n"
      "  mov %eax, %dr0\n"
      "  mov $0x000d0001, %eax\n"      /* L0, R/W0 = write, LEN0 = 4 bytes */
      "  mov %eax, %dr7\n"
      "  mov 0x100040, %ecx\n"         /* a read: no trap */
      "  movl $7, 0x100000\n"          /* elsewhere: no trap */
      "  mov $1, %ebx\n"
      "  movw $5, 0x100042\n"
      ".globl data_bp_after\n"
      "data_bp_after:\n"
      "  mov $2, %ebx\n"
      "  hlt\n");
extern const uint8_t data_bp_after[];

/* An instruction breakpoint on a call target: #DB fault before it runs. */
GUEST(exec_bp, ".code32\n"
      "  mov $(0x10000 + exec_bp_fn - exec_bp_start), %eax\n"
      "  mov %eax, %dr1\n"
      "  mov $0x4, %eax\n"              /* L1, R/W1 = execute */
      "  mov %eax, %dr7\n"
      "  mov $1, %ebx\n"
      "  call exec_bp_fn\n"
      "  hlt\n"
      ".globl exec_bp_fn\n"
      "exec_bp_fn:\n"
      "  mov $2, %ebx\n"
      "  ret\n");
extern const uint8_t exec_bp_fn[];

/* An instruction breakpoint in the middle of a loop body (mid-block, and
 * reached again through the loop's backward jump). */
GUEST(exec_bp_mid, ".code32\n"
      "  mov $(0x10000 + exec_bp_mid_at - exec_bp_mid_start), %eax\n"
      "  mov %eax, %dr2\n"
      "  mov $0x10, %eax\n"             /* L2, R/W2 = execute */
      "  mov %eax, %dr7\n"
      "  xor %ecx, %ecx\n"
      "  xor %edx, %edx\n"
      "  mov $1, %ebx\n"
      "1:\n"
      "  inc %ecx\n"
      ".globl exec_bp_mid_at\n"
      "exec_bp_mid_at:\n"
      "  add $1, %edx\n"
      "  cmp $3, %ecx\n"
      "  jne 1b\n"
      "  mov $2, %ebx\n"
      "  hlt\n");
extern const uint8_t exec_bp_mid_at[];

/* An I/O breakpoint (CR4.DE, DR7 R/W3 = 10) on port 0x80: OUT to port
 * 0x84 does not trigger it; OUT to 0x80 traps after it completes. */
GUEST(io_bp, ".code32\n"
      "  mov %cr4, %eax\n"
      "  or $0x8, %eax\n"               /* CR4.DE */
      "  mov %eax, %cr4\n"
      "  mov $0x80, %eax\n"
      "  mov %eax, %dr3\n"
      "  mov $0x20000040, %eax\n"       /* L3, R/W3 = I/O, LEN3 = 1 byte */
      "  mov %eax, %dr7\n"
      "  mov $1, %ebx\n"
      "  out %al, $0x84\n"
      "  mov $2, %ebx\n"
      "  out %al, $0x80\n"
      ".globl io_bp_after\n"
      "io_bp_after:\n"
      "  mov $3, %ebx\n"
      "  hlt\n");
extern const uint8_t io_bp_after[];

/* Global pages (CR4.PGE, PDE.G on a 2 MiB page at 0xa00000; 0xc00000 is
 * not global; accesses at 0xa01000 and 0xc02000): after both are remapped to 0xe00000 in memory, a CR3 write
 * keeps the stale global translation, INVLPG and a CR4.PGE toggle drop it. */
GUEST(global_pages, ".code64\n"
      "  mov 0xa01000, %rax\n"
      "  mov 0xc02000, %rbx\n"
      "  movq $0xe00183, 0x22028\n"     /* PD[5] -> 0xe00000, G */
      "  movq $0xe00083, 0x22030\n"     /* PD[6] -> 0xe00000 */
      "  mov %cr3, %rcx\n"
      "  mov %rcx, %cr3\n"
      "  mov 0xa01000, %rdx\n"          /* still the old global page */
      "  mov 0xc02000, %rsi\n"          /* the new mapping */
      "  invlpg 0xa01000\n"
      "  mov 0xa01000, %rdi\n"          /* the new mapping */
      "  movq $0xa00183, 0x22028\n"
      "  invlpg 0xa01000\n"
      "  mov 0xa01000, %r8\n"           /* back to the old page, cached */
      "  movq $0xe00183, 0x22028\n"
      "  mov %cr4, %rax\n"
      "  btr $7, %rax\n"
      "  mov %rax, %cr4\n"
      "  bts $7, %rax\n"
      "  mov %rax, %cr4\n"
      "  mov 0xa01000, %r9\n"           /* the new mapping */
      "  mov %cr3, %rcx\n"
      "  mov %rcx, %cr3\n"
      "  mov 0xa01000, %r10\n"          /* filled with PGE: kept */
      "  hlt\n");

/* NMI blocking: the NMI handler counts in ECX and halts; a second NMI
 * must wait for its IRET. The main loop is bounded (EBX = 2 at its end). */
GUEST(nmi_block, ".code32\n"
      "  mov $1, %ebx\n"
      "  mov $200000, %eax\n"
      "1: dec %eax\n"
      "  jnz 1b\n"
      "  mov $2, %ebx\n"
      "  hlt\n"
      ".globl nmi_block_handler\n"
      "nmi_block_handler:\n"
      "  inc %ecx\n"
      "  hlt\n"
      "  inc %edx\n"
      "  iret\n");
extern const uint8_t nmi_block_handler[];

/* An external interrupt on vector 13 whose IDT gate is not present. */
GUEST(ext_np, ".code32\n"
      "  mov $1, %ebx\n"
      "  hlt\n");

/* The same in 64-bit code (where blocks may be compiled and chained). */
GUEST(exec_bp_mid64, ".code64\n"
      "  mov $(0x10000 + exec_bp_mid64_at - exec_bp_mid64_start), %eax\n"
      "  mov %rax, %dr2\n"
      "  mov $0x10, %eax\n"             /* L2, R/W2 = execute */
      "  mov %rax, %dr7\n"
      "  xor %ecx, %ecx\n"
      "  xor %edx, %edx\n"
      "  mov $1, %ebx\n"
      "1:\n"
      "  inc %ecx\n"
      ".globl exec_bp_mid64_at\n"
      "exec_bp_mid64_at:\n"
      "  add $1, %edx\n"
      "  cmp $3, %ecx\n"
      "  jne 1b\n"
      "  mov $2, %ebx\n"
      "  hlt\n");
extern const uint8_t exec_bp_mid64_at[];

/* ---- the machine ---- */

static MemoryRegion ram;
static uint8_t *ram_host;
static CPUState *cpu;
static CPUX86State *env;

static void wr(hwaddr addr, const void *buf, size_t len)
{
    g_assert_cmpint(address_space_write(&address_space_memory, addr, buf, len), ==, MEMTX_OK);
}

static void wr64(hwaddr addr, uint64_t v)
{
    wr(addr, &v, 8);
}

static void wr32(hwaddr addr, uint32_t v)
{
    wr(addr, &v, 4);
}

static void wr16(hwaddr addr, uint16_t v)
{
    wr(addr, &v, 2);
}

static uint32_t rd32(hwaddr addr)
{
    uint32_t v;
    memcpy(&v, ram_host + addr, 4);
    return v;
}

static uint64_t rd64(hwaddr addr)
{
    uint64_t v;
    memcpy(&v, ram_host + addr, 8);
    return v;
}

static bool vector_has_error_code(unsigned v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

static uint32_t stub_addr(unsigned v)
{
    return STUBS_ADDR + v * 16;
}

/* "mov $v, %ebp; [pop %esi;] jmp common"; common: "mov %cr2, %edi; hlt". */
static void build_stubs(void)
{
    uint32_t common = STUBS_ADDR + 256 * 16;
    static const uint8_t common_code[] = { 0x0f, 0x20, 0xd7, 0xf4 };
    wr(common, common_code, sizeof(common_code));
    for (unsigned v = 0; v < 256; v++) {
        uint8_t s[16];
        unsigned n = 0;
        int32_t rel;
        s[n++] = 0xbd;
        memcpy(&s[n], &v, 4);
        n += 4;
        if (vector_has_error_code(v)) {
            s[n++] = 0x5e;
        }
        s[n++] = 0xe9;
        rel = (int32_t)(common - (stub_addr(v) + n + 4));
        memcpy(&s[n], &rel, 4);
        n += 4;
        wr(stub_addr(v), s, n);
    }
}

/* A segment descriptor from base, 20-bit limit and the attribute bits of
 * the high dword (type at 8, S, DPL, P, AVL, L, D/B, G). */
static uint64_t seg_desc(uint32_t base, uint32_t limit, uint32_t attrs)
{
    uint32_t lo = (base << 16) | (limit & 0xffff);
    uint32_t hi = (base & 0xff000000) | ((base >> 16) & 0xff) | (limit & 0x000f0000) | attrs;
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t gate_desc(uint16_t sel, uint32_t offset, unsigned type, unsigned dpl,
                          unsigned params)
{
    uint32_t lo = ((uint32_t)sel << 16) | (offset & 0xffff);
    uint32_t hi = (offset & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8) | params;
    return ((uint64_t)hi << 32) | lo;
}

#define A_CODE32(dpl) (0x00c09a00u | ((dpl) << 13))
#define A_DATA32(dpl) (0x00c09200u | ((dpl) << 13))
#define A_CODE64(dpl) (0x00a09a00u | ((dpl) << 13))
#define A_TSS32 0x00008900u         /* available 32-bit TSS, P */

static void build_gdt(void)
{
    for (unsigned off = 0; off <= GDT_LIMIT; off += 8) {
        wr64(GDT_ADDR + off, 0);
    }
    wr64(GDT_ADDR + SEL_CODE64, seg_desc(0, 0xfffff, A_CODE64(0)));
    wr64(GDT_ADDR + SEL_CODE32, seg_desc(0, 0xfffff, A_CODE32(0)));
    wr64(GDT_ADDR + SEL_DATA, seg_desc(0, 0xfffff, A_DATA32(0)));
    wr64(GDT_ADDR + SEL_UCODE32, seg_desc(0, 0xfffff, A_CODE32(3)));
    wr64(GDT_ADDR + SEL_UDATA, seg_desc(0, 0xfffff, A_DATA32(3)));
    wr64(GDT_ADDR + SEL_TSS_A, seg_desc(TSS_A, 0x67 + 0x2000 / 8 + 1, A_TSS32));
    wr64(GDT_ADDR + SEL_TSS_B, seg_desc(TSS_B, 0x67, A_TSS32));
    wr64(GDT_ADDR + SEL_TASK_GATE_B, gate_desc(SEL_TSS_B, 0, 5, 3, 0));
    wr64(GDT_ADDR + SEL_TSS_C, seg_desc(TSS_C, 0x67, A_TSS32));
    wr64(GDT_ADDR + SEL_UCODE64, seg_desc(0, 0xfffff, A_CODE64(3)));
    wr64(GDT_ADDR + SEL_SMALL_DATA, seg_desc(DATA_ADDR, 0xfff, 0x00409200));
    wr64(GDT_ADDR + SEL_RO_DATA, seg_desc(0, 0xfffff, 0x00cf9000));
    wr64(GDT_ADDR + SEL_XO_CODE, seg_desc(0, 0xfffff, 0x00cf9800));
    wr64(GDT_ADDR + SEL_EXPDOWN_U, seg_desc(0, 0xfff, 0x0040f600));
    wr64(GDT_ADDR + SEL_CONFORMING, seg_desc(0, 0xfffff, 0x00cf9e00));
}

static void build_idt32(void)
{
    for (unsigned v = 0; v < 256; v++) {
        wr64(IDT_ADDR + v * 8, gate_desc(SEL_CODE32, stub_addr(v), 0xe, v >= 0x20 ? 3 : 0, 0));
    }
}

/* Loads TR (busy) from a GDT TSS descriptor, as LTR would. */
static void load_tr(uint16_t sel)
{
    uint64_t d = rd64(GDT_ADDR + sel) | (2ull << 40);
    wr64(GDT_ADDR + sel, d);
    segcache_from_desc(&env->tr, sel, (uint32_t)d, (uint32_t)(d >> 32));
    if (env->efer & EFER_LMA) {
        env->tr.base |= (uint64_t)rd32(GDT_ADDR + sel + 8) << 32;
    }
}

static void load_seg_cache(unsigned seg, uint16_t sel)
{
    uint64_t d = rd64(GDT_ADDR + (sel & ~7u));
    segcache_from_desc(&env->segs[seg], sel, (uint32_t)d, (uint32_t)(d >> 32) | DESC_A_MASK);
}

static void load_code(const uint8_t *start, const uint8_t *end)
{
    wr(CODE_ADDR, start, (size_t)(end - start));
}

/* Flat 32-bit ring 0 with the GDT and IDT above and TSS A loaded (its
 * ring-0 stack is SEL_DATA:RING0_STACK, its I/O bitmap at +0x68). */
static void reset_pm32(const uint8_t *start, const uint8_t *end)
{
    x86_cpu_reset(env);
    x86_cpu_set_flat_protected_mode(env, CODE_ADDR);
    build_gdt();
    build_idt32();
    env->gdt.base = GDT_ADDR;
    env->gdt.limit = GDT_LIMIT;
    env->idt.base = IDT_ADDR;
    env->idt.limit = 256 * 8 - 1;
    for (unsigned k = 0; k < 0x68 + 0x2000 / 8 + 2; k += 4) {
        wr32(TSS_A + k, 0);
        wr32(TSS_B + k, 0);
        wr32(TSS_C + k, 0);
    }
    wr32(TSS_A + 4, RING0_STACK);
    wr32(TSS_A + 8, SEL_DATA);
    wr16(TSS_A + 0x66, 0x68);
    for (unsigned k = 0; k < 0x2000 / 8 + 1; k++) {
        ram_host[TSS_A + 0x68 + k] = 0xff;
    }
    ram_host[TSS_A + 0x68 + 0x80 / 8] = 0xfe;   /* port 0x80 only */
    load_seg_cache(R_CS, SEL_CODE32);
    for (unsigned s = R_ES; s <= R_GS; s++) {
        if (s != R_CS) {
            load_seg_cache(s, SEL_DATA);
        }
    }
    load_tr(SEL_TSS_A);
    env->regs[R_ESP] = RING0_STACK - 0x800;
    load_code(start, end);
    tlb_flush(tcg_cpu(cpu));
    tcg_cpu(cpu)->reset_pending = false;
}

/* Continues the current state at ring 3 (flat 32-bit user segments). */
static void enter_ring3_32(uint32_t eip)
{
    load_seg_cache(R_CS, SEL_UCODE32 | 3);
    for (unsigned s = R_ES; s <= R_GS; s++) {
        if (s != R_CS) {
            load_seg_cache(s, SEL_UDATA | 3);
        }
    }
    env->regs[R_ESP] = USER_STACK;
    env->rip = eip;
}

/* A 32-bit TSS whose task starts at eip in flat ring 0 with EAX = eax. */
static void build_task32(uint32_t tss, uint32_t eip, uint32_t esp, uint32_t eax)
{
    wr32(tss + 0x20, eip);
    wr32(tss + 0x24, 0x2);
    wr32(tss + 0x28, eax);
    wr32(tss + 0x38, esp);
    for (unsigned s = 0; s < 6; s++) {
        wr16(tss + 0x48 + s * 4, s == R_CS ? SEL_CODE32 : SEL_DATA);
    }
}

static int run(void)
{
    for (int k = 0; k < 100; k++) {
        int r = tcg_exec_vcpu(cpu);
        if (r != VCPU_EXIT_KICK || tcg_cpu(cpu)->reset_pending) {
            return r;
        }
    }
    g_assert_not_reached();
}

static uint32_t tss_type(uint16_t sel)
{
    return (rd32(GDT_ADDR + sel + 4) >> 8) & 0x1f;
}

/* ---- tests ---- */

static void test_call_gate32(void)
{
    reset_pm32(cg32_start, cg32_end);
    wr64(GDT_ADDR + SEL_GATE32,
         gate_desc(SEL_CODE32, CODE_ADDR + OFF(cg32_entry, cg32_start), 0xc, 3, 2));
    enter_ring3_32(CODE_ADDR);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    /* The parameters were copied in order onto the ring-0 stack. */
    g_assert_cmphex(rd32(DATA_ADDR + 0x00), ==, 0x22222222);
    g_assert_cmphex(rd32(DATA_ADDR + 0x04), ==, 0x11111111);
    g_assert_cmphex(rd32(DATA_ADDR + 0x08), ==, SEL_UCODE32 | 3);
    g_assert_cmphex(rd32(DATA_ADDR + 0x0c), ==, USER_STACK - 8);
    g_assert_cmphex(rd32(DATA_ADDR + 0x10), ==, SEL_UDATA | 3);
    g_assert_cmphex(rd32(DATA_ADDR + 0x14), ==, RING0_STACK - 24);
    g_assert_cmphex(rd32(DATA_ADDR + 0x18) & 0xffff, ==, SEL_CODE32);
    g_assert_cmphex(rd32(DATA_ADDR + 0x1c) & 0xffff, ==, SEL_DATA);
    /* Back in ring 3: DS (DPL 0) was nulled, RETF 8 dropped the parameters,
     * and the final HLT faulted. */
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_EAX] & 0xffff, ==, 0);
    g_assert_cmphex(env->regs[R_EBX], ==, USER_STACK);
    g_assert_cmphex(env->regs[R_ECX] & 0xffff, ==, SEL_UCODE32 | 3);
}

static void test_call_gate_dpl(void)
{
    reset_pm32(cg_dpl_start, cg_dpl_end);
    wr64(GDT_ADDR + SEL_GATE_DPL0, gate_desc(SEL_CODE32, CODE_ADDR, 0xc, 0, 0));
    enter_ring3_32(CODE_ADDR);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_ESI], ==, SEL_GATE_DPL0);
    g_assert_cmphex(rd32(RING0_STACK - 20), ==, CODE_ADDR);     /* faulting EIP */
}

static void test_call_gate64(void)
{
    uint32_t entry = CODE_ADDR + OFF(cg64_entry, cg64_start);
    reset_pm32(cg64_start, cg64_end);
    /* Long mode: identity-mapped first GiB (user), 64-bit IDT not needed. */
    wr64(PT_ADDR, (PT_ADDR + 0x1000) | 7);
    wr64(PT_ADDR + 0x1000, (PT_ADDR + 0x2000) | 7);
    for (uint64_t i = 0; i < 512; i++) {
        wr64(PT_ADDR + 0x2000 + i * 8, (i << 21) | 0x87);
    }
    wr64(GDT_ADDR + SEL_GATE64, gate_desc(SEL_CODE64, entry, 0xc, 3, 0));
    wr64(GDT_ADDR + SEL_GATE64 + 8, 0);
    wr64(GDT_ADDR + SEL_TSS64, seg_desc(TSS_B, 0x67, A_TSS32));
    wr64(GDT_ADDR + SEL_TSS64 + 8, 0);
    wr64(TSS_B + 4, 0x180000);                  /* RSP0 */
    wr32(DATA_ADDR + 0x100, 0);
    wr16(DATA_ADDR + 0x104, SEL_GATE64 | 3);
    for (unsigned v = 0; v < 256; v++) {
        wr64(IDT_ADDR + v * 16, gate_desc(SEL_CODE64, stub_addr(v), 0xe, 0, 0));
        wr64(IDT_ADDR + v * 16 + 8, 0);
    }
    env->idt.limit = 256 * 16 - 1;
    env->cr[4] |= CR4_PAE;
    env->cr[3] = PT_ADDR;
    env->efer = EFER_LME | EFER_LMA;
    env->cr[0] |= CR0_PG;
    load_tr(SEL_TSS64);
    load_seg_cache(R_CS, SEL_UCODE64 | 3);
    load_seg_cache(R_SS, SEL_UDATA | 3);
    env->regs[R_ESP] = 0x170000;
    env->rip = CODE_ADDR;
    tlb_flush(tcg_cpu(cpu));
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(rd64(DATA_ADDR + 0x00), ==, CODE_ADDR + OFF(cg64_ret, cg64_start));
    g_assert_cmphex(rd64(DATA_ADDR + 0x08), ==, SEL_UCODE64 | 3);
    g_assert_cmphex(rd64(DATA_ADDR + 0x10), ==, 0x170000);
    g_assert_cmphex(rd64(DATA_ADDR + 0x18), ==, SEL_UDATA | 3);
    g_assert_cmphex(rd64(DATA_ADDR + 0x20), ==, 0);              /* null SS, RPL 0 */
    g_assert_cmphex(rd64(DATA_ADDR + 0x28), ==, SEL_CODE64);
    /* LRETQ went back to ring 3 with the old stack; HLT faulted there. */
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_EAX] & 0xffff, ==, SEL_UDATA | 3);
    g_assert_cmphex(env->regs[R_EBX], ==, 0x170000);
    g_assert_cmphex(env->regs[R_ECX] & 0xffff, ==, SEL_UCODE64 | 3);
}

static void test_task_call_iret(void)
{
    uint32_t b_entry = CODE_ADDR + OFF(task_b_entry, task_call_start);
    reset_pm32(task_call_start, task_call_end);
    build_task32(TSS_B, b_entry, 0x60000, 0x1234);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    /* Task B ran with its own registers and NT set, TR = B. */
    g_assert_cmphex(rd32(DATA_ADDR + 0x00), ==, 0x1234);
    g_assert_cmphex(rd32(DATA_ADDR + 0x04) & 0xffff, ==, SEL_TSS_B);
    g_assert_cmphex(rd32(DATA_ADDR + 0x08) & NT_MASK, ==, NT_MASK);
    g_assert_cmphex(rd32(DATA_ADDR + 0x0c), ==, 0x60000);
    g_assert_cmphex(rd32(TSS_B), ==, SEL_TSS_A);                 /* back link */
    /* IRET returned to A: registers restored from TSS A, NT clear. */
    g_assert_false(env->halted && env->regs[R_EBP] == 13);
    g_assert_cmphex(rd32(DATA_ADDR + 0x20), ==, 0x5555);
    g_assert_cmphex(env->regs[R_EDX], ==, 0x6666);
    g_assert_cmphex(env->regs[R_EBX] & 0xffff, ==, SEL_TSS_A);
    g_assert_cmphex(env->regs[R_ECX] & NT_MASK, ==, 0);
    g_assert_cmphex(env->tr.selector, ==, SEL_TSS_A);
    g_assert_cmphex(tss_type(SEL_TSS_A), ==, 0x0b);
    g_assert_cmphex(tss_type(SEL_TSS_B), ==, 0x09);
    /* B's state was saved at its IRET: EIP after it, ESP, NT cleared. */
    g_assert_cmphex(rd32(TSS_B + 0x20), ==, CODE_ADDR + OFF(task_b_after_iret, task_call_start));
    g_assert_cmphex(rd32(TSS_B + 0x24) & NT_MASK, ==, 0);
    g_assert_true(env->cr[0] & CR0_TS);
}

static void test_task_jmp(void)
{
    reset_pm32(task_jmp_start, task_jmp_end);
    /* Task B starts at the HLT of this snippet. */
    build_task32(TSS_B, CODE_ADDR + OFF(task_jmp_after, task_jmp_start), 0x60000, 0x99);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->tr.selector, ==, SEL_TSS_B);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x99);
    g_assert_cmphex(env->regs[R_ESI], ==, 0);
    g_assert_cmphex(tss_type(SEL_TSS_A), ==, 0x09);   /* JMP: old task not busy */
    g_assert_cmphex(tss_type(SEL_TSS_B), ==, 0x0b);
    g_assert_cmphex(rd32(TSS_B), ==, 0);                /* no back link */
    g_assert_cmphex(x86_cpu_get_eflags(env) & NT_MASK, ==, 0);
    /* A's state: EIP after the JMP, ESI. */
    g_assert_cmphex(rd32(TSS_A + 0x20), ==, CODE_ADDR + OFF(task_jmp_after, task_jmp_start));
    g_assert_cmphex(rd32(TSS_A + 0x28 + 6 * 4), ==, 0xabcd);

    /* A second JMP to the now busy B is #GP(B). */
    env->halted = false;
    env->rip = CODE_ADDR + 5;
    load_seg_cache(R_CS, SEL_CODE32);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_ESI], ==, SEL_TSS_B);
}

static void test_task_trap_bit(void)
{
    uint32_t entry = CODE_ADDR + OFF(task_jmp_after, task_jmp_start);
    reset_pm32(task_jmp_start, task_jmp_end);
    build_task32(TSS_B, entry, 0x60000, 0x99);
    wr16(TSS_B + 0x64, 1);                              /* T */
    env->dr[6] = 0xffff0ff0;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    /* #DB in task B before its first instruction, DR6.BT set. */
    g_assert_cmphex(env->regs[R_EBP], ==, 1);
    g_assert_cmphex(env->tr.selector, ==, SEL_TSS_B);
    g_assert_cmphex(env->dr[6] & (1u << 15), ==, 1u << 15);
    g_assert_cmphex(rd32(0x60000 - 12), ==, entry);
}

static void test_double_fault_task_gate(void)
{
    reset_pm32(task_df_start, task_df_end);
    build_task32(TSS_C, CODE_ADDR + OFF(task_c_entry, task_df_start), 0x50000, 0);
    wr64(IDT_ADDR + 0 * 8, 0);                          /* #DE: not present */
    wr64(IDT_ADDR + 8 * 8, gate_desc(SEL_TSS_C, 0, 5, 0, 0));
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(rd32(DATA_ADDR + 0x00), ==, 0);      /* error code */
    g_assert_cmphex(rd32(DATA_ADDR + 0x04) & 0xffff, ==, SEL_TSS_C);
    g_assert_cmphex(rd32(DATA_ADDR + 0x08), ==, 0x50000);
    g_assert_cmphex(rd32(TSS_C), ==, SEL_TSS_A);
    /* The faulting DIV is the EIP saved in A. */
    g_assert_cmphex(rd32(TSS_A + 0x20), ==, CODE_ADDR + OFF(task_df_div, task_df_start));
    g_assert_cmphex(tss_type(SEL_TSS_A), ==, 0x0b);
    g_assert_cmphex(tss_type(SEL_TSS_C), ==, 0x0b);
}

static void test_vm86(unsigned iopl)
{
    reset_pm32(vm86_start, vm86_end);
    wr32(DATA_ADDR + 0x100, VM_MASK | (iopl << 12) | 2);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX] & 0xffff, ==, 0x1000);
    g_assert_cmphex(env->regs[R_EBX] & 0xffff, ==, 0x1000);
    g_assert_cmphex(env->regs[R_ECX] & 0xffff, ==, 0x0600);
    g_assert_cmphex(env->regs[R_EDX] & 0xffff, ==, 0x4242);
    g_assert_cmphex(rd32(0x11000) & 0xffff, ==, 0x4242);
    /* INT 0x21 is #GP(0) with IOPL < 3, through the gate with IOPL 3. */
    g_assert_cmphex(env->regs[R_EBP], ==, iopl == 3 ? 0x21 : 13);
    /* The ring-0 frame: [error code,] EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS. */
    g_assert_cmphex(rd32(RING0_STACK - 4), ==, 0x3000);
    g_assert_cmphex(rd32(RING0_STACK - 8), ==, 0x2000);
    g_assert_cmphex(rd32(RING0_STACK - 12), ==, 0x1000);
    g_assert_cmphex(rd32(RING0_STACK - 16), ==, 0x0800);
    g_assert_cmphex(rd32(RING0_STACK - 20), ==, 0x0600);
    g_assert_cmphex(rd32(RING0_STACK - 24), ==, 0x0ff0);
    g_assert_cmphex(rd32(RING0_STACK - 28) & (VM_MASK | IOPL_MASK), ==, VM_MASK | (iopl << 12));
    g_assert_cmphex(rd32(RING0_STACK - 32), ==, 0x1000);
    g_assert_false(env->eflags & VM_MASK);
    g_assert_cmphex(env->segs[R_CS].selector, ==, SEL_CODE32);
    g_assert_cmphex(env->segs[R_SS].selector, ==, SEL_DATA);
    g_assert_cmphex(env->segs[R_DS].selector, ==, 0);
    g_assert_cmphex(env->segs[R_ES].selector, ==, 0);
    g_assert_cmphex(env->segs[R_FS].selector, ==, 0);
    g_assert_cmphex(env->segs[R_GS].selector, ==, 0);
    if (iopl == 3) {
        g_assert_cmphex(env->regs[R_ESP], ==, RING0_STACK - 36);
    } else {
        g_assert_cmphex(env->regs[R_ESI], ==, 0);
        g_assert_cmphex(env->regs[R_ESP], ==, RING0_STACK - 36);
    }
}

static void test_vm86_iopl0(void)
{
    test_vm86(0);
}

static void test_vm86_iopl3(void)
{
    test_vm86(3);
}

static void test_io_bitmap(void)
{
    reset_pm32(iobitmap_start, iobitmap_end);
    enter_ring3_32(CODE_ADDR);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_EBX], ==, 3);
    g_assert_cmphex(env->regs[R_ESI], ==, 0);
}

/* Long mode at ring 0: identity map of the first GiB with 2 MiB pages
 * (user), 64-bit IDT to the stubs, 64-bit TSS at SEL_TSS64 (RSP0 0x180000). */
static void enter_long_mode(void)
{
    for (uint64_t i = 0; i < 512; i++) {
        wr64(PT_ADDR + 0x2000 + i * 8, (i << 21) | 0x87);
    }
    wr64(PT_ADDR, (PT_ADDR + 0x1000) | 7);
    for (uint64_t i = 0; i < 512; i++) {
        wr64(PT_ADDR + 0x1000 + i * 8, 0);
    }
    wr64(PT_ADDR + 0x1000, (PT_ADDR + 0x2000) | 7);
    for (unsigned v = 0; v < 256; v++) {
        wr64(IDT_ADDR + v * 16, gate_desc(SEL_CODE64, stub_addr(v), 0xe, 0, 0));
        wr64(IDT_ADDR + v * 16 + 8, 0);
    }
    env->idt.limit = 256 * 16 - 1;
    wr64(GDT_ADDR + SEL_TSS64, seg_desc(TSS_B, 0x67, A_TSS32));
    wr64(GDT_ADDR + SEL_TSS64 + 8, 0);
    wr64(TSS_B + 4, 0x180000);
    env->cr[4] |= CR4_PAE;
    env->cr[3] = PT_ADDR;
    env->efer = EFER_LME | EFER_LMA;
    env->cr[0] |= CR0_PG;
    load_tr(SEL_TSS64);
    load_seg_cache(R_CS, SEL_CODE64);
    env->regs[R_ESP] = 0x190000;
    env->rip = CODE_ADDR;
    tlb_flush(tcg_cpu(cpu));
}

static void test_mtrr_pat(void)
{
    reset_pm32(msr_mtrr_start, msr_mtrr_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(rd32(DATA_ADDR), ==, 0x508);
    g_assert_cmphex(rd32(DATA_ADDR + 4), ==, 0xc06);
    g_assert_cmphex(env->mtrr_var[0], ==, 0x80000006);
    g_assert_cmphex(env->mtrr_fixed[2], ==, 0x0606060601010101ull);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_EBX], ==, 1);
    g_assert_cmphex(env->pat, ==, 0x0007040600070406ull);
}

static void test_debug_gd(void)
{
    reset_pm32(dr_gd_start, dr_gd_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(rd32(DATA_ADDR), ==, 0xffff0ff0);
    g_assert_cmphex(rd32(DATA_ADDR + 4), ==, 0x400);
    g_assert_cmphex(env->regs[R_EBP], ==, 1);
    g_assert_cmphex(env->regs[R_EBX], ==, 1);
    g_assert_cmphex(env->dr[6] & (1u << 13), ==, 1u << 13);      /* BD */
    g_assert_cmphex(env->dr[7] & (1u << 13), ==, 0);             /* GD cleared */
    /* A fault: the saved EIP is the MOV DR itself. */
    g_assert_cmphex(rd32(RING0_STACK - 0x800 - 12), ==, CODE_ADDR + OFF(dr_gd_insn, dr_gd_start));
}

static void test_icebp(void)
{
    reset_pm32(icebp_start, icebp_end);
    enter_ring3_32(CODE_ADDR);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 1);
    g_assert_cmphex(rd32(RING0_STACK - 20), ==, CODE_ADDR + OFF(icebp_after, icebp_start));
    g_assert_cmphex(rd32(RING0_STACK - 16), ==, SEL_UCODE32 | 3);

    reset_pm32(int1_soft_start, int1_soft_end);
    enter_ring3_32(CODE_ADDR);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_ESI], ==, 1 * 8 + 2);
    /* The #GP frame of a fault carries RF in the saved EFLAGS. */
    g_assert_cmphex(rd32(RING0_STACK - 12) & RF_MASK, ==, RF_MASK);
}

static void test_cr4_unsupported(void)
{
    reset_pm32(cr4_vme_start, cr4_vme_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_EBX], ==, 1);
    g_assert_cmphex(env->cr[4] & CR4_VME, ==, 0);
}

/* Loads from `addr` after patching one paging-structure entry; returns the
 * vector, with the error code and CR2 in *err and *cr2. */
static uint32_t load64_fault(uint64_t addr, hwaddr entry, uint64_t value, uint32_t *err,
                             uint64_t *cr2)
{
    reset_pm32(load64_start, load64_end);
    enter_long_mode();
    wr64(entry, value);
    wr64(DATA_ADDR + 0x100, addr);
    env->regs[R_EBP] = 0xffff;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    *err = (uint32_t)env->regs[R_ESI];
    *cr2 = env->regs[R_EDI];
    return (uint32_t)env->regs[R_EBP];
}

static void test_reserved_bits(void)
{
    uint32_t err;
    uint64_t cr2;

    /* Baseline: a plain 2 MiB page loads fine. */
    g_assert_cmphex(load64_fault(0x400000, PT_ADDR + 0x2000 + 2 * 8, 0x400087, &err, &cr2),
                    ==, 0xffff);
    /* Bits 20:13 of a 2 MiB PDE are reserved. */
    g_assert_cmphex(load64_fault(0x400000, PT_ADDR + 0x2000 + 2 * 8, 0x402087, &err, &cr2),
                    ==, 14);
    g_assert_cmphex(err, ==, 0x9);
    g_assert_cmphex(cr2, ==, 0x400000);
    /* Address bits above MAXPHYADDR (40) are reserved. */
    g_assert_cmphex(load64_fault(0x400010, PT_ADDR + 0x2000 + 2 * 8, (1ull << 45) | 0x400087,
                                 &err, &cr2), ==, 14);
    g_assert_cmphex(err, ==, 0x9);
    g_assert_cmphex(cr2, ==, 0x400010);
    /* "max" advertises 1 GiB pages: PS in a PDPTE maps one, with bits
     * 29:13 reserved. */
    g_assert_cmphex(load64_fault(0x40000008, PT_ADDR + 0x1000 + 8, 0x40000087, &err, &cr2),
                    ==, 0xffff);
    g_assert_cmphex(load64_fault(0x40000008, PT_ADDR + 0x1000 + 8, 0x40002087, &err, &cr2),
                    ==, 14);
    g_assert_cmphex(err, ==, 0x9);
    g_assert_cmphex(cr2, ==, 0x40000008);
    /* qemu64 does not: there PS in a PDPTE is reserved. */
    g_assert(x86_cpu_set_model(env, "qemu64", NULL));
    g_assert_cmphex(load64_fault(0x40000000, PT_ADDR + 0x1000 + 8, 0x40000087, &err, &cr2),
                    ==, 14);
    g_assert(x86_cpu_set_model(env, "max", NULL));
    g_assert_cmphex(err, ==, 0x9);
    /* Not present wins over reserved bits. */
    g_assert_cmphex(load64_fault(0x400000, PT_ADDR + 0x2000 + 2 * 8, 0x402086, &err, &cr2),
                    ==, 14);
    g_assert_cmphex(err, ==, 0x0);
}

static void test_sysexit_noncanonical(void)
{
    reset_pm32(sysexit64_start, sysexit64_end);
    enter_long_mode();
    env->sysenter_cs = SEL_CODE32;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_ESI], ==, 0);
    g_assert_cmphex(env->segs[R_CS].selector, ==, SEL_CODE64);
}

static void test_smep(void)
{
    for (int on = 0; on < 2; on++) {
        reset_pm32(smep_start, smep_end);
        enter_long_mode();
        wr64(PT_ADDR + 0x2000, 0x83);           /* 0-2 MiB: supervisor */
        ram_host[0x200000] = 0xf4;              /* hlt on a user page */
        wr64(DATA_ADDR + 0x100, on);
        env->regs[R_EBP] = 0xffff;
        g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
        if (!on) {
            g_assert_cmphex(env->regs[R_EBP], ==, 0xffff);
            g_assert_cmphex(env->rip, ==, 0x200001);
        } else {
            g_assert_cmphex(env->regs[R_EBP], ==, 14);
            g_assert_cmphex(env->regs[R_ESI], ==, PF_ERR_P | PF_ERR_I);
            g_assert_cmphex(env->regs[R_EDI], ==, 0x200000);
        }
    }
}

static void test_task_to_vm86(void)
{
    reset_pm32(task_vm86_start, task_vm86_end);
    build_task32(TSS_B, OFF(task_vm86_code, task_vm86_start), 0x0ff0, 0);
    wr32(TSS_B + 0x24, VM_MASK | 2);
    wr32(TSS_B + 4, RING0_STACK);       /* ESP0/SS0 for the exception */
    wr32(TSS_B + 8, SEL_DATA);
    for (unsigned sreg = 0; sreg < 6; sreg++) {
        wr16(TSS_B + 0x48 + sreg * 4, sreg == R_CS ? 0x1000 : 0x0500 + sreg);
    }
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX] & 0xffff, ==, 0x1000);
    g_assert_cmphex(env->regs[R_EBX] & 0xffff, ==, 0x0503);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->tr.selector, ==, SEL_TSS_B);
    /* The #GP frame from vm86: EIP (the CLI), CS, EFLAGS with VM, ESP, SS,
     * then ES, DS, FS, GS. */
    g_assert_cmphex(rd32(RING0_STACK - 36), ==, OFF(task_vm86_code, task_vm86_start) + 4);
    g_assert_cmphex(rd32(RING0_STACK - 32), ==, 0x1000);
    g_assert_cmphex(rd32(RING0_STACK - 28) & VM_MASK, ==, VM_MASK);
    g_assert_cmphex(rd32(RING0_STACK - 20), ==, 0x0502);
    g_assert_cmphex(rd32(RING0_STACK - 16), ==, 0x0500);
    g_assert_cmphex(rd32(RING0_STACK - 4), ==, 0x0505);
}

static void test_task16(void)
{
    reset_pm32(task16_start, task16_end);
    wr64(GDT_ADDR + SEL_TSS_B, seg_desc(TSS_B, 0x2b, 0x00008100));   /* 16-bit TSS */
    /* A 16-bit TSS holds a 16-bit IP: run the task's code from 0x3000. */
    wr(0x3000, task16_entry, (size_t)(task16_end - task16_entry));
    wr16(TSS_B + 0x0e, 0x3000);
    wr16(TSS_B + 0x10, 0x2);
    wr16(TSS_B + 0x12, 0x4321);                                       /* AX */
    wr16(TSS_B + 0x1a, 0x6000);                                       /* SP */
    wr16(TSS_B + 0x22, SEL_DATA);
    wr16(TSS_B + 0x24, SEL_CODE32);
    wr16(TSS_B + 0x26, SEL_DATA);
    wr16(TSS_B + 0x28, SEL_DATA);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    /* Only AX came from the 16-bit TSS; the upper half is the caller's. */
    g_assert_cmphex(rd32(DATA_ADDR), ==, 0x11114321);
    g_assert_cmphex(rd32(DATA_ADDR + 0x10), ==, 0x11112222);
    g_assert_cmphex(rd32(TSS_B) & 0xffff, ==, SEL_TSS_A);
    g_assert_cmphex(rd32(TSS_B + 0x0e) & 0xffff, ==,
                    0x3000 + (uint32_t)(task16_after_iret - task16_entry));
    g_assert_cmphex(tss_type(SEL_TSS_B), ==, 0x01);
    g_assert_cmphex(env->tr.selector, ==, SEL_TSS_A);
}

static void test_conforming(void)
{
    reset_pm32(conforming_start, conforming_end);
    enter_ring3_32(CODE_ADDR);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(rd32(DATA_ADDR) & 0xffff, ==, SEL_CONFORMING | 3);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_ESI], ==, SEL_CODE32);
}

static void test_lar_lsl_verr(void)
{
    reset_pm32(lar_lsl_start, lar_lsl_end);
    wr64(GDT_ADDR + SEL_UCODE32, seg_desc(0, 0xfffff, A_CODE32(3) | DESC_A_MASK));
    enter_ring3_32(CODE_ADDR);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);          /* the final HLT */
    g_assert_cmphex(ram_host[DATA_ADDR + 0x00], ==, 1);
    g_assert_cmphex(rd32(DATA_ADDR + 0x04), ==, 0x00c0fb00);
    g_assert_cmphex(ram_host[DATA_ADDR + 0x08], ==, 0);  /* DPL 0 from CPL 3 */
    g_assert_cmphex(ram_host[DATA_ADDR + 0x09], ==, 0);
    g_assert_cmphex(ram_host[DATA_ADDR + 0x0a], ==, 1);
    g_assert_cmphex(rd32(DATA_ADDR + 0x0c), ==, 0xffffffff);
    g_assert_cmphex(ram_host[DATA_ADDR + 0x10], ==, 0);  /* VERR execute-only */
    g_assert_cmphex(ram_host[DATA_ADDR + 0x11], ==, 1);  /* VERW writable data */
    g_assert_cmphex(ram_host[DATA_ADDR + 0x12], ==, 1);  /* VERR readable code */
    g_assert_cmphex(ram_host[DATA_ADDR + 0x13], ==, 0);  /* VERW code */
    g_assert_cmphex(ram_host[DATA_ADDR + 0x14], ==, 0);
}

static void test_popf_iopl(void)
{
    reset_pm32(popf_iopl_start, popf_iopl_end);
    enter_ring3_32(CODE_ADDR);
    env->eflags |= IF_MASK;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(rd32(DATA_ADDR) & (IF_MASK | IOPL_MASK), ==, IF_MASK);
    g_assert_cmphex(rd32(DATA_ADDR + 4) & (IF_MASK | IOPL_MASK | DF_MASK), ==, IF_MASK | DF_MASK);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_EBX], ==, 1);
}

static void test_noncanonical_stack(void)
{
    for (int r12 = 0; r12 < 2; r12++) {
        reset_pm32(noncanon_ss_start, noncanon_ss_end);
        enter_long_mode();
        wr32(DATA_ADDR + 0x100, r12);
        env->regs[R_R12] = 0;
        g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
        g_assert_cmphex(env->regs[R_EBP], ==, r12 ? 13 : 12);
        g_assert_cmphex(env->regs[R_ESI], ==, 0);
    }
}

static void test_smap(void)
{
    reset_pm32(smap_start, smap_end);
    enter_long_mode();
    wr64(PT_ADDR + 0x2000, 0x83);           /* 0-2 MiB: supervisor */
    wr64(0x200000, 0x1122334455667788ull);  /* on a user page */
    env->regs[R_EBP] = 0xffff;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBX], ==, 0x1122334455667788ull);
    g_assert_cmphex(env->regs[R_ECX], ==, 1);
    g_assert_cmphex(env->regs[R_EBP], ==, 14);
    g_assert_cmphex(env->regs[R_ESI], ==, PF_ERR_P);
    g_assert_cmphex(env->regs[R_EDI], ==, 0x200000);
}

static void test_data_breakpoint(void)
{
    reset_pm32(data_bp_start, data_bp_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 1);
    g_assert_cmphex(env->regs[R_EBX], ==, 1);
    g_assert_cmphex(env->dr[6] & 0xf, ==, 1);
    g_assert_cmphex(rd32(DATA_ADDR + 0x40) >> 16, ==, 5);        /* the store completed */
    /* A trap: the saved EIP is the next instruction. */
    g_assert_cmphex(rd32(RING0_STACK - 0x800 - 12), ==,
                    CODE_ADDR + OFF(data_bp_after, data_bp_start));
}

static void test_exec_breakpoint(void)
{
    uint32_t fn = CODE_ADDR + OFF(exec_bp_fn, exec_bp_start);
    reset_pm32(exec_bp_start, exec_bp_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 1);
    g_assert_cmphex(env->regs[R_EBX], ==, 1);
    g_assert_cmphex(env->dr[6] & 0xf, ==, 2);
    /* A fault: the saved EIP is the breakpoint address, RF not set. */
    g_assert_cmphex(rd32(RING0_STACK - 0x800 - 4 - 12), ==, fn);
    g_assert_cmphex(rd32(RING0_STACK - 0x800 - 4 - 4) & RF_MASK, ==, 0);

    /* Resuming there with RF set runs the instruction once. */
    env->halted = false;
    env->rip = fn;
    env->regs[R_ESP] = RING0_STACK - 0x800 - 4;
    x86_cpu_set_eflags(env, x86_cpu_get_eflags(env) | RF_MASK);
    env->regs[R_EBP] = 0;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBX], ==, 2);
    g_assert_cmphex(env->regs[R_EBP], ==, 0);
    g_assert_false(x86_cpu_get_eflags(env) & RF_MASK);
}

static void test_exec_breakpoint_mid_block(void)
{
    uint32_t at = CODE_ADDR + OFF(exec_bp_mid_at, exec_bp_mid_start);
    reset_pm32(exec_bp_mid_start, exec_bp_mid_end);
    for (unsigned round = 1; round <= 3; round++) {
        g_test_message("round %u", round);
        g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
        g_assert_cmphex(env->regs[R_EBP], ==, 1);
        g_assert_cmphex(env->regs[R_EBX], ==, 1);
        g_assert_cmphex(env->regs[R_ECX], ==, round);       /* before the ADD ran */
        g_assert_cmphex(env->regs[R_EDX], ==, round - 1);
        g_assert_cmphex(env->dr[6] & 0xf, ==, 4);
        g_assert_cmphex(rd32(RING0_STACK - 0x800 - 12), ==, at);
        /* Resume at the breakpoint with RF set: the ADD runs once, the
         * loop comes back and the breakpoint fires again. */
        env->halted = false;
        env->rip = at;
        env->regs[R_ESP] = RING0_STACK - 0x800;
        x86_cpu_set_eflags(env, rd32(RING0_STACK - 0x800 - 4) | RF_MASK);
        env->regs[R_EBP] = 0;
    }
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0);
    g_assert_cmphex(env->regs[R_EBX], ==, 2);
    g_assert_cmphex(env->regs[R_EDX], ==, 3);
    g_assert_false(x86_cpu_get_eflags(env) & RF_MASK);
}

static void test_io_breakpoint(void)
{
    reset_pm32(io_bp_start, io_bp_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 1);
    g_assert_cmphex(env->regs[R_EBX], ==, 2);
    g_assert_cmphex(env->dr[6] & 0xf, ==, 8);
    /* A trap: the saved EIP is the next instruction. */
    g_assert_cmphex(rd32(RING0_STACK - 0x800 - 12), ==, CODE_ADDR + OFF(io_bp_after, io_bp_start));
}

static void test_global_pages(void)
{
    reset_pm32(global_pages_start, global_pages_end);
    enter_long_mode();
    wr64(PT_ADDR + 0x2000 + 5 * 8, 0xa00000 | 0x183);
    wr64(PT_ADDR + 0x2000 + 6 * 8, 0xc00000 | 0x83);
    /* Different TLB slots: 0xa01000, 0xc02000. */
    wr64(0xa01000, 0x1111);
    wr64(0xc02000, 0x3333);
    wr64(0xe01000, 0x2222);
    wr64(0xe02000, 0x2222);
    env->cr[4] |= CR4_PGE;
    env->regs[R_EBP] = 0xffff;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0xffff);
    g_assert_cmphex(env->regs[R_EBX], ==, 0x3333);
    g_assert_cmphex(env->regs[R_EDX], ==, 0x1111);
    g_assert_cmphex(env->regs[R_ESI], ==, 0x2222);
    g_assert_cmphex(env->regs[R_EDI], ==, 0x2222);
    g_assert_cmphex(env->regs[R_R8], ==, 0x1111);
    g_assert_cmphex(env->regs[R_R9], ==, 0x2222);
    g_assert_cmphex(env->regs[R_R10], ==, 0x2222);
}

static void test_nmi_blocking(void)
{
    reset_pm32(nmi_block_start, nmi_block_end);
    wr64(IDT_ADDR + 2 * 8,
         gate_desc(SEL_CODE32, CODE_ADDR + OFF(nmi_block_handler, nmi_block_start), 0xe, 0, 0));
    env->regs[R_EBX] = 0;
    env->regs[R_ECX] = 0;
    env->regs[R_EDX] = 0;
    cpu->interrupt_request |= CPU_INTERRUPT_NMI;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_ECX], ==, 1);           /* in the handler */
    g_assert_true(env->nmi_masked);

    /* A second NMI while the handler runs: blocked, the HLT stays halted. */
    cpu->interrupt_request |= CPU_INTERRUPT_NMI;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_ECX], ==, 1);
    g_assert_cmphex(env->regs[R_EDX], ==, 0);

    /* Leave the HLT: the IRET unblocks, the pending NMI comes next. */
    env->halted = false;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EDX], ==, 1);
    g_assert_cmphex(env->regs[R_ECX], ==, 2);
    g_assert_cmphex(env->regs[R_EBX], ==, 0);           /* main code not started */
    g_assert_false(cpu->interrupt_request & CPU_INTERRUPT_NMI);

    /* Back to the main loop, which runs to its end. */
    env->halted = false;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EDX], ==, 2);
    g_assert_cmphex(env->regs[R_EBX], ==, 2);
    g_assert_false(env->nmi_masked);
}

static int ack_vector_13(void *opaque, CPUState *cs)
{
    cs->interrupt_request &= ~(unsigned)CPU_INTERRUPT_HARD;
    return 13;
}

/* A fault while delivering an external interrupt is taken alone, also for
 * an interrupt on a contributory exception's vector: #NP(13*8+2+EXT), not
 * #DF. */
static void test_external_interrupt_fault(void)
{
    reset_pm32(ext_np_start, ext_np_end);
    wr64(IDT_ADDR + 13 * 8,
         gate_desc(SEL_CODE32, stub_addr(13), 0xe, 0, 0) & ~(1ull << 47));
    x86_cpu_set_eflags(env, x86_cpu_get_eflags(env) | IF_MASK);
    env->regs[R_EBP] = 0xffff;
    cpu_set_interrupt_ack(ack_vector_13, NULL);
    cpu->interrupt_request |= CPU_INTERRUPT_HARD;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    cpu_set_interrupt_ack(NULL, NULL);
    g_assert_cmphex(env->regs[R_EBP], ==, 11);
    g_assert_cmphex(env->regs[R_ESI], ==, 13 * 8 + 2 + 1);
}

static void test_exec_breakpoint_mid_block64(void)
{
    uint32_t at = CODE_ADDR + OFF(exec_bp_mid64_at, exec_bp_mid64_start);
    reset_pm32(exec_bp_mid64_start, exec_bp_mid64_end);
    enter_long_mode();
    for (unsigned round = 1; round <= 3; round++) {
        g_test_message("round %u", round);
        g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
        g_assert_cmphex(env->regs[R_EBP], ==, 1);
        g_assert_cmphex(env->regs[R_EBX], ==, 1);
        g_assert_cmphex(env->regs[R_ECX], ==, round);
        g_assert_cmphex(env->regs[R_EDX], ==, round - 1);
        g_assert_cmphex(env->dr[6] & 0xf, ==, 4);
        env->halted = false;
        env->rip = at;
        env->regs[R_ESP] = 0x190000;
        x86_cpu_set_eflags(env, x86_cpu_get_eflags(env) | RF_MASK);
        env->regs[R_EBP] = 0;
    }
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0);
    g_assert_cmphex(env->regs[R_EBX], ==, 2);
    g_assert_cmphex(env->regs[R_EDX], ==, 3);
}

typedef struct SegCase {
    const char *name;
    const uint8_t *start, *end;
    bool ring3;
    uint32_t vector, steps;
} SegCase;

static void test_segment_checks(void)
{
    static const SegCase cases[] = {
        { "limit", seg_limit_start, seg_limit_end, false, 13, 2 },
        { "limit-moffs", seg_limit_moffs_start, seg_limit_moffs_end, false, 13, 1 },
        { "read-only", seg_readonly_start, seg_readonly_end, false, 13, 2 },
        { "null", seg_null_start, seg_null_end, false, 13, 1 },
        { "cs-write", seg_cs_write_start, seg_cs_write_end, false, 13, 2 },
        { "cs-write-sreg", seg_cs_write_sreg_start, seg_cs_write_sreg_end, false, 13, 1 },
        { "cs-write-sgdt", seg_cs_write_sgdt_start, seg_cs_write_sgdt_end, false, 13, 1 },
        { "cs-write-smsw", seg_cs_write_smsw_start, seg_cs_write_smsw_end, false, 13, 1 },
        { "cs-write-str", seg_cs_write_str_start, seg_cs_write_str_end, false, 13, 1 },
        { "limit-lgdt", seg_limit_lgdt_start, seg_limit_lgdt_end, false, 13, 1 },
        { "execute-only", seg_xo_read_start, seg_xo_read_end, false, 13, 1 },
        { "expand-down", seg_expdown_start, seg_expdown_end, true, 12, 2 },
    };
    for (size_t k = 0; k < G_N_ELEMENTS(cases); k++) {
        const SegCase *t = &cases[k];
        g_test_message("case %s", t->name);
        reset_pm32(t->start, t->end);
        env->regs[R_EBX] = 0;
        if (t->ring3) {
            enter_ring3_32(CODE_ADDR);
        }
        g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
        g_assert_cmphex(env->regs[R_EBP], ==, t->vector);
        g_assert_cmphex(env->regs[R_ESI], ==, 0);
        g_assert_cmphex(env->regs[R_EBX], ==, t->steps);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    memory_system_init();
    g_assert(memory_region_init_ram(&ram, NULL, "ram", RAM_SIZE, NULL));
    memory_region_add_subregion(get_system_memory(), 0, &ram);
    ram_host = memory_region_get_ram_ptr(&ram);

    tcg_standalone = true;
    tcg_engine_init();
    cpu = g_new0(CPUState, 1);
    env = &cpu->env;
    g_assert(x86_cpu_set_model(env, "max", NULL));
    x86_cpu_reset(env);
    tcg_vcpu_init(cpu);
    build_stubs();

    g_test_add_func("/tcg/system/call-gate32", test_call_gate32);
    g_test_add_func("/tcg/system/call-gate-dpl", test_call_gate_dpl);
    g_test_add_func("/tcg/system/call-gate64", test_call_gate64);
    g_test_add_func("/tcg/system/task-call-iret", test_task_call_iret);
    g_test_add_func("/tcg/system/task-jmp", test_task_jmp);
    g_test_add_func("/tcg/system/task-trap-bit", test_task_trap_bit);
    g_test_add_func("/tcg/system/double-fault-task-gate", test_double_fault_task_gate);
    g_test_add_func("/tcg/system/vm86-iopl0", test_vm86_iopl0);
    g_test_add_func("/tcg/system/vm86-iopl3", test_vm86_iopl3);
    g_test_add_func("/tcg/system/io-bitmap", test_io_bitmap);
    g_test_add_func("/tcg/system/segment-checks", test_segment_checks);
    g_test_add_func("/tcg/system/mtrr-pat", test_mtrr_pat);
    g_test_add_func("/tcg/system/debug-gd", test_debug_gd);
    g_test_add_func("/tcg/system/data-breakpoint", test_data_breakpoint);
    g_test_add_func("/tcg/system/exec-breakpoint", test_exec_breakpoint);
    g_test_add_func("/tcg/system/exec-breakpoint-mid-block64", test_exec_breakpoint_mid_block64);
    g_test_add_func("/tcg/system/external-interrupt-fault", test_external_interrupt_fault);
    g_test_add_func("/tcg/system/nmi-blocking", test_nmi_blocking);
    g_test_add_func("/tcg/system/global-pages", test_global_pages);
    g_test_add_func("/tcg/system/io-breakpoint", test_io_breakpoint);
    g_test_add_func("/tcg/system/exec-breakpoint-mid-block", test_exec_breakpoint_mid_block);
    g_test_add_func("/tcg/system/icebp", test_icebp);
    g_test_add_func("/tcg/system/cr4-unsupported", test_cr4_unsupported);
    g_test_add_func("/tcg/system/reserved-bits", test_reserved_bits);
    g_test_add_func("/tcg/system/sysexit-noncanonical", test_sysexit_noncanonical);
    g_test_add_func("/tcg/system/smep", test_smep);
    g_test_add_func("/tcg/system/smap", test_smap);
    g_test_add_func("/tcg/system/task-to-vm86", test_task_to_vm86);
    g_test_add_func("/tcg/system/task16", test_task16);
    g_test_add_func("/tcg/system/conforming", test_conforming);
    g_test_add_func("/tcg/system/lar-lsl-verr", test_lar_lsl_verr);
    g_test_add_func("/tcg/system/popf-iopl", test_popf_iopl);
    g_test_add_func("/tcg/system/noncanonical-stack", test_noncanonical_stack);
    return g_test_run();
}
