#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a QMP job command to its end, with QEMU's own QMP library.

    qmp_job.py SOCKET COMMAND ARGUMENTS_JSON [CANCEL_AFTER]

connects to the monitor at SOCKET, runs COMMAND with ARGUMENTS_JSON and
a job-id (sending job-cancel CANCEL_AFTER seconds after the start, if
given), waits for the job to conclude, dismisses it and exits 0 if it
succeeded, 1 with the error otherwise.  run_job() does the same for
other Python tests.  QEMU's python/ directory is found from $BIN.
"""

import json
import os
import sys
import time
from typing import Dict, Optional

sys.path.insert(0, os.path.join(os.environ['BIN'], '..', 'qemu', 'python'))
# pylint: disable=wrong-import-position
from qemu.qmp.legacy import QEMUMonitorProtocol  # noqa: E402

_jobs = [0]


def run_job(qmp: QEMUMonitorProtocol, command: str,
            args: Dict[str, object],
            cancel_after: Optional[float] = None) -> Optional[str]:
    """Run a job command to its end (cancelling it @cancel_after seconds
    after the start): None if it succeeded, else the error of the
    command or of the job"""
    _jobs[0] += 1
    job_id = f'job{_jobs[0]}'
    res = qmp.cmd_raw(command, {'job-id': job_id, **args})
    if 'error' in res:
        return res['error']['desc']
    if cancel_after is not None:
        time.sleep(cancel_after)
        qmp.cmd('job-cancel', id=job_id)
    while True:
        ev = qmp.pull_event(wait=120.0)
        data = ev.get('data', {})
        if ev['event'] == 'JOB_STATUS_CHANGE' and \
                data.get('id') == job_id and data['status'] == 'concluded':
            break
    job = [j for j in qmp.cmd('query-jobs') if j['id'] == job_id][0]
    qmp.cmd('job-dismiss', id=job_id)
    return job.get('error')


def main() -> int:
    sock, command, args = sys.argv[1:4]
    cancel_after = float(sys.argv[4]) if len(sys.argv) > 4 else None
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    qmp = QEMUMonitorProtocol(sock)
    qmp.connect()
    error = run_job(qmp, command, json.loads(args), cancel_after)
    qmp.close()
    if error is not None:
        print(f'{command}: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
