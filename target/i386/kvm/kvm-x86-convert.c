/*
 * Pure conversions between Kestrel's x86 state and KVM's structures (no
 * ioctls): segments, the x87/SSE area, and the CPUID table a vCPU gets.
 */
#include "target/i386/kvm/kvm-x86.h"

/* ---- segments ---- */

void kvm_segment_from_cache(struct kvm_segment *out, const SegmentCache *in)
{
    uint32_t flags = in->flags;

    memset(out, 0, sizeof(*out));
    out->base = in->base;
    out->limit = in->limit;
    out->selector = in->selector;
    out->type = (flags & DESC_TYPE_MASK) >> DESC_TYPE_SHIFT;
    out->s = !!(flags & DESC_S_MASK);
    out->dpl = (flags & DESC_DPL_MASK) >> DESC_DPL_SHIFT;
    out->present = !!(flags & DESC_P_MASK);
    out->avl = !!(flags & DESC_AVL_MASK);
    out->l = !!(flags & DESC_L_MASK);
    out->db = !!(flags & DESC_B_MASK);
    out->g = !!(flags & DESC_G_MASK);
    /* A segment register that was loaded with a null selector (or never
     * loaded) is "unusable" in VMX terms; Kestrel keeps that as P=0. */
    out->unusable = !out->present;
}

void kvm_segment_to_cache(SegmentCache *out, const struct kvm_segment *in)
{
    /* VMX may report P=1 on an unusable segment; its other attributes are
     * undefined then, so an unusable segment becomes not-present. */
    bool present = in->present && !in->unusable;

    out->base = in->base;
    out->limit = in->limit;
    out->selector = in->selector;
    out->flags = ((uint32_t)(in->type & 15) << DESC_TYPE_SHIFT)
               | (in->s ? DESC_S_MASK : 0)
               | ((uint32_t)(in->dpl & 3) << DESC_DPL_SHIFT)
               | (present ? DESC_P_MASK : 0)
               | (in->avl ? DESC_AVL_MASK : 0)
               | (in->l ? DESC_L_MASK : 0)
               | (in->db ? DESC_B_MASK : 0)
               | (in->g ? DESC_G_MASK : 0);
}

/* ---- x87/SSE ---- */

/* Offsets in the 512-byte FXSAVE (64-bit) legacy area and the XSAVE header. */
enum {
    FXSAVE_FCW = 0,
    FXSAVE_FSW = 2,
    FXSAVE_FTW = 4,
    FXSAVE_FOP = 6,
    FXSAVE_FIP = 8,
    FXSAVE_FDP = 16,
    FXSAVE_MXCSR = 24,
    FXSAVE_ST = 32,
    FXSAVE_XMM = 160,
    XSAVE_HEADER_XSTATE_BV = 512,
};
#define XSTATE_X87_SSE 0x3ull

static uint16_t load16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return GUINT16_FROM_LE(v); }
static uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return GUINT32_FROM_LE(v); }
static uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return GUINT64_FROM_LE(v); }
static void store16(uint8_t *p, uint16_t v) { v = GUINT16_TO_LE(v); memcpy(p, &v, 2); }
static void store32(uint8_t *p, uint32_t v) { v = GUINT32_TO_LE(v); memcpy(p, &v, 4); }
static void store64(uint8_t *p, uint64_t v) { v = GUINT64_TO_LE(v); memcpy(p, &v, 8); }

void kvm_fpu_from_xsave(struct kvm_fpu *out, const uint8_t *xsave)
{
    memset(out, 0, sizeof(*out));
    out->fcw = load16(xsave + FXSAVE_FCW);
    out->fsw = load16(xsave + FXSAVE_FSW);
    out->ftwx = xsave[FXSAVE_FTW];
    out->last_opcode = load16(xsave + FXSAVE_FOP);
    out->last_ip = load64(xsave + FXSAVE_FIP);
    out->last_dp = load64(xsave + FXSAVE_FDP);
    out->mxcsr = load32(xsave + FXSAVE_MXCSR);
    memcpy(out->fpr, xsave + FXSAVE_ST, sizeof(out->fpr));
    memcpy(out->xmm, xsave + FXSAVE_XMM, sizeof(out->xmm));
}

