/*
 * The instruction table of the differential tester: one entry per opcode
 * form (map, opcode, ModRM.reg extension, mandatory prefix), with the
 * operand sizes it allows, its operand kinds, and which arithmetic flags it
 * writes (the flag class; what the SDM defines for each class, possibly
 * depending on the shift count, is in gen.c:flags_effect).
 *
 * 64-bit mode only: the forms that exist only outside 64-bit mode (BCD,
 * PUSHA, BOUND, ...) appear as K_INVALID entries that must raise #UD.
 */
#include "tcg-diff.h"

#define F(nm, k, mp, op, ex, pf, sz, im, fc, o, ft) \
    { .name = nm, .kind = k, .map = mp, .opc = op, .ext = ex, .mpfx = pf, .sizes = sz, \
      .imm = im, .fclass = fc, .opt = o, .feat = ft }

/* The eight ALU operations: rows 00-3D and group 1 (80, 81, 83). */
#define ALU_WR(i) ((i) == 7 ? 0u : (unsigned)(O_WRM | O_LOCK))
#define ALU_WREG(i) ((i) == 7 ? 0u : (unsigned)O_WREG)
#define ALU_FC(i) (((i) == 1 || (i) == 4 || (i) == 6) ? FC_LOGIC : FC_ARITH)
#define ALU_RD(i) (((i) == 2 || (i) == 3) ? (unsigned)O_RDCF : 0u)
#define ALU(i, nm)                                                                          \
    F(nm " Eb,Gb", K_MODRM, MAP_1, (i) * 8 + 0, -1, 0, SZ_8, IMM_NONE, ALU_FC(i),            \
      ALU_WR(i) | ALU_RD(i), 0),                                                            \
    F(nm " Ev,Gv", K_MODRM, MAP_1, (i) * 8 + 1, -1, 0, SZ_V, IMM_NONE, ALU_FC(i),            \
      ALU_WR(i) | ALU_RD(i), 0),                                                            \
    F(nm " Gb,Eb", K_MODRM, MAP_1, (i) * 8 + 2, -1, 0, SZ_8, IMM_NONE, ALU_FC(i),            \
      ALU_WREG(i) | ALU_RD(i), 0),                                                          \
    F(nm " Gv,Ev", K_MODRM, MAP_1, (i) * 8 + 3, -1, 0, SZ_V, IMM_NONE, ALU_FC(i),            \
      ALU_WREG(i) | ALU_RD(i), 0),                                                          \
    F(nm " AL,ib", K_ACC_IMM, MAP_1, (i) * 8 + 4, -1, 0, SZ_8, IMM_8, ALU_FC(i), ALU_RD(i), 0), \
    F(nm " eAX,iz", K_ACC_IMM, MAP_1, (i) * 8 + 5, -1, 0, SZ_V, IMM_Z, ALU_FC(i), ALU_RD(i), 0), \
    F(nm " Eb,ib", K_GRP, MAP_1, 0x80, i, 0, SZ_8, IMM_8, ALU_FC(i), ALU_WR(i) | ALU_RD(i), 0),  \
    F(nm " Ev,iz", K_GRP, MAP_1, 0x81, i, 0, SZ_V, IMM_Z, ALU_FC(i), ALU_WR(i) | ALU_RD(i), 0),  \
    F(nm " Ev,ib", K_GRP, MAP_1, 0x83, i, 0, SZ_V, IMM_8, ALU_FC(i), ALU_WR(i) | ALU_RD(i), 0)

/* Group 2 shifts and rotates: by 1, by CL, by imm8, byte and word+ forms. */
#define SHIFT_RD(i) (((i) == 2 || (i) == 3) ? (unsigned)O_RDCF : 0u)
#define SHIFT(i, nm)                                                                        \
    F(nm " Eb,1", K_GRP, MAP_1, 0xd0, i, 0, SZ_8, IMM_NONE, FC_SHIFT,                        \
      O_WRM | O_CNT1 | SHIFT_RD(i), 0),                                                     \
    F(nm " Ev,1", K_GRP, MAP_1, 0xd1, i, 0, SZ_V, IMM_NONE, FC_SHIFT,                        \
      O_WRM | O_CNT1 | SHIFT_RD(i), 0),                                                     \
    F(nm " Eb,CL", K_GRP, MAP_1, 0xd2, i, 0, SZ_8, IMM_NONE, FC_SHIFT,                       \
      O_WRM | O_CNTCL | SHIFT_RD(i), 0),                                                    \
    F(nm " Ev,CL", K_GRP, MAP_1, 0xd3, i, 0, SZ_V, IMM_NONE, FC_SHIFT,                       \
      O_WRM | O_CNTCL | SHIFT_RD(i), 0),                                                    \
    F(nm " Eb,ib", K_GRP, MAP_1, 0xc0, i, 0, SZ_8, IMM_8, FC_SHIFT,                          \
      O_WRM | O_CNTIMM | SHIFT_RD(i), 0),                                                   \
    F(nm " Ev,ib", K_GRP, MAP_1, 0xc1, i, 0, SZ_V, IMM_8, FC_SHIFT,                          \
      O_WRM | O_CNTIMM | SHIFT_RD(i), 0)

