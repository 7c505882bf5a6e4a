/*
 * tcg-diff: runs generated instruction sequences natively and under TCG and
 * compares general registers, RIP, the defined arithmetic flags and DF, the
 * data window, and the exception (vector, error code, CR2 for #PF).
 *
 *   tcg-diff [--seed N] [--count M] [--start I] [--max-groups G] [-v]
 *
 * Sequence I of seed N is reproducible alone with --seed N --start I
 * --count 1 -v. Instructions that fault with #UD under TCG but not natively
 * are counted per table entry as unimplemented and listed at the end; they
 * fail the run only with --strict. Any other difference fails the run.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <unistd.h>
#include "tcg-diff.h"

static const char *reg_names[16] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

typedef struct FormStats {
    unsigned long generated, unimplemented, mismatches;
} FormStats;

static FormStats *stats;
static unsigned long vector_counts[34];
static bool verbose;
static uint32_t pf_err_mask = 0x1f;

static void seed_rng(Rng *r, uint64_t seed, uint64_t index)
{
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + index * 0xbf58476d1ce4e5b9ull + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    r->s = z ? z : 1;
}

static void print_outcome(const char *who, const Outcome *o)
{
    printf("  %s: vector %d err %#x cr2 %#llx rip %#llx flags %#llx\n", who, o->vector,
           o->error_code, (unsigned long long)o->cr2, (unsigned long long)o->regs.rip,
           (unsigned long long)o->regs.flags);
}

static void print_sequence(const Seq *seq, uint64_t seed, uint64_t index)
{
    char buf[8192];
    seq_describe(seq, buf, sizeof(buf));
    printf("sequence %llu of seed %llu (rerun: --seed %llu --start %llu --count 1 -v):\n%s",
           (unsigned long long)index, (unsigned long long)seed, (unsigned long long)seed,
           (unsigned long long)index, buf);
    printf("  initial flags %#llx\n", (unsigned long long)seq->init.flags);
    for (int r = 0; r < 16; r++) {
        printf("  in %-3s %016llx%s", reg_names[r], (unsigned long long)seq->init.r[r],
               r % 4 == 3 ? "\n" : "");
    }
}

/* Compares; returns NULL when equal, else what differs. */
static const char *compare(const Seq *seq, const Outcome *n, const Outcome *t, GString *why)
{
    uint32_t mask = seq->end_known;
    const SeqInsn *at = NULL;
    if (n->vector != t->vector) {
        g_string_append_printf(why, "vector: native %d, tcg %d\n", n->vector, t->vector);
    }
    if (n->regs.rip != t->regs.rip) {
        g_string_append_printf(why, "rip: native %#llx, tcg %#llx\n",
                               (unsigned long long)n->regs.rip, (unsigned long long)t->regs.rip);
    }
    if (why->len) {
        return why->str;
    }
    if (n->vector >= 0) {
        at = seq_find_insn(seq, n->vector == 3 ? n->regs.rip - 1 : n->regs.rip);
        mask = at ? at->known : 0;
        if (n->vector == 14) {
            /* P, W, U, and I (fetch) */
            if ((n->error_code & pf_err_mask) != (t->error_code & pf_err_mask)) {
                g_string_append_printf(why, "#PF error code: native %#x, tcg %#x\n",
                                       n->error_code, t->error_code);
            }
            if (n->cr2 != t->cr2) {
                g_string_append_printf(why, "cr2: native %#llx, tcg %#llx\n",
                                       (unsigned long long)n->cr2, (unsigned long long)t->cr2);
            }
        } else if (n->vector == 13 || n->vector == 12 || n->vector == 17) {
            if (n->error_code != t->error_code) {
                g_string_append_printf(why, "error code: native %#x, tcg %#x\n", n->error_code,
                                       t->error_code);
            }
        }
    }
    for (int r = 0; r < 16; r++) {
        /* 32-bit mode: the upper halves of rAX..rDI are undefined after the
         * switch back to 64-bit mode; R8-R15 are untouched. */
        uint64_t m = seq->mode32 && r < 8 ? 0xffffffffull : ~0ull;
        if ((n->regs.r[r] ^ t->regs.r[r]) & m) {
            g_string_append_printf(why, "%s: native %016llx, tcg %016llx\n", reg_names[r],
                                   (unsigned long long)n->regs.r[r],
                                   (unsigned long long)t->regs.r[r]);
        }
    }
    mask |= F_DF;
    if ((n->regs.flags & mask) != (t->regs.flags & mask)) {
        g_string_append_printf(why, "flags (defined %03x): native %03llx, tcg %03llx\n", mask,
                               (unsigned long long)(n->regs.flags & mask),
                               (unsigned long long)(t->regs.flags & mask));
    }
    for (unsigned i = 0; i < DATA_SIZE; i++) {
        if (n->data[i] != t->data[i]) {
            unsigned shown = 0;
            g_string_append_printf(why, "memory differs from %#llx:",
                                   (unsigned long long)(DATA_VA + i));
            for (unsigned j = i; j < DATA_SIZE && shown < 16; j++, shown++) {
                g_string_append_printf(why, " %02x/%02x", n->data[j], t->data[j]);
            }
            g_string_append(why, " (native/tcg)\n");
            break;
        }
    }
    return why->len ? why->str : NULL;
}

