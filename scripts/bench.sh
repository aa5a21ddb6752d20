#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Encrypted I/O speed, patched against unpatched, measured side by side in
# one run: qemu-img bench over raw, luks and qcow2+luks images on tmpfs
# and on a disk file (O_DIRECT), for each crypto backend; then the cipher
# alone (AES-256-XTS) per backend.  Prints medians and ratios.
#   bench.sh TOP
# Environment: BENCH_BACKENDS (default: MAIN_CRYPTO and nettle, which
# Debian builds QEMU with), BENCH_RUNS (default 5), BENCH_DISK_DIR
# (default TOP/build/bench).  The cipher alone is measured for every
# backend.
#
# The unpatched tools are built from the base commit in build/base, plus
# only the series' patch that lets qemu-img bench take --object (without
# it no LUKS image can be opened by qemu-img bench at all).
set -euo pipefail

top=${1:?usage: bench.sh TOP}
. "$top/scripts/config.sh"
src=$top/build/qemu
base=$top/build/base
runs=${BENCH_RUNS:-5}
read -r -a backends <<< "${BENCH_BACKENDS:-$MAIN_CRYPTO nettle}"
disk_dir=${BENCH_DISK_DIR:-$top/build/bench}
shm_dir=$(mktemp -d /dev/shm/luks-bench.XXXXXX)
trap 'rm -rf "$shm_dir" "$disk_dir"' EXIT
mkdir -p "$disk_dir"

# Image size, and a stride that visits its 4 KiB blocks in scattered
# order (odd multiple of 4 KiB, so offset modulo size covers all)
size=$((1024 * 1024 * 1024))
stride=$((4096 * 40009))

# name: qemu-img bench options (bytes moved = count * buffer size)
workloads=(
    "seq-read-qd1:-s 1M -c 512 -d 1"
    "seq-write-qd1:-w -s 1M -c 512 -d 1"
    "seq-read-qd16:-s 1M -c 512 -d 16"
    "seq-write-qd16:-w -s 1M -c 512 -d 16"
    "4k-read-qd1:-s 4k -S $stride -c 20000 -d 1"
    "4k-write-qd1:-w -s 4k -S $stride -c 20000 -d 1"
    "4k-read-qd16:-s 4k -S $stride -c 100000 -d 16"
    "4k-write-qd16:-w -s 4k -S $stride -c 100000 -d 16"
)

setup_base() {
    local bench_patch
    if [ ! -d "$base/.git" ] && [ ! -f "$base/.git" ]; then
        git -C "$src" worktree add -q --detach "$base" base
        bench_patch=$(git -C "$src" log --format=%H -1 \
            --grep='^qemu-img: let bench take --object' base..HEAD)
        git -C "$src" diff "$bench_patch^" "$bench_patch" -- \
            qemu-img.c qemu-img-cmds.hx | git -C "$base" apply
    fi
}

# image_opts FORMAT FILE: what qemu-img bench opens (with secret "s")
image_opts() {
    case $1 in
    raw) echo "driver=raw,file.filename=$2" ;;
    luks) echo "driver=luks,key-secret=s,file.filename=$2" ;;
    qcow2) echo "driver=qcow2,encrypt.key-secret=s,file.filename=$2" ;;
    esac
}

make_images() {
    local img=$1 dir=$2 fmt
    for fmt in raw luks qcow2; do
        case $fmt in
        raw) "$img" create -q -f raw "$dir/raw" "$size" ;;
        luks) "$img" create -q -f luks --object secret,id=s,data=bench \
                  -o key-secret=s,iter-time=10 "$dir/luks" "$size" ;;
        qcow2) "$img" create -q -f qcow2 --object secret,id=s,data=bench \
                   -o encrypt.format=luks,encrypt.key-secret=s \
                   -o encrypt.iter-time=10 "$dir/qcow2" "$size" ;;
        esac
        # fill, so that reads read data and writes overwrite it
        "$img" bench -q -w -s 1M -c $((size / 1048576)) \
            --object secret,id=s,data=bench --image-opts \
            "$(image_opts "$fmt" "$dir/$fmt")" > /dev/null
    done
}

