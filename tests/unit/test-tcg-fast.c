/*
 * The specialised semantic functions and flag liveness of the TCG
 * interpreter (target/i386/tcg/fast.c): loops with fused compare and
 * branch, rotates and ALU operations whose flags are dead (the result
 * must still be right), and flags that are live across register moves,
 * LEA and into ADC, Jcc and PUSHF (they must be exact). Expected values
 * are computed in C with the same operations.
 */
#include "kestrel/osdep.h"
#include "exec/memory.h"
#include "exec/ramblock.h"
#include "exec/tcg.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "accel/tcg/tcg-internal.h"

#define RAM_SIZE (16u << 20)
#define GDT_ADDR 0x800u
#define IDT_ADDR 0x2000u
#define HANDLERS_ADDR 0x4000u
#define STACK_TOP 0x8000u
#define CODE_ADDR 0x10000u
#define PT_ADDR 0x20000u
#define MMIO_ADDR 0xfeb00000u

#define SEL_CODE32 0x10
#define SEL_DATA 0x18

#define GUEST(name, text)                                                          \
    __asm__(".pushsection .rodata\n.globl " #name "_start, " #name "_end\n"        \
            #name "_start:\n" text "\n" #name "_end:\n.code64\n.popsection\n");    \
    extern const uint8_t name##_start[], name##_end[]

GUEST(loop32, ".code32\n"
      "  xor %eax, %eax\n"
      "  mov $1000, %ecx\n"
      "  mov $0x12345678, %ebx\n"
      "1: rol $3, %ebx\n"            /* flags dead: XOR follows */
      "  xor %ebx, %eax\n"
      "  add $7, %eax\n"             /* flags dead: SUB follows */
      "  mov %eax, %edx\n"
      "  xor $0x55, %edx\n"            /* ADD's flags are dead up to here */
      "  sub %edx, %ebx\n"
      "  lea -1(%ecx), %ecx\n"
      "  cmp $0, %ecx\n"             /* fused with JNE */
      "  jne 1b\n"
      "  hlt\n");
GUEST(live32, ".code32\n"
      "  mov $0x80000001, %edx\n"
      "  rol $1, %edx\n"             /* live: PUSHF reads CF and OF */
      "  pushf\n"
      "  pop %esi\n"
      "  mov $5, %eax\n"
      "  add $-5, %eax\n"            /* live: ADC reads CF after a MOV */
      "  mov %eax, %ebx\n"
      "  adc $0, %ebx\n"
      "  xor %edi, %edi\n"
      "  mov $3, %eax\n"
      "  sub $3, %eax\n"             /* live: JZ after a LEA */
      "  lea 1(%eax), %edx\n"
      "  jz 2f\n"
      "  mov $1, %edi\n"
      "2: mov $10, %ecx\n"
      "  xor %ebp, %ebp\n"
      "3: add $1, %ebp\n"
      "  cmp $4, %ebp\n"             /* fused CMP + JB, both outcomes */
      "  jb 3b\n"
      "  hlt\n");

/* Exception and interrupt handlers: they leave RCX/RSI/RDI alone. */
GUEST(pf_handler, ".code32\n pop %ebx\n mov %cr2, %edx\n mov $14, %ebp\n hlt\n");
GUEST(irq_handler, ".code32\n mov $0x30, %ebp\n hlt\n");
GUEST(other_handler, ".code32\n mov $0xee, %ebp\n hlt\n");

#define PF_HANDLER (HANDLERS_ADDR)
#define IRQ_HANDLER (HANDLERS_ADDR + 0x40)
#define OTHER_HANDLER (HANDLERS_ADDR + 0x80)

static MemoryRegion ram;
static uint8_t *ram_host;
static CPUState *cpu;
static CPUX86State *env;

static void wr(hwaddr addr, const void *buf, size_t len)
{
    g_assert_cmpint(address_space_write(&address_space_memory, addr, buf, len), ==, MEMTX_OK);
}

static void wr32(hwaddr addr, uint32_t v)
{
    wr(addr, &v, 4);
}

static void wr64(hwaddr addr, uint64_t v)
{
    wr(addr, &v, 8);
}

static void load(hwaddr addr, const uint8_t *start, const uint8_t *end)
{
    wr(addr, start, (size_t)(end - start));
}

static void build_gdt_idt(void)
{
    wr64(GDT_ADDR + 0x00, 0);
    wr64(GDT_ADDR + 0x08, 0);
    wr64(GDT_ADDR + SEL_CODE32, 0x00cf9a000000ffffull);
    wr64(GDT_ADDR + SEL_DATA, 0x00cf92000000ffffull);
    for (unsigned v = 0; v < 256; v++) {
        uint32_t off = v == 14 ? PF_HANDLER : v == 0x30 ? IRQ_HANDLER : OTHER_HANDLER;
        wr32(IDT_ADDR + v * 8, ((uint32_t)SEL_CODE32 << 16) | (off & 0xffff));
        wr32(IDT_ADDR + v * 8 + 4, (off & 0xffff0000) | 0x8e00);
    }
    load(PF_HANDLER, pf_handler_start, pf_handler_end);
    load(IRQ_HANDLER, irq_handler_start, irq_handler_end);
    load(OTHER_HANDLER, other_handler_start, other_handler_end);
}

/* Flat 32-bit protected mode, paging off, the snippet at CODE_ADDR. */
static void reset_pm32(const uint8_t *start, const uint8_t *end)
{
    x86_cpu_reset(env);
    x86_cpu_set_flat_protected_mode(env, CODE_ADDR);
    build_gdt_idt();
    env->gdt.base = GDT_ADDR;
    env->gdt.limit = 0x1f;
    env->idt.base = IDT_ADDR;
    env->idt.limit = 256 * 8 - 1;
    env->regs[R_ESP] = STACK_TOP;
    env->regs[R_EBP] = 0;
    load(CODE_ADDR, start, end);
    tlb_flush(tcg_cpu(cpu));
    tcg_cpu(cpu)->reset_pending = false;
}

static int run(void)
{
    for (int k = 0; k < 1000; k++) {
        int r = tcg_exec_vcpu(cpu);
        if (r != VCPU_EXIT_KICK || tcg_cpu(cpu)->reset_pending) {
            return r;
        }
    }
    g_assert_not_reached();
}


static uint32_t rol32(uint32_t v, unsigned n)
{
    return (v << n) | (v >> (32 - n));
}

static void test_loop_dead_flags(void)
{
    uint32_t a = 0, b = 0x12345678, c = 1000, d;
    do {
        b = rol32(b, 3);
        a ^= b;
        a += 7;
        d = a ^ 0x55;
        b -= d;
        c--;
    } while (c != 0);
    reset_pm32(loop32_start, loop32_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0);
    g_assert_cmphex(env->regs[R_EAX], ==, a);
    g_assert_cmphex(env->regs[R_EBX], ==, b);
    g_assert_cmphex(env->regs[R_ECX], ==, 0);
}

static void test_live_flags(void)
{
    reset_pm32(live32_start, live32_end);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EDX], ==, 1);                   /* LEA 1(0) */
    g_assert_cmphex(env->regs[R_ESI] & (CC_C | CC_O), ==, CC_C | CC_O);
    g_assert_cmphex(env->regs[R_EBX], ==, 1);                   /* 0 + 0 + CF */
    g_assert_cmphex(env->regs[R_EDI], ==, 0);                   /* JZ taken */
    g_assert_cmphex(env->regs[R_EBP], ==, 4);
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

    g_test_add_func("/tcg/fast/loop-dead-flags", test_loop_dead_flags);
    g_test_add_func("/tcg/fast/live-flags", test_live_flags);
    return g_test_run();
}
