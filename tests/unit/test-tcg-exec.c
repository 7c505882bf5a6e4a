/*
 * TCG engine tests on a tiny machine (RAM at 0, no board): guest code
 * snippets assembled by the host assembler run to HLT; the tests check
 * registers, flags, memory, exceptions delivered through the IDT (#PF with
 * CR2 and error code, #UD, #DE, triple fault), self-modifying code, TBs
 * invalidated by device writes, dirty bits set by guest stores, port and
 * MMIO dispatch, interrupts, kicks, real mode and the long-mode switch.
 */
#include "kestrel/osdep.h"
#include "sysemu/cpus.h"
#include "accel/tcg/tcg-internal.h"
#include "tcg-test-machine.h"

#define RAM_SIZE (16u << 20)
#define GDT_ADDR TM_LOW_GDT_ADDR
#define IDT_ADDR TM_LOW_IDT_ADDR
#define STUBS_ADDR TM_LOW_HANDLERS_ADDR
#define STACK_TOP TM_LOW_STACK_TOP
#define CODE_ADDR TM_LOW_CODE_ADDR
#define PT_ADDR TM_LOW_PT_ADDR      /* page tables */
#define DATA_ADDR 0x100000u

#define SEL_CODE64 TM_SEL_CODE64
#define SEL_CODE32 TM_SEL_CODE32
#define SEL_DATA TM_SEL_DATA

/* ---- guest code ---- */

#define GUEST TM_GUEST

/* Absolute guest address of a label in a snippet loaded at CODE_ADDR. */
#define AT(label, start) "(0x10000 + " #label " - " #start ")"

GUEST(basic32, ".code32\n"
      "  xor %eax, %eax\n"
      "  mov $100, %ecx\n"
      "1: add %ecx, %eax\n"           /* eax = 5050 */
      "  loop 1b\n"
      "  mov $0x100000, %edi\n"        /* rep stosl 16 dwords of 0xa5a5a5a5 */
      "  push %eax\n"
      "  mov $0xa5a5a5a5, %eax\n"
      "  mov $16, %ecx\n"
      "  cld\n"
      "  rep stosl\n"
      "  pop %eax\n"
      "  mov $0x100000, %esi\n"        /* rep movsb 64 bytes to 0x100100 */
      "  mov $0x100100, %edi\n"
      "  mov $64, %ecx\n"
      "  rep movsb\n"
      "  call 2f\n"                    /* ebx = 0x1234 via call/ret */
      "  jmp 3f\n"
      "2: mov $0x1234, %ebx\n"
      "  ret\n"
      "3: movb $0x80, 0x100200\n"
      "  movsbl 0x100200, %edx\n"      /* edx = 0xffffff80 */
      "  movzbl 0x100200, %ebp\n"      /* ebp = 0x80 */
      "  lea 0x10(%ebx,%ebp,2), %esi\n" /* esi = 0x1234 + 0x10 + 0x100 = 0x1344 */
      "  mov $7, %ecx\n"
      "  imul $-3, %ecx, %ecx\n"        /* ecx = -21 */
      "  std\n"                         /* scan backwards for the 0x80 byte */
      "  mov $0x100203, %edi\n"
      "  movb $0x11, 0x100201\n"
      "  movb $0x22, 0x100202\n"
      "  movb $0x33, 0x100203\n"
      "  push %eax\n"
      "  push %ecx\n"
      "  mov $0x80, %al\n"
      "  mov $10, %ecx\n"
      "  repne scasb\n"                 /* stops after 0x100200: edi = 0x1001ff */
      "  cld\n"
      "  pop %ecx\n"
      "  pop %eax\n"
      "  hlt\n");

GUEST(divide, ".code32\n"
      "  mov $1000003, %eax\n"
      "  xor %edx, %edx\n"
      "  mov $1000, %ecx\n"
      "  div %ecx\n"                    /* eax = 1000, edx = 3 */
      "  mov %eax, %ebx\n"
      "  mov $-7, %eax\n"
      "  cdq\n"
      "  mov $2, %ecx\n"
      "  idiv %ecx\n"                   /* eax = -3, edx = -1 */
      "  mov %edx, %esi\n"
      "  xor %ecx, %ecx\n"
      "  div %ecx\n"                    /* #DE */
      "  hlt\n");

GUEST(pf_read, ".code32\n"
      "  mov $0x12345678, %eax\n"
      "  mov 0x00500010, %eax\n"        /* not present */
      "  hlt\n");

GUEST(pf_write_ro, ".code32\n"
      "  movl $1, 0x00300000\n"         /* read-only page, CR0.WP set */
      "  hlt\n");

GUEST(pf_touch, ".code32\n"
      "  mov 0x00201000, %eax\n"        /* read: A set, D clear */
      "  movl $5, 0x00202000\n"         /* write: A and D set */
      "  hlt\n");

GUEST(smc, ".code32\n"
      "  movb $0x42, " AT(smc_patch, smc_start) " + 1\n"
      "smc_patch:\n"
      "  mov $0x11, %al\n"              /* becomes mov $0x42, %al */
      "  hlt\n");

/* Patches a function that already ran (its TB is cached and chained). */
GUEST(smc2, ".code32\n"
      "  xor %ebx, %ebx\n"
      "  call smc2_fn\n"
      "  add %eax, %ebx\n"              /* ebx = 1 */
      "  movl $2, " AT(smc2_fn, smc2_start) " + 1\n"
      "  call smc2_fn\n"
      "  add %eax, %ebx\n"              /* ebx = 3 */
      "  hlt\n"
      "smc2_fn:\n"
      "  mov $1, %eax\n"
      "  ret\n");

GUEST(mov_eax_1, ".code32\n  mov $1, %eax\n  hlt\n");
GUEST(mov_eax_2, ".code32\n  mov $2, %eax\n  hlt\n");

GUEST(store_data, ".code32\n"
      "  movl $0xdeadbeef, 0x00103000\n"
      "  hlt\n");

