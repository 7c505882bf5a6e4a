/*
 * TCG runner: a tiny machine (4 MiB of RAM, one vCPU, no board) in long mode
 * at CPL 3, like the native process. The page tables map the test region at
 * the same virtual addresses as the native mapping, with the same
 * permissions (user code, guard pages not present, a read-only page). The
 * sequence is followed by INT3; every vector goes through a 64-bit
 * interrupt gate with IST1 to a one-byte HLT stub, so the exec loop returns
 * and the frame on the IST stack gives RIP, RFLAGS, RSP and the error code.
 */
#include "kestrel/osdep.h"
#include "exec/memory.h"
#include "exec/ramblock.h"
#include "exec/tcg.h"
#include "sysemu/accel.h"
#include "tcg-diff.h"

#define RAM_SIZE     (4u << 20)
#define GDT_PHYS     0x1000u
#define IDT_PHYS     0x2000u
#define STUBS_PHYS   0x3000u
#define TSS_PHYS     0x4000u
#define IST_TOP      0x6000u
#define PML4_PHYS    0x10000u
#define REGION_PHYS  0x200000u
/* The system structures (GDT, IDT, stubs, TSS, IST stack: the first 2 MiB
 * of RAM) are mapped supervisor-only at KBASE, so the low user addresses
 * are not present, as in the native process. */
#define KBASE        0xffff800000000000ull

#define SEL_KCODE 0x08
#define SEL_UCODE 0x33
#define SEL_UCODE32 0x23
#define SEL_UDATA 0x2b
#define SEL_TSS   0x40

static MemoryRegion ram;
static uint8_t *ram_host;
static CPUState *cpu;
static uint64_t guest_fs_base;
static uint16_t host_sel[6];

static void wr64(uint64_t pa, uint64_t v)
{
    memcpy(ram_host + pa, &v, 8);
}

static uint64_t rd64(uint64_t pa)
{
    uint64_t v;
    memcpy(&v, ram_host + pa, 8);
    return v;
}

static uint64_t region_phys(uint64_t va)
{
    return REGION_PHYS + (va - REGION_VA);
}

static void build_tables(void)
{
    /* GDT: kernel code/data, user code32/data/code64 (Linux's selectors), TSS. */
    wr64(GDT_PHYS + 0x08, 0x00af9a000000ffffull);
    wr64(GDT_PHYS + 0x10, 0x00cf92000000ffffull);
    wr64(GDT_PHYS + 0x20, 0x00cffa000000ffffull);
    wr64(GDT_PHYS + 0x28, 0x00cff2000000ffffull);
    wr64(GDT_PHYS + 0x30, 0x00affa000000ffffull);
    wr64(GDT_PHYS + 0x40, ((uint64_t)0x8900 << 32) | ((uint64_t)TSS_PHYS << 16) | 0x67);
    wr64(GDT_PHYS + 0x48, (KBASE + TSS_PHYS) >> 32);

    /* IDT: every vector to its HLT stub on IST1; #BP and #OF callable from CPL 3. */
    for (unsigned v = 0; v < 256; v++) {
        uint64_t off = KBASE + STUBS_PHYS + v;
        uint32_t dpl = (v == 3 || v == 4) ? 3 : 0;
        uint32_t lo = ((uint32_t)SEL_KCODE << 16) | (off & 0xffff);
        uint32_t hi = ((uint32_t)off & 0xffff0000u) | 0x8e00u | (dpl << 13) | 1u;
        wr64(IDT_PHYS + v * 16, ((uint64_t)hi << 32) | lo);
        wr64(IDT_PHYS + v * 16 + 8, off >> 32);
        ram_host[STUBS_PHYS + v] = 0xf4;
    }
    memset(ram_host + TSS_PHYS, 0, 0x68);
    wr64(TSS_PHYS + 4, KBASE + IST_TOP);       /* RSP0 */
    wr64(TSS_PHYS + 0x24, KBASE + IST_TOP);    /* IST1 */
    ram_host[TSS_PHYS + 0x66] = 0x68;   /* I/O map base past the limit: no bitmap */

    /* Page tables: the first 2 MiB of RAM at KBASE for the kernel side;
     * the test region with 4 KiB pages at REGION_VA; nothing else. */
    wr64(PML4_PHYS, (PML4_PHYS + 0x1000) | 7);
    wr64(PML4_PHYS + 0x1000 + 8, (PML4_PHYS + 0x3000) | 7);      /* PDPT[1]: 1 GiB.. */
    wr64(PML4_PHYS + 256 * 8, (PML4_PHYS + 0x5000) | 3);         /* KBASE */
    wr64(PML4_PHYS + 0x5000, (PML4_PHYS + 0x6000) | 3);
    wr64(PML4_PHYS + 0x6000, 0x83);                               /* 2 MiB page at 0 */
    wr64(PML4_PHYS + 0x3000, (PML4_PHYS + 0x4000) | 7);          /* PD[0] -> PT */
    for (uint64_t va = REGION_VA; va < REGION_VA + REGION_SIZE; va += 0x1000) {
        uint64_t pte = region_phys(va) | 5;                       /* present, user, read-only */
        if (va == GUARD0_VA || va == GUARD1_VA) {
            pte = 0;
        } else if (va >= DATA_VA && va < DATA_VA + DATA_SIZE) {
            pte |= 2;
        }
        wr64(PML4_PHYS + 0x4000 + ((va - REGION_VA) >> 12) * 8, pte);
    }
}

