#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# No secret in any output: every failing path of the series' interfaces
# (qemu-img, qemu-io, QMP on qemu-storage-daemon) runs with every trace
# event enabled, with known passwords and a volume key recovered with
# cryptsetup; all their output is then searched for those passwords (as
# text, hex and base64) and for the volume key (hex, both cases, with and
# without spaces, and its first 8 bytes alone).  Passwords come from
# files, so they are on no command line.
. "$(dirname "$0")/../lib.sh"

QSD=$BIN/qemu-storage-daemon
QMP=$TESTS_DIR/../scripts/qmp.py
PW=Hyg13ne-Passw0rd-7319
PW2=Sec0nd-Passw0rd-4622
WRONG=Wr0ng-Passw0rd-8851
printf %s "$PW" > pw
printf %s "$PW2" > pw2
printf %s "$WRONG" > wrong
S=(--object secret,id=s,file=pw --object secret,id=s2,file=pw2
   --object secret,id=bad,file=wrong)
TRACE=(--trace '*')
LOG=$WORK/all-output

# run CMD...: run a command that must fail; keep all its output
run() {
    local rc=0
    echo "### $*" >> "$LOG"
    "$@" >> "$LOG" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then
        fail "succeeded but should not: $*"
    elif [ "$rc" -gt 125 ]; then
        fail "died (exit status $rc) instead of refusing: $*"
    fi
    runs=$((runs + 1))
}
runs=0

"$QEMU_IMG" create -q "${S[@]}" -f luks -o key-secret=s,iter-time=10 \
    vol.luks 16M
"$QEMU_IMG" create -q -f raw plain.img 16M
"$QEMU_IMG" create -q "${S[@]}" -f qcow2 -o encrypt.format=luks \
    -o encrypt.key-secret=s,encrypt.iter-time=10 vol.qcow2 16M
key=$(cryptsetup luksDump -q --dump-volume-key --key-file pw vol.luks |
      sed -n '/MK dump:/,/^[A-Z]/p' | grep -o '[0-9a-f][0-9a-f]' | tr -d '\n')
