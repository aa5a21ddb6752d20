#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Export base..HEAD of the work tree SRC as git format-patch files into
# DEST, with DEST/series giving their order.  Deterministic: the same
# commits give byte-identical files (no commit hashes, no signature).
set -euo pipefail

src=${1:?usage: export-series.sh SRC DEST}
dest=${2:?}

mkdir -p "$dest"
rm -f "$dest"/*.patch "$dest/series"
git -C "$src" format-patch -q --zero-commit --no-signature --no-numbered \
    --abbrev=12 --full-index --no-renames -o "$dest" base..HEAD
(cd "$dest" && ls -1 -- *.patch 2>/dev/null || true) > "$dest/series"
