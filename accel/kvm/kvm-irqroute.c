/*
 * The GSI routing table, built in memory (no ioctls): see kvm-irqchip.h.
 */
#include "accel/kvm/kvm-irqchip.h"

struct KVMIrqRoutes {
    unsigned max_entries;
    struct kvm_irq_routing *table;     /* nr entries in use */
};

KVMIrqRoutes *kvm_irq_routes_new(unsigned max_entries)
{
    KVMIrqRoutes *r = g_new0(KVMIrqRoutes, 1);

    r->max_entries = max_entries;
    r->table = g_malloc0(sizeof(*r->table)
                         + (size_t)max_entries * sizeof(struct kvm_irq_routing_entry));
    return r;
}

void kvm_irq_routes_free(KVMIrqRoutes *r)
{
    if (r) {
        g_free(r->table);
        g_free(r);
    }
}

const struct kvm_irq_routing *kvm_irq_routes_table(const KVMIrqRoutes *r)
{
    return r->table;
}

static struct kvm_irq_routing_entry *route_append(KVMIrqRoutes *r, unsigned gsi, uint32_t type)
{
    if (r->table->nr >= r->max_entries) {
        return NULL;
    }
    struct kvm_irq_routing_entry *e = &r->table->entries[r->table->nr++];
    memset(e, 0, sizeof(*e));
    e->gsi = gsi;
    e->type = type;
    return e;
}

static bool add_irqchip_route(KVMIrqRoutes *r, unsigned gsi, unsigned chip, unsigned pin)
{
    struct kvm_irq_routing_entry *e = route_append(r, gsi, KVM_IRQ_ROUTING_IRQCHIP);
    if (!e) {
        return false;
    }
    e->u.irqchip.irqchip = chip;
    e->u.irqchip.pin = pin;
    return true;
}

bool kvm_irq_routes_add_pc_defaults(KVMIrqRoutes *r)
{
    for (unsigned gsi = 0; gsi < KVM_PC_IOAPIC_PINS; gsi++) {
        if (gsi == 2) {
            continue;       /* the PIC cascade; the PIT reaches pin 2 via GSI 0 */
        }
        if (gsi < 8 && !add_irqchip_route(r, gsi, KVM_IRQCHIP_PIC_MASTER, gsi)) {
            return false;
        }
        if (gsi >= 8 && gsi < 16
            && !add_irqchip_route(r, gsi, KVM_IRQCHIP_PIC_SLAVE, gsi - 8)) {
            return false;
        }
        if (!add_irqchip_route(r, gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi)) {
            return false;
        }
    }
    return true;
}

bool kvm_irq_routes_has_gsi(const KVMIrqRoutes *r, unsigned gsi)
{
    for (uint32_t i = 0; i < r->table->nr; i++) {
        if (r->table->entries[i].gsi == gsi) {
            return true;
        }
    }
    return false;
}

int kvm_irq_routes_add_msi(KVMIrqRoutes *r, uint64_t address, uint32_t data)
{
    unsigned gsi = KVM_PC_FIRST_MSI_GSI;

    /* GSI numbers are below the table size in KVM (KVM_MAX_IRQ_ROUTES). */
    while (gsi < r->max_entries && kvm_irq_routes_has_gsi(r, gsi)) {
        gsi++;
    }
    if (gsi >= r->max_entries) {
        return -ENOSPC;
    }
    struct kvm_irq_routing_entry *e = route_append(r, gsi, KVM_IRQ_ROUTING_MSI);
    if (!e) {
        return -ENOSPC;
    }
    e->u.msi.address_lo = (uint32_t)address;
    e->u.msi.address_hi = (uint32_t)(address >> 32);
    e->u.msi.data = data;
    return (int)gsi;
}

bool kvm_irq_routes_update_msi(KVMIrqRoutes *r, unsigned gsi, uint64_t address, uint32_t data)
{
    for (uint32_t i = 0; i < r->table->nr; i++) {
        struct kvm_irq_routing_entry *e = &r->table->entries[i];
        if (e->gsi == gsi && e->type == KVM_IRQ_ROUTING_MSI) {
            e->u.msi.address_lo = (uint32_t)address;
            e->u.msi.address_hi = (uint32_t)(address >> 32);
            e->u.msi.data = data;
            return true;
        }
    }
    return false;
}

bool kvm_irq_routes_remove(KVMIrqRoutes *r, unsigned gsi)
{
    bool found = false;
    uint32_t kept = 0;

    for (uint32_t i = 0; i < r->table->nr; i++) {
        if (r->table->entries[i].gsi == gsi) {
            found = true;
            continue;
        }
        r->table->entries[kept++] = r->table->entries[i];
    }
    r->table->nr = kept;
    return found;
}
