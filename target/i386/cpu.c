/* x86 CPU models, CPUID, reset state and register dumps. */
#include "target/i386/cpu.h"
#include "hw/core/cpu.h"

/* Leaf 1 EDX */
#define F_FPU (1u << 0)
#define F_VME (1u << 1)
#define F_DE (1u << 2)
#define F_PSE (1u << 3)
#define F_TSC (1u << 4)
#define F_MSR (1u << 5)
#define F_PAE (1u << 6)
#define F_MCE (1u << 7)
#define F_CX8 (1u << 8)
#define F_APIC (1u << 9)
#define F_SEP (1u << 11)
#define F_MTRR (1u << 12)
#define F_PGE (1u << 13)
#define F_MCA (1u << 14)
#define F_CMOV (1u << 15)
#define F_PAT (1u << 16)
#define F_PSE36 (1u << 17)
#define F_CLFLUSH (1u << 19)
#define F_MMX (1u << 23)
#define F_FXSR (1u << 24)
#define F_SSE (1u << 25)
#define F_SSE2 (1u << 26)
/* Leaf 1 ECX */
#define F_SSE3 (1u << 0)
#define F_CX16 (1u << 13)
#define F_MOVBE (1u << 22)
#define F_POPCNT (1u << 23)
#define F_RDRAND (1u << 30)
#define F_HYPERVISOR (1u << 31)
/* Leaf 0x80000001 EDX / ECX */
#define F_SYSCALL (1u << 11)
#define F_NX (1u << 20)
#define F_RDTSCP (1u << 27)
#define F_PDPE1GB (1u << 26)        /* 1 GiB pages (target/i386/tcg/mmu.c) */
#define F_LM (1u << 29)
#define F_LAHF_LM (1u << 0)
#define F_ABM (1u << 5)             /* LZCNT */
/* Leaf 7 EBX / ECX */
#define F7_FSGSBASE (1u << 0)
#define F7_BMI1 (1u << 3)
#define F7_BMI2 (1u << 8)
#define F7_RDSEED (1u << 18)
#define F7_ADX (1u << 19)
#define F7_ECX_RDPID (1u << 22)
/* The integer extensions TCG implements (target/i386/tcg/intext.c, alu.c). */
#define TCG_LEAF1_ECX (F_CX16 | F_MOVBE | F_POPCNT | F_RDRAND)
#define TCG_LEAF7_EBX (F7_FSGSBASE | F7_BMI1 | F7_BMI2 | F7_RDSEED | F7_ADX)
/* System features TCG implements (target/i386/tcg/mmu.c). */
#define F7_SMEP (1u << 7)
#define F7_SMAP (1u << 20)
#define TCG_LEAF7_EBX_SYSTEM (F7_SMEP | F7_SMAP)

typedef struct X86CPUModel {
    const char *name;
    const char *vendor;         /* 12 characters */
    unsigned family, model, stepping;
    uint32_t level, xlevel;
    uint32_t features[4];
    uint32_t leaf7_ebx, leaf7_ecx;
    const char *model_id;
    bool passthrough;
    const char *description;
} X86CPUModel;

#define BASE_EDX (F_FPU | F_DE | F_PSE | F_TSC | F_MSR | F_PAE | F_MCE | F_CX8 | F_APIC | \
                  F_SEP | F_MTRR | F_PGE | F_MCA | F_CMOV | F_PAT | F_PSE36 | F_CLFLUSH | \
                  F_MMX | F_FXSR | F_SSE | F_SSE2)

