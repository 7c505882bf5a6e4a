/*
 * The TCG engine's shared structures: the per-vCPU state (software TLB, jump
 * cache, exception unwinding), translation blocks, and the interface between
 * the target-independent engine (accel/tcg) and the x86 front end
 * (target/i386/tcg). See docs/tcg.md.
 */
#ifndef EXEC_TCG_H
#define EXEC_TCG_H

#include <setjmp.h>
#include "hw/core/cpu.h"
#include "exec/memory.h"

/* ---- software TLB ----
 *
 * One direct-mapped table per MMU index (privilege level). Each entry has
 * three tags (read, write, execute): the page-aligned linear address when
 * that kind of access may take the fast path, with flag bits in the low 12
 * bits otherwise. A fast-path hit is "tag == (addr & PAGE_MASK)" followed by
 * host = addr + addend. Any flag bit makes the compare fail, so the access
 * takes the slow path, which looks at the flags.
 */
#define TLB_BITS        8
#define TLB_SIZE        (1u << TLB_BITS)

/* Exception "vectors" the engine uses besides the guest's 0..255. */
#define EXCP_TRIPLE_FAULT (-2)   /* a fault while delivering #DF */
#define EXCP_CANNOT_RUN   (-3)   /* e.g. executing from MMIO: stop the VM */
#define TLB_INVALID     ((uint64_t)1 << 0)   /* no translation cached */
#define TLB_MMIO        ((uint64_t)1 << 1)   /* not RAM (or a ROM write): dispatch */
#define TLB_NOTDIRTY    ((uint64_t)1 << 2)   /* RAM page clean for a dirty client */
#define TLB_FLAGS_MASK  (KESTREL_PAGE_SIZE - 1)

enum {
    MMU_IDX_KERNEL,      /* CPL 0-2 and implicit supervisor accesses */
    MMU_IDX_USER,        /* CPL 3 */
    MMU_IDX_KERNEL_AC,   /* CPL 0-2 data with CR4.SMAP and EFLAGS.AC: user pages allowed */
    MMU_IDX_NB
};

typedef enum MMUAccessType {
    MMU_DATA_LOAD = 0,
    MMU_DATA_STORE = 1,
    MMU_INST_FETCH = 2,
} MMUAccessType;

typedef struct TLBEntry {
    uint64_t addr_read;
    uint64_t addr_write;
    uint64_t addr_code;
    uintptr_t addend;     /* host pointer = linear address + addend (RAM only) */
} TLBEntry;

/* What the slow path needs about an entry. */
typedef struct TLBEntryFull {
    hwaddr phys;          /* guest physical address of the page */
    ram_addr_t ram_addr;  /* RAM_ADDR_INVALID if not RAM */
    bool always_notdirty; /* every store marks dirty bits (migration, VGA) */
    bool global;          /* a global page (PTE.G with CR4.PGE): kept by CR3 writes */
} TLBEntryFull;

/* Result of a page walk (the target fills it). */
typedef struct TLBFillResult {
    hwaddr phys;          /* physical address of the page (4 KiB aligned) */
    unsigned prot;        /* PAGE_READ | PAGE_WRITE | PAGE_EXEC */
    bool large_page;      /* from a 2M/4M/1G mapping: invlpg needs a full flush */
    bool global;          /* PTE.G on the leaf with CR4.PGE */
} TLBFillResult;

#define PAGE_READ  1u
#define PAGE_WRITE 2u
#define PAGE_EXEC  4u

/* ---- translation blocks ---- */

/* One decoded guest instruction. The interpreter calls fn; a future code
 * generator can emit the same semantics per instruction. Fields are filled
 * by the x86 decoder and only read by its semantic functions. */
typedef struct AccelCPUState TcgCpu;
typedef struct Insn Insn;
typedef void InsnFn(TcgCpu *c, const Insn *insn);

