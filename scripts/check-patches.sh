#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run QEMU's checkpatch.pl over every patch of the series: 0 errors.
set -euo pipefail

src=${1:?usage: check-patches.sh SRC PATCHES}
patches=${2:?}
errors=0
n=0
while read -r p; do
    case "$p" in ''|'#'*) continue ;; esac
    n=$((n + 1))
    if ! (cd "$src" && scripts/checkpatch.pl -q "$patches/$p"); then
        echo "checkpatch: errors in $p" >&2
        errors=$((errors + 1))
    fi
done < <(cat "$patches/series" 2>/dev/null)
echo "checkpatch: $n patches, $errors with errors"
[ "$errors" -eq 0 ]
