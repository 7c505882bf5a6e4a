/*
 * cpu-basics: integer instructions with known answers, built twice: as a
 * 32-bit payload (cpu-basics32) and as a 64-bit one (cpu-basics64, which
 * adds 64-bit operand sizes). Each case prints "PASS <name>" or
 * "FAIL <name>: got ..., want ...". Flags that the manuals leave undefined
 * for an instruction are masked out of the comparison. The expected values
 * were checked on a real CPU (under KVM). Exceptions are in cpu-exceptions.c.
 *
 * Exit code: 0 if every case passed, 1 otherwise.
 */
#include "runtime.h"

#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define DF 0x400u
#define ARITH (CF | PF | AF | ZF | SF | OF)
#define FLAGS_IN(cin) ((uintptr_t)(0x2u | (cin)))   /* bit 1 is always set */

static unsigned passed, failed;

static const char *flag_letters(uintptr_t f, char *buf)
{
    static const struct { uintptr_t bit; char c; } names[] = {
        { CF, 'C' }, { PF, 'P' }, { AF, 'A' }, { ZF, 'Z' }, { SF, 'S' }, { OF, 'O' },
    };
    char *p = buf;
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (f & names[i].bit) {
            *p++ = names[i].c;
        }
    }
    if (p == buf) {
        *p++ = '-';
    }
    *p = '\0';
    return buf;
}

static void verdict(const char *name, bool ok)
{
    if (ok) {
        passed++;
        printf("PASS %s\n", name);
    } else {
        failed++;
    }
}

/* Compares a result and the flags under `mask`. */
static void result(const char *name, uint64_t got, uint64_t want, uintptr_t got_flags,
                   uintptr_t want_flags, uintptr_t mask)
{
    bool ok = got == want && (got_flags & mask) == (want_flags & mask);
    verdict(name, ok);
    if (!ok) {
        char gf[8], wf[8];
        printf("FAIL %s: got 0x%llx flags %s, want 0x%llx flags %s (mask %s)\n", name,
               (unsigned long long)got, flag_letters(got_flags & mask, gf),
               (unsigned long long)want, flag_letters(want_flags & mask, wf),
               flag_letters(mask, (char[8]){ 0 }));
    }
}

static void value(const char *name, uint64_t got, uint64_t want)
{
    result(name, got, want, 0, 0, 0);
}

/* r = r OP b with flags in/out. Sizes: 8 (q regs), 16, 32, 64. */
#define BINOP(bits, type, mod, cons, insn, a_, b_, cin, want, wantf, mask) do {       \
        type r_ = (type)(a_);                                                     \
        uintptr_t f_ = FLAGS_IN(cin);                                            \
        __asm__ volatile("push %[f]\n\tpopf\n\t"                                \
                         insn " %" mod "[b], %" mod "[r]\n\t"                    \
                         "pushf\n\tpop %[f]"                                     \
                         : [r] "+" cons(r_), [f] "+r"(f_)                        \
                         : [b] cons((type)(b_)) : "cc", "memory");                 \
        result(insn #bits " " #a_ ", " #b_, r_, (type)(want), f_, wantf, mask);    \
    } while (0)

#define B8(insn, a_, b_, cin, want, wantf, mask) \
    BINOP(8, uint8_t, "b", "q", insn, a_, b_, cin, want, wantf, mask)
#define B16(insn, a_, b_, cin, want, wantf, mask) \
    BINOP(16, uint16_t, "w", "r", insn, a_, b_, cin, want, wantf, mask)
#define B32(insn, a_, b_, cin, want, wantf, mask) \
    BINOP(32, uint32_t, "k", "r", insn, a_, b_, cin, want, wantf, mask)
#define B64(insn, a_, b_, cin, want, wantf, mask) \
    BINOP(64, uint64_t, "q", "r", insn, a_, b_, cin, want, wantf, mask)

