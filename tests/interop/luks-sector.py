#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# pylint: disable=invalid-name
"""Decrypt payload bytes of a LUKS1 or LUKS2 volume independently of QEMU.

cryptsetup recovers the volume key from a password and reports where
the payload starts: LUKS1's payload offset, or LUKS2's one crypt
segment with its offset, sector size and IV tweak.  Python's
cryptography package decrypts the data units (sectors of the sector
size) that hold the bytes, with AES in XTS, CBC or CTR mode and the
plain64, plain or essiv:sha256 IV.  As dm-crypt does (without
iv_large_sectors), the data unit at byte X of the payload has the IV
of 512-byte sector X / 512 + iv_tweak.  Exits 0 when every byte equals
the expected one.  With --write, it encrypts the bytes, set to BYTE,
into the image instead, as dm-crypt would write them.

usage: luks-sector.py [--write] IMAGE KEYFILE WHERE BYTE [HEADER]

WHERE is a 512-byte sector of the payload, N, or the bytes LENGTH@OFFSET;
or a comma-separated list of those, with as many BYTEs, in a list too.
"""

import argparse
import hashlib
import json
import re
import subprocess
import sys
from typing import BinaryIO, Callable, NamedTuple, Tuple, Union

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# dm-crypt counts IVs in sectors of 512 bytes, whatever the sector size
IV_SECTOR = 512
CipherMode = Union[modes.XTS, modes.CBC, modes.CTR]
# cipher mode and IV generator: the mode, and the bytes of the sector
# number in the little-endian IV ("plain" has 32 bits)
MODES: dict[str, Tuple[Callable[[bytes], CipherMode], int]] = {
    'xts-plain64': (modes.XTS, 8),
    'cbc-plain64': (modes.CBC, 8),
    'cbc-plain': (modes.CBC, 4),
    'ctr-plain64': (modes.CTR, 8),
    'cbc-essiv:sha256': (modes.CBC, 8),
}


class Segment(NamedTuple):
    """The encrypted payload"""
    key: bytes
    mode: str
    offset: int
    sector_size: int
    iv_tweak: int


def luks_dump(image: str, header: str, *args: str) -> str:
    """cryptsetup luksDump's output"""
    cmd = ['cryptsetup', 'luksDump', *args]
    if header:
        cmd += ['--header', header]
    return subprocess.run(cmd + [image], check=True, capture_output=True,
                          text=True).stdout


def field(pattern: str, dump: str) -> str:
    """The group of PATTERN in DUMP"""
    match = re.search(pattern, dump)
    if not match:
        raise ValueError(f'luksDump shows no {pattern}')
    return match.group(1)


def segment(image: str, keyfile: str, header: str) -> Segment:
    """The payload of IMAGE, with the volume key KEYFILE opens"""
    dump = luks_dump(image, header, '-q', '--dump-volume-key',
                     '--key-file', keyfile)
    key = bytes.fromhex(''.join(
        field(r'MK dump:\s*((?:[0-9a-f]{2}\s+)+)', dump).split()))
    cipher = (field(r'Cipher name:\s*(\S+)', dump) + '-' +
              field(r'Cipher mode:\s*(\S+)', dump))
    if not cipher.startswith('aes-') or cipher[4:] not in MODES:
        raise ValueError(f'cipher {cipher} is not aes-{list(MODES)}')
    if field(r'Version:\s*(\d+)', luks_dump(image, header)) == '1':
        offset = int(field(r'Payload offset:\s*(\d+)', dump)) * IV_SECTOR
        return Segment(key, cipher[4:], offset, IV_SECTOR, 0)
    segments = json.loads(luks_dump(image, header, '--dump-json-metadata')
                          )['segments']
    if len(segments) != 1:
        raise ValueError(f'{len(segments)} segments, not one')
    seg = next(iter(segments.values()))
    if seg['type'] != 'crypt' or seg['encryption'] != cipher:
        raise ValueError(f'segment {seg} does not use {cipher}')
    return Segment(key, cipher[4:], int(seg['offset']), seg['sector_size'],
                   int(seg['iv_tweak']))


def crypt(seg: Segment, unit: int, data: bytes, encrypt: bool) -> bytes:
    """Data unit UNIT of the payload, en- or decrypted"""
    mode, iv_bytes = MODES[seg.mode]
    sector = unit * seg.sector_size // IV_SECTOR + seg.iv_tweak
    iv = (sector % 256 ** iv_bytes).to_bytes(16, 'little')
    if seg.mode.endswith('-essiv:sha256'):
        essiv = Cipher(algorithms.AES(hashlib.sha256(seg.key).digest()),
                       modes.ECB()).encryptor()
        iv = essiv.update(iv) + essiv.finalize()
    cipher = Cipher(algorithms.AES(seg.key), mode(iv))
    ctx = cipher.encryptor() if encrypt else cipher.decryptor()
    return ctx.update(data) + ctx.finalize()


def crypt_units(seg: Segment, first: int, data: bytes,
                encrypt: bool) -> bytes:
    """DATA, the payload's data units from FIRST on, en- or decrypted"""
    size = seg.sector_size
    return b''.join(crypt(seg, first + i // size, data[i:i + size], encrypt)
                    for i in range(0, len(data), size))


def byte_range(where: str) -> Tuple[int, int]:
    """The offset and length of the bytes WHERE names"""
    if '@' in where:
        length, offset = where.split('@')
        return int(offset), int(length)
    return int(where) * IV_SECTOR, IV_SECTOR


def access(img: BinaryIO, seg: Segment, where: str, byte: int,
           write: bool) -> int:
    """Check that the bytes WHERE names are BYTE (0 if so, else 1), or
    write them as BYTE"""
    offset, length = byte_range(where)
    first = offset // seg.sector_size
    skip = offset - first * seg.sector_size
    size = -(-(skip + length) // seg.sector_size) * seg.sector_size
    img.seek(seg.offset + first * seg.sector_size)
    data = img.read(size)
    if len(data) != size:
        print(f'{where}: past the end of the image', file=sys.stderr)
        return 1
    plain = crypt_units(seg, first, data, False)
    got, want = plain[skip:skip + length], bytes([byte]) * length
    if write:
        img.seek(seg.offset + first * seg.sector_size)
        img.write(crypt_units(seg, first, plain[:skip] + want +
                              plain[skip + length:], True))
    elif got != want:
        diff = next(i for i in range(length) if got[i] != byte)
        print(f'{where}: decrypted data is not {byte:#x} (byte '
              f'{offset + diff} is {got[diff]:#x})', file=sys.stderr)
        return 1
    return 0


def main() -> int:
    """Check or write the bytes the command line names"""
    parser = argparse.ArgumentParser(
        usage='%(prog)s [--write] IMAGE KEYFILE WHERE BYTE [HEADER]')
    parser.add_argument('--write', action='store_true')
    for arg in ('image', 'keyfile', 'where', 'byte'):
        parser.add_argument(arg)
    parser.add_argument('header', nargs='?', default='')
    args = parser.parse_args()
    places = args.where.split(',')
    values = [int(b, 0) for b in args.byte.split(',')]
    if len(places) != len(values):
        parser.error('WHERE and BYTE list different numbers of items')
    seg = segment(args.image, args.keyfile, args.header)
    with open(args.image, 'r+b' if args.write else 'rb') as img:
        return max(access(img, seg, where, byte, args.write)
                   for where, byte in zip(places, values))


if __name__ == '__main__':
    sys.exit(main())
