#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# qemu-img format onto a Ceph RBD image made out of band by "rbd
# create", on a real single-node cluster (one monitor, one memstore
# OSD, loopback only) that this test starts and stops; the image,
# exported by rbd, is a LUKS volume cryptsetup accepts.  LUKS2 both
# ways with librbd's own encryption: an image "rbd encryption format"
# made reads and writes the same through QEMU's luks driver as through
# librbd, and so does one that qemu-img format made LUKS2; a password
# qemu-img amend puts in LUKS2 that rbd made opens it in librbd, and
# after qemu-img erase no password does.
. "$(dirname "$0")/../lib.sh"

CEPH=$WORK/ceph
CONF=$CEPH/ceph.conf

# ceph_daemon NAME CMD...: start a Ceph daemon in the foreground of its
# own session, stopped when the test exits
ceph_daemon() {
    setsid "${@:2}" -c "$CONF" -f < /dev/null > "$CEPH/$1.out" 2>&1 &
    echo $! > "$CEPH/$1.daemon-pid"
    at_exit "kill \$(cat '$CEPH/$1.daemon-pid'); wait \$(cat '$CEPH/$1.daemon-pid')"
}

# wait_log FILE PATTERN: wait up to 60 s for PATTERN in FILE
wait_log() {
    local i
    for i in $(seq 600); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "no '$2' in $1"
}

ceph_start() {
    local fsid osd_uuid key mon
    mkdir -p "$CEPH/mon" "$CEPH/osd" "$CEPH/run" "$CEPH/crash"
    fsid=$(cat /proc/sys/kernel/random/uuid)
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    mon="[v2:127.0.0.1:$(free_port),v1:127.0.0.1:$(free_port)]"
    cat > "$CONF" <<CONF
[global]
fsid = $fsid
mon host = $mon
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd objectstore = memstore
memstore device bytes = 1073741824
mon mgr mkfs grace = 31536000
paxos propose interval = 0.05
paxos min wait = 0.01
osd fast shutdown notify mon = false
keyring = $CEPH/admin.keyring
log file = $CEPH/\$name.log
pid file = $CEPH/\$name.pid
admin socket = $CEPH/\$name.asok
run dir = $CEPH/run
crash dir = $CEPH/crash
mon cluster log file = $CEPH/cluster.log
mon data = $CEPH/mon
osd data = $CEPH/osd
osd journal = $CEPH/osd/journal
[mon]
keyring = $CEPH/mon/keyring
[osd]
keyring = $CEPH/osd/keyring
CONF
    {
        ceph-authtool --create-keyring "$CEPH/mon.keyring" --gen-key -n mon. \
            --cap mon 'allow *'
        ceph-authtool --create-keyring "$CEPH/admin.keyring" --gen-key \
            -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
            --cap mgr 'allow *'
        ceph-authtool "$CEPH/mon.keyring" --import-keyring \
            "$CEPH/admin.keyring"
        monmaptool --create --fsid "$fsid" --addv a "$mon" "$CEPH/monmap"
    } > /dev/null
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH/monmap" \
        --keyring "$CEPH/mon.keyring"
    ceph_daemon mon ceph-mon -i a

    key=$(ceph-authtool --gen-print-key)
    echo "{\"cephx_secret\": \"$key\"}" > "$CEPH/osd-secret.json"
    ceph -c "$CONF" osd new "$osd_uuid" -i "$CEPH/osd-secret.json" > /dev/null
    ceph-authtool --create-keyring "$CEPH/osd/keyring" --name osd.0 \
        --add-key "$key" > /dev/null
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" > /dev/null 2>&1 ||
        fail "ceph-osd --mkfs"
    ceph_daemon osd ceph-osd -i 0
    wait_log "$CEPH/osd.0.log" "state: booting -> active"
    ceph -c "$CONF" osd pool create rbd 8 > /dev/null 2>&1
    rbd -c "$CONF" pool init rbd
}

step "start a single-node Ceph cluster"
start=$(date +%s%N)
ceph_start
echo "cluster ready in $((($(date +%s%N) - start) / 1000000)) ms"

step "qemu-img format onto an image made by rbd create"
rbd -c "$CONF" create --size 64M rbd/vol
check_format "rbd:rbd/vol:conf=$CONF" \
    "file.driver=rbd,file.pool=rbd,file.image=vol,file.conf=$CONF" 64M