void guest_init(uint64_t fs_base, const uint8_t *ro_page, const uint16_t sel[6])
{
    guest_fs_base = fs_base;
    memcpy(host_sel, sel, sizeof(host_sel));
    memory_system_init();
    g_assert(memory_region_init_ram(&ram, NULL, "ram", RAM_SIZE, NULL));
    memory_region_add_subregion(get_system_memory(), 0, &ram);
    ram_host = memory_region_get_ram_ptr(&ram);
    tcg_standalone = true;
    tcg_engine_init();
    cpu = g_new0(CPUState, 1);
    g_assert(x86_cpu_set_model(&cpu->env, "max", NULL));
    x86_cpu_reset(&cpu->env);
    tcg_vcpu_init(cpu);
    build_tables();
    memcpy(ram_host + region_phys(RO_VA), ro_page, 0x1000);
}

static bool has_error_code(int v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21;
}

static void set_user_state(CPUX86State *env, const Regs *in, bool mode32)
{
    const uint32_t code = DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK | DESC_A_MASK |
                          (mode32 ? DESC_B_MASK : DESC_L_MASK) | DESC_G_MASK |
                          (3u << DESC_DPL_SHIFT);
    const uint32_t data = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK | DESC_B_MASK |
                          DESC_G_MASK | (3u << DESC_DPL_SHIFT);
    env->cr[0] = CR0_PE | CR0_PG | CR0_ET | CR0_WP | CR0_NE;
    env->cr[2] = 0;
    env->cr[3] = PML4_PHYS;
    env->cr[4] = CR4_PAE;
    env->efer = EFER_LME | EFER_LMA;
    env->gdt.base = KBASE + GDT_PHYS;
    env->gdt.limit = 0x4f;
    env->idt.base = KBASE + IDT_PHYS;
    env->idt.limit = 256 * 16 - 1;
    env->tr = (SegmentCache){ SEL_TSS, KBASE + TSS_PHYS, 0x67,
                              DESC_P_MASK | (0xbu << DESC_TYPE_SHIFT) };
    env->segs[R_ES] = (SegmentCache){ host_sel[0], 0, 0xffffffff, data };
    env->segs[R_CS] = (SegmentCache){ mode32 ? SEL_UCODE32 : SEL_UCODE, 0, 0xffffffff, code };
    env->segs[R_SS] = (SegmentCache){ SEL_UDATA, 0, 0xffffffff, data };
    env->segs[R_DS] = (SegmentCache){ host_sel[3], 0, 0xffffffff, data };
    env->segs[R_FS] = (SegmentCache){ host_sel[4], guest_fs_base, 0xffffffff, data };
    env->segs[R_GS] = (SegmentCache){ host_sel[5], GS_BASE, 0xffffffff, data };
    memcpy(env->regs, in->r, sizeof(in->r));
    env->rip = in->rip;
    x86_cpu_set_eflags(env, in->flags);
    env->halted = false;
}

void guest_run(const Seq *seq, const uint8_t *data, Outcome *out)
{
    CPUX86State *env = &cpu->env;
    TcgCpu *c = tcg_cpu(cpu);
    static bool flushed;
    uint8_t code[CODE_MAX + 1];
    uint64_t sp, frame_rip;
    int r = -1, v;

    memcpy(code, seq->code, seq->len);
    code[seq->len] = 0xcc;        /* int3: back to the stub of vector 3 */
    g_assert_cmpint(address_space_write(&address_space_memory, region_phys(CODE_VA), code,
                                        seq->len + 1), ==, MEMTX_OK);
    memcpy(ram_host + region_phys(DATA_VA), data, DATA_SIZE);
    set_user_state(env, &seq->init, seq->mode32);
    c->reset_pending = false;
    if (!flushed) {
        tlb_flush(c);
        flushed = true;
    }
    for (int k = 0; k < 64; k++) {
        r = tcg_exec_vcpu(cpu);
        if (r == VCPU_EXIT_HALT || c->reset_pending) {
            break;
        }
    }
    memcpy(out->data, ram_host + region_phys(DATA_VA), DATA_SIZE);
    if (r != VCPU_EXIT_HALT || c->reset_pending || env->rip < KBASE + STUBS_PHYS + 1 ||
        env->rip > KBASE + STUBS_PHYS + 256) {
        /* Triple fault or something unexpected: report as vector -2. */
        memcpy(out->regs.r, env->regs, sizeof(out->regs.r));
        out->regs.rip = env->rip;
        out->regs.flags = x86_cpu_get_eflags(env);
        out->vector = -2;
        out->error_code = 0;
        out->cr2 = env->cr[2];
        c->reset_pending = false;
        tlb_flush(c);
        return;
    }
    v = (int)(env->rip - KBASE - STUBS_PHYS - 1);
    sp = env->regs[R_ESP] - KBASE;
    g_assert(sp >= IST_TOP - 0x100 && sp < IST_TOP);
    out->error_code = 0;
    if (has_error_code(v)) {
        out->error_code = (uint32_t)rd64(sp);
        sp += 8;
    }
    frame_rip = rd64(sp);
    memcpy(out->regs.r, env->regs, sizeof(out->regs.r));
    out->regs.r[RSP] = rd64(sp + 24);
    out->regs.flags = rd64(sp + 16);
    out->regs.rip = frame_rip;
    out->cr2 = env->cr[2];
    out->vector = v;
    if (v == 3 && frame_rip == CODE_VA + seq->len + 1) {
        out->vector = -1;
        out->regs.rip = CODE_VA + seq->len;
    }
}
