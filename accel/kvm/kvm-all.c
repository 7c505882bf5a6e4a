/*
 * The KVM accelerator: guest code runs on the host CPU through /dev/kvm.
 *
 *   - init_machine opens /dev/kvm, checks the API and capabilities, creates
 *     the VM and registers a memory listener that turns RAM/ROM sections of
 *     the `memory` address space into KVM memory slots;
 *   - each vCPU thread creates its KVM vCPU, maps its kvm_run and loops in
 *     KVM_RUN, dispatching port I/O and MMIO exits to the memory API with
 *     the big lock held;
 *   - guest writes are tracked with KVM's per-slot dirty log, imported into
 *     the shared dirty bitmaps on log_sync.
 *
 * The x86 register and CPUID half is in target/i386/kvm. See docs/kvm.md.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/kvm/kvm-internal.h"
#include "accel/kvm/kvm-irqchip.h"
#include "exec/ramblock.h"
#include "hw/boards.h"
#include "kestrel/log.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"

#define KVM_DEVICE_PATH "/dev/kvm"
#define KVM_API_VERSION_NEEDED 12

/*
 * KVM_SET_IDENTITY_MAP_ADDR (one page) and KVM_SET_TSS_ADDR (three pages)
 * reserve guest-physical memory that Intel VMX uses to emulate real mode.
 * They take the 16 KiB at 0xfeffc000-0xfeffffff, which the pc machine never
 * maps: IOAPIC (0xfec00000), HPET (0xfed00000) and LAPIC (0xfee00000) end
 * below it, and the BIOS alias starts at 4 GiB minus its size (at most
 * 16 MiB, i.e. 0xff000000) above it. RAM below 4 GiB stops at 3 GiB at most.
 */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ull
#define KVM_TSS_ADDR          0xfeffd000ull

/* The vCPU kick signal; see kvm_kick_vcpu() and docs/kvm.md. */
#define SIG_KVM_KICK SIGUSR1

/* Upper bound of the slot table (KVM offers far more; the pc machine uses
 * a handful). */
#define KVM_MAX_SLOTS_USED 512

/* The highest APIC ID an xAPIC can address is 254 (0xff is broadcast),
 * and Kestrel offers no x2APIC-only topology: vCPUs 0-254 at most. */
#define KVM_MAX_XAPIC_VCPUS 255

KVMState *kvm_state;

/* "-accel kvm,kernel-irqchip=on|off", read by init_machine. */
static bool kvm_kernel_irqchip_wanted = true;

/* The kvm_run of the vCPU that runs on this thread (NULL elsewhere); read by
 * the kick signal handler. */
static __thread struct kvm_run *kvm_thread_run;

/* ---- ioctl helpers ---- */