[ ${#key} -eq 128 ] || fail "no volume key from cryptsetup (${#key} hex)"
L="driver=luks,file.filename=vol.luks"

step "qemu-img and qemu-io failing paths, every trace event on"
run "$QEMU_IO" "${TRACE[@]}" "${S[@]}" --image-opts "$L,key-secret=bad" \
    -c "read 0 512"
run "$QEMU_IMG" "${TRACE[@]}" compare "${S[@]}" --image-opts \
    "$L,key-secret=bad" "$L,key-secret=s"
run "$QEMU_IMG" "${TRACE[@]}" amend "${S[@]}" --image-opts \
    "$L,key-secret=bad" -o state=active,new-secret=s2
run "$QEMU_IMG" "${TRACE[@]}" amend "${S[@]}" --image-opts \
    "$L,key-secret=s" -o state=active,new-secret=s2,old-secret=bad
run "$QEMU_IMG" "${TRACE[@]}" amend "${S[@]}" --image-opts \
    "$L,key-secret=s" -o state=inactive,old-secret=s
run "$QEMU_IMG" "${TRACE[@]}" amend "${S[@]}" --image-opts \
    "$L,key-secret=s" -o state=inactive,keyslot=9
run "$QEMU_IMG" "${TRACE[@]}" amend "${S[@]}" --image-opts \
    "$L,key-secret=s" -o state=active,new-secret=s,keyslot=0
run "$QEMU_IMG" "${TRACE[@]}" amend "${S[@]}" -f qcow2 \
    -o encrypt.state=active,encrypt.new-secret=s2,encrypt.old-secret=bad \
    "json:{\"file.filename\": \"vol.qcow2\", \"encrypt.key-secret\": \"s\"}"
run "$QEMU_IMG" "${TRACE[@]}" format "${S[@]}" -f luks -o key-secret=s2 \
    vol.luks
run "$QEMU_IMG" "${TRACE[@]}" format "${S[@]}" -f luks \
    -o key-secret=s2,cipher-alg=nosuch plain.img
run "$QEMU_IMG" "${TRACE[@]}" erase -f raw plain.img
run "$QEMU_IMG" "${TRACE[@]}" create "${S[@]}" -f luks \
    -o key-secret=s,hash-alg=nosuch new.luks 16M
run "$QEMU_IMG" "${TRACE[@]}" convert "${S[@]}" --image-opts \
    "$L,key-secret=bad" -O raw out.img

step "QMP failing paths on qemu-storage-daemon, every trace event on"
"$QSD" "${TRACE[@]}" "${S[@]}" \
    --blockdev driver=file,filename=vol.luks,node-name=file0 \
    --blockdev driver=luks,file=file0,key-secret=s,node-name=disk0 \
    --blockdev driver=file,filename=plain.img,node-name=plain0 \
    --chardev socket,id=qmp,path="$WORK/qmp.sock",server=on,wait=off \
    --monitor chardev=qmp >> "$LOG" 2>&1 &
qsd=$!
at_exit "kill $qsd 2>/dev/null"
while [ ! -S "$WORK/qmp.sock" ]; do sleep 0.1; done
for cmd in \
    '"blockdev-add", "arguments": {"driver": "luks", "node-name": "d1",
        "file": {"driver": "file", "filename": "vol.luks"},
        "key-secret": "bad"}' \
    '"blockdev-keyslot-add", "arguments": {"job-id": "j1",
        "node-name": "disk0", "new-secret": "s2", "secret": "bad"}' \
    '"blockdev-keyslot-replace", "arguments": {"job-id": "j2",
        "node-name": "disk0", "new-secret": "s2", "old-secret": "bad"}' \
    '"blockdev-keyslot-remove", "arguments": {"job-id": "j3",
        "node-name": "disk0", "keyslot": 9}' \
    '"blockdev-keyslot-remove", "arguments": {"job-id": "j4",
        "node-name": "disk0", "old-secret": "s"}' \
    '"blockdev-erase", "arguments": {"job-id": "j5",
        "node-name": "plain0"}' \
    '"blockdev-format", "arguments": {"job-id": "j6", "node-name": "file0",
        "options": {"driver": "luks", "key-secret": "s2"}}' \
    '"x-blockdev-amend", "arguments": {"job-id": "j7", "node-name": "disk0",
        "options": {"driver": "luks", "state": "active",
                    "new-secret": "s2", "old-secret": "bad"}}' \
    '"drive-mirror", "arguments": {"job-id": "j8", "device": "disk0",
        "target": "copy.img", "format": "raw", "sync": "full"}' \
    '"drive-backup", "arguments": {"job-id": "j9", "device": "disk0",
        "target": "copy.luks", "format": "luks", "sync": "full",
        "encrypt": {"key-secret": "nosuch"}}'; do
    # jobs fail in a JOB_STATUS_CHANGE/BLOCK_JOB_* event or at start;
    # query-jobs afterwards shows each job's error
    echo "### $cmd" >> "$LOG"
    "$QMP" "$WORK/qmp.sock" "{\"execute\": $cmd}" >> "$LOG" 2>&1 || true
    runs=$((runs + 1))
done
sleep 1
"$QMP" "$WORK/qmp.sock" '{"execute": "query-jobs"}' \
    '{"execute": "quit"}' >> "$LOG" 2>&1 || fail "query-jobs or quit failed"
wait $qsd || true
# every QMP command failed, at once or in its job
[ "$(grep -c '"desc"\|"error": "' "$LOG")" -ge 10 ] ||
    fail "fewer QMP errors than QMP commands"

step "search $(wc -c < "$LOG") bytes of output of $runs failing commands"
# needles: each secret as text, hex and base64; the volume key
needles=$WORK/needles
for p in "$PW" "$PW2" "$WRONG"; do
    printf '%s\n' "$p"
    printf %s "$p" | od -An -tx1 | tr -d ' \n'
    echo
    printf %s "$p" | base64
done > "$needles"
{
    echo "$key"
    echo "${key^^}"
    sed 's/../& /g; s/ $//' <<< "$key"
    echo "${key:0:16}"
} >> "$needles"
# the search must be able to fail: it finds each needle in a copy of
# the output with the needles appended
cat "$LOG" "$needles" > control
while read -r n; do
    grep -qiF -- "$n" control || fail "control: needle not found"
done < "$needles"
while read -r n; do
    if grep -qiF -- "$n" "$LOG"; then
        grep -niF -- "$n" "$LOG" | cut -c1-200 >&2
        fail "a secret appears in the output"
    fi
done < "$needles"
echo "no password and no volume key bytes in any output"
