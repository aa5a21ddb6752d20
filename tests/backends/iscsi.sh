#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# qemu-img format onto an iSCSI LUN served by tgt's userspace target on
# loopback, through QEMU's libiscsi driver; cryptsetup then reads the
# file behind the LUN.
. "$(dirname "$0")/../lib.sh"

IQN=iqn.2026-11.test:lun1
PORT=$(free_port)
# tgtd's management socket, /var/run/tgtd/socket.CTL: one of our own
CTL=$((PORT % 1000 + 1))

tgtadm_() {
    tgtadm -C "$CTL" --lld iscsi "$@"
}

tgt_stop() {
    tgtadm_ --op delete --mode target --tid 1 --force > /dev/null 2>&1
    tgtadm_ --op delete --mode system
    wait "$(cat "$WORK/tgtd.daemon-pid")"
    rm -f "/var/run/tgtd/socket.$CTL" "/var/run/tgtd/socket.$CTL.lock"
}

step "serve a 64 MiB file as an iSCSI LUN with tgtd"
mkdir -p /var/run/tgtd
setsid tgtd -f -C "$CTL" --iscsi "portal=127.0.0.1:$PORT" \
    < /dev/null > tgtd.out 2>&1 &
echo $! > tgtd.daemon-pid
at_exit tgt_stop
for i in $(seq 100); do
    tgtadm_ --op show --mode system > /dev/null 2>&1 && break
    [ "$i" -lt 100 ] || fail "tgtd did not start: $(cat tgtd.out)"
    sleep 0.1
done
"$QEMU_IMG" create -q -f raw lun.img 64M
tgtadm_ --op new --mode target --tid 1 -T "$IQN"
tgtadm_ --op new --mode logicalunit --tid 1 --lun 1 -b "$WORK/lun.img"
tgtadm_ --op bind --mode target --tid 1 -I ALL

step "qemu-img format onto the LUN"
check_format "iscsi://127.0.0.1:$PORT/$IQN/1" \
    "file.driver=iscsi,file.transport=tcp,file.portal=127.0.0.1:$PORT,file.target=$IQN,file.lun=1" \
    64M
[ "$(stat -c %s lun.img)" = $((64 << 20)) ] || fail "the LUN was resized"

step "cryptsetup opens the file behind the LUN"
printf pw-s1 > pw-s1
cryptsetup luksDump lun.img | grep -q '^Key Slot 0: ENABLED' ||
    fail "cryptsetup finds no keyslot"
cryptsetup open -q --test-passphrase --key-file pw-s1 lun.img ||
    fail "cryptsetup rejects the password"
echo "PASS"