/* r = OP r. */
#define UNOP32(insn, a, cin, want, wantf, mask) do {                             \
        uint32_t r_ = (a);                                                       \
        uintptr_t f_ = FLAGS_IN(cin);                                            \
        __asm__ volatile("push %[f]\n\tpopf\n\t" insn " %k[r]\n\tpushf\n\tpop %[f]" \
                         : [r] "+r"(r_), [f] "+r"(f_) : : "cc", "memory");       \
        result(insn "32 " #a, r_, (uint32_t)(want), f_, wantf, mask);            \
    } while (0)

/* r = r SHIFT cl. */
#define SHIFT32(insn, a, count, cin, want, wantf, mask) do {                     \
        uint32_t r_ = (a);                                                       \
        uintptr_t f_ = FLAGS_IN(cin);                                            \
        __asm__ volatile("push %[f]\n\tpopf\n\t" insn " %%cl, %k[r]\n\tpushf\n\tpop %[f]" \
                         : [r] "+r"(r_), [f] "+r"(f_) : "c"((uint8_t)(count))    \
                         : "cc", "memory");                                      \
        result(insn "32 " #a ", " #count, r_, (uint32_t)(want), f_, wantf, mask); \
    } while (0)

static void test_add_sub(void)
{
    B32("add", 0x7fffffff, 1, 0, 0x80000000, OF | SF | AF | PF, ARITH);
    B32("add", 0xffffffff, 1, 0, 0, CF | ZF | AF | PF, ARITH);
    B32("add", 0x12345678, 0x11111111, 0, 0x23456789, 0, ARITH);
    B32("adc", 0xffffffff, 0, CF, 0, CF | ZF | AF | PF, ARITH);
    B32("adc", 1, 1, CF, 3, PF, ARITH);
    B32("sub", 0, 1, 0, 0xffffffff, CF | SF | AF | PF, ARITH);
    B32("sub", 0x80000000, 1, 0, 0x7fffffff, OF | AF | PF, ARITH);
    B32("sbb", 5, 3, CF, 1, 0, ARITH);
    B32("sbb", 0, 0, CF, 0xffffffff, CF | SF | AF | PF, ARITH);
    B32("cmp", 5, 5, 0, 5, ZF | PF, ARITH);
    B8("add", 0xff, 1, 0, 0, CF | ZF | AF | PF, ARITH);
    B8("sub", 0x80, 1, 0, 0x7f, OF | AF, ARITH);
    B8("adc", 0x7f, 0, CF, 0x80, OF | SF | AF, ARITH);
    B16("add", 0x7fff, 1, 0, 0x8000, OF | SF | AF | PF, ARITH);
    B16("sub", 0x1234, 0x1235, 0, 0xffff, CF | SF | AF | PF, ARITH);
}

static void test_logic(void)
{
    const uintptr_t logic = CF | PF | ZF | SF | OF;    /* AF is undefined */
    B32("and", 0xf0f0f0f0, 0x0ff00ff0, CF, 0x00f000f0, PF, logic);
    B32("or", 0x80000000, 1, CF, 0x80000001, SF, logic);
    B32("xor", 0xdeadbeef, 0xdeadbeef, CF, 0, ZF | PF, logic);
    B32("test", 0x80000000, 0x80000000, 0, 0x80000000, SF | PF, logic);
    B8("xor", 0x0f, 0xf0, 0, 0xff, SF | PF, logic);
    UNOP32("neg", 0, CF, 0, ZF | PF, ARITH);
    UNOP32("neg", 1, 0, 0xffffffff, CF | SF | AF | PF, ARITH);
    UNOP32("neg", 0x80000000, 0, 0x80000000, CF | OF | SF | PF, ARITH);
    UNOP32("inc", 0x7fffffff, CF, 0x80000000, CF | OF | SF | AF | PF, ARITH);  /* CF kept */
    UNOP32("dec", 0, 0, 0xffffffff, SF | AF | PF, ARITH);
    UNOP32("not", 0x0f0f0f0f, CF, 0xf0f0f0f0, CF, ARITH);                     /* no flags */
    UNOP32("bswap", 0x12345678, 0, 0x78563412, 0, 0);
}