# one_run IMG DIR CACHE FORMAT OPTIONS: MiB/s of one qemu-img bench run
one_run() {
    local img=$1 dir=$2 cache=$3 fmt=$4 opts=$5 out secs
    # shellcheck disable=SC2086 # opts are words
    out=$("$img" bench -t "$cache" $opts --object secret,id=s,data=bench \
              --image-opts "$(image_opts "$fmt" "$dir/$fmt")")
    secs=$(sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p' <<< "$out")
    awk -v o="$opts" -v s="$secs" 'BEGIN {
        n = split(o, w, " ")
        for (i = 1; i <= n; i++) {
            if (w[i] == "-c") { c = w[i + 1] }
            if (w[i] == "-s") { b = (w[i + 1] == "1M") ? 1048576 : 4096 }
        }
        printf "%.0f\n", c * b / s / 1048576 }'
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

bench_backend() {
    local b=$1 storage dir cache w name opts fmt build r
    local -A res
    for storage in tmpfs disk; do
        if [ "$storage" = tmpfs ]; then
            dir=$shm_dir cache=writeback
        else
            dir=$disk_dir cache=none
        fi
        make_images "$src/build-$b/qemu-img" "$dir"
        for w in "${workloads[@]}"; do
            name=${w%%:*} opts=${w#*:}
            for fmt in raw luks qcow2; do
                for build in base patched; do
                    res[$build]=
                done
                # alternate the two builds so that drift hits both alike
                for ((r = 0; r < runs; r++)); do
                    for build in base patched; do
                        if [ "$build" = base ]; then
                            img=$base/build-$b/qemu-img
                        else
                            img=$src/build-$b/qemu-img
                        fi
                        res[$build]+="$(one_run "$img" "$dir" "$cache" \
                            "$fmt" "$opts") "
                    done
                done
                printf '%s %s %s %s %s %s\n' "$b" "$storage" "$name" "$fmt" \
                    "$(tr ' ' '\n' <<< "${res[base]}" | grep . | median)" \
                    "$(tr ' ' '\n' <<< "${res[patched]}" | grep . | median)"
            done
        done
        rm -f "$dir"/raw "$dir"/luks "$dir"/qcow2
    done
}

# Table: one row per backend, storage and workload; MiB/s medians.
report() {
    awk '
    { key = $1 " " $2 " " $3; if (!(key in seen)) { seen[key] = 1; k[++n] = key }
      base[key, $4] = $5; pat[key, $4] = $6 }
    function pct(a, b) { return b > 0 ? sprintf("%d%%", 100 * a / b) : "-" }
    END {
        printf "%-7s %-6s %-15s %7s | %7s %7s %6s %6s | %7s %7s %6s\n",
            "backend", "store", "workload", "raw", "luks", "luks",
            "l/raw", "l/raw", "qcow2", "qcow2", "q/raw"
        printf "%-7s %-6s %-15s %7s | %7s %7s %6s %6s | %7s %7s %6s\n",
            "", "", "(MiB/s)", "patched", "base", "patched",
            "base", "patch", "base", "patched", "patch"
        for (i = 1; i <= n; i++) {
            key = k[i]; split(key, f, " ")
            printf "%-7s %-6s %-15s %7s | %7s %7s %6s %6s | %7s %7s %6s\n",
                f[1], f[2], f[3], pat[key, "raw"],
                base[key, "luks"], pat[key, "luks"],
                pct(base[key, "luks"], base[key, "raw"]),
                pct(pat[key, "luks"], pat[key, "raw"]),
                base[key, "qcow2"], pat[key, "qcow2"],
                pct(pat[key, "qcow2"], pat[key, "raw"])
        }
    }'
}

cipher_speed() {
    local b=$1 tree chunk enc dec
    for tree in base patched; do
        local dir=$src
        [ "$tree" = base ] && dir=$base
        for chunk in 512 65536; do
            read -r enc dec < <("$top/scripts/xts-speed.sh" \
                                "$dir/build-$b" "$chunk")
            printf '%-7s %-8s %6s %10.0f %10.0f\n' \
                "$b" "$tree" "$chunk" "$enc" "$dec"
        done
    done
}

setup_base
results=$(mktemp)
ciphers=$(mktemp)
trap 'rm -rf "$shm_dir" "$disk_dir" "$results" "$ciphers"' EXIT
for b in "${CRYPTO_BACKENDS[@]}"; do
    for tree in "$src" "$base"; do
        "$top/scripts/build.sh" "$tree" "$b" qemu-img \
            tests/bench/benchmark-crypto-cipher > /dev/null
    done
    cipher_speed "$b" >> "$ciphers"
done
for b in "${backends[@]}"; do
    bench_backend "$b" | tee -a "$results" >&2
done

echo "qemu-img bench, median of $runs runs; $(nproc) cores," \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
report < "$results"
echo
echo "AES-256-XTS, one core (benchmark-crypto-cipher, MB/s)"
printf '%-7s %-8s %6s %10s %10s\n' backend build chunk encrypt decrypt
cat "$ciphers"
