/*
 * KVM x86 conversions that need no /dev/kvm: segment descriptors, the
 * x87/SSE area, and the CPUID table filtering (target/i386/kvm).
 */
#include "target/i386/kvm/kvm-x86.h"

/* ---- segments ---- */

static const SegmentCache sample_segments[] = {
    /* 64-bit ring-0 code */
    { 0x10, 0, 0xffffffff, DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK
                           | DESC_A_MASK | DESC_L_MASK | DESC_G_MASK },
    /* flat 32-bit ring-3 data, with AVL */
    { 0x2b, 0, 0xffffffff, DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | (3u << DESC_DPL_SHIFT)
                           | DESC_B_MASK | DESC_G_MASK | DESC_AVL_MASK },
    /* real-mode style segment: base = selector * 16, 64 KiB */
    { 0xf000, 0xf0000, 0xffff, DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK },
    /* busy 64-bit TSS with a high base */
    { 0x40, 0xffff888000123000ull, 0x67, DESC_P_MASK | (11u << DESC_TYPE_SHIFT) },
    /* LDT */
    { 0x50, 0x7000, 0xfff, DESC_P_MASK | (2u << DESC_TYPE_SHIFT) },
    /* null selector: not present, attributes kept */
    { 0, 0, 0, DESC_S_MASK | DESC_W_MASK },
    { 0, 0, 0, 0 },
};

static void test_segment_round_trip(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sample_segments); i++) {
        const SegmentCache *in = &sample_segments[i];
        struct kvm_segment k;
        SegmentCache out;

        memset(&out, 0xa5, sizeof(out));
        kvm_segment_from_cache(&k, in);
        g_assert_cmpuint(k.present, ==, !!(in->flags & DESC_P_MASK));
        g_assert_cmpuint(k.unusable, ==, !(in->flags & DESC_P_MASK));
        g_assert_cmpuint(k.type, ==, (in->flags >> DESC_TYPE_SHIFT) & 15);
        g_assert_cmpuint(k.dpl, ==, (in->flags >> DESC_DPL_SHIFT) & 3);
        g_assert_cmpuint(k.l, ==, !!(in->flags & DESC_L_MASK));
        g_assert_cmpuint(k.db, ==, !!(in->flags & DESC_B_MASK));
        g_assert_cmpuint(k.g, ==, !!(in->flags & DESC_G_MASK));
        g_assert_cmpuint(k.avl, ==, !!(in->flags & DESC_AVL_MASK));
        g_assert_cmpuint(k.s, ==, !!(in->flags & DESC_S_MASK));
        g_assert_cmpuint(k.limit, ==, in->limit);
        g_assert_cmphex(k.base, ==, in->base);

        kvm_segment_to_cache(&out, &k);
        g_assert_cmpuint(out.selector, ==, in->selector);
        g_assert_cmphex(out.base, ==, in->base);
        g_assert_cmphex(out.limit, ==, in->limit);
        g_assert_cmphex(out.flags, ==, in->flags);
    }
}

static void test_segment_from_kvm(void)
{
    /* What KVM reports for a 64-bit kernel data segment loaded with a null
     * selector on VMX: unusable, P may read as 1. */
    struct kvm_segment k = {
        .base = 0, .limit = 0xffffffff, .selector = 0, .type = 3,
        .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1, .avl = 0,
        .unusable = 1,
    };
    SegmentCache out;

    kvm_segment_to_cache(&out, &k);
    g_assert_false(out.flags & DESC_P_MASK);
    g_assert_cmphex(out.flags, ==, (3u << DESC_TYPE_SHIFT) | DESC_S_MASK | DESC_B_MASK
                                   | DESC_G_MASK);

    /* And every attribute bit lands where the descriptor keeps it. */
    k = (struct kvm_segment) { .type = 0xb, .present = 1, .dpl = 2, .db = 1, .s = 1,
                               .l = 1, .g = 1, .avl = 1 };
    kvm_segment_to_cache(&out, &k);
    g_assert_cmphex(out.flags, ==, 0x00f0db00u);
}

/* ---- x87/SSE ---- */

