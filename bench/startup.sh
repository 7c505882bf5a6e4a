#!/bin/bash
# Start-up benchmark: boots tests/guest/hello.elf (prints one line, exits
# through isa-debug-exit) under Kestrel and under Debian's qemu-system-x86_64,
# both with -accel tcg, in the same run, and reports the median wall time
# (start to exit) and the median peak RSS of each, and their ratios.
#
#   bench/startup.sh [-b BUILDDIR] [-n RUNS] [-m MEM_MIB]
#
# Defaults: BUILDDIR=build, RUNS=11, MEM_MIB=128. Environment: KESTREL and
# HELLO override the binary and the payload, QEMU the reference binary.
# Targets (informational, never asserted): Kestrel under 20 ms and under
# 10 MiB peak RSS for a 128 MiB guest.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
builddir=$here/build
runs=11
mem=128
while getopts "b:n:m:h" opt; do
    case $opt in
    b) builddir=$(cd "$OPTARG" && pwd) ;;
    n) runs=$OPTARG ;;
    m) mem=$OPTARG ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done

kestrel=${KESTREL:-$builddir/kestrel-system-x86_64}
hello=${HELLO:-$builddir/tests/guest/hello.elf}
qemu=${QEMU:-qemu-system-x86_64}
time_bin=/usr/bin/time

for f in "$kestrel" "$hello"; do
    [ -e "$f" ] || { echo "startup.sh: $f not found (build first: ninja -C $builddir)" >&2; exit 1; }
done
command -v "$qemu" >/dev/null || { echo "startup.sh: $qemu not found (apt-get install qemu-system-x86)" >&2; exit 1; }
[ -x "$time_bin" ] || { echo "startup.sh: $time_bin not found (apt-get install time)" >&2; exit 1; }

common=(-accel tcg -M pc -m "$mem" -nodefaults -nographic
        -device isa-debug-exit,iobase=0xf4,iosize=0x4 -kernel "$hello")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME BINARY: one timed run; appends "wall_us rss_kib" to $tmp/NAME.
run() {
    local name=$1 bin=$2 start end status
    start=$(date +%s%N)
    set +e
    "$time_bin" -f %M -o "$tmp/rss" "$bin" "${common[@]}" </dev/null >"$tmp/out" 2>"$tmp/err"
    status=$?
    set -e
    end=$(date +%s%N)
    if [ "$status" -ne 1 ]; then
        echo "startup.sh: $name exited with status $status, expected 1 (hello exits with code 0)" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
    echo "$(( (end - start) / 1000 )) $(tail -n 1 "$tmp/rss")" >>"$tmp/$name"
}

median() {   # median of column $2 of file $1
    sort -n -k "$2,$2" "$1" | awk -v col="$2" '{ v[NR] = $col } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One warm-up run each (page cache, dynamic linker), then interleaved runs
# so that background load affects both the same way.
run warmup-kestrel "$kestrel"
run warmup-qemu "$qemu"
for ((i = 0; i < runs; i++)); do
    run kestrel "$kestrel"
    run qemu "$qemu"
done

k_wall=$(median "$tmp/kestrel" 1); q_wall=$(median "$tmp/qemu" 1)
k_rss=$(median "$tmp/kestrel" 2);  q_rss=$(median "$tmp/qemu" 2)

awk -v kw="$k_wall" -v qw="$q_wall" -v kr="$k_rss" -v qr="$q_rss" -v runs="$runs" \
    -v mem="$mem" -v qemu="$qemu" 'BEGIN {
    printf "start-up to exit of hello.elf, -accel tcg -m %d, median of %d runs\n\n", mem, runs
    printf "%-28s %12s %16s\n", "", "wall (ms)", "peak RSS (MiB)"
    printf "%-28s %12.1f %16.1f\n", "kestrel-system-x86_64", kw / 1000, kr / 1024
    printf "%-28s %12.1f %16.1f\n", qemu, qw / 1000, qr / 1024
    printf "%-28s %12.2f %16.2f\n", "ratio kestrel / qemu", kw / qw, kr / qr
    printf "\ntargets for kestrel: wall < 20 ms: %s, peak RSS < 10 MiB: %s\n",
        (kw < 20000 ? "met" : "missed"), (kr < 10240 ? "met" : "missed")
}'