static const X86CPUModel cpu_models[] = {
    {
        .name = "qemu64", .vendor = "AuthenticAMD",
        .family = 15, .model = 107, .stepping = 1,
        .level = 0xd, .xlevel = 0x8000000a,
        .features = { BASE_EDX, F_SSE3 | F_CX16 | F_HYPERVISOR,
                      F_SYSCALL | F_NX | F_LM, F_LAHF_LM },
        .model_id = "QEMU Virtual CPU version 2.5+",
        .description = "QEMU's baseline 64-bit CPU (portable across hosts)",
    },
    {
        .name = "max", .vendor = "AuthenticAMD",
        .family = 15, .model = 107, .stepping = 1,
        .level = 0xd, .xlevel = 0x8000000a,
        .features = { BASE_EDX, F_SSE3 | TCG_LEAF1_ECX | F_HYPERVISOR,
                      F_SYSCALL | F_NX | F_LM | F_RDTSCP | F_PDPE1GB, F_LAHF_LM | F_ABM },
        /* Under KVM "max" passes the host's CPUID through instead. */
        .leaf7_ebx = TCG_LEAF7_EBX | TCG_LEAF7_EBX_SYSTEM, .leaf7_ecx = F7_ECX_RDPID,
        .model_id = "Kestrel max CPU",
        .passthrough = true,
        .description = "everything the accelerator supports",
    },
    {
        .name = "host", .vendor = "AuthenticAMD",
        .family = 15, .model = 107, .stepping = 1,
        .level = 0xd, .xlevel = 0x8000000a,
        .features = { BASE_EDX, F_SSE3 | F_CX16 | F_HYPERVISOR,
                      F_SYSCALL | F_NX | F_LM | F_RDTSCP, F_LAHF_LM },
        .model_id = "Kestrel host CPU",
        .passthrough = true,
        .description = "the host CPU as KVM reports it (KVM only)",
    },
};

static uint32_t cpuid_version_of(const X86CPUModel *m)
{
    uint32_t family = m->family, model = m->model;
    uint32_t v = (m->stepping & 0xf);

    v |= (model & 0xf) << 4;
    v |= (family > 0xf ? 0xf : family) << 8;
    v |= ((model >> 4) & 0xf) << 16;
    if (family > 0xf) {
        v |= ((family - 0xf) & 0xff) << 20;
    }
    return v;
}

bool x86_cpu_set_model(CPUX86State *env, const char *name, GError **errp)
{
    const X86CPUModel *m = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(cpu_models); i++) {
        if (!strcmp(cpu_models[i].name, name)) {
            m = &cpu_models[i];
        }
    }
    if (!m) {
        GString *names = g_string_new(NULL);
        for (size_t i = 0; i < G_N_ELEMENTS(cpu_models); i++) {
            g_string_append_printf(names, "%s%s", i ? ", " : "", cpu_models[i].name);
        }
        error_setg(errp, "unable to find CPU model '%s' (known: %s)", name, names->str);
        g_string_free(names, TRUE);
        return false;
    }
    env->cpuid_level = m->level;
    env->cpuid_xlevel = m->xlevel;
    memcpy(&env->cpuid_vendor[0], m->vendor, 4);
    memcpy(&env->cpuid_vendor[1], m->vendor + 4, 4);
    memcpy(&env->cpuid_vendor[2], m->vendor + 8, 4);
    env->cpuid_version = cpuid_version_of(m);
    memcpy(env->cpuid_features, m->features, sizeof(env->cpuid_features));
    env->cpuid_7_0_ebx = m->leaf7_ebx;
    env->cpuid_7_0_ecx = m->leaf7_ecx;
    env->cpuid_7_0_edx = 0;
    memset(env->cpuid_model_id, 0, sizeof(env->cpuid_model_id));
    g_strlcpy(env->cpuid_model_id, m->model_id, sizeof(env->cpuid_model_id));
    env->cpuid_passthrough = m->passthrough;
    return true;
}

uint32_t x86_topology_core_bits(uint32_t nr_cores)
{
    uint32_t bits = 0;

    while (bits < 32 && (1ull << bits) < nr_cores) {
        bits++;
    }
    return bits;
}

void x86_cpu_set_topology(CPUX86State *env, uint32_t nr_cores)
{
    env->cpuid_nr_cores = nr_cores ? nr_cores : 1;
}