void kvm_fpu_to_xsave(uint8_t *xsave, const struct kvm_fpu *in)
{
    store16(xsave + FXSAVE_FCW, in->fcw);
    store16(xsave + FXSAVE_FSW, in->fsw);
    xsave[FXSAVE_FTW] = in->ftwx;
    xsave[FXSAVE_FTW + 1] = 0;
    store16(xsave + FXSAVE_FOP, in->last_opcode);
    store64(xsave + FXSAVE_FIP, in->last_ip);
    store64(xsave + FXSAVE_FDP, in->last_dp);
    store32(xsave + FXSAVE_MXCSR, in->mxcsr);
    memcpy(xsave + FXSAVE_ST, in->fpr, sizeof(in->fpr));
    memcpy(xsave + FXSAVE_XMM, in->xmm, sizeof(in->xmm));
    store64(xsave + XSAVE_HEADER_XSTATE_BV,
            load64(xsave + XSAVE_HEADER_XSTATE_BV) | XSTATE_X87_SSE);
}

/* ---- CPUID ---- */

/* KVM's own limit on the table size (KVM_MAX_CPUID_ENTRIES). */
#define CPUID_TABLE_MAX 256

const struct kvm_cpuid_entry2 *kvm_cpuid_find(const struct kvm_cpuid2 *table,
                                              uint32_t function, uint32_t index)
{
    for (uint32_t i = 0; i < table->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &table->entries[i];
        if (e->function != function) {
            continue;
        }
        if (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index) {
            return e;
        }
    }
    return NULL;
}

static struct kvm_cpuid_entry2 *table_add(struct kvm_cpuid2 *table, uint32_t function,
                                          uint32_t index, uint32_t flags,
                                          const uint32_t regs[4])
{
    if (table->nent >= CPUID_TABLE_MAX) {
        return NULL;
    }
    struct kvm_cpuid_entry2 *e = &table->entries[table->nent++];
    memset(e, 0, sizeof(*e));
    e->function = function;
    e->index = index;
    e->flags = flags;
    e->eax = regs[0];
    e->ebx = regs[1];
    e->ecx = regs[2];
    e->edx = regs[3];
    return e;
}

static void model_get(const KVMCPUIDModel *model, uint32_t leaf, uint32_t subleaf,
                      uint32_t regs[4])
{
    memset(regs, 0, 4 * sizeof(uint32_t));
    model->get(model->opaque, leaf, subleaf, regs);
}

/* Leaves whose subleaves describe caches or topology: their count comes
 * from the model, not from KVM (which lists only subleaf 0). */
static bool is_enumerated_leaf(uint32_t leaf)
{
    return leaf == 4 || leaf == 0xb || leaf == 0x1f || leaf == 0x8000001d;
}

/* The topology leaves (x2APIC levels) describe the VM, never the host:
 * they come from the model in passthrough too. */
static bool is_topology_leaf(uint32_t leaf)
{
    return leaf == 0xb || leaf == 0x1f;
}

/* Passthrough keeps the host's cache descriptions (leaf 4) but not its
 * core counts: EAX[31:26] = addressable core IDs - 1, EAX[25:14] = logical
 * processors sharing the cache - 1 (one per core; the whole package for
 * level 3 and beyond). */
static void set_leaf4_topology(struct kvm_cpuid_entry2 *e, uint32_t nr_cores)
{
    uint32_t ids = (1u << x86_topology_core_bits(nr_cores)) - 1;
    uint32_t level = (e->eax >> 5) & 7;

    if ((e->eax & 0x1f) == 0) {
        return;
    }
    e->eax &= 0x00003fffu;
    e->eax |= (ids & 0x3f) << 26;
    if (level >= 3) {
        e->eax |= (ids & 0xfff) << 14;
    }
}

/* Is this subleaf the terminator of an enumerated leaf? */
static bool enumerated_leaf_ends(uint32_t leaf, const uint32_t regs[4])
{
    if (leaf == 0xb || leaf == 0x1f) {
        return ((regs[2] >> 8) & 0xff) == 0;      /* level type "invalid" */
    }
    return (regs[0] & 0x1f) == 0;                 /* cache type "null" */
}

