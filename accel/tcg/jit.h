/*
 * Host code generation for TCG (x86-64 hosts): the code buffer, the on/off
 * switch and the interface between the engine (accel/tcg) and the x86
 * per-instruction generators (target/i386/tcg/jit.c). See docs/tcg.md,
 * "Host code generation".
 */
#ifndef ACCEL_TCG_JIT_H
#define ACCEL_TCG_JIT_H

#include "exec/tcg.h"

/* Generated code for one TB: runs the whole block with env->rip and the
 * lazy flags left exactly as the interpreter would leave them. */
typedef void TcgHostCode(TcgCpu *c);

/* True when new TBs get host code. The default comes from
 * TCG_JIT_DEFAULT, the environment variable KESTREL_TCG_JIT (on/off/1/0)
 * overrides it, and -accel tcg,jit=on|off (tcg_jit_set_enabled) both. */
bool tcg_jit_enabled(void);
void tcg_jit_set_enabled(bool on);
/* Parses "on"/"off" (and 1/0, yes/no); false for anything else. */
bool tcg_jit_parse_switch(const char *value, bool *on);

/* Copies `len` bytes of position-independent generated code into the
 * executable buffer; NULL when the buffer is full (the TB is then
 * interpreted, and the budget check asks for a full flush). */
void *tcg_jit_commit(const uint8_t *code, size_t len);
/* True when the code buffer is nearly full (see tb_budget_exceeded). */
bool tcg_jit_buffer_low(void);
/* Drops all generated code; only with every vCPU out of TB execution
 * (tb_flush_locked_exclusive). */
void tcg_jit_flush(void);

/* x86 front end: specialises the freshly decoded TB (as
 * x86_tcg_specialize_tb) and, with the JIT enabled, generates its host
 * code into tb->host_code. */
void x86_jit_translate_tb(TranslationBlock *tb);

/* Statistics for tests. */
typedef struct TcgJitStats {
    uint64_t tbs_compiled;
    uint64_t native_insns;
    uint64_t helper_insns;
    uint64_t buffer_full;
} TcgJitStats;
extern TcgJitStats tcg_jit_stats;

#endif
