#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# LUKS interop with Debian's cryptsetup, both ways: volumes made by the
# patched qemu-img are read by cryptsetup (header, keyslots, and the
# payload decrypted with the volume key cryptsetup recovers), and volumes
# made by cryptsetup are used by the patched qemu tools.
. "$(dirname "$0")/../lib.sh"

SECTOR=$TESTS_DIR/interop/luks-sector.py
printf pw-one > pw1
printf pw-two > pw2
printf pw-five > pw5
S1=$(secret s1 pw-one)
S2=$(secret s2 pw-two)
S5=$(secret s5 pw-five)

# cs_ok KEYFILE IMAGE [CRYPTSETUP_ARGS...]: the password opens the volume
cs_ok() {
    cryptsetup open -q --test-passphrase --key-file "$1" "${@:3}" "$2" ||
        fail "cryptsetup rejects $1 on $2"
}

step "qemu-img create -f luks: cryptsetup reads the header"
"$QEMU_IMG" create -q --object "$S1" -f luks \
    -o key-secret=s1,iter-time=10 qemu.luks 16M
cryptsetup luksDump qemu.luks > dump
grep -q '^Version:[[:space:]]*1$' dump || fail "not LUKS1"
grep -q '^Cipher name:[[:space:]]*aes$' dump || fail "cipher"
grep -q '^Cipher mode:[[:space:]]*xts-plain64$' dump || fail "cipher mode"
grep -q '^Hash spec:[[:space:]]*sha256$' dump || fail "hash"
grep -q '^Key Slot 0: ENABLED' dump || fail "slot 0 not enabled"
cs_ok pw1 qemu.luks
expect_fail cryptsetup open -q --test-passphrase --key-file pw2 qemu.luks

step "data written by qemu-io decrypts with cryptsetup's volume key"
qio "$QEMU_IO" "$S1" "$(luks_opts s1 qemu.luks)" "write -P 0x5a 0 64k"
"$SECTOR" qemu.luks pw1 0 0x5a || fail "sector 0"
"$SECTOR" qemu.luks pw1 127 0x5a || fail "sector 127"

step "qemu-img amend adds a keyslot: cryptsetup opens it"
"$QEMU_IMG" amend -q --object "$S1" --object "$S2" --image-opts \
    "$(luks_opts s1 qemu.luks)" \
    -o state=active,new-secret=s2,keyslot=3,iter-time=10
cryptsetup luksDump qemu.luks | grep -q '^Key Slot 3: ENABLED' ||
    fail "slot 3 not enabled"
cs_ok pw2 qemu.luks --key-slot 3

step "qemu-img amend erases a keyslot: cryptsetup rejects it"
"$QEMU_IMG" amend -q --object "$S2" --image-opts \
    "$(luks_opts s2 qemu.luks)" -o state=inactive,keyslot=0
cryptsetup luksDump qemu.luks | grep -q '^Key Slot 0: DISABLED' ||
    fail "slot 0 not disabled"
expect_fail cryptsetup open -q --test-passphrase --key-file pw1 qemu.luks
"$SECTOR" qemu.luks pw2 0 0x5a || fail "volume key changed"

step "qemu-img detached header: cryptsetup opens it with --header"
"$QEMU_IMG" create -q --object "$S1" -f luks \
    -o key-secret=s1,iter-time=10,detached-header=true qemu.hdr
"$QEMU_IMG" create -q -f raw qemu.data 16M
qio "$QEMU_IO" "$S1" "$(luks_opts s1 qemu.data qemu.hdr)" \
    "write -P 0xa5 0 4k"
cryptsetup luksDump qemu.hdr | grep -q '^Payload offset:[[:space:]]*0$' ||
    fail "detached header has a payload offset"
cs_ok pw1 qemu.data --header qemu.hdr
"$SECTOR" qemu.data pw1 7 0xa5 qemu.hdr || fail "detached sector 7"

step "cryptsetup luksFormat (LUKS1): the patched tools use it"
truncate -s 16M cs.luks
cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 \
    --key-file pw1 cs.luks
cryptsetup luksAddKey -q --pbkdf-force-iterations 1000 --key-slot 5 \
    --key-file pw1 cs.luks pw5
"$QEMU_IMG" info --object "$S1" --image-opts "$(luks_opts s1 cs.luks)" \
    > info
grep -q '^file format: luks$' info || fail "qemu-img info: not luks"
qio "$QEMU_IO" "$S1" "$(luks_opts s1 cs.luks)" "write -P 0x3c 1M 64k"
qio "$QEMU_IO" "$S5" "$(luks_opts s5 cs.luks)" "read -P 0x3c 1M 64k"
"$SECTOR" cs.luks pw5 2048 0x3c || fail "cryptsetup volume: sector 2048"

