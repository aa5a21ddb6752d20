#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libvirt (Debian's) takes build/bin/qemu-system-x86_64 as a new user
# would: its probed capabilities include every one it finds in Debian's
# own qemu-system-x86_64 of the same QEMU version, and they stay cached
# between lookups instead of being probed again each time.  Then the
# README's recipe: a guest on a LUKS disk (<encryption format='luks'>),
# its password replaced online through the monitor while it writes.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/guest/lib-guest.sh"

emulator=$(readlink -f "$BIN/qemu-system-x86_64")
stock=/usr/bin/qemu-system-x86_64
caps=/var/cache/libvirt/qemu/capabilities

# a libvirtd of our own, on a socket of our own
mkdir "$WORK/sock"
cat > "$WORK/libvirtd.conf" <<EOT
unix_sock_dir = "$WORK/sock"
log_outputs = "3:file:$WORK/libvirtd.log"
EOT
uri="qemu:///system?socket=$WORK/sock/libvirt-sock"
start_libvirtd() {
    libvirtd --daemon --config "$WORK/libvirtd.conf" \
        --pid-file "$WORK/libvirtd.pid"
    for _ in $(seq 100); do
        virsh -c "$uri" version > /dev/null 2>&1 && return
        sleep 0.1
    done
    fail "libvirtd did not start: $(cat "$WORK/libvirtd.log")"
}
stop_libvirtd() {
    kill "$(cat "$WORK/libvirtd.pid")"
    while [ -e "$WORK/libvirtd.pid" ]; do sleep 0.1; done
}
at_exit stop_libvirtd
# Without udev running, /dev/kvm may be root's alone: give it what
# Debian's udev rules give it (GROUP="kvm", MODE="0660").  libvirt
# checks that the user it runs QEMU as (in group kvm) can use KVM, and
# otherwise takes its cached capabilities as outdated at each lookup.
if [ -c /dev/kvm ] && [ "$(stat -c %G /dev/kvm)" = root ]; then
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi
# The guest runs under TCG: under KVM (nested here) libvirt's guest did
# not start within two minutes, and the test is about the disk
virttype=qemu

