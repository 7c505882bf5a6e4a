/* The e820-style physical memory map a PC firmware reports to its OS. */
#ifndef HW_I386_E820_H
#define HW_I386_E820_H

#include "kestrel/osdep.h"

#define E820_RAM        1
#define E820_RESERVED   2

typedef struct E820Entry {
    uint64_t addr;
    uint64_t len;
    uint32_t type;
} E820Entry;

#endif
