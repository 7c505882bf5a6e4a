/*
 * x86 instruction decoder and translator: turns guest code into a TB, an
 * array of decoded instructions (Insn) each naming its semantic function.
 *
 * The decoder is table driven: one OpDesc per opcode (one-byte map and the
 * 0F map), with groups selected by ModRM.reg. Adding an instruction means
 * adding a table entry and its semantic function.
 */
#include "target/i386/tcg/tcg-cpu.h"

#define D_RM8     (1u << 18)   /* the r/m operand is a byte (MOVZX/MOVSX Gv,Eb) */
#define D_FORCEREG (1u << 19)  /* ModRM.mod is ignored: r/m is a register (MOV CRn) */
#define D_MAND66  (1u << 20)   /* 66 is a mandatory prefix, not the operand size (ADCX) */

#define E(f, n, fl) { .fn = f, .name = n, .flags = (fl) }
#define ES(f, n, fl, s) { .fn = f, .name = n, .flags = (fl), .sub = (s) }
#define G(n, fl, g) { .fn = NULL, .name = n, .flags = (fl), .group = (g) }

/* The ALU rows use per-operation semantic copies (op_alu_*_N). */
#define ALU_ROW(base, op, n, lk)                                                  \
    [(base) + 0] = ES(op_alu_rm_r_##op, n, D_MODRM | D_BYTE | (lk), op),           \
    [(base) + 1] = ES(op_alu_rm_r_##op, n, D_MODRM | (lk), op),                    \
    [(base) + 2] = ES(op_alu_r_rm_##op, n, D_MODRM | D_BYTE, op),                  \
    [(base) + 3] = ES(op_alu_r_rm_##op, n, D_MODRM, op),                           \
    [(base) + 4] = ES(op_alu_acc_imm_##op, n, D_BYTE | D_IMM(IMM_IB), op),         \
    [(base) + 5] = ES(op_alu_acc_imm_##op, n, D_IMM(IMM_IZ), op)

static const OpDesc grp1[8] = {
    ES(op_alu_rm_imm_0, "add", D_LOCK, 0), ES(op_alu_rm_imm_1, "or", D_LOCK, 1),
    ES(op_alu_rm_imm_2, "adc", D_LOCK, 2), ES(op_alu_rm_imm_3, "sbb", D_LOCK, 3),
    ES(op_alu_rm_imm_4, "and", D_LOCK, 4), ES(op_alu_rm_imm_5, "sub", D_LOCK, 5),
    ES(op_alu_rm_imm_6, "xor", D_LOCK, 6), ES(op_alu_rm_imm_7, "cmp", 0, 7),
};

static const OpDesc grp1a[8] = {
    [0] = E(op_pop_rm, "pop", D_DEF64),
};

/* Group 2 by count source (imm8, 1, CL); SHL/SHR/SAR use specialised copies. */
#define GRP2(src) {                                                            \
    ES(op_shift_rm, "rol", 0, 0), ES(op_shift_rm, "ror", 0, 1),                \
    ES(op_shift_rm, "rcl", 0, 2), ES(op_shift_rm, "rcr", 0, 3),                \
    ES(op_shl_##src, "shl", 0, 4), ES(op_shr_##src, "shr", 0, 5),              \
    ES(op_shl_##src, "sal", 0, 6), ES(op_sar_##src, "sar", 0, 7),              \
}
static const OpDesc grp2_imm[8] = GRP2(imm);
static const OpDesc grp2_1[8] = GRP2(1);
static const OpDesc grp2_cl[8] = GRP2(cl);

/* F6 (byte) and F7 differ only in the size of TEST's immediate. */
#define GRP3(test_imm) {                                                       \
    E(op_test_rm_imm, "test", D_IMM(test_imm)),                                \
    E(op_test_rm_imm, "test", D_IMM(test_imm)),                                \
    E(op_not_rm, "not", D_LOCK), E(op_neg_rm, "neg", D_LOCK),                  \
    E(op_mul_rm, "mul", 0), E(op_imul_rm, "imul", 0),                          \
    E(op_div_rm, "div", 0), E(op_idiv_rm, "idiv", 0),                          \
}
static const OpDesc grp3b[8] = GRP3(IMM_UB);
static const OpDesc grp3v[8] = GRP3(IMM_IZ);

static const OpDesc grp4[8] = {
    ES(op_inc_dec_rm, "inc", D_LOCK, 0), ES(op_inc_dec_rm, "dec", D_LOCK, 1),
};

static const OpDesc grp5[8] = {
    ES(op_inc_dec_rm, "inc", D_LOCK, 0), ES(op_inc_dec_rm, "dec", D_LOCK, 1),
    E(op_call_rm, "call", D_FORCE64 | D_END), E(op_call_far_rm, "lcall", D_MEMONLY | D_NOCHAIN),
    E(op_jmp_rm, "jmp", D_FORCE64 | D_END), E(op_jmp_far_rm, "ljmp", D_MEMONLY | D_NOCHAIN),
    E(op_push_rm, "push", D_DEF64),
};

static const OpDesc grp11b[8] = {
    [0] = E(op_mov_rm_imm, "mov", D_IMM(IMM_UB)),
};

static const OpDesc grp11v[8] = {
    [0] = E(op_mov_rm_imm, "mov", D_IMM(IMM_IZ)),
};

static const OpDesc grp8[8] = {
    [4] = ES(op_bt_rm_imm, "bt", 0, 0), [5] = ES(op_bt_rm_imm, "bts", D_LOCK, 1),
    [6] = ES(op_bt_rm_imm, "btr", D_LOCK, 2), [7] = ES(op_bt_rm_imm, "btc", D_LOCK, 3),
};

/* SSE2's general-purpose non-temporal store; no 66/F3/F2 forms. */
static const OpDesc movnti[4] = { E(op_mov_rm_r, "movnti", D_MODRM | D_MEMONLY) };

static const OpDesc grp9[8] = {
    [1] = E(op_cmpxchg8b_16b, "cmpxchg8b", D_LOCK | D_MEMONLY),
    [6] = E(op_rdrand, "rdrand", D_REGONLY),
    [7] = E(op_rdseed_rdpid, "rdseed", D_REGONLY),   /* F3: rdpid */
};

#define JCC8(n, name) [0x70 + (n)] = E(op_jcc_##n, name, D_JCC | D_FORCE64 | D_IMM(IMM_REL8))
#define JCCZ(n, name) [0x80 + (n)] = E(op_jcc_##n, name, D_JCC | D_FORCE64 | D_IMM(IMM_RELZ))
#define SETCC(n, name) [0x90 + (n)] = E(op_setcc, name, D_MODRM | D_BYTE)
#define CMOV(n, name) [0x40 + (n)] = E(op_cmovcc, name, D_MODRM)
#define R8(base, f, n, fl) \
    [(base) + 0] = E(f, n, fl), [(base) + 1] = E(f, n, fl), [(base) + 2] = E(f, n, fl), \
    [(base) + 3] = E(f, n, fl), [(base) + 4] = E(f, n, fl), [(base) + 5] = E(f, n, fl), \
    [(base) + 6] = E(f, n, fl), [(base) + 7] = E(f, n, fl)
#define R8S(base, f, n, fl, s) \
    [(base) + 0] = ES(f, n, fl, s), [(base) + 1] = ES(f, n, fl, s), \
    [(base) + 2] = ES(f, n, fl, s), [(base) + 3] = ES(f, n, fl, s), \
    [(base) + 4] = ES(f, n, fl, s), [(base) + 5] = ES(f, n, fl, s), \
    [(base) + 6] = ES(f, n, fl, s), [(base) + 7] = ES(f, n, fl, s)

static const OpDesc onebyte[256] = {
    ALU_ROW(0x00, 0, "add", D_LOCK),
    ALU_ROW(0x08, 1, "or", D_LOCK),
    ALU_ROW(0x10, 2, "adc", D_LOCK),
    ALU_ROW(0x18, 3, "sbb", D_LOCK),
    ALU_ROW(0x20, 4, "and", D_LOCK),
    ALU_ROW(0x28, 5, "sub", D_LOCK),
    ALU_ROW(0x30, 6, "xor", D_LOCK),
    ALU_ROW(0x38, 7, "cmp", 0),
    [0x06] = ES(op_push_sreg, "push es", D_INV64, R_ES),
    [0x07] = ES(op_pop_sreg, "pop es", D_INV64, R_ES),
    [0x0e] = ES(op_push_sreg, "push cs", D_INV64, R_CS),
    [0x16] = ES(op_push_sreg, "push ss", D_INV64, R_SS),
    [0x17] = ES(op_pop_sreg, "pop ss", D_INV64 | D_NOCHAIN, R_SS),
    [0x1e] = ES(op_push_sreg, "push ds", D_INV64, R_DS),
    [0x1f] = ES(op_pop_sreg, "pop ds", D_INV64, R_DS),
    [0x27] = E(op_daa_das, "daa", D_INV64),
    [0x2f] = E(op_daa_das, "das", D_INV64),
    [0x37] = E(op_aaa_aas, "aaa", D_INV64),
    [0x3f] = E(op_aaa_aas, "aas", D_INV64),
    R8S(0x40, op_inc_dec_reg, "inc", D_INV64, 0),
    R8S(0x48, op_inc_dec_reg, "dec", D_INV64, 1),
    R8(0x50, op_push_reg, "push", D_DEF64),
    R8(0x58, op_pop_reg, "pop", D_DEF64),
    [0x60] = E(op_pusha, "pusha", D_INV64),
    [0x61] = E(op_popa, "popa", D_INV64),
    [0x62] = E(op_bound, "bound", D_INV64 | D_MODRM | D_MEMONLY),
    [0x63] = E(op_movsxd_or_arpl, "movsxd/arpl", D_MODRM),
    [0x68] = E(op_push_imm, "push", D_DEF64 | D_IMM(IMM_IZ)),
    [0x69] = E(op_imul_r_rm_imm, "imul", D_MODRM | D_IMM(IMM_IZ)),
    [0x6a] = E(op_push_imm, "push", D_DEF64 | D_IMM(IMM_IB)),
    [0x6b] = E(op_imul_r_rm_imm, "imul", D_MODRM | D_IMM(IMM_IB)),
    [0x6c] = E(op_ins, "insb", D_BYTE),
    [0x6d] = E(op_ins, "ins", 0),
    [0x6e] = E(op_outs, "outsb", D_BYTE),
    [0x6f] = E(op_outs, "outs", 0),
    JCC8(0, "jo"), JCC8(1, "jno"), JCC8(2, "jb"), JCC8(3, "jae"),
    JCC8(4, "je"), JCC8(5, "jne"), JCC8(6, "jbe"), JCC8(7, "ja"),
    JCC8(8, "js"), JCC8(9, "jns"), JCC8(10, "jp"), JCC8(11, "jnp"),
    JCC8(12, "jl"), JCC8(13, "jge"), JCC8(14, "jle"), JCC8(15, "jg"),
    [0x80] = G("grp1", D_MODRM | D_BYTE | D_IMM(IMM_IB), grp1),
    [0x81] = G("grp1", D_MODRM | D_IMM(IMM_IZ), grp1),
    [0x82] = G("grp1", D_MODRM | D_BYTE | D_IMM(IMM_IB) | D_INV64, grp1),
    [0x83] = G("grp1", D_MODRM | D_IMM(IMM_IB), grp1),
    [0x84] = E(op_test_rm_r, "test", D_MODRM | D_BYTE),
    [0x85] = E(op_test_rm_r, "test", D_MODRM),
    [0x86] = E(op_xchg_rm_r, "xchg", D_MODRM | D_BYTE | D_LOCK),
    [0x87] = E(op_xchg_rm_r, "xchg", D_MODRM | D_LOCK),
    [0x88] = E(op_mov_rm_r, "mov", D_MODRM | D_BYTE),
    [0x89] = E(op_mov_rm_r, "mov", D_MODRM),
    [0x8a] = E(op_mov_r_rm, "mov", D_MODRM | D_BYTE),
    [0x8b] = E(op_mov_r_rm, "mov", D_MODRM),
    [0x8c] = E(op_mov_rm_sreg, "mov", D_MODRM),
    [0x8d] = E(op_lea, "lea", D_MODRM | D_MEMONLY),
    [0x8e] = E(op_mov_sreg_rm, "mov", D_MODRM),
    [0x8f] = G("grp1a", D_MODRM | D_DEF64, grp1a),
    R8(0x90, op_xchg_acc_reg, "xchg", 0),
    [0x98] = E(op_cbw, "cbw", 0),
    [0x99] = E(op_cwd, "cwd", 0),
    [0x9a] = E(op_call_far, "lcall", D_INV64 | D_NOCHAIN | D_IMM(IMM_FAR)),
    [0x9b] = E(op_fwait, "fwait", 0),
    [0x9c] = E(op_pushf, "pushf", D_DEF64),
    [0x9d] = E(op_popf, "popf", D_DEF64 | D_NOCHAIN),
    [0x9e] = E(op_sahf, "sahf", 0),
    [0x9f] = E(op_lahf, "lahf", 0),
    [0xa0] = E(op_mov_acc_moffs, "mov", D_BYTE | D_IMM(IMM_MOFFS)),
    [0xa1] = E(op_mov_acc_moffs, "mov", D_IMM(IMM_MOFFS)),
    [0xa2] = E(op_mov_moffs_acc, "mov", D_BYTE | D_IMM(IMM_MOFFS)),
    [0xa3] = E(op_mov_moffs_acc, "mov", D_IMM(IMM_MOFFS)),
    [0xa4] = E(op_movs, "movsb", D_BYTE),
    [0xa5] = E(op_movs, "movs", 0),
    [0xa6] = E(op_cmps, "cmpsb", D_BYTE),
    [0xa7] = E(op_cmps, "cmps", 0),
    [0xa8] = E(op_test_acc_imm, "test", D_BYTE | D_IMM(IMM_IB)),
    [0xa9] = E(op_test_acc_imm, "test", D_IMM(IMM_IZ)),
    [0xaa] = E(op_stos, "stosb", D_BYTE),
    [0xab] = E(op_stos, "stos", 0),
    [0xac] = E(op_lods, "lodsb", D_BYTE),
    [0xad] = E(op_lods, "lods", 0),
    [0xae] = E(op_scas, "scasb", D_BYTE),
    [0xaf] = E(op_scas, "scas", 0),
    R8(0xb0, op_mov_reg_imm, "mov", D_BYTE | D_IMM(IMM_UB)),
    R8(0xb8, op_mov_reg_imm, "mov", D_IMM(IMM_IV)),
    [0xc0] = G("grp2", D_MODRM | D_BYTE | D_IMM(IMM_UB), grp2_imm),
    [0xc1] = G("grp2", D_MODRM | D_IMM(IMM_UB), grp2_imm),
    [0xc2] = E(op_ret, "ret", D_END | D_FORCE64 | D_IMM(IMM_IW)),
    [0xc3] = E(op_ret, "ret", D_END | D_FORCE64),
    [0xc4] = ES(op_lxs, "les", D_INV64 | D_MODRM | D_MEMONLY | D_NOCHAIN, R_ES),
    [0xc5] = ES(op_lxs, "lds", D_INV64 | D_MODRM | D_MEMONLY | D_NOCHAIN, R_DS),
    [0xc6] = G("grp11", D_MODRM | D_BYTE, grp11b),
    [0xc7] = G("grp11", D_MODRM, grp11v),
    [0xc8] = E(op_enter, "enter", D_DEF64 | D_IMM(IMM_ENTER)),
    [0xc9] = E(op_leave, "leave", D_DEF64),
    [0xca] = E(op_retf, "lret", D_NOCHAIN | D_IMM(IMM_IW)),
    [0xcb] = E(op_retf, "lret", D_NOCHAIN),
    [0xcc] = E(op_int3, "int3", D_NOCHAIN),
    [0xcd] = E(op_int, "int", D_NOCHAIN | D_IMM(IMM_UB)),
    [0xce] = E(op_into, "into", D_INV64 | D_NOCHAIN),
    [0xcf] = E(op_iret, "iret", D_NOCHAIN),
    [0xd0] = G("grp2", D_MODRM | D_BYTE, grp2_1),
    [0xd1] = G("grp2", D_MODRM, grp2_1),
    [0xd2] = G("grp2", D_MODRM | D_BYTE, grp2_cl),
    [0xd3] = G("grp2", D_MODRM, grp2_cl),
    [0xd4] = E(op_aam, "aam", D_INV64 | D_IMM(IMM_UB)),
    [0xd5] = E(op_aad, "aad", D_INV64 | D_IMM(IMM_UB)),
    [0xd6] = E(op_salc, "salc", D_INV64),
    [0xd7] = E(op_xlat, "xlat", D_BYTE),
    R8(0xd8, op_x87, "x87", D_MODRM),
    [0xe0] = ES(op_loop, "loopne", D_JCC | D_FORCE64 | D_IMM(IMM_REL8), 0),
    [0xe1] = ES(op_loop, "loope", D_JCC | D_FORCE64 | D_IMM(IMM_REL8), 1),
    [0xe2] = ES(op_loop, "loop", D_JCC | D_FORCE64 | D_IMM(IMM_REL8), 2),
    [0xe3] = E(op_jcxz, "jcxz", D_JCC | D_FORCE64 | D_IMM(IMM_REL8)),
    [0xe4] = E(op_in, "in", D_BYTE | D_IMM(IMM_UB)),
    [0xe5] = E(op_in, "in", D_IMM(IMM_UB)),
    [0xe6] = E(op_out, "out", D_BYTE | D_IMM(IMM_UB)),
    [0xe7] = E(op_out, "out", D_IMM(IMM_UB)),
    [0xe8] = E(op_call_rel, "call", D_JMP | D_FORCE64 | D_IMM(IMM_RELZ)),
    [0xe9] = E(op_jmp_rel, "jmp", D_JMP | D_FORCE64 | D_IMM(IMM_RELZ)),
    [0xea] = E(op_jmp_far, "ljmp", D_INV64 | D_NOCHAIN | D_IMM(IMM_FAR)),
    [0xeb] = E(op_jmp_rel, "jmp", D_JMP | D_FORCE64 | D_IMM(IMM_REL8)),
    [0xec] = E(op_in, "in", D_BYTE),
    [0xed] = E(op_in, "in", 0),
    [0xee] = E(op_out, "out", D_BYTE),
    [0xef] = E(op_out, "out", 0),
    [0xf1] = E(op_int1, "int1", D_NOCHAIN),
    [0xf4] = E(op_hlt, "hlt", D_END),
    [0xf5] = E(op_cmc, "cmc", 0),
    [0xf6] = G("grp3", D_MODRM | D_BYTE, grp3b),
    [0xf7] = G("grp3", D_MODRM, grp3v),
    [0xf8] = E(op_clc, "clc", 0),
    [0xf9] = E(op_stc, "stc", 0),
    [0xfa] = E(op_cli, "cli", 0),
    [0xfb] = E(op_sti, "sti", D_END),
    [0xfc] = E(op_cld, "cld", 0),
    [0xfd] = E(op_std, "std", 0),
    [0xfe] = G("grp4", D_MODRM | D_BYTE, grp4),
    [0xff] = G("grp5", D_MODRM, grp5),
};

static const OpDesc twobyte[256] = {
    [0x00] = E(op_grp6, "grp6", D_MODRM | D_NOCHAIN),
    [0x01] = E(op_grp7, "grp7", D_MODRM | D_NOCHAIN),
    [0x02] = E(op_lar_lsl, "lar", D_MODRM),
    [0x03] = E(op_lar_lsl, "lsl", D_MODRM),
    [0x05] = E(op_syscall, "syscall", D_NOCHAIN),
    [0x06] = E(op_clts, "clts", 0),
    [0x07] = E(op_sysret, "sysret", D_NOCHAIN),
    [0x08] = E(op_invd, "invd", 0),
    [0x09] = E(op_invd, "wbinvd", 0),
    [0x0b] = E(op_ud, "ud2", D_END),
    [0x0d] = E(op_nop, "prefetch", D_MODRM | D_MEMONLY),
    R8(0x18, op_nop, "nop", D_MODRM),
    [0x20] = E(op_mov_cr, "mov", D_MODRM | D_FORCEREG | D_FORCE64),
    [0x21] = E(op_mov_dr, "mov", D_MODRM | D_FORCEREG | D_FORCE64),
    [0x22] = E(op_mov_cr, "mov", D_MODRM | D_FORCEREG | D_FORCE64 | D_NOCHAIN),
    [0x23] = E(op_mov_dr, "mov", D_MODRM | D_FORCEREG | D_FORCE64),
    [0x30] = E(op_wrmsr, "wrmsr", D_NOCHAIN),
    [0x31] = E(op_rdtsc, "rdtsc", 0),
    [0x32] = E(op_rdmsr, "rdmsr", 0),
    [0x33] = E(op_rdpmc, "rdpmc", 0),
    [0x34] = E(op_sysenter, "sysenter", D_NOCHAIN),
    [0x35] = E(op_sysexit, "sysexit", D_NOCHAIN),
    CMOV(0, "cmovo"), CMOV(1, "cmovno"), CMOV(2, "cmovb"), CMOV(3, "cmovae"),
    CMOV(4, "cmove"), CMOV(5, "cmovne"), CMOV(6, "cmovbe"), CMOV(7, "cmova"),
    CMOV(8, "cmovs"), CMOV(9, "cmovns"), CMOV(10, "cmovp"), CMOV(11, "cmovnp"),
    CMOV(12, "cmovl"), CMOV(13, "cmovge"), CMOV(14, "cmovle"), CMOV(15, "cmovg"),
    JCCZ(0, "jo"), JCCZ(1, "jno"), JCCZ(2, "jb"), JCCZ(3, "jae"),
    JCCZ(4, "je"), JCCZ(5, "jne"), JCCZ(6, "jbe"), JCCZ(7, "ja"),
    JCCZ(8, "js"), JCCZ(9, "jns"), JCCZ(10, "jp"), JCCZ(11, "jnp"),
    JCCZ(12, "jl"), JCCZ(13, "jge"), JCCZ(14, "jle"), JCCZ(15, "jg"),
    SETCC(0, "seto"), SETCC(1, "setno"), SETCC(2, "setb"), SETCC(3, "setae"),
    SETCC(4, "sete"), SETCC(5, "setne"), SETCC(6, "setbe"), SETCC(7, "seta"),
    SETCC(8, "sets"), SETCC(9, "setns"), SETCC(10, "setp"), SETCC(11, "setnp"),
    SETCC(12, "setl"), SETCC(13, "setge"), SETCC(14, "setle"), SETCC(15, "setg"),
    [0xa0] = ES(op_push_sreg, "push fs", D_DEF64, R_FS),
    [0xa1] = ES(op_pop_sreg, "pop fs", D_DEF64, R_FS),
    [0xa2] = E(op_cpuid, "cpuid", 0),
    [0xa3] = ES(op_bt_rm_r, "bt", D_MODRM, 0),
    [0xa4] = E(op_shld_shrd, "shld", D_MODRM | D_IMM(IMM_UB)),
    [0xa5] = E(op_shld_shrd, "shld", D_MODRM),
    [0xa8] = ES(op_push_sreg, "push gs", D_DEF64, R_GS),
    [0xa9] = ES(op_pop_sreg, "pop gs", D_DEF64, R_GS),
    [0xab] = ES(op_bt_rm_r, "bts", D_MODRM | D_LOCK, 1),
    [0xac] = E(op_shld_shrd, "shrd", D_MODRM | D_IMM(IMM_UB)),
    [0xad] = E(op_shld_shrd, "shrd", D_MODRM),
    [0xae] = E(op_grp15_int, "grp15", D_MODRM),
    [0xaf] = E(op_imul_r_rm, "imul", D_MODRM),
    [0xb0] = E(op_cmpxchg, "cmpxchg", D_MODRM | D_BYTE | D_LOCK),
    [0xb1] = E(op_cmpxchg, "cmpxchg", D_MODRM | D_LOCK),
    [0xb2] = ES(op_lxs, "lss", D_MODRM | D_MEMONLY | D_NOCHAIN, R_SS),
    [0xb3] = ES(op_bt_rm_r, "btr", D_MODRM | D_LOCK, 2),
    [0xb4] = ES(op_lxs, "lfs", D_MODRM | D_MEMONLY, R_FS),
    [0xb5] = ES(op_lxs, "lgs", D_MODRM | D_MEMONLY, R_GS),
    [0xb6] = ES(op_movzx, "movzx", D_MODRM | D_RM8, 1),
    [0xb7] = ES(op_movzx, "movzx", D_MODRM, 2),
    [0xb8] = E(op_popcnt, "popcnt", D_MODRM),
    [0xb9] = E(op_ud, "ud1", D_MODRM | D_END),
    [0xba] = G("grp8", D_MODRM | D_IMM(IMM_UB), grp8),
    [0xbb] = ES(op_bt_rm_r, "btc", D_MODRM | D_LOCK, 3),
    [0xbc] = E(op_bsf_bsr, "bsf", D_MODRM),
    [0xbd] = E(op_bsf_bsr, "bsr", D_MODRM),
    [0xbe] = ES(op_movsx, "movsx", D_MODRM | D_RM8, 1),
    [0xbf] = ES(op_movsx, "movsx", D_MODRM, 2),
    [0xc0] = E(op_xadd, "xadd", D_MODRM | D_BYTE | D_LOCK),
    [0xc1] = E(op_xadd, "xadd", D_MODRM | D_LOCK),
    [0xc3] = { .name = "movnti", .pfx = movnti },
    [0xc7] = G("grp9", D_MODRM, grp9),
    R8(0xc8, op_bswap, "bswap", 0),
    [0xff] = E(op_ud, "ud0", D_MODRM | D_END),
};

/* Variants by mandatory prefix: none, 66, F3, F2. */
static const OpDesc movbe_load[4] = {
    E(op_movbe, "movbe", D_MODRM | D_MEMONLY), E(op_movbe, "movbe", D_MODRM | D_MEMONLY),
};
static const OpDesc movbe_store[4] = {
    E(op_movbe, "movbe", D_MODRM | D_MEMONLY), E(op_movbe, "movbe", D_MODRM | D_MEMONLY),
};
static const OpDesc adx[4] = {
    [1] = E(op_adcx_adox, "adcx", D_MODRM | D_MAND66),
    [2] = E(op_adcx_adox, "adox", D_MODRM | D_MAND66),
};

/* The three-byte maps: entries go here (SSSE3/SSE4, MOVBE, CRC32, ...). */
static const OpDesc map0f38[256] = {
    [0xf0] = { .name = "movbe", .pfx = movbe_load },
    [0xf1] = { .name = "movbe", .pfx = movbe_store },
    [0xf6] = { .name = "adx", .pfx = adx },
};

/* VEX-encoded general-purpose instructions (BMI1/BMI2); variants by VEX.pp. */
static const OpDesc vex_grp17[8] = {
    [1] = ES(op_bls, "blsr", D_MODRM, 1), [2] = ES(op_bls, "blsmsk", D_MODRM, 2),
    [3] = ES(op_bls, "blsi", D_MODRM, 3),
};
static const OpDesc vex_andn[4] = { E(op_andn, "andn", D_MODRM) };
static const OpDesc vex_f3[4] = { G("grp17", D_MODRM, vex_grp17) };
static const OpDesc vex_f5[4] = {
    E(op_bzhi, "bzhi", D_MODRM), {0}, E(op_pext, "pext", D_MODRM), E(op_pdep, "pdep", D_MODRM),
};
static const OpDesc vex_f6[4] = { [3] = E(op_mulx, "mulx", D_MODRM) };
static const OpDesc vex_f7[4] = {
    E(op_bextr, "bextr", D_MODRM), ES(op_shiftx, "shlx", D_MODRM, 0),
    ES(op_shiftx, "sarx", D_MODRM, 1), ES(op_shiftx, "shrx", D_MODRM, 2),
};
static const OpDesc vex_rorx[4] = { [3] = E(op_rorx, "rorx", D_MODRM | D_IMM(IMM_UB)) };

static const OpDesc vex0f38[256] = {
    [0xf2] = { .name = "andn", .pfx = vex_andn },
    [0xf3] = { .name = "grp17", .pfx = vex_f3 },
    [0xf5] = { .name = "bzhi", .pfx = vex_f5 },
    [0xf6] = { .name = "mulx", .pfx = vex_f6 },
    [0xf7] = { .name = "bextr", .pfx = vex_f7 },
};
static const OpDesc vex0f3a[256] = {
    [0xf0] = { .name = "rorx", .pfx = vex_rorx },
};
static const OpDesc vex_none = { .name = "vex" };

static const OpDesc map0f3a[256] = {
    [0] = { 0 },
};

/* ---- instruction fetch ---- */

typedef struct DecodeCtx {
    TcgCpu *c;
    uint64_t cs_base;
    uint64_t next_linear;      /* linear address of the next byte */
    uint64_t page_vaddr[2];
    uint8_t *page_host[2];
    ram_addr_t page_ram[2];
    int mmu_idx;
    bool first_insn;           /* a fetch fault may be raised right away */
    bool fetch_failed;         /* the instruction crosses into an unmapped page
                                * or past the CS limit */
    bool check_limit;          /* outside 64-bit mode: offsets must be <= cs_limit */
    uint32_t cs_limit;
    uint8_t bytes[16];
    unsigned len;
} DecodeCtx;

static uint8_t fetch_byte(DecodeCtx *d)
{
    uint64_t la = d->next_linear;
    uint64_t page = la & KESTREL_PAGE_MASK;
    uint8_t b;

    if (d->len >= 15) {
        /* Overlong: the caller turns this into #GP; stop fetching. */
        d->len++;
        return 0x90;
    }
    if (d->check_limit && !d->fetch_failed && (uint32_t)(la - d->cs_base) > d->cs_limit) {
        /* A byte past the CS limit: #GP(0) at this instruction. The first
         * instruction of a block faults now (rip is the block start);
         * a later one ends the block before it, so it faults when it
         * becomes the first one. */
        if (d->first_insn) {
            raise_exception_err(d->c, EXCP_GP, 0);
        }
        d->fetch_failed = true;
        d->page_host[1] = NULL;
    }
    if (d->fetch_failed) {
        b = 0;
    } else if (page == d->page_vaddr[0]) {
        b = d->page_host[0][la & ~KESTREL_PAGE_MASK];
    } else if (d->page_host[1] && page == d->page_vaddr[1]) {
        b = d->page_host[1][la & ~KESTREL_PAGE_MASK];
    } else {
        if (!tcg_get_code_page(d->c, la, d->mmu_idx, !d->first_insn, &d->page_host[1],
                               &d->page_ram[1])) {
            d->fetch_failed = true;
            d->page_host[1] = NULL;
            b = 0;
        } else {
            d->page_vaddr[1] = page;
            b = d->page_host[1][la & ~KESTREL_PAGE_MASK];
        }
    }
    if (d->len < sizeof(d->bytes)) {
        d->bytes[d->len] = b;
    }
    d->len++;
    d->next_linear++;
    if (!(d->c->tb_flags & HF_CS64)) {
        d->next_linear = (uint32_t)d->next_linear;
    }
    return b;
}

static uint64_t fetch_le(DecodeCtx *d, unsigned n)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < n; k++) {
        v |= (uint64_t)fetch_byte(d) << (8 * k);
    }
    return v;
}

/* ---- decoding ---- */

static void decode_modrm(DecodeCtx *d, Insn *i, uint8_t modrm, unsigned rex, bool code64,
                         bool *rip_rel, bool seg_override)
{
    unsigned mod = modrm >> 6, rm = modrm & 7;
    bool ss_default = false;

    i->base = REG_NONE;
    i->index = REG_NONE;
    i->scale = 0;
    i->disp = 0;
    if (mod == 3) {
        i->is_mem = 0;
        i->rm = (uint8_t)(rm | ((rex & 1) << 3));
        return;
    }
    i->is_mem = 1;
    if (i->addrsize == 2) {
        static const uint8_t base16[8] = { R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX };
        static const uint8_t index16[8] = { R_ESI, R_EDI, R_ESI, R_EDI, REG_NONE, REG_NONE,
                                            REG_NONE, REG_NONE };
        if (mod == 0 && rm == 6) {
            i->disp = (int16_t)fetch_le(d, 2);
        } else {
            i->base = base16[rm];
            i->index = index16[rm];
            ss_default = rm == 2 || rm == 3 || rm == 6;
            if (mod == 1) {
                i->disp = (int8_t)fetch_byte(d);
            } else if (mod == 2) {
                i->disp = (int16_t)fetch_le(d, 2);
            }
        }
    } else {
        if (rm == 4) {
            uint8_t sib = fetch_byte(d);
            unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
            unsigned base = sib & 7;
            i->scale = sib >> 6;
            if (idx != 4) {
                i->index = (uint8_t)idx;
            }
            if (base == 5 && mod == 0) {
                i->disp = (int32_t)fetch_le(d, 4);
            } else {
                i->base = (uint8_t)(base | ((rex & 1) << 3));
                ss_default = base == R_ESP || base == R_EBP;
            }
        } else if (rm == 5 && mod == 0) {
            i->disp = (int32_t)fetch_le(d, 4);
            *rip_rel = code64;
        } else {
            i->base = (uint8_t)(rm | ((rex & 1) << 3));
            ss_default = rm == R_EBP;
        }
        if (mod == 1) {
            i->disp = (int8_t)fetch_byte(d);
        } else if (mod == 2) {
            i->disp = (int32_t)fetch_le(d, 4);
        }
    }
    if (!seg_override && ss_default) {
        i->seg = R_SS;
    }
}

static uint8_t byte_reg(unsigned r, bool rex)
{
    return (!rex && r >= 4 && r < 8) ? (uint8_t)(REG_HIGH_BYTE + r - 4) : (uint8_t)r;
}

/* Decodes one instruction at eip. Returns the descriptor flags. */
static uint32_t decode_insn(DecodeCtx *d, Insn *i, uint64_t eip)
{
    TcgCpu *c = d->c;
    bool code64 = (c->tb_flags & HF_CS64) != 0;
    bool code32 = (c->tb_flags & HF_CS32) != 0;
    unsigned rex = 0;
    uint16_t pfx = 0;
    int seg = -1;
    const OpDesc *desc;
    uint32_t flags;
    uint8_t b;
    bool two = false, rip_rel = false;
    unsigned map = MAP_1BYTE;
    bool vex = false, vex_bad = false;
    unsigned vex_v = 0, vex_w = 0, vex_pp = 0;

    memset(i, 0, sizeof(*i));
    i->eip = eip;
    d->len = 0;

    for (;;) {
        b = fetch_byte(d);
        switch (b) {
        case 0xf0: pfx |= PFX_LOCK; rex = 0; continue;
        case 0xf2: pfx = (pfx & ~PFX_REP) | PFX_REPNE; rex = 0; continue;
        case 0xf3: pfx = (pfx & ~PFX_REPNE) | PFX_REP; rex = 0; continue;
        /* In 64-bit mode ES/CS/SS/DS overrides are null prefixes: they
         * do not even cancel an earlier FS/GS. */
        case 0x26: seg = code64 ? seg : R_ES; rex = 0; continue;
        case 0x2e: seg = code64 ? seg : R_CS; rex = 0; continue;
        case 0x36: seg = code64 ? seg : R_SS; rex = 0; continue;
        case 0x3e: seg = code64 ? seg : R_DS; rex = 0; continue;
        case 0x64: seg = R_FS; rex = 0; continue;
        case 0x65: seg = R_GS; rex = 0; continue;
        case 0x66: pfx |= PFX_OPSIZE; rex = 0; continue;
        case 0x67: pfx |= PFX_ADSIZE; rex = 0; continue;
        default: break;
        }
        if (code64 && (b & 0xf0) == 0x40) {
            /* REX counts only when it immediately precedes the opcode. */
            rex = 0x10 | (b & 0xf);
            continue;
        }
        break;
    }
    if ((b == 0xc4 || b == 0xc5) && (c->tb_flags & HF_PE) && !(c->tb_flags & HF_VM86)) {
        /* VEX, or LES/LDS outside 64-bit mode when the next byte is a
         * ModRM with a memory operand (VEX's inverted R/X bits are 1 there). */
        uint64_t save_linear = d->next_linear;
        unsigned save_len = d->len;
        uint8_t b1 = fetch_byte(d), vb = b1;
        if (code64 || (b1 >> 6) == 3) {
            unsigned vex_map = 1;
            vex = true;
            /* 66/F2/F3/LOCK/REX before VEX: #UD. */
            vex_bad = (pfx & (PFX_OPSIZE | PFX_REP | PFX_REPNE | PFX_LOCK)) || rex;
            if (b == 0xc4) {
                vb = fetch_byte(d);
                rex = 0x10 | ((~b1 >> 5) & 7);      /* R, X, B (inverted) */
                vex_map = b1 & 0x1f;
                vex_w = vb >> 7;
            } else {
                rex = 0x10 | ((~b1 >> 5) & 4);      /* R only */
            }
            vex_v = (~vb >> 3) & 15;
            vex_pp = vb & 3;
            vex_bad |= (vb & 4) != 0;               /* VEX.L=1: no integer forms */
            if (!code64) {
                rex = 0;
                vex_v &= 7;
                vex_w = 0;
            }
            b = fetch_byte(d);
            two = true;
            map = vex_map == 2 ? MAP_0F38 : vex_map == 3 ? MAP_0F3A : MAP_0F;
            desc = vex_map == 2 ? &vex0f38[b] : vex_map == 3 ? &vex0f3a[b] : &vex_none;
            if (desc->pfx) {
                desc = &desc->pfx[vex_pp];   /* pp: none, 66, F3, F2 as the table */
            }
            pfx |= PFX_VEX;
        } else {
            d->next_linear = save_linear;
            d->len = save_len;
        }
    }
    if (rex) {
        pfx |= PFX_REX;
        if ((rex & 8) && !vex) {
            pfx |= PFX_REXW;
        }
    }
    if (vex) {
        /* desc chosen above */
    } else if (b == 0x0f) {
        two = true;
        b = fetch_byte(d);
        if (b == 0x38) {
            map = MAP_0F38;
            b = fetch_byte(d);
            desc = &map0f38[b];
        } else if (b == 0x3a) {
            map = MAP_0F3A;
            b = fetch_byte(d);
            desc = &map0f3a[b];
        } else {
            map = MAP_0F;
            desc = &twobyte[b];
        }
    } else {
        desc = &onebyte[b];
    }
    if (!vex && desc->pfx) {
        /* F3/F2 win over 66 when both are present. */
        unsigned v = (pfx & PFX_REP) ? 2 : (pfx & PFX_REPNE) ? 3 : (pfx & PFX_OPSIZE) ? 1 : 0;
        desc = &desc->pfx[v];
    }
    i->op = b;
    i->prefixes = pfx;
    if (seg >= 0) {
        i->prefixes |= PFX_SEG;
        i->seg = (uint8_t)seg;
    } else {
        i->seg = R_DS;
    }
    flags = desc->flags;

    /* Address size. */
    if (code64) {
        i->addrsize = (pfx & PFX_ADSIZE) ? 4 : 8;
    } else {
        i->addrsize = (code32 != ((pfx & PFX_ADSIZE) != 0)) ? 4 : 2;
    }

    if (flags & D_MODRM) {
        i->modrm = fetch_byte(d);
        if (desc->group) {
            const OpDesc *g = &desc->group[(i->modrm >> 3) & 7];
            uint32_t gflags = g->flags;
            if (!(gflags & D_IMM_MASK)) {
                gflags |= flags & D_IMM_MASK;
            }
            flags = (flags & ~(D_IMM_MASK | D_LOCK)) | gflags;
            desc = g;
        }
    }

    /* Operand size. */
    if (flags & D_BYTE) {
        i->opsize = 1;
    } else if (vex) {
        i->opsize = vex_w ? 8 : 4;     /* VEX.W, ignored outside 64-bit mode */
    } else if (code64) {
        if ((pfx & PFX_REXW) || (flags & D_FORCE64)) {
            i->opsize = 8;
        } else if ((pfx & PFX_OPSIZE) && !(flags & D_MAND66)) {
            i->opsize = 2;
        } else {
            i->opsize = (flags & D_DEF64) ? 8 : 4;
        }
    } else {
        bool opsize_pfx = (pfx & PFX_OPSIZE) && !(flags & D_MAND66);
        i->opsize = (code32 != opsize_pfx) ? 4 : 2;
    }
    i->imm2 = vex_v;

    if (flags & D_MODRM) {
        unsigned reg = ((i->modrm >> 3) & 7) | ((rex & 4) << 1);
        uint8_t modrm = i->modrm;
        if (flags & D_FORCEREG) {
            modrm |= 0xc0;
        }
        decode_modrm(d, i, modrm, rex, code64, &rip_rel, seg >= 0);
        i->reg = (flags & D_BYTE) ? byte_reg(reg, rex) : (uint8_t)reg;
        if (!i->is_mem && ((flags & D_BYTE) || (flags & D_RM8))) {
            i->rm = byte_reg(i->rm, rex);
        }
    } else {
        /* Register in the low opcode bits (push r, mov r,imm, bswap...). */
        unsigned reg = (b & 7) | ((rex & 1) << 3);
        i->reg = (flags & D_BYTE) ? byte_reg(reg, rex) : (uint8_t)reg;
    }

    /* Immediates. */
    switch ((flags & D_IMM_MASK) >> D_IMM_SHIFT) {
    case IMM_IB:
    case IMM_REL8:
        i->imm = (uint64_t)(int64_t)(int8_t)fetch_byte(d);
        break;
    case IMM_UB:
        i->imm = fetch_byte(d);
        break;
    case IMM_IW:
        i->imm = fetch_le(d, 2);
        break;
    case IMM_IZ:
    case IMM_RELZ:
        i->imm = i->opsize == 2 ? (uint64_t)(int64_t)(int16_t)fetch_le(d, 2)
                                : (uint64_t)(int64_t)(int32_t)fetch_le(d, 4);
        break;
    case IMM_IV:
        i->imm = fetch_le(d, i->opsize);
        break;
    case IMM_MOFFS:
        i->imm = fetch_le(d, i->addrsize);
        break;
    case IMM_FAR:
        i->imm = fetch_le(d, i->opsize == 2 ? 2 : 4);
        i->imm2 = fetch_le(d, 2);
        break;
    case IMM_ENTER:
        i->imm = fetch_le(d, 2);
        i->imm2 = fetch_byte(d);
        break;
    default:
        break;
    }

    i->len = (uint8_t)(d->len > 15 ? 15 : d->len);
    i->next_eip = eip + d->len;
    if (!code64) {
        /* Straight-line execution advances the full 32-bit EIP even in a
         * 16-bit code segment (a 66-prefixed jump can put EIP above 0xffff
         * when the CS limit allows it); only 16-bit operand-size control
         * transfers truncate the target to 16 bits, below. */
        i->next_eip = (uint32_t)i->next_eip;
    }
    if (rip_rel) {
        i->disp += (int64_t)i->next_eip;
    }
    switch ((flags & D_IMM_MASK) >> D_IMM_SHIFT) {
    case IMM_REL8:
    case IMM_RELZ:
        i->imm += i->next_eip;
        if (i->opsize == 2) {
            i->imm &= 0xffff;
        } else if (!code64) {
            i->imm = (uint32_t)i->imm;
        }
        break;
    default:
        break;
    }

    i->fn = desc->fn;
    i->name = desc->name;
    i->sub = desc->sub;
    if (!two && (b & 0xf8) == 0x90 && i->reg == 0) {
        /* 90 is NOP (F3 90: PAUSE); with REX.B it exchanges r8. */
        i->fn = op_nop;
        i->name = (pfx & PFX_REP) ? "pause" : "nop";
    }

    /* Validity checks turn into #UD at execution (precise). */
    if (d->len > 15) {
        i->fn = op_gp_too_long;
        i->name = "(too long)";
        return D_END;
    }
    if (!i->fn) {
        i->fn = op_ud_unimp;
        i->name = "(unimplemented)";
        i->sub = (uint8_t)map;
        return D_END;
    }
    if (vex_bad || (code64 && (flags & D_INV64)) ||
        ((flags & D_MEMONLY) && !i->is_mem) ||
        ((flags & D_REGONLY) && i->is_mem) ||
        ((flags & D_ONLY64) && !code64) ||
        ((pfx & PFX_LOCK) && (!(flags & D_LOCK) || !i->is_mem))) {
        i->fn = op_ud;
        i->name = "(invalid)";
        return D_END;
    }
    return flags;
}

static void log_insn(const DecodeCtx *d, const Insn *i)
{
    char hex[3 * 16 + 1];
    unsigned n = d->len < 16 ? d->len : 16, k;
    for (k = 0; k < n; k++) {
        snprintf(hex + 3 * k, 4, "%02x ", d->bytes[k]);
    }
    hex[3 * n] = 0;
    log_printf("0x%08" PRIx64 ":  %-30s %s\n", i->eip, hex, i->name ? i->name : "?");
}

TranslationBlock *x86_translate_tb(TcgCpu *c, uint64_t pc, uint64_t cs_base, uint32_t flags,
                                   ram_addr_t page0)
{
    static __thread Insn buf[TB_MAX_INSNS];
    TranslationBlock *tb;
    DecodeCtx d = { .c = c, .cs_base = cs_base };
    unsigned n = 0, max = (flags & (HF_TF | HF_INSN_BP)) ? 1 : TB_MAX_INSNS;
    uint32_t cflags = 0;
    uint64_t eip = pc - cs_base, jmp0 = ~(uint64_t)0, jmp1 = ~(uint64_t)0;
    uint64_t end_linear = pc;
    bool log = log_enabled(LOG_IN_ASM);

    if (!(flags & HF_CS64)) {
        eip = (uint32_t)eip;
    }
    d.mmu_idx = (flags & HF_CPL_MASK) == 3 ? MMU_IDX_USER : MMU_IDX_KERNEL;
    d.page_vaddr[0] = pc & KESTREL_PAGE_MASK;
    d.page_vaddr[1] = ~(uint64_t)0;
    d.page_ram[1] = RAM_ADDR_INVALID;
    /* Raises #PF (rip = the TB start) when the first page is not mapped. */
    tcg_get_code_page(c, pc, d.mmu_idx, false, &d.page_host[0], &d.page_ram[0]);
    d.next_linear = pc;
    d.check_limit = !(flags & HF_CS64);
    d.cs_limit = c->env->segs[R_CS].limit;
    c->tb_flags = flags;

    if (log) {
        log_printf("IN: pc=0x%" PRIx64 " cs_base=0x%" PRIx64 " flags=0x%x\n", pc, cs_base, flags);
    }
    for (;;) {
        Insn *i = &buf[n];
        uint64_t start_linear = d.next_linear;
        uint32_t dflags;

        d.first_insn = n == 0;
        dflags = decode_insn(&d, i, eip);
        if (d.fetch_failed) {
            /* Crosses into an unmapped page: end the TB before it, so the
             * fault is raised when execution gets there. */
            if (n == 0) {
                /* Only non-RAM code gets here (a fault would have been
                 * raised for the first instruction). */
                c->excp_vector = EXCP_CANNOT_RUN;
                tcg_cpu_loop_exit(c);
            }
            d.page_host[1] = NULL;
            d.page_ram[1] = RAM_ADDR_INVALID;
            jmp0 = eip;
            break;
        }
        if (log) {
            log_insn(&d, i);
        }
        end_linear = d.next_linear;
        n++;
        eip = i->next_eip;
        if (dflags & D_JMP) {
            jmp0 = i->imm;
            break;
        }
        if (dflags & D_JCC) {
            jmp0 = i->imm;
            jmp1 = i->next_eip;
            break;
        }
        if (dflags & D_NOCHAIN) {
            cflags |= TB_NOCHAIN;
            break;
        }
        if (dflags & D_END) {
            break;
        }
        if (n >= max || ((d.next_linear ^ pc) & KESTREL_PAGE_MASK) ||
            ((start_linear ^ pc) & KESTREL_PAGE_MASK)) {
            jmp0 = eip;
            break;
        }
    }
    if (flags & (HF_TF | HF_INSN_BP)) {
        cflags |= TB_NOCHAIN;
    }

    tb = tcg_tb_alloc(n);
    tb->pc = pc;
    tb->cs_base = cs_base;
    tb->flags = flags;
    tb->cflags = cflags;
    tb->page_ram[0] = d.page_ram[0];
    (void)page0;
    tb->page_vaddr[0] = d.page_vaddr[0];
    tb->page_ram[1] = d.page_host[1] ? d.page_ram[1] : RAM_ADDR_INVALID;
    tb->page_vaddr[1] = d.page_host[1] ? d.page_vaddr[1] : ~(uint64_t)0;
    tb->n_insns = n;
    /* From the first byte to the end of the last instruction, counted in
     * linear bytes actually fetched (whatever the instruction pointer
     * did), so the page bookkeeping covers exactly the code read. */
    tb->size = tb_size_from_linear(pc, end_linear, !(flags & HF_CS64));
    tb->jmp_eip[0] = jmp0;
    tb->jmp_eip[1] = jmp1;
    memcpy(tb->insns, buf, n * sizeof(Insn));
    return tb;
}
