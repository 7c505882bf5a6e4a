#!/usr/bin/env python3
"""Dirty-page tracking seen from the command line.

Boots the dirty payload under -accel tcg with -debug-dirty-log FILE, checks
its serial output and exit status against tests/guest/dirty.expected, then
checks FILE: every line is "<ramblock-id> <start-hex>-<end-hex>" (a run of
dirty pages of the MIGRATION bitmap, offsets into the block, END inclusive);
every page the payload reports as written ("dirty: wrote 0xA-0xB") lies in a
run of block "pc.ram", and no run touches a page it reports as untouched
("dirty: untouched 0xA-0xB"). On the pc machine, pc.ram offsets below the
PCI hole equal guest-physical addresses.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from expectations import Expectation  # noqa: E402

DEBUG_EXIT = 'isa-debug-exit,iobase=0xf4,iosize=0x4'
PAGE = 0x1000
LINE_RE = re.compile(r'^(\S+) ([0-9a-fA-F]+)-([0-9a-fA-F]+)$')
RANGE_RE = re.compile(r'^dirty: (wrote|untouched) 0x([0-9a-f]+)-0x([0-9a-f]+)\b', re.M)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--kestrel', required=True)
    ap.add_argument('--expected', required=True)
    ap.add_argument('--guest-build', required=True)
    ap.add_argument('--accel', default='tcg')
    args = ap.parse_args()

    exp = Expectation(args.expected)
    with tempfile.TemporaryDirectory(prefix='kestrel-dirty-') as tmp:
        log_path = os.path.join(tmp, 'dirty.log')
        cmd = [args.kestrel, '-accel', args.accel, '-nographic', '-device', DEBUG_EXIT,
               '-kernel', os.path.join(args.guest_build, exp.kernel),
               '-debug-dirty-log', log_path]
        cmd += exp.expanded_args(os.path.dirname(os.path.abspath(args.expected)),
                                 args.guest_build)
        print('command:', ' '.join(cmd))
        sys.stdout.flush()
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=exp.timeout)
        except subprocess.TimeoutExpired:
            print('FAIL: no exit within %d s' % exp.timeout)
            return 1
        out = proc.stdout.decode(errors='replace')
        if proc.returncode != exp.status or proc.stdout != exp.output:
            print('FAIL: status %d (expected %d); serial output:\n%s\nexpected:\n%s\nstderr:\n%s'
                  % (proc.returncode, exp.status, out, exp.output.decode(errors='replace'),
                     proc.stderr.decode(errors='replace')))
            return 1
        if not os.path.exists(log_path):
            print('FAIL: %s was not written; stderr:\n%s'
                  % (log_path, proc.stderr.decode(errors='replace')))
            return 1
        with open(log_path) as f:
            log = f.read()

    runs = []
    for n, line in enumerate(log.splitlines(), 1):
        m = LINE_RE.match(line)
        if not m:
            print('FAIL: malformed line %d of the dirty log: %r' % (n, line))
            return 1
        start, end = int(m.group(2), 16), int(m.group(3), 16)
        if start % PAGE or end % PAGE != PAGE - 1 or end < start:
            print('FAIL: line %d is not a run of whole pages: %r' % (n, line))
            return 1
        runs.append((m.group(1), start, end))
    print('dirty log: %d runs, %d in pc.ram' % (len(runs), sum(r[0] == 'pc.ram' for r in runs)))

    def dirty(page):
        return any(b == 'pc.ram' and s <= page <= e for b, s, e in runs)

    ranges = [(kind, int(a, 16), int(b, 16)) for kind, a, b in RANGE_RE.findall(out)]
    if not any(k == 'wrote' for k, _, _ in ranges) or not any(k == 'untouched' for k, _, _ in ranges):
        print('FAIL: the payload output names no written or no untouched range')
        return 1
    ok = True
    for kind, start, end in ranges:
        for page in range(start, end + 1, PAGE):
            if kind == 'wrote' and not dirty(page):
                print('FAIL: page 0x%x was written but is not in the dirty log' % page)
                ok = False
            elif kind == 'untouched' and dirty(page):
                print('FAIL: page 0x%x was not touched but is in the dirty log' % page)
                ok = False
    if not ok:
        print('--- dirty log ---\n' + log)
        return 1
    print('PASS: written pages are dirty, the untouched page is clean')
    return 0


if __name__ == '__main__':
    sys.exit(main())