static void test_shifts(void)
{
    const uintptr_t no_af = ARITH & ~AF;
    const uintptr_t multi = ARITH & ~(AF | OF);         /* OF undefined if count > 1 */
    SHIFT32("shl", 0x80000001, 1, 0, 0x00000002, CF | OF, no_af);
    SHIFT32("shl", 0x00000001, 31, 0, 0x80000000, SF | PF, multi);
    SHIFT32("shl", 0x00000001, 33, 0, 0x00000002, 0, no_af);   /* count is masked to 5 bits */
    SHIFT32("shl", 0x12345678, 0, CF | ZF, 0x12345678, CF | ZF, ARITH);  /* count 0: no flags */
    SHIFT32("shr", 0x80000001, 1, 0, 0x40000000, CF | OF | PF, no_af);
    SHIFT32("shr", 0x80000000, 31, 0, 0x00000001, 0, multi);
    SHIFT32("sar", 0x80000000, 4, 0, 0xf8000000, SF | PF, multi);
    SHIFT32("sar", 0x80000000, 31, 0, 0xffffffff, SF | PF, multi);
    SHIFT32("sar", 0x40000008, 4, 0, 0x04000000, CF | PF, multi);
    SHIFT32("rol", 0x80000001, 1, 0, 0x00000003, CF | OF, CF | OF);
    SHIFT32("ror", 0x00000001, 1, 0, 0x80000000, CF | OF, CF | OF);
    SHIFT32("rol", 0x12345678, 8, 0, 0x34567812, 0, CF);
    SHIFT32("rcl", 0x80000000, 1, 0, 0x00000000, CF | OF, CF | OF);
    SHIFT32("rcr", 0x00000001, 1, CF, 0x80000000, CF | OF, CF | OF);

    uint32_t dst = 0x12345678;
    uintptr_t f = FLAGS_IN(0);
    __asm__ volatile("push %[f]\n\tpopf\n\tshldl $4, %[src], %[d]\n\tpushf\n\tpop %[f]"
                     : [d] "+r"(dst), [f] "+r"(f) : [src] "r"(0x9abcdef0u) : "cc");
    result("shld32 0x12345678, 0x9abcdef0, 4", dst, 0x23456789, f, CF, CF | ZF | SF);
    dst = 0x12345678;
    f = FLAGS_IN(0);
    __asm__ volatile("push %[f]\n\tpopf\n\tshrdl $8, %[src], %[d]\n\tpushf\n\tpop %[f]"
                     : [d] "+r"(dst), [f] "+r"(f) : [src] "r"(0x9abcdef0u) : "cc");
    result("shrd32 0x12345678, 0x9abcdef0, 8", dst, 0xf0123456, f, SF, CF | ZF | SF);
}

static void mul32(const char *name, const char *op, uint32_t a, uint32_t b,
                  uint32_t want_hi, uint32_t want_lo, uintptr_t want_flags)
{
    uint32_t lo = a, hi;
    uintptr_t f;
    if (op[0] == 'm') {
        __asm__ volatile("mull %[b]\n\tpushf\n\tpop %[f]"
                         : "+a"(lo), "=d"(hi), [f] "=r"(f) : [b] "r"(b) : "cc");
    } else {
        __asm__ volatile("imull %[b]\n\tpushf\n\tpop %[f]"
                         : "+a"(lo), "=d"(hi), [f] "=r"(f) : [b] "r"(b) : "cc");
    }
    result(name, ((uint64_t)hi << 32) | lo, ((uint64_t)want_hi << 32) | want_lo, f,
           want_flags, CF | OF);
}

static void div32(const char *name, bool is_signed, uint32_t hi, uint32_t lo, uint32_t d,
                  uint32_t want_q, uint32_t want_r)
{
    if (is_signed) {
        __asm__ volatile("idivl %[d]" : "+a"(lo), "+d"(hi) : [d] "r"(d) : "cc");
    } else {
        __asm__ volatile("divl %[d]" : "+a"(lo), "+d"(hi) : [d] "r"(d) : "cc");
    }
    value(name, ((uint64_t)hi << 32) | lo, ((uint64_t)want_r << 32) | want_q);
}

