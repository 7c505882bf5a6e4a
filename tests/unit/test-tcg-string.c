/*
 * REP MOVS / REP STOS under TCG (target/i386/tcg/string.c): the fast path
 * that copies whole page runs through host pointers must give exactly the
 * architectural, element-at-a-time result. Each case runs a one-instruction
 * snippet on a tiny 32-bit machine and compares memory and RCX/RSI/RDI
 * with a reference model: forward and backward copies across pages, every
 * element size, overlapping copies in both directions (pattern
 * replication), a #PF at a page boundary in the source and in the
 * destination (registers must show exactly the progress made), a pending
 * interrupt during a long copy (the copy stops between elements and
 * resumes), dirty tracking for migration, copies over translated code,
 * MMIO sources and destinations (one access per element), and 16-bit
 * address wrap.
 */
#include "kestrel/osdep.h"
#include "sysemu/cpus.h"
#include "accel/tcg/tcg-internal.h"
#include "tcg-test-machine.h"

#define RAM_SIZE (16u << 20)
#define STACK_TOP TM_LOW_STACK_TOP
#define CODE_ADDR TM_LOW_CODE_ADDR
#define TARGET_ADDR 0x13000u     /* code the SMC test rewrites */
#define PT_ADDR TM_LOW_PT_ADDR
#define MMIO_ADDR 0xfeb00000u

#define GUEST TM_GUEST

GUEST(movsb, ".code32\n rep movsb\n hlt\n");
GUEST(movsw, ".code32\n rep movsw\n hlt\n");
GUEST(movsl, ".code32\n rep movsl\n hlt\n");
GUEST(stosb, ".code32\n rep stosb\n hlt\n");
GUEST(stosw, ".code32\n rep stosw\n hlt\n");
GUEST(stosl, ".code32\n rep stosl\n hlt\n");
GUEST(movsb_a16, ".code32\n addr16 rep movsb\n hlt\n");
/* STI's shadow keeps the interrupt pending until the copy runs. */
GUEST(sti_movsb, ".code32\n sti\n rep movsb\n hlt\n");
/* Runs the code at TARGET_ADDR, overwrites it with a copy, runs it again. */
GUEST(smc_copy, ".code32\n"
      "  call *%ebp\n"
      "  mov %eax, %ebx\n"
      "  rep movsb\n"
      "  call *%ebp\n"
      "  hlt\n");
/* Overwrites the immediate of the MOV right after it (same TB). */
GUEST(smc_self, ".code32\n"
      "  rep movsb\n"
      ".globl smc_self_imm\n"
      "  .byte 0xb8\n"              /* mov $imm32, %eax */
      "smc_self_imm:\n"
      "  .long 1\n"
      "  hlt\n");
GUEST(ret_1, ".code32\n mov $1, %eax\n ret\n");
GUEST(ret_2, ".code32\n mov $2, %eax\n ret\n");
extern const uint8_t smc_self_imm[];

static TcgTestMachine machine;
static MemoryRegion mmio_mr;
static uint8_t *ram_host;
static CPUState *cpu;
static CPUX86State *env;
static GString *io_log;

static uint64_t mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    g_string_append_printf(io_log, "r%" PRIx64 "/%u;", addr, size);
    return 0xab000000u + addr;
}

static void mmio_write(void *opaque, hwaddr addr, uint64_t v, unsigned size)
{
    g_string_append_printf(io_log, "w%" PRIx64 "/%u=%" PRIx64 ";", addr, size, v);
}

static const MemoryRegionOps mmio_ops = {
    .read = mmio_read, .write = mmio_write, .min_access_size = 1, .max_access_size = 4,
};

/* Flat 32-bit protected mode, paging off, the snippet at CODE_ADDR. */
static void reset_pm32(const uint8_t *start, const uint8_t *end)
{
    tm_reset_pm32_halting(cpu, start, end);
}

/* 2-level paging: identity map of 0..4 MiB with 4 KiB pages, nothing above. */
static void enable_paging(void)
{
    tm_build_legacy_identity_map(PT_ADDR);
    tm_enable_paging(cpu, PT_ADDR);
}

static int run(void)
{
    return tm_run(cpu, 1000);
}

static void set_df(bool down)
{
    if (down) {
        env->eflags |= DF_MASK;
    } else {
        env->eflags &= ~(uint64_t)DF_MASK;
    }
}

