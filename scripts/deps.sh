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
    # system emulator firmware for the iotests (pc machine, qtest)
    seabios
    # tests: iotests helpers, interop and backend peers
    bzip2 socat file gnutls-bin cryptsetup-bin nbdkit qemu-block-extra
    python3-cryptography python3-libnbd pylint python3-mypy
    ceph-mon ceph-osd ceph-common tgt libiscsi-bin
    # sanitizer build, fuzzer and thread-safety analysis
    clang-19 libclang-rt-19-dev
)
backports=(meson qemu-utils)

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
# meson and stock qemu-utils 10.0 come from bookworm-backports
apt-get -c "$conf" install -q -y --no-install-recommends \
    -t bookworm-backports "${backports[@]}"
