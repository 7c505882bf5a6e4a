/*
 * The TCG execution loop: at each TB boundary it looks at exit requests,
 * TLB-flush requests and interrupts, finds the next TB (through a chained
 * link when the previous block ended on a fixed successor on the same
 * page, else through the jump cache / hash), and interprets it. Guest
 * exceptions unwind here with siglongjmp and are delivered through the IDT.
 */
#include "accel/tcg/tcg-internal.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"
#include "kestrel/log.h"

bool tcg_standalone;

/* ---- vCPU list ---- */

static GMutex cpu_list_lock;
static GPtrArray *cpu_list;

void tcg_cpu_list_add(TcgCpu *c)
{
    g_mutex_lock(&cpu_list_lock);
    if (!cpu_list) {
        cpu_list = g_ptr_array_new();
    }
    g_ptr_array_add(cpu_list, c);
    g_mutex_unlock(&cpu_list_lock);
}

void tcg_cpu_list_remove(TcgCpu *c)
{
    g_mutex_lock(&cpu_list_lock);
    if (cpu_list) {
        g_ptr_array_remove(cpu_list, c);
    }
    g_mutex_unlock(&cpu_list_lock);
}

void tcg_cpu_list_foreach(void (*fn)(TcgCpu *c, void *opaque), void *opaque)
{
    g_mutex_lock(&cpu_list_lock);
    if (cpu_list) {
        for (unsigned k = 0; k < cpu_list->len; k++) {
            fn(g_ptr_array_index(cpu_list, k), opaque);
        }
    }
    g_mutex_unlock(&cpu_list_lock);
}

/* ---- exclusive sections (TB flush) ----
 * A vCPU is "running" between exec_start and exec_end; an exclusive section
 * waits until no other vCPU runs and keeps new ones from starting. */

static GMutex excl_lock;
static GCond excl_cond;
static int running_cpus;
static bool excl_pending;

static void exec_start(void)
{
    g_mutex_lock(&excl_lock);
    while (excl_pending) {
        g_cond_wait(&excl_cond, &excl_lock);
    }
    running_cpus++;
    g_mutex_unlock(&excl_lock);
}

static void exec_end(void)
{
    g_mutex_lock(&excl_lock);
    running_cpus--;
    if (excl_pending) {
        g_cond_broadcast(&excl_cond);
    }
    g_mutex_unlock(&excl_lock);
}

static void kick_other(TcgCpu *c, void *opaque)
{
    if (c == opaque) {
        return;
    }
    if (tcg_standalone) {
        __atomic_store_n(&c->cs->exit_request, 1, __ATOMIC_SEQ_CST);
    } else {
        cpu_exit(c->cs);
    }
}

void tcg_exec_start_exclusive(TcgCpu *self)
{
    g_mutex_lock(&excl_lock);
    running_cpus--;
    while (excl_pending) {
        g_cond_wait(&excl_cond, &excl_lock);
    }
    excl_pending = true;
    g_mutex_unlock(&excl_lock);
    tcg_cpu_list_foreach(kick_other, self);
    g_mutex_lock(&excl_lock);
    while (running_cpus > 0) {
        g_cond_wait(&excl_cond, &excl_lock);
    }
    g_mutex_unlock(&excl_lock);
}

void tcg_exec_end_exclusive(TcgCpu *self)
{
    g_mutex_lock(&excl_lock);
    excl_pending = false;
    running_cpus++;
    g_cond_broadcast(&excl_cond);
    g_mutex_unlock(&excl_lock);
}

/* ---- interrupt acknowledge ---- */

static CPUInterruptAckFn ack_fn;
static void *ack_opaque;

void cpu_set_interrupt_ack(CPUInterruptAckFn fn, void *opaque)
{
    ack_fn = fn;
    ack_opaque = opaque;
}

int cpu_interrupt_ack(CPUState *cpu)
{
    bool lock = !tcg_standalone && !bql_locked();
    int v;
    if (!ack_fn) {
        static bool warned;
        if (!warned) {
            warned = true;
            log_mask(LOG_UNIMP, "tcg: interrupt raised but no interrupt controller "
                     "registered an acknowledge function\n");
        }
        /* Nobody can deliver it: do not keep a halted CPU awake. */
        __atomic_fetch_and(&cpu->interrupt_request, ~(unsigned)CPU_INTERRUPT_HARD,
                           __ATOMIC_SEQ_CST);
        return -1;
    }
    if (lock) {
        bql_lock();
    }
    v = ack_fn(ack_opaque, cpu);
    if (lock) {
        bql_unlock();
    }
    return v;
}