step "cryptsetup detached header: the patched tools use it"
truncate -s 4M cs.hdr
truncate -s 16M cs.data
cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 \
    --key-file pw1 --header cs.hdr cs.data
qio "$QEMU_IO" "$S1" "$(luks_opts s1 cs.data cs.hdr)" "write -P 0x77 0 8k"
qio "$QEMU_IO" "$S1" "$(luks_opts s1 cs.data cs.hdr)" "read -P 0x77 0 8k"
"$SECTOR" cs.data pw1 15 0x77 cs.hdr || fail "cryptsetup detached: sector 15"

step "qemu-img amend replaces a password: cryptsetup sees the change"
"$QEMU_IMG" amend -q --object "$S2" --object "$S5" --image-opts \
    "$(luks_opts s2 qemu.luks)" \
    -o state=active,new-secret=s5,old-secret=s2,iter-time=10
cryptsetup luksDump qemu.luks | grep -q '^Key Slot 3: DISABLED' ||
    fail "replaced slot 3 not disabled"
cs_ok pw5 qemu.luks
expect_fail cryptsetup open -q --test-passphrase --key-file pw2 qemu.luks
"$SECTOR" qemu.luks pw5 0 0x5a || fail "volume key changed by replace"

step "a password cryptsetup luksAddKey added: qemu-img amend removes it"
cryptsetup luksAddKey -q --pbkdf-force-iterations 1000 --key-slot 6 \
    --key-file pw5 qemu.luks pw1
cs_ok pw1 qemu.luks --key-slot 6
"$QEMU_IMG" amend -q --object "$S1" --object "$S5" --image-opts \
    "$(luks_opts s5 qemu.luks)" -o state=inactive,old-secret=s1
cryptsetup luksDump qemu.luks | grep -q '^Key Slot 6: DISABLED' ||
    fail "slot 6 not disabled"
expect_fail cryptsetup open -q --test-passphrase --key-file pw1 qemu.luks
cs_ok pw5 qemu.luks

step "a password qemu-img amend added: cryptsetup luksKillSlot removes it"
"$QEMU_IMG" amend -q --object "$S5" --object "$S2" --image-opts \
    "$(luks_opts s5 qemu.luks)" \
    -o state=active,new-secret=s2,keyslot=7,iter-time=10
cryptsetup luksKillSlot -q --key-file pw5 qemu.luks 7
expect_fail "$QEMU_IO" --object "$S2" --image-opts "$(luks_opts s2 qemu.luks)" \
    -c "read 0 4k"
qio "$QEMU_IO" "$S5" "$(luks_opts s5 qemu.luks)" "read -P 0x5a 0 64k"

step "qemu-img format onto an existing file: cryptsetup opens it"
truncate -s 32M fmt.img
"$QEMU_IMG" format -q --object "$S1" -f luks -o key-secret=s1,iter-time=10 \
    fmt.img
[ "$(stat -c %s fmt.img)" = $((32 * 1024 * 1024)) ] || fail "resized"
cs_ok pw1 fmt.img
qio "$QEMU_IO" "$S1" "$(luks_opts s1 fmt.img)" "write -P 0x6b 0 64k"
"$SECTOR" fmt.img pw1 3 0x6b || fail "formatted volume: sector 3"

step "qemu-img format refuses a cryptsetup volume without --force"
expect_fail "$QEMU_IMG" format --object "$S1" -f luks -o key-secret=s1 \
    cs.luks
cs_ok pw5 cs.luks

# 4000 stripes of a 192-bit key are 96000 bytes, not whole sectors
for mode in cbc-plain cbc-plain64 ctr-plain64; do
    step "cryptsetup aes-$mode with a 192-bit key: the patched tools use it"
    truncate -s 8M cs192.img
    cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 \
        -c "aes-$mode" -s 192 -h sha256 --key-file pw1 cs192.img
    qio "$QEMU_IO" "$S1" "$(luks_opts s1 cs192.img)" "write -P 0x42 64k 64k"
    "$SECTOR" cs192.img pw1 128 0x42 || fail "aes-192-$mode: sector 128"
    "$QEMU_IMG" amend -q --object "$S1" --object "$S2" --image-opts \
        "$(luks_opts s1 cs192.img)" \
        -o state=active,new-secret=s2,old-secret=s1,iter-time=10
    cs_ok pw2 cs192.img
    expect_fail cryptsetup open -q --test-passphrase --key-file pw1 cs192.img
    "$SECTOR" cs192.img pw2 129 0x42 || fail "aes-192-$mode: key changed"
done

