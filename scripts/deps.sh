#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install what building and testing the series needs, from Debian's
# archive only.  Idempotent and non-interactive.
set -euo pipefail

conf=${1:?usage: deps.sh APT_CONF}
export DEBIAN_FRONTEND=noninteractive

pkgs=(
    # build
    build-essential gcc-multilib ccache ninja-build pkg-config python3-venv flex bison
    git xz-utils libglib2.0-dev libpixman-1-dev zlib1g-dev libaio-dev
    libgnutls28-dev nettle-dev libgcrypt20-dev librbd-dev libiscsi-dev libssh-dev
    libargon2-dev
    # system emulator firmware (pc machine; NIC option ROMs)
    seabios ipxe-qemu
    # build/bin/qemu-system-x86_64: the libraries of Debian's
    # qemu-system-x86 (scripts/build.sh system)
    libseccomp-dev libcap-ng-dev libattr1-dev liburing-dev libnuma-dev
    libpmem-dev libdaxctl-dev libbpf-dev libblkio-dev libcurl4-gnutls-dev
    libfdt-dev libfuse3-dev libnfs-dev libglusterfs-dev libzstd-dev
    libudev-dev libcapstone-dev libjpeg-dev libpng-dev libsasl2-dev
    libspice-server-dev libslirp-dev libvdeplug-dev librdmacm-dev
    libibverbs-dev libibumad-dev libusb-1.0-0-dev libusbredirparser-dev
    libcacard-dev libncurses-dev libgtk-3-dev libvte-2.91-dev libsdl2-dev
    libepoxy-dev libgbm-dev libdrm-dev libvirglrenderer-dev libbrlapi-dev
    libpipewire-0.3-dev libpulse-dev libasound2-dev libjack-dev
    libselinux1-dev
    # tests: iotests helpers, interop and backend peers
    bzip2 socat file gnutls-bin cryptsetup-bin nbdkit qemu-block-extra
    jq xxd
    python3-cryptography python3-libnbd pylint python3-mypy
    libvirt-daemon-system libvirt-clients
    ceph-mon ceph-osd ceph-common tgt libiscsi-bin
    # sanitizer build, fuzzer and thread-safety analysis
    clang-19 libclang-rt-19-dev
)
# stock qemu-utils and qemu-system-x86 10.0: interop, and the reference
# for the capabilities libvirt finds in build/bin/qemu-system-x86_64
backports=(meson qemu-utils qemu-system-x86)

missing=()
for p in "${pkgs[@]}" "${backports[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok' ||
        missing+=("$p")
done
# meson from bookworm is too old for QEMU 10.0: require >= 1.5
if ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' meson \
        2>/dev/null || echo 0)" ge 1.5; then
    missing+=(meson)
fi
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

apt-get -c "$conf" update -q
apt-get -c "$conf" install -q -y --no-install-recommends "${pkgs[@]}"
# meson and stock QEMU 10.0 come from bookworm-backports
apt-get -c "$conf" install -q -y --no-install-recommends \
    -t bookworm-backports "${backports[@]}"
