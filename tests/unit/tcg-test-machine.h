/*
 * The in-process machine the TCG unit tests run guest snippets on: RAM at
 * address 0, no board, one "max" vCPU driven by tcg_exec_vcpu() directly.
 * The pieces are small and independent so that each test keeps its own
 * memory layout and only calls what it needs: guest memory access,
 * descriptor tables, exception stubs, identity page tables, the mode
 * set-ups and the run-to-HLT loop. (tm_ = TCG test machine.)
 */
#ifndef TESTS_UNIT_TCG_TEST_MACHINE_H
#define TESTS_UNIT_TCG_TEST_MACHINE_H

#include "kestrel/osdep.h"
#include "exec/memory.h"
#include "exec/ramblock.h"
#include "exec/tcg.h"
#include "sysemu/accel.h"

/*
 * The low-memory layout of the snippet tests that run at CODE_ADDR with
 * RAM at 0 (test-tcg-exec, -fast, -string; test-tcg-system uses the same
 * addresses): descriptor tables, exception stubs or handlers, a stack
 * below the code, page tables above it.
 */
#define TM_LOW_GDT_ADDR 0x800u
#define TM_LOW_IDT_ADDR 0x2000u
#define TM_LOW_HANDLERS_ADDR 0x4000u
#define TM_LOW_STACK_TOP 0x8000u
#define TM_LOW_CODE_ADDR 0x10000u
#define TM_LOW_PT_ADDR 0x20000u

/* The arithmetic flags, for the differential tests' "defined" masks. */
#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_OF 0x800u
#define F_ALL (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* The selectors of the GDT tm_build_flat_gdt() writes. */
#define TM_SEL_CODE64 0x08
#define TM_SEL_CODE32 0x10
#define TM_SEL_DATA 0x18
/* Null, code64, code32, data and a null entry left for the test. */
#define TM_GDT_LIMIT 0x27

/*
 * Guest code assembled by the host assembler into .rodata, between
 * name_start[] and name_end[]; the text names its own mode (.code32 ...).
 */
