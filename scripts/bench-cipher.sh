#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# AES-256-XTS speed of each crypto backend, measured side by side with
# QEMU's tests/bench/benchmark-crypto-cipher (one core, MB/s).  This is
# how the backend of build/bin/ (MAIN_CRYPTO in scripts/config.sh) was
# chosen.
set -euo pipefail

top=${1:?usage: bench-cipher.sh TOP}
. "$top/scripts/config.sh"
src=$top/build/qemu
bench=tests/bench/benchmark-crypto-cipher

printf '%-8s %6s %10s %10s\n' backend chunk enc-MB/s dec-MB/s
for b in "${CRYPTO_BACKENDS[@]}"; do
    "$top/scripts/build.sh" "$src" "$b" "$bench" > "$top/build/bench-$b.log"
    for chunk in 512 4096 65536; do
        read -r enc dec < <("$top/scripts/xts-speed.sh" "$src/build-$b" \
                            "$chunk")
        printf '%-8s %6s %10s %10s\n' "$b" "$chunk" "$enc" "$dec"
    done
done