/* Puts the vCPU's APIC ID wherever CPUID reports it. */
static void set_apic_id(struct kvm_cpuid_entry2 *e, uint32_t apic_id)
{
    switch (e->function) {
    case 1:
        e->ebx = (e->ebx & 0x00ffffffu) | ((apic_id & 0xffu) << 24);
        break;
    case 0xb:
    case 0x1f:
        e->edx = apic_id;
        break;
    case 0x8000001e:
        e->eax = apic_id;
        break;
    }
}

static uint64_t xsave_component_end(const struct kvm_cpuid2 *supported, uint64_t mask)
{
    /* Legacy area + header, then each enabled component's offset + size. */
    uint64_t end = 512 + 64;
    for (unsigned i = 2; i < 64; i++) {
        if (!(mask & (1ull << i))) {
            continue;
        }
        const struct kvm_cpuid_entry2 *c = kvm_cpuid_find(supported, 0xd, i);
        if (c && (uint64_t)c->ebx + c->eax > end) {
            end = (uint64_t)c->ebx + c->eax;
        }
    }
    return end;
}

static void build_xsave_leaf(struct kvm_cpuid2 *out, const struct kvm_cpuid2 *supported,
                             const KVMCPUIDModel *model)
{
    const struct kvm_cpuid_entry2 *s0 = kvm_cpuid_find(supported, 0xd, 0);
    const struct kvm_cpuid_entry2 *s1 = kvm_cpuid_find(supported, 0xd, 1);
    uint32_t m0[4], m1[4], r[4];
    uint64_t xcr0_mask, xss_mask;

    if (!s0) {
        return;
    }
    model_get(model, 0xd, 0, m0);
    model_get(model, 0xd, 1, m1);
    xcr0_mask = s0->eax | ((uint64_t)s0->edx << 32);
    xss_mask = s1 ? (s1->ecx | ((uint64_t)s1->edx << 32)) : 0;
    if (!model->passthrough) {
        xcr0_mask &= m0[0] | ((uint64_t)m0[3] << 32);
        xss_mask &= m1[2] | ((uint64_t)m1[3] << 32);
    }
    xcr0_mask &= ~XSTATE_AMX_MASK;
    xss_mask &= ~XSTATE_AMX_MASK;

    r[0] = (uint32_t)xcr0_mask;
    r[1] = s0->ebx;    /* KVM recomputes it from the guest's XCR0 */
    r[2] = (uint32_t)xsave_component_end(supported, xcr0_mask);
    r[3] = (uint32_t)(xcr0_mask >> 32);
    table_add(out, 0xd, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, r);

    if (s1) {
        r[0] = s1->eax & (model->passthrough ? ~0u : m1[0]);
        r[1] = s1->ebx;
        r[2] = (uint32_t)xss_mask;
        r[3] = (uint32_t)(xss_mask >> 32);
        table_add(out, 0xd, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, r);
    }
    for (unsigned i = 2; i < 64; i++) {
        if (!((xcr0_mask | xss_mask) & (1ull << i))) {
            continue;
        }
        const struct kvm_cpuid_entry2 *c = kvm_cpuid_find(supported, 0xd, i);
        if (c) {
            uint32_t cr[4] = { c->eax, c->ebx, c->ecx, c->edx };
            table_add(out, 0xd, i, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, cr);
        }
    }
}

