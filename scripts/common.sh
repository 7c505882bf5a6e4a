# Shared by scripts/demo and scripts/test: install what is missing, build.
# Sourced, not run.

KESTREL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the build and the tests need.
KESTREL_BUILD_PACKAGES="meson ninja-build pkg-config gcc libc6-dev binutils python3 libglib2.0-dev libjson-glib-dev"
KESTREL_TEST_PACKAGES="qemu-system-x86 linux-image-amd64 busybox-static cpio kmod acpica-tools socat"

ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "Installing missing packages: ${missing[*]}"
    local sudo=
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || return 1
}

# build_dir DIR [meson options...]: configure once, then build.
build_kestrel() {
    local dir=$1; shift
    if [ ! -f "$KESTREL_ROOT/$dir/build.ninja" ]; then
        meson setup "$KESTREL_ROOT/$dir" "$KESTREL_ROOT" "$@" >/dev/null || return 1
    fi
    ninja -C "$KESTREL_ROOT/$dir" >/dev/null || ninja -C "$KESTREL_ROOT/$dir"
}
