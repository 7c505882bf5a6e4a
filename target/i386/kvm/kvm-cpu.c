/*
 * x86 vCPU state under KVM: the CPUID table a vCPU gets, and copying the
 * architectural state (CPUX86State) out of and into the kernel at the three
 * sync levels of include/sysemu/accel.h. See docs/kvm.md.
 */
#include "accel/kvm/kvm-internal.h"
#include "target/i386/kvm/kvm-x86.h"
#include "hw/boards.h"
#include "kestrel/log.h"

/* A vCPU ioctl whose failure ends the sync: errp gets "<request> failed". */
static bool vcpu_ioctl_checked(CPUState *cpu, unsigned long request, const char *name,
                               void *arg, GError **errp)
{
    int ret = kvm_vcpu_ioctl(cpu, request, arg);
    if (ret < 0) {
        error_setg(errp, "%s failed: %s", name, g_strerror(-ret));
        return false;
    }
    return true;
}
#define VCPU_IOCTL(cpu, request, arg, errp) \
    vcpu_ioctl_checked(cpu, request, #request, arg, errp)

/* ---- CPUID ---- */

static void model_cpuid(void *opaque, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    const CPUX86State *env = opaque;
    x86_cpu_get_cpuid(env, leaf, subleaf, &regs[0], &regs[1], &regs[2], &regs[3]);
}

/* "-cpu host" gets everything KVM offers; so does "-cpu max", which means
 * "the most this accelerator can do" (as with QEMU under KVM). */
static bool cpu_model_is_passthrough(void)
{
    const char *model = current_machine ? current_machine->cpu_model : NULL;
    return model && (!strcmp(model, "host") || !strcmp(model, "max"));
}

static bool kvm_setup_cpuid(CPUState *cpu, GError **errp)
{
    KVMCPUIDModel model = {
        .get = model_cpuid,
        .opaque = &cpu->env,
        .apic_id = cpu->env.apic_id,
        .nr_cores = cpu->env.cpuid_nr_cores,
        .passthrough = cpu_model_is_passthrough(),
    };
    struct kvm_cpuid2 *table = kvm_x86_build_cpuid(kvm_state->supported_cpuid, &model);
    int ret = kvm_vcpu_ioctl(cpu, KVM_SET_CPUID2, table);
    unsigned nent = table->nent;

    g_free(table);
    if (ret < 0) {
        error_setg(errp, "KVM rejected the CPUID table of vCPU %d (%u entries): %s",
                   cpu->index, nent, g_strerror(-ret));
        return false;
    }
    log_mask(LOG_KVM, "kvm: vCPU %d: %u CPUID entries%s\n", cpu->index, nent,
             model.passthrough ? " (host passthrough)" : "");
    return true;
}

/* ---- MSRs ---- */

/* The MSRs Kestrel keeps in CPUX86State (EFER and the FS/GS bases travel
 * with the special registers). */
static const uint32_t kvm_msrs_wanted[] = {
    MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK, MSR_KERNEL_GS_BASE,
    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
    MSR_IA32_PAT, MSR_IA32_TSC, MSR_IA32_MISC_ENABLE, MSR_TSC_AUX,
};

static uint64_t *msr_field(CPUX86State *env, uint32_t index)
{
    switch (index) {
    case MSR_STAR: return &env->star;
    case MSR_LSTAR: return &env->lstar;
    case MSR_CSTAR: return &env->cstar;
    case MSR_FMASK: return &env->fmask;
    case MSR_KERNEL_GS_BASE: return &env->kernel_gs_base;
    case MSR_IA32_SYSENTER_CS: return &env->sysenter_cs;
    case MSR_IA32_SYSENTER_ESP: return &env->sysenter_esp;
    case MSR_IA32_SYSENTER_EIP: return &env->sysenter_eip;
    case MSR_IA32_PAT: return &env->pat;
    case MSR_IA32_TSC: return &env->tsc;
    case MSR_IA32_MISC_ENABLE: return &env->misc_enable;
    case MSR_TSC_AUX: return &env->tsc_aux;
    }
    g_assert_not_reached();
}

typedef struct MSRBuffer {
    struct kvm_msrs hdr;
    struct kvm_msr_entry entries[G_N_ELEMENTS(kvm_msrs_wanted)];
} MSRBuffer;

/* Keeps the MSRs this kernel lets us read (a host-initiated read fails for
 * an MSR KVM does not emulate, e.g. TSC_AUX on a host without RDTSCP). */
static void kvm_probe_msrs(CPUState *cpu)
{
    AccelCPUState *acs = cpu->accel;

    acs->nr_msrs = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(kvm_msrs_wanted); i++) {
        MSRBuffer buf = { .hdr.nmsrs = 1 };
        buf.entries[0].index = kvm_msrs_wanted[i];
        if (kvm_vcpu_ioctl(cpu, KVM_GET_MSRS, &buf) == 1) {
            acs->msr_indices[acs->nr_msrs++] = kvm_msrs_wanted[i];
        } else {
            log_mask(LOG_KVM, "kvm: MSR 0x%x not available, not synchronized\n",
                     kvm_msrs_wanted[i]);
        }
    }
}

