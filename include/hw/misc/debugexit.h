/*
 * isa-debug-exit: a test device. A guest write of value V to its port ends
 * the process with exit status (V << 1) | 1 (so a guest can never produce a
 * plain 0 "success" by accident). -device isa-debug-exit,iobase=0x501,iosize=2
 */
#ifndef HW_MISC_DEBUGEXIT_H
#define HW_MISC_DEBUGEXIT_H

#define TYPE_ISA_DEBUG_EXIT "isa-debug-exit"
#define ISA_DEBUG_EXIT_DEFAULT_IOBASE 0x501
#define ISA_DEBUG_EXIT_DEFAULT_IOSIZE 2

#endif