static int do_ioctl(int fd, unsigned long request, void *arg)
{
    int ret;
    do {
        ret = ioctl(fd, request, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

int kvm_ioctl(KVMState *s, unsigned long request, void *arg)
{
    return do_ioctl(s->fd, request, arg);
}

int kvm_vm_ioctl(KVMState *s, unsigned long request, void *arg)
{
    return do_ioctl(s->vm_fd, request, arg);
}

int kvm_vcpu_ioctl(CPUState *cpu, unsigned long request, void *arg)
{
    return do_ioctl(cpu->accel->fd, request, arg);
}

int kvm_check_extension(KVMState *s, unsigned cap)
{
    int ret = kvm_ioctl(s, KVM_CHECK_EXTENSION, (void *)(uintptr_t)cap);
    return ret < 0 ? 0 : ret;
}

/* ---- memory slots ---- */

typedef struct SlotRange {
    hwaddr gpa;
    uint64_t size;
    void *host;
    ram_addr_t ram_addr;
    bool readonly;
} SlotRange;

/* The page-aligned part of a RAM/ROM section KVM can map. false for MMIO
 * and for sections too small to hold a whole page; unaligned heads and
 * tails are left out and reach Kestrel as MMIO exits. */
static bool section_slot_range(const MemoryRegionSection *section, SlotRange *r)
{
    MemoryRegion *mr = section->mr;

    if (!mr || !memory_region_is_ram(mr) || section->size == 0) {
        return false;
    }
    hwaddr start = section->offset_within_address_space;
    hwaddr end = start + section->size;
    if (end < start) {               /* a section reaching 2^64 */
        end = KESTREL_ALIGN_DOWN(UINT64_MAX, KESTREL_PAGE_SIZE);
    }
    hwaddr astart = KESTREL_ALIGN_UP(start, KESTREL_PAGE_SIZE);
    hwaddr aend = KESTREL_ALIGN_DOWN(end, KESTREL_PAGE_SIZE);
    if (astart < start || aend <= astart) {
        log_mask(LOG_KVM, "kvm: %s at 0x%" HWADDR_PRIx " (0x%" PRIx64
                 " bytes) holds no whole page, left to MMIO exits\n",
                 mr->name, start, section->size);
        return false;
    }
    hwaddr delta = astart - start;
    uint8_t *host = (uint8_t *)memory_region_get_ram_ptr(mr)
                  + section->offset_within_region + delta;
    if ((uintptr_t)host % KESTREL_PAGE_SIZE) {
        log_mask(LOG_KVM, "kvm: %s at 0x%" HWADDR_PRIx " is not page aligned in "
                 "host memory, left to MMIO exits\n", mr->name, start);
        return false;
    }
    if (astart != start || aend != end) {
        log_mask(LOG_KVM, "kvm: %s: unaligned edges of 0x%" HWADDR_PRIx "-0x%"
                 HWADDR_PRIx " left to MMIO exits\n", mr->name, start, end - 1);
    }
    r->gpa = astart;
    r->size = aend - astart;
    r->host = host;
    r->ram_addr = memory_region_get_ram_addr(mr) + section->offset_within_region + delta;
    r->readonly = section->readonly || mr->readonly || memory_region_is_rom(mr);
    return true;
}

static uint32_t slot_wanted_flags(const KVMState *s, const KVMSlot *slot)
{
    if (slot->readonly) {
        return KVM_MEM_READONLY;     /* never written by the guest: no log */
    }
    return (slot->log_mask || s->global_dirty_log) ? KVM_MEM_LOG_DIRTY_PAGES : 0;
}

static int slot_register(KVMState *s, KVMSlot *slot, uint32_t flags)
{
    struct kvm_userspace_memory_region region = {
        .slot = slot->id,
        .flags = flags,
        .guest_phys_addr = slot->gpa,
        .memory_size = slot->size,
        .userspace_addr = (uintptr_t)slot->host,
    };
    int ret = kvm_vm_ioctl(s, KVM_SET_USER_MEMORY_REGION, &region);
    if (ret == 0) {
        slot->flags = flags;
    }
    return ret;
}

/* Imports the slot's dirty log into the shared bitmaps (all clients). */
static void slot_sync_dirty_log(KVMState *s, KVMSlot *slot)
{
    if (!(slot->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
        return;
    }
    uint64_t pages = slot->size / KESTREL_PAGE_SIZE;
    size_t words = (pages + 63) / 64;
    G_STATIC_ASSERT(sizeof(unsigned long) == 8);
    unsigned long *bits = g_new0(unsigned long, words);
    struct kvm_dirty_log log = { .slot = slot->id, .dirty_bitmap = bits };

    int ret = kvm_vm_ioctl(s, KVM_GET_DIRTY_LOG, &log);
    if (ret < 0) {
        error_report("KVM_GET_DIRTY_LOG of slot %u (0x%" HWADDR_PRIx ") failed: %s",
                     slot->id, slot->gpa, g_strerror(-ret));
    } else {
        dirty_bitmap_set_from_le_words(bits, slot->ram_addr, pages, DIRTY_CLIENTS_ALL);
    }
    g_free(bits);
}

static void slot_delete(KVMState *s, KVMSlot *slot)
{
    /* Writes made up to now must reach the bitmaps before the log goes. */
    slot_sync_dirty_log(s, slot);
    struct kvm_userspace_memory_region region = { .slot = slot->id };
    int ret = kvm_vm_ioctl(s, KVM_SET_USER_MEMORY_REGION, &region);
    if (ret < 0) {
        error_report("KVM could not remove memory slot %u (0x%" HWADDR_PRIx "): %s",
                     slot->id, slot->gpa, g_strerror(-ret));
    }
    log_mask(LOG_KVM, "kvm: slot %u removed (0x%" HWADDR_PRIx "-0x%" HWADDR_PRIx ")\n",
             slot->id, slot->gpa, slot->gpa + slot->size - 1);
    slot->used = false;
}

static void slot_update_flags(KVMState *s, KVMSlot *slot)
{
    uint32_t want = slot_wanted_flags(s, slot);

    if (want == slot->flags) {
        return;
    }
    if ((slot->flags & KVM_MEM_LOG_DIRTY_PAGES) && !(want & KVM_MEM_LOG_DIRTY_PAGES)) {
        slot_sync_dirty_log(s, slot);
    }
    int ret = slot_register(s, slot, want);
    if (ret < 0) {
        error_report("KVM could not %s dirty logging on slot %u (0x%" HWADDR_PRIx "): %s",
                     (want & KVM_MEM_LOG_DIRTY_PAGES) ? "start" : "stop",
                     slot->id, slot->gpa, g_strerror(-ret));
    }
}

static bool ranges_overlap(hwaddr a, uint64_t alen, hwaddr b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static KVMSlot *slot_alloc(KVMState *s)
{
    for (unsigned i = 0; i < s->nr_slots; i++) {
        if (!s->slots[i].used) {
            return &s->slots[i];
        }
    }
    return NULL;
}

static void kvm_region_add(MemoryListener *listener, MemoryRegionSection *section)
{
    KVMState *s = container_of(listener, KVMState, memory_listener);
    SlotRange r;

    if (!section_slot_range(section, &r)) {
        return;
    }
    if (r.readonly && !s->cap_readonly_mem) {
        log_printf("kvm: no KVM_CAP_READONLY_MEM: ROM %s at 0x%" HWADDR_PRIx
                   " is served by MMIO exits\n", section->mr->name, r.gpa);
        return;
    }

    g_mutex_lock(&s->slots_lock);
    /* The memory API removes old ranges before adding new ones; should a
     * stale slot still overlap, drop it so KVM accepts the new one. */
    for (unsigned i = 0; i < s->nr_slots; i++) {
        KVMSlot *old = &s->slots[i];
        if (old->used && ranges_overlap(old->gpa, old->size, r.gpa, r.size)) {
            log_mask(LOG_KVM, "kvm: slot %u overlaps the new %s, removed\n",
                     old->id, section->mr->name);
            slot_delete(s, old);
        }
    }
    KVMSlot *slot = slot_alloc(s);
    if (!slot) {
        g_mutex_unlock(&s->slots_lock);
        error_report("KVM memory slots exhausted (%u): %s at 0x%" HWADDR_PRIx
                     " is served by MMIO exits", s->nr_slots, section->mr->name, r.gpa);
        return;
    }
    slot->gpa = r.gpa;
    slot->size = r.size;
    slot->host = r.host;
    slot->ram_addr = r.ram_addr;
    slot->readonly = r.readonly;
    slot->log_mask = section->dirty_log_mask;
    slot->flags = 0;
    int ret = slot_register(s, slot, slot_wanted_flags(s, slot));
    if (ret < 0) {
        error_report("KVM could not map %s at 0x%" HWADDR_PRIx " (0x%" PRIx64
                     " bytes): %s", section->mr->name, r.gpa, r.size, g_strerror(-ret));
    } else {
        slot->used = true;
        log_mask(LOG_KVM, "kvm: slot %u = %s 0x%" HWADDR_PRIx "-0x%" HWADDR_PRIx
                 " ram_addr 0x%" PRIx64 "%s%s\n", slot->id, section->mr->name,
                 slot->gpa, slot->gpa + slot->size - 1, slot->ram_addr,
                 slot->readonly ? " readonly" : "",
                 (slot->flags & KVM_MEM_LOG_DIRTY_PAGES) ? " dirty-log" : "");
    }
    g_mutex_unlock(&s->slots_lock);
}

/* Calls fn on each slot inside the section's address range, under the
 * slots lock. */
static void for_each_section_slot(KVMState *s, const MemoryRegionSection *section,
                                  void (*fn)(KVMState *s, KVMSlot *slot, void *opaque),
                                  void *opaque)
{
    hwaddr start = section->offset_within_address_space;
    uint64_t size = section->size;

    g_mutex_lock(&s->slots_lock);
    for (unsigned i = 0; i < s->nr_slots; i++) {
        KVMSlot *slot = &s->slots[i];
        if (slot->used && slot->gpa >= start && slot->gpa - start < size
            && slot->size <= size - (slot->gpa - start)) {
            fn(s, slot, opaque);
        }
    }
    g_mutex_unlock(&s->slots_lock);
}

static void delete_fn(KVMState *s, KVMSlot *slot, void *opaque)
{
    slot_delete(s, slot);
}

static void kvm_region_del(MemoryListener *listener, MemoryRegionSection *section)
{
    KVMState *s = container_of(listener, KVMState, memory_listener);

    if (!section->mr || !memory_region_is_ram(section->mr)) {
        return;
    }
    for_each_section_slot(s, section, delete_fn, NULL);
}

static void set_log_mask_fn(KVMState *s, KVMSlot *slot, void *opaque)
{
    slot->log_mask = *(unsigned *)opaque;
    slot_update_flags(s, slot);
}

static void kvm_log_change(MemoryListener *listener, MemoryRegionSection *section,
                           unsigned new_mask)
{
    KVMState *s = container_of(listener, KVMState, memory_listener);

    for_each_section_slot(s, section, set_log_mask_fn, &new_mask);
}

static void kvm_log_start(MemoryListener *listener, MemoryRegionSection *section,
                          unsigned old_mask, unsigned new_mask)
{
    kvm_log_change(listener, section, new_mask);
}

static void kvm_log_stop(MemoryListener *listener, MemoryRegionSection *section,
                         unsigned old_mask, unsigned new_mask)
{
    kvm_log_change(listener, section, new_mask);
}

static void sync_fn(KVMState *s, KVMSlot *slot, void *opaque)
{
    slot_sync_dirty_log(s, slot);
}

static void kvm_log_sync(MemoryListener *listener, MemoryRegionSection *section)
{
    KVMState *s = container_of(listener, KVMState, memory_listener);

    for_each_section_slot(s, section, sync_fn, NULL);
}

static bool kvm_log_global_start(MemoryListener *listener, GError **errp)
{
    KVMState *s = container_of(listener, KVMState, memory_listener);
    bool ok = true;

    g_mutex_lock(&s->slots_lock);
    s->global_dirty_log = true;
    for (unsigned i = 0; i < s->nr_slots; i++) {
        KVMSlot *slot = &s->slots[i];
        if (!slot->used) {
            continue;
        }
        uint32_t want = slot_wanted_flags(s, slot);
        if (want != slot->flags) {
            int ret = slot_register(s, slot, want);
            if (ret < 0 && ok) {
                error_setg(errp, "KVM could not start dirty logging on slot %u "
                           "(0x%" HWADDR_PRIx "): %s", slot->id, slot->gpa, g_strerror(-ret));
                ok = false;
            }
        }
    }
    g_mutex_unlock(&s->slots_lock);
    log_mask(LOG_KVM, "kvm: global dirty logging started\n");
    return ok;
}

static void kvm_log_global_stop(MemoryListener *listener)
{
    KVMState *s = container_of(listener, KVMState, memory_listener);

    g_mutex_lock(&s->slots_lock);
    s->global_dirty_log = false;
    for (unsigned i = 0; i < s->nr_slots; i++) {
        if (s->slots[i].used) {
            slot_update_flags(s, &s->slots[i]);
        }
    }
    g_mutex_unlock(&s->slots_lock);
    log_mask(LOG_KVM, "kvm: global dirty logging stopped\n");
}

static void kvm_listener_begin(MemoryListener *listener) { }
static void kvm_listener_commit(MemoryListener *listener) { }

/* ---- machine ---- */

static void kvm_kick_signal_handler(int sig)
{
    struct kvm_run *run = kvm_thread_run;
    if (run) {
        __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_RELAXED);
    }
}

static bool kvm_install_kick_handler(GError **errp)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kvm_kick_signal_handler;
    /* SA_RESTART: a kick landing while the vCPU thread is in a device's
     * read()/write() must not fail that call. KVM_RUN itself always returns
     * EINTR on a signal, restart or not. */
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIG_KVM_KICK, &sa, NULL) < 0) {
        error_setg(errp, "cannot install the KVM vCPU kick handler: %s", g_strerror(errno));
        return false;
    }
    return true;
}

typedef struct KVMCapNeeded {
    unsigned cap;
    const char *name;
    const char *why;
} KVMCapNeeded;

static const KVMCapNeeded kvm_caps_needed[] = {
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM in process memory" },
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "real-mode support" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPU models" },
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "race-free vCPU kicks" },
    { KVM_CAP_DESTROY_MEMORY_REGION_WORKS, "KVM_CAP_DESTROY_MEMORY_REGION_WORKS",
      "memory hot-unplug" },
    { KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, "KVM_CAP_JOIN_MEMORY_REGIONS_WORKS",
      "memory slot changes" },
};