struct Insn {
    InsnFn *fn;
    uint64_t eip;            /* offset in CS of this instruction */
    uint64_t next_eip;       /* offset in CS of the following one */
    int64_t disp;            /* displacement; RIP-relative already resolved */
    uint64_t imm;            /* first immediate (or branch target eip) */
    uint64_t imm2;           /* second immediate (ENTER level, far selector) */
    const char *name;        /* mnemonic, for -d in_asm */
    uint16_t prefixes;       /* PFX_* */
    uint8_t len;
    uint8_t opsize;          /* 1, 2, 4 or 8 bytes */
    uint8_t addrsize;        /* 2, 4 or 8 bytes */
    uint8_t seg;             /* segment of the memory operand (R_ES...) */
    uint8_t reg;             /* ModRM.reg (+REX.R), byte-register encoded */
    uint8_t rm;              /* ModRM.rm register (+REX.B) when !is_mem */
    uint8_t base, index;     /* REG_NONE when absent */
    uint8_t scale;           /* shift count 0..3 */
    uint8_t is_mem;
    uint8_t sub;             /* operation selector (ALU op, condition...) */
    uint8_t op;              /* the opcode byte (low byte of the opcode) */
    uint8_t modrm;
};

#define REG_NONE 0xff
/* Byte registers AH, CH, DH, BH (no REX prefix) are encoded as 16..19. */
#define REG_HIGH_BYTE 16

#define PFX_REP     (1u << 0)
#define PFX_REPNE   (1u << 1)
#define PFX_LOCK    (1u << 2)
#define PFX_REX     (1u << 3)
#define PFX_REXW    (1u << 4)
#define PFX_OPSIZE  (1u << 5)
#define PFX_ADSIZE  (1u << 6)
#define PFX_SEG     (1u << 7)    /* an explicit segment override */

/* Mode bits that change decoding (part of the TB key). */
#define HF_CPL_MASK   3u
#define HF_PE         (1u << 2)   /* protected mode */
#define HF_CS32       (1u << 3)   /* CS.D: 32-bit default operand size */
#define HF_SS32       (1u << 4)   /* SS.B: 32-bit stack */
#define HF_LMA        (1u << 5)   /* long mode active */
#define HF_CS64       (1u << 6)   /* 64-bit code segment */
#define HF_VM86       (1u << 7)
#define HF_TF         (1u << 8)   /* single-step: one instruction per TB */
/* Bits 16-24 belong to the x86 front end (target/i386/tcg/tcg-cpu.h:
 * HF_SEGCHK_*, HF_ALIGN_CHECK, HF_SMAP_AC, HF_DATA_BP). */

typedef struct TranslationBlock TranslationBlock;

/* TB flags (cflags) */
#define TB_NOCHAIN    (1u << 0)   /* ends with a mode change: always look up */

struct TranslationBlock {
    /* Key. */
    uint64_t pc;                 /* linear address of the first instruction */
    uint64_t cs_base;
    uint32_t flags;              /* HF_* */
    uint32_t cflags;
    ram_addr_t page_ram[2];      /* pages holding the code (second: or INVALID) */
    uint64_t page_vaddr[2];      /* their linear addresses */

    uint32_t size;               /* bytes of guest code */
    uint32_t n_insns;
    uint32_t n_exec;             /* entries the interpreter runs: n_insns, one
                                  * less when the last two are fused (the
                                  * last entry's imm2 then holds the unfused
                                  * function of the one before it) */
    volatile bool invalid;

    /* Global hash chain and per-page lists (TB lock). */
    TranslationBlock *hash_next;
    TranslationBlock *page_next[2];

    /* Chaining: successor i is entered when the TB leaves with
     * rip == jmp_eip[i]; jmp_dest[i] is the linked TB (or NULL). The
     * incoming list links every (tb, slot) that jumps here, as a tagged
     * pointer (tb | slot). */
    uint64_t jmp_eip[2];         /* ~0 when there is no fixed successor */
    TranslationBlock *jmp_dest[2];
    uintptr_t jmp_incoming;
    uintptr_t jmp_next[2];

    TranslationBlock *retired_next;
    /* Host code generated for the block (accel/tcg/jit.h), or NULL: the
     * interpreter runs it. Lives in the JIT buffer until the next full flush. */
    void (*host_code)(TcgCpu *c);
    Insn insns[];
};

#define JMP_CACHE_BITS 12
#define JMP_CACHE_SIZE (1u << JMP_CACHE_BITS)

/* The TCG side of a vCPU (CPUState.accel). */
struct AccelCPUState {
    CPUState *cs;
    CPUX86State *env;

    TLBEntry tlb[MMU_IDX_NB][TLB_SIZE];
    TLBEntryFull tlb_full[MMU_IDX_NB][TLB_SIZE];
    bool tlb_has_large_pages;
    bool last_a20;
    FlatView *flatview;          /* the view the TLB was filled from */

