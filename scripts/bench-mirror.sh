#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# drive-mirror throughput of the patched qemu-storage-daemon, with and
# without encryption on the target: a fully written 1 GiB disk on tmpfs
# mirrored to a new image, from the job's start (the target created) to
# BLOCK_JOB_READY, by QEMU's event timestamps; the median of 3 runs.
set -euo pipefail

bin=${1:?usage: bench-mirror.sh BIN}
size=${BENCH_MIB:-1024}   # MiB
runs=3
qmp=$(cd "$(dirname "$0")" && pwd)/qmp.py
dir=$(mktemp -d /dev/shm/luks-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
printf pw > pw
SECRET=--object=secret,id=sec0,file=pw

# image FMT: a disk in FMT (raw, luks, qcow2 with LUKS), written full
image() {
    case $1 in
    raw)   "$bin/qemu-img" create -q -f raw src.raw ${size}M
           echo "driver=raw,file.driver=file,file.filename=src.raw" ;;
    luks)  "$bin/qemu-img" create -q $SECRET -f luks \
               -o key-secret=sec0,iter-time=10 src.luks ${size}M
           echo "driver=luks,key-secret=sec0,file.driver=file,file.filename=src.luks" ;;
    qcow2) "$bin/qemu-img" create -q $SECRET -f qcow2 \
               -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10 \
               src.qcow2 ${size}M
           echo "driver=qcow2,encrypt.format=luks,encrypt.key-secret=sec0,file.driver=file,file.filename=src.qcow2" ;;
    esac
}

# mirror SRC_OPTS FORMAT ENCRYPT_JSON: seconds of copying
mirror() {
    local extra=${3:+, \"encrypt\": $3}
    rm -f target
    "$bin/qemu-storage-daemon" $SECRET --blockdev "$1,node-name=disk0" \
        --chardev socket,id=qmp,path="$dir/qmp.sock",server=on,wait=off \
        --monitor chardev=qmp > qsd.log 2>&1 &
    while [ ! -S "$dir/qmp.sock" ]; do sleep 0.05; done
    "$qmp" "$dir/qmp.sock" \
        "{\"execute\": \"drive-mirror\", \"until\": \"BLOCK_JOB_READY\",
          \"arguments\": {\"job-id\": \"j\", \"device\": \"disk0\",
          \"target\": \"$dir/target\", \"format\": \"$2\",
          \"sync\": \"full\"$extra}}" '{"execute": "quit"}' |
        awk -F'[:,}]' '/"status": "running"|"BLOCK_JOB_READY"/ {
                 t[n++] = $3 + $5 / 1e6 }
             END { printf "%.3f\n", t[1] - t[0] }'
    wait
    rm -f "$dir/qmp.sock"
}

printf '%-28s %8s %8s\n' case seconds MiB/s
for c in "raw raw -" "raw luks {\"key-secret\":\"sec0\",\"iter-time\":10}" \
         "luks luks -" "qcow2 qcow2 -"; do
    read -r from to enc <<<"$c"
    [ "$enc" != - ] || enc=
    opts=$(image "$from")
    "$bin/qemu-io" $SECRET --image-opts "$opts" \
        -c "write -P 0x42 0 ${size}M" > /dev/null
    t=$(for i in $(seq $runs); do mirror "$opts" "$to" "$enc"; done |
        sort -n | sed -n "$(((runs + 1) / 2))p")
    awk -v c="$from -> $to" -v t="$t" -v s=$size \
        'BEGIN { printf "%-28s %8.3f %8.0f\n", c, t, s / t }'
    rm -f src.*
done
