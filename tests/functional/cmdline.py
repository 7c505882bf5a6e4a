#!/usr/bin/env python3
"""Command-line behaviour of kestrel-system-x86_64: one case per run.

    cmdline.py --kestrel BIN --hello BUILD/tests/guest/hello.elf CASE

Error cases assert exit status 1, exactly one non-empty line on stderr and
no guest output on stdout. Every command also carries a bootable kernel and
isa-debug-exit, so an error that goes unnoticed shows up as guest output (or
as a run that does not end) rather than as a silent pass.

Exit status: 0 pass, 1 fail, 77 skip.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile

DEBUG_EXIT = 'isa-debug-exit,iobase=0xf4,iosize=0x4'
HELLO_OUTPUT = b'Hello from the Kestrel test guest!\n'
TIMEOUT = 30
SKIP = 77


class Failure(Exception):
    pass


def run(cmd, timeout=TIMEOUT, wrapper=()):
    print('command:', ' '.join(cmd))
    sys.stdout.flush()
    try:
        return subprocess.run(list(wrapper) + cmd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise Failure('still running after %d s (stdout %r, stderr %r)'
                      % (timeout, (e.stdout or b'')[:500], (e.stderr or b'')[:500]))


def describe(proc):
    return 'status %d\n--- stdout ---\n%s\n--- stderr ---\n%s' % (
        proc.returncode, proc.stdout.decode(errors='replace'),
        proc.stderr.decode(errors='replace'))


def expect_error(proc, mention=None):
    """Exit status 1, one non-empty stderr line, nothing from the guest."""
    lines = proc.stderr.decode(errors='replace').splitlines()
    if proc.returncode != 1:
        raise Failure('expected exit status 1\n' + describe(proc))
    if len(lines) != 1 or not lines[0].strip():
        raise Failure('expected exactly one non-empty line on stderr, got %d\n'
                      % len(lines) + describe(proc))
    if HELLO_OUTPUT in proc.stdout:
        raise Failure('the guest ran\n' + describe(proc))
    if mention and mention.lower() not in lines[0].lower():
        raise Failure('the error should mention %r\n' % mention + describe(proc))
    print('PASS: status 1, stderr: %s' % lines[0])


# ---- /dev/kvm hiding ----

HIDE_KVM_SCRIPT = r'''
set -e
old="$1"; shift
mount --make-rprivate / 2>/dev/null || true
mount --bind /dev "$old"
mount -t tmpfs -o mode=755 kestrel-test-dev /dev
for n in null zero full random urandom tty; do
    if [ -e "$old/$n" ]; then
        touch "/dev/$n"
        mount --bind "$old/$n" "/dev/$n"
    fi
done
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mkdir /dev/shm
mount -t tmpfs -o mode=1777 kestrel-test-shm /dev/shm
umount -l "$old"
exec "$@"
'''


def without_kvm_wrapper(tmpdir):
    """A command prefix that runs its command where /dev/kvm does not exist,
    or None when that cannot be arranged (then the case is skipped)."""
    if not os.path.exists('/dev/kvm'):
        return []
    unshare = shutil.which('unshare')
    if not unshare:
        return None
    old = os.path.join(tmpdir, 'olddev')
    os.mkdir(old)
    for flags in (['--mount'], ['--user', '--map-root-user', '--mount']):
        wrapper = [unshare] + flags + ['sh', '-c', HIDE_KVM_SCRIPT, 'hide-kvm', old]
        probe = subprocess.run(wrapper + ['sh', '-c', 'test ! -e /dev/kvm && test -c /dev/null'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            return wrapper
    return None


# ---- the cases ----

def base(hello):
    return ['-nographic', '-device', DEBUG_EXIT, '-kernel', hello]


def case_nonexistent_kernel(k, hello, tmp):
    missing = os.path.join(tmp, 'no-such-kernel.elf')
    expect_error(run([k, '-accel', 'tcg', '-nographic', '-device', DEBUG_EXIT,
                      '-kernel', missing]))


def case_garbage_kernel(k, hello, tmp):
    path = os.path.join(tmp, 'garbage.bin')
    rng = random.Random(20240601)          # fixed seed: the same bytes every run
    data = bytearray(rng.getrandbits(8) for _ in range(64 * 1024))
    # Random bytes could contain the multiboot magic by chance; make sure not.
    data = data.replace(b'\x02\xb0\xad\x1b', b'\x00\x00\x00\x00')
    with open(path, 'wb') as f:
        f.write(data)
    expect_error(run([k, '-accel', 'tcg', '-nographic', '-device', DEBUG_EXIT,
                      '-kernel', path]))


def case_truncated_kernel(k, hello, tmp):
    """A multiboot ELF cut short: the headers and the multiboot header are
    intact, but the loadable segment runs past the end of the file."""
    with open(hello, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF':
        raise Failure('%s is not an ELF file' % hello)
    mb = data.find(b'\x02\xb0\xad\x1b')
    if mb < 0:
        raise Failure('no multiboot header in %s' % hello)
    path = os.path.join(tmp, 'truncated.elf')
    with open(path, 'wb') as f:
        f.write(data[:mb + 64])
    expect_error(run([k, '-accel', 'tcg', '-nographic', '-device', DEBUG_EXIT,
                      '-kernel', path]))


def case_memory_zero(k, hello, tmp):
    expect_error(run([k, '-accel', 'tcg', '-m', '0'] + base(hello)))


def case_memory_too_large(k, hello, tmp):
    expect_error(run([k, '-accel', 'tcg', '-m', '100T'] + base(hello)))


def case_unknown_option(k, hello, tmp):
    expect_error(run([k, '-accel', 'tcg', '-no-such-option'] + base(hello)),
                 mention='no-such-option')


def case_unknown_device(k, hello, tmp):
    expect_error(run([k, '-accel', 'tcg', '-device', 'no-such-device'] + base(hello)),
                 mention='no-such-device')


def case_unknown_device_property(k, hello, tmp):
    expect_error(run([k, '-accel', 'tcg', '-nographic', '-kernel', hello, '-device',
                      DEBUG_EXIT + ',no-such-property=1']),
                 mention='no-such-property')


def case_bad_accel(k, hello, tmp):
    expect_error(run([k, '-accel', 'no-such-accel'] + base(hello)),
                 mention='no-such-accel')


def case_kvm_missing(k, hello, tmp):
    wrapper = without_kvm_wrapper(tmp)
    if wrapper is None:
        print('SKIP: cannot hide /dev/kvm here (needs unshare and mount rights)')
        return SKIP
    expect_error(run([k, '-accel', 'kvm'] + base(hello), wrapper=wrapper))


def case_kvm_fallback_to_tcg(k, hello, tmp):
    wrapper = without_kvm_wrapper(tmp)
    if wrapper is None:
        print('SKIP: cannot hide /dev/kvm here (needs unshare and mount rights)')
        return SKIP
    proc = run([k, '-accel', 'kvm', '-accel', 'tcg'] + base(hello), wrapper=wrapper)
    if proc.returncode != 1 or proc.stdout != HELLO_OUTPUT:
        raise Failure('expected the guest to run under tcg (status 1, hello output)\n'
                      + describe(proc))
    if not proc.stderr.strip():
        raise Failure('expected a note on stderr about falling back\n' + describe(proc))
    print('PASS: ran under the fallback; stderr: %s'
          % proc.stderr.decode(errors='replace').strip())


def expect_info(proc, words):
    text = proc.stdout.decode(errors='replace')
    if proc.returncode != 0:
        raise Failure('expected exit status 0\n' + describe(proc))
    if not text.strip():
        raise Failure('expected text on stdout\n' + describe(proc))
    for w in words:
        if w not in text:
            raise Failure('expected %r in the output\n' % w + describe(proc))
    print('PASS: status 0, %d lines' % len(text.splitlines()))


def case_version(k, hello, tmp):
    expect_info(run([k, '-version']), ['version'])


def case_help(k, hello, tmp):
    expect_info(run([k, '-help']), ['-kernel', '-m ', '-accel', '-device'])


CASES = {name[len('case_'):].replace('_', '-'): fn
         for name, fn in list(globals().items()) if name.startswith('case_')}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--kestrel', required=True)
    ap.add_argument('--hello', required=True)
    ap.add_argument('case', choices=sorted(CASES) + ['list'])
    args = ap.parse_args()
    if args.case == 'list':
        print('\n'.join(sorted(CASES)))
        return 0
    with tempfile.TemporaryDirectory(prefix='kestrel-cmdline-') as tmp:
        try:
            return CASES[args.case](args.kestrel, os.path.abspath(args.hello), tmp) or 0
        except Failure as e:
            print('FAIL: %s: %s' % (args.case, e))
            return 1


if __name__ == '__main__':
    sys.exit(main())