size=$(rbd -c "$CONF" info rbd/vol --format json |
       python3 -c 'import json, sys; print(json.load(sys.stdin)["size"])')
[ "$size" = $((64 << 20)) ] || fail "the image was resized to $size"

step "the exported image is LUKS for cryptsetup"
rbd -c "$CONF" export --no-progress rbd/vol vol.img
printf pw-s1 > pw-s1
cryptsetup luksDump vol.img | grep -q '^Key Slot 0: ENABLED' ||
    fail "cryptsetup finds no keyslot"
cryptsetup open -q --test-passphrase --key-file pw-s1 vol.img ||
    fail "cryptsetup rejects the password"
# rbd_opts IMAGE: protocol options of an RBD image of the cluster
rbd_opts() {
    echo "file.driver=rbd,file.pool=rbd,file.image=$1,file.conf=$CONF"
}

# librbd_opts IMAGE [SECRET]: the image through librbd's own LUKS2
# encryption, opened with SECRET (default s1)
librbd_opts() {
    echo "driver=raw,$(rbd_opts "$1"),file.encrypt.format=luks2,\
file.encrypt.key-secret=${2:-s1}"
}

step "LUKS2 that rbd encryption format made: QEMU's luks driver and librbd agree"
rbd -c "$CONF" create --size 64M rbd/l2
rbd -c "$CONF" encryption format rbd/l2 luks2 pw-s1
S1=$(secret s1 pw-s1)
qio "$QEMU_IO" "$S1" "$(librbd_opts l2)" "write -P 0x3c 1M 1M"
qio "$QEMU_IO" "$S1" "driver=luks,key-secret=s1,$(rbd_opts l2)" \
    "read -P 0x3c 1M 1M"
qio "$QEMU_IO" "$S1" "driver=luks,key-secret=s1,$(rbd_opts l2)" \
    "write -P 0x3d 1536 3000"
qio "$QEMU_IO" "$S1" "$(librbd_opts l2)" "read -P 0x3d 1536 3000"
expect_fail "$QEMU_IO" --object "$(secret s0 pw-s0)" --image-opts \
    "driver=luks,key-secret=s0,$(rbd_opts l2)" -c "read 0 4k"

step "LUKS2 that qemu-img format writes onto RBD: librbd opens it"
rbd -c "$CONF" create --size 64M rbd/q2
"$QEMU_IMG" format -q --object "$S1" -f luks \
    -o key-secret=s1,luks-version=2,iter-time=10,sector-size=4096 \
    "rbd:rbd/q2:conf=$CONF" || fail "qemu-img format -o luks-version=2"
qio "$QEMU_IO" "$S1" "driver=luks,key-secret=s1,$(rbd_opts q2)" \
    "write -P 0x4e 2M 64k"
qio "$QEMU_IO" "$S1" "$(librbd_opts q2)" "read -P 0x4e 2M 64k"
qio "$QEMU_IO" "$S1" "$(librbd_opts q2)" "write -P 0x4f 3M 4k"
qio "$QEMU_IO" "$S1" "driver=luks,key-secret=s1,$(rbd_opts q2)" \
    "read -P 0x4f 3M 4k"

step "qemu-img amend replaces the password of LUKS2 that rbd made:" \
     "librbd opens it with the new one only; qemu-img erase: with none"
S2=$(secret s2 pw-s2)
"$QEMU_IMG" amend --object "$S1" --object "$S2" --image-opts \
    "driver=luks,key-secret=s1,$(rbd_opts l2)" \
    -o state=active,new-secret=s2,old-secret=s1,iter-time=10 ||
    fail "qemu-img amend on RBD LUKS2"
qio "$QEMU_IO" "$S2" "$(librbd_opts l2 s2)" "read -P 0x3c 1M 1M"
expect_fail "$QEMU_IO" --object "$S1" --image-opts "$(librbd_opts l2)" \
    -c "read 0 4k"
"$QEMU_IMG" erase -q --image-opts "driver=luks,$(rbd_opts l2)" ||
    fail "qemu-img erase on RBD LUKS2"
expect_fail "$QEMU_IO" --object "$S2" --image-opts "$(librbd_opts l2 s2)" \
    -c "read 0 4k"
echo "PASS"