    TranslationBlock *jmp_cache[JMP_CACHE_SIZE];

    /* Execution. */
    sigjmp_buf jmp_env;          /* exceptions unwind to the exec loop */
    TranslationBlock *cur_tb;
    const Insn *cur_insn;
    uint32_t tb_flags;           /* flags of the TB being executed */
    bool stop_tb;                /* leave the TB after this instruction */
    bool tb_flush_wanted;        /* TB memory budget reached: flush at a boundary */
    bool in_exec;

    /* The exception being raised. */
    int excp_vector;             /* -1: none */
    uint32_t excp_error;
    bool excp_has_error;
    bool excp_soft;              /* INT n / INT3 / INTO: return after the insn */
    uint64_t excp_next_eip;
    int excp_delivering;         /* vector being delivered (for #DF), -1 */

    /* Requests from other threads (atomic). */
    volatile int flush_request;  /* TCG_FLUSH_* */

    bool reset_pending;          /* triple-faulted, waiting for the machine reset */
    int64_t tsc_offset;          /* guest TSC = host ns + offset */
};

#define TCG_FLUSH_TLB  1
#define TCG_FLUSH_JMP  2

static inline TcgCpu *tcg_cpu(CPUState *cs) { return cs->accel; }

/* ---- engine services (accel/tcg) ---- */

/* Loads/stores at a linear address; raise the guest's #PF through
 * x86_tlb_fill on a miss that does not translate. */
uint64_t tcg_ld_slow(TcgCpu *c, uint64_t addr, unsigned size, int mmu_idx);
void tcg_st_slow(TcgCpu *c, uint64_t addr, uint64_t val, unsigned size, int mmu_idx);

static inline TLBEntry *tlb_entry(TcgCpu *c, int mmu_idx, uint64_t addr)
{
    return &c->tlb[mmu_idx][(addr >> KESTREL_PAGE_BITS) & (TLB_SIZE - 1)];
}

static inline bool tlb_same_page(uint64_t addr, unsigned size)
{
    return ((addr & (KESTREL_PAGE_SIZE - 1)) + size) <= KESTREL_PAGE_SIZE;
}

#define TCG_DEFINE_LD(name, type, size)                                          \
static inline type name(TcgCpu *c, uint64_t addr, int mmu_idx)                   \
{                                                                                \
    TLBEntry *e = tlb_entry(c, mmu_idx, addr);                                   \
    if (__builtin_expect(e->addr_read == (addr & KESTREL_PAGE_MASK) &&           \
                         tlb_same_page(addr, size), 1)) {                        \
        type v;                                                                  \
        memcpy(&v, (void *)(uintptr_t)(addr + e->addend), size);                 \
        return v;                                                                \
    }                                                                            \
    return (type)tcg_ld_slow(c, addr, size, mmu_idx);                            \
}
TCG_DEFINE_LD(cpu_ldub, uint8_t, 1)
TCG_DEFINE_LD(cpu_lduw, uint16_t, 2)
TCG_DEFINE_LD(cpu_ldl, uint32_t, 4)
TCG_DEFINE_LD(cpu_ldq, uint64_t, 8)

#define TCG_DEFINE_ST(name, type, size)                                          \
static inline void name(TcgCpu *c, uint64_t addr, type val, int mmu_idx)         \
{                                                                                \
    TLBEntry *e = tlb_entry(c, mmu_idx, addr);                                   \
    if (__builtin_expect(e->addr_write == (addr & KESTREL_PAGE_MASK) &&          \
                         tlb_same_page(addr, size), 1)) {                        \
        memcpy((void *)(uintptr_t)(addr + e->addend), &val, size);               \
        return;                                                                  \
    }                                                                            \
    tcg_st_slow(c, addr, val, size, mmu_idx);                                    \
}
TCG_DEFINE_ST(cpu_stb, uint8_t, 1)
TCG_DEFINE_ST(cpu_stw, uint16_t, 2)
TCG_DEFINE_ST(cpu_stl, uint32_t, 4)
TCG_DEFINE_ST(cpu_stq, uint64_t, 8)

/* Loads and stores whose size is only known at run time (1, 2, 4 or 8):
 * one TLB lookup, then a switch on the size. Always inlined: the front
 * end's operand helpers use them on every memory access. */
