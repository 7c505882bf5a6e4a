/*
 * The in-process TCG test machine shared by the tests/unit/test-tcg-*
 * programs: see tcg-test-machine.h.
 */
#include "tcg-test-machine.h"

void tm_machine_init(TcgTestMachine *m, uint64_t ram_size)
{
    memory_system_init();
    g_assert(memory_region_init_ram(&m->ram, NULL, "ram", ram_size, NULL));
    memory_region_add_subregion(get_system_memory(), 0, &m->ram);
    m->ram_host = memory_region_get_ram_ptr(&m->ram);
    tcg_standalone = true;
    tcg_engine_init();
    m->cpu = g_new0(CPUState, 1);
    m->env = &m->cpu->env;
    g_assert(x86_cpu_set_model(m->env, "max", NULL));
    x86_cpu_reset(m->env);
    tcg_vcpu_init(m->cpu);
}

void tm_write(hwaddr addr, const void *buf, size_t len)
{
    g_assert_cmpint(address_space_write(&address_space_memory, addr, buf, len), ==, MEMTX_OK);
}

void tm_write16(hwaddr addr, uint16_t value)
{
    tm_write(addr, &value, 2);
}

void tm_write32(hwaddr addr, uint32_t value)
{
    tm_write(addr, &value, 4);
}

void tm_write64(hwaddr addr, uint64_t value)
{
    tm_write(addr, &value, 8);
}

void tm_read(hwaddr addr, void *buf, size_t len)
{
    g_assert_cmpint(address_space_read(&address_space_memory, addr, buf, len), ==, MEMTX_OK);
}

uint32_t tm_read32(hwaddr addr)
{
    uint32_t value;
    tm_read(addr, &value, 4);
    return value;
}

uint64_t tm_read64(hwaddr addr)
{
    uint64_t value;
    tm_read(addr, &value, 8);
    return value;
}

void tm_load(hwaddr addr, const uint8_t *start, const uint8_t *end)
{
    tm_write(addr, start, (size_t)(end - start));
}

void tm_load_with_hlt(hwaddr addr, const uint8_t *insn, size_t len)
{
    uint8_t buf[64];
    g_assert(len + 1 <= sizeof(buf));
    memcpy(buf, insn, len);
    buf[len] = 0xf4;    /* hlt */
    /* A device-side write: the engine drops the old translation. */
    tm_write(addr, buf, len + 1);
}

int tm_run(CPUState *cpu, int max_slices)
{
    for (int k = 0; k < max_slices; k++) {
        int r = tcg_exec_vcpu(cpu);
        if (r != VCPU_EXIT_KICK || tcg_cpu(cpu)->reset_pending) {
            return r;
        }
    }
    g_assert_not_reached();
}

void tm_flush(CPUState *cpu)
{
    tlb_flush(tcg_cpu(cpu));
    tcg_cpu(cpu)->reset_pending = false;
}

void tm_build_flat_gdt(hwaddr gdt_addr)
{
    tm_write64(gdt_addr + 0x00, 0);
    tm_write64(gdt_addr + TM_SEL_CODE64, 0x00af9a000000ffffull);
    tm_write64(gdt_addr + TM_SEL_CODE32, 0x00cf9a000000ffffull);
    tm_write64(gdt_addr + TM_SEL_DATA, 0x00cf92000000ffffull);
    tm_write64(gdt_addr + 0x20, 0);
}

void tm_write_gate32(hwaddr idt_addr, unsigned vector, uint16_t selector, uint32_t offset,
                     unsigned dpl)
{
    tm_write32(idt_addr + vector * 8, ((uint32_t)selector << 16) | (offset & 0xffff));
    tm_write32(idt_addr + vector * 8 + 4, (offset & 0xffff0000) | 0x8e00 | (dpl << 13));
}

void tm_write_gate64(hwaddr idt_addr, unsigned vector, uint16_t selector, uint64_t offset,
                     unsigned dpl)
{
    tm_write32(idt_addr + vector * 16, ((uint32_t)selector << 16) | (offset & 0xffff));
    tm_write32(idt_addr + vector * 16 + 4,
               ((uint32_t)offset & 0xffff0000) | 0x8e00 | (dpl << 13));
    tm_write64(idt_addr + vector * 16 + 8, offset >> 32);
}

void tm_set_descriptor_tables(CPUX86State *env, hwaddr gdt_addr, uint16_t gdt_limit,
                              hwaddr idt_addr, uint16_t idt_limit)
{
    env->gdt.base = gdt_addr;
    env->gdt.limit = gdt_limit;
    env->idt.base = idt_addr;
    env->idt.limit = idt_limit;
}

TM_GUEST(tm_pf_handler, ".code32\n pop %ebx\n mov %cr2, %edx\n mov $14, %ebp\n hlt\n");
TM_GUEST(tm_irq_handler, ".code32\n mov $0x30, %ebp\n hlt\n");
TM_GUEST(tm_other_handler, ".code32\n mov $0xee, %ebp\n hlt\n");

void tm_build_halting_idt32(hwaddr idt_addr, hwaddr handlers_addr)
{
    hwaddr pf_handler = handlers_addr;
    hwaddr irq_handler = handlers_addr + 0x40;
    hwaddr other_handler = handlers_addr + 0x80;

    for (unsigned v = 0; v < 256; v++) {
        hwaddr off = v == 14 ? pf_handler : v == 0x30 ? irq_handler : other_handler;
        tm_write_gate32(idt_addr, v, TM_SEL_CODE32, (uint32_t)off, 0);
    }
    tm_load(pf_handler, tm_pf_handler_start, tm_pf_handler_end);
    tm_load(irq_handler, tm_irq_handler_start, tm_irq_handler_end);
    tm_load(other_handler, tm_other_handler_start, tm_other_handler_end);
}