static bool kvm_read_supported_cpuid(KVMState *s, GError **errp)
{
    for (uint32_t nent = 64; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *table = g_malloc0(sizeof(*table)
                                             + nent * sizeof(struct kvm_cpuid_entry2));
        table->nent = nent;
        int ret = kvm_ioctl(s, KVM_GET_SUPPORTED_CPUID, table);
        if (ret == 0) {
            s->supported_cpuid = table;
            return true;
        }
        g_free(table);
        if (ret != -E2BIG) {
            error_setg(errp, "KVM_GET_SUPPORTED_CPUID failed: %s", g_strerror(-ret));
            return false;
        }
    }
    error_setg(errp, "KVM_GET_SUPPORTED_CPUID: the table does not fit 4096 entries");
    return false;
}

/* -smp within what this KVM (and an xAPIC) can run; APs need the
 * in-kernel LAPIC for INIT/SIPI. */
static bool kvm_check_vcpu_count(KVMState *s, MachineState *ms, GError **errp)
{
    unsigned wanted = ms ? ms->smp_cpus : 1;
    int max = kvm_check_extension(s, KVM_CAP_MAX_VCPUS);

    if (max <= 0) {
        max = kvm_check_extension(s, KVM_CAP_NR_VCPUS);
    }
    if (max <= 0) {
        max = 4;        /* the documented fallback when neither cap exists */
    }
    s->max_vcpus = max;
    if (wanted > (unsigned)max) {
        error_setg(errp, "-smp %u: the host's KVM supports at most %d vCPUs per VM",
                   wanted, max);
        return false;
    }
    if (wanted > KVM_MAX_XAPIC_VCPUS) {
        error_setg(errp, "-smp %u: at most %u vCPUs (xAPIC IDs) are supported",
                   wanted, KVM_MAX_XAPIC_VCPUS);
        return false;
    }
    int recommended = kvm_check_extension(s, KVM_CAP_NR_VCPUS);
    if (recommended > 0 && wanted > (unsigned)recommended) {
        log_mask(LOG_KVM, "kvm: -smp %u is above the %d vCPUs the host's KVM "
                 "recommends (its CPU count)\n", wanted, recommended);
    }
    if (wanted > 1 && !kvm_kernel_irqchip_wanted) {
        error_setg(errp, "-smp %u needs kernel-irqchip=on (application processors "
                   "are started by INIT/SIPI through the in-kernel LAPIC)", wanted);
        return false;
    }
    return true;
}

