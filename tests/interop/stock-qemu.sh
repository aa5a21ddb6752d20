#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Interop with Debian's unpatched qemu-utils 10.0 (bookworm-backports),
# both ways: raw LUKS, LUKS in qcow2 and detached headers made by one
# side are opened, read and written by the other.
. "$(dirname "$0")/../lib.sh"

S1=$(secret s1 pw-one)
S2=$(secret s2 pw-two)

"$STOCK_QEMU_IMG" --version | grep -q '^qemu-img version 10\.0\.' ||
    fail "stock qemu-img is not 10.0: $("$STOCK_QEMU_IMG" --version)"

qcow2_opts() {
    echo "driver=qcow2,encrypt.key-secret=$1,file.filename=$2"
}

# tool patched|stock NAME: path of qemu-NAME of either build
tool() {
    [ "$1" = patched ] && echo "$BIN/qemu-$2" || echo "/usr/bin/qemu-$2"
}

# both_ways NAME CREATE_ARGS OPTS_FN: each tool writes, the other reads
both_ways() {
    local name=$1 create=$2 opts=$3 a b
    for a in patched stock; do
        [ $a = patched ] && b=stock || b=patched
        step "$name: made by $a qemu-img, written by $a, read by $b"
        rm -f "$name.img"
        # shellcheck disable=SC2086
        "$(tool $a img)" create -q --object "$S1" $create "$name.img" 16M
        qio "$(tool $a io)" "$S1" "$($opts s1 "$name.img")" \
            "write -P 0x11 0 64k"
        qio "$(tool $b io)" "$S1" "$($opts s1 "$name.img")" \
            "read -P 0x11 0 64k"
        qio "$(tool $b io)" "$S1" "$($opts s1 "$name.img")" \
            "write -P 0x22 1M 64k"
        qio "$(tool $a io)" "$S1" "$($opts s1 "$name.img")" \
            "read -P 0x22 1M 64k"
    done
}

both_ways luks "-f luks -o key-secret=s1,iter-time=10" luks_opts
both_ways qcow2 \
    "-f qcow2 -o encrypt.format=luks,encrypt.key-secret=s1,encrypt.iter-time=10" \
    qcow2_opts

step "keyslot added by patched qemu-img amend opens in stock qemu-io"
"$STOCK_QEMU_IMG" create -q --object "$S1" -f luks \
    -o key-secret=s1,iter-time=10 k.luks 16M
qio "$STOCK_QEMU_IO" "$S1" "$(luks_opts s1 k.luks)" "write -P 0x33 0 4k"
"$QEMU_IMG" amend -q --object "$S1" --object "$S2" --image-opts \
    "$(luks_opts s1 k.luks)" -o state=active,new-secret=s2,iter-time=10
qio "$STOCK_QEMU_IO" "$S2" "$(luks_opts s2 k.luks)" "read -P 0x33 0 4k"

step "keyslot erased by stock qemu-img amend is gone for patched qemu-io"
"$STOCK_QEMU_IMG" amend -q --object "$S2" --image-opts \
    "$(luks_opts s2 k.luks)" -o state=inactive,keyslot=0
expect_fail "$QEMU_IO" --object "$S1" --image-opts "$(luks_opts s1 k.luks)" \
    -c "read 0 4k"
qio "$QEMU_IO" "$S2" "$(luks_opts s2 k.luks)" "read -P 0x33 0 4k"

step "password replaced by patched qemu-img amend: stock qemu-io agrees"
"$QEMU_IMG" amend -q --object "$S1" --object "$S2" --image-opts \
    "$(luks_opts s2 k.luks)" \
    -o state=active,new-secret=s1,old-secret=s2,iter-time=10
qio "$STOCK_QEMU_IO" "$S1" "$(luks_opts s1 k.luks)" "read -P 0x33 0 4k"
expect_fail "$STOCK_QEMU_IO" --object "$S2" --image-opts \
    "$(luks_opts s2 k.luks)" -c "read 0 4k"

# Debian's qemu-img rejects detached-header=true (its qemu-img-options
# patch), so the detached header is made by the patched tool; both sides
# then use it.
step "detached header made by patched qemu-img, used by both"
"$QEMU_IMG" create -q --object "$S1" -f luks \
    -o key-secret=s1,iter-time=10,detached-header=true d.hdr
"$QEMU_IMG" create -q -f raw d.data 16M
qio "$QEMU_IO" "$S1" "$(luks_opts s1 d.data d.hdr)" "write -P 0x44 0 64k"
qio "$STOCK_QEMU_IO" "$S1" "$(luks_opts s1 d.data d.hdr)" \
    "read -P 0x44 0 64k"
qio "$STOCK_QEMU_IO" "$S1" "$(luks_opts s1 d.data d.hdr)" \
    "write -P 0x55 64k 64k"
qio "$QEMU_IO" "$S1" "$(luks_opts s1 d.data d.hdr)" "read -P 0x55 64k 64k"

step "erased by patched qemu-img: stock qemu sees no usable keyslot"
for img in luks.img k.luks; do
    "$QEMU_IMG" erase -q "$img"
    expect_fail "$STOCK_QEMU_IO" --object "$S1" --object "$S2" \
        --image-opts "$(luks_opts s1 "$img")" -c "read 0 4k"
    expect_fail "$STOCK_QEMU_IO" --object "$S2" \
        --image-opts "$(luks_opts s2 "$img")" -c "read 0 4k"
    [ "$("$STOCK_QEMU_IMG" info "$img" | grep -c 'active: false')" = 8 ] ||
        fail "stock qemu-img info: not every keyslot of $img inactive"
done

echo "stock qemu interop: all checks passed"