GUEST(io, ".code32\n"
      "  mov $0x5a, %al\n"
      "  out %al, $0x80\n"
      "  mov $0x1234, %ax\n"
      "  mov $0x82, %dx\n"
      "  out %ax, %dx\n"
      "  in $0x84, %eax\n"              /* device returns 0xcafe0084 */
      "  mov %eax, %ebx\n"
      "  mov $0x100000, %esi\n"
      "  mov $3, %ecx\n"
      "  mov $0x80, %dx\n"
      "  rep outsb\n"
      "  mov $0xfeb00000, %edi\n"       /* MMIO */
      "  movl $0x11223344, 8(%edi)\n"
      "  mov 4(%edi), %ecx\n"           /* device returns 0xfeed0004 */
      "  hlt\n");

GUEST(ud_x87, ".code32\n"
      "  nop\n"
      "  fld1\n"
      "  hlt\n");

GUEST(ud_sse, ".code32\n"
      "  movaps %xmm0, %xmm1\n"
      "  hlt\n");

GUEST(int3, ".code32\n"
      "  mov $7, %eax\n"
      "  int3\n"
      "  hlt\n");

GUEST(loop_forever, ".code32\n"
      "1: jmp 1b\n");

GUEST(sti_hlt, ".code32\n"
      "  sti\n"
      "  nop\n"
      "  hlt\n"
      "  hlt\n");

/* Real mode at 0000:0000 with CS base 0x10000: INT 0x21 through the IVT. */
GUEST(real16, ".code16\n"
      "  mov $0x1000, %ax\n"
      "  mov %ax, %ds\n"
      "  movw $0xbeef, 0x80\n"          /* 0x10080 */
      "  mov 0x80, %bx\n"
      "  int $0x21\n"
      "  add $1, %cx\n"
      "  hlt\n"
      "real16_isr:\n"
      "  mov $0x41, %cx\n"
      "  iret\n");

/* The long-mode switch: starts in flat 32-bit protected mode with paging
 * off, builds nothing (page tables and GDT are prepared), enables PAE,
 * loads CR3, sets EFER.LME, enables paging, far-jumps to 64-bit code. */
GUEST(to_long, ".code32\n"
      "  lgdt " AT(to_long_gdtr, to_long_start) "\n"
      "  mov %cr4, %eax\n"
      "  or $0x20, %eax\n"
      "  mov %eax, %cr4\n"
      "  mov $0x20000, %eax\n"
      "  mov %eax, %cr3\n"
      "  mov $0xc0000080, %ecx\n"
      "  rdmsr\n"
      "  or $0x100, %eax\n"
      "  wrmsr\n"
      "  mov %cr0, %eax\n"
      "  or $0x80000000, %eax\n"
      "  mov %eax, %cr0\n"
      "  ljmp $0x08, $" AT(to_long_64, to_long_start) "\n"
      "to_long_gdtr:\n"
      "  .word 0x27\n"
      "  .long 0x800\n"
      ".code64\n"
      "to_long_64:\n"
      "  mov $0x18, %eax\n"
      "  mov %eax, %ds\n"
      "  mov %eax, %ss\n"
      "  movabs $0x123456789abcdef0, %rax\n"
      "  mov to_long_data(%rip), %rbx\n"
      "  mov $0x200000, %rsp\n"
      "  push %rax\n"
      "  pop %rcx\n"
      "  mov $0xc0000100, %ecx\n"       /* FS base via WRMSR */
      "  mov $0x100000, %eax\n"
      "  xor %edx, %edx\n"
      "  wrmsr\n"
      "  movq $77, %fs:8\n"
      "  mov 0x100008, %rdx\n"          /* rdx = 77 */
      "  mov %rax, %rcx\n"
      "  shl $40, %rcx\n"
      "  hlt\n"
      "to_long_data:\n"
      "  .quad 0xfeedfacecafebeef\n");

GUEST(pf64, ".code64\n"
      "  mov $9, %eax\n"                /* 5 bytes */
      "  movabs $0x8000000010, %rbx\n"  /* 10 bytes */
      "  mov %rax, (%rbx)\n"            /* PML4 entry 1 is not present */
      "  hlt\n");

GUEST(syscall64, ".code64\n"
      "  mov $0xc0000081, %ecx\n"       /* STAR: kernel CS 0x08, user base 0x10 */
      "  mov $0, %eax\n"
      "  mov $0x00100008, %edx\n"
      "  wrmsr\n"
      "  mov $0xc0000082, %ecx\n"       /* LSTAR */
      "  mov $" AT(syscall64_entry, syscall64_start) ", %eax\n"
      "  xor %edx, %edx\n"
      "  wrmsr\n"
      "  mov $0xc0000080, %ecx\n"
      "  rdmsr\n"
      "  or $1, %eax\n"                 /* EFER.SCE */
      "  wrmsr\n"
      "  mov $5, %edi\n"
      "  syscall\n"
      "  hlt\n"
      "syscall64_entry:\n"
      "  lea 1(%rdi), %rbx\n"
      "  mov %rcx, %rsi\n"
      "  hlt\n");