static void kvm_state_free(KVMState *s)
{
    kvm_irqchip_destroy(s);
    if (s->vm_fd >= 0) {
        close(s->vm_fd);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    g_free(s->slots);
    g_free(s->supported_cpuid);
    g_mutex_clear(&s->slots_lock);
    g_free(s);
}

static bool kvm_init_machine(MachineState *ms, GError **errp)
{
    KVMState *s = g_new0(KVMState, 1);
    int ret;

    s->fd = -1;
    s->vm_fd = -1;
    g_mutex_init(&s->slots_lock);

    if (sysconf(_SC_PAGESIZE) != (long)KESTREL_PAGE_SIZE) {
        error_setg(errp, "KVM support needs 4 KiB host pages (this host uses %ld)",
                   sysconf(_SC_PAGESIZE));
        goto fail;
    }
    s->fd = open(KVM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
    if (s->fd < 0) {
        int err = errno;
        error_setg(errp, "KVM unavailable: cannot open " KVM_DEVICE_PATH ": %s%s",
                   g_strerror(err),
                   err == ENOENT ? " (is the kvm_intel or kvm_amd module loaded?)" :
                   err == EACCES || err == EPERM ?
                       " (no permission: is this user in the kvm group?)" : "");
        goto fail;
    }
    ret = kvm_ioctl(s, KVM_GET_API_VERSION, NULL);
    if (ret != KVM_API_VERSION_NEEDED) {
        error_setg(errp, KVM_DEVICE_PATH " reports KVM API version %d; Kestrel needs %d",
                   ret, KVM_API_VERSION_NEEDED);
        goto fail;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(kvm_caps_needed); i++) {
        if (!kvm_check_extension(s, kvm_caps_needed[i].cap)) {
            error_setg(errp, "the host's KVM lacks %s (needed for %s)",
                       kvm_caps_needed[i].name, kvm_caps_needed[i].why);
            goto fail;
        }
    }
    s->cap_readonly_mem = kvm_check_extension(s, KVM_CAP_READONLY_MEM) > 0;
    s->cap_xsave = kvm_check_extension(s, KVM_CAP_XSAVE) > 0;
    s->cap_xcrs = kvm_check_extension(s, KVM_CAP_XCRS) > 0;
    s->cap_vcpu_events = kvm_check_extension(s, KVM_CAP_VCPU_EVENTS) > 0;
    s->cap_debugregs = kvm_check_extension(s, KVM_CAP_DEBUGREGS) > 0;

    s->vcpu_mmap_size = kvm_ioctl(s, KVM_GET_VCPU_MMAP_SIZE, NULL);
    if (s->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
        error_setg(errp, "KVM_GET_VCPU_MMAP_SIZE returned %d%s%s", s->vcpu_mmap_size,
                   s->vcpu_mmap_size < 0 ? ": " : "",
                   s->vcpu_mmap_size < 0 ? g_strerror(-s->vcpu_mmap_size) : "");
        goto fail;
    }

    int nr = kvm_check_extension(s, KVM_CAP_NR_MEMSLOTS);
    s->nr_slots = nr > 0 ? MIN(nr, KVM_MAX_SLOTS_USED) : 32;
    s->slots = g_new0(KVMSlot, s->nr_slots);
    for (unsigned i = 0; i < s->nr_slots; i++) {
        s->slots[i].id = i;
    }

    ret = kvm_ioctl(s, KVM_CREATE_VM, NULL);
    if (ret < 0) {
        error_setg(errp, "KVM could not create a VM (KVM_CREATE_VM): %s", g_strerror(-ret));
        goto fail;
    }
    s->vm_fd = ret;

    if (kvm_check_extension(s, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
        uint64_t addr = KVM_IDENTITY_MAP_ADDR;
        ret = kvm_vm_ioctl(s, KVM_SET_IDENTITY_MAP_ADDR, &addr);
        if (ret < 0) {
            error_setg(errp, "KVM_SET_IDENTITY_MAP_ADDR failed: %s", g_strerror(-ret));
            goto fail;
        }
    }
    ret = kvm_vm_ioctl(s, KVM_SET_TSS_ADDR, (void *)(uintptr_t)KVM_TSS_ADDR);
    if (ret < 0) {
        error_setg(errp, "KVM_SET_TSS_ADDR failed: %s", g_strerror(-ret));
        goto fail;
    }
    if (!kvm_read_supported_cpuid(s, errp) || !kvm_install_kick_handler(errp)) {
        goto fail;
    }
    if (!kvm_check_vcpu_count(s, ms, errp)) {
        goto fail;
    }
    /* Before any vCPU: KVM creates LAPICs only for vCPUs made afterwards. */
    if (kvm_kernel_irqchip_wanted && !kvm_irqchip_create(s, errp)) {
        goto fail;
    }
    /* N cores in one package, APIC ID = vCPU index (cpus_create). */
    for (unsigned i = 0; cpus && i < nr_cpus; i++) {
        x86_cpu_set_topology(&cpus[i]->env, nr_cpus);
    }

    log_mask(LOG_KVM, "kvm: API %d, vCPU mmap %d bytes, %u slots, readonly-mem %d, "
             "xsave %d, xcrs %d, vcpu-events %d, debugregs %d, max vCPUs %d, "
             "irqchip %s\n", KVM_API_VERSION_NEEDED,
             s->vcpu_mmap_size, s->nr_slots, s->cap_readonly_mem, s->cap_xsave,
             s->cap_xcrs, s->cap_vcpu_events, s->cap_debugregs, s->max_vcpus,
             s->irqchip_in_kernel ? "in kernel" : "off");

    kvm_state = s;
    s->memory_listener = (MemoryListener) {
        .begin = kvm_listener_begin,
        .commit = kvm_listener_commit,
        .region_add = kvm_region_add,
        .region_del = kvm_region_del,
        .log_start = kvm_log_start,
        .log_stop = kvm_log_stop,
        .log_sync = kvm_log_sync,
        .log_global_start = kvm_log_global_start,
        .log_global_stop = kvm_log_global_stop,
        .priority = 10,
        .name = "kvm-memory",
    };
    memory_listener_register(&s->memory_listener, &address_space_memory);
    return true;

fail:
    kvm_state_free(s);
    return false;
}

static void kvm_machine_reset(MachineState *ms)
{
    /* The in-kernel PICs, IOAPIC and PIT are the machine's devices; the
     * vCPUs (LAPICs and MP states included) get their reset state through
     * put_state(ACCEL_SYNC_RESET), memory slots follow the memory API. */
    if (kvm_state) {
        kvm_irqchip_reset(kvm_state);
    }
}

static void kvm_cleanup(MachineState *ms)
{
    KVMState *s = kvm_state;

    if (!s) {
        return;
    }
    memory_listener_unregister(&s->memory_listener);
    /* vCPU threads are joined: nothing can kick any more. */
    for (unsigned i = 0; cpus && i < nr_cpus; i++) {
        if (cpus[i] && cpus[i]->accel) {
            g_free(cpus[i]->accel);
            cpus[i]->accel = NULL;
        }
    }
    kvm_state = NULL;
    kvm_state_free(s);
}

/* ---- vCPUs ---- */

static void kvm_destroy_vcpu(CPUState *cpu)
{
    AccelCPUState *acs = cpu->accel;

    if (!acs) {
        return;
    }
    /* The structure itself stays until cleanup: another thread may be
     * reading it to decide whether to kick. */
    g_atomic_int_set(&acs->thread_alive, 0);
    kvm_thread_run = NULL;
    if (acs->run) {
        munmap(acs->run, kvm_state->vcpu_mmap_size);
        acs->run = NULL;
    }
    if (acs->fd >= 0) {
        close(acs->fd);
        acs->fd = -1;
    }
}

static bool kvm_init_vcpu(CPUState *cpu, GError **errp)
{
    KVMState *s = kvm_state;
    AccelCPUState *acs = g_new0(AccelCPUState, 1);
    sigset_t kick;

    acs->fd = -1;
    cpu->accel = acs;

    int ret = kvm_vm_ioctl(s, KVM_CREATE_VCPU, (void *)(uintptr_t)cpu->index);
    if (ret < 0) {
        error_setg(errp, "KVM could not create vCPU %d: %s", cpu->index, g_strerror(-ret));
        goto fail;
    }
    acs->fd = ret;
    acs->run = mmap(NULL, s->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, acs->fd, 0);
    if (acs->run == MAP_FAILED) {
        acs->run = NULL;
        error_setg(errp, "cannot map the kvm_run area of vCPU %d: %s", cpu->index,
                   g_strerror(errno));
        goto fail;
    }
    if (!kvm_arch_init_vcpu(cpu, errp)) {
        goto fail;
    }

    /* Kicks arrive as SIG_KVM_KICK on this thread: make sure it is not
     * blocked here (the thread inherits its creator's mask). */
    sigemptyset(&kick);
    sigaddset(&kick, SIG_KVM_KICK);
    pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
    kvm_thread_run = acs->run;
    acs->thread = pthread_self();
    g_atomic_int_set(&acs->thread_alive, 1);

    /* env holds the reset state; the first run puts it. */
    cpu->vcpu_dirty = true;
    return true;

fail:
    kvm_destroy_vcpu(cpu);
    g_free(acs);
    cpu->accel = NULL;
    return false;
}

/*
 * Kick protocol (race-free, no signal mask juggling):
 *   kicker:     exit_request = 1; pthread_kill(vCPU thread, SIG_KVM_KICK)
 *   handler:    run->immediate_exit = 1 (on the vCPU thread)
 *   vCPU loop:  after KVM_RUN returns, clear immediate_exit, THEN read
 *               exit_request; before KVM_RUN, set immediate_exit if
 *               exit_request is already set.
 * A signal before the read is seen through exit_request; one after it sets
 * immediate_exit, which KVM checks on entry, or interrupts the guest.
 */
static void kvm_kick_vcpu(CPUState *cpu)
{
    AccelCPUState *acs = cpu->accel;

    if (!acs || !g_atomic_int_get(&acs->thread_alive)) {
        return;      /* not running guest code yet: exit_request suffices */
    }
    if (pthread_equal(acs->thread, pthread_self())) {
        return;      /* kicked from its own I/O handler: the loop checks */
    }
    pthread_kill(acs->thread, SIG_KVM_KICK);
}

static void kvm_get_state(CPUState *cpu)
{
    GError *err = NULL;

    if (!cpu->accel) {
        return;
    }
    if (!kvm_arch_get_state(cpu, &err)) {
        error_report("vCPU %d: reading registers from KVM failed: %s", cpu->index,
                     err->message);
        g_error_free(err);
    }
}

static bool kvm_put_state(CPUState *cpu, AccelSyncLevel level, GError **errp)
{
    if (!cpu->accel) {
        return true;
    }
    return kvm_arch_put_state(cpu, level, errp);
}

/* Prints why the vCPU cannot go on, and its registers, to stderr. */
static void G_GNUC_PRINTF(2, 3) kvm_report_vcpu_error(CPUState *cpu, const char *fmt, ...)
{
    va_list ap;
    GError *err = NULL;

    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("KVM: vCPU %d: %s", cpu->index, msg);
    g_free(msg);

    if (kvm_arch_get_state(cpu, &err)) {
        GString *dump = g_string_new(NULL);
        x86_cpu_dump_state(&cpu->env, dump);
        fputs(dump->str, stderr);
        fflush(stderr);
        g_string_free(dump, TRUE);
    } else {
        error_report("(no register dump: %s)", err->message);
        g_error_free(err);
    }
}

static void kvm_handle_io(CPUState *cpu, struct kvm_run *run)
{
    uint32_t size = run->io.size;
    uint32_t count = run->io.count;
    uint64_t offset = run->io.data_offset;
    uint64_t area = kvm_state->vcpu_mmap_size;

    /* The kernel fills these, but a bad value must not make us touch memory
     * outside the kvm_run mapping. */
    if ((size != 1 && size != 2 && size != 4) || count == 0 || offset > area
        || (uint64_t)size * count > area - offset) {
        log_guest_error("kvm: vCPU %d: bad port I/O exit (port 0x%x size %u count %u "
                        "offset 0x%" PRIx64 "), ignored\n", cpu->index, run->io.port,
                        size, count, offset);
        return;
    }
    uint8_t *data = (uint8_t *)run + offset;
    for (uint32_t i = 0; i < count; i++, data += size) {
        uint64_t val = 0;
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&val, data, size);           /* x86 host: little-endian */
            address_space_write_sized(&address_space_io, run->io.port, val, size);
        } else {
            address_space_read_sized(&address_space_io, run->io.port, &val, size);
            memcpy(data, &val, size);
        }
    }
}

static void kvm_handle_mmio(CPUState *cpu, struct kvm_run *run)
{
    uint32_t len = run->mmio.len;

    if (len == 0 || len > sizeof(run->mmio.data)) {
        log_guest_error("kvm: vCPU %d: bad MMIO exit length %u at 0x%" PRIx64 "\n",
                        cpu->index, len, (uint64_t)run->mmio.phys_addr);
        return;
    }
    address_space_rw(&address_space_memory, run->mmio.phys_addr, run->mmio.data, len,
                     run->mmio.is_write);
}

/* What to do after an exit: go on running, or return to cpus.c. */
typedef enum { EXIT_CONTINUE, EXIT_RETURN_KICK, EXIT_RETURN_HALT, EXIT_RETURN_ERROR } ExitAction;

static ExitAction kvm_handle_system_event(CPUState *cpu, struct kvm_run *run)
{
    switch (run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        return EXIT_RETURN_KICK;
    case KVM_SYSTEM_EVENT_RESET:
        system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        return EXIT_RETURN_KICK;
    case KVM_SYSTEM_EVENT_CRASH:
        error_report("KVM: vCPU %d: the guest crashed", cpu->index);
        system_shutdown_request(SHUTDOWN_CAUSE_GUEST_PANIC);
        return EXIT_RETURN_KICK;
    default:
        log_mask(LOG_KVM, "kvm: vCPU %d: system event %u ignored\n", cpu->index,
                 run->system_event.type);
        return EXIT_CONTINUE;
    }
}

static ExitAction kvm_handle_exit(CPUState *cpu, struct kvm_run *run)
{
    if (log_enabled(LOG_KVM)) {
        log_printf("kvm: vCPU %d exit %u\n", cpu->index, run->exit_reason);
    }
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        kvm_handle_io(cpu, run);
        return EXIT_CONTINUE;
    case KVM_EXIT_MMIO:
        kvm_handle_mmio(cpu, run);
        return EXIT_CONTINUE;
    case KVM_EXIT_HLT:
        cpu->env.halted = true;
        return EXIT_RETURN_HALT;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_INTR:
        return EXIT_CONTINUE;
    case KVM_EXIT_SHUTDOWN:
        /* A triple fault resets the machine (or ends it with -no-reboot). */
        log_mask(LOG_KVM | LOG_GUEST_ERROR, "kvm: vCPU %d: triple fault\n", cpu->index);
        system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        return EXIT_RETURN_KICK;
    case KVM_EXIT_SYSTEM_EVENT:
        return kvm_handle_system_event(cpu, run);
    case KVM_EXIT_INTERNAL_ERROR: {
        GString *data = g_string_new(NULL);
        uint32_t n = MIN(run->internal.ndata, (uint32_t)G_N_ELEMENTS(run->internal.data));
        for (uint32_t i = 0; i < n; i++) {
            g_string_append_printf(data, " 0x%" PRIx64, (uint64_t)run->internal.data[i]);
        }
        kvm_report_vcpu_error(cpu, "KVM internal error, suberror %u%s%s%s",
                              run->internal.suberror,
                              run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
                                  " (instruction emulation failed)" : "",
                              n ? ", data:" : "", data->str);
        g_string_free(data, TRUE);
        return EXIT_RETURN_ERROR;
    }
    case KVM_EXIT_FAIL_ENTRY:
        kvm_report_vcpu_error(cpu, "guest entry failed, hardware reason 0x%" PRIx64
                              " (invalid guest state)",
                              (uint64_t)run->fail_entry.hardware_entry_failure_reason);
        return EXIT_RETURN_ERROR;
    default:
        kvm_report_vcpu_error(cpu, "unexpected KVM exit reason %u", run->exit_reason);
        return EXIT_RETURN_ERROR;
    }
}

