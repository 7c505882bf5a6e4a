/*
 * KVM's in-kernel interrupt controllers and PIT: creation, the VM's GSI
 * routing table, and interrupts sent into the kernel. See kvm-irqchip.h
 * and docs/kvm.md ("Interrupts").
 */
#include "accel/kvm/kvm-internal.h"
#include "accel/kvm/kvm-irqchip.h"
#include "kestrel/log.h"
#include "sysemu/cpus.h"

/* Pushes the in-memory table to KVM. */
static int kvm_irqchip_commit_routes(KVMState *s)
{
    int ret = kvm_vm_ioctl(s, KVM_SET_GSI_ROUTING,
                           (void *)kvm_irq_routes_table(s->irq_routes));
    if (ret < 0) {
        error_report("KVM_SET_GSI_ROUTING (%u routes) failed: %s",
                     kvm_irq_routes_table(s->irq_routes)->nr, g_strerror(-ret));
    }
    return ret;
}

bool kvm_irqchip_create(KVMState *s, GError **errp)
{
    static const struct { unsigned cap; const char *name; } needed[] = {
        { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
        { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
        { KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
        { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
    };
    int ret;

    for (size_t i = 0; i < G_N_ELEMENTS(needed); i++) {
        if (!kvm_check_extension(s, needed[i].cap)) {
            error_setg(errp, "the host's KVM lacks %s (needed for kernel-irqchip=on; "
                       "-accel kvm,kernel-irqchip=off runs without it)", needed[i].name);
            return false;
        }
    }
    s->cap_irq_inject_status = kvm_check_extension(s, KVM_CAP_IRQ_INJECT_STATUS) > 0;
    s->cap_signal_msi = kvm_check_extension(s, KVM_CAP_SIGNAL_MSI) > 0;
    s->cap_mp_state = true;

    ret = kvm_vm_ioctl(s, KVM_CREATE_IRQCHIP, NULL);
    if (ret < 0) {
        error_setg(errp, "KVM_CREATE_IRQCHIP failed: %s", g_strerror(-ret));
        return false;
    }
    /* Port 0x61 (speaker, PIT channel 2 gate) stays in the kernel too:
     * Kestrel has no speaker to hand it to. */
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    ret = kvm_vm_ioctl(s, KVM_CREATE_PIT2, &pit);
    if (ret < 0) {
        error_setg(errp, "KVM_CREATE_PIT2 failed: %s", g_strerror(-ret));
        return false;
    }

    int max_routes = kvm_check_extension(s, KVM_CAP_IRQ_ROUTING);
    if (max_routes < KVM_PC_IOAPIC_PINS * 2) {
        max_routes = 1024;    /* KVM answers 1 on old kernels: the historic limit */
    }
    s->irq_routes = kvm_irq_routes_new((unsigned)max_routes);
    if (!kvm_irq_routes_add_pc_defaults(s->irq_routes)) {
        error_setg(errp, "the KVM GSI routing table is too small for the PC routes");
        return false;
    }
    ret = kvm_vm_ioctl(s, KVM_SET_GSI_ROUTING, (void *)kvm_irq_routes_table(s->irq_routes));
    if (ret < 0) {
        error_setg(errp, "KVM_SET_GSI_ROUTING failed: %s", g_strerror(-ret));
        return false;
    }
    s->irqchip_in_kernel = true;
    log_mask(LOG_KVM, "kvm: in-kernel irqchip and PIT, %u GSI routes (max %d), "
             "irq-status %d, signal-msi %d\n", kvm_irq_routes_table(s->irq_routes)->nr,
             max_routes, s->cap_irq_inject_status, s->cap_signal_msi);
    return true;
}

void kvm_irqchip_destroy(KVMState *s)
{
    kvm_irq_routes_free(s->irq_routes);
    s->irq_routes = NULL;
    s->irqchip_in_kernel = false;
}

bool kvm_irqchip_in_kernel(void)
{
    return kvm_state && kvm_state->irqchip_in_kernel;
}

void kvm_irqchip_set_gsi(unsigned gsi, int level)
{
    KVMState *s = kvm_state;

    if (!s || !s->irqchip_in_kernel) {
        return;
    }
    /* Device models are trusted here, but a wrong line number must not turn
     * into an ioctl error on every edge: unrouted GSIs are logged and dropped. */
    if (!kvm_irq_routes_has_gsi(s->irq_routes, gsi)) {
        log_mask(LOG_KVM, "kvm: GSI %u has no route, level %d dropped\n", gsi, level);
        return;
    }
    struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };
    int ret = kvm_vm_ioctl(s, s->cap_irq_inject_status ? KVM_IRQ_LINE_STATUS : KVM_IRQ_LINE,
                           &irq);
    if (ret < 0) {
        error_report("KVM_IRQ_LINE (GSI %u, level %d) failed: %s", gsi, level ? 1 : 0,
                     g_strerror(-ret));
    }
}

int kvm_irqchip_add_msi_route(uint64_t address, uint32_t data)
{
    KVMState *s = kvm_state;

    if (!s || !s->irqchip_in_kernel) {
        return -ENOTSUP;
    }
    int gsi = kvm_irq_routes_add_msi(s->irq_routes, address, data);
    if (gsi < 0) {
        return gsi;
    }
    int ret = kvm_irqchip_commit_routes(s);
    if (ret < 0) {
        kvm_irq_routes_remove(s->irq_routes, (unsigned)gsi);
        return ret;
    }
    return gsi;
}

int kvm_irqchip_update_msi_route(unsigned gsi, uint64_t address, uint32_t data)
{
    KVMState *s = kvm_state;

    if (!s || !s->irqchip_in_kernel) {
        return -ENOTSUP;
    }
    if (!kvm_irq_routes_update_msi(s->irq_routes, gsi, address, data)) {
        return -EINVAL;
    }
    return kvm_irqchip_commit_routes(s);
}

void kvm_irqchip_release_route(unsigned gsi)
{
    KVMState *s = kvm_state;

    if (!s || !s->irqchip_in_kernel || gsi < KVM_PC_FIRST_MSI_GSI) {
        return;       /* the PC routes are permanent */
    }
    if (kvm_irq_routes_remove(s->irq_routes, gsi)) {
        kvm_irqchip_commit_routes(s);
    }
}

int kvm_irqchip_send_msi(uint64_t address, uint32_t data)
{
    KVMState *s = kvm_state;

    if (!s || !s->irqchip_in_kernel || !s->cap_signal_msi) {
        return -ENOTSUP;
    }
    struct kvm_msi msi = {
        .address_lo = (uint32_t)address,
        .address_hi = (uint32_t)(address >> 32),
        .data = data,
    };
    return kvm_vm_ioctl(s, KVM_SIGNAL_MSI, &msi);
}

/* Puts the PICs, the IOAPIC and the PIT back to their power-on state on a
 * machine reset (KVM only resets them when the VM is created). */
void kvm_irqchip_reset(KVMState *s)
{
    if (!s->irqchip_in_kernel) {
        return;
    }
    for (unsigned chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_IOAPIC; chip++) {
        struct kvm_irqchip ic = { .chip_id = chip };
        int ret = kvm_vm_ioctl(s, KVM_GET_IRQCHIP, &ic);
        if (ret < 0) {
            error_report("KVM_GET_IRQCHIP %u failed: %s", chip, g_strerror(-ret));
            continue;
        }
        if (chip == KVM_IRQCHIP_IOAPIC) {
            struct kvm_ioapic_state *io = &ic.chip.ioapic;
            uint64_t base = io->base_address;
            memset(io, 0, sizeof(*io));
            io->base_address = base;
            for (unsigned pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
                io->redirtbl[pin].fields.mask = 1;
            }
        } else {
            /* Uninitialised 8259 (the guest's ICW1 sets it up); the edge/level
             * control register is the chipset's and survives. */
            struct kvm_pic_state *pic = &ic.chip.pic;
            uint8_t elcr = pic->elcr, elcr_mask = pic->elcr_mask;
            memset(pic, 0, sizeof(*pic));
            pic->elcr = elcr;
            pic->elcr_mask = elcr_mask;
        }
        ret = kvm_vm_ioctl(s, KVM_SET_IRQCHIP, &ic);
        if (ret < 0) {
            error_report("KVM_SET_IRQCHIP %u failed: %s", chip, g_strerror(-ret));
        }
    }

    struct kvm_pit_state2 pit;
    memset(&pit, 0, sizeof(pit));
    for (unsigned i = 0; i < 3; i++) {
        /* No mode programmed yet (KVM's own "uninitialised" value stops the
         * channel 0 timer); gates: 0 and 1 high, 2 from port 0x61. */
        pit.channels[i].mode = 0xff;
        pit.channels[i].gate = i != 2;
    }
    int ret = kvm_vm_ioctl(s, KVM_SET_PIT2, &pit);
    if (ret < 0) {
        error_report("KVM_SET_PIT2 failed: %s", g_strerror(-ret));
    }
}