GUEST(misc32, ".code32\n"
      "  mov $0x12345678, %eax\n"
      "  mov $0xffff, %bx\n"
      "  add %bx, %ax\n"               /* 16-bit: eax = 0x12345677, CF */
      "  setc %bl\n"                   /* ebx = 0xff01 */
      "  mov $0x100010, %esi\n"
      "  movl $5, (%esi)\n"
      "  mov $5, %eax\n"
      "  mov $9, %edx\n"
      "  lock cmpxchg %edx, (%esi)\n"  /* mem = 9, ZF */
      "  setz %bh\n"                   /* ebx = 0x0101 */
      "  mov $5, %ecx\n"
      "  xchg %ecx, (%esi)\n"          /* ecx = 9, mem = 5 */
      "  lock xadd %ecx, (%esi)\n"     /* mem = 14, ecx = 5 */
      "  mov $35, %eax\n"
      "  bts %eax, 0x100020\n"         /* bit 3 of the dword at 0x100024 */
      "  movw $0x100, %si\n"           /* esi = 0x100100 */
      "  movl $0xabcd, (%esi)\n"
      "  mov $0x1000, %ebx\n"
      "  mov $0x100000, %esi\n"
      "  addr16 mov 0x100(%bx), %edx\n" /* 16-bit address: DS:0x1100 = 0 */
      "  mov $0x100, %di\n"
      "  mov (%esi,%edi,1), %edx\n"    /* edx = 0xabcd */
      "  push %ebp\n"
      "  mov $0x1111, %ebp\n"
      "  enter $16, $0\n"
      "  mov %esp, %edi\n"             /* edi = ebp - 16 */
      "  sub %ebp, %edi\n"
      "  leave\n"
      "  mov %ebp, %ecx\n"             /* ecx = 0x1111 */
      "  pop %ebp\n"
      "  lcall $0x10, $" AT(misc32_far, misc32_start) "\n"
      "  pushf\n"
      "  push %cs\n"
      "  push $" AT(misc32_after_iret, misc32_start) "\n"
      "  iret\n"
      "  hlt\n"                        /* skipped by the iret */
      "misc32_after_iret:\n"
      "  data16 push $0x4321\n"
      "  pop %ax\n"                    /* ax = 0x4321 */
      "  hlt\n"
      "misc32_far:\n"
      "  mov $0x2222, %ebp\n"
      "  lret\n");

/* Ring 3 in long mode: IRETQ to user code, INT 0x80 back to ring 0 on the
 * TSS stack; a second entry point touches a supervisor page. */
GUEST(user64, ".code64\n"
      "  mov $0x38, %ax\n"
      "  ltr %ax\n"
      "  pushq $0x2b\n"                /* SS: user data */
      "  pushq $0x300000\n"            /* user RSP */
      "  pushq $0x2\n"                 /* RFLAGS */
      "  pushq $0x33\n"                /* CS: user code */
      "  pushq $" AT(user64_user, user64_start) "\n"
      "  iretq\n"
      "user64_user:\n"
      "  mov $0x77, %eax\n"
      "  int $0x80\n"
      "user64_user2:\n"
      "  mov 0x400000, %eax\n"         /* supervisor-only page */
      "  hlt\n");

/* Both vCPUs run this: atomic increments of a shared counter. */
GUEST(lock_inc, ".code32\n"
      "  mov $2000000, %ecx\n"
      "1: lock incl 0x100000\n"
      "  lock xaddl %eax, 0x100004\n"   /* eax = 1: adds 1 per iteration */
      "  mov $1, %eax\n"
      "  dec %ecx\n"
      "  jnz 1b\n"
      "  hlt\n");

/* A write to port 0x87 stops the machine: nothing after it may run. */
GUEST(io_stop, ".code32\n"
      "  xor %ebx, %ebx\n"
      "  mov $1, %al\n"
      "  out %al, $0x87\n"
      ".globl io_stop_after\n"
      "io_stop_after:\n"
      "  mov $1, %ebx\n"
      "  out %al, $0x80\n"
      "  hlt\n");

GUEST(rep_stop, ".code32\n"
      "  xor %ebx, %ebx\n"
      "  mov $0x100000, %esi\n"
      "  mov $3, %ecx\n"
      "  mov $0x87, %dx\n"
      ".globl rep_stop_insn\n"
      "rep_stop_insn:\n"
      "  rep outsb\n"
      "  mov $1, %ebx\n"
      "  hlt\n");
extern const uint8_t io_stop_after[], rep_stop_insn[];

/* ---- the machine ---- */

static TcgTestMachine machine;
static CPUState *cpu;
static CPUX86State *env;

static void load_code(const uint8_t *start, const uint8_t *end)
{
    tm_load(CODE_ADDR, start, end);
}

/* Exception stubs (tm_build_exception_stubs): EBP = vector, ESI = error
 * code, EDI = CR2, then HLT. Gates from 0x20 up are callable from CPL 3. */
static void build_idt32(void)
{
    for (unsigned v = 0; v < 256; v++) {
        tm_write_gate32(IDT_ADDR, v, SEL_CODE32, tm_stub_addr(STUBS_ADDR, v),
                        v >= 0x20 ? 3 : 0);
    }
}

static void build_idt64(void)
{
    for (unsigned v = 0; v < 256; v++) {
        tm_write_gate64(IDT_ADDR, v, SEL_CODE64, tm_stub_addr(STUBS_ADDR, v),
                        v >= 0x20 ? 3 : 0);
    }
}

/* 4-level identity map of the first 1 GiB (2 MiB pages) at PT_ADDR; with
 * user, everything but 0x400000-0x5fffff is user-accessible. */
static void build_long_page_tables_user(bool user)
{
    tm_build_long_identity_map(PT_ADDR, user);
    tm_write64(PT_ADDR + 0x2000 + 2 * 8, (2ull << 21) | 0x83);
}

static void build_long_page_tables(void)
{
    build_long_page_tables_user(false);
}

/* 2-level tables: identity map of 0..4 MiB with 4 KiB pages; 0x300000 is
 * read-only; nothing above 4 MiB. */
static void build_legacy_page_tables(void)
{
    tm_build_legacy_identity_map(PT_ADDR);
    tm_write32(PT_ADDR + 0x1000 + (0x300000 >> 12) * 4, 0x300000 | 1);
}

static void reset_pm32(const uint8_t *start, const uint8_t *end)
{
    tm_reset_flat_pm32(cpu, CODE_ADDR, start, end);
    tm_build_flat_gdt(GDT_ADDR);
    build_idt32();
    tm_set_descriptor_tables(env, GDT_ADDR, TM_GDT_LIMIT, IDT_ADDR, 256 * 8 - 1);
    env->regs[R_ESP] = STACK_TOP;
    tm_flush(cpu);
}