static bool kvm_get_msrs(CPUState *cpu, GError **errp)
{
    AccelCPUState *acs = cpu->accel;
    MSRBuffer buf = { .hdr.nmsrs = acs->nr_msrs };

    for (unsigned i = 0; i < acs->nr_msrs; i++) {
        buf.entries[i].index = acs->msr_indices[i];
    }
    int ret = kvm_vcpu_ioctl(cpu, KVM_GET_MSRS, &buf);
    if (ret < 0) {
        error_setg(errp, "KVM_GET_MSRS failed: %s", g_strerror(-ret));
        return false;
    }
    /* The probe proved each one readable, so ret < nmsrs is not expected;
     * keep whatever was read. */
    for (int i = 0; i < ret && i < (int)acs->nr_msrs; i++) {
        *msr_field(&cpu->env, buf.entries[i].index) = buf.entries[i].data;
    }
    return true;
}

static bool kvm_put_msrs(CPUState *cpu, AccelSyncLevel level, GError **errp)
{
    AccelCPUState *acs = cpu->accel;
    MSRBuffer buf = { 0 };
    unsigned n = 0;

    for (unsigned i = 0; i < acs->nr_msrs; i++) {
        uint32_t index = acs->msr_indices[i];
        /* Writing the TSC while the VM runs would make guest time jump:
         * only on reset and when loading a whole state. */
        if (index == MSR_IA32_TSC && level == ACCEL_SYNC_RUNTIME) {
            continue;
        }
        buf.entries[n].index = index;
        buf.entries[n].data = *msr_field(&cpu->env, index);
        n++;
    }
    /* KVM_SET_MSRS stops at the first MSR it refuses and returns how many it
     * wrote: report the refused one and go on with the rest, so one odd MSR
     * value cannot stop the vCPU. */
    unsigned done = 0;
    while (done < n) {
        MSRBuffer part = { .hdr.nmsrs = n - done };
        memcpy(part.entries, &buf.entries[done], (n - done) * sizeof(part.entries[0]));
        int ret = kvm_vcpu_ioctl(cpu, KVM_SET_MSRS, &part);
        if (ret < 0) {
            error_setg(errp, "KVM_SET_MSRS failed: %s", g_strerror(-ret));
            return false;
        }
        done += ret;
        if (done < n) {
            error_report("KVM refused MSR 0x%x = 0x%" PRIx64 " on vCPU %d; left unchanged",
                         buf.entries[done].index, (uint64_t)buf.entries[done].data, cpu->index);
            done++;
        }
    }
    return true;
}

/* ---- general, special, FPU and debug registers ---- */

static bool kvm_get_regs(CPUState *cpu, GError **errp)
{
    CPUX86State *env = &cpu->env;
    struct kvm_regs regs;

    if (!VCPU_IOCTL(cpu, KVM_GET_REGS, &regs, errp)) {
        return false;
    }
    env->regs[R_EAX] = regs.rax;
    env->regs[R_EBX] = regs.rbx;
    env->regs[R_ECX] = regs.rcx;
    env->regs[R_EDX] = regs.rdx;
    env->regs[R_ESI] = regs.rsi;
    env->regs[R_EDI] = regs.rdi;
    env->regs[R_ESP] = regs.rsp;
    env->regs[R_EBP] = regs.rbp;
    env->regs[R_R8] = regs.r8;
    env->regs[R_R9] = regs.r9;
    env->regs[R_R10] = regs.r10;
    env->regs[R_R11] = regs.r11;
    env->regs[R_R12] = regs.r12;
    env->regs[R_R13] = regs.r13;
    env->regs[R_R14] = regs.r14;
    env->regs[R_R15] = regs.r15;
    env->rip = regs.rip;
    x86_cpu_set_eflags(env, regs.rflags);
    return true;
}

