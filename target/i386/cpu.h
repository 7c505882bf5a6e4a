/*
 * x86-64 architectural CPU state, shared by both accelerators: KVM copies it
 * in and out of the kernel, TCG executes on it directly. See docs/cpu.md.
 */
#ifndef TARGET_I386_CPU_H
#define TARGET_I386_CPU_H

#include "kestrel/osdep.h"

enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI,
       R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };
enum { R_ES, R_CS, R_SS, R_DS, R_FS, R_GS };

/* EFLAGS bits */
#define CC_C    0x0001
#define CC_P    0x0004
#define CC_A    0x0010
#define CC_Z    0x0040
#define CC_S    0x0080
#define CC_O    0x0800
#define CC_ARITH_MASK (CC_C | CC_P | CC_A | CC_Z | CC_S | CC_O)
#define TF_MASK   0x00000100
#define IF_MASK   0x00000200
#define DF_MASK   0x00000400
#define IOPL_MASK 0x00003000
#define NT_MASK   0x00004000
#define RF_MASK   0x00010000
#define VM_MASK   0x00020000
#define AC_MASK   0x00040000
#define VIF_MASK  0x00080000
#define VIP_MASK  0x00100000
#define ID_MASK   0x00200000
#define RFLAGS_FIXED_1 0x2

/* Control registers */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)
#define CR4_VME (1u << 0)
#define CR4_PVI (1u << 1)
#define CR4_TSD (1u << 2)
#define CR4_DE  (1u << 3)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_MCE (1u << 6)
#define CR4_PGE (1u << 7)
#define CR4_PCE (1u << 8)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_UMIP (1u << 11)
#define CR4_LA57 (1u << 12)
#define CR4_FSGSBASE (1u << 16)
#define CR4_PCIDE (1u << 17)
#define CR4_OSXSAVE (1u << 18)
#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)
#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

/* MSRs */
#define MSR_IA32_TSC            0x10
#define MSR_IA32_APICBASE       0x1b
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_IA32_PAT            0x277
#define MSR_MTRRcap             0xfe
#define MSR_MTRRphysBase0       0x200
#define MSR_MTRRfix64K_00000    0x250
#define MSR_MTRRfix16K_80000    0x258
#define MSR_MTRRfix16K_A0000    0x259
#define MSR_MTRRfix4K_C0000     0x268   /* ... 0x26f */
#define MSR_MTRRdefType         0x2ff
#define MSR_EFER                0xc0000080
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_FMASK               0xc0000084
#define MSR_FS_BASE             0xc0000100
#define MSR_GS_BASE             0xc0000101
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103

/* Segment descriptor attribute bits, kept in SegmentCache.flags at their
 * position in the descriptor's high dword. */
#define DESC_TYPE_SHIFT 8
#define DESC_TYPE_MASK  (15u << DESC_TYPE_SHIFT)
#define DESC_S_MASK     (1u << 12)
#define DESC_DPL_SHIFT  13
#define DESC_DPL_MASK   (3u << DESC_DPL_SHIFT)
#define DESC_P_MASK     (1u << 15)
#define DESC_AVL_MASK   (1u << 20)
#define DESC_L_MASK     (1u << 21)
#define DESC_B_MASK     (1u << 22)
#define DESC_G_MASK     (1u << 23)
#define DESC_CS_MASK    (1u << 11)   /* code (in type) */
#define DESC_C_MASK     (1u << 10)   /* conforming code */
#define DESC_E_MASK     (1u << 10)   /* expand-down data */
#define DESC_R_MASK     (1u << 9)    /* readable code */
#define DESC_W_MASK     (1u << 9)    /* writable data */
#define DESC_A_MASK     (1u << 8)    /* accessed */

typedef struct SegmentCache {
    uint16_t selector;
    uint64_t base;
    uint32_t limit;     /* in bytes (granularity already applied) */
    uint32_t flags;     /* DESC_* */
} SegmentCache;

typedef struct DescriptorTable {
    uint64_t base;
    uint16_t limit;
} DescriptorTable;

#define X86_XSAVE_AREA_SIZE 4096

/* Lazy condition codes (TCG): the arithmetic flags are a function of cc_op
 * and cc_dst/cc_src/cc_src2. CC_OP_EFLAGS (0, so zeroed state is valid) means
 * cc_src holds the arithmetic flags themselves. The TCG flags code defines
 * the other values. */
#define CC_OP_EFLAGS 0