static void reset_lm64(const uint8_t *start, const uint8_t *end)
{
    reset_pm32(start, end);
    build_idt64();
    build_long_page_tables();
    env->idt.limit = 256 * 16 - 1;
    tm_set_long_mode(env, PT_ADDR, SEL_CODE64, SEL_DATA, false);
    env->regs[R_ESP] = 0x200000;
    tlb_flush(tcg_cpu(cpu));
}

static int run(void)
{
    return tm_run(cpu, 100);
}

static uint32_t eflags(void)
{
    return (uint32_t)x86_cpu_get_eflags(env);
}

/* ---- tests ---- */

static void test_basic32(void)
{
    reset_pm32(basic32_start, basic32_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_true(env->halted);
    g_assert_cmphex(env->regs[R_EAX], ==, 5050);
    g_assert_cmphex(env->regs[R_EBX], ==, 0x1234);
    g_assert_cmphex(env->regs[R_ECX], ==, (uint32_t)-21);
    g_assert_cmphex(env->regs[R_EDX], ==, 0xffffff80);
    g_assert_cmphex(env->regs[R_EBP], ==, 0x80);
    g_assert_cmphex(env->regs[R_ESI], ==, 0x1344);
    g_assert_cmphex(env->regs[R_EDI], ==, 0x1001ff);
    g_assert_cmphex(env->regs[R_ESP], ==, STACK_TOP);
    g_assert_cmphex(tm_read32(0x100000), ==, 0xa5a5a5a5);
    g_assert_cmphex(tm_read32(0x10003c), ==, 0xa5a5a5a5);
    g_assert_cmphex(tm_read32(0x100040), ==, 0);
    g_assert_cmphex(tm_read32(0x100100), ==, 0xa5a5a5a5);
    g_assert_cmphex(tm_read32(0x10013c), ==, 0xa5a5a5a5);
    g_assert_cmphex(env->rip, ==, CODE_ADDR + (uint32_t)(basic32_end - basic32_start));
    g_assert_false(eflags() & DF_MASK);
    /* repne scasb stopped on a match: ZF set. */
    g_assert_true(eflags() & CC_Z);
}

static void test_divide(void)
{
    reset_pm32(divide_start, divide_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBX], ==, 1000);
    g_assert_cmphex(env->regs[R_EAX], ==, 0xfffffffd);  /* unchanged by the faulting div */
    g_assert_cmphex(env->regs[R_ESI], ==, 0xffffffff);
    g_assert_cmphex(env->regs[R_EBP], ==, 0);       /* #DE */
    /* The saved EIP is the faulting DIV itself (2 bytes before HLT). */
    g_assert_cmphex(tm_read32((uint32_t)env->regs[R_ESP]), ==,
                    CODE_ADDR + (uint32_t)(divide_end - divide_start) - 3);
}

static void enable_legacy_paging(void)
{
    build_legacy_page_tables();
    tm_enable_paging(cpu, PT_ADDR);
}

static void test_page_fault_read(void)
{
    reset_pm32(pf_read_start, pf_read_end);
    enable_legacy_paging();
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 14);
    g_assert_cmphex(env->regs[R_ESI], ==, 0);            /* not present, read, supervisor */
    g_assert_cmphex(env->regs[R_EDI], ==, 0x00500010);   /* CR2 */
    g_assert_cmphex(env->cr[2], ==, 0x00500010);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x12345678);   /* not clobbered */
    /* Saved EIP: the faulting MOV (5 bytes in); CS and EFLAGS follow. */
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, CODE_ADDR + 5);
    g_assert_cmphex(tm_read32(STACK_TOP - 8), ==, SEL_CODE32);
    g_assert_cmphex(env->segs[R_CS].selector, ==, SEL_CODE32);
}

static void test_page_fault_write_ro(void)
{
    reset_pm32(pf_write_ro_start, pf_write_ro_end);
    enable_legacy_paging();
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 14);
    g_assert_cmphex(env->regs[R_ESI], ==, 3);            /* present | write */
    g_assert_cmphex(env->regs[R_EDI], ==, 0x00300000);
    g_assert_cmphex(tm_read32(0x300000), ==, 0);
}

static void test_accessed_dirty(void)
{
    uint32_t pte_read, pte_write, pde;
    reset_pm32(pf_touch_start, pf_touch_end);
    enable_legacy_paging();
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0);
    pte_read = tm_read32(PT_ADDR + 0x1000 + (0x201000 >> 12) * 4);
    pte_write = tm_read32(PT_ADDR + 0x1000 + (0x202000 >> 12) * 4);
    pde = tm_read32(PT_ADDR);
    g_assert_cmphex(pte_read & 0x60, ==, 0x20);          /* A, not D */
    g_assert_cmphex(pte_write & 0x60, ==, 0x60);         /* A and D */
    g_assert_cmphex(pde & 0x20, ==, 0x20);
    g_assert_cmphex(tm_read32(0x202000), ==, 5);
    /* An untouched page keeps A clear. */
    g_assert_cmphex(tm_read32(PT_ADDR + 0x1000 + (0x203000 >> 12) * 4) & 0x60, ==, 0);
}

static void test_self_modifying_same_tb(void)
{
    reset_pm32(smc_start, smc_end);
    env->regs[R_EAX] = 0;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX] & 0xff, ==, 0x42);
}

static void test_self_modifying_cached(void)
{
    uint64_t before = tcg_stats.tbs_invalidated;
    reset_pm32(smc2_start, smc2_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBX], ==, 3);
    g_assert_cmpuint(tcg_stats.tbs_invalidated, >, before);
}

static void test_device_write_invalidates(void)
{
    uint64_t before;
    reset_pm32(mov_eax_1_start, mov_eax_1_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX], ==, 1);
    /* Same code again: the cached TB runs. */
    env->rip = CODE_ADDR;
    env->halted = false;
    before = tcg_stats.tbs_translated;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmpuint(tcg_stats.tbs_translated, ==, before);
    /* A device (DMA, loader) rewrites the code: the TB must not be reused. */
    before = tcg_stats.tbs_invalidated;
    tm_write(CODE_ADDR, mov_eax_2_start, (size_t)(mov_eax_2_end - mov_eax_2_start));
    g_assert_cmpuint(tcg_stats.tbs_invalidated, >, before);
    env->rip = CODE_ADDR;
    env->halted = false;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX], ==, 2);
}