static inline __attribute__((always_inline))
uint64_t cpu_ld_sized(TcgCpu *c, uint64_t addr, unsigned size, int mmu_idx)
{
    TLBEntry *e = tlb_entry(c, mmu_idx, addr);
    if (__builtin_expect(e->addr_read == (addr & KESTREL_PAGE_MASK) &&
                         tlb_same_page(addr, size), 1)) {
        const void *p = (const void *)(uintptr_t)(addr + e->addend);
        switch (size) {
        case 1: return *(const uint8_t *)p;
        case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
        case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
        default: { uint64_t v; memcpy(&v, p, 8); return v; }
        }
    }
    return tcg_ld_slow(c, addr, size, mmu_idx);
}

static inline __attribute__((always_inline))
void cpu_st_sized(TcgCpu *c, uint64_t addr, uint64_t val, unsigned size, int mmu_idx)
{
    TLBEntry *e = tlb_entry(c, mmu_idx, addr);
    if (__builtin_expect(e->addr_write == (addr & KESTREL_PAGE_MASK) &&
                         tlb_same_page(addr, size), 1)) {
        void *p = (void *)(uintptr_t)(addr + e->addend);
        switch (size) {
        case 1: *(uint8_t *)p = (uint8_t)val; return;
        case 2: { uint16_t v = (uint16_t)val; memcpy(p, &v, 2); return; }
        case 4: { uint32_t v = (uint32_t)val; memcpy(p, &v, 4); return; }
        default: memcpy(p, &val, 8); return;
        }
    }
    tcg_st_slow(c, addr, val, size, mmu_idx);
}

/* Host pointer for an access of `size` bytes that stays inside one page of
 * RAM (for host atomics), after checking permissions and dirty tracking as a
 * store would; NULL when the page is not plain RAM (MMIO, page crossing):
 * the caller then falls back to load + store. May raise #PF. */
void *tcg_probe_write_host(TcgCpu *c, uint64_t addr, unsigned size, int mmu_idx);

/* Host pointer for a load of `size` bytes inside one page of RAM (string
 * instruction fast paths); NULL for MMIO or a page-crossing range. May
 * raise #PF (the TLB is filled as a load would). */
void *tcg_probe_read_host(TcgCpu *c, uint64_t addr, unsigned size, int mmu_idx);

/* Resolves a code address: host pointer and ram_addr of the page, or false
 * (fault info left for the caller to raise when !probe). */
bool tcg_get_code_page(TcgCpu *c, uint64_t addr, int mmu_idx, bool probe,
                       uint8_t **host_page, ram_addr_t *ram_page);

/* Physical accesses for the page walker (RAM fast, MMIO dispatched).
 * tcg_phys_or atomically sets bits (accessed/dirty) and keeps dirty
 * tracking and translated code coherent. */
uint64_t tcg_phys_ld(TcgCpu *c, hwaddr pa, unsigned size);
void tcg_phys_or(TcgCpu *c, hwaddr pa, uint64_t bits, unsigned size);

void tlb_flush(TcgCpu *c);
void tlb_flush_page(TcgCpu *c, uint64_t addr);
/* A CR3 write: flushes every entry but those of global pages (and the
 * jump cache). */
void tlb_flush_nonglobal(TcgCpu *c);
/* Asks every vCPU to flush its TLB (and jump cache) at its next TB boundary. */
void tlb_flush_all_cpus(void);

/* Port I/O and physical accesses with the big lock taken around dispatch. */
uint64_t tcg_io_read(TcgCpu *c, uint16_t port, unsigned size);
void tcg_io_write(TcgCpu *c, uint16_t port, uint64_t val, unsigned size);

/* Leave the current TB after the current instruction. */
static inline void tcg_stop_tb(TcgCpu *c) { c->stop_tb = true; }

/* Throws away all translated code (e.g. when the TB memory budget is used
 * up); safe from the vCPU thread at a TB boundary. */
void tb_flush_all(TcgCpu *c);

/* Runs the vCPU until it must return (the AccelOps exec_vcpu body); returns
 * a VCPUExitReason. Tests call it directly after setting tcg_standalone. */
int tcg_exec_vcpu(CPUState *cs);
/* Sets up cs->accel for TCG (also usable from tests). */
void tcg_vcpu_init(CPUState *cs);
void tcg_vcpu_destroy(CPUState *cs);
/* Enables the CODE dirty client and registers the memory listener. */
void tcg_engine_init(void);
/* Tests: when true, the engine never touches the big lock. */
extern bool tcg_standalone;