typedef struct CPUX86State {
    uint64_t regs[16];
    uint64_t rip;
    /* Non-arithmetic RFLAGS bits (IF, DF, TF, IOPL, ...) plus bit 1; the
     * arithmetic bits live in the lazy cc_* state. Use x86_cpu_get_eflags. */
    uint64_t eflags;
    uint32_t cc_op;
    uint64_t cc_dst, cc_src, cc_src2;

    SegmentCache segs[6];
    SegmentCache ldt, tr;
    DescriptorTable gdt, idt;

    uint64_t cr[5];          /* cr[1] unused */
    uint64_t cr8;            /* TPR */
    uint64_t efer;
    uint64_t xcr0;
    uint64_t dr[8];

    uint64_t star, lstar, cstar, fmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat;
    uint64_t tsc;
    uint64_t tsc_aux;
    uint64_t apic_base;
    uint64_t misc_enable;
    /* MTRRs: kept as storage for the guest (TCG gives memory types no
     * effect). mtrr_var holds PHYSBASEn/PHYSMASKn pairs (MSR 0x200 + k). */
    uint64_t mtrr_deftype;
    uint64_t mtrr_fixed[11];
    uint64_t mtrr_var[16];
    /* TCG: DR6 B0-B3 bits of data breakpoints the current instruction hit;
     * the #DB trap is taken once it completes. */
    uint32_t pending_dr6;

    /* x87/SSE/AVX state in the XSAVE standard format (legacy area + header +
     * components), the format KVM_GET/SET_XSAVE uses; TCG reads it too. */
    uint8_t xsave[X86_XSAVE_AREA_SIZE] __attribute__((aligned(64)));

    /* Pending event and interrupt state (for accelerators and migration). */
    bool halted;
    int32_t exception_nr;          /* -1: none pending */
    uint32_t error_code;
    bool has_error_code;
    uint32_t interrupt_shadow;     /* STI / MOV SS blocking */
    bool nmi_pending;
    bool nmi_masked;               /* an NMI was delivered: blocked until IRET */

    /* The A20 gate: address bit 20 is forced to 0 while disabled. */
    bool a20_enabled;

    /* Interrupt-controller state of an accelerator that emulates the local
     * APIC itself (KVM's in-kernel irqchip); valid only with lapic_valid.
     * mp_state is X86_MP_STATE_*; lapic_regs is the 1 KiB xAPIC register
     * page (register at offset 0x10 * n, as in KVM_GET_LAPIC). Reset
     * clears both: the accelerator derives them again at its RESET sync. */
    bool lapic_valid;
    uint32_t mp_state;
    uint8_t lapic_regs[1024];

    /* CPU model (CPUID) */
    uint32_t cpuid_level;          /* max basic leaf */
    uint32_t cpuid_xlevel;         /* max extended leaf */
    uint32_t cpuid_vendor[3];      /* EBX, EDX, ECX of leaf 0 */
    uint32_t cpuid_version;        /* leaf 1 EAX */
    uint32_t cpuid_features[4];    /* leaf 1 EDX, leaf 1 ECX, 0x80000001 EDX, 0x80000001 ECX */
    uint32_t cpuid_7_0_ebx, cpuid_7_0_ecx, cpuid_7_0_edx;
    char cpuid_model_id[48];
    uint32_t apic_id;
    /* Topology CPUID reports: this many cores in one package, one thread
     * each (0 counts as 1). See x86_cpu_set_topology(). */
    uint32_t cpuid_nr_cores;
    /* "host"/"max": KVM exposes everything it supports, not a fixed list. */
    bool cpuid_passthrough;
} CPUX86State;

/* Multiprocessor run states of a vCPU (the numbering of KVM_GET_MP_STATE). */
#define X86_MP_STATE_RUNNABLE       0
#define X86_MP_STATE_WAIT_FOR_SIPI  1   /* application processor after reset/INIT */
#define X86_MP_STATE_INIT_RECEIVED  2
#define X86_MP_STATE_HALTED         3
#define X86_MP_STATE_SIPI_RECEIVED  4

/* Leaf 1 EDX bit 28: "more than one logical processor per package" (HTT). */
#define CPUID_HTT (1u << 28)

/* RFLAGS as the guest sees it (lazy flags folded in), and back. */
uint64_t x86_cpu_get_eflags(const CPUX86State *env);
void x86_cpu_set_eflags(CPUX86State *env, uint64_t rflags);

/* Puts the CPU into its architectural power-on state (real mode at
 * F000:FFF0, CR0=0x60000010, ...) keeping the CPU model. */
void x86_cpu_reset(CPUX86State *env);
/* Selects a CPU model by name ("qemu64", "max", "host" on KVM); false with
 * *errp on an unknown name. */
bool x86_cpu_set_model(CPUX86State *env, const char *model, GError **errp);
/* Sets the topology CPUID describes: nr_cores cores in one package, one
 * thread per core, APIC ID = core index (leaves 1, 4, 0xb, 0x80000008). */
void x86_cpu_set_topology(CPUX86State *env, uint32_t nr_cores);
/* Bits of the APIC ID that number the cores of a package: ceil(log2(n)). */
uint32_t x86_topology_core_bits(uint32_t nr_cores);
/* Prints the CPU models (-cpu help). */
void x86_cpu_list_models(void);
/* The CPUID answer of this CPU model (what TCG returns to the guest and what
 * KVM filters its supported set through). */
void x86_cpu_get_cpuid(const CPUX86State *env, uint32_t leaf, uint32_t subleaf,
                       uint32_t *eax, uint32_t *ebx, uint32_t *ecx, uint32_t *edx);
/* Loads a flat 32-bit protected-mode state (CS/DS/... base 0, limit 4 GiB,
 * paging off, interrupts off) entered at eip: the multiboot/Linux 32-bit entry. */
void x86_cpu_set_flat_protected_mode(CPUX86State *env, uint32_t eip);
/* Whether a halted CPU would wake for these pending interrupt lines
 * (CPU_INTERRUPT_* from hw/core/cpu.h): NMI, INIT and SIPI always do, a
 * maskable interrupt only while RFLAGS.IF is set. */
bool x86_cpu_has_work(const CPUX86State *env, unsigned interrupt_request);
/* Human-readable register dump (for internal errors and -d cpu). */
void x86_cpu_dump_state(const CPUX86State *env, GString *out);

#endif