static void test_dirty_bits_from_guest_store(void)
{
    GError *err = NULL;
    ram_addr_t page = memory_region_get_ram_addr(&machine.ram) + 0x103000;

    bql_lock();
    g_assert_true(memory_global_dirty_log_start(&err));
    bql_unlock();
    g_assert_no_error(err);
    reset_pm32(store_data_start, store_data_end);
    dirty_bitmap_test_and_clear_range(page, KESTREL_PAGE_SIZE, DIRTY_MEMORY_MIGRATION);
    dirty_bitmap_test_and_clear_range(page + KESTREL_PAGE_SIZE, KESTREL_PAGE_SIZE,
                                      DIRTY_MEMORY_MIGRATION);
    g_assert_false(dirty_bitmap_test_range(page, KESTREL_PAGE_SIZE, DIRTY_MEMORY_MIGRATION));
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(tm_read32(0x103000), ==, 0xdeadbeef);
    g_assert_true(dirty_bitmap_test_range(page, KESTREL_PAGE_SIZE, DIRTY_MEMORY_MIGRATION));
    g_assert_false(dirty_bitmap_test_range(page + KESTREL_PAGE_SIZE, KESTREL_PAGE_SIZE,
                                           DIRTY_MEMORY_MIGRATION));
    /* A second store after the bits were collected is seen too (the fast
     * path must not hide it while migration logs). */
    dirty_bitmap_test_and_clear_range(page, KESTREL_PAGE_SIZE, DIRTY_MEMORY_MIGRATION);
    env->rip = CODE_ADDR;
    env->halted = false;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_true(dirty_bitmap_test_range(page, KESTREL_PAGE_SIZE, DIRTY_MEMORY_MIGRATION));
    bql_lock();
    memory_global_dirty_log_stop();
    bql_unlock();
}

/* A port device at 0x80-0x87 and an MMIO device at 0xfeb00000. */
static GString *io_log;
static MemoryRegion io_port_mr, mmio_mr;

static uint64_t dev_read(void *opaque, hwaddr addr, unsigned size)
{
    g_string_append_printf(io_log, "%s:r%" PRIx64 "/%u;", (const char *)opaque, addr, size);
    return (strcmp(opaque, "pio") ? 0xfeed0000u : 0xcafe0080u) + addr;
}

static void dev_write(void *opaque, hwaddr addr, uint64_t v, unsigned size)
{
    g_string_append_printf(io_log, "%s:w%" PRIx64 "/%u=%" PRIx64 ";", (const char *)opaque,
                           addr, size, v);
    if (!strcmp(opaque, "pio") && addr == 7) {
        /* Port 0x87 acts like isa-debug-exit: the machine stops the vCPU. */
        cpu->stop = true;
        __atomic_store_n(&cpu->exit_request, 1, __ATOMIC_SEQ_CST);
    }
}

static const MemoryRegionOps dev_ops = {
    .read = dev_read, .write = dev_write, .min_access_size = 1, .max_access_size = 4,
};

static void test_port_and_mmio(void)
{
    reset_pm32(io_start, io_end);
    tm_write32(0x100000, 0x00636261);     /* "abc" */
    g_string_truncate(io_log, 0);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBX], ==, 0xcafe0084);
    g_assert_cmphex(env->regs[R_ECX], ==, 0xfeed0004);
    g_assert_cmpstr(io_log->str, ==,
                    "pio:w0/1=5a;pio:w2/2=1234;pio:r4/4;"
                    "pio:w0/1=61;pio:w0/1=62;pio:w0/1=63;"
                    "mmio:w8/4=11223344;mmio:r4/4;");
}

static void test_undefined_opcodes(void)
{
    reset_pm32(ud_x87_start, ud_x87_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 6);
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, CODE_ADDR + 1);    /* the FLD1 */

    reset_pm32(ud_sse_start, ud_sse_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 6);
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, CODE_ADDR);
}

static void test_int3(void)
{
    reset_pm32(int3_start, int3_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 3);
    /* A trap: the saved EIP is after INT3. */
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, CODE_ADDR + 6);
    g_assert_cmphex(tm_read32(STACK_TOP - 4) & 0x2, ==, 0x2);      /* EFLAGS image */
}

static void test_triple_fault(void)
{
    reset_pm32(int3_start, int3_end);
    env->idt.limit = 0;     /* every delivery fails: #GP, then #DF, then shutdown */
    g_assert_cmpint(run(), ==, VCPU_EXIT_KICK);
    g_assert_true(tcg_cpu(cpu)->reset_pending);
    /* It stays parked until the machine resets it. */
    g_assert_cmpint(run(), ==, VCPU_EXIT_KICK);
    tcg_cpu(cpu)->reset_pending = false;
}

static gpointer kicker(gpointer data)
{
    g_usleep(20000);
    __atomic_store_n(&cpu->exit_request, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_kick_infinite_loop(void)
{
    GThread *t;
    int r;
    reset_pm32(loop_forever_start, loop_forever_end);
    t = g_thread_new("kicker", kicker, NULL);
    r = tcg_exec_vcpu(cpu);
    g_thread_join(t);
    g_assert_cmpint(r, ==, VCPU_EXIT_KICK);
    g_assert_cmphex(env->rip, ==, CODE_ADDR);
    g_assert_cmpint(cpu->exit_request, ==, 0);
}

static int fake_pic_vector = 0x30;

static int fake_ack(void *opaque, CPUState *c)
{
    __atomic_fetch_and(&c->interrupt_request, ~(unsigned)CPU_INTERRUPT_HARD, __ATOMIC_SEQ_CST);
    return fake_pic_vector;
}

static void test_external_interrupt(void)
{
    reset_pm32(sti_hlt_start, sti_hlt_end);
    cpu_set_interrupt_ack(fake_ack, NULL);
    cpu->interrupt_request |= CPU_INTERRUPT_HARD;
    /* STI blocks interrupts for one instruction; then HLT with IF=1 and a
     * pending interrupt wakes up and delivers it. */
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0x30);
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, CODE_ADDR + 3);   /* after the first HLT */
    g_assert_false(eflags() & IF_MASK);
    g_assert_cmpint(cpu->interrupt_request & CPU_INTERRUPT_HARD, ==, 0);
    cpu_set_interrupt_ack(NULL, NULL);
}

