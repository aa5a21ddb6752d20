#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# AES-256-XTS encryption and decryption speed, in MB/s on one core, of
# the build BUILD_DIR (one crypto backend) for CHUNK-byte chunks, with
# QEMU's tests/bench/benchmark-crypto-cipher.  Prints "ENC DEC".
#   xts-speed.sh BUILD_DIR CHUNK
set -euo pipefail

dir=${1:?usage: xts-speed.sh BUILD_DIR CHUNK}
chunk=${2:?}
"$dir/tests/bench/benchmark-crypto-cipher" --tap xts "$chunk" 2>&1 |
    awk '/aes-256-xts/ && /^# enc/ { e = $(NF - 1) }
         /aes-256-xts/ && /^# dec/ { d = $(NF - 1) }
         END { print e, d }'
