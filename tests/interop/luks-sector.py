#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Decrypt one payload sector of a LUKS1 volume independently of QEMU.

cryptsetup recovers the volume key from a password and reports the
payload offset; Python's cryptography package decrypts the sector with
AES in XTS, CBC or CTR mode and the plain64 or plain IV.  Exits 0 when
every byte equals the expected one.

usage: luks-sector.py IMAGE KEYFILE SECTOR BYTE [HEADER]
"""

import re
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SECTOR_SIZE = 512
# cipher mode and IV generator: the mode, and the bytes of the sector
# number in the little-endian IV ("plain" has 32 bits)
MODES = {
    'xts-plain64': (modes.XTS, 8),
    'cbc-plain64': (modes.CBC, 8),
    'cbc-plain': (modes.CBC, 4),
    'ctr-plain64': (modes.CTR, 8),
}


def luks_dump(image: str, keyfile: str, header: str) -> str:
    cmd = ['cryptsetup', 'luksDump', '-q', '--dump-volume-key',
           '--key-file', keyfile]
    if header:
        cmd += ['--header', header]
    return subprocess.run(cmd + [image], check=True, capture_output=True,
                          text=True).stdout


def main() -> int:
    image, keyfile, sector, byte = sys.argv[1:5]
    header = sys.argv[5] if len(sys.argv) > 5 else ''
    dump = luks_dump(image, keyfile, header)
    mode = re.search(r'Cipher mode:\s*(\S+)', dump).group(1)
    if mode not in MODES:
        print(f'cipher mode {mode} is not one of {list(MODES)}',
              file=sys.stderr)
        return 1
    key_hex = re.search(r'MK dump:\s*((?:[0-9a-f]{2}\s+)+)', dump)
    offset = re.search(r'Payload offset:\s*(\d+)', dump)
    key = bytes.fromhex(''.join(key_hex.group(1).split()))
    payload = int(offset.group(1)) * SECTOR_SIZE
    with open(image, 'rb') as f:
        f.seek(payload + int(sector) * SECTOR_SIZE)
        data = f.read(SECTOR_SIZE)
    mode_class, iv_bytes = MODES[mode]
    iv = (int(sector) % 256 ** iv_bytes).to_bytes(16, 'little')
    dec = Cipher(algorithms.AES(key), mode_class(iv)).decryptor()
    plain = dec.update(data) + dec.finalize()
    expected = bytes([int(byte, 0)]) * SECTOR_SIZE
    if plain != expected:
        print(f'sector {sector}: decrypted data is not {byte}',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