static bool kvm_put_regs(CPUState *cpu, GError **errp)
{
    const CPUX86State *env = &cpu->env;
    struct kvm_regs regs = {
        .rax = env->regs[R_EAX], .rbx = env->regs[R_EBX],
        .rcx = env->regs[R_ECX], .rdx = env->regs[R_EDX],
        .rsi = env->regs[R_ESI], .rdi = env->regs[R_EDI],
        .rsp = env->regs[R_ESP], .rbp = env->regs[R_EBP],
        .r8 = env->regs[R_R8], .r9 = env->regs[R_R9],
        .r10 = env->regs[R_R10], .r11 = env->regs[R_R11],
        .r12 = env->regs[R_R12], .r13 = env->regs[R_R13],
        .r14 = env->regs[R_R14], .r15 = env->regs[R_R15],
        .rip = env->rip,
        .rflags = x86_cpu_get_eflags(env) | RFLAGS_FIXED_1,
    };
    return VCPU_IOCTL(cpu, KVM_SET_REGS, &regs, errp);
}

static bool kvm_get_sregs(CPUState *cpu, GError **errp)
{
    CPUX86State *env = &cpu->env;
    struct kvm_sregs sregs;

    if (!VCPU_IOCTL(cpu, KVM_GET_SREGS, &sregs, errp)) {
        return false;
    }
    kvm_segment_to_cache(&env->segs[R_CS], &sregs.cs);
    kvm_segment_to_cache(&env->segs[R_DS], &sregs.ds);
    kvm_segment_to_cache(&env->segs[R_ES], &sregs.es);
    kvm_segment_to_cache(&env->segs[R_FS], &sregs.fs);
    kvm_segment_to_cache(&env->segs[R_GS], &sregs.gs);
    kvm_segment_to_cache(&env->segs[R_SS], &sregs.ss);
    kvm_segment_to_cache(&env->tr, &sregs.tr);
    kvm_segment_to_cache(&env->ldt, &sregs.ldt);
    env->gdt.base = sregs.gdt.base;
    env->gdt.limit = sregs.gdt.limit;
    env->idt.base = sregs.idt.base;
    env->idt.limit = sregs.idt.limit;
    env->cr[0] = sregs.cr0;
    env->cr[2] = sregs.cr2;
    env->cr[3] = sregs.cr3;
    env->cr[4] = sregs.cr4;
    env->cr8 = sregs.cr8;
    env->efer = sregs.efer;
    env->apic_base = sregs.apic_base;
    /* sregs.interrupt_bitmap duplicates vcpu_events.interrupt (kept in the
     * events cache), so it is not looked at. */
    return true;
}

/* KVM (VMX in particular) refuses a task register that is not a present
 * busy TSS, and an LDT that is present but not an LDT. After a bare reset
 * Kestrel may hold zeroed attributes: give them the values a CPU has after
 * power-on (TR: present, busy 32-bit TSS; LDT: not present). */
static void fixup_system_segments(struct kvm_sregs *sregs)
{
    if (!sregs->tr.present) {
        sregs->tr.present = 1;
        sregs->tr.unusable = 0;
        sregs->tr.type = 11;
        sregs->tr.s = 0;
    }
    if (sregs->ldt.present && sregs->ldt.type != 2) {
        sregs->ldt.type = 2;
    }
}