static VCPUExitReason kvm_return_kick(CPUState *cpu)
{
    /* The request is served by leaving guest code; cpus.c now looks at
     * what was asked (stop, work items, machine requests). */
    g_atomic_int_set(&cpu->exit_request, 0);
    return VCPU_EXIT_KICK;
}

static VCPUExitReason kvm_exec_vcpu(CPUState *cpu)
{
    AccelCPUState *acs = cpu->accel;
    struct kvm_run *run = acs->run;
    GError *err = NULL;

    /* "Leave the translation block" means nothing here; left set, it would
     * keep a halted vCPU from ever sleeping. */
    if (cpu->interrupt_request & CPU_INTERRUPT_EXITTB) {
        cpu_reset_interrupt(cpu, CPU_INTERRUPT_EXITTB);
    }
    /* With the in-kernel irqchip, HLT and wait-for-SIPI are handled inside
     * KVM_RUN (the mp_state put at RESET level turned the machine's
     * "halted" into wait-for-SIPI): the thread must stay in KVM_RUN, where
     * interrupts from the kernel's LAPIC wake it, not sleep in cpus.c.
     * Without it, Kestrel cannot inject a maskable interrupt yet: a halted
     * vCPU with one pending resumes after its HLT, which at least drops the
     * big lock inside KVM_RUN. */
    if (kvm_state->irqchip_in_kernel) {
        cpu->env.halted = false;
    } else if (cpu->env.halted) {
        if (!(cpu->interrupt_request
              & (CPU_INTERRUPT_HARD | CPU_INTERRUPT_NMI | CPU_INTERRUPT_INIT))) {
            return VCPU_EXIT_HALT;
        }
        cpu->env.halted = false;
    }

    for (;;) {
        if (cpu->vcpu_dirty) {
            if (!kvm_arch_put_state(cpu, ACCEL_SYNC_RUNTIME, &err)) {
                kvm_report_vcpu_error(cpu, "writing registers to KVM failed: %s",
                                      err->message);
                g_error_free(err);
                return VCPU_EXIT_ERROR;
            }
            cpu->vcpu_dirty = false;
        }
        if (cpu->interrupt_request & CPU_INTERRUPT_NMI) {
            cpu_reset_interrupt(cpu, CPU_INTERRUPT_NMI);
            int ret = kvm_vcpu_ioctl(cpu, KVM_NMI, NULL);
            if (ret < 0) {
                error_report("KVM: vCPU %d: NMI injection failed: %s", cpu->index,
                             g_strerror(-ret));
            }
        }
        if (g_atomic_int_get(&cpu->exit_request)) {
            __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_RELAXED);
        }
        __atomic_signal_fence(__ATOMIC_SEQ_CST);

        bql_unlock();
        int ret = ioctl(acs->fd, KVM_RUN, 0);
        int run_errno = errno;
        bql_lock();

        /* Clear before looking at exit_request (see the kick protocol). */
        __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);

        if (ret < 0) {
            if (run_errno == EINTR || run_errno == EAGAIN) {
                if (g_atomic_int_get(&cpu->exit_request)) {
                    return kvm_return_kick(cpu);
                }
                continue;
            }
            kvm_report_vcpu_error(cpu, "KVM_RUN failed: %s", g_strerror(run_errno));
            return VCPU_EXIT_ERROR;
        }

        switch (kvm_handle_exit(cpu, run)) {
        case EXIT_CONTINUE:
            break;
        case EXIT_RETURN_KICK:
            return kvm_return_kick(cpu);
        case EXIT_RETURN_HALT:
            return VCPU_EXIT_HALT;
        case EXIT_RETURN_ERROR:
            return VCPU_EXIT_ERROR;
        }
        if (g_atomic_int_get(&cpu->exit_request)) {
            return kvm_return_kick(cpu);
        }
    }
}