static void fill_pattern(hwaddr addr, size_t len, uint32_t seed)
{
    for (size_t k = 0; k < len; k++) {
        seed = seed * 1103515245u + 12345u;
        ram_host[addr + k] = (uint8_t)(seed >> 16);
    }
}

/* The architectural result, one element at a time, on a copy of RAM. */
static void model_movs(uint8_t *mem, uint32_t src, uint32_t dst, uint32_t count,
                       unsigned size, bool down)
{
    for (uint32_t k = 0; k < count; k++) {
        uint8_t tmp[8];
        memcpy(tmp, mem + src, size);
        memcpy(mem + dst, tmp, size);
        src += down ? -size : size;
        dst += down ? -size : size;
    }
}

static const uint8_t *movs_snippet(unsigned size, const uint8_t **end)
{
    switch (size) {
    case 1: *end = movsb_end; return movsb_start;
    case 2: *end = movsw_end; return movsw_start;
    default: *end = movsl_end; return movsl_start;
    }
}

/* Runs rep movs{size} and compares all of [lo, hi) and the registers with
 * the model. */
static void check_movs(uint32_t src, uint32_t dst, uint32_t count, unsigned size, bool down,
                       uint32_t lo, uint32_t hi)
{
    const uint8_t *end, *start = movs_snippet(size, &end);
    g_autofree uint8_t *expect = NULL;
    int64_t delta = (int64_t)count * size * (down ? -1 : 1);

    reset_pm32(start, end);
    fill_pattern(lo, hi - lo, src ^ dst ^ count);
    expect = g_memdup2(ram_host, RAM_SIZE);
    model_movs(expect, src, dst, count, size, down);
    env->regs[R_ESI] = src;
    env->regs[R_EDI] = dst;
    env->regs[R_ECX] = count;
    set_df(down);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0);
    g_assert_cmphex(env->regs[R_ECX], ==, 0);
    g_assert_cmphex(env->regs[R_ESI], ==, (uint32_t)(src + delta));
    g_assert_cmphex(env->regs[R_EDI], ==, (uint32_t)(dst + delta));
    g_assert_true(memcmp(ram_host + lo, expect + lo, hi - lo) == 0);
}

static void test_movs_forward(void)
{
    /* Unaligned, several pages, every element size. */
    check_movs(0x100123, 0x200456, 3 * 4096 + 77, 1, false, 0x100000, 0x210000);
    check_movs(0x100001, 0x200ffe, 5000, 2, false, 0x100000, 0x210000);
    check_movs(0x100ffd, 0x200003, 4000, 4, false, 0x100000, 0x210000);
}

static void test_movs_backward(void)
{
    check_movs(0x103123, 0x205456, 3 * 4096 + 77, 1, true, 0x100000, 0x210000);
    check_movs(0x103001, 0x204ffe, 5000, 2, true, 0x100000, 0x210000);
    check_movs(0x104ffd, 0x204003, 4000, 4, true, 0x100000, 0x210000);
}

static void test_movs_overlap(void)
{
    /* Destination ahead of the source: bytes stored by the copy are read
     * again (rdi = rsi + 1 replicates one byte; + 3 with dwords replicates
     * a 3-byte pattern through 4-byte elements). */
    check_movs(0x100100, 0x100101, 10000, 1, false, 0x100000, 0x110000);
    check_movs(0x100100, 0x100103, 3000, 4, false, 0x100000, 0x110000);
    check_movs(0x100100, 0x100102, 3000, 4, false, 0x100000, 0x110000);
    /* The same going down. */
    check_movs(0x108000, 0x107fff, 10000, 1, true, 0x100000, 0x110000);
    check_movs(0x108000, 0x107ffd, 3000, 4, true, 0x100000, 0x110000);
    /* Destination behind the source (a move) and onto itself. */
    check_movs(0x100101, 0x100100, 10000, 1, false, 0x100000, 0x110000);
    check_movs(0x107fff, 0x108000, 10000, 1, true, 0x100000, 0x110000);
    check_movs(0x100100, 0x100100, 9000, 2, false, 0x100000, 0x110000);
}