void x86_cpu_get_cpuid(const CPUX86State *env, uint32_t leaf, uint32_t subleaf,
                       uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
    uint32_t nr_cores = env->cpuid_nr_cores ? env->cpuid_nr_cores : 1;

    *eax = *ebx = *ecx = *edx = 0;

    if (leaf >= 0x80000000 ? leaf > env->cpuid_xlevel : leaf > env->cpuid_level) {
        return;
    }
    switch (leaf) {
    case 0:
        *eax = env->cpuid_level;
        *ebx = env->cpuid_vendor[0];
        *edx = env->cpuid_vendor[1];
        *ecx = env->cpuid_vendor[2];
        break;
    case 1:
        *eax = env->cpuid_version;
        /* APIC ID, logical processors per package, 64-byte CLFLUSH line.
         * HTT says the count field is valid (more than one per package). */
        *ebx = (env->apic_id << 24) | ((nr_cores & 0xff) << 16) | (8u << 8);
        *ecx = env->cpuid_features[1];
        *edx = env->cpuid_features[0] | (nr_cores > 1 ? CPUID_HTT : 0);
        break;
    case 7:
        if (subleaf == 0) {
            *ebx = env->cpuid_7_0_ebx;
            *ecx = env->cpuid_7_0_ecx;
            *edx = env->cpuid_7_0_edx;
        }
        break;
    case 0xb:
    case 0x1f:
        /* x2APIC topology: one thread per core (SMT level, shift 0), then
         * nr_cores cores per package (core level, shift = core bits). */
        if (subleaf == 0) {
            *ebx = 1;
            *ecx = 0x100;
        } else if (subleaf == 1) {
            *eax = x86_topology_core_bits(nr_cores);
            *ebx = nr_cores;
            *ecx = 0x200 | 1;
        } else {
            *ecx = subleaf & 0xff;
        }
        *edx = env->apic_id;
        break;
    case 0x80000000:
        *eax = env->cpuid_xlevel;
        *ebx = env->cpuid_vendor[0];
        *edx = env->cpuid_vendor[1];
        *ecx = env->cpuid_vendor[2];
        break;
    case 0x80000001:
        *eax = env->cpuid_version;
        *ecx = env->cpuid_features[3];
        *edx = env->cpuid_features[2];
        break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
        const uint32_t *words = (const uint32_t *)env->cpuid_model_id;
        unsigned base = (leaf - 0x80000002) * 4;
        *eax = words[base];
        *ebx = words[base + 1];
        *ecx = words[base + 2];
        *edx = words[base + 3];
        break;
    }
    case 0x80000005:
        /* L1: 64 KiB 2-way data and instruction caches, 64-byte lines. */
        *ecx = (64u << 24) | (2u << 16) | (1u << 8) | 64;
        *edx = (64u << 24) | (2u << 16) | (1u << 8) | 64;
        break;
    case 0x80000006:
        /* L2: 512 KiB, 16-way, 64-byte lines. */
        *ecx = (512u << 16) | (0x8u << 12) | (1u << 8) | 64;
        break;
    case 0x80000008:
        /* 40 physical, 48 virtual address bits; ECX (AMD): cores per
         * package minus one, and the APIC ID bits that number them. */
        *eax = 0x00003028;
        *ecx = (x86_topology_core_bits(nr_cores) << 12) | ((nr_cores - 1) & 0xff);
        break;
    default:
        break;
    }
}

static void set_segment(SegmentCache *seg, uint16_t selector, uint64_t base, uint32_t limit,
                        uint32_t flags)
{
    seg->selector = selector;
    seg->base = base;
    seg->limit = limit;
    seg->flags = flags;
}

void x86_cpu_reset(CPUX86State *env)
{
    /* Keep the CPU model and identity; everything else is power-on state. */
    size_t keep_from = offsetof(CPUX86State, cpuid_level);
    memset(env, 0, keep_from);

    env->eflags = RFLAGS_FIXED_1;
    env->cc_op = CC_OP_EFLAGS;
    env->rip = 0xfff0;
    env->regs[R_EDX] = env->cpuid_version;
    env->cr[0] = CR0_CD | CR0_NW | CR0_ET;

    const uint32_t data_flags = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK;
    for (int i = 0; i < 6; i++) {
        set_segment(&env->segs[i], 0, 0, 0xffff, data_flags);
    }
    set_segment(&env->segs[R_CS], 0xf000, 0xffff0000, 0xffff,
                DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK | DESC_A_MASK);
    set_segment(&env->ldt, 0, 0, 0xffff, DESC_P_MASK | (2u << DESC_TYPE_SHIFT));
    set_segment(&env->tr, 0, 0, 0xffff, DESC_P_MASK | (11u << DESC_TYPE_SHIFT));
    env->gdt.limit = 0xffff;
    env->idt.limit = 0xffff;

    env->dr[6] = 0xffff0ff0;
    env->dr[7] = 0x400;
    env->xcr0 = 1;
    env->pat = 0x0007040600070406ULL;
    env->apic_base = 0xfee00000ULL | (1u << 11) | (env->apic_id == 0 ? (1u << 8) : 0);
    env->exception_nr = -1;
    env->a20_enabled = true;

    /* x87 control word and MXCSR power-on values in the XSAVE legacy area. */
    env->xsave[0] = 0x7f;
    env->xsave[1] = 0x03;
    uint32_t mxcsr = 0x1f80;
    memcpy(&env->xsave[24], &mxcsr, sizeof(mxcsr));
    /* XSTATE_BV: x87 and SSE state present. */
    env->xsave[512] = 0x3;
}

