#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Encrypted I/O speed, patched against unpatched, measured side by side in
# one run: qemu-img bench over raw, luks and qcow2+luks images on tmpfs
# and on a disk file (O_DIRECT), for each crypto backend; then the cipher
# alone (AES-256-XTS) per backend.  Prints medians and ratios.
# LUKS2 rows too: luks2 and luks2-4k images (512- and 4096-byte
# encryption sectors, PBKDF2), which the unpatched qemu-img can neither
# create nor open, so they are measured patched only (base "-") and
# compared with patched raw and patched luks (LUKS1).
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

# image formats, each in a file of its name; luks2* only the patched
# qemu-img can create and open
formats=(raw luks luks2 luks2-4k qcow2)

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
    luks | luks2*) echo "driver=luks,key-secret=s,file.filename=$2" ;;
    qcow2) echo "driver=qcow2,encrypt.key-secret=s,file.filename=$2" ;;
    esac
}

# luks_opts FORMAT: what creating a luks* image adds to the options
luks_opts() {
    case $1 in
    luks2) echo ",luks-version=2,pbkdf=pbkdf2" ;;
    luks2-4k) echo ",luks-version=2,pbkdf=pbkdf2,sector-size=4096" ;;
    esac
}

# make_images IMG DIR: IMG is the patched qemu-img (for luks2*)
make_images() {
    local img=$1 dir=$2 fmt
    for fmt in "${formats[@]}"; do
        case $fmt in
        raw) "$img" create -q -f raw "$dir/raw" "$size" ;;
        luks*) "$img" create -q -f luks --object secret,id=s,data=bench \
                   -o "key-secret=s,iter-time=10$(luks_opts "$fmt")" \
                   "$dir/$fmt" "$size" ;;
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

# runs_median "V1 V2 ...": median of the values, "-" if there are none
runs_median() {
    if [ -z "${1// /}" ]; then
        echo -
    else
        tr ' ' '\n' <<< "$1" | grep . | median
    fi
}

bench_backend() {
    local b=$1 storage dir cache w name opts fmt build r builds
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
            for fmt in "${formats[@]}"; do
                res[base]='' res[patched]=''
                # the base cannot open LUKS2
                case $fmt in
                luks2*) builds=(patched) ;;
                *) builds=(base patched) ;;
                esac
                # alternate the two builds so that drift hits both alike
                for ((r = 0; r < runs; r++)); do
                    for build in "${builds[@]}"; do
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
                    "$(runs_median "${res[base]}")" \
                    "$(runs_median "${res[patched]}")"
            done
        done
        rm -f "$dir"/raw "$dir"/luks "$dir"/luks2 "$dir"/luks2-4k "$dir"/qcow2
    done
}

# Table: one row per backend, storage and workload; MiB/s medians.
# LUKS2 patched only: columns luks2 and l2-4k (luks2-4k); their ratios to
# patched raw (/r) and to patched luks, i.e. LUKS1 (/l1).
report() {
    awk '
    { key = $1 " " $2 " " $3; if (!(key in seen)) { seen[key] = 1; k[++n] = key }
      base[key, $4] = $5; pat[key, $4] = $6 }
    function pct(a, b) { return b > 0 ? sprintf("%d%%", 100 * a / b) : "-" }
    END {
        f = "%-7s %-5s %-14s %7s | %7s %7s %5s %5s | %7s %7s %5s" \
            " | %6s %5s %5s %6s %5s %5s\n"
        printf f, "backend", "store", "workload", "raw", "luks", "luks",
            "l/raw", "l/raw", "qcow2", "qcow2", "q/raw",
            "luks2", "l2/r", "l2/l1", "l2-4k", "4k/r", "4k/l1"
        printf f, "", "", "(MiB/s)", "patched", "base", "patched",
            "base", "patch", "base", "patched", "patch",
            "patch", "patch", "patch", "patch", "patch", "patch"
        for (i = 1; i <= n; i++) {
            key = k[i]; split(key, c, " ")
            raw = pat[key, "raw"]; l1 = pat[key, "luks"]
            l2 = pat[key, "luks2"]; l2k = pat[key, "luks2-4k"]
            printf f, c[1], c[2], c[3], raw,
                base[key, "luks"], l1,
                pct(base[key, "luks"], base[key, "raw"]), pct(l1, raw),
                base[key, "qcow2"], pat[key, "qcow2"],
                pct(pat[key, "qcow2"], raw),
                l2, pct(l2, raw), pct(l2, l1),
                l2k, pct(l2k, raw), pct(l2k, l1)
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