#define TM_GUEST(name, text)                                                       \
    __asm__(".pushsection .rodata\n.globl " #name "_start, " #name "_end\n"        \
            #name "_start:\n" text "\n" #name "_end:\n.code64\n.popsection\n");    \
    extern const uint8_t name##_start[], name##_end[]

typedef struct TcgTestMachine {
    MemoryRegion ram;
    uint8_t *ram_host;
    CPUState *cpu;
    CPUX86State *env;
} TcgTestMachine;

/* Memory system, ram_size bytes of RAM at 0, the standalone TCG engine
 * and one reset vCPU (index 0, model "max"). */
void tm_machine_init(TcgTestMachine *m, uint64_t ram_size);

/* Guest-physical accesses through the system address space; they assert
 * that the access succeeded. */
void tm_write(hwaddr addr, const void *buf, size_t len);
void tm_write16(hwaddr addr, uint16_t value);
void tm_write32(hwaddr addr, uint32_t value);
void tm_write64(hwaddr addr, uint64_t value);
void tm_read(hwaddr addr, void *buf, size_t len);
uint32_t tm_read32(hwaddr addr);
uint64_t tm_read64(hwaddr addr);
/* Copies a TM_GUEST snippet to addr. */
void tm_load(hwaddr addr, const uint8_t *start, const uint8_t *end);
/* Copies len instruction bytes followed by HLT to addr. */
void tm_load_with_hlt(hwaddr addr, const uint8_t *insn, size_t len);

/* Runs until anything but a kick, or a triple fault; fails the test
 * after max_slices kicks in a row. Returns the VCPUExitReason. */
int tm_run(CPUState *cpu, int max_slices);
/* Drops cached translations and a pending triple-fault reset: call after
 * changing the vCPU state by hand. */
void tm_flush(CPUState *cpu);

/* Null, 64-bit code, 32-bit code, flat data, null (TM_SEL_*). */
void tm_build_flat_gdt(hwaddr gdt_addr);
/* 32-bit interrupt gate (8-byte entry) / 64-bit one (16-byte entry). */
void tm_write_gate32(hwaddr idt_addr, unsigned vector, uint16_t selector, uint32_t offset,
                     unsigned dpl);
void tm_write_gate64(hwaddr idt_addr, unsigned vector, uint16_t selector, uint64_t offset,
                     unsigned dpl);
void tm_set_descriptor_tables(CPUX86State *env, hwaddr gdt_addr, uint16_t gdt_limit,
                              hwaddr idt_addr, uint16_t idt_limit);

/* A 32-bit IDT (256 gates, TM_SEL_CODE32) whose handlers, placed at
 * handlers_addr (0xc0 bytes), halt with the vector in EBP and leave
 * ECX/ESI/EDI alone: #PF (EBP 14) pops its error code into EBX and reads
 * CR2 into EDX; vector 0x30 sets EBP 0x30; any other vector EBP 0xee. */
void tm_build_halting_idt32(hwaddr idt_addr, hwaddr handlers_addr);

bool tm_vector_has_error_code(unsigned vector);
/* Exception stub of a vector, 16 bytes each from stubs_addr. */
hwaddr tm_stub_addr(hwaddr stubs_addr, unsigned vector);
/* count stubs "mov $vector, %ebp; [pop %esi (error code)]", then HLT, or
 * with read_cr2 a jump to a common "mov %cr2, %edi; hlt" placed after the
 * last stub. The bytes run in 32- and 64-bit mode. */
void tm_build_exception_stubs(hwaddr stubs_addr, unsigned count, bool read_cr2);

/* 4-level identity map of the first 1 GiB with 2 MiB pages: tables at
 * pml4_addr, +0x1000, +0x2000. With user, every page is user-accessible. */
void tm_build_long_identity_map(hwaddr pml4_addr, bool user);
/* 2-level identity map of 0..4 MiB with 4 KiB writable pages, nothing
 * above: directory at pd_addr, table at pd_addr + 0x1000. */
void tm_build_legacy_identity_map(hwaddr pd_addr);
/* CR3 = cr3, CR0.PG and CR0.WP set, TLB flushed. */
void tm_enable_paging(CPUState *cpu, hwaddr cr3);

/* Reset, then flat 32-bit protected mode (paging off) at code_addr with
 * the snippet loaded there; the caller sets the tables and the stack,
 * then calls tm_flush(). */
void tm_reset_flat_pm32(CPUState *cpu, hwaddr code_addr, const uint8_t *start,
                        const uint8_t *end);
/*
 * The host side of the differential tests (the same bytes run natively
 * and under TCG): copies head[], the instruction bytes and tail[] into an
 * executable page, then calls it with state as its only argument.
 */
void tm_run_native(uint8_t *exec_page, const uint8_t *head, const uint8_t *head_end,
                   const uint8_t *insn, size_t len, const uint8_t *tail,
                   const uint8_t *tail_end, void *state);
/* A random operand from g_test_rand_int() (so --seed reproduces it),
 * biased towards small and boundary values, where flags change. */
uint64_t tm_rand_operand(void);

/* tm_reset_flat_pm32() at TM_LOW_CODE_ADDR with tm_build_flat_gdt() at
 * TM_LOW_GDT_ADDR, tm_build_halting_idt32() at TM_LOW_IDT_ADDR and
 * TM_LOW_HANDLERS_ADDR, ESP = TM_LOW_STACK_TOP, EBP = 0 (no vector yet),
 * then tm_flush(). */
void tm_reset_pm32_halting(CPUState *cpu, const uint8_t *start, const uint8_t *end);
/* Long mode with PAE paging from pml4_addr and CR0.WP; all segment caches
 * flat (base 0) with data_sel, CS code_sel: a 64-bit segment, or a 32-bit
 * one for compatibility mode. Leaves RIP, GDTR and IDTR alone. */
void tm_set_long_mode(CPUX86State *env, hwaddr pml4_addr, uint16_t code_sel, uint16_t data_sel,
                      bool compat);

#endif