static void check_stos(unsigned size, bool down, uint32_t dst, uint32_t count)
{
    const uint8_t *start = size == 1 ? stosb_start : size == 2 ? stosw_start : stosl_start;
    const uint8_t *end = size == 1 ? stosb_end : size == 2 ? stosw_end : stosl_end;
    uint32_t value = 0x89abcdefu;
    g_autofree uint8_t *expect = NULL;
    uint32_t at = dst;

    reset_pm32(start, end);
    fill_pattern(0x100000, 0x10000, count);
    expect = g_memdup2(ram_host, RAM_SIZE);
    for (uint32_t k = 0; k < count; k++) {
        memcpy(expect + at, &value, size);
        at += down ? -size : size;
    }
    env->regs[R_EAX] = value;
    env->regs[R_EDI] = dst;
    env->regs[R_ECX] = count;
    set_df(down);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_ECX], ==, 0);
    g_assert_cmphex(env->regs[R_EDI], ==, at);
    g_assert_true(memcmp(ram_host + 0x100000, expect + 0x100000, 0x10000) == 0);
}

static void test_stos(void)
{
    check_stos(1, false, 0x100789, 9000);
    check_stos(2, false, 0x100fff, 5000);
    check_stos(4, false, 0x100ffe, 3000);
    check_stos(1, true, 0x10c789, 9000);
    check_stos(2, true, 0x10b001, 5000);
    check_stos(4, true, 0x10bffe, 3000);
}

/* A copy running into an unmapped page (4 MiB) faults there: RCX, RSI and
 * RDI describe the first element not copied, everything before it is
 * copied and nothing after. */
static void check_fault(bool fault_in_source)
{
    uint32_t src = fault_in_source ? 0x3ff800 : 0x200000;
    uint32_t dst = fault_in_source ? 0x200000 : 0x3ff800;
    uint32_t count = 0x1000, done = 0x800;

    reset_pm32(movsb_start, movsb_end);
    enable_paging();
    fill_pattern(0x200000, 0x1000, 1);
    fill_pattern(0x3ff000, 0x1000, 2);
    memset(ram_host + 0x400000, 0x5a, 0x1000);   /* beyond the mapping */
    env->regs[R_ESI] = src;
    env->regs[R_EDI] = dst;
    env->regs[R_ECX] = count;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 14);
    g_assert_cmphex(env->regs[R_EDX], ==, 0x400000);                /* CR2 */
    g_assert_cmphex(env->regs[R_EBX], ==, fault_in_source ? 0 : 2);  /* not present, read/write */
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, CODE_ADDR);            /* the REP MOVSB */
    g_assert_cmphex(env->regs[R_ECX], ==, count - done);
    g_assert_cmphex(env->regs[R_ESI], ==, src + done);
    g_assert_cmphex(env->regs[R_EDI], ==, dst + done);
    g_assert_true(memcmp(ram_host + dst, ram_host + src, done) == 0);
    if (!fault_in_source) {
        for (unsigned k = 0; k < 0x1000; k++) {
            g_assert_cmphex(ram_host[0x400000 + k], ==, 0x5a);
        }
    }
}

static void test_fault_in_source(void)
{
    check_fault(true);
}

static void test_fault_in_destination(void)
{
    check_fault(false);
}

static void test_fault_stos(void)
{
    reset_pm32(stosl_start, stosl_end);
    enable_paging();
    set_df(true);
    env->regs[R_EAX] = 0x11223344;
    env->regs[R_EDI] = 0xffffffc;      /* going down from an unmapped page */
    env->regs[R_ECX] = 10;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 14);
    g_assert_cmphex(env->regs[R_EDX], ==, 0xffffffc);
    g_assert_cmphex(env->regs[R_ECX], ==, 10);
    g_assert_cmphex(env->regs[R_EDI], ==, 0xffffffc);
}

static int fake_ack(void *opaque, CPUState *c)
{
    __atomic_fetch_and(&c->interrupt_request, ~(unsigned)CPU_INTERRUPT_HARD, __ATOMIC_SEQ_CST);
    return 0x30;
}

/* An interrupt pending during a long copy is taken between two elements
 * (saved EIP: the REP MOVSB, with the progress in RCX/RSI/RDI); returning
 * to the instruction finishes the copy. */
