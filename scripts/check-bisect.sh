#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build every prefix of the series (base+1, ... HEAD) incrementally, so
# that each patch builds on its own.  It checks the commits out in the
# work tree itself, whose build directory and ccache make each step
# incremental, and returns to where it was; so the tree must be clean.
set -euo pipefail

top=${1:?usage: check-bisect.sh TOP}
src=$top/build/qemu
log=$top/build/bisect.log

if ! git -C "$src" diff --quiet HEAD --; then
    echo "check-bisect: $src has uncommitted changes" >&2
    exit 1
fi
head=$(git -C "$src" symbolic-ref -q --short HEAD ||
       git -C "$src" rev-parse HEAD)
trap 'git -C "$src" checkout -q "$head"' EXIT

n=0
for c in $(git -C "$src" rev-list --reverse base..HEAD); do
    echo "== $(git -C "$src" log -1 --format='%h %s' "$c")"
    git -C "$src" checkout -q --detach "$c"
    if ! "$top/scripts/build.sh" "$src" main > "$log" 2>&1; then
        tail -n 30 "$log"
        echo "check-bisect: the build fails at $c" >&2
        exit 1
    fi
    n=$((n + 1))
done
echo "check-bisect: $n patches build one by one"
