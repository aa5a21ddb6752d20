#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Make the built programs reachable under BIN: the tools of the main
# build, the emulator of the system build.  Give both build trees'
# emulators the firmware the pc machine needs (the +ds tarball has
# none): SeaBIOS and VGA BIOSes from Debian's seabios package, iPXE
# option ROMs from ipxe-qemu, and those built from the tree's own
# pc-bios/optionrom.
set -euo pipefail

src=${1:?usage: link-bin.sh SRC BIN}
bin=${2:?}

for build in "$src/build" "$src/build-system"; do
    make -s -C "$build" pc-bios/optionrom/all > /dev/null
    datadir=$(find "$build/qemu-bundle" -type d -path '*/share/qemu' |
              head -n 1)
    if [ -z "$datadir" ]; then
        datadir=$build/qemu-bundle/usr/local/share/qemu
    fi
    mkdir -p "$datadir"
    for f in /usr/share/seabios/*.bin /usr/lib/ipxe/qemu/*.rom \
             "$build"/pc-bios/optionrom/*.bin; do
        ln -sf "$f" "$datadir/"
    done
done

mkdir -p "$bin"
for t in qemu-img qemu-io qemu-nbd storage-daemon/qemu-storage-daemon; do
    ln -sf "$src/build/$t" "$bin/"
done
ln -sf "$src/build-system/qemu-system-x86_64" "$bin/"
