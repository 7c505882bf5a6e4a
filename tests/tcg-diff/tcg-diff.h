/*
 * Differential tester of the TCG core against the host CPU: shared types.
 *
 * A sequence is a few instructions drawn from the table (table.c) with
 * random operands (gen.c). It runs natively at fixed addresses (native.c)
 * and under TCG in-process on a tiny machine whose page tables map the same
 * virtual addresses (guest.c); main.c compares the results.
 */
#ifndef TCG_DIFF_H
#define TCG_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the shared address layout (same virtual addresses in both) ---- */
#define REGION_VA     0x40000000ull
#define CODE_VA       (REGION_VA + 0x0000)    /* the sequence (user, read/exec) */
#define GUARD0_VA     (REGION_VA + 0x1000)    /* not present */
#define DATA_VA       (REGION_VA + 0x2000)    /* the data window (user, r/w) */
#define DATA_SIZE     0x2000u
#define RO_VA         (REGION_VA + 0x4000)    /* read-only data */
#define GUARD1_VA     (REGION_VA + 0x5000)    /* not present */
#define REGION_SIZE   0x6000u
#define STACK_TOP     (DATA_VA + 0x1800)      /* initial RSP */
#define CODE_MAX      0xf00u                  /* room for the native tail */
#define BACK64_OFF    0xf00u                  /* native: 64-bit stub the 32-bit tail far-jumps to */
#define GS_BASE       (REGION_VA - 0x10000)   /* GS base in both; FS: the host's */

/* Architectural flags compared (when defined). */
#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_DF 0x400u
#define F_OF 0x800u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* ---- the instruction table ---- */
enum FormKind {
    K_MODRM,      /* ModRM: reg field is a register operand */
    K_GRP,        /* ModRM: reg field is the opcode extension */
    K_OPREG,      /* register in the low 3 opcode bits */
    K_NONE,       /* implicit operands only */
    K_ACC_IMM,    /* AL/eAX, immediate */
    K_MOFFS,      /* A0-A3 with a 64-bit absolute address */
    K_STRING,     /* MOVS/CMPS/STOS/LODS/SCAS with optional REP */
    K_JCC8, K_JCC32, K_JMP8, K_JMP32, K_CALL32, K_LOOP,
    K_RET,        /* push target; ret [imm16] */
    K_JMP_IND,    /* jmp/call reg (FF /4, FF /2) with the target set up */
    K_ENTER, K_LEAVE,
    K_POPF,       /* push imm; popf */
    K_PUSH, K_POP,/* 50+r, 58+r */
    K_PUSH_RM, K_POP_RM,
    K_PUSH_IMM,
    K_VEX,        /* VEX-encoded GPR instruction (BMI1/BMI2) */
    K_INVALID,    /* bytes that must raise #UD in 64-bit mode */
    K_PUSHSEG,    /* 32-bit mode: push es/cs/ss/ds */
    K_POPSEG,     /* 32-bit mode: push imm8 selector; pop es/ds */
    K_PUSHA,      /* 32-bit mode: pusha/popa */
    K_MOVSEG,     /* set up a selector; mov es/ds, r16 */
};

enum { MAP_1, MAP_0F, MAP_0F38, MAP_0F3A };

#define SZ_8  1u
#define SZ_16 2u
#define SZ_32 4u
#define SZ_64 8u
#define SZ_V  (SZ_16 | SZ_32 | SZ_64)
#define SZ_Y  (SZ_32 | SZ_64)

enum { IMM_NONE, IMM_8, IMM_16, IMM_Z, IMM_V };

/* Flag classes: which arithmetic flags an instruction writes and which of
 * those the SDM defines (see flags_effect() in gen.c). */
enum FlagClass {
    FC_NONE, FC_ARITH, FC_INCDEC, FC_LOGIC, FC_MUL, FC_DIV, FC_SHIFT, FC_SHLD, FC_SHRD,
    FC_BT, FC_BSF, FC_ALL, FC_LZCNT, FC_CF, FC_SAHF, FC_ZF, FC_ANDN, FC_BEXTR, FC_BLS,
    FC_BZHI, FC_ADCX, FC_ADOX, FC_POPF, FC_DFONLY, FC_DAA, FC_AAA, FC_AAM,
};