static void test_real_mode(void)
{
    uint32_t isr = (uint32_t)(real16_end - real16_start) - 4;   /* mov $0x41,%cx; iret */
    x86_cpu_reset(env);
    load_code(real16_start, real16_end);
    env->segs[R_CS].selector = 0x1000;
    env->segs[R_CS].base = 0x10000;
    env->rip = 0;
    env->regs[R_ESP] = 0x7000;
    /* IVT entry 0x21 -> 1000:isr */
    tm_write32(0x21 * 4, (0x1000u << 16) | isr);
    env->idt.base = 0;
    env->idt.limit = 0x3ff;
    tlb_flush(tcg_cpu(cpu));
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBX] & 0xffff, ==, 0xbeef);
    g_assert_cmphex(env->regs[R_ECX] & 0xffff, ==, 0x42);
    g_assert_cmphex(env->segs[R_DS].base, ==, 0x10000);
    g_assert_cmphex(tm_read32(0x10080) & 0xffff, ==, 0xbeef);
    g_assert_cmphex(env->regs[R_ESP] & 0xffff, ==, 0x7000);
}

static void test_long_mode_switch(void)
{
    reset_pm32(to_long_start, to_long_end);
    build_long_page_tables();
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->efer & (EFER_LME | EFER_LMA), ==, EFER_LME | EFER_LMA);
    g_assert_cmphex(env->segs[R_CS].selector, ==, SEL_CODE64);
    g_assert_true(env->segs[R_CS].flags & DESC_L_MASK);
    g_assert_cmphex(env->regs[R_EBX], ==, 0xfeedfacecafebeefull);
    g_assert_cmphex(env->regs[R_EDX], ==, 77);
    g_assert_cmphex(env->segs[R_FS].base, ==, 0x100000);
    g_assert_cmphex(env->regs[R_ECX], ==, 0x1000000000000000ull);
    g_assert_cmphex(env->regs[R_ESP], ==, 0x200000);
    g_assert_cmphex(env->cr[0] & CR0_PG, ==, CR0_PG);
}

static void test_syscall(void)
{
    reset_lm64(syscall64_start, syscall64_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBX], ==, 6);
    /* RCX holds the return address (after SYSCALL). */
    g_assert_cmphex(env->regs[R_ESI], ==,
                    CODE_ADDR + (uint32_t)(syscall64_end - syscall64_start) - 9);
    g_assert_cmphex(env->segs[R_CS].selector, ==, 0x08);
}

static void test_page_fault_long_mode(void)
{
    reset_lm64(pf64_start, pf64_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 14);
    g_assert_cmphex(env->regs[R_ESI], ==, 2);                /* write, not present */
    g_assert_cmphex(env->regs[R_EDI], ==, 0x8000000010ull);  /* CR2 */
    g_assert_cmphex(env->regs[R_EAX], ==, 9);
    /* 64-bit frame: RIP, CS, RFLAGS, RSP, SS below the aligned old RSP. */
    g_assert_cmphex(tm_read32(0x200000 - 40), ==, CODE_ADDR + 15);
    g_assert_cmphex(tm_read32(0x200000 - 32), ==, SEL_CODE64);
    g_assert_cmphex(tm_read32(0x200000 - 16), ==, 0x200000);
}

static void test_misc32(void)
{
    reset_pm32(misc32_start, misc32_end);
    tm_write32(0x100024, 0);
    tm_write32(0x101100, 0);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(tm_read32(0x100010), ==, 14);
    g_assert_cmphex(tm_read32(0x100024), ==, 8);
    g_assert_cmphex(env->regs[R_EBX], ==, 0x1000);
    g_assert_cmphex(env->regs[R_ECX], ==, 0x1111);
    g_assert_cmphex(env->regs[R_EDX], ==, 0xabcd);
    g_assert_cmphex(env->regs[R_EDI], ==, (uint32_t)-16);
    g_assert_cmphex(env->regs[R_EBP], ==, 0x2222);
    g_assert_cmphex(env->regs[R_EAX] & 0xffff, ==, 0x4321);
    g_assert_cmphex(env->regs[R_ESP], ==, STACK_TOP);
    g_assert_cmphex(env->rip, ==, CODE_ADDR + (uint32_t)(misc32_end - misc32_start) - 6);
}

static void setup_user64(void)
{
    uint64_t tss = 0x6000;
    reset_lm64(user64_start, user64_end);
    build_long_page_tables_user(true);
    tm_write64(GDT_ADDR + 0x28, 0x00cff2000000ffffull);      /* user data, DPL 3 */
    tm_write64(GDT_ADDR + 0x30, 0x00affa000000ffffull);      /* user code64, DPL 3 */
    /* 64-bit available TSS at 0x6000, limit 0x67 */
    tm_write64(GDT_ADDR + 0x38, 0x0000890000000067ull | ((tss & 0xffffff) << 16) |
                          ((tss >> 24) << 56));
    tm_write64(GDT_ADDR + 0x40, tss >> 32);
    env->gdt.limit = 0x47;
    for (unsigned k = 0; k < 0x68; k += 4) {
        tm_write32(tss + k, 0);
    }
    tm_write64(tss + 4, 0x7000);                             /* RSP0 */
    tlb_flush(tcg_cpu(cpu));
}

