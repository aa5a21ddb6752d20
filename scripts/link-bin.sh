#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Make the built tools reachable under BIN, and give the build tree's
# emulator the firmware the pc machine needs (the +ds tarball has none):
# SeaBIOS and VGA BIOSes from Debian's seabios package, the option ROMs built from
# the tree's own pc-bios/optionrom.
set -euo pipefail

build=${1:?usage: link-bin.sh BUILD_DIR BIN}
bin=${2:?}

make -s -C "$build" pc-bios/optionrom/all > /dev/null
datadir=$(find "$build/qemu-bundle" -type d -path '*/share/qemu' | head -n 1)
if [ -z "$datadir" ]; then
    datadir=$build/qemu-bundle/usr/local/share/qemu
fi
mkdir -p "$datadir"
for f in /usr/share/seabios/*.bin "$build"/pc-bios/optionrom/*.bin; do
    ln -sf "$f" "$datadir/"
done

mkdir -p "$bin"
for t in qemu-img qemu-io qemu-nbd storage-daemon/qemu-storage-daemon \
         qemu-system-x86_64; do
    ln -sf "$build/$t" "$bin/"
done
