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
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

step() {
    echo "== $*"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_fail CMD...: CMD must exit non-zero
expect_fail() {
    if "$@" > /dev/null 2>&1; then
        fail "succeeded but should not: $*"
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

# qio TOOL OBJECT IMAGE_OPTS CMD: run one qemu-io command on an image
qio() {
    local out
    out=$("$1" --object "$2" --image-opts "$3" -c "$4" 2>&1) ||
        fail "qemu-io '$4' failed: $out"
    if grep -q "Pattern verification failed" <<<"$out"; then
        fail "qemu-io '$4': pattern verification failed"
    fi
}