/* ---- INIT / SIPI (interrupt controller hook, see hw/intc/apic.c) ---- */

static CPUInitSipiFn init_sipi_fn;
static void *init_sipi_opaque;

void cpu_set_init_sipi_handler(CPUInitSipiFn fn, void *opaque)
{
    init_sipi_fn = fn;
    init_sipi_opaque = opaque;
}

/* Called with the big lock held (or standalone) before the halted check. */
static void handle_init_sipi(TcgCpu *c)
{
    if (!init_sipi_fn) {
        __atomic_fetch_and(&c->cs->interrupt_request,
                           ~(unsigned)(CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI), __ATOMIC_SEQ_CST);
        return;
    }
    init_sipi_fn(init_sipi_opaque, c->cs);
    /* The mode (CR0/CR3/CR4, EFER) may have changed under the TLB. */
    tlb_flush(c);
    c->excp_vector = -1;
}

/* ---- IA32_APIC_BASE (interrupt controller hook) ---- */

static CPUApicBaseFn apic_base_fn;
static void *apic_base_opaque;

void cpu_set_apic_base_handler(CPUApicBaseFn fn, void *opaque)
{
    apic_base_fn = fn;
    apic_base_opaque = opaque;
}

bool cpu_apic_base_write(CPUState *cpu, uint64_t value)
{
    bool lock = !tcg_standalone && !bql_locked();
    bool ok;

    if (!apic_base_fn) {
        cpu->env.apic_base = value;
        return true;
    }
    if (lock) {
        bql_lock();
    }
    ok = apic_base_fn(apic_base_opaque, cpu, value);
    if (lock) {
        bql_unlock();
    }
    return ok;
}

/* ---- vCPU setup ---- */

void tcg_vcpu_init(CPUState *cs)
{
    TcgCpu *c = g_new0(TcgCpu, 1);
    c->cs = cs;
    c->env = &cs->env;
    c->excp_vector = -1;
    c->excp_delivering = -1;
    cs->accel = c;
    tlb_flush(c);
    tcg_cpu_list_add(c);
}

void tcg_vcpu_destroy(CPUState *cs)
{
    TcgCpu *c = tcg_cpu(cs);
    if (!c) {
        return;
    }
    tcg_cpu_list_remove(c);
    if (c->flatview) {
        flatview_unref(c->flatview);
    }
    g_free(c);
    cs->accel = NULL;
}

/* ---- the loop ---- */

void tcg_cpu_loop_exit(TcgCpu *c)
{
    siglongjmp(c->jmp_env, 1);
}

static void dump_state(TcgCpu *c, bool to_log)
{
    GString *s = g_string_new(NULL);
    x86_cpu_dump_state(c->env, s);
    if (to_log) {
        log_printf("%s", s->str);
    } else {
        fprintf(stderr, "%s", s->str);
    }
    g_string_free(s, TRUE);
}

static void handle_requests(TcgCpu *c)
{
    int req = __atomic_exchange_n(&c->flush_request, 0, __ATOMIC_SEQ_CST);
    if (req & TCG_FLUSH_TLB) {
        tlb_flush(c);
    } else if (req & TCG_FLUSH_JMP) {
        tb_jmp_cache_clear(c);
    }
    if (c->env->a20_enabled != c->last_a20) {
        tlb_flush(c);
    }
}

/* True when some byte of the TB lies past the current CS limit. The TB
 * key does not include the limit, so a block translated under a larger
 * limit can be found again after CS was reloaded with a smaller one. */
static bool tb_exceeds_cs_limit(const TcgCpu *c, const TranslationBlock *tb)
{
    uint64_t first = (uint32_t)(tb->pc - tb->cs_base);
    uint32_t limit = c->env->segs[R_CS].limit;
    if ((tb->flags & HF_CS64) || limit == 0xffffffffu) {
        return false;
    }
    return first + tb->size - 1 > limit;
}

static void G_NORETURN raise_cs_limit_fault(TcgCpu *c, const Insn *i)
{
    c->env->rip = i->eip;
    c->cur_insn = NULL;
    c->excp_vector = 13;   /* #GP(0) */
    c->excp_error = 0;
    c->excp_has_error = true;
    c->excp_soft = false;
    tcg_cpu_loop_exit(c);
}

/* Interprets one TB. Kept out of line and apart from the sigsetjmp in
 * cpu_exec_inner so that the per-instruction loop keeps its few live
 * values (c, env, the instruction pointer and the end) in callee-saved
 * registers instead of reloading them around every call. */
