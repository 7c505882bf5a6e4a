/*
 * The x86 page walk for software TLB misses: no paging, 2-level (with PSE),
 * PAE and 4-level. Sets accessed/dirty bits, checks U/S, R/W (with CR0.WP),
 * NX (with EFER.NXE), SMEP, SMAP and reserved bits, and raises #PF with CR2
 * and the error code.
 */
#include "target/i386/tcg/tcg-cpu.h"

#define PTE_P    (1ull << 0)
#define PTE_RW   (1ull << 1)
#define PTE_US   (1ull << 2)
#define PTE_A    (1ull << 5)
#define PTE_D    (1ull << 6)
#define PTE_PS   (1ull << 7)
#define PTE_G    (1ull << 8)
#define PTE_NX   (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define PTE_ADDR_ALL 0x000fffffffffffffull   /* bits 51..0: reserved above MAXPHYADDR */
#define PAE_PDPTE_RSVD 0x1e6ull              /* bits 8:5 and 2:1 of a PAE PDPTE */
#define PDPTE_1G_RSVD 0x3fffe000ull          /* bits 29:13 of a 1 GiB page */
#define PDE_2M_RSVD 0x1fe000ull              /* bits 20:13 of a 2 MiB page */
#define CPUID_EXT2_PDPE1GB (1u << 26)        /* leaf 0x80000001 EDX */

typedef struct Walk {
    hwaddr entry_addr[5];
    uint64_t entry[5];
    unsigned entry_size;
    int levels;
} Walk;

static bool page_fault(TcgCpu *c, uint64_t addr, uint32_t err, bool probe)
{
    if (probe) {
        return false;
    }
    c->env->cr[2] = addr;
    raise_exception_err(c, EXCP_PF, err);
}