/* The comparator must see a flipped register bit, data byte, defined flag
 * and a different vector: checked on the first sequences of every run. */
static bool self_check(const Seq *seq, const Outcome *n)
{
    static Outcome m;
    GString *why = g_string_new(NULL);
    bool ok = true;
    const SeqInsn *at = n->vector >= 0 ? seq_find_insn(seq, n->vector == 3 ? n->regs.rip - 1
                                                                           : n->regs.rip) : NULL;
    uint32_t defined = n->vector >= 0 ? (at ? at->known : 0) : seq->end_known;

    for (int kind = 0; kind < 4; kind++) {
        m = *n;
        switch (kind) {
        case 0: m.regs.r[(seq->n * 7) % 16] ^= 1ull << (seq->len % 32); break;
        case 1: m.data[(seq->len * 97) % DATA_SIZE] ^= 0x10; break;
        case 2: m.regs.flags ^= defined ? (defined & -defined) : F_DF; break;
        default: m.vector = n->vector == 13 ? 14 : 13; break;
        }
        g_string_truncate(why, 0);
        ok &= compare(seq, n, &m, why) != NULL;
        g_string_truncate(why, 0);
        ok &= compare(seq, n, n, why) == NULL;
    }
    g_string_free(why, TRUE);
    return ok;
}

