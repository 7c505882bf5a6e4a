/*
 * exceptions-hw: the exceptions-all checks that QEMU's TCG does not
 * perform (segment limits, #AC, #GP for an unknown MSR and a CR4 reserved
 * bit), so that neither it nor the nested KVM harness (whose "hardware" is
 * QEMU's TCG) can serve as the reference: the expected output is what the
 * Intel SDM specifies. Runs under Kestrel's TCG only ("# accel: tcg").
 */
#define EXCEPTIONS_HW_ONLY 1
#include "exceptions-all.c"
