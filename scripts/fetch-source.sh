#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Download a Debian source package, pinned by version and by the sha256
# of its .orig tarball, into a cache outside the clone and print the
# path of its .dsc.  If Debian has dropped the pinned version, the
# newest one whose version starts with SERIES is used with a loud
# warning (apt checks it against the archive's signed index).
#   fetch-source.sh APT_CONF PACKAGE VERSION ORIG SHA256 SERIES
set -euo pipefail

usage="usage: fetch-source.sh APT_CONF PACKAGE VERSION ORIG SHA256 SERIES"
conf=$(realpath "${1:?$usage}")
pkg=${2:?$usage}
pin_version=${3:?$usage}
pin_orig=${4:?$usage}
pin_sha256=${5:?$usage}
series=${6:?$usage}
cache=${LUKS_SERIES_CACHE:-/var/cache/luks-series}

dsc_of() {
    local v=${1#*:}
    echo "$cache/${pkg}_$v.dsc"
}

mkdir -p "$cache"
version=$pin_version
if [ ! -e "$(dsc_of "$version")" ]; then
    versions() {
        apt-cache -c "$conf" showsrc "$pkg" 2>/dev/null |
            awk -v s="$series" '$1 == "Version:" && index($2, s) == 1 {
                                    print $2 }' | sort -uV
    }
    available=$(versions)
    if [ -z "$available" ]; then
        apt-get -c "$conf" update -q >&2
        available=$(versions)
    fi
    if ! grep -qxF "$pin_version" <<<"$available"; then
        version=$(tail -n 1 <<<"$available")
        if [ -z "$version" ]; then
            echo "fetch-source: no $pkg $series* source package in apt" >&2
            exit 1
        fi
        cat >&2 <<EOT
##############################################################
# WARNING: Debian no longer has $pkg $pin_version
# WARNING: using $version instead; check what uses it
##############################################################
EOT
    fi
    (cd "$cache" && apt-get -c "$conf" source -q --download-only \
        "$pkg=$version" >&2)
fi

if [ "$version" = "$pin_version" ]; then
    echo "$pin_sha256  $cache/$pin_orig" | sha256sum --quiet -c - >&2
fi
dsc_of "$version"
