#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A real guest on an encrypted disk, with the series' jobs run under its
I/O and judged by the guest's own verification and by cryptsetup.

The guest is a Debian kernel whose init is guest-io.c: it writes and
verifies checksummed blocks on its virtio disk without pause and reports
on the serial console.  For each layout (raw LUKS, LUKS in qcow2, a
detached header), one boot runs, while the guest writes:

  - blockdev-keyslot-replace with an I/O error injected by blkdebug
    into the header write: the job fails, the guest sees no error;
  - blockdev-keyslot-add, -replace and -remove;
  - drive-backup of the disk, then blockdev-erase of the backup; erase
    of the guest's own node is refused;
  - drive-mirror to a new encrypted image, block-job-complete, and the
    guest goes on writing on the copy.

A second boot, on a plaintext disk, mirrors it into a LUKS image with
'encrypt'.  Afterwards: the guest reported no error and verified blocks
during every job; cryptsetup opens each keyslot with exactly the
passwords expected; the backup holds consistent guest blocks; the
mirror target opens with its secret, holds exactly the guest's last
writes, and no guest block in the clear.

usage: guest.py run BIN WORKDIR KERNEL INITRD
       guest.py initramfs KERNEL_DIR INIT INITRD
  the second makes the guest's INITRD from INIT (guest-io.c, built
  static) and the modules of KERNEL_DIR (a Debian linux-image package,
  unpacked)
