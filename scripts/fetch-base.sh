#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Download Debian 13's qemu source package (upstream QEMU 10.0.x) into a
# cache outside the clone and print the path of its .dsc.  The pinned
# version is checked against its sha256; if Debian has dropped it for a
# newer 10.0.y, that one is used with a loud warning: check the series
# applies.
set -euo pipefail

conf=${1:?usage: fetch-base.sh APT_CONF}
exec "$(dirname "$0")/fetch-source.sh" "$conf" qemu 1:10.0.13+ds-0+deb13u1 \
    qemu_10.0.13+ds.orig.tar.xz \
    6a0888e806c2ffc0c5f0733e974f9aea55491950d3c47c98669c8b236dde59ae 1:10.0.
