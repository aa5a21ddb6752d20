#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run every test suite of the series and print one result line per test,
# a summary per suite and a last line "N passed, N failed".
#   check.sh TOP [SUITE...]
# SUITE: unit luks qcow2 series mirror sanitizers project (the default
# list, "make check"), asan_iotests (added by "make check-full")
#
# Counting: a test passes or fails.  A test listed in tests/known-failures
# passes only if it still fails the recorded way (its output matches the
# recorded pattern); if it starts to pass, the list is stale and that
# fails.  An iotest "not run" because it does not support the format or
# protocol under test is not counted; "not run" for any other reason (a
# missing program or feature) is a failure unless it is listed.
set -uo pipefail

top=${1:?usage: check.sh TOP [SUITE...]}
shift
suites=("$@")
[ ${#suites[@]} -gt 0 ] ||
    suites=(unit luks qcow2 series mirror sanitizers project)

. "$top/scripts/config.sh"
src=$top/build/qemu
out=$top/build/check
known=$top/tests/known-failures
iotests=$src/build/tests/qemu-iotests
rm -rf "$out"
mkdir -p "$out"
results=$out/results
: > "$results"

# known_entry SUITE TEST: print "outcome|pattern" of a listed test
known_entry() {
    awk -F' *[|] *' -v s="$1" -v t="$2" \
        '!/^#/ && $1 == s && $2 == t { print $3 "|" $4; exit }' "$known"
}

# record SUITE TEST OUTCOME LOG: judge one test and log the verdict
# (TEST is one word in the results: the verdict is their third field)
record() {
    local suite=$1 test=${2//[[:space:]]/-} outcome=$3 log=$4 entry verdict note=
    entry=$(known_entry "$suite" "$test")
    if [ -z "$entry" ]; then
        [ "$outcome" = pass ] && verdict=pass || verdict=fail
    elif [ "$outcome" = "${entry%%|*}" ] &&
         grep -qF -- "${entry#*|}" "$log" 2>/dev/null; then
        verdict=pass
        note=" (known $outcome, as recorded)"
    else
        verdict=fail
        note=" (listed as known ${entry%%|*}, but: $outcome)"
    fi
    printf '%s %s %s\n' "$suite" "$test" "$verdict" >> "$results"
    printf '  %-4s %s %s: %s%s\n' "$verdict" "$suite" "$test" "$outcome" \
        "$note"
}

# run_unit_backend BACKEND: the crypto unit tests under one backend
run_unit_backend() {
    local b=$1 dir t log rc
    if [ "$b" = "$MAIN_CRYPTO" ]; then
        dir=$src/build
    else
        dir=$src/build-$b
    fi
    for t in "${CRYPTO_UNIT_TESTS[@]}"; do
        log=$out/unit-$b-$t.log
        if [ ! -x "$dir/tests/unit/test-crypto-$t" ]; then
            # test-crypto-xts exists only with QEMU's private XTS
            if ninja -C "$dir" -t targets all 2>/dev/null |
                    grep -q "^tests/unit/test-crypto-$t:"; then
                echo "not built" > "$log"
                record "unit-$b" "test-crypto-$t" "not built" "$log"
            fi
            continue
        fi
        G_TEST_SLOW=1 timeout 900 "$dir/tests/unit/test-crypto-$t" \
            > "$log" 2>&1
        rc=$?
        # every configuration has Argon2, libgcrypt's or libargon2
        if [ "$t" = argon2 ] && grep -q /crypto/argon2/unsupported "$log"
        then
            echo "this build has no Argon2" >> "$log"
            rc=1
        fi
        [ $rc -eq 0 ] && record "unit-$b" "test-crypto-$t" pass "$log" ||
            record "unit-$b" "test-crypto-$t" "fail (exit $rc)" "$log"
    done
}

# build_unit_tests CONFIG [TARGET...]: build the crypto unit tests that
# CONFIG defines (test-crypto-xts is optional), and TARGETs
build_unit_tests() {
    local config=$1 log=$out/build-$1.log t have=()
    shift
    "$top/scripts/build.sh" "$src" "$config" -t targets all \
        > "$log" 2>&1 || true
    for t in "${CRYPTO_UNIT_TESTS[@]}"; do
        grep -q "^tests/unit/test-crypto-$t:" "$log" &&
            have+=("tests/unit/test-crypto-$t")
    done
    "$top/scripts/build.sh" "$src" "$config" "${have[@]}" "$@" \
        >> "$log" 2>&1
}

suite_unit() {
    local b
    for b in "${CRYPTO_BACKENDS[@]}"; do
        [ "$b" != "$MAIN_CRYPTO" ] || continue
        build_unit_tests "$b" ||
            record "unit-$b" build fail "$out/build-$b.log"
    done
    # The LUKS cases calibrate PBKDF to wall time: the backends can share
    # the two cores without taking longer each.
    for b in "${CRYPTO_BACKENDS[@]}"; do
        run_unit_backend "$b" &
    done
    wait
}

# run_iotests SUITE FMT TEST...: ./check one format, judge each test
run_iotests() {
    local suite=$1 fmt=$2 log line t status dir reason
    shift 2
    local scratch=$out/$suite
    local sock
    sock=$(mktemp -d /tmp/luks-series-sock.XXXXXX)
    log=$out/$suite.log
    mkdir -p "$scratch"
    # Debian's python3, which has the modules the tests need (libnbd)
    (cd "$iotests" && PATH=/usr/bin:$PATH TEST_DIR=$scratch SOCK_DIR=$sock \
        ./check "-$fmt" "$@") > "$log" 2>&1
    rm -rf "$sock"
    tr '\r' '\n' < "$log" |
        awk '$2 == "pass" || $2 == "fail" || ($2 == "not" && $3 == "run") {
                 print $1, ($2 == "not" ? "notrun" : $2) }' |
        sort -u |
    while read -r t status; do
        dir=$scratch/$fmt-file-$(basename "$t")
        case $status in
        notrun)
            reason=$(tr '\r' '\n' < "$log" |
                     awk -v t="$t" '$1 == t && $2 == "not" && $3 == "run" {
                                        sub(/.*\] +\.\.\. +/, ""); r = $0 }
                                    END { print r }')
            # the format or protocol does not apply: not a test of ours
            if [[ $reason == "not suitable for this "* ||
                  $reason == "No qualified output "* ]]; then
                continue
            fi
            mkdir -p "$dir"
            echo "$reason" > "$dir/notrun.log"
            record "$suite" "$t" "not run" "$dir/notrun.log"
            ;;
        *)
            record "$suite" "$t" "$status" "$dir/$(basename "$t").out.bad"
            ;;
        esac
    done
    # ./check itself failed (bad arguments, missing binary...)
    if ! grep -q "^$suite " "$results" &&
       ! grep -q "^Passed all\|^Failed [0-9]* of" "$log"; then
        record "$suite" ./check "did not run: $(tail -n 1 "$log")" "$log"
    fi
}

