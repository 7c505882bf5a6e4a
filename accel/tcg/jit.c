/*
 * The executable code buffer of the TCG code generator and its switch.
 *
 * One anonymous RWX mapping, filled by a bump allocator under a mutex.
 * Code is never freed piecemeal: an invalidated TB keeps its code (another
 * vCPU may still be running it) until the next full flush, which runs in
 * an exclusive section (tb_flush_locked_exclusive) and rewinds the buffer.
 * Generated code is position independent (absolute calls through a
 * register, relative jumps only inside the block), so it is assembled in a
 * temporary buffer and copied in.
 */
#include "accel/tcg/tcg-internal.h"
#include "accel/tcg/jit.h"
#include <sys/mman.h>

#ifndef TCG_JIT_DEFAULT
#define TCG_JIT_DEFAULT 1
#endif

#define JIT_BUFFER_SIZE ((size_t)128 << 20)

TcgJitStats tcg_jit_stats;

static GMutex jit_lock;
static uint8_t *jit_buffer;          /* NULL: not mapped (yet, or failed) */
static size_t jit_used;
static bool jit_map_failed;
/* -1: not decided yet; then 0 or 1. */
static int jit_on = -1;

bool tcg_jit_parse_switch(const char *value, bool *on)
{
    if (!g_ascii_strcasecmp(value, "on") || !strcmp(value, "1") ||
        !g_ascii_strcasecmp(value, "yes") || !g_ascii_strcasecmp(value, "true")) {
        *on = true;
        return true;
    }
    if (!g_ascii_strcasecmp(value, "off") || !strcmp(value, "0") ||
        !g_ascii_strcasecmp(value, "no") || !g_ascii_strcasecmp(value, "false")) {
        *on = false;
        return true;
    }
    return false;
}

bool tcg_jit_enabled(void)
{
    int on = __atomic_load_n(&jit_on, __ATOMIC_RELAXED);
    if (on < 0) {
        const char *env = g_getenv("KESTREL_TCG_JIT");
        bool v = TCG_JIT_DEFAULT;
        if (env && !tcg_jit_parse_switch(env, &v)) {
            v = TCG_JIT_DEFAULT;
        }
#if !defined(__x86_64__)
        v = false;
#endif
        on = v;
        __atomic_store_n(&jit_on, on, __ATOMIC_RELAXED);
    }
    return on && !jit_map_failed;
}

void tcg_jit_set_enabled(bool on)
{
#if !defined(__x86_64__)
    on = false;
#endif
    __atomic_store_n(&jit_on, on ? 1 : 0, __ATOMIC_RELAXED);
}

void *tcg_jit_commit(const uint8_t *code, size_t len)
{
    uint8_t *p = NULL;
    size_t start;

    g_mutex_lock(&jit_lock);
    if (!jit_buffer && !jit_map_failed) {
        void *m = mmap(NULL, JIT_BUFFER_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            jit_map_failed = true;
        } else {
            jit_buffer = m;
        }
    }
    /* 16-byte aligned starts for the branch predictor's sake. */
    start = (jit_used + 15) & ~(size_t)15;
    if (jit_buffer && start + len <= JIT_BUFFER_SIZE) {
        p = jit_buffer + start;
        memcpy(p, code, len);
        __atomic_store_n(&jit_used, start + len, __ATOMIC_RELAXED);
    } else {
        tcg_jit_stats.buffer_full++;
    }
    g_mutex_unlock(&jit_lock);
    return p;
}

bool tcg_jit_buffer_low(void)
{
    return __atomic_load_n(&jit_used, __ATOMIC_RELAXED) > JIT_BUFFER_SIZE / 4 * 3;
}

void tcg_jit_flush(void)
{
    g_mutex_lock(&jit_lock);
    __atomic_store_n(&jit_used, 0, __ATOMIC_RELAXED);
    g_mutex_unlock(&jit_lock);
}