static void test_user_mode_int80(void)
{
    setup_user64();
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0x80);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x77);
    g_assert_cmphex(env->segs[R_CS].selector, ==, SEL_CODE64);
    g_assert_cmphex(env->tr.selector, ==, 0x38);
    /* The frame is on the TSS stack: RIP, CS, RFLAGS, RSP, SS. */
    g_assert_cmphex(env->regs[R_ESP], ==, 0x7000 - 40);
    g_assert_cmphex(tm_read32(0x7000 - 32), ==, 0x33);
    g_assert_cmphex(tm_read32(0x7000 - 16), ==, 0x300000);
    g_assert_cmphex(tm_read32(0x7000 - 8), ==, 0x2b);
    /* The TSS descriptor is marked busy. */
    g_assert_cmphex((tm_read32(GDT_ADDR + 0x3c) >> 8) & 0xf, ==, 0xb);
}

static void test_user_mode_page_fault(void)
{
    setup_user64();
    /* Enter user mode at the second entry point. */
    tm_write32(CODE_ADDR + 0x13, CODE_ADDR + (uint32_t)(user64_end - user64_start) - 8);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 14);
    g_assert_cmphex(env->regs[R_ESI], ==, 5);          /* present | user, read */
    g_assert_cmphex(env->regs[R_EDI], ==, 0x400000);
}

typedef struct SmpRunner {
    CPUState *cpu;
    int result;
} SmpRunner;

static gpointer smp_thread(gpointer opaque)
{
    SmpRunner *r = opaque;
    for (int k = 0; k < 1000; k++) {
        r->result = tcg_exec_vcpu(r->cpu);
        if (r->result != VCPU_EXIT_KICK) {
            break;
        }
    }
    return NULL;
}

static void test_two_vcpus_atomics(void)
{
    CPUState *cpu2 = g_new0(CPUState, 1);
    SmpRunner r1 = { .cpu = cpu }, r2 = { .cpu = cpu2 };
    GThread *t1, *t2;

    reset_pm32(lock_inc_start, lock_inc_end);
    env->regs[R_EAX] = 1;
    tm_write32(0x100000, 0);
    tm_write32(0x100004, 0);
    cpu2->index = 1;
    cpu2->env = *env;
    tcg_vcpu_init(cpu2);
    cpu2->env.regs[R_ESP] = STACK_TOP - 0x1000;

    t1 = g_thread_new("vcpu0", smp_thread, &r1);
    t2 = g_thread_new("vcpu1", smp_thread, &r2);
    g_thread_join(t1);
    g_thread_join(t2);
    g_assert_cmpint(r1.result, ==, VCPU_EXIT_HALT);
    g_assert_cmpint(r2.result, ==, VCPU_EXIT_HALT);
    g_assert_cmpuint(tm_read32(0x100000), ==, 4000000);
    g_assert_cmpuint(tm_read32(0x100004), ==, 4000000);
    tcg_vcpu_destroy(cpu2);
    g_free(cpu2);
}

static void test_io_stop_ends_tb(void)
{
    reset_pm32(io_stop_start, io_stop_end);
    g_string_truncate(io_log, 0);
    g_assert_cmpint(tcg_exec_vcpu(cpu), ==, VCPU_EXIT_KICK);
    g_assert_cmpstr(io_log->str, ==, "pio:w7/1=1;");
    g_assert_cmphex(env->regs[R_EBX], ==, 0);
    g_assert_cmphex(env->rip, ==, CODE_ADDR + (uint32_t)(io_stop_after - io_stop_start));
    cpu->stop = false;

    /* A REP OUTS stops after the iteration that stopped the machine and
     * resumes where it was. */
    reset_pm32(rep_stop_start, rep_stop_end);
    tm_write32(0x100000, 0x00636261);     /* "abc" */
    g_string_truncate(io_log, 0);
    g_assert_cmpint(tcg_exec_vcpu(cpu), ==, VCPU_EXIT_KICK);
    g_assert_cmpstr(io_log->str, ==, "pio:w7/1=61;");
    g_assert_cmphex(env->regs[R_EBX], ==, 0);
    g_assert_cmphex(env->regs[R_ECX], ==, 2);
    g_assert_cmphex(env->rip, ==, CODE_ADDR + (uint32_t)(rep_stop_insn - rep_stop_start));
    cpu->stop = false;
}

#define CODE16_SEL 0x20
#define CODE16_ENTRY 0x200ff8u

/* A 16-bit code segment (D=0) with base 0 and the given limit. */
static void enter_code16(uint32_t limit, uint32_t eip)
{
    reset_pm32(mov_eax_1_start, mov_eax_1_end);
    env->segs[R_CS] = (SegmentCache){ CODE16_SEL, 0, limit,
                                      DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK |
                                      DESC_A_MASK | (limit > 0xfffff ? DESC_G_MASK : 0) };
    env->rip = eip;
}

/* nop x5; mov $imm32, %eax (crosses the page at 0x201000); hlt */
static void write_code16(uint32_t imm)
{
    uint8_t code[] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0x66, 0xb8, 0, 0, 0, 0, 0xf4 };
    memcpy(&code[7], &imm, 4);
    tm_write(CODE16_ENTRY, code, sizeof(code));
}

/* 16-bit code runs at EIP above 0xffff (a 4 GiB limit allows it): the
 * full EIP advances, a block crossing a page covers exactly its bytes
 * (its size once underflowed, overrunning the page's code bitmap). */
static void test_code16_high_eip(void)
{
    static const uint8_t tramp[] = { 0x66, 0xe9, 0, 0, 0, 0 };   /* jmp rel32 */
    int32_t rel = (int32_t)(CODE16_ENTRY - (0xa000 + sizeof(tramp)));

    write_code16(0x11223344);
    enter_code16(0xffffffff, CODE16_ENTRY);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x11223344);
    g_assert_cmphex(env->rip, ==, CODE16_ENTRY + 12);

    /* Entered from 16-bit code at a low EIP with a 66-prefixed jmp rel32. */
    tm_write(0xa000, tramp, sizeof(tramp));
    tm_write32(0xa002, (uint32_t)rel);
    enter_code16(0xffffffff, 0xa000);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x11223344);
    g_assert_cmphex(env->rip, ==, CODE16_ENTRY + 12);

    /* The block's bytes on the second page are tracked: changing them
     * drops the cached block. */
    write_code16(0x55663344);
    enter_code16(0xffffffff, CODE16_ENTRY);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x55663344);
}