static void test_mul_div(void)
{
    mul32("mul32 0x80000000 * 2", "mul", 0x80000000, 2, 1, 0, CF | OF);
    mul32("mul32 0x10000 * 0x10000", "mul", 0x10000, 0x10000, 1, 0, CF | OF);
    mul32("mul32 3 * 5", "mul", 3, 5, 0, 15, 0);
    mul32("imul32 -2 * 3", "imul", (uint32_t)-2, 3, 0xffffffff, 0xfffffffa, 0);
    mul32("imul32 0x40000000 * 4", "imul", 0x40000000, 4, 1, 0, CF | OF);

    uint32_t r = 0x40000000;
    uintptr_t f;
    __asm__ volatile("imull %[b], %[r]\n\tpushf\n\tpop %[f]"
                     : [r] "+r"(r), [f] "=r"(f) : [b] "r"(4u) : "cc");
    result("imul32 two operands 0x40000000 * 4", r, 0, f, CF | OF, CF | OF);
    int32_t six = 6, product;
    __asm__ volatile("imull $-7, %[s], %[p]\n\tpushf\n\tpop %[f]"
                     : [p] "=r"(product), [f] "=r"(f) : [s] "r"(six) : "cc");
    result("imul32 immediate 6 * -7", (uint32_t)product, (uint32_t)-42, f, 0, CF | OF);

    div32("div32 0x1_00000005 / 0x10", false, 1, 5, 0x10, 0x10000000, 5);
    div32("div32 100 / 7", false, 0, 100, 7, 14, 2);
    div32("idiv32 -100 / 7", true, 0xffffffff, (uint32_t)-100, 7, (uint32_t)-14, (uint32_t)-2);
    div32("idiv32 100 / -7", true, 0, 100, (uint32_t)-7, (uint32_t)-14, 2);
    div32("idiv32 -100 / -7", true, 0xffffffff, (uint32_t)-100, (uint32_t)-7, 14, (uint32_t)-2);

    uint8_t q8;
    uint16_t ax = 1000;
    __asm__ volatile("divb %[d]" : "+a"(ax) : [d] "q"((uint8_t)7) : "cc");
    q8 = (uint8_t)ax;
    value("div8 1000 / 7", ((uint32_t)(ax >> 8) << 8) | q8, (6u << 8) | 142);
}

static void test_bits(void)
{
    uint32_t r;
    uintptr_t f;
    __asm__ volatile("bsfl %[s], %[r]\n\tpushf\n\tpop %[f]"
                     : [r] "=r"(r), [f] "=r"(f) : [s] "r"(0x00008000u) : "cc");
    result("bsf32 0x8000", r, 15, f, 0, ZF);
    __asm__ volatile("bsrl %[s], %[r]\n\tpushf\n\tpop %[f]"
                     : [r] "=r"(r), [f] "=r"(f) : [s] "r"(0x00008001u) : "cc");
    result("bsr32 0x8001", r, 15, f, 0, ZF);
    r = 0;
    __asm__ volatile("bsfl %[s], %[r]\n\tpushf\n\tpop %[f]"
                     : [r] "+r"(r), [f] "=r"(f) : [s] "r"(0u) : "cc");
    result("bsf32 0 sets ZF", 0, 0, f, ZF, ZF);

    r = 0x10;
    __asm__ volatile("btl $4, %[r]\n\tpushf\n\tpop %[f]" : [r] "+r"(r), [f] "=r"(f) : : "cc");
    result("bt32 0x10, 4", r, 0x10, f, CF, CF);
    r = 0;
    __asm__ volatile("btsl $31, %[r]\n\tpushf\n\tpop %[f]" : [r] "+r"(r), [f] "=r"(f) : : "cc");
    result("bts32 0, 31", r, 0x80000000, f, 0, CF);
    r = 0xffffffff;
    __asm__ volatile("btrl $0, %[r]\n\tpushf\n\tpop %[f]" : [r] "+r"(r), [f] "=r"(f) : : "cc");
    result("btr32 0xffffffff, 0", r, 0xfffffffe, f, CF, CF);
    r = 1;
    __asm__ volatile("btcl $1, %[r]\n\tpushf\n\tpop %[f]" : [r] "+r"(r), [f] "=r"(f) : : "cc");
    result("btc32 1, 1", r, 3, f, 0, CF);
    /* Bit offsets in a register operand address memory beyond the word. */
    static uint32_t bitmap[4];
    bitmap[2] = 0;
    __asm__ volatile("btsl %[bit], %[m]" : [m] "+m"(bitmap) : [bit] "r"(70) : "cc");
    value("bts32 memory, bit 70 sets word 2 bit 6", bitmap[2], 0x40);

    uint32_t x;
    __asm__ volatile("movsbl %b[s], %[d]" : [d] "=r"(x) : [s] "q"((uint8_t)0x80));
    value("movsx 8->32 0x80", x, 0xffffff80);
    __asm__ volatile("movzwl %w[s], %[d]" : [d] "=r"(x) : [s] "r"((uint16_t)0x8000));
    value("movzx 16->32 0x8000", x, 0x8000);
    uint32_t eax = 0x8000, edx = 0;
    __asm__ volatile("cwtl\n\tcltd" : "+a"(eax), "=d"(edx));
    value("cwde+cdq 0x8000", ((uint64_t)edx << 32) | eax, 0xffffffffffff8000ull);

    uint32_t lea;
    __asm__ volatile("leal 0x10(%[b],%[i],4), %[d]" : [d] "=r"(lea)
                     : [b] "r"(0x100u), [i] "r"(3u));
    value("lea 0x10(0x100, 3, 4)", lea, 0x11c);
}

