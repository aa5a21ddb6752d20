#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fail when PATCHES does not match base..HEAD of the work tree SRC, or
# when the work tree has uncommitted changes to tracked files.
set -euo pipefail

src=${1:?usage: check-series.sh SRC PATCHES}
patches=${2:?}
here=$(dirname "$0")

if ! git -C "$src" diff --quiet HEAD --; then
    echo "check-series: $src has uncommitted changes:" >&2
    git -C "$src" status --short --untracked-files=no >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/export-series.sh" "$src" "$tmp"
if ! diff -ru "$patches" "$tmp" > "$tmp.diff"; then
    echo "check-series: patches/ differs from $src (run 'make series')" >&2
    head -n 40 "$tmp.diff" >&2
    rm -f "$tmp.diff"
    exit 1
fi
rm -f "$tmp.diff"