/* Options. */
#define O_MEM     (1u << 0)    /* r/m must be memory */
#define O_REG     (1u << 1)    /* r/m must be a register */
#define O_WRM     (1u << 2)    /* writes the r/m operand */
#define O_WREG    (1u << 3)    /* writes the reg operand */
#define O_WVVVV   (1u << 4)    /* writes VEX.vvvv */
#define O_LOCK    (1u << 5)    /* LOCK allowed with a memory destination */
#define O_CC      (1u << 6)    /* condition code in the opcode's low nibble */
#define O_CNT1    (1u << 7)    /* shift count 1 */
#define O_CNTCL   (1u << 8)    /* shift count in CL (set up) */
#define O_CNTIMM  (1u << 9)    /* shift count is the imm8 */
#define O_RDCF    (1u << 10)   /* reads CF */
#define O_RDOF    (1u << 11)   /* reads OF */
#define O_RDALL   (1u << 12)   /* reads all arithmetic flags (PUSHF) */
#define O_RDLAHF  (1u << 13)   /* reads SF ZF AF PF CF (LAHF) */
#define O_BTREG   (1u << 14)   /* BT family with a register bit offset */
#define O_RM8     (1u << 15)   /* r/m operand is a byte (MOVZX/MOVSX Gv,Eb) */
#define O_RM16    (1u << 16)   /* r/m operand is a word */
#define O_RM32    (1u << 17)   /* r/m operand is a dword (MOVSXD) */
#define O_DIV     (1u << 18)   /* divide: set rdx up so not every case faults */
#define O_ALIGN16 (1u << 19)   /* CMPXCHG16B: memory 16-aligned (mostly) */
#define O_ATOMIC  (1u << 20)   /* implicitly locked (XCHG mem): keep aligned */
#define O_XLAT    (1u << 21)
#define O_REPCC   (1u << 22)   /* CMPS/SCAS: REPE and REPNE */
#define O_NOREX8  (1u << 23)   /* byte register without REX is AH..BH */
#define O_CALL    (1u << 24)
#define O_RDRDX   (1u << 25)
#define O_LEA     (1u << 26)   /* no memory access: any address */
#define O_ONLY64  (1u << 27)   /* exists in 64-bit mode only */
#define O_ONLY32  (1u << 28)   /* exists outside 64-bit mode only */
#define O_RDAF    (1u << 29)   /* reads AF (BCD adjustments) */
#define O_RM0     (1u << 30)   /* register form with r/m = 0 (fences) */

enum Feature {
    FEAT_NONE, FEAT_BMI1, FEAT_BMI2, FEAT_ADX, FEAT_MOVBE, FEAT_POPCNT, FEAT_LZCNT,
    FEAT_CX16, FEAT_LAHF, FEAT_SSE42, FEAT_PRFCHW, FEAT_NB
};

typedef struct Form {
    const char *name;
    uint8_t kind;
    uint8_t map;
    uint8_t opc;
    int8_t ext;         /* ModRM.reg extension (K_GRP, VEX groups), else -1 */
    uint8_t mpfx;       /* mandatory prefix (66/F2/F3), or VEX.pp as 0/66/F3/F2 */
    uint8_t sizes;      /* SZ_* */
    uint8_t imm;        /* IMM_* */
    uint8_t fclass;     /* FC_* */
    uint32_t opt;       /* O_* */
    uint8_t feat;
    uint8_t vex_role;   /* K_VEX: operand roles, see gen.c */
    uint8_t inv[4];     /* K_INVALID: the bytes; inv_len */
    uint8_t inv_len;
} Form;

extern const Form forms[];
extern const unsigned n_forms;

/* ---- a generated sequence ---- */
#define MAX_INSNS 64

typedef struct Regs {
    uint64_t r[16];
    uint64_t rip;
    uint64_t flags;
} Regs;

typedef struct SeqInsn {
    uint16_t off, len;
    int16_t form;       /* index into forms[], -1 for a set-up instruction */
    uint8_t size;
    uint32_t known;     /* arithmetic flags defined before this instruction */
} SeqInsn;

typedef struct Seq {
    bool mode32;        /* 32-bit compatibility mode (CS 0x23) instead of 64-bit */
    bool null_seg;      /* loads a null selector into DS or ES */
    uint8_t code[CODE_MAX];
    unsigned len;       /* the end address is CODE_VA + len */
    SeqInsn insns[MAX_INSNS];
    unsigned n;
    uint32_t end_known; /* arithmetic flags defined at the end */
    Regs init;
} Seq;

/* The outcome of one run. vector -1: reached the end. */
typedef struct Outcome {
    Regs regs;          /* rip: end or faulting instruction (trap: after it) */
    int vector;
    uint32_t error_code;
    uint64_t cr2;
    uint8_t data[DATA_SIZE];
} Outcome;

typedef struct Rng {
    uint64_t s;
} Rng;

static inline uint64_t rng_next(Rng *r)
{
    /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}

static inline unsigned rng_below(Rng *r, unsigned n)
{
    return (unsigned)((rng_next(r) >> 32) * n >> 32);
}

/* gen.c */
extern uint64_t gen_fs_base;
extern bool gen_allow_a16;
void gen_init_features(void);
bool form_available(const Form *f);
void gen_sequence(Rng *rng, Seq *seq, unsigned max_groups, unsigned pct32);
void seq_describe(const Seq *seq, char *buf, size_t len);
const SeqInsn *seq_find_insn(const Seq *seq, uint64_t rip);

/* native.c */
void native_init(uint64_t *fs_base);
void native_set_ro_page(const uint8_t *page);
bool native_reserve_low(void);
void native_selectors(uint16_t sel[6]);
void native_run(const Seq *seq, const uint8_t *data, Outcome *out);

/* guest.c */
void guest_init(uint64_t fs_base, const uint8_t *ro_page, const uint16_t sel[6]);
void guest_run(const Seq *seq, const uint8_t *data, Outcome *out);

#endif