static void test_interrupt_mid_copy(void)
{
    uint32_t src = 0x100000, dst = 0x600000, count = 4u << 20;
    uint32_t rep_addr = CODE_ADDR + 1, done;

    reset_pm32(sti_movsb_start, sti_movsb_end);
    fill_pattern(src, count, 3);
    memset(ram_host + dst, 0, count);
    env->regs[R_ESI] = src;
    env->regs[R_EDI] = dst;
    env->regs[R_ECX] = count;
    cpu_set_interrupt_ack(fake_ack, NULL);
    __atomic_fetch_or(&cpu->interrupt_request, CPU_INTERRUPT_HARD, __ATOMIC_SEQ_CST);
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    cpu_set_interrupt_ack(NULL, NULL);
    g_assert_cmphex(env->regs[R_EBP], ==, 0x30);
    g_assert_cmphex(tm_read32(STACK_TOP - 12), ==, rep_addr);
    done = count - (uint32_t)env->regs[R_ECX];
    g_assert_cmpuint(done, >, 0);
    g_assert_cmpuint(done, <, count);
    g_assert_cmphex(env->regs[R_ESI], ==, src + done);
    g_assert_cmphex(env->regs[R_EDI], ==, dst + done);
    g_assert_true(memcmp(ram_host + dst, ram_host + src, done) == 0);
    g_assert_cmphex(ram_host[dst + done], ==, 0);
    g_assert_cmphex(ram_host[dst + count - 1], ==, 0);

    /* "iret": back to the instruction. */
    env->regs[R_EBP] = 0;
    env->regs[R_ESP] = STACK_TOP;
    env->rip = rep_addr;
    env->halted = false;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBP], ==, 0);
    g_assert_cmphex(env->regs[R_ECX], ==, 0);
    g_assert_true(memcmp(ram_host + dst, ram_host + src, count) == 0);
}

/* While migration logs, every page the copy stores to is dirty, and only
 * those; a second copy after the bits were collected sets them again. */
static void test_dirty_tracking(void)
{
    GError *err = NULL;
    ram_addr_t base = memory_region_get_ram_addr(&machine.ram);
    uint32_t dst = 0x300800, count = 3 * 4096;   /* touches pages 0x300..0x303 */

    bql_lock();
    g_assert_true(memory_global_dirty_log_start(&err));
    bql_unlock();
    g_assert_no_error(err);
    for (int pass = 0; pass < 2; pass++) {
        reset_pm32(movsb_start, movsb_end);
        dirty_bitmap_test_and_clear_range(base + 0x2ff000, 6 * 4096, DIRTY_MEMORY_MIGRATION);
        env->regs[R_ESI] = 0x100000;
        env->regs[R_EDI] = dst;
        env->regs[R_ECX] = count;
        g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
        g_assert_false(dirty_bitmap_test_range(base + 0x2ff000, 4096, DIRTY_MEMORY_MIGRATION));
        for (uint32_t page = 0x300000; page <= 0x303000; page += 4096) {
            g_assert_true(dirty_bitmap_test_range(base + page, 4096, DIRTY_MEMORY_MIGRATION));
        }
        g_assert_false(dirty_bitmap_test_range(base + 0x304000, 4096, DIRTY_MEMORY_MIGRATION));
    }
    bql_lock();
    memory_global_dirty_log_stop();
    bql_unlock();
}

/* A copy over code that was already translated invalidates it. */
static void test_copy_over_code(void)
{
    uint64_t before = tcg_stats.tbs_invalidated;
    size_t len = (size_t)(ret_2_end - ret_2_start);

    reset_pm32(smc_copy_start, smc_copy_end);
    tm_load(TARGET_ADDR, ret_1_start, ret_1_end);
    tm_write(0x100000, ret_2_start, len);
    env->regs[R_EBP] = TARGET_ADDR;
    env->regs[R_ESI] = 0x100000;
    env->regs[R_EDI] = TARGET_ADDR;
    env->regs[R_ECX] = len;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EBX], ==, 1);
    g_assert_cmphex(env->regs[R_EAX], ==, 2);
    g_assert_cmpuint(tcg_stats.tbs_invalidated, >, before);
}

/* A copy that rewrites the next instruction of its own TB: the new bytes
 * run. */
static void test_copy_over_own_tb(void)
{
    uint32_t imm_addr = CODE_ADDR + (uint32_t)(smc_self_imm - smc_self_start);
    reset_pm32(smc_self_start, smc_self_end);
    tm_write32(0x100000, 0x22);
    env->regs[R_EAX] = 0;
    env->regs[R_ESI] = 0x100000;
    env->regs[R_EDI] = imm_addr;
    env->regs[R_ECX] = 4;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(env->regs[R_EAX], ==, 0x22);
}

