/*
 * bench-cpu: the integer workloads of bench/tcg-cpu.sh. The same file is
 * built as a 64-bit guest payload (tests/guest/meson.build) and, with
 * -DBENCH_NATIVE, as a host program by the benchmark script, so the
 * emulated and the native columns run identical C code.
 *
 * For each workload it prints
 *
 *     bench: start NAME
 *     bench: end NAME CHECKSUM
 *
 * and the script takes the time between the two lines as they arrive on
 * the serial port (stdout natively). Setup (filling buffers, building the
 * pointer-chase cycle) happens before the start line and is not timed.
 * The checksums must be the same natively and under every emulator: a
 * wrong result is reported as a failure, not as a time.
 *
 * "scale=N" on the command line (argv[1] natively) multiplies the work.
 */
#include <stdint.h>
#include <stddef.h>

#ifdef BENCH_NATIVE
#include <stdio.h>
#include <stdlib.h>
#define say(...) do { printf(__VA_ARGS__); fflush(stdout); } while (0)
#else
#include "runtime.h"
#define say(...) printf(__VA_ARGS__)
#endif

#define MiB (1024u * 1024u)

static uint8_t sieve_buf[1 * MiB];
static uint64_t chase_buf[8 * MiB / sizeof(uint64_t)];
static uint8_t copy_src[4 * MiB], copy_dst[4 * MiB];

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift64(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* ---- ALU loop: adds, shifts, multiplies, compares in registers ---- */
static uint64_t work_alu(uint64_t iters)
{
    uint64_t a = 1, b = 2, c = 3, d = 4;
    for (uint64_t k = 0; k < iters; k++) {
        a += b ^ k;
        b = (b << 3) | (b >> 61);
        c = c * 0x5851f42d4c957f2dull + a;
        d -= c >> 17;
        if ((int64_t)d < 0) {
            d ^= a;
        }
        __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d));
    }
    return a ^ b ^ c ^ d;
}

/* ---- sieve of Eratosthenes over a 1 MiB byte array ---- */
static uint64_t work_sieve(unsigned rounds)
{
    uint64_t primes = 0;
    const uint32_t n = sizeof(sieve_buf);
    for (unsigned r = 0; r < rounds; r++) {
        /* Odd numbers are candidates (a pattern, so that the compiler
         * does not turn the loop into a memset call natively only). */
        for (uint32_t k = 0; k < n; k++) {
            sieve_buf[k] = k & 1;
        }
        sieve_buf[1] = 0;
        sieve_buf[2] = 1;
        for (uint32_t p = 2; (uint64_t)p * p < n; p++) {
            if (sieve_buf[p]) {
                for (uint32_t m = p * p; m < n; m += p) {
                    sieve_buf[m] = 0;
                }
            }
        }
        for (uint32_t k = 0; k < n; k++) {
            primes += sieve_buf[k];
        }
    }
    return primes;
}

/* ---- bytecode interpreter: a stack machine dispatched by a jump table ---- */
enum { BC_PUSH, BC_ADD, BC_SUB, BC_MUL, BC_DUP, BC_SWAP, BC_DROP, BC_LOAD, BC_STORE,
       BC_JNZ, BC_XOR, BC_SHR, BC_AND, BC_OVER, BC_HALT };

/* vars[0] = counter, vars[1] = accumulator; loop:
 *   acc = ((acc * 33) ^ counter) + (acc >> 5) & 0xffffffff; counter--; */
static const int32_t bc_program[] = {
    BC_LOAD, 1, BC_PUSH, 33, BC_MUL, BC_LOAD, 0, BC_XOR,
    BC_LOAD, 1, BC_PUSH, 5, BC_SHR, BC_ADD,
    BC_PUSH, 0x7fffffff, BC_AND, BC_STORE, 1,
    BC_LOAD, 0, BC_PUSH, 1, BC_SUB, BC_DUP, BC_STORE, 0,
    BC_JNZ, 0,
    BC_LOAD, 1, BC_HALT,
};