#define CC_FORMS                                                                            \
    F("jcc rel8", K_JCC8, MAP_1, 0x70, -1, 0, SZ_64, IMM_NONE, FC_NONE, O_CC, 0),            \
    F("jcc rel32", K_JCC32, MAP_0F, 0x80, -1, 0, SZ_64, IMM_NONE, FC_NONE, O_CC, 0),         \
    F("setcc Eb", K_GRP, MAP_0F, 0x90, 0, 0, SZ_8, IMM_NONE, FC_NONE, O_CC | O_WRM, 0),      \
    F("cmovcc Gv,Ev", K_MODRM, MAP_0F, 0x40, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_CC | O_WREG, 0)

#define INV(nm, b0) \
    { .name = "invalid " nm, .kind = K_INVALID, .sizes = SZ_32, .opt = O_ONLY64, .inv = { b0 }, \
      .inv_len = 1 }

const Form forms[] = {
    ALU(0, "add"), ALU(1, "or"), ALU(2, "adc"), ALU(3, "sbb"),
    ALU(4, "and"), ALU(5, "sub"), ALU(6, "xor"), ALU(7, "cmp"),

    F("test Eb,Gb", K_MODRM, MAP_1, 0x84, -1, 0, SZ_8, IMM_NONE, FC_LOGIC, 0, 0),
    F("test Ev,Gv", K_MODRM, MAP_1, 0x85, -1, 0, SZ_V, IMM_NONE, FC_LOGIC, 0, 0),
    F("test AL,ib", K_ACC_IMM, MAP_1, 0xa8, -1, 0, SZ_8, IMM_8, FC_LOGIC, 0, 0),
    F("test eAX,iz", K_ACC_IMM, MAP_1, 0xa9, -1, 0, SZ_V, IMM_Z, FC_LOGIC, 0, 0),
    F("test Eb,ib", K_GRP, MAP_1, 0xf6, 0, 0, SZ_8, IMM_8, FC_LOGIC, 0, 0),
    F("test Ev,iz", K_GRP, MAP_1, 0xf7, 0, 0, SZ_V, IMM_Z, FC_LOGIC, 0, 0),
    F("not Eb", K_GRP, MAP_1, 0xf6, 2, 0, SZ_8, IMM_NONE, FC_NONE, O_WRM | O_LOCK, 0),
    F("not Ev", K_GRP, MAP_1, 0xf7, 2, 0, SZ_V, IMM_NONE, FC_NONE, O_WRM | O_LOCK, 0),
    F("neg Eb", K_GRP, MAP_1, 0xf6, 3, 0, SZ_8, IMM_NONE, FC_ARITH, O_WRM | O_LOCK, 0),
    F("neg Ev", K_GRP, MAP_1, 0xf7, 3, 0, SZ_V, IMM_NONE, FC_ARITH, O_WRM | O_LOCK, 0),
    F("mul Eb", K_GRP, MAP_1, 0xf6, 4, 0, SZ_8, IMM_NONE, FC_MUL, 0, 0),
    F("mul Ev", K_GRP, MAP_1, 0xf7, 4, 0, SZ_V, IMM_NONE, FC_MUL, 0, 0),
    F("imul Eb", K_GRP, MAP_1, 0xf6, 5, 0, SZ_8, IMM_NONE, FC_MUL, 0, 0),
    F("imul Ev", K_GRP, MAP_1, 0xf7, 5, 0, SZ_V, IMM_NONE, FC_MUL, 0, 0),
    F("div Eb", K_GRP, MAP_1, 0xf6, 6, 0, SZ_8, IMM_NONE, FC_DIV, O_DIV, 0),
    F("div Ev", K_GRP, MAP_1, 0xf7, 6, 0, SZ_V, IMM_NONE, FC_DIV, O_DIV, 0),
    F("idiv Eb", K_GRP, MAP_1, 0xf6, 7, 0, SZ_8, IMM_NONE, FC_DIV, O_DIV, 0),
    F("idiv Ev", K_GRP, MAP_1, 0xf7, 7, 0, SZ_V, IMM_NONE, FC_DIV, O_DIV, 0),
    F("imul Gv,Ev", K_MODRM, MAP_0F, 0xaf, -1, 0, SZ_V, IMM_NONE, FC_MUL, O_WREG, 0),
    F("imul Gv,Ev,iz", K_MODRM, MAP_1, 0x69, -1, 0, SZ_V, IMM_Z, FC_MUL, O_WREG, 0),
    F("imul Gv,Ev,ib", K_MODRM, MAP_1, 0x6b, -1, 0, SZ_V, IMM_8, FC_MUL, O_WREG, 0),
    F("inc Eb", K_GRP, MAP_1, 0xfe, 0, 0, SZ_8, IMM_NONE, FC_INCDEC, O_WRM | O_LOCK, 0),
    F("dec Eb", K_GRP, MAP_1, 0xfe, 1, 0, SZ_8, IMM_NONE, FC_INCDEC, O_WRM | O_LOCK, 0),
    F("inc Ev", K_GRP, MAP_1, 0xff, 0, 0, SZ_V, IMM_NONE, FC_INCDEC, O_WRM | O_LOCK, 0),
    F("dec Ev", K_GRP, MAP_1, 0xff, 1, 0, SZ_V, IMM_NONE, FC_INCDEC, O_WRM | O_LOCK, 0),

    SHIFT(0, "rol"), SHIFT(1, "ror"), SHIFT(2, "rcl"), SHIFT(3, "rcr"),
    SHIFT(4, "shl"), SHIFT(5, "shr"), SHIFT(6, "sal"), SHIFT(7, "sar"),
    F("shld Ev,Gv,ib", K_MODRM, MAP_0F, 0xa4, -1, 0, SZ_V, IMM_8, FC_SHLD, O_WRM | O_CNTIMM, 0),
    F("shld Ev,Gv,CL", K_MODRM, MAP_0F, 0xa5, -1, 0, SZ_V, IMM_NONE, FC_SHLD, O_WRM | O_CNTCL, 0),
    F("shrd Ev,Gv,ib", K_MODRM, MAP_0F, 0xac, -1, 0, SZ_V, IMM_8, FC_SHRD, O_WRM | O_CNTIMM, 0),
    F("shrd Ev,Gv,CL", K_MODRM, MAP_0F, 0xad, -1, 0, SZ_V, IMM_NONE, FC_SHRD, O_WRM | O_CNTCL, 0),

    F("bt Ev,Gv", K_MODRM, MAP_0F, 0xa3, -1, 0, SZ_V, IMM_NONE, FC_BT, O_BTREG, 0),
    F("bts Ev,Gv", K_MODRM, MAP_0F, 0xab, -1, 0, SZ_V, IMM_NONE, FC_BT, O_BTREG | O_WRM | O_LOCK, 0),
    F("btr Ev,Gv", K_MODRM, MAP_0F, 0xb3, -1, 0, SZ_V, IMM_NONE, FC_BT, O_BTREG | O_WRM | O_LOCK, 0),
    F("btc Ev,Gv", K_MODRM, MAP_0F, 0xbb, -1, 0, SZ_V, IMM_NONE, FC_BT, O_BTREG | O_WRM | O_LOCK, 0),
    F("bt Ev,ib", K_GRP, MAP_0F, 0xba, 4, 0, SZ_V, IMM_8, FC_BT, 0, 0),
    F("bts Ev,ib", K_GRP, MAP_0F, 0xba, 5, 0, SZ_V, IMM_8, FC_BT, O_WRM | O_LOCK, 0),
    F("btr Ev,ib", K_GRP, MAP_0F, 0xba, 6, 0, SZ_V, IMM_8, FC_BT, O_WRM | O_LOCK, 0),
    F("btc Ev,ib", K_GRP, MAP_0F, 0xba, 7, 0, SZ_V, IMM_8, FC_BT, O_WRM | O_LOCK, 0),
    F("bsf Gv,Ev", K_MODRM, MAP_0F, 0xbc, -1, 0, SZ_V, IMM_NONE, FC_BSF, O_WREG, 0),
    F("bsr Gv,Ev", K_MODRM, MAP_0F, 0xbd, -1, 0, SZ_V, IMM_NONE, FC_BSF, O_WREG, 0),
    F("tzcnt Gv,Ev", K_MODRM, MAP_0F, 0xbc, -1, 0xf3, SZ_V, IMM_NONE, FC_LZCNT, O_WREG, FEAT_BMI1),
    F("lzcnt Gv,Ev", K_MODRM, MAP_0F, 0xbd, -1, 0xf3, SZ_V, IMM_NONE, FC_LZCNT, O_WREG, FEAT_LZCNT),
    F("popcnt Gv,Ev", K_MODRM, MAP_0F, 0xb8, -1, 0xf3, SZ_V, IMM_NONE, FC_ALL, O_WREG, FEAT_POPCNT),
    F("bswap r", K_OPREG, MAP_0F, 0xc8, -1, 0, SZ_Y, IMM_NONE, FC_NONE, O_WRM, 0),

    F("xchg Eb,Gb", K_MODRM, MAP_1, 0x86, -1, 0, SZ_8, IMM_NONE, FC_NONE, O_WRM | O_WREG | O_LOCK | O_ATOMIC, 0),
    F("xchg Ev,Gv", K_MODRM, MAP_1, 0x87, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_WRM | O_WREG | O_LOCK | O_ATOMIC, 0),
    F("xchg eAX,r", K_OPREG, MAP_1, 0x90, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_WRM, 0),
    F("xadd Eb,Gb", K_MODRM, MAP_0F, 0xc0, -1, 0, SZ_8, IMM_NONE, FC_ARITH, O_WRM | O_WREG | O_LOCK, 0),
    F("xadd Ev,Gv", K_MODRM, MAP_0F, 0xc1, -1, 0, SZ_V, IMM_NONE, FC_ARITH, O_WRM | O_WREG | O_LOCK, 0),
    F("cmpxchg Eb,Gb", K_MODRM, MAP_0F, 0xb0, -1, 0, SZ_8, IMM_NONE, FC_ARITH, O_WRM | O_LOCK, 0),
    F("cmpxchg Ev,Gv", K_MODRM, MAP_0F, 0xb1, -1, 0, SZ_V, IMM_NONE, FC_ARITH, O_WRM | O_LOCK, 0),
    F("cmpxchg8b Mq", K_GRP, MAP_0F, 0xc7, 1, 0, SZ_32, IMM_NONE, FC_ZF, O_MEM | O_LOCK | O_ATOMIC, 0),
    F("cmpxchg16b Mdq", K_GRP, MAP_0F, 0xc7, 1, 0, SZ_64, IMM_NONE, FC_ZF,
      O_MEM | O_LOCK | O_ALIGN16, FEAT_CX16),

    F("mov Eb,Gb", K_MODRM, MAP_1, 0x88, -1, 0, SZ_8, IMM_NONE, FC_NONE, O_WRM, 0),
    F("mov Ev,Gv", K_MODRM, MAP_1, 0x89, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_WRM, 0),
    F("mov Gb,Eb", K_MODRM, MAP_1, 0x8a, -1, 0, SZ_8, IMM_NONE, FC_NONE, O_WREG, 0),
    F("mov Gv,Ev", K_MODRM, MAP_1, 0x8b, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_WREG, 0),
    F("mov Eb,ib", K_GRP, MAP_1, 0xc6, 0, 0, SZ_8, IMM_8, FC_NONE, O_WRM, 0),
    F("mov Ev,iz", K_GRP, MAP_1, 0xc7, 0, 0, SZ_V, IMM_Z, FC_NONE, O_WRM, 0),
    F("mov r8,ib", K_OPREG, MAP_1, 0xb0, -1, 0, SZ_8, IMM_8, FC_NONE, O_WRM, 0),
    F("mov r,iv", K_OPREG, MAP_1, 0xb8, -1, 0, SZ_V, IMM_V, FC_NONE, O_WRM, 0),
    F("mov AL,moffs", K_MOFFS, MAP_1, 0xa0, -1, 0, SZ_8, IMM_NONE, FC_NONE, 0, 0),
    F("mov eAX,moffs", K_MOFFS, MAP_1, 0xa1, -1, 0, SZ_V, IMM_NONE, FC_NONE, 0, 0),
    F("mov moffs,AL", K_MOFFS, MAP_1, 0xa2, -1, 0, SZ_8, IMM_NONE, FC_NONE, 0, 0),
    F("mov moffs,eAX", K_MOFFS, MAP_1, 0xa3, -1, 0, SZ_V, IMM_NONE, FC_NONE, 0, 0),
    F("mov Ev,Sreg", K_MODRM, MAP_1, 0x8c, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_WRM, 0),
    F("lea Gv,M", K_MODRM, MAP_1, 0x8d, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_MEM | O_WREG | O_LEA, 0),
    F("movzx Gv,Eb", K_MODRM, MAP_0F, 0xb6, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_WREG | O_RM8, 0),
    F("movzx Gv,Ew", K_MODRM, MAP_0F, 0xb7, -1, 0, SZ_Y, IMM_NONE, FC_NONE, O_WREG | O_RM16, 0),
    F("movsx Gv,Eb", K_MODRM, MAP_0F, 0xbe, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_WREG | O_RM8, 0),
    F("movsx Gv,Ew", K_MODRM, MAP_0F, 0xbf, -1, 0, SZ_Y, IMM_NONE, FC_NONE, O_WREG | O_RM16, 0),
    F("movsxd Gv,Ed", K_MODRM, MAP_1, 0x63, -1, 0, SZ_Y, IMM_NONE, FC_NONE, O_WREG | O_RM32 | O_ONLY64, 0),
    F("cbw/cwde/cdqe", K_NONE, MAP_1, 0x98, -1, 0, SZ_V, IMM_NONE, FC_NONE, 0, 0),
    F("cwd/cdq/cqo", K_NONE, MAP_1, 0x99, -1, 0, SZ_V, IMM_NONE, FC_NONE, 0, 0),
    F("movbe Gv,Mv", K_MODRM, MAP_0F38, 0xf0, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_MEM | O_WREG, FEAT_MOVBE),
    F("movbe Mv,Gv", K_MODRM, MAP_0F38, 0xf1, -1, 0, SZ_V, IMM_NONE, FC_NONE, O_MEM | O_WRM, FEAT_MOVBE),
    F("xlat", K_NONE, MAP_1, 0xd7, -1, 0, SZ_8, IMM_NONE, FC_NONE, O_XLAT, 0),

    CC_FORMS,
    F("jmp rel8", K_JMP8, MAP_1, 0xeb, -1, 0, SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("jmp rel32", K_JMP32, MAP_1, 0xe9, -1, 0, SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("call rel32", K_CALL32, MAP_1, 0xe8, -1, 0, SZ_64, IMM_NONE, FC_NONE, O_CALL, 0),
    F("loopne", K_LOOP, MAP_1, 0xe0, -1, 0, SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("loope", K_LOOP, MAP_1, 0xe1, -1, 0, SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("loop", K_LOOP, MAP_1, 0xe2, -1, 0, SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("jrcxz", K_LOOP, MAP_1, 0xe3, -1, 0, SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("ret", K_RET, MAP_1, 0xc3, -1, 0, SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("ret iw", K_RET, MAP_1, 0xc2, -1, 0, SZ_64, IMM_16, FC_NONE, 0, 0),
    F("jmp r", K_JMP_IND, MAP_1, 0xff, 4, 0, SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("call r", K_JMP_IND, MAP_1, 0xff, 2, 0, SZ_64, IMM_NONE, FC_NONE, O_CALL, 0),

    F("push r", K_PUSH, MAP_1, 0x50, -1, 0, SZ_16 | SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("pop r", K_POP, MAP_1, 0x58, -1, 0, SZ_16 | SZ_64, IMM_NONE, FC_NONE, O_WRM, 0),
    F("push Ev", K_PUSH_RM, MAP_1, 0xff, 6, 0, SZ_16 | SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("pop Ev", K_POP_RM, MAP_1, 0x8f, 0, 0, SZ_16 | SZ_64, IMM_NONE, FC_NONE, O_WRM, 0),
    F("push iz", K_PUSH_IMM, MAP_1, 0x68, -1, 0, SZ_16 | SZ_64, IMM_Z, FC_NONE, 0, 0),
    F("push ib", K_PUSH_IMM, MAP_1, 0x6a, -1, 0, SZ_16 | SZ_64, IMM_8, FC_NONE, 0, 0),
    F("pushf", K_PUSH_IMM, MAP_1, 0x9c, -1, 0, SZ_16 | SZ_64, IMM_NONE, FC_NONE, O_RDALL, 0),
    F("popf", K_POPF, MAP_1, 0x9d, -1, 0, SZ_16 | SZ_64, IMM_NONE, FC_POPF, 0, 0),
    F("enter iw,ib", K_ENTER, MAP_1, 0xc8, -1, 0, SZ_16 | SZ_64, IMM_NONE, FC_NONE, 0, 0),
    F("leave", K_LEAVE, MAP_1, 0xc9, -1, 0, SZ_16 | SZ_64, IMM_NONE, FC_NONE, 0, 0),

    F("clc", K_NONE, MAP_1, 0xf8, -1, 0, SZ_32, IMM_NONE, FC_CF, 0, 0),
    F("stc", K_NONE, MAP_1, 0xf9, -1, 0, SZ_32, IMM_NONE, FC_CF, 0, 0),
    F("cmc", K_NONE, MAP_1, 0xf5, -1, 0, SZ_32, IMM_NONE, FC_CF, O_RDCF, 0),
    F("cld", K_NONE, MAP_1, 0xfc, -1, 0, SZ_32, IMM_NONE, FC_DFONLY, 0, 0),
    F("std", K_NONE, MAP_1, 0xfd, -1, 0, SZ_32, IMM_NONE, FC_DFONLY, 0, 0),
    F("lahf", K_NONE, MAP_1, 0x9f, -1, 0, SZ_32, IMM_NONE, FC_NONE, O_RDLAHF, FEAT_LAHF),
    F("sahf", K_NONE, MAP_1, 0x9e, -1, 0, SZ_32, IMM_NONE, FC_SAHF, 0, FEAT_LAHF),
    F("nop", K_NONE, MAP_1, 0x90, -1, 0, SZ_32, IMM_NONE, FC_NONE, 0, 0),
    F("nop Ev", K_GRP, MAP_0F, 0x1f, 0, 0, SZ_V, IMM_NONE, FC_NONE, O_LEA, 0),
    F("ud2", K_NONE, MAP_0F, 0x0b, -1, 0, SZ_32, IMM_NONE, FC_NONE, 0, 0),
    F("int3", K_NONE, MAP_1, 0xcc, -1, 0, SZ_32, IMM_NONE, FC_NONE, 0, 0),

    F("movs", K_STRING, MAP_1, 0xa4, -1, 0, SZ_8 | SZ_V, IMM_NONE, FC_NONE, 0, 0),
    F("cmps", K_STRING, MAP_1, 0xa6, -1, 0, SZ_8 | SZ_V, IMM_NONE, FC_ARITH, O_REPCC, 0),
    F("stos", K_STRING, MAP_1, 0xaa, -1, 0, SZ_8 | SZ_V, IMM_NONE, FC_NONE, 0, 0),
    F("lods", K_STRING, MAP_1, 0xac, -1, 0, SZ_8 | SZ_V, IMM_NONE, FC_NONE, 0, 0),
    F("scas", K_STRING, MAP_1, 0xae, -1, 0, SZ_8 | SZ_V, IMM_NONE, FC_ARITH, O_REPCC, 0),

    /* VEX roles (gen.c): 0 reg<-vvvv,rm  1 reg<-rm,vvvv  2 vvvv<-rm  3 mulx  4 rorx */
    { .name = "andn Gy,By,Ey", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf2, .ext = -1,
      .sizes = SZ_Y, .fclass = FC_ANDN, .opt = O_WREG, .feat = FEAT_BMI1, .vex_role = 0 },
    { .name = "bextr Gy,Ey,By", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf7, .ext = -1,
      .sizes = SZ_Y, .fclass = FC_BEXTR, .opt = O_WREG, .feat = FEAT_BMI1, .vex_role = 1 },
    { .name = "blsr By,Ey", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf3, .ext = 1,
      .sizes = SZ_Y, .fclass = FC_BLS, .opt = O_WVVVV, .feat = FEAT_BMI1, .vex_role = 2 },
    { .name = "blsmsk By,Ey", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf3, .ext = 2,
      .sizes = SZ_Y, .fclass = FC_BLS, .opt = O_WVVVV, .feat = FEAT_BMI1, .vex_role = 2 },
    { .name = "blsi By,Ey", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf3, .ext = 3,
      .sizes = SZ_Y, .fclass = FC_BLS, .opt = O_WVVVV, .feat = FEAT_BMI1, .vex_role = 2 },
    { .name = "bzhi Gy,Ey,By", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf5, .ext = -1,
      .sizes = SZ_Y, .fclass = FC_BZHI, .opt = O_WREG, .feat = FEAT_BMI2, .vex_role = 1 },
    { .name = "pdep Gy,By,Ey", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf5, .ext = -1,
      .mpfx = 0xf2, .sizes = SZ_Y, .fclass = FC_NONE, .opt = O_WREG, .feat = FEAT_BMI2, .vex_role = 0 },
    { .name = "pext Gy,By,Ey", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf5, .ext = -1,
      .mpfx = 0xf3, .sizes = SZ_Y, .fclass = FC_NONE, .opt = O_WREG, .feat = FEAT_BMI2, .vex_role = 0 },
    { .name = "mulx Gy,By,Ey", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf6, .ext = -1,
      .mpfx = 0xf2, .sizes = SZ_Y, .fclass = FC_NONE, .opt = O_WREG | O_WVVVV | O_RDRDX,
      .feat = FEAT_BMI2, .vex_role = 3 },
    { .name = "rorx Gy,Ey,ib", .kind = K_VEX, .map = MAP_0F3A, .opc = 0xf0, .ext = -1,
      .mpfx = 0xf2, .sizes = SZ_Y, .imm = IMM_8, .fclass = FC_NONE, .opt = O_WREG,
      .feat = FEAT_BMI2, .vex_role = 4 },
    { .name = "sarx Gy,Ey,By", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf7, .ext = -1,
      .mpfx = 0xf3, .sizes = SZ_Y, .fclass = FC_NONE, .opt = O_WREG, .feat = FEAT_BMI2, .vex_role = 1 },
    { .name = "shlx Gy,Ey,By", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf7, .ext = -1,
      .mpfx = 0x66, .sizes = SZ_Y, .fclass = FC_NONE, .opt = O_WREG, .feat = FEAT_BMI2, .vex_role = 1 },
    { .name = "shrx Gy,Ey,By", .kind = K_VEX, .map = MAP_0F38, .opc = 0xf7, .ext = -1,
      .mpfx = 0xf2, .sizes = SZ_Y, .fclass = FC_NONE, .opt = O_WREG, .feat = FEAT_BMI2, .vex_role = 1 },
    F("adcx Gy,Ey", K_MODRM, MAP_0F38, 0xf6, -1, 0x66, SZ_Y, IMM_NONE, FC_ADCX, O_WREG | O_RDCF, FEAT_ADX),
    F("adox Gy,Ey", K_MODRM, MAP_0F38, 0xf6, -1, 0xf3, SZ_Y, IMM_NONE, FC_ADOX, O_WREG | O_RDOF, FEAT_ADX),

    F("pause", K_NONE, MAP_1, 0x90, -1, 0xf3, SZ_32, IMM_NONE, FC_NONE, 0, 0),
    F("lfence", K_GRP, MAP_0F, 0xae, 5, 0, SZ_32, IMM_NONE, FC_NONE, O_REG | O_RM0, 0),
    F("mfence", K_GRP, MAP_0F, 0xae, 6, 0, SZ_32, IMM_NONE, FC_NONE, O_REG | O_RM0, 0),
    F("sfence", K_GRP, MAP_0F, 0xae, 7, 0, SZ_32, IMM_NONE, FC_NONE, O_REG | O_RM0, 0),
    F("prefetchnta M", K_GRP, MAP_0F, 0x18, 0, 0, SZ_32, IMM_NONE, FC_NONE, O_MEM | O_LEA, 0),
    F("prefetcht0 M", K_GRP, MAP_0F, 0x18, 1, 0, SZ_32, IMM_NONE, FC_NONE, O_MEM | O_LEA, 0),
    F("prefetcht1 M", K_GRP, MAP_0F, 0x18, 2, 0, SZ_32, IMM_NONE, FC_NONE, O_MEM | O_LEA, 0),
    F("prefetcht2 M", K_GRP, MAP_0F, 0x18, 3, 0, SZ_32, IMM_NONE, FC_NONE, O_MEM | O_LEA, 0),
    F("prefetchw M", K_GRP, MAP_0F, 0x0d, 1, 0, SZ_32, IMM_NONE, FC_NONE, O_MEM | O_LEA, FEAT_PRFCHW),
    F("movnti My,Gy", K_MODRM, MAP_0F, 0xc3, -1, 0, SZ_Y, IMM_NONE, FC_NONE, O_MEM | O_WRM, 0),
    F("crc32 Gy,Eb", K_MODRM, MAP_0F38, 0xf0, -1, 0xf2, SZ_Y, IMM_NONE, FC_NONE, O_WREG | O_RM8, FEAT_SSE42),
    F("crc32 Gd,Ev", K_MODRM, MAP_0F38, 0xf1, -1, 0xf2, SZ_V, IMM_NONE, FC_NONE, O_WREG, FEAT_SSE42),
    F("mov Sreg,Ew", K_MOVSEG, MAP_1, 0x8e, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, 0, 0),
    F("int ib", K_NONE, MAP_1, 0xcd, -1, 0, SZ_32, IMM_8, FC_NONE, 0, 0),
    /* Privileged or IOPL-sensitive at CPL 3 (IOPL 0, no I/O bitmap): #GP(0). */
    { .name = "gp hlt", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0xf4 }, .inv_len = 1 },
    { .name = "gp cli", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0xfa }, .inv_len = 1 },
    { .name = "gp sti", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0xfb }, .inv_len = 1 },
    { .name = "gp in al,ib", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0xe4, 0x80 }, .inv_len = 2 },
    { .name = "gp out ib,al", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0xe6, 0x80 }, .inv_len = 2 },
    { .name = "gp in al,dx", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0xec }, .inv_len = 1 },
    { .name = "gp out dx,eax", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0xef }, .inv_len = 1 },
    { .name = "gp insb", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0x6c }, .inv_len = 1 },
    { .name = "gp outsb", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0x6e }, .inv_len = 1 },
    { .name = "gp mov cr0", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0x0f, 0x20, 0xc0 }, .inv_len = 3 },
    { .name = "gp wbinvd", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0x0f, 0x09 }, .inv_len = 2 },

    /* 32-bit mode only. */
    F("daa", K_NONE, MAP_1, 0x27, -1, 0, SZ_32, IMM_NONE, FC_DAA, O_ONLY32 | O_RDCF | O_RDAF, 0),
    F("das", K_NONE, MAP_1, 0x2f, -1, 0, SZ_32, IMM_NONE, FC_DAA, O_ONLY32 | O_RDCF | O_RDAF, 0),
    F("aaa", K_NONE, MAP_1, 0x37, -1, 0, SZ_32, IMM_NONE, FC_AAA, O_ONLY32 | O_RDAF, 0),
    F("aas", K_NONE, MAP_1, 0x3f, -1, 0, SZ_32, IMM_NONE, FC_AAA, O_ONLY32 | O_RDAF, 0),
    F("aam ib", K_NONE, MAP_1, 0xd4, -1, 0, SZ_32, IMM_8, FC_AAM, O_ONLY32, 0),
    F("aad ib", K_NONE, MAP_1, 0xd5, -1, 0, SZ_32, IMM_8, FC_AAM, O_ONLY32, 0),
    F("inc r", K_OPREG, MAP_1, 0x40, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_INCDEC, O_WRM | O_ONLY32, 0),
    F("dec r", K_OPREG, MAP_1, 0x48, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_INCDEC, O_WRM | O_ONLY32, 0),
    F("pusha", K_PUSHA, MAP_1, 0x60, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, O_ONLY32, 0),
    F("popa", K_PUSHA, MAP_1, 0x61, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, O_ONLY32, 0),
    F("push es", K_PUSHSEG, MAP_1, 0x06, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, O_ONLY32, 0),
    F("push cs", K_PUSHSEG, MAP_1, 0x0e, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, O_ONLY32, 0),
    F("push ss", K_PUSHSEG, MAP_1, 0x16, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, O_ONLY32, 0),
    F("push ds", K_PUSHSEG, MAP_1, 0x1e, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, O_ONLY32, 0),
    F("pop es", K_POPSEG, MAP_1, 0x07, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, O_ONLY32, 0),
    F("pop ds", K_POPSEG, MAP_1, 0x1f, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, O_ONLY32, 0),
    F("into", K_NONE, MAP_1, 0xce, -1, 0, SZ_32, IMM_NONE, FC_NONE, O_ONLY32 | O_RDOF, 0),
    F("bound Gv,Ma", K_MODRM, MAP_1, 0x62, -1, 0, SZ_16 | SZ_32, IMM_NONE, FC_NONE, O_MEM | O_ONLY32, 0),

    /* Opcodes that do not exist in 64-bit mode. */
    INV("push es", 0x06), INV("pop es", 0x07), INV("push cs", 0x0e), INV("push ss", 0x16),
    INV("pop ss", 0x17), INV("push ds", 0x1e), INV("pop ds", 0x1f), INV("daa", 0x27),
    INV("das", 0x2f), INV("aaa", 0x37), INV("aas", 0x3f), INV("pusha", 0x60), INV("popa", 0x61),
    INV("into", 0xce), INV("aam", 0xd4), INV("aad", 0xd5), INV("salc", 0xd6),
    { .name = "invalid bound", .kind = K_INVALID, .sizes = SZ_32, .opt = O_ONLY64, .inv = { 0x62, 0x00 }, .inv_len = 2 },
    { .name = "invalid grp1 82", .kind = K_INVALID, .sizes = SZ_32, .opt = O_ONLY64, .inv = { 0x82, 0xc0, 0x01 },
      .inv_len = 3 },
    { .name = "invalid lcall ptr", .kind = K_INVALID, .sizes = SZ_32, .opt = O_ONLY64, .inv = { 0x9a }, .inv_len = 1 },
    { .name = "invalid ljmp ptr", .kind = K_INVALID, .sizes = SZ_32, .opt = O_ONLY64, .inv = { 0xea }, .inv_len = 1 },
    { .name = "invalid lock nop", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0xf0, 0x90 }, .inv_len = 2 },
    { .name = "invalid lock add reg", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0xf0, 0x01, 0xc0 },
      .inv_len = 3 },
    { .name = "invalid ud1", .kind = K_INVALID, .sizes = SZ_32, .inv = { 0x0f, 0xb9, 0xc0 }, .inv_len = 3 },
};

const unsigned n_forms = sizeof(forms) / sizeof(forms[0]);
