#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Download Debian 13's qemu source package (upstream QEMU 10.0.x) into a
# cache outside the clone and print the path of its .dsc.  The pinned
# version is checked against its sha256; if Debian has dropped it for a
# newer 10.0.y, that one is used with a loud warning.
set -euo pipefail

conf=${1:?usage: fetch-base.sh APT_CONF}
cache=${LUKS_SERIES_CACHE:-/var/cache/luks-series}
pin_version=1:10.0.13+ds-0+deb13u1
pin_orig=qemu_10.0.13+ds.orig.tar.xz
pin_sha256=6a0888e806c2ffc0c5f0733e974f9aea55491950d3c47c98669c8b236dde59ae

dsc_of() {
    local v=${1#*:}
    echo "$cache/qemu_$v.dsc"
}

mkdir -p "$cache"
version=$pin_version
if [ ! -e "$(dsc_of "$version")" ]; then
    versions() {
        apt-cache -c "$conf" showsrc qemu 2>/dev/null |
            awk '/^Version: 1:10\.0\./ { print $2 }' | sort -V
    }
    available=$(versions)
    if [ -z "$available" ]; then
        apt-get -c "$conf" update -q >&2
        available=$(versions)
    fi
    if ! grep -qxF "$pin_version" <<<"$available"; then
        version=$(tail -n 1 <<<"$available")
        if [ -z "$version" ]; then
            echo "fetch-base: no qemu 10.0.x source package in apt" >&2
            exit 1
        fi
        cat >&2 <<EOT
##############################################################
# WARNING: Debian no longer has qemu $pin_version
# WARNING: using $version instead; check the series applies
##############################################################
EOT
    fi
    (cd "$cache" && apt-get -c "$conf" source -q --download-only \
        "qemu=$version" >&2)
fi

if [ "$version" = "$pin_version" ]; then
    echo "$pin_sha256  $cache/$pin_orig" | sha256sum --quiet -c - >&2
fi
dsc_of "$version"