# flags EMULATOR: the capability flags libvirt cached for EMULATOR
flags() {
    grep -l "<emulator>$1</emulator>" "$caps"/*.xml |
        xargs grep -o "<flag name='[^']*'" | sed "s/.*name='//; s/'//" |
        sort
}

# the cache file of EMULATOR, and its modification time
cache_stamp() {
    stat -c '%n %Y.%y' $(grep -l "<emulator>$1</emulator>" "$caps"/*.xml)
}

step "domcapabilities of $emulator ($virttype)"
start_libvirtd
virsh -c "$uri" domcapabilities --emulatorbin "$emulator" \
    --virttype "$virttype" > "$WORK/dc1.xml"
first=$(cache_stamp "$emulator")
step "after a restart of libvirtd, the lookup uses the cache"
stop_libvirtd
start_libvirtd
virsh -c "$uri" domcapabilities --emulatorbin "$emulator" \
    --virttype "$virttype" > "$WORK/dc2.xml"
[ "$(cache_stamp "$emulator")" = "$first" ] ||
    fail "libvirt probed the emulator again: $(cat "$WORK/libvirtd.log")"
cmp -s "$WORK/dc1.xml" "$WORK/dc2.xml" || fail "the two lookups differ"
echo "cached: $first"

step "capabilities of Debian's $stock missing from ours"
virsh -c "$uri" domcapabilities --emulatorbin "$stock" \
    --virttype "$virttype" > /dev/null
n_ours=$(flags "$emulator" | wc -l)
n_stock=$(flags "$stock" | wc -l)
missing=$(comm -23 <(flags "$stock") <(flags "$emulator") | tr '\n' ' ')
echo "ours: $n_ours flags, Debian's: $n_stock flags"
[ -z "$missing" ] || fail "missing: $missing"
echo "none; ours has too: $(comm -13 <(flags "$stock") \
                                     <(flags "$emulator") | tr '\n' ' ')"

step "a guest on a LUKS disk under libvirt, its password replaced online"
prepare_guest
# the QEMU process runs as libvirt-qemu: it must reach the files
chmod 755 "$WORK"
printf 'libvirt-old' > "$WORK/old.pw"
printf 'libvirt-new' > "$WORK/new.pw"
chmod 644 "$WORK/old.pw" "$WORK/new.pw"
"$BIN/qemu-img" create -q --object "secret,id=s0,file=$WORK/old.pw" \
    -f luks -o key-secret=s0,iter-time=10 "$WORK/disk.luks" 16M
uuid=$(cat /proc/sys/kernel/random/uuid)
cat > "$WORK/secret.xml" <<EOT
<secret ephemeral='yes' private='yes'>
  <uuid>$uuid</uuid>
  <usage type='volume'><volume>$WORK/disk.luks</volume></usage>
</secret>
EOT
virsh -c "$uri" secret-define "$WORK/secret.xml" > /dev/null
virsh -c "$uri" secret-set-value "$uuid" --file "$WORK/old.pw" --plain \
    > /dev/null
name=luks-series-guest-$$
cat > "$WORK/domain.xml" <<EOT
<domain type='$virttype'>
  <name>$name</name>
  <memory unit='MiB'>256</memory>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$GUEST_KERNEL</kernel>
    <initrd>$GUEST_INITRD</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 gio_blocks=3072</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <emulator>$emulator</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$WORK/disk.luks'>
        <encryption format='luks'>
          <secret type='passphrase' uuid='$uuid'/>
        </encryption>
      </source>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path='$WORK/serial.log'/>
    </serial>
  </devices>
</domain>
EOT
# libvirt logs the emulator's output through virtlogd
pgrep -x virtlogd > /dev/null || virtlogd --daemon --timeout 30
virsh -c "$uri" create "$WORK/domain.xml" > /dev/null
at_exit "virsh -c '$uri' destroy $name > /dev/null 2>&1"

# guest_written: the blocks the guest has written so far
guest_written() {
    grep -a '^gio: written' "$WORK/serial.log" | tail -n 1 | awk '{ print $3 }'
}
monitor() {
    virsh -c "$uri" qemu-monitor-command "$name" "$1"
}
for _ in $(seq 600); do
    [ -n "$(guest_written)" ] && break
    sleep 0.2
done
[ -n "$(guest_written)" ] || fail "the guest did not start writing"
before=$(guest_written)
monitor '{"execute": "object-add", "arguments": {"qom-type": "secret",
          "id": "new0", "file": "'"$WORK/new.pw"'"}}' > /dev/null
monitor '{"execute": "blockdev-keyslot-replace", "arguments": {
          "job-id": "rot0", "node-name": "libvirt-1-format",
          "old-secret": "libvirt-1-format-encryption-secret0",
          "new-secret": "new0"}}' > /dev/null
for _ in $(seq 300); do
    monitor '{"execute": "query-jobs"}' > "$WORK/jobs.json"
    grep -q '"concluded"' "$WORK/jobs.json" && break
    sleep 0.2
done
grep -q '"concluded"' "$WORK/jobs.json" || fail "the replace did not end"
! grep -q '"error"' "$WORK/jobs.json" || fail "replace: $(cat "$WORK/jobs.json")"
sleep 1
after=$(guest_written)
! grep -aq 'ERROR' "$WORK/serial.log" ||
    fail "guest: $(grep -a ERROR "$WORK/serial.log" | head -n 1)"
[ "$after" -gt "$before" ] || fail "the guest stopped writing"
echo "replaced; the guest wrote $((after - before)) blocks meanwhile," \
    "with no error"
virsh -c "$uri" destroy "$name" > /dev/null
cryptsetup open -q --test-passphrase --key-file "$WORK/new.pw" \
    "$WORK/disk.luks" || fail "cryptsetup: the new password does not open"
expect_fail cryptsetup open -q --test-passphrase --key-file "$WORK/old.pw" \
    "$WORK/disk.luks"
echo "cryptsetup: the new password opens the disk, the old one does not"
echo "libvirt: all checks passed"