static void test_fpu_round_trip(void)
{
    uint8_t xsave[X86_XSAVE_AREA_SIZE] __attribute__((aligned(64)));
    uint8_t back[X86_XSAVE_AREA_SIZE] __attribute__((aligned(64)));
    struct kvm_fpu fpu;
    GRand *rand = g_rand_new_with_seed(1234);

    for (size_t i = 0; i < sizeof(xsave); i++) {
        xsave[i] = g_rand_int(rand);
    }
    g_rand_free(rand);
    xsave[5] = 0;                         /* reserved byte after FTW */
    memset(xsave + 512, 0, 8);            /* XSTATE_BV */

    kvm_fpu_from_xsave(&fpu, xsave);
    g_assert_cmphex(fpu.fcw, ==, xsave[0] | (xsave[1] << 8));
    g_assert_cmphex(fpu.fsw, ==, xsave[2] | (xsave[3] << 8));
    g_assert_cmphex(fpu.ftwx, ==, xsave[4]);
    g_assert_cmpmem(fpu.fpr, sizeof(fpu.fpr), xsave + 32, 128);
    g_assert_cmpmem(fpu.xmm, sizeof(fpu.xmm), xsave + 160, 256);
    uint32_t mxcsr;
    memcpy(&mxcsr, xsave + 24, 4);
    g_assert_cmphex(fpu.mxcsr, ==, mxcsr);

    memcpy(back, xsave, sizeof(back));
    memset(back, 0, 28);                  /* control words through MXCSR */
    memset(back + 32, 0, 416 - 32);       /* registers */
    kvm_fpu_to_xsave(back, &fpu);
    g_assert_cmpmem(back, 512, xsave, 512);
    /* x87 and SSE are now marked present in the XSAVE header. */
    g_assert_cmphex(back[512] & 3, ==, 3);
    g_assert_cmpmem(back + 513, sizeof(back) - 513, xsave + 513, sizeof(xsave) - 513);
}

/* ---- CPUID ---- */

#define VENDOR_EBX 0x756e6547      /* "GenuineIntel" as the model's vendor */
#define VENDOR_EDX 0x49656e69
#define VENDOR_ECX 0x6c65746e

typedef struct FakeModel {
    uint32_t max_basic;
    uint32_t max_ext;
} FakeModel;

static void fake_model(void *opaque, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    const FakeModel *m = opaque;

    switch (leaf) {
    case 0:
        r[0] = m->max_basic; r[1] = VENDOR_EBX; r[2] = VENDOR_ECX; r[3] = VENDOR_EDX;
        break;
    case 1:
        r[0] = 0x000806c1;
        r[1] = 0x00010800;             /* 1 logical CPU, CLFLUSH 64 bytes */
        r[2] = 0x80000201 | (1u << 26); /* hypervisor, SSSE3, SSE3, XSAVE */
        r[3] = 0x0000000f;
        break;
    case 4:
        /* L1d, L1i, L2, then the null terminator (L3 never reached) */
        if (sub < 3) {
            r[0] = (sub == 1 ? 2 : 1) | ((sub < 2 ? 1 : 2) << 5);
            r[1] = 63;
        }
        break;
    case 7:
        if (sub == 0) {
            r[0] = 0;                   /* no subleaf 1 */
            r[1] = 0xffff0000;
            r[2] = 0x1;
        }
        break;
    case 0xb:
        if (sub == 0) {
            r[0] = 0; r[1] = 1; r[2] = 0x100; /* SMT level, one thread */
        } else if (sub == 1) {
            r[0] = 0; r[1] = 1; r[2] = 0x201; /* core level */
        }
        break;
    case 0xd:
        if (sub == 0) {
            r[0] = 0x7 | (1u << 17);    /* x87, SSE, AVX, and AMX tile config */
        } else if (sub == 1) {
            r[0] = 0x1;                 /* XSAVEOPT */
        }
        break;
    case 0x80000000:
        r[0] = m->max_ext;
        break;
    case 0x80000001:
        r[0] = 0x806c1;
        r[2] = 0x121;
        r[3] = 0x2c100800;
        break;
    case 0x80000002:
        memcpy(r, "Kestrel Test CPU", 16);
        break;
    case 0x80000008:
        r[0] = 0x3027;                  /* 39 physical, 48 virtual bits */
        break;
    }
}

