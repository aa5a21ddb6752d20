#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# qemu-img format onto NBD exports served by QEMU's own server
# (qemu-nbd, over TCP) and by an independent one (nbdkit, over a UNIX
# socket); cryptsetup then reads what nbdkit stored.
. "$(dirname "$0")/../lib.sh"

step "qemu-nbd export over TCP"
"$QEMU_IMG" create -q -f raw qemu-nbd.img 64M
port=$(free_port)
"$BIN/qemu-nbd" --fork --pid-file "$WORK/qemu-nbd.pid" -b 127.0.0.1 \
    -p "$port" -t -f raw qemu-nbd.img
at_exit 'kill "$(cat "$WORK/qemu-nbd.pid")"'
check_format "nbd://127.0.0.1:$port" \
    "file.driver=nbd,file.server.type=inet,file.server.host=127.0.0.1,file.server.port=$port" \
    64M

step "nbdkit export over a UNIX socket"
"$QEMU_IMG" create -q -f raw nbdkit.img 48M
nbdkit -U "$WORK/nbdkit.sock" -P "$WORK/nbdkit.pid" file nbdkit.img
at_exit 'kill "$(cat "$WORK/nbdkit.pid")"'
check_format "nbd+unix:///?socket=$WORK/nbdkit.sock" \
    "file.driver=nbd,file.server.type=unix,file.server.path=$WORK/nbdkit.sock" \
    48M
[ "$(stat -c %s nbdkit.img)" = $((48 << 20)) ] || fail "the volume was resized"

step "cryptsetup opens what nbdkit stored"
printf pw-s1 > pw-s1
cryptsetup luksDump nbdkit.img | grep -q '^Key Slot 0: ENABLED' ||
    fail "cryptsetup finds no keyslot"
cryptsetup open -q --test-passphrase --key-file pw-s1 nbdkit.img ||
    fail "cryptsetup rejects the password"
echo "PASS"
