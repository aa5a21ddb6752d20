#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Clang thread-safety analysis of the C files the series touches.

    check-tsa.py SRC

QEMU's meson turns -Wthread-safety on only for a clang that understands
lock guards released by the cleanup attribute (GRAPH_RDLOCK_GUARD and
friends); Debian 12's clang 14 and 16 do not, so build-asan is built
without it.  This compiles each touched file again with clang-16
-fsyntax-only -Wthread-safety, using build-asan's compile commands, and
fails on any warning on a line the series added or changed, except the
two kinds a cleanup-released guard produces in every such function
("still held at the end of function", and re-acquiring it after the
guard's scope).  It prints how many of each it saw.
"""

import json
import re
import shlex
import subprocess
import sys
from collections import Counter

CLEANUP_GUARD = ("is still held at the end of function",
                 "that is already held")


def git(src: str, *args: str) -> str:
    return subprocess.run(['git', '-C', src, *args], check=True,
                          capture_output=True, text=True).stdout


def series_lines(src: str, path: str) -> set:
    """Line numbers of @path that the series (not the base) wrote."""
    lines = set()
    for line in git(src, 'blame', '-s', '-l', 'base..HEAD', '--',
                    path).splitlines():
        m = re.match(r'(\^?)[0-9a-f]+ +(?:\S+ +)?(\d+)\) ', line)
        if m and not m.group(1):
            lines.add(int(m.group(2)))
    return lines


def main() -> int:
    src = sys.argv[1]
    touched = set(git(src, 'diff', '--name-only', 'base..HEAD', '--',
                      '*.c').split())
    with open(f'{src}/build-asan/compile_commands.json',
              encoding='utf-8') as f:
        db = json.load(f)
    seen = set()
    counts: Counter = Counter()
    bad = []
    for entry in db:
        path = entry['file'].replace('../', '', 1)
        if path not in touched or path in seen:
            continue
        seen.add(path)
        args = shlex.split(entry['command'])
        out = args.index('-o')
        del args[out:out + 2]
        args = ['clang-16'] + [a for a in args[1:] if a != '-Werror' and
                               not a.startswith('-fsanitize')]
        args += ['-fsyntax-only', '-Wthread-safety', '-Wno-error']
        res = subprocess.run(args, cwd=entry['directory'],
                             capture_output=True, text=True, check=False)
        ours = series_lines(src, path)
        for line in res.stderr.splitlines():
            m = re.match(r'(\S+):(\d+):\d+: warning: (.*) \[-Wthread-safety',
                         line)
            if not m or m.group(1).replace('../', '', 1) != path:
                continue
            if int(m.group(2)) not in ours:
                counts['upstream lines'] += 1
            elif any(c in m.group(3) for c in CLEANUP_GUARD):
                counts['series lines, cleanup-released guard'] += 1
            else:
                counts['series lines, other'] += 1
                bad.append(f'{path}:{m.group(2)}: {m.group(3)}')
    print(f'{len(seen)} files the series touches, clang-16 -Wthread-safety:')
    for kind in ('upstream lines', 'series lines, cleanup-released guard',
                 'series lines, other'):
        print(f'  {counts[kind]:3} warnings on {kind}')
    for b in bad:
        print('  ' + b)
    return 1 if bad or not seen else 0


if __name__ == '__main__':
    sys.exit(main())
