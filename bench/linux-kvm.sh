#!/bin/bash
# Linux boot benchmark under real KVM: Debian's kernel with the busybox
# initramfs of tests/linux, booted to its first userspace line ("the
# marker") under Kestrel -accel kvm and under Debian's qemu-system-x86_64
# -accel kvm (machines pc and microvm), all inside ONE boot of the nested
# KVM harness (tests/kvm/run-harness --bench; docs/testing-kvm.md).
#
#   bench/linux-kvm.sh [-b BUILDDIR] [-n RUNS]
#
# Defaults: BUILDDIR=build, RUNS=1 (boots per VMM, interleaved; medians).
# For each boot: the time from starting the VMM to the marker, and the exits
# to userspace until the marker, counted the same way for every VMM by a
# histogram trigger on the kvm:kvm_userspace_exit tracepoint (one event per
# return from KVM_RUN), by exit reason; also every VM exit (debugfs
# kvm/exits, in-kernel ones included) and the busiest I/O ports.
# Every VMM gets -smp 2 -m 512 -nographic -no-reboot and the same kernel
# command line; QEMU pc also -vga none -nic none (Kestrel has neither).
# Target (informational, never asserted): fewer exits to userspace than
# QEMU pc, time to the marker no worse. The times are the nested guest's
# clock, which runs under TCG: compare them, never quote them as KVM speed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
builddir=$here/build
runs=1
while getopts "b:n:h" opt; do
    case $opt in
    b) builddir=$(cd "$OPTARG" && pwd) ;;
    n) runs=$OPTARG ;;
    *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done

[ -x "$builddir/kestrel-system-x86_64" ] ||
    { echo "linux-kvm.sh: $builddir/kestrel-system-x86_64 not found (build first: ninja -C $builddir)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null ||
    { echo "linux-kvm.sh: qemu-system-x86_64 not found (apt-get install qemu-system-x86)" >&2; exit 1; }

exec "$here/tests/kvm/run-harness" "$builddir" --bench --runs "$runs"
