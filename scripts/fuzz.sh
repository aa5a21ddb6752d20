#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fuzz the LUKS header code for SECONDS: tests/unit/fuzz-crypto-luks.c
# built with libFuzzer, ASan and UBSan (build-asan), from seeds made by
# the patched qemu-img and by cryptsetup (LUKS1 and LUKS2), the
# regression inputs in tests/fuzz/ and the corpus earlier runs grew
# (build/fuzz/corpus); then replays all of them
# through the keyslot add path too (FUZZ_LUKS_ADD: too slow to fuzz, PBKDF
# calibration takes a second).  Fails on a crash, a leak, a sanitizer
# report or a hang; prints executions and coverage.
#   fuzz.sh TOP SECONDS
set -euo pipefail

top=${1:?usage: fuzz.sh TOP SECONDS}
secs=${2:?usage: fuzz.sh TOP SECONDS}
src=$top/build/qemu
work=$top/build/fuzz
fuzzer=$src/build-asan/tests/unit/fuzz-crypto-luks
img=$top/build/bin/qemu-img

"$top/scripts/build.sh" "$src" asan tests/unit/fuzz-crypto-luks \
    > "$top/build/build-asan.log"
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"

# seed FLAGS NAME BYTES VOLUME: FLAGS byte, then the volume's first BYTES
seed() {
    { printf "\\x$1"; head -c "$3" "$4"; } > "$work/seeds/$2"
}

if [ ! -e "$work/seeds/password-slot3" ]; then
    s=(--object secret,id=s,data=fuzz)
    t=$(mktemp -d)
    "$img" create -q "${s[@]}" -f luks -o key-secret=s,iter-time=1 \
        "$t/default" 16M
    "$img" create -q "${s[@]}" -f luks -o key-secret=s,iter-time=1 \
        -o cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv \
        -o ivgen-hash-alg=sha256,hash-alg=sha1 "$t/cbc" 16M
    "$img" create -q "${s[@]}" -f luks -o key-secret=s,iter-time=1 \
        -o cipher-alg=twofish-256,cipher-mode=xts,ivgen-alg=plain \
        "$t/twofish" 16M
    "$img" create -q "${s[@]}" -f luks \
        -o key-secret=s,iter-time=1,detached-header=true "$t/detached"
    # the fuzzer clamps PBKDF iterations to 4096: only cryptsetup can
    # write fewer than qemu-img's calibration gives for 1 ms (1000 here)
    truncate -s 16M "$t/password"
    printf fuzz | cryptsetup luksFormat -q --type luks1 -c aes-xts-plain64 \
        -s 256 --pbkdf-force-iterations 1000 --key-file - "$t/password"
    seed 00 default 4096 "$t/default"
    seed 02 default-erase-header 4096 "$t/default"
    seed 00 cbc-essiv 4096 "$t/cbc"
    seed 00 twofish 4096 "$t/twofish"
    seed 01 detached 4096 "$t/detached"
    # header and keyslot 0's key material (128000 bytes for AES-128-XTS):
    # the password opens it; keyslot 0 is removed (replayed with
    # FUZZ_LUKS_ADD: a password goes into the first free keyslot), or
    # keyslot 3 is written and removed
    seed 04 password $((4096 + 128000)) "$t/password"
    seed 3c password-slot3 $((4096 + 128000)) "$t/password"
    seed 05 password-detached $((4096 + 128000)) "$t/password"
    rm -rf "$t"
fi
if [ ! -e "$work/seeds/luks2-password" ]; then
    s=(--object secret,id=s,data=fuzz)
    t=$(mktemp -d)
    o=key-secret=s,iter-time=1,luks-version=2
    "$img" create -q "${s[@]}" -f luks -o "$o,pbkdf=pbkdf2" "$t/pbkdf2" 16M
    "$img" create -q "${s[@]}" -f luks -o "$o,pbkdf-memory=32" \
        -o sector-size=4096,label=fuzz,metadata-size=32K "$t/argon2" 16M
    "$img" create -q "${s[@]}" -f luks \
        -o "$o,pbkdf=pbkdf2,detached-header=on" "$t/detached"
    # Argon2 with the time cost the fuzzer keeps (at most 9)
    truncate -s 32M "$t/password"
    printf fuzz | cryptsetup luksFormat -q --type luks2 --pbkdf argon2id \
        --pbkdf-memory 32 --pbkdf-force-iterations 4 --pbkdf-parallel 1 \
        --key-file - "$t/password"
    # both header copies and keyslot 0's key material (at 32 KiB,
    # 256000 bytes for AES-256-XTS)
    seed 04 luks2-pbkdf2 $((32768 + 256000)) "$t/pbkdf2"
    seed 00 luks2-argon2 65536 "$t/argon2"
    seed 05 luks2-detached $((32768 + 256000)) "$t/detached"
    seed 04 luks2-password $((32768 + 256000)) "$t/password"
    rm -rf "$t"
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# run LOG [libFuzzer options]: over the corpus, the seeds and tests/fuzz
run() {
    local log=$work/$1
    shift
    if ! "$fuzzer" "$@" -max_len=$((1024 * 1024 + 1)) -timeout=60 \
            -rss_limit_mb=4096 -print_final_stats=1 \
            -artifact_prefix="$work/artifacts/" \
            "$work/corpus" "$work/seeds" "$top/tests/fuzz" > "$log" 2>&1; then
        grep -E "ERROR|SUMMARY|artifact|runtime error|abort" "$log" | head -20
        tail -n 3 "$log"
        echo "fuzz: failed, see $log and $work/artifacts"
        exit 1
    fi
    grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::number_of_executed_units" \
        "$log"
}

run log -max_total_time="$secs"
echo "keyslot add path, every input once:"
FUZZ_LUKS_ADD=1 run log-add -runs=0
echo "$(grep -c '^fuzz: password added' "$work/log-add" || true) inputs" \
    "got a second password that opens them"
echo "fuzz: no crash, leak, sanitizer report or hang in $secs s;" \
    "corpus $(find "$work/corpus" -type f | wc -l) inputs"
