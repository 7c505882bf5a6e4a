#!/usr/bin/env python3
"""Boots one guest payload and compares its serial output and exit status
with a tests/guest/NAME.expected file.

    run-payload.py --kestrel BIN --expected tests/guest/NAME.expected \
        --guest-build BUILD/tests/guest [--guest-src SRC/tests/guest] [--accel tcg]

The command line is
    BIN -accel ACCEL -nographic -device isa-debug-exit,iobase=0xf4,iosize=0x4
        -kernel GUEST_BUILD/<kernel> <args from the .expected>
Exit status 0 when both match, 1 with a diff otherwise, 77 (skip) when the
expectation does not apply to this accelerator.
"""
import argparse
import difflib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from expectations import Expectation  # noqa: E402

DEBUG_EXIT = 'isa-debug-exit,iobase=0xf4,iosize=0x4'


def show(label, data):
    text = data.decode(errors='replace')
    sys.stdout.write('--- %s (%d bytes) ---\n%s' % (label, len(data), text))
    if text and not text.endswith('\n'):
        sys.stdout.write('\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--kestrel', required=True)
    ap.add_argument('--expected', required=True)
    ap.add_argument('--guest-build', required=True)
    ap.add_argument('--guest-src')
    ap.add_argument('--accel', default='tcg')
    args = ap.parse_args()

    exp = Expectation(args.expected)
    if exp.accels is not None and args.accel not in exp.accels:
        print('SKIP: %s runs only under %s' % (exp.name, ' '.join(exp.accels)))
        return 77
    guest_src = args.guest_src or os.path.dirname(os.path.abspath(args.expected))
    kernel = os.path.join(args.guest_build, exp.kernel)
    cmd = [args.kestrel, '-accel', args.accel, '-nographic',
           '-device', DEBUG_EXIT, '-kernel', kernel]
    cmd += exp.expanded_args(guest_src, args.guest_build)
    print('command:', ' '.join(cmd))
    sys.stdout.flush()

    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=exp.timeout)
    except subprocess.TimeoutExpired as e:
        print('FAIL: no exit within %d s' % exp.timeout)
        show('serial output so far', e.stdout or b'')
        show('stderr so far', e.stderr or b'')
        return 1

    ok = True
    if proc.returncode != exp.status:
        print('FAIL: exit status %d, expected %d' % (proc.returncode, exp.status))
        ok = False
    if proc.stdout != exp.output:
        print('FAIL: serial output differs from %s' % args.expected)
        diff = difflib.unified_diff(
            exp.output.decode(errors='replace').splitlines(keepends=True),
            proc.stdout.decode(errors='replace').splitlines(keepends=True),
            'expected', 'actual')
        sys.stdout.writelines(diff)
        sys.stdout.write('\n')
        ok = False
    if not ok:
        show('serial output', proc.stdout)
        show('stderr', proc.stderr)
        return 1
    if proc.stderr:
        show('stderr (not an error)', proc.stderr)
    print('PASS: %s (status %d, %d bytes of serial output)'
          % (exp.name, proc.returncode, len(proc.stdout)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