bool tm_vector_has_error_code(unsigned vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

hwaddr tm_stub_addr(hwaddr stubs_addr, unsigned vector)
{
    return stubs_addr + vector * 16;
}

void tm_build_exception_stubs(hwaddr stubs_addr, unsigned count, bool read_cr2)
{
    hwaddr common = tm_stub_addr(stubs_addr, count);
    static const uint8_t common_code[] = { 0x0f, 0x20, 0xd7, 0xf4 };   /* mov %cr2,%edi; hlt */

    if (read_cr2) {
        tm_write(common, common_code, sizeof(common_code));
    }
    for (unsigned v = 0; v < count; v++) {
        uint8_t s[16];
        unsigned n = 0;
        s[n++] = 0xbd;                  /* mov $v, %ebp */
        memcpy(&s[n], &v, 4);
        n += 4;
        if (tm_vector_has_error_code(v)) {
            s[n++] = 0x5e;              /* pop %esi / %rsi */
        }
        if (read_cr2) {
            int32_t rel = (int32_t)(common - (tm_stub_addr(stubs_addr, v) + n + 5));
            s[n++] = 0xe9;              /* jmp rel32 */
            memcpy(&s[n], &rel, 4);
            n += 4;
        } else {
            s[n++] = 0xf4;              /* hlt */
        }
        tm_write(tm_stub_addr(stubs_addr, v), s, n);
    }
}

void tm_build_long_identity_map(hwaddr pml4_addr, bool user)
{
    tm_write64(pml4_addr, (pml4_addr + 0x1000) | 7);
    tm_write64(pml4_addr + 0x1000, (pml4_addr + 0x2000) | 7);
    for (uint64_t i = 0; i < 512; i++) {
        tm_write64(pml4_addr + 0x2000 + i * 8, (i << 21) | 0x83 | (user ? 4 : 0));
    }
}

void tm_build_legacy_identity_map(hwaddr pd_addr)
{
    tm_write32(pd_addr, (pd_addr + 0x1000) | 3);
    for (uint32_t i = 1; i < 1024; i++) {
        tm_write32(pd_addr + i * 4, 0);
    }
    for (uint32_t i = 0; i < 1024; i++) {
        tm_write32(pd_addr + 0x1000 + i * 4, (i << 12) | 3);
    }
}

void tm_enable_paging(CPUState *cpu, hwaddr cr3)
{
    cpu->env.cr[3] = cr3;
    cpu->env.cr[0] |= CR0_PG | CR0_WP;
    tlb_flush(tcg_cpu(cpu));
}

void tm_reset_flat_pm32(CPUState *cpu, hwaddr code_addr, const uint8_t *start,
                        const uint8_t *end)
{
    x86_cpu_reset(&cpu->env);
    x86_cpu_set_flat_protected_mode(&cpu->env, code_addr);
    tm_load(code_addr, start, end);
}

void tm_run_native(uint8_t *exec_page, const uint8_t *head, const uint8_t *head_end,
                   const uint8_t *insn, size_t len, const uint8_t *tail,
                   const uint8_t *tail_end, void *state)
{
    size_t h = (size_t)(head_end - head), t = (size_t)(tail_end - tail);
    memcpy(exec_page, head, h);
    memcpy(exec_page + h, insn, len);
    memcpy(exec_page + h + len, tail, t);
    __builtin___clear_cache((char *)exec_page, (char *)exec_page + h + len + t);
    ((void (*)(void *))(void *)exec_page)(state);
}

uint64_t tm_rand_operand(void)
{
    uint64_t v = ((uint64_t)(uint32_t)g_test_rand_int() << 32) | (uint32_t)g_test_rand_int();
    switch (g_test_rand_int_range(0, 4)) {
    case 0: return v & 0xff;
    case 1: return v & 0xffff;
    case 2: return v & 0xffffffff;
    default: return v;
    }
}

void tm_reset_pm32_halting(CPUState *cpu, const uint8_t *start, const uint8_t *end)
{
    tm_reset_flat_pm32(cpu, TM_LOW_CODE_ADDR, start, end);
    tm_build_flat_gdt(TM_LOW_GDT_ADDR);
    tm_build_halting_idt32(TM_LOW_IDT_ADDR, TM_LOW_HANDLERS_ADDR);
    tm_set_descriptor_tables(&cpu->env, TM_LOW_GDT_ADDR, TM_GDT_LIMIT, TM_LOW_IDT_ADDR,
                             256 * 8 - 1);
    cpu->env.regs[R_ESP] = TM_LOW_STACK_TOP;
    cpu->env.regs[R_EBP] = 0;
    tm_flush(cpu);
}

void tm_set_long_mode(CPUX86State *env, hwaddr pml4_addr, uint16_t code_sel, uint16_t data_sel,
                      bool compat)
{
    const uint32_t code = DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK |
                          DESC_A_MASK | DESC_G_MASK | (compat ? DESC_B_MASK : DESC_L_MASK);
    const uint32_t data = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK |
                          DESC_B_MASK | DESC_G_MASK;
    for (int i = 0; i < 6; i++) {
        env->segs[i] = (SegmentCache){ data_sel, 0, 0xffffffff, data };
    }
    env->segs[R_CS] = (SegmentCache){ code_sel, 0, 0xffffffff, code };
    env->cr[0] = CR0_PE | CR0_PG | CR0_ET | CR0_WP;
    env->cr[3] = pml4_addr;
    env->cr[4] = CR4_PAE;
    env->efer = EFER_LME | EFER_LMA;
}