static void test_atomics(void)
{
    uint32_t mem = 5, eax = 5;
    uintptr_t f;
    __asm__ volatile("lock cmpxchgl %[n], %[m]\n\tpushf\n\tpop %[f]"
                     : [m] "+m"(mem), "+a"(eax), [f] "=r"(f) : [n] "r"(9u) : "cc", "memory");
    result("cmpxchg32 equal: memory 5 -> 9", mem, 9, f, ZF, ZF);
    mem = 6;
    eax = 5;
    __asm__ volatile("lock cmpxchgl %[n], %[m]\n\tpushf\n\tpop %[f]"
                     : [m] "+m"(mem), "+a"(eax), [f] "=r"(f) : [n] "r"(9u) : "cc", "memory");
    result("cmpxchg32 different: eax <- 6", ((uint64_t)mem << 32) | eax, (6ull << 32) | 6, f,
           0, ZF);
    mem = 3;
    uint32_t add = 4;
    __asm__ volatile("lock xaddl %[a], %[m]" : [m] "+m"(mem), [a] "+r"(add) : : "cc", "memory");
    value("xadd32 3 + 4", ((uint64_t)mem << 32) | add, (7ull << 32) | 3);
    uint32_t xa = 0x11111111, xb = 0x22222222;
    __asm__ volatile("xchgl %[a], %[b]" : [a] "+r"(xa), [b] "+m"(xb));
    value("xchg32", ((uint64_t)xa << 32) | xb, 0x2222222211111111ull);
}

/* All 16 conditions after CMP a, b, as a string in the order
 * o no b ae e ne be a s ns p np l ge le g. */
static void conditions(uint32_t a, uint32_t b, const char *want)
{
    uint8_t c[16];
    __asm__ volatile("cmpl %[b], %[a]\n\t"
                     "seto 0(%[c])\n\tsetno 1(%[c])\n\tsetb 2(%[c])\n\tsetae 3(%[c])\n\t"
                     "sete 4(%[c])\n\tsetne 5(%[c])\n\tsetbe 6(%[c])\n\tseta 7(%[c])\n\t"
                     "sets 8(%[c])\n\tsetns 9(%[c])\n\tsetp 10(%[c])\n\tsetnp 11(%[c])\n\t"
                     "setl 12(%[c])\n\tsetge 13(%[c])\n\tsetle 14(%[c])\n\tsetg 15(%[c])"
                     : : [a] "r"(a), [b] "r"(b), [c] "r"(c) : "cc", "memory");
    char got[17];
    for (int i = 0; i < 16; i++) {
        got[i] = c[i] ? '1' : '0';
    }
    got[16] = '\0';
    char name[64];
    snprintf(name, sizeof(name), "setcc after cmp 0x%x, 0x%x", a, b);
    bool ok = !strcmp(got, want);
    verdict(name, ok);
    if (!ok) {
        printf("FAIL %s: got %s, want %s\n", name, got, want);
    }
}

