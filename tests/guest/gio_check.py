# SPDX-License-Identifier: GPL-2.0-or-later
"""The blocks guest-io.c writes, checked in an image on the host.

Block b at generation g: "GIOBLK01", b and g as little-endian 64-bit
numbers, then xorshift64 output seeded from b and g (see guest-io.c).
"""

import struct
from typing import Tuple

BLOCK = 4096
MAGIC = b'GIOBLK01'
MASK = (1 << 64) - 1


def block(b: int, g: int) -> bytes:
    """The contents of block @b at generation @g"""
    x = ((b + 1) * 0x9e3779b97f4a7c15 & MASK) ^ (g + 1)
    words = []
    for _ in range((BLOCK - 24) // 8):
        x ^= x << 13 & MASK
        x ^= x >> 7
        x ^= x << 17 & MASK
        words.append(x)
    return MAGIC + struct.pack('<QQ', b, g) + \
        struct.pack(f'<{len(words)}Q', *words)


def check_image(path: str) -> Tuple[int, int, int]:
    """Guest blocks in the plaintext image @path: how many there are,
    the guest's checksum of them (sum of (b + 1) * g), and how many are
    corrupt (wrong place, or contents that do not match their header)"""
    count = total = bad = 0
    with open(path, 'rb') as f:
        pos = 0
        while True:
            data = f.read(BLOCK)
            if len(data) < BLOCK:
                break
            if data.startswith(MAGIC):
                b, g = struct.unpack('<QQ', data[8:24])
                if b != pos or data != block(b, g):
                    bad += 1
                else:
                    count += 1
                    total = (total + (b + 1) * g) & MASK
            pos += 1
    return count, total, bad


def has_plaintext(path: str) -> bool:
    """Whether the file @path holds a guest block in the clear"""
    with open(path, 'rb') as f:
        while True:
            data = f.read(1 << 20)
            if not data:
                return False
            if MAGIC in data:
                return True
