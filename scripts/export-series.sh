#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Export the work tree SRC as the sub-series it is posted as: each branch
# series/NN-NAME of SRC ends a sub-series (the commits since the previous
# one, or since base), and its branch description is the cover letter
# (first line the subject, then the text).  Each goes to DEST/NN-NAME/ as
# git format-patch files with a cover letter, and DEST/series lists every
# patch in the one order git am applies them.  Deterministic: the same
# commits and descriptions give byte-identical files (no commit hashes,
# no signature, dates from the commits).
set -euo pipefail

src=${1:?usage: export-series.sh SRC DEST}
dest=${2:?}

mapfile -t branches < <(git -C "$src" for-each-ref --sort=refname \
                            --format='%(refname:short)' 'refs/heads/series/')
if [ "${#branches[@]}" -eq 0 ]; then
    echo "export-series: no series/NN-NAME branch in $src" >&2
    exit 1
fi

mkdir -p "$dest"
rm -rf "$dest"/[0-9][0-9]-*/ "$dest"/*.patch "$dest/series"
prev=base
for b in "${branches[@]}"; do
    name=${b#series/}
    if ! git -C "$src" merge-base --is-ancestor "$prev" "$b"; then
        echo "export-series: $b does not follow $prev" >&2
        exit 1
    fi
    if [ -z "$(git -C "$src" config "branch.$b.description" || true)" ]; then
        echo "export-series: $b has no cover letter" \
             "(git branch --edit-description $b)" >&2
        exit 1
    fi
    git -C "$src" format-patch -q --zero-commit --no-signature --numbered \
        --cover-letter --cover-from-description=subject \
        --abbrev=12 --full-index --no-renames -o "$dest/$name" "$prev..$b"
    # the cover letter would carry the tip's committer date, which a new
    # work tree made from these files does not reproduce: use its author date
    date=$(git -C "$src" log -1 --format=%aD "$b")
    sed -i "0,/^Date: /s/^Date: .*/Date: $date/" \
        "$dest/$name/0000-cover-letter.patch"
    (cd "$dest" && ls -1 -- "$name"/*.patch | grep -v /0000-cover-letter) \
        >> "$dest/series"
    prev=$b
done

if [ "$(git -C "$src" rev-parse "$prev")" != \
     "$(git -C "$src" rev-parse HEAD)" ]; then
    echo "export-series: HEAD is not the end of ${branches[-1]}:" \
         "commits after it belong to no sub-series" >&2
    exit 1
fi
