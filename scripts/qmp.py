#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run QMP commands over a UNIX socket and print the exchange.

    qmp.py SOCKET COMMAND...

Each COMMAND is a JSON object {"execute": ..., "arguments": ...}, with an
optional "until": the event that ends it (default: its return).  Each
ends with the seconds it took.  Exits 1 at the first error.
"""

import json
import socket
import sys
import time


def main() -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(sys.argv[1])
    qmp = sock.makefile('rw')
    json.loads(qmp.readline())
    for arg in ['{"execute": "qmp_capabilities"}'] + sys.argv[2:]:
        command = json.loads(arg)
        until = command.pop('until', None)
        line = json.dumps(command)
        print('->', line)
        start = time.monotonic()
        qmp.write(line + '\n')
        qmp.flush()
        while True:
            msg = json.loads(qmp.readline())
            print('<-', json.dumps(msg))
            if 'error' in msg:
                sys.exit(1)
            if msg.get('event') == until if until else 'return' in msg:
                break
        print(f'   ({time.monotonic() - start:.3f} s)')


main()