for mode in cbc ctr; do
    step "qemu-img create and format aes-192-$mode: cryptsetup opens them"
    opts=key-secret=s1,iter-time=10,cipher-alg=aes-192,cipher-mode=$mode
    "$QEMU_IMG" create -q --object "$S1" -f luks -o "$opts" q192.luks 8M
    rm -f f192.img && truncate -s 8M f192.img
    "$QEMU_IMG" format -q --object "$S1" -f luks -o "$opts" f192.img
    for img in q192.luks f192.img; do
        cryptsetup luksDump "$img" | grep -q '^MK bits:[[:space:]]*192$' ||
            fail "$img: not a 192-bit key"
        cs_ok pw1 "$img"
        qio "$QEMU_IO" "$S1" "$(luks_opts s1 "$img")" "write -P 0x24 0 64k"
        "$SECTOR" "$img" pw1 5 0x24 || fail "$img: sector 5"
    done
done

step "blockdev-format aes-192-cbc over QMP: the daemon lives on"
truncate -s 8M qmp192.img
"$BIN/qemu-storage-daemon" --object "$S1" \
    --blockdev driver=file,filename=qmp192.img,node-name=f0 \
    --chardev socket,id=m0,path=qmp192.sock,server=on,wait=off \
    --monitor chardev=m0 &
at_exit "kill $! 2>/dev/null"
"$TESTS_DIR/qmp_job.py" qmp192.sock blockdev-format '{"node-name": "f0",
    "options": {"driver": "luks", "key-secret": "s1", "iter-time": 10,
                "cipher-alg": "aes-192", "cipher-mode": "cbc"}}' ||
    fail "blockdev-format aes-192-cbc"
cs_ok pw1 qmp192.img
cryptsetup luksDump qmp192.img | grep -q '^Cipher mode:[[:space:]]*cbc' ||
    fail "blockdev-format: not cbc"

step "a keyslot add cancelled while it writes completes: cryptsetup agrees"
# writes throttled to 64 KiB/s: the 252 KiB of key material take 4 s,
# and the job is cancelled after 1 s, once the change has begun
"$QEMU_IMG" create -q --object "$S1" -f luks -o key-secret=s1,iter-time=10 \
    cancel.luks 16M
"$BIN/qemu-storage-daemon" --object "$S1" --object "$S2" \
    --object throttle-group,id=tg0,x-bps-write=65536 \
    --blockdev driver=file,filename=cancel.luks,node-name=f1 \
    --blockdev driver=throttle,throttle-group=tg0,file=f1,node-name=t1 \
    --blockdev driver=luks,file=t1,key-secret=s1,node-name=l1 \
    --chardev socket,id=m0,path=cancel.sock,server=on,wait=off \
    --monitor chardev=m0 &
at_exit "kill $! 2>/dev/null"
"$TESTS_DIR/qmp_job.py" cancel.sock blockdev-keyslot-add '{"node-name": "l1",
    "new-secret": "s2", "iter-time": 10}' 1 ||
    fail "a keyslot add cancelled once it began did not report success"
[ "$(cryptsetup luksDump cancel.luks | grep -c ': ENABLED$')" = 2 ] ||
    fail "cancelled keyslot add: not exactly two active keyslots"
cs_ok pw1 cancel.luks --key-slot 0
cs_ok pw2 cancel.luks --key-slot 1

step "a LUKS2 volume is probed as luks"
truncate -s 32M l2.img
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --key-file pw1 l2.img
"$QEMU_IMG" info l2.img | grep -q '^file format: luks$' ||
    fail "qemu-img info does not probe LUKS2 as luks"

# cs_all_disabled IMAGE [CRYPTSETUP_ARGS...]: luksDump shows no keyslot
cs_all_disabled() {
    [ "$(cryptsetup luksDump "${@:2}" "$1" | grep -c ': DISABLED$')" = 8 ] ||
        fail "not every keyslot of $1 is disabled"
}

step "qemu-img erase: cryptsetup sees every keyslot disabled"
"$QEMU_IMG" erase -q qemu.luks
cs_all_disabled qemu.luks
expect_fail cryptsetup open -q --test-passphrase --key-file pw5 qemu.luks

step "qemu-img erase of a cryptsetup volume with two passwords"
"$QEMU_IMG" erase -q cs.luks
cs_all_disabled cs.luks
for pw in pw1 pw5; do
    expect_fail cryptsetup open -q --test-passphrase --key-file $pw cs.luks
done

step "qemu-img erase of a cryptsetup detached header"
"$QEMU_IMG" erase -q --image-opts \
    "driver=luks,file.filename=cs.data,header.filename=cs.hdr"
cs_all_disabled cs.hdr
expect_fail cryptsetup open -q --test-passphrase --key-file pw1 \
    --header cs.hdr cs.data

step "qemu-img erase --mode header: cryptsetup no longer sees LUKS"
"$QEMU_IMG" erase -q --mode header qemu.luks
expect_fail cryptsetup isLuks qemu.luks

echo "cryptsetup interop: all checks passed"
