# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for the project's own tests (sourced).  A test runs with
# BIN=<dir of the patched tools>; it prints what it checks and exits
# non-zero on the first failure.
set -euo pipefail

BIN=${BIN:?BIN must name the patched tools directory}
QEMU_IMG=$BIN/qemu-img
QEMU_IO=$BIN/qemu-io
# Debian's own qemu-utils 10.0 (bookworm-backports), unpatched
STOCK_QEMU_IMG=/usr/bin/qemu-img
STOCK_QEMU_IO=/usr/bin/qemu-io
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/luks-series-test.XXXXXX")
AT_EXIT=()
# at_exit CMD: run the shell command CMD when the test exits, before
# $WORK is removed; the last registered runs first
at_exit() {
    AT_EXIT=("$1" "${AT_EXIT[@]}")
}
run_at_exit() {
    local c
    for c in "${AT_EXIT[@]}"; do
        eval "$c" || true
    done
    rm -rf "$WORK"
}
trap run_at_exit EXIT
cd "$WORK"

step() {
    echo "== $*"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_fail CMD...: CMD must fail with an error of its own, exit
# status 1-125: not succeed, and not die of a signal (a crash is no
# refusal)
expect_fail() {
    local rc=0
    "$@" > /dev/null 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then
        fail "succeeded but should not: $*"
    elif [ "$rc" -gt 125 ]; then
        fail "died (exit status $rc) instead of refusing: $*"
    fi
}

# secret ID PASSWORD: the --object argument of a secret
secret() {
    echo "secret,id=$1,data=$2"
}

# luks_opts SECRET_ID FILE [HEADER]: --image-opts of a raw LUKS volume
luks_opts() {
    local o="driver=luks,key-secret=$1,file.filename=$2"
    [ $# -lt 3 ] || o+=",header.filename=$3"
    echo "$o"
}

# qio [-r] TOOL OBJECT IMAGE_OPTS CMD: run one qemu-io command on an
# image (read-only with -r)
qio() {
    local out ro=()
    if [ "$1" = -r ]; then
        ro=(-r)
        shift
    fi
    out=$("$1" "${ro[@]}" --object "$2" --image-opts "$3" -c "$4" 2>&1) ||
        fail "qemu-io '$4' failed: $out"
    if grep -q "Pattern verification failed" <<<"$out"; then
        fail "qemu-io '$4': pattern verification failed"
    fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# format_luks SECRET_ID TARGET [QEMU_IMG_ARGS...]: qemu-img format TARGET
# with LUKS opened by SECRET_ID, and print the payload size it reports
format_luks() {
    local out
    out=$("$QEMU_IMG" format --object "$(secret "$1" "pw-$1")" -f luks \
          -o "key-secret=$1,iter-time=10" "${@:3}" "$2" 2>&1) ||
        fail "qemu-img format $2: $out"
    sed -n 's/.*: payload size \([0-9]*\) bytes$/\1/p' <<<"$out"
}

# check_format TARGET FILE_OPTS SIZE: on TARGET, an empty volume of SIZE
# that QEMU opens with the protocol options FILE_OPTS (file.*),
# qemu-img format gives the payload a file of SIZE would get; data
# written through QEMU's LUKS over it reads back; a second format is
# refused without --force and replaces the volume with it
check_format() {
    local target=$1 file_opts=$2 want got out
    "$QEMU_IMG" create -q -f raw same-size.img "$3"
    want=$(format_luks s0 same-size.img)
    got=$(format_luks s0 "$target")
    [ "$got" = "$want" ] ||
        fail "$target: payload of $got bytes, a file gets $want"
    qio "$QEMU_IO" "$(secret s0 pw-s0)" "driver=luks,key-secret=s0,$file_opts" \
        "write -P 0x5a 1M 1M"
    qio "$QEMU_IO" "$(secret s0 pw-s0)" "driver=luks,key-secret=s0,$file_opts" \
        "read -P 0x5a 1M 1M"
    if out=$("$QEMU_IMG" format --object "$(secret s1 pw-s1)" -f luks \
             -o key-secret=s1,iter-time=10 "$target" 2>&1); then
        fail "$target: formatted again without --force"
    fi
    grep -q "already holds a luks image" <<<"$out" ||
        fail "$target: unexpected refusal: $out"
    qio "$QEMU_IO" "$(secret s0 pw-s0)" "driver=luks,key-secret=s0,$file_opts" \
        "read -P 0x5a 1M 1M"
    format_luks s1 "$target" --force > /dev/null
    qio "$QEMU_IO" "$(secret s1 pw-s1)" "driver=luks,key-secret=s1,$file_opts" \
        "read 0 64k"
    expect_fail "$QEMU_IO" --object "$(secret s0 pw-s0)" --image-opts \
        "driver=luks,key-secret=s0,$file_opts" -c "read 0 64k"
}