__attribute__((noinline)) static uint64_t bc_run(const int32_t *code, int64_t *vars)
{
    int64_t stack[64];
    int sp = 0;
    const int32_t *pc = code;
    for (;;) {
        int32_t op = *pc++;
        switch (op) {
        case BC_PUSH: stack[sp++] = *pc++; break;
        case BC_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case BC_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case BC_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case BC_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case BC_SWAP: { int64_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2];
                        stack[sp - 2] = t; break; }
        case BC_DROP: sp--; break;
        case BC_LOAD: stack[sp++] = vars[*pc++]; break;
        case BC_STORE: vars[*pc++] = stack[--sp]; break;
        case BC_JNZ: { int32_t target = *pc++; if (stack[--sp]) pc = code + target; break; }
        case BC_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case BC_SHR: sp--; stack[sp - 1] = (uint64_t)stack[sp - 1] >> stack[sp]; break;
        case BC_AND: sp--; stack[sp - 1] &= stack[sp]; break;
        case BC_OVER: stack[sp] = stack[sp - 2]; sp++; break;
        case BC_HALT: return (uint64_t)stack[sp - 1];
        default: return ~0ull;
        }
        sp &= 63;
    }
}

static uint64_t work_bytecode(uint64_t loops)
{
    int64_t vars[2] = { (int64_t)loops, 1 };
    return bc_run(bc_program, vars);
}

/* ---- pointer chase through a random cycle over 8 MiB ---- */
static void chase_setup(void)
{
    size_t n = sizeof(chase_buf) / sizeof(chase_buf[0]);
    for (size_t k = 0; k < n; k++) {
        chase_buf[k] = k;
    }
    /* Sattolo's algorithm: one cycle through every slot. */
    for (size_t k = n - 1; k > 0; k--) {
        size_t j = xorshift64() % k;
        uint64_t t = chase_buf[k];
        chase_buf[k] = chase_buf[j];
        chase_buf[j] = t;
    }
}

static uint64_t work_chase(uint64_t steps)
{
    uint64_t at = 0, sum = 0;
    for (uint64_t k = 0; k < steps; k++) {
        at = chase_buf[at];
        sum += at;
    }
    return sum ^ at;
}

/* ---- 4 MiB rep movsb copies, back and forth ---- */
static void copy_setup(void)
{
    for (size_t k = 0; k < sizeof(copy_src); k += 8) {
        uint64_t v = xorshift64();
        for (int b = 0; b < 8; b++) {
            copy_src[k + b] = (uint8_t)(v >> (8 * b));
        }
    }
}

static void rep_movsb(void *dst, const void *src, size_t n)
{
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static uint64_t work_copy(unsigned copies)
{
    uint64_t sum = 0;
    for (unsigned k = 0; k < copies; k++) {
        if (k & 1) {
            rep_movsb(copy_src, copy_dst, sizeof(copy_src));
        } else {
            rep_movsb(copy_dst, copy_src, sizeof(copy_src));
        }
        sum += copy_dst[(k * 4099) % sizeof(copy_dst)];
    }
    for (size_t k = 0; k < sizeof(copy_dst); k += 4096) {
        sum = sum * 31 + copy_dst[k] + copy_src[k + 17];
    }
    return sum;
}

static void run_all(uint64_t scale)
{
    uint64_t r;
    say("bench: start alu\n");
    r = work_alu(60000000ull * scale);
    say("bench: end alu %llx\n", (unsigned long long)r);

    say("bench: start sieve\n");
    r = work_sieve(24 * scale);
    say("bench: end sieve %llx\n", (unsigned long long)r);

    say("bench: start bytecode\n");
    r = work_bytecode(2000000ull * scale);
    say("bench: end bytecode %llx\n", (unsigned long long)r);

    chase_setup();
    say("bench: start chase\n");
    r = work_chase(2000000ull * scale);
    say("bench: end chase %llx\n", (unsigned long long)r);

    copy_setup();
    say("bench: start movsb\n");
    r = work_copy(8 * scale);
    say("bench: end movsb %llx\n", (unsigned long long)r);
    say("bench: done\n");
}

#ifdef BENCH_NATIVE
int main(int argc, char **argv)
{
    run_all(argc > 1 ? strtoull(argv[1], NULL, 0) : 1);
    return 0;
}
#else
int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    uint64_t scale = cmdline_uint(mbi, "scale", 1);
    run_all(scale ? scale : 1);
    return 0;
}
#endif