static __attribute__((noinline)) void cpu_tb_exec(TcgCpu *c, TranslationBlock *tb)
{
    CPUX86State *env = c->env;
    const Insn *i = tb->insns, *end = tb->insns + tb->n_exec;

    c->cur_tb = tb;
    c->tb_flags = tb->flags;
    c->stop_tb = false;
    c->in_exec = true;
    if (tb->host_code && __builtin_expect(!tb_exceeds_cs_limit(c, tb), 1)) {
        /* Generated code (accel/tcg/jit.h): the same steps as the loops
         * below, unrolled for this block. */
        tb->host_code(c);
    } else if (__builtin_expect(tb_exceeds_cs_limit(c, tb), 0)) {
        for (; i < end; i++) {
            c->cur_insn = i;
            if ((uint64_t)(uint32_t)i->eip + i->len - 1 > env->segs[R_CS].limit) {
                raise_cs_limit_fault(c, i);
            }
            env->rip = i->next_eip;
            if (i + 1 == end && tb->n_exec < tb->n_insns) {
                /* A fused flag setter + Jcc: the Jcc may lie past the
                 * limit. Run the setter alone (its own function is in the
                 * Jcc's imm2), then fault at the Jcc. */
                const Insn *j = i + 1;
                if ((uint64_t)(uint32_t)j->eip + j->len - 1 > env->segs[R_CS].limit) {
                    ((InsnFn *)(uintptr_t)j->imm2)(c, i);
                    if (!c->stop_tb) {
                        raise_cs_limit_fault(c, j);
                    }
                    break;
                }
            }
            i->fn(c, i);
            if (__builtin_expect(c->stop_tb, 0)) {
                break;
            }
        }
    } else {
        for (; i < end; i++) {
            c->cur_insn = i;
            env->rip = i->next_eip;
            i->fn(c, i);
            if (__builtin_expect(c->stop_tb, 0)) {
                break;
            }
        }
    }
    c->cur_insn = NULL;
    c->in_exec = false;
}

static bool can_chain(const TranslationBlock *from, const TranslationBlock *to)
{
    /* Same page, same mapping: the link stays valid until a TB on this
     * page is invalidated, whatever happens to the page tables. */
    return to->page_ram[0] == from->page_ram[0] && to->page_ram[1] == RAM_ADDR_INVALID &&
           to->page_vaddr[0] == from->page_vaddr[0] && to->flags == from->flags &&
           to->cs_base == from->cs_base && !(to->cflags & TB_NOCHAIN);
}

/* The successor of a TB that left through an indirect branch (RET, JMP/CALL
 * r/m), straight from the jump cache. The TB ended normally (no stop_tb,
 * not TB_NOCHAIN), so the mode bits and CS base are still the block's own
 * (instructions that change them stop the TB) and tb_find's key
 * computation can be skipped; a miss falls back to tb_find. */
static inline TranslationBlock *jmp_cache_peek(TcgCpu *c, const TranslationBlock *tb,
                                               uint64_t rip)
{
    uint64_t pc = (tb->flags & HF_CS64) ? rip : (uint32_t)(tb->cs_base + rip);
    TranslationBlock *next = c->jmp_cache[tb_jmp_cache_hash(pc)];
    if (next && next->pc == pc && next->cs_base == tb->cs_base && next->flags == tb->flags) {
        return next;
    }
    return NULL;
}

/* Out of line: the caller holds the sigsetjmp, which would force every
 * local of this loop to memory. */