static struct kvm_cpuid2 *fake_supported(void)
{
    static const struct kvm_cpuid_entry2 entries[] = {
        { .function = 0, .eax = 0x14, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
        { .function = 1, .eax = 0x60fb1, .ebx = 0x800, .ecx = 0x76f83203, .edx = 0x0f8bfbfd },
        { .function = 4, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
        { .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 1,
          .ebx = 0x019803ab, .ecx = 0x0001020c, .edx = 0x20000000 },
        { .function = 7, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x10 },
        { .function = 0xb, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
        { .function = 0xd, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 0x60207, .ebx = 0xa88, .ecx = 0x2b00 },
        { .function = 0xd, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xf },
        { .function = 0xd, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 0x100, .ebx = 0x240 },
        { .function = 0xd, .index = 9, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 0x8, .ebx = 0xa80 },
        { .function = 0xd, .index = 17, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 0x40, .ebx = 0xac0 },
        { .function = 0xd, .index = 18, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
          .eax = 0x2000, .ebx = 0xb00 },
        { .function = 0x12, .eax = 0xffffffff },  /* above the model's max leaf */
        { .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b },
        { .function = 0x40000001, .eax = 0x01007efb, .edx = 0x1 },
        { .function = 0x80000000, .eax = 0x8000001f },
        { .function = 0x80000001, .eax = 0x60fb1, .ecx = 0x75, .edx = 0xedd3fbfd },
        { .function = 0x80000002 },
        { .function = 0x80000008, .eax = 0x3028, .ebx = 0x1000 },
        { .function = 0x8000001f, .eax = 0xffffffff },
    };
    struct kvm_cpuid2 *t = g_malloc0(sizeof(*t) + sizeof(entries));
    t->nent = G_N_ELEMENTS(entries);
    memcpy(t->entries, entries, sizeof(entries));
    return t;
}

static const struct kvm_cpuid_entry2 *must_find(const struct kvm_cpuid2 *t, uint32_t fn,
                                                uint32_t index)
{
    const struct kvm_cpuid_entry2 *e = kvm_cpuid_find(t, fn, index);
    if (!e) {
        g_test_message("missing CPUID leaf 0x%x.%u", fn, index);
        g_test_fail();
        static const struct kvm_cpuid_entry2 zero;
        return &zero;
    }
    return e;
}

static void test_cpuid_filtered(void)
{
    FakeModel fm = { .max_basic = 0xd, .max_ext = 0x80000008 };
    KVMCPUIDModel model = { .get = fake_model, .opaque = &fm, .apic_id = 5 };
    struct kvm_cpuid2 *sup = fake_supported();
    struct kvm_cpuid2 *t = kvm_x86_build_cpuid(sup, &model);
    const struct kvm_cpuid_entry2 *e;

    /* Levels: the lower of model and KVM; vendor: the model's. */
    e = must_find(t, 0, 0);
    g_assert_cmphex(e->eax, ==, 0xd);
    g_assert_cmphex(e->ebx, ==, VENDOR_EBX);
    g_assert_cmphex(e->ecx, ==, VENDOR_ECX);
    g_assert_cmphex(e->edx, ==, VENDOR_EDX);
    e = must_find(t, 0x80000000, 0);
    g_assert_cmphex(e->eax, ==, 0x80000008);
    g_assert_null(kvm_cpuid_find(t, 0x12, 0));
    g_assert_null(kvm_cpuid_find(t, 0x8000001f, 0));

    /* Leaf 1: signature from the model, features ANDed, hypervisor bit
     * kept from the model although KVM does not list it, APIC ID = 5. */
    e = must_find(t, 1, 0);
    g_assert_cmphex(e->eax, ==, 0x000806c1);
    g_assert_cmphex(e->ebx, ==, 0x05010800);
    g_assert_cmphex(e->ecx, ==, (0x80000201u | (1u << 26)) & (0x76f83203u | 0x80000000u));
    g_assert_true(e->ecx & CPUID_EXT_HYPERVISOR);
    g_assert_cmphex(e->edx, ==, 0x0000000d);

    /* Leaf 4 enumerated from the model: three caches and the terminator. */
    for (uint32_t i = 0; i < 3; i++) {
        e = must_find(t, 4, i);
        g_assert_cmpuint(e->eax & 0x1f, !=, 0);
        g_assert_true(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
    }
    e = must_find(t, 4, 3);
    g_assert_cmphex(e->eax, ==, 0);
    g_assert_null(kvm_cpuid_find(t, 4, 4));

    /* Leaf 7: only subleaf 0 (the model has no subleaf 1), features ANDed. */
    e = must_find(t, 7, 0);
    g_assert_cmphex(e->eax, ==, 0);
    g_assert_cmphex(e->ebx, ==, 0x01980000);
    g_assert_cmphex(e->ecx, ==, 0);
    g_assert_cmphex(e->edx, ==, 0);
    e = must_find(t, 7, 1);
    g_assert_cmphex(e->eax, ==, 0);

    /* Topology: x2APIC ID in every subleaf, terminator included. */
    g_assert_cmphex(must_find(t, 0xb, 0)->edx, ==, 5);
    g_assert_cmphex(must_find(t, 0xb, 1)->edx, ==, 5);
    g_assert_cmphex(must_find(t, 0xb, 2)->ecx & 0xff00, ==, 0);

    /* XSAVE: x87|SSE|AVX; AMX is dropped although both offer it; the
     * maximum size covers AVX only; PKRU (9) is not in the model. */
    e = must_find(t, 0xd, 0);
    g_assert_cmphex(e->eax, ==, 0x7);
    g_assert_cmphex(e->edx, ==, 0);
    g_assert_cmphex(e->ecx, ==, 0x340);
    g_assert_cmphex(must_find(t, 0xd, 1)->eax, ==, 0x1);
    g_assert_cmphex(must_find(t, 0xd, 2)->eax, ==, 0x100);
    g_assert_null(kvm_cpuid_find(t, 0xd, 9));
    g_assert_null(kvm_cpuid_find(t, 0xd, 17));
    g_assert_null(kvm_cpuid_find(t, 0xd, 18));

    /* KVM's own leaves: signature kept, PV features limited. */
    g_assert_cmphex(must_find(t, 0x40000000, 0)->ebx, ==, 0x4b4d564b);
    e = must_find(t, 0x40000001, 0);
    g_assert_cmphex(e->eax, ==, 0x01007efb & KVM_PV_FEATURES_ALLOWED);
    g_assert_cmphex(e->edx, ==, 0);

    /* Extended features ANDed, brand string from the model, 39 physical
     * bits (the model's, below KVM's 40). */
    e = must_find(t, 0x80000001, 0);
    g_assert_cmphex(e->ecx, ==, 0x121 & 0x75);
    g_assert_cmphex(e->edx, ==, 0x2c100800 & 0xedd3fbfd);
    g_assert_cmpmem(&must_find(t, 0x80000002, 0)->eax, 16, "Kestrel Test CPU", 16);
    g_assert_cmphex(must_find(t, 0x80000008, 0)->eax & 0xffff, ==, 0x3027);

    g_free(t);
    g_free(sup);
}

static void test_cpuid_passthrough(void)
{
    FakeModel fm = { .max_basic = 0xd, .max_ext = 0x80000008 };
    KVMCPUIDModel model = { .get = fake_model, .opaque = &fm, .apic_id = 2,
                            .passthrough = true };
    struct kvm_cpuid2 *sup = fake_supported();
    struct kvm_cpuid2 *t = kvm_x86_build_cpuid(sup, &model);
    const struct kvm_cpuid_entry2 *e;

    /* Everything KVM offers, vendor included, plus the hypervisor bit. */
    e = must_find(t, 0, 0);
    g_assert_cmphex(e->eax, ==, 0x14);
    g_assert_cmphex(e->ebx, ==, 0x68747541);
    g_assert_nonnull(kvm_cpuid_find(t, 0x12, 0));
    g_assert_nonnull(kvm_cpuid_find(t, 0x8000001f, 0));
    e = must_find(t, 1, 0);
    g_assert_cmphex(e->ecx, ==, 0x76f83203 | CPUID_EXT_HYPERVISOR);
    g_assert_cmphex(e->edx, ==, 0x0f8bfbfd);
    g_assert_cmphex(e->ebx >> 24, ==, 2);
    e = must_find(t, 7, 0);
    g_assert_cmphex(e->ebx, ==, 0x019803ab);
    g_assert_cmphex(must_find(t, 0xb, 0)->edx, ==, 2);
    /* XSAVE: all KVM components but AMX; PKRU ends at 0xa88. */
    e = must_find(t, 0xd, 0);
    g_assert_cmphex(e->eax, ==, 0x207);
    g_assert_cmphex(e->ecx, ==, 0xa88);
    g_assert_nonnull(kvm_cpuid_find(t, 0xd, 9));
    g_assert_null(kvm_cpuid_find(t, 0xd, 17));
    /* KVM has no brand string: the model's fills the gap. */
    g_assert_cmpmem(&must_find(t, 0x80000002, 0)->eax, 16, "Kestrel Test CPU", 16);

    g_free(t);
    g_free(sup);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm/x86/segment-round-trip", test_segment_round_trip);
    g_test_add_func("/kvm/x86/segment-from-kvm", test_segment_from_kvm);
    g_test_add_func("/kvm/x86/fpu-round-trip", test_fpu_round_trip);
    g_test_add_func("/kvm/x86/cpuid-filtered", test_cpuid_filtered);
    g_test_add_func("/kvm/x86/cpuid-passthrough", test_cpuid_passthrough);
    return g_test_run();
}