void x86_cpu_set_flat_protected_mode(CPUX86State *env, uint32_t eip)
{
    const uint32_t code = DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK |
                          DESC_A_MASK | DESC_B_MASK | DESC_G_MASK;
    const uint32_t data = DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK |
                          DESC_B_MASK | DESC_G_MASK;

    env->cr[0] = CR0_PE | CR0_ET;
    env->cr[3] = 0;
    env->cr[4] = 0;
    env->efer = 0;
    for (int i = 0; i < 6; i++) {
        set_segment(&env->segs[i], 0x18, 0, 0xffffffff, data);
    }
    set_segment(&env->segs[R_CS], 0x10, 0, 0xffffffff, code);
    set_segment(&env->tr, 0, 0, 0xffff, DESC_P_MASK | (11u << DESC_TYPE_SHIFT));
    env->eflags = RFLAGS_FIXED_1;
    env->cc_op = CC_OP_EFLAGS;
    env->cc_src = 0;
    env->rip = eip;
    env->a20_enabled = true;
    env->halted = false;
}

bool x86_cpu_has_work(const CPUX86State *env, unsigned interrupt_request)
{
    if (interrupt_request & (CPU_INTERRUPT_NMI | CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI)) {
        return true;
    }
    return (interrupt_request & CPU_INTERRUPT_HARD) && (env->eflags & IF_MASK);
}

static void dump_segment(GString *out, const char *name, const SegmentCache *seg)
{
    g_string_append_printf(out, "%-3s=%04x %016" PRIx64 " %08x %08x\n", name,
                           seg->selector, seg->base, seg->limit, seg->flags);
}

void x86_cpu_dump_state(const CPUX86State *env, GString *out)
{
    static const char *const reg_names[16] = {
        "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
        "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
    };
    static const char *const seg_names[6] = { "ES", "CS", "SS", "DS", "FS", "GS" };
    uint64_t rflags = x86_cpu_get_eflags(env);

    for (int i = 0; i < 16; i++) {
        g_string_append_printf(out, "%-3s=%016" PRIx64 "%s", reg_names[i], env->regs[i],
                               (i % 4) == 3 ? "\n" : " ");
    }
    g_string_append_printf(out, "RIP=%016" PRIx64 " RFL=%08" PRIx64 " [%c%c%c%c%c%c%c] HLT=%d\n",
                           env->rip, rflags,
                           rflags & DF_MASK ? 'D' : '-', rflags & CC_O ? 'O' : '-',
                           rflags & CC_S ? 'S' : '-', rflags & CC_Z ? 'Z' : '-',
                           rflags & CC_A ? 'A' : '-', rflags & CC_P ? 'P' : '-',
                           rflags & CC_C ? 'C' : '-', env->halted);
    for (int i = 0; i < 6; i++) {
        dump_segment(out, seg_names[i], &env->segs[i]);
    }
    dump_segment(out, "LDT", &env->ldt);
    dump_segment(out, "TR", &env->tr);
    g_string_append_printf(out, "GDT=     %016" PRIx64 " %08x\n", env->gdt.base, env->gdt.limit);
    g_string_append_printf(out, "IDT=     %016" PRIx64 " %08x\n", env->idt.base, env->idt.limit);
    g_string_append_printf(out, "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64
                           " CR4=%08" PRIx64 "\n", env->cr[0], env->cr[2], env->cr[3],
                           env->cr[4]);
    g_string_append_printf(out, "EFER=%016" PRIx64 " XCR0=%016" PRIx64 " APICBASE=%016" PRIx64
                           "\n", env->efer, env->xcr0, env->apic_base);
    g_string_append_printf(out, "DR6=%016" PRIx64 " DR7=%016" PRIx64 "\n",
                           env->dr[6], env->dr[7]);
}

void x86_cpu_list_models(void)
{
    printf("Available CPUs:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(cpu_models); i++) {
        printf("  %-10s %s\n", cpu_models[i].name, cpu_models[i].description);
    }
}
