#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build every prefix of the series (base+1, ... HEAD of the work tree)
# incrementally, so that each patch builds on its own.  The commits are
# checked out in a worktree of their own, build/bisect, whose build
# directory and ccache make each step incremental; the work tree is left
# alone and may be edited meanwhile.
set -euo pipefail

top=${1:?usage: check-bisect.sh TOP}
src=$top/build/qemu
wt=$top/build/bisect
log=$top/build/bisect.log

if [ ! -e "$wt/.git" ]; then
    git -C "$src" worktree prune
    git -C "$src" worktree add -q --detach "$wt" base
fi

n=0
for c in $(git -C "$src" rev-list --reverse base..HEAD); do
    echo "== $(git -C "$src" log -1 --format='%h %s' "$c")"
    git -C "$wt" checkout -q --detach "$c"
    if ! "$top/scripts/build.sh" "$wt" main > "$log" 2>&1; then
        tail -n 30 "$log"
        echo "check-bisect: the build fails at $c" >&2
        exit 1
    fi
    n=$((n + 1))
done
echo "check-bisect: $n patches build one by one"
