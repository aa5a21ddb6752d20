#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Model-based test of LUKS key management, judged by cryptsetup.

Random sequences of password add / remove / replace and erase on
random keyslots with random passwords, through qemu-img or through QMP
jobs of qemu-storage-daemon, on raw LUKS, LUKS in qcow2 or a detached
header, and on LUKS2 (32 keyslots) raw or detached.  A model says which
password each keyslot holds.  After every step, Debian's cryptsetup
must agree with it (luksDump, and open --test-passphrase of each
keyslot with its password and of every other password), the volume key
cryptsetup recovers must not have changed, and QEMU must show the same
keyslots and open the volume with exactly the model's passwords.  On
LUKS2, a token that cryptsetup imports for keyslot 0 must keep it
until keyslot 0 is removed, move to the keyslot that replaces it, and
not refer to a keyslot added otherwise.  Any
disagreement fails with the seed and step.

usage: BIN=... keyslots.py BIN WORKDIR SEED STEPS LAYOUT INTERFACE
  LAYOUT: raw, qcow2, detached, luks2 or luks2-detached;
  INTERFACE: img or qmp
"""

import json
import os
import random
import struct
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pylint: disable=wrong-import-position
from qmp_job import QEMUMonitorProtocol, run_job  # noqa: E402

QCOW2_FDE_EXT = 0x0537be77


class Disagreement(Exception):
    pass


def run(cmd: List[str], check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise Disagreement(f"{' '.join(cmd)} failed: {res.stderr.strip()}")
    return res


def succeeded(res: subprocess.CompletedProcess) -> bool:
    """Whether a QEMU tool succeeded (0) or refused (1); anything else,
    a crash above all, is no refusal and fails the test"""
    if res.returncode not in (0, 1):
        raise Disagreement(f"{' '.join(res.args)} exited with "
                           f"{res.returncode}: {res.stderr.strip()}")
    return res.returncode == 0


class Volume:
    """An encrypted volume and how cryptsetup and QEMU reach it."""

    def __init__(self, bin_dir: str, work: str, layout: str,
                 passwords: Dict[str, str]):
        self.bin = bin_dir
        self.work = work
        self.layout = layout
        self.passwords = passwords
        self.image = os.path.join(work, 'disk.' + layout)
        self.header = os.path.join(work, 'disk.hdr')
        self.volume_key: Optional[str] = None
        self.luks2 = layout.startswith('luks2')
        self.detached = layout.endswith('detached')
        self.nslots = 32 if self.luks2 else 8

    def secret_args(self) -> List[str]:
        args = []
        for sid in self.passwords:
            args += ['--object',
                     f'secret,id={sid},file={self.pwfile(sid)}']
        return args

    def pwfile(self, sid: str) -> str:
        return os.path.join(self.work, sid + '.pw')

    def write_passwords(self) -> None:
        """cryptsetup and the secret objects read passwords from files"""
        for sid, pw in self.passwords.items():
            with open(self.pwfile(sid), 'w', encoding='utf-8') as f:
                f.write(pw)

    def create(self, sid: str) -> None:
        img = os.path.join(self.bin, 'qemu-img')
        for path in (self.image, self.header):
            if os.path.exists(path):
                os.unlink(path)
        opts = f'key-secret={sid},iter-time=10'
        if self.luks2:
            opts += ',luks-version=2,pbkdf=pbkdf2'
        if self.layout == 'qcow2':
            run([img, 'create', '-q', '-f', 'qcow2'] + self.secret_args() +
                ['-o', f'encrypt.format=luks,encrypt.key-secret={sid},'
                 'encrypt.iter-time=10', self.image, '16M'])
        elif self.detached:
            run([img, 'create', '-q', '-f', 'luks'] + self.secret_args() +
                ['-o', f'{opts},detached-header=on', self.header])
            run([img, 'create', '-q', '-f', 'raw', self.image, '16M'])
        else:
            run([img, 'create', '-q', '-f', 'luks'] + self.secret_args() +
                ['-o', opts, self.image, '32M'])
        self.volume_key = self.dump_volume_key(sid)
        if self.luks2:
            token = os.path.join(self.work, 'token.json')
            with open(token, 'w', encoding='utf-8') as f:
                json.dump({'type': 'model', 'keyslots': ['0']}, f)
            run(['cryptsetup', 'token', 'import', '--json-file', token,
                 '--token-id', '3', self.luks_header()])

    def image_opts(self, sid: Optional[str]) -> str:
        if self.layout == 'qcow2':
            key = f'encrypt.key-secret={sid},' if sid else ''
            return (f'driver=qcow2,encrypt.format=luks,{key}'
                    f'file.filename={self.image}')
        key = f'key-secret={sid},' if sid else ''
        opts = f'driver=luks,{key}file.filename={self.image}'
        if self.detached:
            opts += f',header.filename={self.header}'
        return opts

    def luks_header(self) -> str:
        """A file that holds the LUKS header and key material"""
        if self.detached:
            return self.header
        if self.layout != 'qcow2':
            return self.image
        start, size = self.qcow2_luks_extent()
        out = os.path.join(self.work, 'qcow2-luks.hdr')
        with open(self.image, 'rb') as f, open(out, 'wb') as o:
            f.seek(start)
            o.write(f.read(size))
        return out

    def qcow2_luks_extent(self) -> Tuple[int, int]:
        """Offset and length of the LUKS header and key material in the
        qcow2 image, from its full disk encryption header extension"""
        with open(self.image, 'rb') as f:
            hdr = f.read(65536)
        version, = struct.unpack('>I', hdr[4:8])
        off = 104 if version >= 3 else 72
        if version >= 3:
            off, = struct.unpack('>I', hdr[100:104])
        while True:
            magic, length = struct.unpack('>II', hdr[off:off + 8])
            if magic == 0:
                raise Disagreement('qcow2 image without a LUKS header')
            if magic == QCOW2_FDE_EXT:
                start, size = struct.unpack('>QQ', hdr[off + 8:off + 24])
                return start, size
            off += 8 + (length + 7) // 8 * 8

    def dump_volume_key(self, sid: str) -> str:
        out = run(['cryptsetup', 'luksDump', '-q', '--dump-volume-key',
                   '--key-file', self.pwfile(sid), self.luks_header()]).stdout
        lines = out.split('MK dump:', 1)[1].splitlines()
        key = ''
        for line in lines:
            if key and ':' in line:
                break
            key += line.replace(' ', '').replace('\t', '')
        return key

    def cryptsetup_slots(self, hdr: str) -> List[bool]:
        if self.luks2:
            ids = self.cryptsetup_json(hdr)['keyslots']
            return [str(i) in ids for i in range(self.nslots)]
        out = run(['cryptsetup', 'luksDump', hdr]).stdout
        return [f'Key Slot {i}: ENABLED' in out for i in range(self.nslots)]

    @staticmethod
    def cryptsetup_json(hdr: str) -> Dict:
        return json.loads(run(['cryptsetup', 'luksDump',
                               '--dump-json-metadata', hdr]).stdout)

    def token_keyslots(self, hdr: str) -> List[int]:
        """The keyslots of the token imported at creation"""
        tokens = self.cryptsetup_json(hdr)['tokens']
        if '3' not in tokens:
            raise Disagreement(f'token 3 is gone: {tokens}')
        return sorted(int(i) for i in tokens['3']['keyslots'])

    def cryptsetup_opens(self, hdr: str, sid: str,
                         slot: Optional[int] = None) -> bool:
        cmd = ['cryptsetup', 'open', '-q', '--test-passphrase',
               '--key-file', self.pwfile(sid)]
        if slot is not None:
            cmd += ['--key-slot', str(slot)]
        res = run(cmd + [hdr], check=False)
        if res.returncode not in (0, 1, 2):
            raise Disagreement(f'cryptsetup open: {res.stderr.strip()}')
        return res.returncode == 0

    def qemu_slots(self) -> List[bool]:
        out = run([os.path.join(self.bin, 'qemu-img'), 'info', '-U',
                   '--output=json'] + self.secret_args() +
                  ['--image-opts', self.image_opts(None)]).stdout
        data = json.loads(out)['format-specific']['data']
        if self.layout == 'qcow2':
            data = data['encrypt']
        return slot_states(data, self.nslots)

    def qemu_opens(self, sid: str) -> bool:
        res = run([os.path.join(self.bin, 'qemu-io'), '-U', '-r'] +
                  self.secret_args() +
                  ['--image-opts', self.image_opts(sid), '-c', 'read 0 512'],
                  check=False)
        return succeeded(res) and 'read 512/512' in res.stdout


def slot_states(info: Dict, nslots: int) -> List[bool]:
    """Which keyslots QEMU's info shows as active: LUKS1 lists them
    all, LUKS2 those that exist, by id"""
    if info.get('version') == 2:
        ids = [s['keyslot'] for s in info['slots']]
        return [i in ids for i in range(nslots)]
    return [s['active'] for s in info['slots']]


class ImgInterface:
    """Password changes through qemu-img amend and erase"""

    def __init__(self, vol: Volume):
        self.vol = vol
        self.prefix = 'encrypt.' if vol.layout == 'qcow2' else ''

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def amend(self, unlock: str, opts: Dict[str, object],
              force: bool = False) -> bool:
        o = ','.join(f'{self.prefix}{k}={v}' for k, v in opts.items())
        cmd = [os.path.join(self.vol.bin, 'qemu-img'), 'amend'] + \
            self.vol.secret_args() + (['--force'] if force else []) + \
            ['--image-opts', self.vol.image_opts(unlock), '-o', o]
        return succeeded(run(cmd, check=False))

    def add(self, unlock: str, new: str, slot: Optional[int]) -> bool:
        opts: Dict[str, object] = {'state': 'active', 'new-secret': new,
                                   'iter-time': 10}
        if slot is not None:
            opts['keyslot'] = slot
        return self.amend(unlock, opts)

    def replace(self, unlock: str, old: str, new: str,
                slot: Optional[int]) -> bool:
        opts: Dict[str, object] = {'state': 'active', 'new-secret': new,
                                   'old-secret': old, 'iter-time': 10}
        if slot is not None:
            opts['keyslot'] = slot
        return self.amend(unlock, opts)

    def remove(self, unlock: str, old: Optional[str],
               slot: Optional[int]) -> bool:
        opts: Dict[str, object] = {'state': 'inactive'}
        if old is not None:
            opts['old-secret'] = old
        if slot is not None:
            opts['keyslot'] = slot
        return self.amend(unlock, opts)

    def erase(self) -> bool:
        cmd = [os.path.join(self.vol.bin, 'qemu-img'), 'erase', '-q',
               '--image-opts', self.vol.image_opts(None)]
        return succeeded(run(cmd, check=False))


class QmpInterface:
    """Password changes through the QMP jobs of qemu-storage-daemon"""

    def __init__(self, vol: Volume):
        self.vol = vol
        self.sock = os.path.join(vol.work, 'qmp.sock')
        self.proc: Optional[subprocess.Popen] = None
        self.qmp: Optional[QEMUMonitorProtocol] = None

    def start(self, unlock: str) -> None:
        vol = self.vol
        blockdevs = [f'driver=file,filename={vol.image},node-name=f0']
        if vol.layout == 'qcow2':
            blockdevs.append('driver=qcow2,file=f0,encrypt.format=luks,'
                             f'encrypt.key-secret={unlock},node-name=n0')
        elif vol.detached:
            blockdevs += [f'driver=file,filename={vol.header},node-name=h0',
                          f'driver=luks,file=f0,header=h0,'
                          f'key-secret={unlock},node-name=n0']
        else:
            blockdevs.append(f'driver=luks,file=f0,key-secret={unlock},'
                             'node-name=n0')
        self.qmp = QEMUMonitorProtocol(self.sock, server=True)
        cmd = [os.path.join(vol.bin, 'qemu-storage-daemon')] + \
            vol.secret_args() + \
            sum((['--blockdev', b] for b in blockdevs), []) + \
            ['--chardev', f'socket,id=m0,path={self.sock}',
             '--monitor', 'chardev=m0']
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        self.qmp.accept(timeout=30)

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.qmp.close()
            self.proc = None

    def job(self, command: str, args: Dict[str, object]) -> bool:
        return run_job(self.qmp, command, {'node-name': 'n0', **args}) is None

    def add(self, unlock: str, new: str, slot: Optional[int]) -> bool:
        args: Dict[str, object] = {'new-secret': new, 'secret': unlock,
                                   'iter-time': 10}
        if slot is not None:
            args['keyslot'] = slot
        return self.job('blockdev-keyslot-add', args)

    def replace(self, unlock: str, old: str, new: str,
                slot: Optional[int]) -> bool:
        del unlock  # old-secret unlocks
        args: Dict[str, object] = {'new-secret': new, 'old-secret': old,
                                   'iter-time': 10}
        if slot is not None:
            args['keyslot'] = slot
        return self.job('blockdev-keyslot-replace', args)

    def remove(self, unlock: str, old: Optional[str],
               slot: Optional[int]) -> bool:
        del unlock
        args: Dict[str, object] = {}
        if old is not None:
            args['old-secret'] = old
        if slot is not None:
            args['keyslot'] = slot
        return self.job('blockdev-keyslot-remove', args)

    def erase(self) -> bool:
        return self.job('blockdev-erase', {})

    def qemu_slots(self) -> List[bool]:
        for node in self.qmp.cmd('query-named-block-nodes', flat=True):
            if node['node-name'] == 'n0':
                data = node['image']['format-specific']['data']
                if self.vol.layout == 'qcow2':
                    data = data['encrypt']
                return slot_states(data, self.vol.nslots)
        raise Disagreement('node n0 is gone')


class Test:
    def __init__(self, args: List[str]):
        bin_dir, work, seed, steps, layout, interface = args
        self.seed = int(seed)
        self.steps = int(steps)
        self.rng = random.Random(f'{self.seed}/{layout}/{interface}')
        self.label = f'seed {self.seed} ({layout}, {interface})'
        # passwords of various lengths; cryptsetup reads them from files
        self.passwords = {}
        for i in range(6):
            n = self.rng.randint(1, 40)
            self.passwords[f'p{i}'] = ''.join(
                self.rng.choice('abcdefghijklmnopqrstuvwxyz0123456789-_.')
                for _ in range(n))
        self.vol = Volume(bin_dir, work, layout, self.passwords)
        self.vol.write_passwords()
        if interface == 'qmp':
            self.iface = QmpInterface(self.vol)
        else:
            self.iface = ImgInterface(self.vol)
        self.nslots = self.vol.nslots
        self.model: List[Optional[str]] = [None] * self.nslots
        self.token: List[int] = []
        self.counts = {'ok': 0, 'refused': 0}

    def fresh_volume(self) -> None:
        sid = self.rng.choice(list(self.passwords))
        self.iface.stop()
        self.vol.create(sid)
        self.model = [sid] + [None] * (self.nslots - 1)
        self.token = [0]
        if isinstance(self.iface, QmpInterface):
            self.iface.start(sid)

    def holders(self) -> List[str]:
        return [p for p in self.model if p is not None]

    def step(self) -> str:
        """Do one random operation; check that it succeeded exactly when
        the model says it must, and update the model"""
        rng, model = self.rng, self.model
        nslots = self.nslots
        active = [i for i in range(nslots) if model[i] is not None]
        free = [i for i in range(nslots) if model[i] is None]
        # mostly a password the volume has, sometimes any other
        pw = rng.choice(self.holders() if rng.random() < 0.8
                        else list(self.passwords))
        other = rng.choice(list(self.passwords))
        # mostly the default keyslot, else a free one, else any
        slot = rng.choice([None, None, None,
                           rng.choice(free or [0]), rng.randrange(nslots)])
        # the password that opens the volume for qemu-img: a working one
        unlock = rng.choice(self.holders())
        op = rng.choices(['add', 'replace', 'remove', 'erase'],
                         [40, 35, 30, 2])[0]
        new = list(model)
        if op == 'add':
            # pw unlocks (QMP 'secret'; qemu-img opens with it)
            target = slot if slot is not None else (free[0] if free else None)
            expect = pw in model and target is not None and \
                model[target] is None
            if expect:
                new[target] = other
            got = self.iface.add(pw, other, slot)
            what = f'add {other} unlocked by {pw} into keyslot {slot}'
        elif op == 'replace':
            target = slot if slot is not None else (free[0] if free else None)
            expect = pw in model and target is not None and \
                model[target] is None
            if expect:
                new = [None if p == pw else p for p in model]
                new[target] = other
            got = self.iface.replace(unlock, pw, other, slot)
            what = f'replace {pw} with {other} into keyslot {slot}'
        elif op == 'remove':
            by_pw = rng.random() < 0.7
            old = pw if by_pw else None
            if slot is None and not by_pw:
                slot = rng.randrange(nslots)
            if slot is not None:
                hit = [slot] if model[slot] is not None and \
                    (old is None or model[slot] == old) else []
            else:
                hit = [i for i in active if model[i] == old]
            expect = bool(hit) and len(hit) < len(active)
            if expect:
                for i in hit:
                    new[i] = None
            got = self.iface.remove(unlock, old, slot)
            what = f'remove password {old} keyslot {slot}'
        else:
            expect = True
            new = [None] * nslots
            got = self.iface.erase()
            what = 'erase'
        if got != expect:
            raise Disagreement(f'{what}: QEMU says {"done" if got else "refused"}'
                               f', the model {"done" if expect else "refused"}')
        self.counts['ok' if got else 'refused'] += 1
        # a token keeps the keyslots that stayed, not those added later,
        # but a replacement takes over the tokens of what it replaces
        kept = [i for i in self.token
                if model[i] is not None and new[i] == model[i]]
        if op == 'replace' and got and len(kept) < len(self.token):
            kept.append(target)
        self.token = sorted(kept)
        self.model = new
        return f'{what}: {"done" if got else "refused"}'

    def check(self) -> None:
        """cryptsetup and QEMU against the model"""
        vol, model = self.vol, self.model
        hdr = vol.luks_header()
        want = [p is not None for p in model]
        if vol.cryptsetup_slots(hdr) != want:
            raise Disagreement(f'cryptsetup luksDump keyslots '
                               f'{vol.cryptsetup_slots(hdr)}, model {want}')
        for i, p in enumerate(model):
            if p is not None and not vol.cryptsetup_opens(hdr, p, i):
                raise Disagreement(f'cryptsetup: {p} does not open keyslot {i}')
        for sid in self.passwords:
            if sid not in model and vol.cryptsetup_opens(hdr, sid):
                raise Disagreement(f'cryptsetup: {sid} opens the volume')
        # one password against one keyslot that is not its own
        if vol.luks2 and vol.token_keyslots(hdr) != self.token:
            raise Disagreement(f'token 3 has keyslots '
                               f'{vol.token_keyslots(hdr)}, model '
                               f'{self.token}')
        active = [i for i in range(self.nslots) if model[i] is not None]
        if active:
            i = self.rng.choice(active)
            sid = self.rng.choice(list(self.passwords))
            if sid != model[i] and vol.cryptsetup_opens(hdr, sid, i):
                raise Disagreement(f'cryptsetup: {sid} opens keyslot {i}')
            key = vol.dump_volume_key(model[i])
            if key != vol.volume_key:
                raise Disagreement('the volume key changed')
        if isinstance(self.iface, QmpInterface):
            if self.iface.qemu_slots() != want:
                raise Disagreement(f'query-named-block-nodes keyslots '
                                   f'{self.iface.qemu_slots()}, model {want}')
        if vol.qemu_slots() != want:
            raise Disagreement(f'qemu-img info keyslots {vol.qemu_slots()}, '
                               f'model {want}')
        sid = self.rng.choice(list(self.passwords))
        if vol.qemu_opens(sid) != (sid in model):
            raise Disagreement(f'qemu-io: {sid} opens: {vol.qemu_opens(sid)}'
                               f', model: {sid in model}')

    def main(self) -> int:
        n = 0
        try:
            self.fresh_volume()
            self.check()
            for n in range(1, self.steps + 1):
                what = self.step()
                self.check()
                print(f'{self.label} step {n}: {what}; {self.model}')
                if not any(self.model):
                    self.fresh_volume()
                    self.check()
        except Disagreement as e:
            print(f'FAIL: {self.label}, step {n}: {e}')
            print(f'model before: {self.model}')
            return 1
        finally:
            self.iface.stop()
        print(f'{self.label}: {self.steps} steps agree '
              f'({self.counts["ok"]} done, {self.counts["refused"]} refused)')
        return 0


if __name__ == '__main__':
    sys.exit(Test(sys.argv[1:]).main())
