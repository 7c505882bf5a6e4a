#!/bin/sh
# Builds the initramfs of the small Linux guest used by the nested KVM
# harness, scripts/demo and bench/linux-kvm.sh: Debian's busybox-static and
# tests/linux/init, as an uncompressed newc cpio archive (the kernel unpacks
# it without a decompressor; nothing to gain from compressing 2 MiB).
#
#   tests/linux/build-initramfs.sh OUTPUT.cpio
#
# Rebuilds only when busybox or the init script is newer than OUTPUT.
set -eu

out=${1:?usage: build-initramfs.sh OUTPUT.cpio}
here=$(cd "$(dirname "$0")" && pwd)
init=$here/init
busybox=
for b in /bin/busybox /usr/bin/busybox; do
    [ -x "$b" ] && { busybox=$b; break; }
done
[ -n "$busybox" ] || { echo "build-initramfs.sh: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
# A dynamically linked busybox would need its libraries in the archive.
if command -v file >/dev/null 2>&1 && file -L "$busybox" | grep -q 'dynamically linked'; then
    echo "build-initramfs.sh: $busybox is dynamically linked (apt-get install busybox-static)" >&2
    exit 1
fi
command -v cpio >/dev/null || { echo "build-initramfs.sh: cpio not found (apt-get install cpio)" >&2; exit 1; }

if [ -f "$out" ] && [ "$out" -nt "$busybox" ] && [ "$out" -nt "$init" ] && [ "$out" -nt "$0" ]; then
    exit 0
fi

mkdir -p "$(dirname "$out")"
staging=$(mktemp -d "${TMPDIR:-/tmp}/kestrel-initramfs.XXXXXX")
trap 'rm -rf "$staging"' EXIT
chmod 755 "$staging"
mkdir -p "$staging/bin" "$staging/dev" "$staging/proc" "$staging/sys" "$staging/tmp" "$staging/root"
cp "$busybox" "$staging/bin/busybox"
cp "$init" "$staging/init"
chmod 755 "$staging/bin/busybox" "$staging/init"
ln -s busybox "$staging/bin/sh"
# The kernel opens /dev/console for init before anything is mounted. Only
# root can make the node; /init takes the console itself when it is missing.
if [ "$(id -u)" -eq 0 ]; then
    mknod -m 600 "$staging/dev/console" c 5 1
fi
(cd "$staging" && find . -print | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
