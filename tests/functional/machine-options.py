#!/usr/bin/env python3
"""Machine-level options of kestrel-system-x86_64, one case per run:
accelerator selection (-machine accel=, the implicit default), memory
backends (-object + -machine memory-backend=), JSON -device, -d mtree.

    machine-options.py --kestrel BIN --guest-build DIR CASE

Exit status: 0 pass, 1 fail.
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cmdline import (DEBUG_EXIT, HELLO_OUTPUT, Failure, describe, expect_error,  # noqa: E402
                     run, without_kvm_wrapper)


def expect_hello(proc):
    if proc.returncode != 1 or proc.stdout != HELLO_OUTPUT:
        raise Failure('expected the hello payload to run (status 1)\n' + describe(proc))


def hide_kvm(tmp):
    wrapper = without_kvm_wrapper(tmp)
    if wrapper is None:
        raise Failure('cannot hide /dev/kvm here (needs unshare and mount rights)')
    return wrapper


def case_machine_accel_fallback(k, guests, tmp):
    """-machine accel=kvm:tcg tries kvm, reports why it failed, runs on tcg."""
    proc = run([k, '-machine', 'pc,accel=kvm:tcg', '-nographic', '-device', DEBUG_EXIT,
                '-kernel', os.path.join(guests, 'hello.elf')], wrapper=hide_kvm(tmp))
    expect_hello(proc)
    err = proc.stderr.decode()
    if 'falling back to tcg' not in err or '/dev/kvm' not in err:
        raise Failure('expected a fallback note naming /dev/kvm\n' + describe(proc))


def case_versioned_machine(k, guests, tmp):
    """The versioned name libvirt records (pc-i440fx-7.2) runs the pc machine,
    and -machine help lists it with its alias and the none machine."""
    proc = run([k, '-machine', 'pc-i440fx-7.2', '-accel', 'tcg', '-nographic', '-device',
                DEBUG_EXIT, '-kernel', os.path.join(guests, 'hello.elf')])
    expect_hello(proc)
    listing = run([k, '-machine', 'help'])
    names = [line.split()[0] for line in listing.stdout.decode().splitlines()[1:] if line]
    if listing.returncode != 0 or names != ['pc', 'pc-i440fx-7.2', 'none']:
        raise Failure('-machine help should list pc, pc-i440fx-7.2, none\n' + describe(listing))
    if 'alias of pc-i440fx-7.2' not in listing.stdout.decode():
        raise Failure('-machine help does not say that pc is an alias\n' + describe(listing))


def case_machine_accel_unknown(k, guests, tmp):
    expect_error(run([k, '-machine', 'accel=warp:tcg', '-nographic', '-device', DEBUG_EXIT,
                      '-kernel', os.path.join(guests, 'hello.elf')]), mention='warp')


def case_default_accel_note(k, guests, tmp):
    """With no accelerator option and no /dev/kvm: tcg, and one line saying so."""
    proc = run([k, '-nographic', '-device', DEBUG_EXIT,
                '-kernel', os.path.join(guests, 'hello.elf')], wrapper=hide_kvm(tmp))
    expect_hello(proc)
    lines = proc.stderr.decode().splitlines()
    if len(lines) != 1 or 'using tcg' not in lines[0]:
        raise Failure('expected one stderr line naming tcg\n' + describe(proc))


def case_memfd_backend(k, guests, tmp):
    """Guest RAM from a shared memfd backend; the guest sees its size."""
    proc = run([k, '-accel', 'tcg', '-nographic', '-device', DEBUG_EXIT,
                '-object', 'memory-backend-memfd,id=mem0,size=256M,share=on',
                '-machine', 'pc,memory-backend=mem0',
                '-append', 'expect_mem=256',
                '-kernel', os.path.join(guests, 'multiboot.elf')])
    if proc.returncode != 1 or b'result: all checks passed' not in proc.stdout:
        raise Failure('the multiboot payload should see 256 MiB and pass\n' + describe(proc))


def case_backend_size_mismatch(k, guests, tmp):
    expect_error(run([k, '-accel', 'tcg', '-nographic', '-m', '512',
                      '-object', 'memory-backend-ram,id=mem0,size=128M',
                      '-machine', 'memory-backend=mem0', '-device', DEBUG_EXIT,
                      '-kernel', os.path.join(guests, 'hello.elf')]), mention='mem0')


def case_backend_missing(k, guests, tmp):
    expect_error(run([k, '-accel', 'tcg', '-nographic', '-machine', 'memory-backend=nope',
                      '-device', DEBUG_EXIT, '-kernel', os.path.join(guests, 'hello.elf')]),
                 mention='nope')


def case_json_device(k, guests, tmp):
    proc = run([k, '-accel', 'tcg', '-nographic',
                '-device', '{"driver": "isa-debug-exit", "iobase": 244, "iosize": 4}',
                '-kernel', os.path.join(guests, 'hello.elf')])
    expect_hello(proc)


def case_mtree(k, guests, tmp):
    """-d mtree prints the region tree and the rendered flat view."""
    proc = run([k, '-accel', 'tcg', '-nographic', '-m', '4G', '-d', 'mtree',
                '-device', DEBUG_EXIT, '-kernel', os.path.join(guests, 'hello.elf')])
    expect_hello(proc)
    err = proc.stderr.decode()
    wanted = [
        'address-space: memory',
        'address-space: I/O',
        # -m 4G on pc: 3 GiB below the PCI hole, 1 GiB from 4 GiB up.
        '0000000000000000-00000000bfffffff (prio 0, ram): alias ram-below-4g @pc.ram '
        '0000000000000000-00000000bfffffff',
        '0000000100000000-000000013fffffff (prio 0, ram): alias ram-above-4g @pc.ram '
        '00000000c0000000-00000000ffffffff',
        'FlatView',
    ]
    missing = [w for w in wanted if w not in err]
    if missing:
        raise Failure('mtree output lacks %r\n' % missing + describe(proc))


def case_start_paused(k, guests, tmp):
    """-S: the vCPUs never run, so the guest prints nothing; SIGTERM ends the
    process cleanly (status 0) with the terminal note on stderr."""
    import signal
    import subprocess
    import time
    proc = subprocess.Popen([k, '-accel', 'tcg', '-S', '-nographic', '-device', DEBUG_EXIT,
                             '-kernel', os.path.join(guests, 'hello.elf')],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(1)   # long enough for an unpaused guest to have printed
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    if proc.returncode != 0 or out:
        raise Failure('expected no guest output and status 0, got status %d, stdout %r, '
                      'stderr %r' % (proc.returncode, out, err))
    if b'terminating on signal' not in err:
        raise Failure('expected the signal note on stderr, got %r' % err)


def case_backend_too_large(k, guests, tmp):
    """A RAM backend larger than the host: refused before anything is mapped."""
    expect_error(run([k, '-accel', 'tcg', '-nographic', '-device', DEBUG_EXIT,
                      '-object', 'memory-backend-memfd,id=big,size=1T,prealloc=on',
                      '-machine', 'memory-backend=big',
                      '-kernel', os.path.join(guests, 'hello.elf')]), mention='big')


def case_fallback_accel_option(k, guests, tmp):
    """A bad option on a later -accel entry is an error even if the first works."""
    expect_error(run([k, '-accel', 'tcg', '-accel', 'tcg,bogus=1', '-nographic',
                      '-device', DEBUG_EXIT, '-kernel', os.path.join(guests, 'hello.elf')]),
                 mention='bogus')


def case_serial_port_conflict(k, guests, tmp):
    """COM1 exists by default, so a second UART placed on 0x3f8 is refused;
    one without iobase= moves to COM2."""
    expect_error(run([k, '-accel', 'tcg', '-nographic', '-device', 'isa-serial,iobase=0x3f8',
                      '-device', DEBUG_EXIT, '-kernel', os.path.join(guests, 'hello.elf')]),
                 mention='0x3f8')
    proc = run([k, '-accel', 'tcg', '-nographic', '-d', 'mtree', '-device', 'isa-serial',
                '-device', DEBUG_EXIT, '-kernel', os.path.join(guests, 'hello.elf')])
    expect_hello(proc)
    if '00000000000002f8-00000000000002ff (prio 0, i/o): serial' not in proc.stderr.decode():
        raise Failure('the second UART should sit at 0x2f8\n' + describe(proc))


CASES = {
    'backend-too-large': case_backend_too_large,
    'fallback-accel-option': case_fallback_accel_option,
    'serial-port-conflict': case_serial_port_conflict,
    'start-paused': case_start_paused,
    'machine-accel-fallback': case_machine_accel_fallback,
    'machine-accel-unknown': case_machine_accel_unknown,
    'default-accel-note': case_default_accel_note,
    'memfd-backend': case_memfd_backend,
    'backend-size-mismatch': case_backend_size_mismatch,
    'backend-missing': case_backend_missing,
    'json-device': case_json_device,
    'mtree': case_mtree,
    'versioned-machine': case_versioned_machine,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--kestrel', required=True)
    ap.add_argument('--guest-build', required=True)
    ap.add_argument('case', choices=sorted(CASES))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix='kestrel-machine-') as tmp:
        try:
            CASES[args.case](args.kestrel, os.path.abspath(args.guest_build), tmp)
        except Failure as e:
            print('FAIL: %s: %s' % (args.case, e))
            return 1
    print('PASS: %s' % args.case)
    return 0


if __name__ == '__main__':
    sys.exit(main())
