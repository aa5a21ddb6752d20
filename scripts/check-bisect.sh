#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build every prefix of the series (base, base+1, ... HEAD) incrementally
# in a separate worktree, so that each patch builds on its own.
set -euo pipefail

top=${1:?usage: check-bisect.sh TOP}
src=$top/build/qemu
wt=$top/build/bisect

if [ ! -d "$wt" ]; then
    git -C "$src" worktree add -q --detach "$wt" base
fi
for c in $(git -C "$src" rev-list --reverse base..HEAD); do
    echo "== $(git -C "$src" log -1 --format='%h %s' "$c")"
    git -C "$wt" checkout -q --detach "$c"
    "$top/scripts/build.sh" "$wt" main > "$top/build/bisect.log" 2>&1 || {
        tail -n 30 "$top/build/bisect.log"
        echo "check-bisect: build fails at $c" >&2
        exit 1
    }
done
echo "check-bisect: $(git -C "$src" rev-list --count base..HEAD) patches" \
     "build one by one"