/* An instruction reaching past the CS limit raises #GP(0) at it, also
 * when its block was translated earlier under a larger limit. */
static void test_code16_cs_limit(void)
{
    uint32_t mov_eip = CODE16_ENTRY + 5;

    write_code16(0x11223344);
    enter_code16(mov_eip + 3, CODE16_ENTRY);     /* the mov ends at mov_eip + 5 */
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(env->regs[R_ESI], ==, 0);                 /* error code */
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, mov_eip);
    g_assert_cmphex(tm_read32(STACK_TOP - 8), ==, CODE16_SEL);

    /* Translate the block with room, then shrink the limit. */
    enter_code16(0xffffffff, CODE16_ENTRY);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x11223344);
    enter_code16(mov_eip + 3, CODE16_ENTRY);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, mov_eip);

    /* A limit below the entry point faults on the first instruction. */
    enter_code16(0xffff, CODE16_ENTRY);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 13);
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, CODE16_ENTRY);
}

/* The TB size and the byte ranges marked in the page bitmaps stay within
 * two pages whatever the inputs. */
static void test_tb_size_bounds(void)
{
    TranslationBlock tb = { 0 };
    uint64_t start, end;

    g_assert_cmpuint(tb_size_from_linear(0x200ff8, 0x201003, true), ==, 11);
    /* Linear addresses wrap at 4 GiB outside 64-bit mode. */
    g_assert_cmpuint(tb_size_from_linear(0xfffffffe, 0x1, true), ==, 3);
    /* An end before the start (the old underflow) is clamped. */
    g_assert_cmpuint(tb_size_from_linear(0x200ff8, 0x0ff8 + 11, true), ==, TB_MAX_SIZE);
    g_assert_cmpuint(tb_size_from_linear(0x200ff8, 0x100, false), ==, TB_MAX_SIZE);

    tb.pc = 0x200ff8;
    tb.size = 11;
    tb_page_range(&tb, 0, &start, &end);
    g_assert_cmpuint(start, ==, 0xff8);
    g_assert_cmpuint(end, ==, KESTREL_PAGE_SIZE);
    tb_page_range(&tb, 1, &start, &end);
    g_assert_cmpuint(start, ==, 0);
    g_assert_cmpuint(end, ==, 3);

    tb.size = 0xfffff00b;        /* a corrupt size never leaves the pages */
    tb_page_range(&tb, 0, &start, &end);
    g_assert_cmpuint(end, <=, KESTREL_PAGE_SIZE);
    tb_page_range(&tb, 1, &start, &end);
    g_assert_cmpuint(end, <=, KESTREL_PAGE_SIZE);
    tb.size = 4;                 /* second page not reached */
    tb_page_range(&tb, 1, &start, &end);
    g_assert_cmpuint(end, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    tm_machine_init(&machine, RAM_SIZE);
    cpu = machine.cpu;
    env = machine.env;
    io_log = g_string_new(NULL);
    memory_region_init_io(&io_port_mr, NULL, &dev_ops, (void *)"pio", "test-pio", 8);
    memory_region_add_subregion(get_system_io(), 0x80, &io_port_mr);
    memory_region_init_io(&mmio_mr, NULL, &dev_ops, (void *)"mmio", "test-mmio", 0x1000);
    memory_region_add_subregion(get_system_memory(), 0xfeb00000, &mmio_mr);
    tm_build_exception_stubs(STUBS_ADDR, 256, true);

    g_test_add_func("/tcg/exec/basic32", test_basic32);
    g_test_add_func("/tcg/exec/divide", test_divide);
    g_test_add_func("/tcg/exec/page-fault-read", test_page_fault_read);
    g_test_add_func("/tcg/exec/page-fault-write-ro", test_page_fault_write_ro);
    g_test_add_func("/tcg/exec/accessed-dirty", test_accessed_dirty);
    g_test_add_func("/tcg/exec/smc-same-tb", test_self_modifying_same_tb);
    g_test_add_func("/tcg/exec/smc-cached", test_self_modifying_cached);
    g_test_add_func("/tcg/exec/device-write-invalidates", test_device_write_invalidates);
    g_test_add_func("/tcg/exec/dirty-bits", test_dirty_bits_from_guest_store);
    g_test_add_func("/tcg/exec/port-and-mmio", test_port_and_mmio);
    g_test_add_func("/tcg/exec/undefined-opcodes", test_undefined_opcodes);
    g_test_add_func("/tcg/exec/int3", test_int3);
    g_test_add_func("/tcg/exec/triple-fault", test_triple_fault);
    g_test_add_func("/tcg/exec/kick", test_kick_infinite_loop);
    g_test_add_func("/tcg/exec/interrupt", test_external_interrupt);
    g_test_add_func("/tcg/exec/real-mode", test_real_mode);
    g_test_add_func("/tcg/exec/long-mode-switch", test_long_mode_switch);
    g_test_add_func("/tcg/exec/syscall", test_syscall);
    g_test_add_func("/tcg/exec/page-fault-long-mode", test_page_fault_long_mode);
    g_test_add_func("/tcg/exec/misc32", test_misc32);
    g_test_add_func("/tcg/exec/user-mode-int80", test_user_mode_int80);
    g_test_add_func("/tcg/exec/user-mode-page-fault", test_user_mode_page_fault);
    g_test_add_func("/tcg/exec/two-vcpus-atomics", test_two_vcpus_atomics);
    g_test_add_func("/tcg/exec/io-stop-ends-tb", test_io_stop_ends_tb);
    g_test_add_func("/tcg/exec/code16-high-eip", test_code16_high_eip);
    g_test_add_func("/tcg/exec/code16-cs-limit", test_code16_cs_limit);
    g_test_add_func("/tcg/exec/tb-size-bounds", test_tb_size_bounds);
    return g_test_run();
}