bool x86_tlb_fill(TcgCpu *c, uint64_t addr, MMUAccessType access, int mmu_idx, bool probe,
                  TLBFillResult *out)
{
    CPUX86State *env = c->env;
    bool is_user = mmu_idx == MMU_IDX_USER;
    bool is_write = access == MMU_DATA_STORE;
    bool is_exec = access == MMU_INST_FETCH;
    bool nxe = (env->efer & EFER_NXE) != 0;
    bool wp = (env->cr[0] & CR0_WP) != 0;
    uint64_t rsvd_nx = nxe ? 0 : PTE_NX;
    uint32_t err = (is_write ? PF_ERR_W : 0) | (is_user ? PF_ERR_U : 0) |
                   (is_exec && (nxe || (env->cr[4] & CR4_SMEP)) ? PF_ERR_I : 0);
    bool user_ok = true, write_ok = true, exec_ok = true;
    uint64_t page_size = KESTREL_PAGE_SIZE, base, final;
    Walk w = { .levels = 0 };
    uint32_t phys_bits, unused;
    uint64_t rsvd_addr;
    bool gb_pages = (env->cpuid_features[2] & CPUID_EXT2_PDPE1GB) != 0;

    if (!(env->cr[0] & CR0_PG)) {
        out->phys = addr & 0xfffff000u;
        out->prot = PAGE_READ | PAGE_WRITE | PAGE_EXEC;
        out->large_page = false;
        out->global = false;
        return true;
    }

    /* Address bits at or above MAXPHYADDR are reserved in every entry. */
    x86_cpu_get_cpuid(env, 0x80000008, 0, &phys_bits, &unused, &unused, &unused);
    phys_bits &= 0xff;
    if (phys_bits < 32 || phys_bits > 52) {
        phys_bits = 36;
    }
    rsvd_addr = PTE_ADDR_ALL & ~((1ull << phys_bits) - 1);

    if ((env->efer & EFER_LMA) || (env->cr[4] & CR4_PAE)) {
        /* 8-byte entries, 9 address bits a level: PML4, PDPT, PD, PT. PAE
         * reads its PDPTE, then walks the last two levels. */
        static const unsigned shifts[4] = { 39, 30, 21, 12 };
        uint64_t table;
        int first_lvl;
        if (env->efer & EFER_LMA) {
            if ((uint64_t)((int64_t)(addr << 16) >> 16) != addr) {
                if (probe) {
                    return false;
                }
                raise_exception_err(c, EXCP_GP, 0);
            }
            table = env->cr[3] & PTE_ADDR;
            first_lvl = 0;
        } else {
            hwaddr pdpte_addr = (env->cr[3] & 0xffffffe0u) + ((addr >> 30) & 3) * 8;
            uint64_t pdpte = tcg_phys_ld(c, pdpte_addr, 8);
            addr = (uint32_t)addr;
            if (!(pdpte & PTE_P)) {
                return page_fault(c, addr, err, probe);
            }
            if (pdpte & (rsvd_addr | PTE_NX | PAE_PDPTE_RSVD)) {
                return page_fault(c, addr, err | PF_ERR_P | PF_ERR_RSVD, probe);
            }
            table = pdpte & PTE_ADDR;
            first_lvl = 2;
        }
        w.entry_size = 8;
        for (int lvl = first_lvl; lvl < 4; lvl++) {
            hwaddr ea = table + ((addr >> shifts[lvl]) & 0x1ff) * 8;
            uint64_t e = tcg_phys_ld(c, ea, 8);
            w.entry_addr[w.levels] = ea;
            w.entry[w.levels++] = e;
            if (!(e & PTE_P)) {
                return page_fault(c, addr, err, probe);
            }
            if ((e & (rsvd_nx | rsvd_addr)) || (lvl == 0 && (e & PTE_PS)) ||
                (lvl == 1 && (e & PTE_PS) && (!gb_pages || (e & PDPTE_1G_RSVD))) ||
                (lvl == 2 && (e & PTE_PS) && (e & PDE_2M_RSVD))) {
                return page_fault(c, addr, err | PF_ERR_P | PF_ERR_RSVD, probe);
            }
            user_ok &= (e & PTE_US) != 0;
            write_ok &= (e & PTE_RW) != 0;
            exec_ok &= !(nxe && (e & PTE_NX));
            if ((lvl == 1 || lvl == 2) && (e & PTE_PS)) {
                page_size = 1ull << shifts[lvl];    /* 1 GiB or 2 MiB */
                break;
            }
            table = e & PTE_ADDR;
        }
        final = w.entry[w.levels - 1];
        base = final & PTE_ADDR & ~(page_size - 1);
    } else {
        hwaddr pde_addr = (env->cr[3] & 0xfffff000u) + ((addr >> 22) & 0x3ff) * 4;
        uint64_t pde = tcg_phys_ld(c, pde_addr, 4);
        addr = (uint32_t)addr;
        w.entry_size = 4;
        w.entry_addr[w.levels] = pde_addr;
        w.entry[w.levels++] = pde;
        if (!(pde & PTE_P)) {
            return page_fault(c, addr, err, probe);
        }
        user_ok &= (pde & PTE_US) != 0;
        write_ok &= (pde & PTE_RW) != 0;
        if ((pde & PTE_PS) && (env->cr[4] & CR4_PSE)) {
            /* PSE-36: bits 13+ hold address bits 32+ up to MAXPHYADDR
             * (at most 40); bit 21 and those above are reserved. */
            uint64_t pse_rsvd = ((1ull << 22) - 1) & ~((1ull << (13 + (phys_bits > 40 ? 8 : phys_bits - 32))) - 1);
            if (pde & pse_rsvd) {
                return page_fault(c, addr, err | PF_ERR_P | PF_ERR_RSVD, probe);
            }
            page_size = 1ull << 22;
            /* PSE-36: PDE bits 13..20 are physical address bits 32..39. */
            base = (pde & 0xffc00000u) | ((pde & 0x1fe000u) << 19);
        } else {
            hwaddr pte_addr = (pde & 0xfffff000u) + ((addr >> 12) & 0x3ff) * 4;
            uint64_t pte = tcg_phys_ld(c, pte_addr, 4);
            w.entry_addr[w.levels] = pte_addr;
            w.entry[w.levels++] = pte;
            if (!(pte & PTE_P)) {
                return page_fault(c, addr, err, probe);
            }
            user_ok &= (pte & PTE_US) != 0;
            write_ok &= (pte & PTE_RW) != 0;
            base = pte & 0xfffff000u;
        }
        final = w.entry[w.levels - 1];
    }

    /* Permissions. */
    if (is_user) {
        if (!user_ok || (is_write && !write_ok)) {
            return page_fault(c, addr, err | PF_ERR_P, probe);
        }
    } else {
        if (is_write && !write_ok && wp) {
            return page_fault(c, addr, err | PF_ERR_P, probe);
        }
        if (is_exec && user_ok && (env->cr[4] & CR4_SMEP)) {
            return page_fault(c, addr, err | PF_ERR_P, probe);
        }
        if (!is_exec && user_ok && (env->cr[4] & CR4_SMAP) && mmu_idx != MMU_IDX_KERNEL_AC) {
            /* SMAP: supervisor data access to a user page, with AC clear
             * or implicit (descriptor tables, TSS, delivery pushes). */
            return page_fault(c, addr, err | PF_ERR_P, probe);
        }
    }
    if (is_exec && !exec_ok) {
        return page_fault(c, addr, err | PF_ERR_P, probe);
    }

    /* Accessed bits on every level; dirty on the last for a write. */
    for (int k = 0; k < w.levels; k++) {
        uint64_t bits = PTE_A;
        if (k == w.levels - 1 && is_write) {
            bits |= PTE_D;
        }
        if ((w.entry[k] & bits) != bits) {
            tcg_phys_or(c, w.entry_addr[k], bits, w.entry_size);
        }
    }

    out->prot = PAGE_READ;
    if ((is_user ? write_ok : (write_ok || !wp)) && ((final & PTE_D) || is_write)) {
        /* Writes go on the fast path only once D is set. */
        out->prot |= PAGE_WRITE;
    }
    if (!is_user && user_ok && (env->cr[4] & CR4_SMAP) && mmu_idx != MMU_IDX_KERNEL_AC) {
        /* Filled by a fetch: data accesses must still take the SMAP check. */
        out->prot &= ~(PAGE_READ | PAGE_WRITE);
    }
    if (exec_ok && !(!is_user && user_ok && (env->cr[4] & CR4_SMEP))) {
        out->prot |= PAGE_EXEC;
    }
    out->phys = (base | (addr & (page_size - 1))) & ~(uint64_t)(KESTREL_PAGE_SIZE - 1);
    out->large_page = page_size > KESTREL_PAGE_SIZE;
    /* G counts on the leaf only (a 4 KiB PTE or a PS=1 directory entry). */
    out->global = (env->cr[4] & CR4_PGE) && (final & PTE_G);
    return true;
}