int main(int argc, char **argv)
{
    gint64 seed = 1, count = 100000, start = 0, max_groups = 6, max_fail = 10, pct32 = 25;
    gboolean strict = FALSE, list = FALSE;
    GOptionEntry entries[] = {
        { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "random seed (default 1)", "N" },
        { "count", 'n', 0, G_OPTION_ARG_INT64, &count, "sequences to run (default 100000)", "M" },
        { "start", 0, 0, G_OPTION_ARG_INT64, &start, "index of the first sequence", "I" },
        { "max-groups", 'g', 0, G_OPTION_ARG_INT64, &max_groups,
          "instructions per sequence, at most (1-8, default 6)", "G" },
        { "percent-32", 0, 0, G_OPTION_ARG_INT64, &pct32,
          "percentage of sequences in 32-bit compatibility mode (default 25)", "P" },
        { "max-failures", 0, 0, G_OPTION_ARG_INT64, &max_fail,
          "mismatches to print before stopping (default 10)", "K" },
        { "strict", 0, 0, G_OPTION_ARG_NONE, &strict, "fail on unimplemented instructions", NULL },
        { "list", 0, 0, G_OPTION_ARG_NONE, &list, "print the instruction table", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "print every sequence", NULL },
        { NULL },
    };
    GOptionContext *ctx = g_option_context_new("- differential test of TCG against the host CPU");
    GError *err = NULL;
    uint64_t fs_base = 0;
    uint16_t sel[6];
    uint8_t ro_page[0x1000];
    uint8_t *data;
    Outcome *nat, *emu;
    Seq *seq;
    unsigned long failures = 0, unimpl = 0, ran = 0;
    Rng rng;

    /* FS-relative operands depend on the FS base (the TLS block): without
     * address randomization it is the same in every run, so a sequence
     * number reproduces the same bytes and registers. */
    {
        int pers = personality(0xffffffff);
        if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE) && !getenv("TCG_DIFF_REEXEC")) {
            setenv("TCG_DIFF_REEXEC", "1", 1);
            if (personality((unsigned long)pers | ADDR_NO_RANDOMIZE) != -1) {
                execv("/proc/self/exe", argv);
            }
        }
    }
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "tcg-diff: %s\n", err->message);
        return 2;
    }
    g_option_context_free(ctx);
    if (max_groups < 1 || max_groups > 8 || count < 0) {
        fprintf(stderr, "tcg-diff: bad --max-groups or --count\n");
        return 2;
    }
    gen_init_features();
    if (list) {
        for (unsigned i = 0; i < n_forms; i++) {
            printf("%-20s%s\n", forms[i].name, form_available(&forms[i]) ? "" : " (host lacks it)");
        }
        return 0;
    }

    native_init(&fs_base);
    gen_allow_a16 = native_reserve_low();
    gen_fs_base = fs_base;
    seed_rng(&rng, (uint64_t)seed, ~0ull);
    for (unsigned i = 0; i < sizeof(ro_page); i += 8) {
        uint64_t v = rng_next(&rng);
        memcpy(ro_page + i, &v, 8);
    }
    native_set_ro_page(ro_page);
    native_selectors(sel);
    guest_init(fs_base, ro_page, sel);

    stats = g_new0(FormStats, n_forms);
    data = g_malloc(DATA_SIZE);
    nat = g_new0(Outcome, 1);
    emu = g_new0(Outcome, 1);
    seq = g_new0(Seq, 1);

    for (int64_t k = start; k < start + count; k++) {
        GString *why = g_string_new(NULL);
        const char *diff;
        seed_rng(&rng, (uint64_t)seed, (uint64_t)k);
        gen_sequence(&rng, seq, (unsigned)max_groups, (unsigned)CLAMP(pct32, 0, 100));
        for (unsigned i = 0; i < DATA_SIZE; i += 8) {
            uint64_t v = rng_next(&rng);
            memcpy(data + i, &v, 8);
        }
        for (unsigned i = 0; i < seq->n; i++) {
            if (seq->insns[i].form >= 0) {
                stats[seq->insns[i].form].generated++;
            }
        }
        native_run(seq, data, nat);
        guest_run(seq, data, emu);
        ran++;
        if (nat->vector >= 0 && nat->vector < 32) {
            vector_counts[nat->vector]++;
        } else {
            vector_counts[nat->vector == -1 ? 32 : 33]++;
        }
        if (verbose) {
            print_sequence(seq, (uint64_t)seed, (uint64_t)k);
            print_outcome("native", nat);
            print_outcome("tcg   ", emu);
        }
        /* TCG #UD at X where the host executed X: the host ended normally,
         * got past X (branches only go forward), or faulted at X otherwise. */
        if (emu->vector == 6 && (nat->vector == -1 || nat->regs.rip > emu->regs.rip ||
                                 (nat->regs.rip == emu->regs.rip && nat->vector != 6))) {
            const SeqInsn *at = seq_find_insn(seq, emu->regs.rip);
            if (at && at->form >= 0) {
                stats[at->form].unimplemented++;
                unimpl++;
                g_string_free(why, TRUE);
                if (!strict) {
                    continue;
                }
                why = g_string_new(NULL);
            }
        }
        if (k - start < 200 && !self_check(seq, nat)) {
            printf("comparator self-check failed on sequence %lld\n", (long long)k);
            return 1;
        }
        diff = compare(seq, nat, emu, why);
        if (diff) {
            /* Blame the first instruction where the runs part (branches
             * only go forward: the lower RIP). */
            uint64_t first = MIN(emu->regs.rip, nat->regs.rip);
            const SeqInsn *at = seq_find_insn(seq, first);
            if (!at && first > CODE_VA) {
                at = seq_find_insn(seq, first - 1);   /* after a trap */
            }
            failures++;
            if (at && at->form >= 0) {
                stats[at->form].mismatches++;
            }
            if (failures <= (unsigned long)max_fail) {
                printf("MISMATCH\n");
                print_sequence(seq, (uint64_t)seed, (uint64_t)k);
                print_outcome("native", nat);
                print_outcome("tcg   ", emu);
                printf("%s\n", diff);
            }
            if (failures == (unsigned long)max_fail) {
                printf("(further mismatches are counted, not printed)\n");
            }
        }
        g_string_free(why, TRUE);
    }

    printf("tcg-diff: seed %lld, %lu sequences, %u table entries\n", (long long)seed, ran, n_forms);
    printf("native outcomes: %lu reached the end;", vector_counts[32]);
    for (int v = 0; v < 32; v++) {
        if (vector_counts[v]) {
            printf(" vector %d: %lu;", v, vector_counts[v]);
        }
    }
    printf("\n");
    for (unsigned i = 0; i < n_forms; i++) {
        if (!form_available(&forms[i])) {
            printf("  not generated (host CPU lacks it): %s\n", forms[i].name);
        } else if (stats[i].generated == 0 && ran >= 10000) {
            printf("  never generated: %s\n", forms[i].name);
        }
        if (stats[i].unimplemented || stats[i].mismatches) {
            printf("  %-20s generated %lu, unimplemented under TCG (#UD) %lu, mismatches %lu\n",
                   forms[i].name, stats[i].generated, stats[i].unimplemented,
                   stats[i].mismatches);
        }
    }
    printf("%lu mismatches, %lu sequences stopped at an instruction TCG does not implement\n",
           failures, unimpl);
    g_free(stats);
    g_free(data);
    g_free(nat);
    g_free(emu);
    g_free(seq);
    return failures || (strict && unimpl) ? 1 : 0;
}