static bool kvm_put_sregs(CPUState *cpu, GError **errp)
{
    const CPUX86State *env = &cpu->env;
    struct kvm_sregs sregs;

    memset(&sregs, 0, sizeof(sregs));
    kvm_segment_from_cache(&sregs.cs, &env->segs[R_CS]);
    kvm_segment_from_cache(&sregs.ds, &env->segs[R_DS]);
    kvm_segment_from_cache(&sregs.es, &env->segs[R_ES]);
    kvm_segment_from_cache(&sregs.fs, &env->segs[R_FS]);
    kvm_segment_from_cache(&sregs.gs, &env->segs[R_GS]);
    kvm_segment_from_cache(&sregs.ss, &env->segs[R_SS]);
    kvm_segment_from_cache(&sregs.tr, &env->tr);
    kvm_segment_from_cache(&sregs.ldt, &env->ldt);
    fixup_system_segments(&sregs);
    sregs.gdt.base = env->gdt.base;
    sregs.gdt.limit = env->gdt.limit;
    sregs.idt.base = env->idt.base;
    sregs.idt.limit = env->idt.limit;
    sregs.cr0 = env->cr[0];
    sregs.cr2 = env->cr[2];
    sregs.cr3 = env->cr[3];
    sregs.cr4 = env->cr[4];
    sregs.cr8 = env->cr8;
    sregs.efer = env->efer;
    sregs.apic_base = env->apic_base;
    /* interrupt_bitmap stays empty: an interrupt in flight is restored
     * through KVM_SET_VCPU_EVENTS, which follows. */
    int ret = kvm_vcpu_ioctl(cpu, KVM_SET_SREGS, &sregs);
    if (ret < 0) {
        error_setg(errp, "KVM_SET_SREGS failed (cr0=0x%" PRIx64 " cr4=0x%" PRIx64
                   " efer=0x%" PRIx64 "): %s", env->cr[0], env->cr[4], env->efer,
                   g_strerror(-ret));
        return false;
    }
    return true;
}

static bool kvm_get_fpu_state(CPUState *cpu, GError **errp)
{
    CPUX86State *env = &cpu->env;

    if (kvm_state->cap_xsave) {
        /* env.xsave has exactly the layout of struct kvm_xsave (4 KiB).
         * Larger images only exist for AMX, which Kestrel never enables. */
        G_STATIC_ASSERT(sizeof(struct kvm_xsave) >= X86_XSAVE_AREA_SIZE);
        struct kvm_xsave *xs = g_malloc0(sizeof(*xs));
        bool ok = VCPU_IOCTL(cpu, KVM_GET_XSAVE, xs, errp);
        if (ok) {
            memcpy(env->xsave, xs, X86_XSAVE_AREA_SIZE);
        }
        g_free(xs);
        if (!ok) {
            return false;
        }
    } else {
        struct kvm_fpu fpu;
        if (!VCPU_IOCTL(cpu, KVM_GET_FPU, &fpu, errp)) {
            return false;
        }
        kvm_fpu_to_xsave(env->xsave, &fpu);
    }

    if (kvm_state->cap_xcrs) {
        struct kvm_xcrs xcrs;
        if (!VCPU_IOCTL(cpu, KVM_GET_XCRS, &xcrs, errp)) {
            return false;
        }
        for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
            if (xcrs.xcrs[i].xcr == 0) {
                env->xcr0 = xcrs.xcrs[i].value;
            }
        }
    }
    return true;
}

static bool kvm_put_fpu_state(CPUState *cpu, GError **errp)
{
    CPUX86State *env = &cpu->env;

    if (kvm_state->cap_xsave) {
        struct kvm_xsave *xs = g_malloc0(sizeof(*xs));
        memcpy(xs, env->xsave, X86_XSAVE_AREA_SIZE);
        bool ok = VCPU_IOCTL(cpu, KVM_SET_XSAVE, xs, errp);
        g_free(xs);
        if (!ok) {
            return false;
        }
    } else {
        struct kvm_fpu fpu;
        kvm_fpu_from_xsave(&fpu, env->xsave);
        if (!VCPU_IOCTL(cpu, KVM_SET_FPU, &fpu, errp)) {
            return false;
        }
    }

    if (kvm_state->cap_xcrs) {
        struct kvm_xcrs xcrs;
        memset(&xcrs, 0, sizeof(xcrs));
        xcrs.nr_xcrs = 1;
        xcrs.xcrs[0].xcr = 0;
        /* x87 state is always enabled; a zeroed state means "reset". */
        xcrs.xcrs[0].value = env->xcr0 | 1;
        int ret = kvm_vcpu_ioctl(cpu, KVM_SET_XCRS, &xcrs);
        if (ret < 0) {
            error_setg(errp, "KVM_SET_XCRS (xcr0=0x%" PRIx64 ") failed: %s",
                       env->xcr0 | 1, g_strerror(-ret));
            return false;
        }
    }
    return true;
}