static __attribute__((noinline)) VCPUExitReason cpu_exec_loop(TcgCpu *c)
{
    CPUState *cs = c->cs;
    CPUX86State *env = c->env;
    TranslationBlock *tb, *last = NULL, *next = NULL;
    int slot = 0;

    for (;;) {
        if (__builtin_expect(__atomic_load_n(&cs->exit_request, __ATOMIC_RELAXED), 0) &&
            __atomic_exchange_n(&cs->exit_request, 0, __ATOMIC_SEQ_CST)) {
            return VCPU_EXIT_KICK;
        }
        if (c->flush_request || env->a20_enabled != c->last_a20) {
            handle_requests(c);
            last = next = NULL;
        }
        if (cs->interrupt_request) {
            if (cs->interrupt_request & CPU_INTERRUPT_EXITTB) {
                __atomic_fetch_and(&cs->interrupt_request, ~(unsigned)CPU_INTERRUPT_EXITTB,
                                   __ATOMIC_SEQ_CST);
                last = next = NULL;
            }
            if ((cs->interrupt_request & (CPU_INTERRUPT_HARD | CPU_INTERRUPT_NMI)) &&
                !env->interrupt_shadow && x86_tcg_check_interrupts(c)) {
                last = next = NULL;
            }
        }
        if (__builtin_expect(c->tb_flush_wanted, 0)) {
            c->tb_flush_wanted = false;
            if (tb_budget_exceeded()) {
                tb_flush_all(c);
                last = next = NULL;
            }
        }

        if (next && !next->invalid) {
            tb = next;
        } else {
            tb = tb_find(c);
            if (last && can_chain(last, tb)) {
                tb_add_jump(last, slot, tb);
            }
        }
        if (log_enabled(LOG_EXEC)) {
            log_printf("Trace %d: pc=0x%" PRIx64 " cs_base=0x%" PRIx64 " flags=0x%x%s\n",
                       cs->index, tb->pc, tb->cs_base, tb->flags, next == tb ? " (chained)" : "");
        }
        if (log_enabled(LOG_CPU)) {
            dump_state(c, true);
        }

        /* An STI / MOV SS shadow covers only the instructions run next;
         * the block may set a new one at its end. */
        env->interrupt_shadow = 0;
        cpu_tb_exec(c, tb);
        /* Generated code may have chained into other blocks. */
        tb = c->cur_tb;
        if (env->halted) {
            return VCPU_EXIT_HALT;
        }
        if (tb->flags & HF_TF) {
            /* Single-step trap after the instruction. */
            env->dr[6] |= 1u << 14;
            c->excp_vector = 1;
            c->excp_has_error = false;
            c->excp_soft = false;
            tcg_cpu_loop_exit(c);
        }

        last = next = NULL;
        if (!c->stop_tb && !(tb->cflags & TB_NOCHAIN)) {
            if (env->rip == tb->jmp_eip[0]) {
                slot = 0;
                last = tb;
            } else if (env->rip == tb->jmp_eip[1]) {
                slot = 1;
                last = tb;
            }
            if (last) {
                next = __atomic_load_n(&last->jmp_dest[slot], __ATOMIC_ACQUIRE);
            } else {
                next = jmp_cache_peek(c, tb, env->rip);
            }
        }
    }
}

static bool cpu_has_work(TcgCpu *c)
{
    unsigned req = c->cs->interrupt_request;
    if ((req & CPU_INTERRUPT_NMI) && !c->env->nmi_masked) {
        return true;
    }
    return (req & CPU_INTERRUPT_HARD) && (c->env->eflags & IF_MASK);
}

/* Runs with the exclusive "running" count held; returns the exit reason. */
static VCPUExitReason cpu_exec_inner(TcgCpu *c)
{
    if (sigsetjmp(c->jmp_env, 0) != 0) {
        /* An exception (or a request to stop) unwound to here. */
        c->in_exec = false;
        c->cur_insn = NULL;
        c->cur_tb = NULL;
        if (c->excp_vector == EXCP_CANNOT_RUN) {
            c->excp_vector = -1;
            error_report("tcg: vCPU %d cannot continue", c->cs->index);
            dump_state(c, false);
            return VCPU_EXIT_ERROR;
        }
        if (c->excp_vector != -1) {
            if (!x86_deliver_pending_exception(c)) {
                log_mask(LOG_INT | LOG_GUEST_ERROR, "tcg: cpu %d triple fault, resetting\n",
                         c->cs->index);
                if (log_enabled(LOG_INT)) {
                    dump_state(c, true);
                }
                c->reset_pending = true;
                if (!tcg_standalone) {
                    system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
                }
                return VCPU_EXIT_KICK;
            }
        }
    }
    return cpu_exec_loop(c);
}

int tcg_exec_vcpu(CPUState *cs)
{
    TcgCpu *c = tcg_cpu(cs);
    CPUX86State *env = &cs->env;
    VCPUExitReason ret;

    if (c->reset_pending) {
        /* Triple-faulted: wait for the machine reset (put_state RESET). */
        __atomic_store_n(&cs->exit_request, 0, __ATOMIC_SEQ_CST);
        if (!tcg_standalone) {
            tcg_bql_unlock();
            g_usleep(1000);
            tcg_bql_lock();
        }
        return VCPU_EXIT_KICK;
    }
    if (cs->interrupt_request & (CPU_INTERRUPT_INIT | CPU_INTERRUPT_SIPI)) {
        handle_init_sipi(c);
    }
    if (env->halted) {
        if (!cpu_has_work(c)) {
            return VCPU_EXIT_HALT;
        }
        env->halted = false;
    }
    tcg_bql_unlock();
    exec_start();
    ret = cpu_exec_inner(c);
    exec_end();
    tcg_bql_lock();
    return (int)ret;
}