static void test_conditions(void)
{
    conditions(1, 2, "0110011010101010");
    conditions(2, 1, "0101010101010101");
    conditions(2, 2, "0101101001100110");
    conditions(0x80000000, 1, "1001010101101010");
    uint32_t r = 1;
    __asm__ volatile("cmpl $1, %[x]\n\tcmovll %[v], %[r]"
                     : [r] "+r"(r) : [x] "r"((uint32_t)-5), [v] "r"(77u) : "cc");
    value("cmovl taken (-5 < 1)", r, 77);
    __asm__ volatile("cmpl $1, %[x]\n\tcmovbl %[v], %[r]"
                     : [r] "+r"(r) : [x] "r"((uint32_t)-5), [v] "r"(99u) : "cc");
    value("cmovb not taken (0xfffffffb > 1 unsigned)", r, 77);
    uint32_t n = 0;
    uintptr_t cnt = 10;
    __asm__ volatile("1: incl %[n]\n\tloop 1b" : [n] "+r"(n), "+c"(cnt) : : "cc");
    value("loop 10 times", n, 10);
}

static void test_strings(void)
{
    static char src[32] = "The quick brown fox";
    static char dst[32];
    memset(dst, '.', sizeof(dst));
    const char *s = src;
    char *d = dst;
    uintptr_t c = 13;
    __asm__ volatile("cld\n\trep movsb" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
    value("rep movsb 13 bytes", !memcmp(dst, "The quick bro.", 14) && c == 0 &&
          s == src + 13 && d == dst + 13, 1);

    static uint32_t words[8];
    memset(words, 0, sizeof(words));
    uint32_t *w = words + 1;
    c = 5;
    __asm__ volatile("cld\n\trep stosl" : "+D"(w), "+c"(c) : "a"(0xa5a5a5a5u) : "memory");
    value("rep stosl 5 dwords", words[0] == 0 && words[1] == 0xa5a5a5a5u &&
          words[5] == 0xa5a5a5a5u && words[6] == 0 && w == words + 6, 1);

    const char *a = "hello world", *b = "hello there";
    c = 11;
    uintptr_t f;
    __asm__ volatile("cld\n\trepe cmpsb\n\tpushf\n\tpop %[f]"
                     : "+S"(a), "+D"(b), "+c"(c), [f] "=r"(f) : : "cc", "memory");
    result("repe cmpsb stops after the 7th byte", c, 4, f, 0, ZF);

    const char *hay = "hello world";
    c = 11;
    __asm__ volatile("cld\n\trepne scasb\n\tpushf\n\tpop %[f]"
                     : "+D"(hay), "+c"(c), [f] "=r"(f) : "a"('w') : "cc", "memory");
    result("repne scasb finds 'w' at index 6", c, 4, f, ZF, ZF);

    /* Backwards, overlapping: the memmove direction. */
    static char buf[16];
    memcpy(buf, "abcdefgh", 9);
    s = buf + 5;
    d = buf + 7;
    c = 6;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
    value("std; rep movsb backwards overlapping", !memcmp(buf, "ababcdef", 8), 1);

    s = "XY";
    uint32_t al = 0;
    __asm__ volatile("cld\n\tlodsb\n\tlodsb" : "+S"(s), "+a"(al) : : "memory");
    value("lodsb twice", al & 0xff, 'Y');

    uintptr_t fl;
    __asm__ volatile("std\n\tpushf\n\tpop %[f]\n\tcld" : [f] "=r"(fl));
    value("std sets DF in pushf", (fl & DF) != 0, 1);
}

#ifdef __x86_64__
volatile uint64_t cpu_basics_rip_target = 0x5eed5eed5eed5eed;

static void test_64bit(void)
{
    B64("add", 0x7fffffffffffffff, 1, 0, 0x8000000000000000, OF | SF | AF | PF, ARITH);
    B64("sub", 0, 1, 0, 0xffffffffffffffff, CF | SF | AF | PF, ARITH);
    B64("adc", 0xffffffff, 0, CF, 0x100000000, AF | PF, ARITH);

    uint64_t lo = 0xffffffffffffffff, hi;
    uintptr_t f;
    __asm__ volatile("mulq %[b]\n\tpushf\n\tpop %[f]"
                     : "+a"(lo), "=d"(hi), [f] "=r"(f) : [b] "r"(2ull) : "cc");
    result("mul64 0xffffffffffffffff * 2 (high half)", hi, 1, f, CF | OF, CF | OF);
    value("mul64 0xffffffffffffffff * 2 (low half)", lo, 0xfffffffffffffffe);

    lo = 5;
    hi = 1;
    __asm__ volatile("divq %[d]" : "+a"(lo), "+d"(hi) : [d] "r"(16ull) : "cc");
    value("div64 2^64+5 / 16 quotient", lo, 0x1000000000000000);
    value("div64 2^64+5 / 16 remainder", hi, 5);

    lo = (uint64_t)-100;
    __asm__ volatile("cqto\n\tidivq %[d]" : "+a"(lo), "=&d"(hi) : [d] "r"(7ull) : "cc");
    value("idiv64 -100 / 7", lo, (uint64_t)-14);

    uint64_t r = 0xffffffffffffffff;
    __asm__ volatile("addl $0, %k[r]" : [r] "+r"(r) : : "cc");
    value("32-bit operation zero-extends into 64 bits", r, 0x00000000ffffffff);
    __asm__ volatile("movslq %k[s], %[d]" : [d] "=r"(r) : [s] "r"(0x80000000u));
    value("movsxd 0x80000000", r, 0xffffffff80000000);
    r = 1;
    __asm__ volatile("shlq $63, %[r]" : [r] "+r"(r) : : "cc");
    value("shl64 1, 63", r, 0x8000000000000000);
    r = 0x0123456789abcdef;
    __asm__ volatile("bswapq %[r]" : [r] "+r"(r));
    value("bswap64", r, 0xefcdab8967452301);
    uint64_t r8 = 0x1111111111111111, r15 = 0x2222222222222222;
    __asm__ volatile("mov %[a], %%r8\n\tmov %[b], %%r15\n\tadd %%r8, %%r15\n\tmov %%r15, %[b]"
                     : [b] "+r"(r15) : [a] "r"(r8) : "r8", "r15", "cc");
    value("add r8 to r15", r15, 0x3333333333333333);

    /* RIP-relative addressing. */
    uint64_t got;
    __asm__ volatile("movq cpu_basics_rip_target(%%rip), %[g]" : [g] "=r"(got));
    value("rip-relative load", got, 0x5eed5eed5eed5eed);
}
#else
static void test_32bit_only(void)
{
    uint32_t eax = 0x19;
    __asm__ volatile("addb $0x28, %%al\n\tdaa" : "+a"(eax) : : "cc");
    value("daa after 0x19 + 0x28", eax & 0xff, 0x47);

    uint32_t before = 0x11, saved;
    __asm__ volatile("movl %[v], %%esi\n\tpushal\n\tmovl $0, %%esi\n\tpopal\n\tmovl %%esi, %[s]"
                     : [s] "=r"(saved) : [v] "r"(before) : "esi", "memory");
    value("pusha/popa restore ESI", saved, 0x11);

}
#endif

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
#ifdef __x86_64__
    printf("cpu-basics: 64-bit long mode\n");
#else
    printf("cpu-basics: 32-bit protected mode\n");
#endif
    test_add_sub();
    test_logic();
    test_shifts();
    test_mul_div();
    test_bits();
    test_atomics();
    test_conditions();
    test_strings();
#ifdef __x86_64__
    test_64bit();
#else
    test_32bit_only();
#endif
    printf("cpu-basics: %u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