static bool kvm_get_debugregs(CPUState *cpu, GError **errp)
{
    struct kvm_debugregs dbg;

    if (!kvm_state->cap_debugregs) {
        return true;
    }
    if (!VCPU_IOCTL(cpu, KVM_GET_DEBUGREGS, &dbg, errp)) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        cpu->env.dr[i] = dbg.db[i];
    }
    cpu->env.dr[6] = dbg.dr6;
    cpu->env.dr[7] = dbg.dr7;
    return true;
}

static bool kvm_put_debugregs(CPUState *cpu, GError **errp)
{
    struct kvm_debugregs dbg;

    if (!kvm_state->cap_debugregs) {
        return true;
    }
    memset(&dbg, 0, sizeof(dbg));
    for (int i = 0; i < 4; i++) {
        dbg.db[i] = cpu->env.dr[i];
    }
    /* DR6/DR7 are 32 bits wide; the upper half must be zero. */
    dbg.dr6 = (uint32_t)cpu->env.dr[6];
    dbg.dr7 = (uint32_t)cpu->env.dr[7];
    return VCPU_IOCTL(cpu, KVM_SET_DEBUGREGS, &dbg, errp);
}

/* ---- pending events ---- */

static bool kvm_get_events(CPUState *cpu, GError **errp)
{
    AccelCPUState *acs = cpu->accel;
    CPUX86State *env = &cpu->env;
    struct kvm_vcpu_events *ev = &acs->events;

    if (!kvm_state->cap_vcpu_events) {
        return true;
    }
    acs->events_valid = VCPU_IOCTL(cpu, KVM_GET_VCPU_EVENTS, ev, errp);
    if (!acs->events_valid) {
        return false;
    }
    /* Without KVM_CAP_EXCEPTION_PAYLOAD (not enabled) KVM reports every
     * queued exception as injected; "pending" is folded in for safety. */
    if (ev->exception.injected || ev->exception.pending) {
        env->exception_nr = ev->exception.nr;
        env->has_error_code = ev->exception.has_error_code;
        env->error_code = ev->exception.error_code;
    } else {
        env->exception_nr = -1;
        env->has_error_code = false;
        env->error_code = 0;
    }
    env->interrupt_shadow = ev->interrupt.shadow;
    env->nmi_pending = ev->nmi.pending;
    return true;
}

static bool kvm_put_events(CPUState *cpu, AccelSyncLevel level, GError **errp)
{
    AccelCPUState *acs = cpu->accel;
    CPUX86State *env = &cpu->env;
    struct kvm_vcpu_events ev;

    if (!kvm_state->cap_vcpu_events) {
        return true;
    }
    /* At runtime the fields Kestrel does not model come back from the last
     * get; after a reset or a full load they start empty. */
    if (level == ACCEL_SYNC_RUNTIME && acs->events_valid) {
        ev = acs->events;
    } else {
        memset(&ev, 0, sizeof(ev));
    }
    memset(&ev.exception, 0, sizeof(ev.exception));
    if (env->exception_nr >= 0 && env->exception_nr < 32) {
        ev.exception.injected = 1;
        ev.exception.nr = env->exception_nr;
        ev.exception.has_error_code = env->has_error_code;
        ev.exception.error_code = env->error_code;
    } else if (env->exception_nr >= 32) {
        log_mask(LOG_KVM, "kvm: dropping invalid pending exception %d\n",
                 env->exception_nr);
    }
    ev.interrupt.shadow = env->interrupt_shadow
                        & (KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI);
    ev.nmi.pending = env->nmi_pending;
    ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
    ev.exception_has_payload = 0;
    ev.exception_payload = 0;

    if (!VCPU_IOCTL(cpu, KVM_SET_VCPU_EVENTS, &ev, errp)) {
        return false;
    }
    acs->events = ev;
    acs->events_valid = true;
    return true;
}

/* ---- in-kernel LAPIC and multiprocessor state ---- */

static bool kvm_get_irqchip_state(CPUState *cpu, GError **errp)
{
    CPUX86State *env = &cpu->env;
    struct kvm_lapic_state lapic;
    struct kvm_mp_state mp;

    if (!kvm_state->irqchip_in_kernel) {
        return true;
    }
    if (!VCPU_IOCTL(cpu, KVM_GET_LAPIC, &lapic, errp)
        || !VCPU_IOCTL(cpu, KVM_GET_MP_STATE, &mp, errp)) {
        return false;
    }
    G_STATIC_ASSERT(sizeof(env->lapic_regs) == sizeof(lapic.regs));
    memcpy(env->lapic_regs, lapic.regs, sizeof(env->lapic_regs));
    env->lapic_valid = true;
    env->mp_state = mp.mp_state;
    /* HLT is the kernel's business here; cpus.c must not park the thread. */
    env->halted = false;
    return true;
}