static bool kvm_set_option(const char *key, const char *value, GError **errp)
{
    if (!strcmp(key, "kernel-irqchip")) {
        if (!strcmp(value, "on") || !strcmp(value, "true")) {
            kvm_kernel_irqchip_wanted = true;
        } else if (!strcmp(value, "off") || !strcmp(value, "false")) {
            kvm_kernel_irqchip_wanted = false;
        } else if (!strcmp(value, "split")) {
            error_setg(errp, "-accel kvm,kernel-irqchip=split is not supported "
                       "(use on or off)");
            return false;
        } else {
            error_setg(errp, "-accel kvm,kernel-irqchip=%s: expected on or off", value);
            return false;
        }
        return true;
    }
    error_setg(errp, "-accel kvm: unknown option '%s' (known: kernel-irqchip)", key);
    return false;
}

static const AccelOps kvm_accel_ops = {
    .name = "kvm",
    .set_option = kvm_set_option,
    .irqchip_in_kernel = kvm_irqchip_in_kernel,
    .set_gsi = kvm_irqchip_set_gsi,
    .init_machine = kvm_init_machine,
    .init_vcpu = kvm_init_vcpu,
    .destroy_vcpu = kvm_destroy_vcpu,
    .exec_vcpu = kvm_exec_vcpu,
    .kick_vcpu = kvm_kick_vcpu,
    .get_state = kvm_get_state,
    .put_state = kvm_put_state,
    .machine_reset = kvm_machine_reset,
    .cleanup = kvm_cleanup,
};

static void kvm_accel_register(void)
{
    accel_register(&kvm_accel_ops);
}
type_init(kvm_accel_register)
