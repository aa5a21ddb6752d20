#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A short demonstration of the patched tools on local files.  Every
# command is printed before it runs.
set -euo pipefail

bin=${1:?usage: demo.sh BIN}
dir=$(mktemp -d /tmp/luks-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export PATH=$bin:$PATH

run() {
    echo
    local a line=\$
    for a in "$@"; do
        [[ $a == *' '* ]] && line+=" '$a'" || line+=" $a"
    done
    echo "$line"
    "$@"
}

say() {
    echo
    echo "### $*"
}

# Passwords reach QEMU only through secret objects, here from files.
printf correct-horse > old.pw
printf battery-staple > new.pw
OLD=--object=secret,id=old,file=old.pw
NEW=--object=secret,id=new,file=new.pw

say "Create a 64 MiB LUKS volume protected by a password"
run qemu-img create -f luks "$OLD" -o key-secret=old,iter-time=100 disk.luks 64M

say "Write and read back through the encryption layer"
run qemu-io "$OLD" --image-opts driver=luks,key-secret=old,file.filename=disk.luks \
    -c "write -P 0x42 0 1M" -c "read -P 0x42 0 1M"

say "On disk, 2 MiB in (inside the payload), the 0x42 bytes are ciphertext"
run od -A d -t x1 -j $((2 * 1024 * 1024)) -N 32 disk.luks

say "Change the password in one step: the new keyslot is written and"
echo "### checked before the old one is erased (blockdev-keyslot-replace in QMP)"
run qemu-img amend "$OLD" "$NEW" --image-opts \
    driver=luks,key-secret=old,file.filename=disk.luks \
    -o state=active,new-secret=new,old-secret=old,iter-time=100

say "cryptsetup sees a standard LUKS1 volume with one active keyslot"
run cryptsetup luksDump disk.luks
say "The old password no longer opens it; the new one does"
run qemu-io "$OLD" --image-opts driver=luks,key-secret=old,file.filename=disk.luks \
    -c "read 0 4k" || true
run qemu-io "$NEW" --image-opts driver=luks,key-secret=new,file.filename=disk.luks \
    -c "read -P 0x42 0 1M"

say "Before deleting the volume, destroy its keys: no password needed"
run qemu-img erase disk.luks
say "Every keyslot is now disabled: nothing can unlock the data"
run cryptsetup luksDump disk.luks
run qemu-io "$NEW" --image-opts driver=luks,key-secret=new,file.filename=disk.luks \
    -c "read 0 4k" || true

say "Put LUKS on a volume that exists already: here an NBD export"
truncate -s 64M export.img
qemu-nbd -t -k "$dir/nbd.sock" -f raw export.img &
nbd=$!
trap 'kill $nbd 2>/dev/null || true; rm -rf "$dir"' EXIT
while [ ! -S "$dir/nbd.sock" ]; do sleep 0.1; done
run qemu-img format "$NEW" -f luks -o key-secret=new,iter-time=100 \
    "nbd+unix:///?socket=$dir/nbd.sock"
say "Formatting it again is refused: it holds LUKS now"
run qemu-img format "$NEW" -f luks -o key-secret=new \
    "nbd+unix:///?socket=$dir/nbd.sock" || true
kill $nbd

say "Encrypt a running plaintext disk online: drive-mirror to a LUKS"
echo "### target, then complete the job; the disk now writes ciphertext"
run qemu-img create -q -f raw plain.img 64M
run qemu-io -f raw plain.img -c "write -P 0x42 0 1M"
qemu-storage-daemon "$NEW" --blockdev driver=file,filename=plain.img,node-name=disk0 \
    --chardev socket,id=qmp,path="$dir/qmp.sock",server=on,wait=off \
    --monitor chardev=qmp &
qsd=$!
trap 'kill $qsd 2>/dev/null || true; rm -rf "$dir"' EXIT
while [ ! -S "$dir/qmp.sock" ]; do sleep 0.1; done
"$(dirname "$0")/qmp.py" "$dir/qmp.sock" \
    '{"execute": "drive-mirror", "until": "BLOCK_JOB_READY", "arguments":
      {"job-id": "job0", "device": "disk0", "target": "disk0.luks",
       "format": "luks", "sync": "full",
       "encrypt": {"key-secret": "new", "iter-time": 100}}}' \
    '{"execute": "block-job-complete", "until": "BLOCK_JOB_COMPLETED",
      "arguments": {"device": "job0"}}' \
    '{"execute": "quit"}'
wait $qsd
say "The copy is LUKS, opened by the new password, with the disk's data"
run qemu-img info disk0.luks
run qemu-io "$NEW" --image-opts driver=luks,key-secret=new,file.filename=disk0.luks \
    -c "read -P 0x42 0 1M"
