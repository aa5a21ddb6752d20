#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Private apt configuration under build/apt: the machine's own Debian
# mirror (read from /etc/apt), with deb-src for trixie (the QEMU base
# source) and bookworm-backports (meson >= 1.5, stock qemu-utils 10.0).
# Prints the path of the apt.conf to pass with "apt-get -c".
set -euo pipefail

dir=${1:?usage: apt-setup.sh DIR}
mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/sources.list.d"

# The first Debian archive URI configured on this machine (deb822 or
# one-line format), never a host name of our own.
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
         awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit }')
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                 2>/dev/null |
             awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }')
fi
if [ -z "$mirror" ]; then
    echo "apt-setup: no Debian archive found in /etc/apt" >&2
    exit 1
fi

cat > "$dir/sources.list.d/luks-series.sources" <<EOT
Types: deb deb-src
URIs: $mirror
Suites: bookworm-backports trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT

# Never let trixie binaries replace the host's own packages.
cat > "$dir/preferences" <<EOT
Package: *
Pin: release n=trixie
Pin-Priority: 1

Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100
EOT

cat > "$dir/apt.conf" <<EOT
Dir::Etc::SourceList "/etc/apt/sources.list";
Dir::Etc::SourceParts "$dir/all-sources.d";
Dir::Etc::Preferences "$dir/preferences";
Dir::State::Lists "$dir/lists";
APT::Get::Assume-Yes "true";
EOT

# The host's sources plus ours, one directory for apt.
mkdir -p "$dir/all-sources.d"
rm -f "$dir"/all-sources.d/*
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
         "$dir"/sources.list.d/*; do
    [ -e "$f" ] && ln -sf "$f" "$dir/all-sources.d/"
done
echo "$dir/apt.conf"