"""

import glob
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pylint: disable=wrong-import-position
from qmp_job import QEMUMonitorProtocol, run_job  # noqa: E402
from model.keyslots import Disagreement, Volume, run  # noqa: E402
from gio_check import check_image, has_plaintext  # noqa: E402

# the modules the guest's virtio disk needs, in load order
MODULES = ['virtio/virtio_ring', 'virtio/virtio', 'virtio/virtio_pci_modern_dev',
           'virtio/virtio_pci_legacy_dev', 'virtio/virtio_pci',
           'block/virtio_blk']
PASSWORDS = {'s0': 'guest-zero', 's1': 'guest-one', 's2': 'guest-two'}
GUEST_BLOCKS = 3072     # 12 MiB of the 16 MiB disk
BOOT_TIMEOUT = 120


class Failure(Exception):
    pass


GUESTS: List['Guest'] = []


class Guest:
    """A VM whose guest writes and verifies blocks on the node 'disk'"""

    def __init__(self, bin_dir: str, work: str, kernel: str, initrd: str,
                 vol: Volume, blockdevs: List[str]):
        self.work = work
        self.lines: List[str] = []
        self.log = open(os.path.join(work, 'serial.log'), 'w',
                        encoding='utf-8')
        serial_path = os.path.join(work, 'serial.sock')
        qmp_path = os.path.join(work, 'qmp.sock')
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(serial_path)
        self.listener.listen(1)
        self.qmp = QEMUMonitorProtocol(qmp_path, server=True)
        # TCG: these machines may have a /dev/kvm (nested) on which the
        # guest does not boot; the tables compare runs under TCG
        cmd = [os.path.join(bin_dir, 'qemu-system-x86_64'),
               '-accel', 'tcg', '-m', '256',
               '-display', 'none', '-no-reboot', '-nodefaults',
               '-kernel', kernel, '-initrd', initrd,
               '-append', f'console=ttyS0 quiet panic=-1 '
                          f'gio_blocks={GUEST_BLOCKS}',
               '-chardev', f'socket,id=ser0,path={serial_path}',
               '-serial', 'chardev:ser0',
               '-chardev', f'socket,id=mon0,path={qmp_path}',
               '-mon', 'chardev=mon0,mode=control',
               '-object', 'iothread,id=io0'] + vol.secret_args()
        for b in blockdevs:
            cmd += ['-blockdev', b]
        cmd += ['-device', 'virtio-blk-pci,drive=disk,id=vd0,iothread=io0']
        with open(os.path.join(work, 'qemu.log'), 'w',
                  encoding='utf-8') as err:
            self.proc = subprocess.Popen(cmd, stdout=err, stderr=err)
        GUESTS.append(self)
        self.qmp.accept(timeout=30)
        self.listener.settimeout(30)
        self.serial, _ = self.listener.accept()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.accel = 'kvm' if self.qmp.cmd('query-kvm')['enabled'] else 'tcg'
        self.wait_line('gio: start', BOOT_TIMEOUT)

    def _read(self) -> None:
        buf = b''
        while True:
            data = self.serial.recv(4096)
            if not data:
                return
            buf += data
            *lines, buf = buf.split(b'\n')
            for raw in lines:
                line = raw.decode(errors='replace').strip()
                self.log.write(line + '\n')
                self.log.flush()
                if line.startswith('gio:'):
                    self.lines.append(line)

    def wait_line(self, prefix: str, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise Failure(f'no "{prefix}" from the guest in {timeout} s '
                      f'(see {self.log.name})')

    def errors(self) -> List[str]:
        return [line for line in self.lines if 'ERROR' in line]

    def progress(self) -> Tuple[int, int]:
        """Blocks written and verified so far, from the last report"""
        for line in reversed(self.lines):
            f = line.split()
            if f[1] == 'written':
                return int(f[2]), int(f[4])
        return 0, 0

    def wait_progress(self, blocks: int, timeout: float = 120) -> None:
        """Wait until the guest has written @blocks more blocks"""
        start = self.progress()[0]
        end = time.monotonic() + timeout
        while self.progress()[0] < start + blocks:
            if time.monotonic() > end or self.proc.poll() is not None:
                raise Failure(f'the guest wrote {self.progress()[0] - start}'
                              f' blocks in {timeout} s, not {blocks}')
            time.sleep(0.2)

    def job(self, what: str, command: str,
            args: Dict[str, object]) -> Optional[str]:
        """Run a job under the guest's I/O; print what the guest did
        meanwhile and fail if it saw an error"""
        w0, v0 = self.progress()
        t0 = time.monotonic()
        error = run_job(self.qmp, command, args)
        secs = time.monotonic() - t0
        # one more report, so that the job's whole time is counted
        time.sleep(0.3)
        w1, v1 = self.progress()
        print(f'  {what}: {"ok" if error is None else error}; '
              f'{secs:.1f} s, guest wrote {w1 - w0} and verified '
              f'{v1 - v0} blocks')
        if self.errors():
            raise Failure(f'guest: {self.errors()[0]}')
        return error

    def stop(self) -> Tuple[int, int]:
        """Stop the guest: its final check must pass; returns the number
        of blocks it wrote and their checksum"""
        self.serial.sendall(b'q\n')
        final = self.wait_line('gio: final', 120).split()
        self.proc.wait(timeout=60)
        self.reader.join(timeout=30)
        self.qmp.close()
        self.serial.close()
        self.listener.close()
        self.log.close()
        if self.errors() or final[7] != '0':
            raise Failure(f'guest: {(self.errors() or [final])[0]}')
        print(f'  guest stopped: {final[3]} blocks written, all verified '
              f'({final[5]} reads checked in all)')
        return int(final[3]), int(final[9])


def blockdevs(vol: Volume, fault_sector: Optional[int]) -> List[str]:
    """The guest's disk 'disk' on @vol, with blkdebug failing the first
    write at @fault_sector of the image holding the LUKS header"""
    files = [f'driver=file,filename={vol.image},node-name=f0']
    hdr = 'f0'
    if vol.layout == 'detached':
        files.append(f'driver=file,filename={vol.header},node-name=h0')
        hdr = 'h0'
    if fault_sector is not None:
        files.append('{"driver": "blkdebug", "node-name": "dbg", '
                     f'"image": "{hdr}", "inject-error": [{{'
                     '"event": "pwritev", "iotype": "write", "errno": 5, '
                     f'"once": true, "sector": {fault_sector}}}]}}')
        hdr = 'dbg'
    if vol.layout == 'qcow2':
        return files + [f'driver=qcow2,file={hdr},encrypt.format=luks,'
                        'encrypt.key-secret=s0,node-name=disk']
    if vol.layout == 'detached':
        return files + [f'driver=luks,file=f0,header={hdr},key-secret=s0,'
                        'node-name=disk']
    return files + [f'driver=luks,file={hdr},key-secret=s0,node-name=disk']


def check_keyslots(vol: Volume, want: List[Optional[str]]) -> None:
    """cryptsetup sees keyslots @want (secret id or None), each opened by
    its own password, and no other password opens the volume"""
    hdr = vol.luks_header()
    active = [w is not None for w in want]
    if vol.cryptsetup_slots(hdr) != active:
        raise Failure(f'cryptsetup keyslots {vol.cryptsetup_slots(hdr)}, '
                      f'expected {active}')
    for i, sid in enumerate(want):
        if sid is not None and not vol.cryptsetup_opens(hdr, sid, i):
            raise Failure(f'cryptsetup: {sid} does not open keyslot {i}')
    for sid in PASSWORDS:
        if sid not in want and vol.cryptsetup_opens(hdr, sid):
            raise Failure(f'cryptsetup: {sid} opens the volume')
    print(f'  cryptsetup: keyslots {want}, and no other password opens')


def decrypted(vol: Volume, image_opts: str, out: str) -> str:
    run([os.path.join(vol.bin, 'qemu-img'), 'convert'] + vol.secret_args() +
        ['--image-opts', image_opts, '-O', 'raw', out])
    return out


def check_copy(vol: Volume, image_opts: str, what: str,
               expect: Optional[Tuple[int, int]]) -> None:
    """The image holds consistent guest blocks (exactly the guest's last
    writes if @expect) and none in the clear"""
    plain = decrypted(vol, image_opts, os.path.join(vol.work, 'plain.raw'))
    blocks, total, bad = check_image(plain)
    os.unlink(plain)
    if bad:
        raise Failure(f'{what}: {bad} guest blocks are corrupt')
    if expect is not None and (blocks, total) != expect:
        raise Failure(f'{what}: {blocks} guest blocks, checksum {total}; '
                      f'the guest wrote {expect[0]}, checksum {expect[1]}')
    if blocks == 0:
        raise Failure(f'{what}: no guest block in it')
    path = image_opts.split('filename=')[1].split(',')[0]
    if has_plaintext(path):
        raise Failure(f'{what}: guest blocks in the clear in {path}')
    print(f'  {what}: opens, {blocks} guest blocks, all consistent'
          f'{", the last writes" if expect else ""}; none in the clear')


def run_layout(bin_dir: str, work: str, kernel: str, initrd: str,
               layout: str) -> None:
    print(f'== {layout}')
    vol = Volume(bin_dir, work, layout, PASSWORDS)
    vol.write_passwords()
    vol.create('s0')
    if layout == 'qcow2':
        fault_sector = vol.qcow2_luks_extent()[0] // 512
    else:
        fault_sector = 0
    guest = Guest(bin_dir, work, kernel, initrd, vol,
                  blockdevs(vol, fault_sector))
    print(f'  booted ({guest.accel})')
    guest.wait_progress(GUEST_BLOCKS)
    node = {'node-name': 'disk'}

    want: List[Optional[str]] = ['s0'] + [None] * (vol.nslots - 1)
    err = guest.job('replace s0 by s1, header write fails',
                    'blockdev-keyslot-replace',
                    {**node, 'old-secret': 's0', 'new-secret': 's1',
                     'iter-time': 10})
    if err is None:
        raise Failure('the replace succeeded despite the injected error')
    check_keyslots(vol, want)
    # each new password goes into the first free keyslot
    for what, cmd, args, slots in [
            ('add s1', 'blockdev-keyslot-add',
             {'secret': 's0', 'new-secret': 's1', 'iter-time': 10},
             ['s0', 's1']),
            ('replace s0 by s2', 'blockdev-keyslot-replace',
             {'old-secret': 's0', 'new-secret': 's2', 'iter-time': 10},
             [None, 's1', 's2']),
            ('remove s1', 'blockdev-keyslot-remove', {'old-secret': 's1'},
             [None, None, 's2'])]:
        if guest.job(what, cmd, {**node, **args}) is not None:
            raise Failure(f'{what} failed')
        want = slots + [None] * (vol.nslots - len(slots))
        check_keyslots(vol, want)

    backup = os.path.join(work, 'backup.' + layout)
    enc: Dict[str, object] = {}
    if layout == 'detached':
        enc = {'encrypt': {'header': backup + '.hdr'}}
    if guest.job('drive-backup', 'drive-backup',
                 {'device': 'disk', 'target': backup, 'sync': 'full',
                  'auto-dismiss': False, **enc}) is not None:
        raise Failure('drive-backup failed')
    backup_vol = Volume(bin_dir, work, layout, PASSWORDS)
    backup_vol.image, backup_vol.header = backup, backup + '.hdr'
    check_copy(backup_vol, backup_vol.image_opts('s0'), 'backup', None)

    res = guest.qmp.cmd_raw('blockdev-erase', {'job-id': 'own',
                                               'node-name': 'disk'})
    if 'error' not in res:
        raise Failure('erase of the guest\'s own disk was not refused')
    print(f'  erase of the guest\'s disk: refused ({res["error"]["desc"]})')
    b_opts = {'driver': 'file', 'filename': backup, 'node-name': 'bf'}
    guest.qmp.cmd('blockdev-add', **b_opts)
    copy: Dict[str, object] = {'file': 'bf', 'node-name': 'copy'}
    if layout == 'detached':
        guest.qmp.cmd('blockdev-add', driver='file',
                      filename=backup + '.hdr', **{'node-name': 'bh'})
        copy['header'] = 'bh'
    if layout == 'qcow2':
        copy.update({'driver': 'qcow2', 'encrypt': {'format': 'luks',
                                                    'key-secret': 's0'}})
    else:
        copy.update({'driver': 'luks', 'key-secret': 's0'})
    guest.qmp.cmd('blockdev-add', **copy)
    if guest.job('erase the backup', 'blockdev-erase',
                 {'node-name': 'copy'}) is not None:
        raise Failure('erase of the backup failed')
    for n in ('copy', 'bf', 'bh'):
        if n != 'bh' or layout == 'detached':
            guest.qmp.cmd('blockdev-del', **{'node-name': n})
    if backup_vol.qemu_opens('s0'):
        raise Failure('the erased backup still opens')
    print('  erased backup: the password no longer opens it')

    target = os.path.join(work, 'mirror.' + layout)
    if layout == 'detached':
        enc = {'encrypt': {'header': target + '.hdr'}}
    mirror(guest, {'device': 'disk', 'target': target, 'sync': 'full',
                   **enc})
    blocks_sum = guest.stop()
    target_vol = Volume(bin_dir, work, layout, PASSWORDS)
    target_vol.image, target_vol.header = target, target + '.hdr'
    check_copy(target_vol, target_vol.image_opts('s0'), 'mirror target',
               blocks_sum)
    want = [None] * target_vol.nslots
    want[0] = 's0'
    check_keyslots(target_vol, want)


def mirror(guest: Guest, args: Dict[str, object]) -> None:
    """drive-mirror under the guest's I/O, then switch the guest to the
    target and let it write a full pass on it"""
    w0, v0 = guest.progress()
    t0 = time.monotonic()
    guest.qmp.cmd('drive-mirror', **{'job-id': 'mirror', **args})
    while True:
        ev = guest.qmp.pull_event(wait=120.0)
        if ev['event'] == 'BLOCK_JOB_READY':
            break
        if ev['event'] == 'BLOCK_JOB_COMPLETED':
            raise Failure(f'mirror ended before it was ready: {ev["data"]}')
    guest.qmp.cmd('block-job-complete', device='mirror')
    while guest.qmp.pull_event(wait=120.0)['event'] != 'BLOCK_JOB_COMPLETED':
        pass
    w1, v1 = guest.progress()
    print(f'  drive-mirror and complete: {time.monotonic() - t0:.1f} s, '
          f'guest wrote {w1 - w0} and verified {v1 - v0} blocks')
    guest.wait_progress(GUEST_BLOCKS)
    w2, v2 = guest.progress()
    print(f'  on the copy: guest wrote {w2 - w1} and verified {v2 - v1} '
          f'blocks')
    if guest.errors():
        raise Failure(f'guest: {guest.errors()[0]}')


def run_plaintext(bin_dir: str, work: str, kernel: str, initrd: str) -> None:
    print('== plaintext disk mirrored with encrypt')
    vol = Volume(bin_dir, work, 'raw', PASSWORDS)
    vol.write_passwords()
    vol.image = os.path.join(work, 'plain.img')
    run([os.path.join(bin_dir, 'qemu-img'), 'create', '-q', '-f', 'raw',
         vol.image, '16M'])
    guest = Guest(bin_dir, work, kernel, initrd, vol,
                  [f'driver=file,filename={vol.image},node-name=disk'])
    print(f'  booted ({guest.accel})')
    guest.wait_progress(GUEST_BLOCKS)
    if not has_plaintext(vol.image):
        raise Failure('no guest block found in the plaintext disk: the '
                      'plaintext check cannot see one')
    target = os.path.join(work, 'encrypted.luks')
    mirror(guest, {'device': 'disk', 'target': target, 'format': 'luks',
                   'sync': 'full',
                   'encrypt': {'key-secret': 's1', 'iter-time': 10}})
    blocks_sum = guest.stop()
    target_vol = Volume(bin_dir, work, 'raw', PASSWORDS)
    target_vol.image = target
    check_copy(target_vol, target_vol.image_opts('s1'), 'encrypted copy',
               blocks_sum)
    want: List[Optional[str]] = [None] * target_vol.nslots
    want[0] = 's1'
    check_keyslots(target_vol, want)


def cpio_entry(name: str, mode: int, data: bytes = b'') -> bytes:
    """One member of a "newc" cpio archive"""
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    head = b'070701' + b''.join(b'%08X' % f for f in fields) + \
        name.encode() + b'\0'
    head += b'\0' * (-len(head) % 4)
    return head + data + b'\0' * (-len(data) % 4)


def make_initramfs(kernel_dir: str, init: str, out: str) -> None:
    """The guest's initramfs: @init and the virtio modules of the kernel
    unpacked in @kernel_dir"""
    mod_dir = glob.glob(os.path.join(kernel_dir, 'lib/modules/*/kernel'))[0]
    members = [cpio_entry('modules', 0o40755)]
    with open(init, 'rb') as f:
        members.append(cpio_entry('init', 0o100755, f.read()))
    for i, m in enumerate(MODULES):
        with open(os.path.join(mod_dir, 'drivers', m + '.ko'), 'rb') as f:
            members.append(cpio_entry(f'modules/{i}-{os.path.basename(m)}.ko',
                                      0o100644, f.read()))
    members.append(cpio_entry('TRAILER!!!', 0))
    with open(out, 'wb') as f:
        f.write(b''.join(members))


def main() -> int:
    if sys.argv[1] == 'initramfs':
        make_initramfs(*sys.argv[2:5])
        return 0
    bin_dir, work, kernel, initrd = sys.argv[2:6]
    try:
        for layout in ('raw', 'qcow2', 'detached'):
            d = os.path.join(work, layout)
            os.mkdir(d)
            run_layout(bin_dir, d, kernel, initrd, layout)
        d = os.path.join(work, 'plaintext')
        os.mkdir(d)
        run_plaintext(bin_dir, d, kernel, initrd)
    except (Failure, Disagreement) as e:
        print(f'FAIL: {e}')
        return 1
    finally:
        for g in GUESTS:
            if g.proc.poll() is None:
                g.proc.kill()
    return 0


if __name__ == '__main__':
    sys.exit(main())