/* ---- x86 front end (target/i386/tcg) ---- */

/* TB key for the current state. */
void x86_tcg_get_tb_key(CPUX86State *env, uint64_t *pc, uint64_t *cs_base, uint32_t *flags);
/* Decodes instructions at pc into tb->insns (at most max_insns). Fills size,
 * n_insns, jmp_eip, cflags, page_ram/page_vaddr[1]. Returns NULL (after
 * raising the fault) when the first instruction cannot be fetched. The TB
 * is allocated by the front end with tcg_tb_alloc. */
TranslationBlock *x86_translate_tb(TcgCpu *c, uint64_t pc, uint64_t cs_base, uint32_t flags,
                                   ram_addr_t page0);
TranslationBlock *tcg_tb_alloc(unsigned n_insns);
/* Picks specialised semantic functions for a freshly decoded TB and sets
 * n_exec (target/i386/tcg/fast.c). */
void x86_tcg_specialize_tb(TranslationBlock *tb);

/* Largest TB in bytes: the translator stops after the instruction that
 * crosses into a second page, so a block spans at most two pages. */
#define TB_MAX_SIZE (2u * KESTREL_PAGE_SIZE)

/* Size of a TB from its first linear byte (pc) to one past its last
 * (end_linear); outside 64-bit mode linear addresses wrap at 4 GiB.
 * Clamped to TB_MAX_SIZE so the page bookkeeping stays in bounds even if
 * the decoder misbehaves. */
static inline uint32_t tb_size_from_linear(uint64_t pc, uint64_t end_linear, bool wrap32)
{
    uint64_t size = end_linear - pc;
    if (wrap32) {
        size = (uint32_t)size;
    }
    return size > TB_MAX_SIZE ? TB_MAX_SIZE : (uint32_t)size;
}
/* Walks the guest page tables. On a fault: with probe, returns false; else
 * raises #PF (does not return). */
bool x86_tlb_fill(TcgCpu *c, uint64_t addr, MMUAccessType access, int mmu_idx, bool probe,
                  TLBFillResult *out);
/* Delivers the pending exception (c->excp_*) through the IDT; may raise a
 * nested fault (double fault, triple fault -> false). */
bool x86_deliver_pending_exception(TcgCpu *c);
/* Checks and delivers pending external interrupts (HARD/NMI) at a TB
 * boundary; true if one was delivered (the key changed). */
bool x86_tcg_check_interrupts(TcgCpu *c);
/* Raises an exception (never returns): unwinds to the exec loop. */
void G_NORETURN raise_exception(TcgCpu *c, int vector);
void G_NORETURN raise_exception_err(TcgCpu *c, int vector, uint32_t error_code);
void G_NORETURN tcg_cpu_loop_exit(TcgCpu *c);
/* Interrupt acknowledge: the board's interrupt controller registers a
 * function returning the vector of the highest pending maskable interrupt
 * (or -1). Accelerators that emulate the CPU (TCG) call it on delivery. */
typedef int (*CPUInterruptAckFn)(void *opaque, CPUState *cpu);
void cpu_set_interrupt_ack(CPUInterruptAckFn fn, void *opaque);
int cpu_interrupt_ack(CPUState *cpu);
/* INIT and start-up IPIs (hw/intc/apic.c): the interrupt controller
 * registers a function the engine calls on the vCPU's own thread, big lock
 * held, while CPU_INTERRUPT_INIT or CPU_INTERRUPT_SIPI is pending. It
 * clears those bits and rewrites env (INIT reset, SIPI entry, halted); the
 * engine then drops its cached translations of the old state. */
typedef void (*CPUInitSipiFn)(void *opaque, CPUState *cpu);
void cpu_set_init_sipi_handler(CPUInitSipiFn fn, void *opaque);
/* WRMSR IA32_APIC_BASE: the interrupt controller validates the value
 * (false: #GP), stores it in env->apic_base and follows enable/disable and
 * relocation. Without a handler the value is just stored. Called on the
 * vCPU's thread; takes the big lock around the handler. */
typedef bool (*CPUApicBaseFn)(void *opaque, CPUState *cpu, uint64_t value);
void cpu_set_apic_base_handler(CPUApicBaseFn fn, void *opaque);
bool cpu_apic_base_write(CPUState *cpu, uint64_t value);

#endif