suite_luks() {
    run_iotests iotests-luks luks
}

suite_qcow2() {
    run_iotests iotests-qcow2-luks qcow2 "${QCOW2_LUKS_IOTESTS[@]}"
}

# iotests the series adds that the other suites do not run: under qcow2
# (under luks they are already in the whole -luks run)
suite_series() {
    local t
    local added=()
    while read -r t; do
        t=$(basename "$t")
        [[ " ${QCOW2_LUKS_IOTESTS[*]} " == *" $t "* ]] || added+=("$t")
    done < <(git -C "$src" diff --name-only --diff-filter=A base..HEAD -- \
             'tests/qemu-iotests/*.out' | sed 's/\.out$//')
    if [ ${#added[@]} -gt 0 ]; then
        run_iotests iotests-series qcow2 "${added[@]}"
    fi
}

suite_mirror() {
    run_iotests iotests-mirror-qcow2 qcow2 "${MIRROR_IOTESTS[@]}"
    run_iotests iotests-mirror-raw raw "${MIRROR_IOTESTS[@]}"
}

ASAN_TOOLS=(qemu-img qemu-io qemu-nbd storage-daemon/qemu-storage-daemon)

# clang 19 build with ASan and UBSan (build-asan): the tools, whose build
# is clang's thread-safety analysis with warnings as errors; the crypto
# unit tests; a short fuzzing run that first replays the regression inputs
suite_sanitizers() {
    local f missing=()
    if ! "$top/scripts/build.sh" "$src" asan "${ASAN_TOOLS[@]}"             > "$out/build-asan-tools.log" 2>&1; then
        record sanitizers thread-safety fail \
            "$out/build-asan-tools.log"
    else
        # every C file of the series must have been compiled with the
        # analysis on, except the private XTS (nettle builds only; no locks)
        grep -q -- '-Wthread-safety' "$src/build-asan/build.ninja" ||
            missing+=(-Wthread-safety)
        for f in $(git -C "$src" diff --name-only base..HEAD -- '*.c'); do
            # the private XTS (nettle builds only), libargon2's Argon2
            # (builds without libgcrypt's) and the Argon2 stub (builds
            # without either) are not compiled here
            case $f in crypto/xts.c|tests/unit/test-crypto-xts.c|\
                crypto/argon2-libargon2.c|crypto/argon2-stub.c) continue ;;
            esac
            grep -q "\"file\": \"../$f\"" \
                "$src/build-asan/compile_commands.json" || missing+=("$f")
        done
        if [ ${#missing[@]} -eq 0 ]; then
            record sanitizers thread-safety pass \
                "$out/build-asan-tools.log"
        else
            echo "not analysed: ${missing[*]}" >> "$out/build-asan-tools.log"
            record sanitizers thread-safety fail \
                "$out/build-asan-tools.log"
        fi
    fi
    if ! build_unit_tests asan tests/unit/fuzz-crypto-luks; then
        record sanitizers build fail "$out/build-asan.log"
        return
    fi
    (
        export ASAN_OPTIONS=detect_leaks=1
        export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
        run_unit_backend asan
    )
    if "$top/scripts/fuzz.sh" "$top" "$FUZZ_SMOKE_SECONDS" \
            > "$out/fuzz.log" 2>&1; then
        record sanitizers fuzz pass "$out/fuzz.log"
    else
        record sanitizers fuzz fail "$out/fuzz.log"
    fi
}

# make check-full only: every -luks iotest with the ASan and UBSan build
# of the tools (the emulator, for the tests that start a VM, is the main
# build's: a sanitized emulator is not built).  Sanitizer output goes to
# log files, not into the tests' output: ASan warns about every
# swapcontext() of QEMU's coroutines, which would fail every test; the
# logs must then hold nothing but that warning.
suite_asan_iotests() {
    local logs=$out/asan-logs
    mkdir -p "$logs"
    "$top/scripts/build.sh" "$src" asan "${ASAN_TOOLS[@]}" \
        > "$out/build-asan-tools.log" 2>&1 ||
        record iotests-luks-asan build fail "$out/build-asan-tools.log"
    (
        export ASAN_OPTIONS=detect_leaks=0:log_path=$logs/asan
        export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan
        export QEMU_PROG=$src/build/qemu-system-x86_64
        iotests=$src/build-asan/tests/qemu-iotests
        run_iotests iotests-luks-asan luks
    )
    cat "$logs"/* 2>/dev/null |
        grep -v "doesn't fully support makecontext/swapcontext" |
        grep -v "is ignoring requested __asan_handle_no_return" |
        grep -v "fake_stack=\|False positive error reports may follow\|github.com/google/sanitizers/issues/189" \
        > "$out/sanitizer-reports.log"
    if [ -s "$out/sanitizer-reports.log" ]; then
        record iotests-luks-asan sanitizer-reports fail \
            "$out/sanitizer-reports.log"
    else
        record iotests-luks-asan sanitizer-reports pass /dev/null
    fi
}

suite_project() {
    local t log rc
    for t in "$top"/tests/*/*.sh; do
        [ -x "$t" ] || continue
        log=$out/project-$(basename "$(dirname "$t")")-$(basename "$t").log
        BIN=$top/build/bin "$t" > "$log" 2>&1
        rc=$?
        [ $rc -eq 0 ] && record project "${t#"$top"/}" pass "$log" ||
            record project "${t#"$top"/}" "fail (exit $rc)" "$log"
    done
}

for s in "${suites[@]}"; do
    echo "== suite $s"
    start=$SECONDS
    "suite_$s"
    echo "== suite $s: $(awk '$3 == "pass"' "$results" | wc -l) passed so" \
         "far, $((SECONDS - start)) s"
done

# a listed known failure whose suite ran but which did not is stale
while IFS='|' read -r s t _; do
    s=$(echo "$s") t=$(echo "$t")
    [[ -z $s || $s == '#'* ]] && continue
    if grep -q "^$s " "$results" && ! grep -qF "$s $t " "$results"; then
        record "$s" "$t" "listed in tests/known-failures, not run" /dev/null
    fi
done < "$known"

echo "== summary"
awk '{ n[$1 " " $3]++; s[$1] = 1 }
     END { for (x in s) printf "  %-22s %d passed, %d failed\n", x,
                                n[x " pass"], n[x " fail"] }' \
    "$results" | sort
passed=$(awk '$3 == "pass"' "$results" | wc -l)
failed=$(awk '$3 == "fail"' "$results" | wc -l)
if [ $failed -gt 0 ]; then
    echo "failed:"
    awk '$3 == "fail" { print "  " $1 " " $2 }' "$results"
    echo "logs: $out"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