/* MMIO is accessed once per element, in order, with the element size. */
static void test_mmio(void)
{
    reset_pm32(movsl_start, movsl_end);
    g_string_truncate(io_log, 0);
    env->regs[R_ESI] = MMIO_ADDR + 0x10;
    env->regs[R_EDI] = 0x100000;
    env->regs[R_ECX] = 3;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmpstr(io_log->str, ==, "r10/4;r14/4;r18/4;");
    g_assert_cmphex(tm_read32(0x100000), ==, 0xab000010);
    g_assert_cmphex(tm_read32(0x100008), ==, 0xab000018);

    reset_pm32(stosw_start, stosw_end);
    g_string_truncate(io_log, 0);
    set_df(true);
    env->regs[R_EAX] = 0x1234;
    env->regs[R_EDI] = MMIO_ADDR + 0x20;
    env->regs[R_ECX] = 2;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmpstr(io_log->str, ==, "w20/2=1234;w1e/2=1234;");
    g_assert_cmphex(env->regs[R_EDI], ==, MMIO_ADDR + 0x1c);

    /* A copy from RAM that runs into MMIO (the page after 0xfeafffff is
     * not RAM either: nothing is mapped there, reads as open bus). */
    reset_pm32(movsb_start, movsb_end);
    g_string_truncate(io_log, 0);
    tm_write32(0x100ffe, 0x44332211);
    env->regs[R_ESI] = 0x100ffe;
    env->regs[R_EDI] = MMIO_ADDR + 0xffe;
    env->regs[R_ECX] = 4;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_true(g_str_has_prefix(io_log->str, "wffe/1=11;wfff/1=22;"));
    g_assert_cmphex(env->regs[R_ECX], ==, 0);
}

/* 16-bit addressing: SI and DI wrap at 64 KiB, the upper half of ECX is
 * left alone. */
static void test_address_wrap16(void)
{
    reset_pm32(movsb_a16_start, movsb_a16_end);
    ram_host[0xfffe] = 0xa1;
    ram_host[0xffff] = 0xa2;
    ram_host[0x0000] = 0xa3;
    ram_host[0x0001] = 0xa4;
    env->regs[R_ESI] = 0x1234fffe;
    env->regs[R_EDI] = 0x9000;
    env->regs[R_ECX] = 0xabcd0004;
    g_assert_cmpint(run(), ==, VCPU_EXIT_HALT);
    g_assert_cmphex(tm_read32(0x9000), ==, 0xa4a3a2a1);
    g_assert_cmphex(env->regs[R_ESI], ==, 0x12340002);
    g_assert_cmphex(env->regs[R_EDI], ==, 0x9004);
    g_assert_cmphex(env->regs[R_ECX], ==, 0xabcd0000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    tm_machine_init(&machine, RAM_SIZE);
    cpu = machine.cpu;
    env = machine.env;
    ram_host = machine.ram_host;
    io_log = g_string_new(NULL);
    memory_region_init_io(&mmio_mr, NULL, &mmio_ops, NULL, "test-mmio", 0x1000);
    memory_region_add_subregion(get_system_memory(), MMIO_ADDR, &mmio_mr);

    g_test_add_func("/tcg/string/movs-forward", test_movs_forward);
    g_test_add_func("/tcg/string/movs-backward", test_movs_backward);
    g_test_add_func("/tcg/string/movs-overlap", test_movs_overlap);
    g_test_add_func("/tcg/string/stos", test_stos);
    g_test_add_func("/tcg/string/fault-in-source", test_fault_in_source);
    g_test_add_func("/tcg/string/fault-in-destination", test_fault_in_destination);
    g_test_add_func("/tcg/string/fault-stos", test_fault_stos);
    g_test_add_func("/tcg/string/interrupt-mid-copy", test_interrupt_mid_copy);
    g_test_add_func("/tcg/string/dirty-tracking", test_dirty_tracking);
    g_test_add_func("/tcg/string/copy-over-code", test_copy_over_code);
    g_test_add_func("/tcg/string/copy-over-own-tb", test_copy_over_own_tb);
    g_test_add_func("/tcg/string/mmio", test_mmio);
    g_test_add_func("/tcg/string/address-wrap16", test_address_wrap16);
    return g_test_run();
}
