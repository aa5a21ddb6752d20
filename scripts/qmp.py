#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run QMP commands over a UNIX socket and print the exchange, with
QEMU's own QMP library (python/ of the work tree, build/qemu).

    qmp.py SOCKET COMMAND...

Each COMMAND is a JSON object {"execute": ..., "arguments": ...}, with an
optional "until": the event that ends it (default: its return).  Each
ends with the seconds it took.  Exits 1 at the first error.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'build', 'qemu', 'python'))
# pylint: disable=wrong-import-position
from qemu.qmp.legacy import QEMUMonitorProtocol  # noqa: E402


def main() -> int:
    qmp = QEMUMonitorProtocol(sys.argv[1])
    qmp.connect()
    command = {}
    for arg in sys.argv[2:]:
        command = json.loads(arg)
        until = command.pop('until', None)
        print('->', json.dumps(command))
        start = time.monotonic()
        res = qmp.cmd_obj(command)
        print('<-', json.dumps(res))
        if 'error' in res:
            return 1
        while until:
            event = qmp.pull_event(wait=True)
            print('<-', json.dumps(event))
            if event['event'] == until:
                break
        print(f'   ({time.monotonic() - start:.3f} s)')
    try:
        qmp.close()
    except EOFError:
        # after "quit" the server may hang up before we do
        if command.get('execute') != 'quit':
            raise
    return 0


if __name__ == '__main__':
    sys.exit(main())
