#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A real guest on the patched emulator (guest.py): key changes, backup,
# erase and mirror under its I/O, judged by the guest and cryptsetup.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/guest/lib-guest.sh"

prepare_guest
mkdir "$WORK/run"
"$TESTS_DIR/guest/guest.py" run "$BIN" "$WORK/run" "$GUEST_KERNEL" \
    "$GUEST_INITRD" || fail "the guest test failed"
echo "real guest: all checks passed"
