/*
 * The "tcg" accelerator: Kestrel's own software CPU. Registers the AccelOps,
 * the memory listener (a topology change flushes every vCPU's TLB) and the
 * CODE dirty client.
 */
#include "accel/tcg/tcg-internal.h"
#include "accel/tcg/jit.h"
#include "sysemu/accel.h"
#include "sysemu/cpus.h"
#include "hw/boards.h"

static void tcg_listener_commit(MemoryListener *l)
{
    tlb_flush_all_cpus();
}

static void tcg_listener_log_change(MemoryListener *l, MemoryRegionSection *section,
                                    unsigned old_mask, unsigned new_mask)
{
    tlb_flush_all_cpus();
}

static bool tcg_listener_log_global_start(MemoryListener *l, GError **errp)
{
    /* Refill every TLB so stores see that migration now logs. */
    tlb_reset_dirty_all_cpus();
    tlb_flush_all_cpus();
    return true;
}

static void tcg_listener_log_global_stop(MemoryListener *l)
{
    tlb_flush_all_cpus();
}

static MemoryListener tcg_memory_listener = {
    .commit = tcg_listener_commit,
    .log_start = tcg_listener_log_change,
    .log_stop = tcg_listener_log_change,
    .log_global_start = tcg_listener_log_global_start,
    .log_global_stop = tcg_listener_log_global_stop,
    .priority = 10,
    .name = "tcg",
};

/* Device writes (DMA, loaders) to pages holding translated code. Called
 * with the big lock held, possibly on a vCPU thread doing I/O. */
static void tcg_code_write_hook(ram_addr_t start, ram_addr_t length)
{
    CPUState *cs = tcg_standalone ? NULL : current_cpu();
    tb_invalidate_phys_pages(cs ? tcg_cpu(cs) : NULL, start, length);
}

static bool tcg_engine_ready;

void tcg_engine_init(void)
{
    if (tcg_engine_ready) {
        return;
    }
    tcg_engine_ready = true;
    dirty_code_write_hook_set(tcg_code_write_hook);
    dirty_client_enable(DIRTY_MEMORY_CODE, true);
    memory_listener_register(&tcg_memory_listener, &address_space_memory);
}

static bool tcg_init_machine(MachineState *ms, GError **errp)
{
    tcg_engine_init();
    return true;
}

static bool tcg_init_vcpu(CPUState *cpu, GError **errp)
{
    tcg_vcpu_init(cpu);
    return true;
}

static void tcg_destroy_vcpu(CPUState *cpu)
{
    tcg_vcpu_destroy(cpu);
}

static VCPUExitReason tcg_exec(CPUState *cpu)
{
    return (VCPUExitReason)tcg_exec_vcpu(cpu);
}

static void tcg_kick(CPUState *cpu)
{
    /* exit_request is already set; the loop polls it at every TB boundary
     * (chained or not) and inside long REP instructions. */
}

static void tcg_get_state(CPUState *cpu)
{
    TcgCpu *c = tcg_cpu(cpu);
    if (c) {
        cpu->env.tsc = (uint64_t)(g_get_monotonic_time() * 1000 + c->tsc_offset);
    }
}

static bool tcg_put_state(CPUState *cpu, AccelSyncLevel level, GError **errp)
{
    TcgCpu *c = tcg_cpu(cpu);
    if (!c) {
        return true;
    }
    c->tsc_offset = (int64_t)(cpu->env.tsc - (uint64_t)(g_get_monotonic_time() * 1000));
    /* Registers (CR3, CR0, segments) may have been edited: cached
     * translations are stale. Cheap compared with how rarely this runs. */
    tlb_flush(c);
    if (level >= ACCEL_SYNC_RESET) {
        c->reset_pending = false;
        c->excp_vector = -1;
        c->excp_delivering = -1;
    }
    return true;
}

static void tcg_machine_reset(MachineState *ms)
{
}

static void tcg_cleanup(MachineState *ms)
{
}

/* -accel tcg,jit=on|off: host code generation (accel/tcg/jit.h). */
static bool tcg_set_option(const char *key, const char *value, GError **errp)
{
    bool on;
    if (strcmp(key, "jit") != 0) {
        error_setg(errp, "-accel tcg: unknown option '%s' (known: jit)", key);
        return false;
    }
    if (!tcg_jit_parse_switch(value, &on)) {
        error_setg(errp, "-accel tcg: jit=%s: expected on or off", value);
        return false;
    }
    tcg_jit_set_enabled(on);
    return true;
}

static const AccelOps tcg_accel_ops = {
    .name = "tcg",
    .set_option = tcg_set_option,
    .init_machine = tcg_init_machine,
    .init_vcpu = tcg_init_vcpu,
    .destroy_vcpu = tcg_destroy_vcpu,
    .exec_vcpu = tcg_exec,
    .kick_vcpu = tcg_kick,
    .get_state = tcg_get_state,
    .put_state = tcg_put_state,
    .machine_reset = tcg_machine_reset,
    .cleanup = tcg_cleanup,
};

static void tcg_accel_register(void)
{
    accel_register(&tcg_accel_ops);
}

type_init(tcg_accel_register)