static void build_enumerated_leaf(struct kvm_cpuid2 *out, uint32_t leaf,
                                  const KVMCPUIDModel *model)
{
    /* 64 subleaves is far more than any real cache/topology description;
     * the bound keeps a broken model from filling the table. */
    for (uint32_t sub = 0; sub < 64; sub++) {
        uint32_t r[4];
        model_get(model, leaf, sub, r);
        struct kvm_cpuid_entry2 *e = table_add(out, leaf, sub,
                                               KVM_CPUID_FLAG_SIGNIFCANT_INDEX, r);
        if (e) {
            set_apic_id(e, model->apic_id);
        }
        if (enumerated_leaf_ends(leaf, r)) {
            break;
        }
    }
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* One supported entry, filtered through the model. */
static void filter_entry(struct kvm_cpuid_entry2 *e, const uint32_t m[4],
                         uint32_t basic_max, uint32_t ext_max)
{
    switch (e->function) {
    case 0:
        e->eax = basic_max;
        e->ebx = m[1];            /* vendor */
        e->ecx = m[2];
        e->edx = m[3];
        break;
    case 0x80000000:
        e->eax = ext_max;
        e->ebx = m[1];
        e->ecx = m[2];
        e->edx = m[3];
        break;
    case 1:
        e->eax = m[0];            /* family/model/stepping */
        e->ebx = m[1];            /* CLFLUSH size, logical count; APIC ID set later */
        e->ecx = (e->ecx & m[2]) | (m[2] & CPUID_EXT_HYPERVISOR);
        /* KVM never lists HTT: it is topology, the model's word. */
        e->edx = (e->edx & m[3] & ~CPUID_HTT) | (m[3] & CPUID_HTT);
        break;
    case 0x80000001:
        e->eax = m[0];
        e->ebx = m[1];
        e->ecx &= m[2];
        e->edx &= m[3];
        break;
    case 2:
    case 0x80000002: case 0x80000003: case 0x80000004:
    case 0x80000005: case 0x80000006:
    case 0x8000001e:
        /* Identity and cache descriptions: the model's word. */
        e->eax = m[0];
        e->ebx = m[1];
        e->ecx = m[2];
        e->edx = m[3];
        break;
    case 7:
        if (e->index == 0) {
            e->eax = min_u32(e->eax, m[0]);   /* highest subleaf */
        } else {
            e->eax &= m[0];
        }
        e->ebx &= m[1];
        e->ecx &= m[2];
        e->edx &= m[3];
        break;
    case 0x80000008:
        /* Address sizes: never more physical/virtual bits than the host. */
        if (m[0] & 0xff) {
            e->eax = (e->eax & ~0xffu) | min_u32(e->eax & 0xff, m[0] & 0xff);
        }
        if ((m[0] >> 8) & 0xff) {
            e->eax = (e->eax & ~0xff00u)
                   | (min_u32((e->eax >> 8) & 0xff, (m[0] >> 8) & 0xff) << 8);
        }
        e->ebx &= m[1];
        e->ecx = m[2];            /* core count: the model's topology */
        e->edx = m[3];
        break;
    case 0x8000000a:
        /* SVM revision and ASID count are KVM's; the feature bits are ANDed. */
        e->edx &= m[3];
        break;
    default:
        /* Feature leaves (6, 0x14, 0x80000007, ...): what both offer. */
        e->eax &= m[0];
        e->ebx &= m[1];
        e->ecx &= m[2];
        e->edx &= m[3];
        break;
    }
}

struct kvm_cpuid2 *kvm_x86_build_cpuid(const struct kvm_cpuid2 *supported,
                                       const KVMCPUIDModel *model)
{
    struct kvm_cpuid2 *out = g_malloc0(sizeof(*out)
                                       + CPUID_TABLE_MAX * sizeof(struct kvm_cpuid_entry2));
    const struct kvm_cpuid_entry2 *s_basic = kvm_cpuid_find(supported, 0, 0);
    const struct kvm_cpuid_entry2 *s_ext = kvm_cpuid_find(supported, 0x80000000, 0);
    uint32_t m[4];
    uint32_t basic_max, ext_max;

    model_get(model, 0, 0, m);
    basic_max = s_basic ? s_basic->eax : 0;
    if (!model->passthrough) {
        basic_max = min_u32(basic_max, m[0]);
    }
    model_get(model, 0x80000000, 0, m);
    ext_max = s_ext ? s_ext->eax : 0x80000000;
    if (!model->passthrough) {
        ext_max = min_u32(ext_max, m[0] >= 0x80000000 ? m[0] : 0x80000000);
    }

    bool xsave_done = false;
    for (uint32_t i = 0; i < supported->nent; i++) {
        const struct kvm_cpuid_entry2 *s = &supported->entries[i];
        uint32_t fn = s->function;

        if (fn < 0x40000000 && fn > basic_max) {
            continue;
        }
        if (fn >= 0x80000000 && fn > ext_max) {
            continue;
        }
        if (fn >= 0x40000000 && fn < 0x80000000) {
            /* KVM's own leaves: the signature as is, paravirtual features
             * limited to what Kestrel supports. */
            uint32_t r[4] = { s->eax, s->ebx, s->ecx, s->edx };
            if (fn == 0x40000001) {
                r[0] &= KVM_PV_FEATURES_ALLOWED;
                r[3] = 0;                 /* no "hints" */
            }
            table_add(out, fn, s->index, s->flags, r);
            continue;
        }
        if (fn == 0xd) {
            if (!xsave_done) {
                build_xsave_leaf(out, supported, model);
                xsave_done = true;
            }
            continue;
        }
        if ((!model->passthrough || is_topology_leaf(fn)) && is_enumerated_leaf(fn)) {
            if (s->index == 0) {
                build_enumerated_leaf(out, fn, model);
            }
            continue;
        }

        uint32_t r[4] = { s->eax, s->ebx, s->ecx, s->edx };
        struct kvm_cpuid_entry2 *e = table_add(out, fn, s->index, s->flags, r);
        if (!e) {
            break;
        }
        if (model->passthrough) {
            if (fn == 1) {
                /* The host's feature bits, the VM's topology. */
                model_get(model, 1, 0, m);
                e->ecx |= CPUID_EXT_HYPERVISOR;
                e->ebx = (e->ebx & ~0x00ff0000u) | (m[1] & 0x00ff0000u);
                e->edx = (e->edx & ~CPUID_HTT) | (m[3] & CPUID_HTT);
            }
            if (fn == 4) {
                set_leaf4_topology(e, model->nr_cores ? model->nr_cores : 1);
            }
            if (fn == 0x80000008) {
                model_get(model, fn, 0, m);
                e->ecx = m[2];      /* AMD core count: the VM's */
            }
            if (fn >= 0x80000002 && fn <= 0x80000004
                && !(e->eax | e->ebx | e->ecx | e->edx)) {
                /* KVM does not report the brand string: take the model's. */
                model_get(model, fn, 0, m);
                e->eax = m[0]; e->ebx = m[1]; e->ecx = m[2]; e->edx = m[3];
            }
        } else {
            model_get(model, fn, s->index, m);
            filter_entry(e, m, basic_max, ext_max);
        }
        set_apic_id(e, model->apic_id);
    }
    return out;
}

/* ---- local APIC ---- */

uint32_t kvm_lapic_reg_get(const struct kvm_lapic_state *s, unsigned offset)
{
    g_assert(offset + 4 <= sizeof(s->regs) && offset % 16 == 0);
    return load32((const uint8_t *)s->regs + offset);
}

void kvm_lapic_reg_set(struct kvm_lapic_state *s, unsigned offset, uint32_t value)
{
    g_assert(offset + 4 <= sizeof(s->regs) && offset % 16 == 0);
    store32((uint8_t *)s->regs + offset, value);
}

void kvm_x86_lapic_reset_state(struct kvm_lapic_state *out, uint32_t apic_id, bool bsp)
{
    static const unsigned masked_lvts[] = {
        KVM_LAPIC_REG_LVT_CMCI, KVM_LAPIC_REG_LVT_TIMER, KVM_LAPIC_REG_LVT_THERMAL,
        KVM_LAPIC_REG_LVT_PERF, KVM_LAPIC_REG_LVT_LINT0, KVM_LAPIC_REG_LVT_LINT1,
        KVM_LAPIC_REG_LVT_ERROR,
    };

    memset(out, 0, sizeof(*out));
    /* The version register is KVM's to fill (it knows its LVT count). */
    kvm_lapic_reg_set(out, KVM_LAPIC_REG_ID, apic_id << 24);
    kvm_lapic_reg_set(out, KVM_LAPIC_REG_DFR, 0xffffffffu);
    kvm_lapic_reg_set(out, KVM_LAPIC_REG_SVR, 0xff);
    for (size_t i = 0; i < G_N_ELEMENTS(masked_lvts); i++) {
        kvm_lapic_reg_set(out, masked_lvts[i], KVM_LAPIC_LVT_MASKED);
    }
    if (bsp) {
        /* Virtual-wire mode: the PIC's INTR through LINT0, NMI on LINT1. */
        kvm_lapic_reg_set(out, KVM_LAPIC_REG_SVR, KVM_LAPIC_SVR_ENABLE | 0xff);
        kvm_lapic_reg_set(out, KVM_LAPIC_REG_LVT_LINT0, KVM_LAPIC_DM_EXTINT);
        kvm_lapic_reg_set(out, KVM_LAPIC_REG_LVT_LINT1, KVM_LAPIC_DM_NMI);
    }
}
