#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Create the work tree DEST (a git repository) from a Debian qemu .dsc:
# one commit tagged "base" = upstream source + Debian's build fixes,
# then the series from PATCHES/series applied with git am.
set -euo pipefail

dsc=${1:?usage: setup-tree.sh DSC DEST PATCHES}
dest=${2:?}
patches=${3:?}
# Debian patches the +ds tarball needs to build; nothing else of Debian's
base_patches=(disable-pycotap.patch skip-unpack-edk2-blobs.patch)

dir=$(dirname "$dsc")
orig=$(awk '/^Files:/ { f = 1; next } f && /orig\.tar/ { print $3; exit }' \
       "$dsc")
debian=$(awk '/^Files:/ { f = 1; next } f && /debian\.tar/ { print $3; exit }' \
         "$dsc")
version=$(awk '/^Version:/ { print $2; exit }' "$dsc")

rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
tar -C "$dest.tmp" --strip-components=1 -xJf "$dir/$orig"
for p in "${base_patches[@]}"; do
    tar -xJOf "$dir/$debian" "debian/patches/$p" |
        patch -d "$dest.tmp" -p1 --quiet --no-backup-if-mismatch
done

cd "$dest.tmp"
git init -q -b master
git config user.name "${GIT_AUTHOR_NAME:-LUKS series}"
git config user.email "${GIT_AUTHOR_EMAIL:-luks-series@localhost}"
git config core.abbrev 12
# the per-backend builds of scripts/build.sh (/build/ is QEMU's own)
echo '/build-*/' >> .git/info/exclude
git add -A -f .
GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" \
GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
    git commit -q -m "QEMU $version (Debian source, base build fixes)" \
        -m "Upstream QEMU with Debian's ${base_patches[*]}."
git tag base

# A branch series/NN-NAME at the end of each sub-series NN-NAME/, with
# its cover letter (subject, then text up to the shortlog) as the branch
# description, for scripts/export-series.sh to write it back
end_subseries() {
    local name=$1 cover=$patches/$1/0000-cover-letter.patch
    git branch -f "series/$name" HEAD
    local subject body
    subject=$(git mailinfo "$tmp/msg" /dev/null < "$cover" |
              sed -n 's/^Subject: //p')
    body=$(sed '/^[^ ].* ([0-9]*):$/,$d' "$tmp/msg")
    git config "branch.series/$name.description" "$subject

$body"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
current=
while read -r p; do
    case "$p" in ''|'#'*) continue ;; esac
    dir=$(dirname "$p")
    if [ -n "$current" ] && [ "$dir" != "$current" ]; then
        end_subseries "$current"
    fi
    current=$dir
    git am -q --keep-cr --committer-date-is-author-date "$patches/$p"
done < <(cat "$patches/series" 2>/dev/null)
[ -z "$current" ] || end_subseries "$current"
# rebases move the sub-series branches along
git config rebase.updateRefs true

cd - >/dev/null
rm -rf "$dest"
mv "$dest.tmp" "$dest"