/* After a machine reset: the LAPIC as a BIOS leaves it, the boot processor
 * runnable and the others waiting for INIT/SIPI (whatever the machine's
 * "halted" said: with the LAPIC in the kernel, only it can wake them). */
static void kvm_derive_reset_irqchip_state(CPUState *cpu)
{
    CPUX86State *env = &cpu->env;
    bool bsp = env->apic_base & (1u << 8);
    struct kvm_lapic_state lapic;

    kvm_x86_lapic_reset_state(&lapic, env->apic_id, bsp);
    memcpy(env->lapic_regs, lapic.regs, sizeof(env->lapic_regs));
    env->lapic_valid = true;
    env->mp_state = bsp ? X86_MP_STATE_RUNNABLE : X86_MP_STATE_WAIT_FOR_SIPI;
    env->halted = false;
}

/* LAPIC first (after the APIC base in the special registers); the MP state
 * goes last, in kvm_put_mp_state. Never at RUNTIME level: other vCPUs and
 * devices change the in-kernel LAPIC while this vCPU is out of KVM_RUN, so
 * writing back an older copy would lose their interrupts. */
static bool kvm_put_lapic(CPUState *cpu, AccelSyncLevel level, GError **errp)
{
    CPUX86State *env = &cpu->env;
    struct kvm_lapic_state lapic;

    if (!kvm_state->irqchip_in_kernel || level == ACCEL_SYNC_RUNTIME) {
        return true;
    }
    if (level == ACCEL_SYNC_RESET || !env->lapic_valid) {
        kvm_derive_reset_irqchip_state(cpu);
    }
    memcpy(lapic.regs, env->lapic_regs, sizeof(lapic.regs));
    return VCPU_IOCTL(cpu, KVM_SET_LAPIC, &lapic, errp);
}

static bool kvm_put_mp_state(CPUState *cpu, AccelSyncLevel level, GError **errp)
{
    struct kvm_mp_state mp = { .mp_state = cpu->env.mp_state };

    if (!kvm_state->irqchip_in_kernel || level == ACCEL_SYNC_RUNTIME) {
        return true;
    }
    if (mp.mp_state > X86_MP_STATE_SIPI_RECEIVED) {
        log_mask(LOG_KVM, "kvm: vCPU %d: invalid MP state %u, made runnable\n",
                 cpu->index, mp.mp_state);
        mp.mp_state = X86_MP_STATE_RUNNABLE;
    }
    cpu->env.halted = false;
    return VCPU_IOCTL(cpu, KVM_SET_MP_STATE, &mp, errp);
}

/* ---- entry points ---- */

bool kvm_arch_init_vcpu(CPUState *cpu, GError **errp)
{
    if (!kvm_setup_cpuid(cpu, errp)) {
        return false;
    }
    /* After CPUID: KVM's MSR checks depend on the guest's CPUID. */
    kvm_probe_msrs(cpu);
    return true;
}

bool kvm_arch_get_state(CPUState *cpu, GError **errp)
{
    return kvm_get_regs(cpu, errp)
        && kvm_get_sregs(cpu, errp)
        && kvm_get_fpu_state(cpu, errp)
        && kvm_get_msrs(cpu, errp)
        && kvm_get_events(cpu, errp)
        && kvm_get_debugregs(cpu, errp)
        && kvm_get_irqchip_state(cpu, errp);
}

bool kvm_arch_put_state(CPUState *cpu, AccelSyncLevel level, GError **errp)
{
    if (level != ACCEL_SYNC_RUNTIME) {
        cpu->accel->events_valid = false;
    }
    /* Special registers first: the mode (CR0/CR4/EFER) decides how KVM
     * interprets RIP/RFLAGS and the FPU state. */
    return kvm_put_sregs(cpu, errp)
        && kvm_put_lapic(cpu, level, errp)
        && kvm_put_regs(cpu, errp)
        && kvm_put_fpu_state(cpu, errp)
        && kvm_put_msrs(cpu, level, errp)
        && kvm_put_events(cpu, level, errp)
        && kvm_put_debugregs(cpu, errp)
        && kvm_put_mp_state(cpu, level, errp);
}
