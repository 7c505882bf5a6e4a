#!/usr/bin/env python3
"""QMP monitor tests: real sessions against a running emulator.

    qmp.py --binary BIN CASE [CASE...]       qmp.py --list

BIN is Kestrel or Debian's qemu-system-x86_64 (the reference: every case
passes against QEMU 7.2). Where Kestrel legitimately differs (its package
string, its machine names, the version it reports) the case checks
Kestrel's documented values when BIN is Kestrel (its -version names it).
Guests are tiny multiboot kernels made by qmpclient.py (booted with
-kernel under -accel tcg), or none at all with -machine none.
Exit status 0 when every case passed, 1 otherwise.
"""
import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmpclient import (Emulator, QMPError, ProtocolError, TIMEOUT, connect_unix,  # noqa: E402
                       connect_tcp, idle_payload, poweroff_payload, is_kestrel,
                       IDLE_OUTPUT, POWEROFF_OUTPUT)

KESTREL = False          # set from --binary in main()
BINARY = None

# Commands the issue lists: every one must exist and work.
COMMANDS = [
    'qmp_capabilities', 'query-version', 'query-status', 'query-name', 'query-uuid',
    'query-target', 'query-commands', 'query-kvm', 'query-machines', 'query-cpus-fast',
    'query-chardev', 'query-command-line-options', 'stop', 'cont', 'system_reset',
    'system_powerdown', 'quit', 'getfd', 'closefd', 'human-monitor-command',
    'query-qmp-schema',
]
NOT_NEGOTIATED = "Expecting capabilities negotiation with 'qmp_capabilities'"
STATUS_VALUES = {'debug', 'inmigrate', 'internal-error', 'io-error', 'paused',
                 'postmigrate', 'prelaunch', 'finish-migrate', 'restore-vm', 'running',
                 'save-vm', 'shutdown', 'suspended', 'watchdog', 'guest-panicked',
                 'colo'}


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def expect_error(conn, msg, error_class, desc=None, desc_contains=None, raw=False):
    """Sends MSG (an object, or raw bytes with raw=True) and checks that
    the reply is an error of ERROR_CLASS; returns the reply."""
    if raw:
        conn.send_raw(msg)
        r = conn.reply()
    else:
        conn.send(msg)
        r = conn.reply()
    check('error' in r, 'expected a %s error for %r, got %r' % (error_class, msg, r))
    err = r['error']
    check(err.get('class') == error_class,
          'error class %r for %r, expected %r (desc %r)'
          % (err.get('class'), msg, error_class, err.get('desc')))
    check(isinstance(err.get('desc'), str) and err['desc'],
          'error for %r has no desc: %r' % (msg, r))
    if desc is not None:
        check(err['desc'] == desc, 'desc %r, expected %r' % (err['desc'], desc))
    if desc_contains is not None:
        check(desc_contains in err['desc'],
              'desc %r does not mention %r' % (err['desc'], desc_contains))
    return r


def still_works(conn):
    r = conn.command('query-status')
    check(r.get('status') in STATUS_VALUES, 'query-status after bad input: %r' % r)


def hmp(conn, line):
    r = conn.command('human-monitor-command', {'command-line': line})
    check(isinstance(r, str), 'human-monitor-command %r returned %r' % (line, r))
    return r


def machine(args=(), qmp=1, guest=True, **kw):
    """An emulator with QMP monitors; a guest that halts (idle) unless
    guest is False (-machine none) or a payload (bytes)."""
    args = list(args)
    payload = None
    if guest is True:
        payload = idle_payload()
    elif guest:
        payload = guest
    else:
        args = ['-machine', 'none'] + args
    return Emulator(BINARY, args, qmp=qmp, guest=payload, **kw)


# ------------------------------------------------------------------ cases

def case_greeting(emu):
    conn = emu.connect()
    g = conn.greeting
    check(set(g) == {'QMP'}, 'greeting has members %s, expected only QMP' % sorted(g))
    q = g['QMP']
    check(set(q) >= {'version', 'capabilities'}, 'QMP greeting lacks version/capabilities: %r' % q)
    check(isinstance(q['capabilities'], list) and
          all(isinstance(c, str) for c in q['capabilities']),
          'capabilities is not a list of strings: %r' % q['capabilities'])
    v = q['version']
    check(isinstance(v, dict) and set(v) == {'qemu', 'package'}, 'version shape: %r' % v)
    check(set(v['qemu']) == {'major', 'minor', 'micro'}, 'version.qemu shape: %r' % v['qemu'])
    check(all(isinstance(x, int) for x in v['qemu'].values()), 'version numbers: %r' % v)
    check(isinstance(v['package'], str), 'package is not a string: %r' % v)
    check((v['qemu']['major'], v['qemu']['minor']) == (7, 2),
          'version %r, expected 7.2.x' % v['qemu'])
    if KESTREL:
        check(v['qemu'] == {'major': 7, 'minor': 2, 'micro': 0},
              'Kestrel reports %r, expected 7.2.0' % v['qemu'])
        check('kestrel' in v['package'].lower(), 'package %r does not name Kestrel' % v['package'])
    conn.negotiate()
    qv = conn.command('query-version')
    check(qv == v, 'query-version %r differs from the greeting %r' % (qv, v))


def case_negotiation(emu):
    conn = emu.connect()
    # Commands before qmp_capabilities are refused, with the id echoed.
    for name in ('query-status', 'query-version', 'stop', 'quit', 'no-such-command'):
        r = expect_error(conn, {'execute': name, 'id': 'early-' + name}, 'CommandNotFound',
                         desc=NOT_NEGOTIATED)
        check(r.get('id') == 'early-' + name, 'id not echoed before negotiation: %r' % r)
    check(emu.alive(), '"stop"/"quit" before negotiation affected the emulator')
    # No event reaches a client that has not negotiated: make one happen
    # from a second, negotiated monitor.
    other = emu.connect(1, negotiate=True)
    other.command('stop')
    other.wait_event('STOP')
    conn.no_event(0.5)
    r = conn.execute('qmp_capabilities', id='caps')
    check(r == {'return': {}, 'id': 'caps'}, 'qmp_capabilities reply %r' % r)
    expect_error(conn, {'execute': 'qmp_capabilities'}, 'CommandNotFound')
    status = conn.command('query-status')
    check(status['status'] == 'paused' and status['running'] is False,
          'query-status after stop: %r' % status)
    other.command('cont')
    check(conn.wait_event('RESUME')['event'] == 'RESUME', 'no RESUME')


def case_negotiation_bad_capability(emu):
    conn = emu.connect()
    expect_error(conn, {'execute': 'qmp_capabilities',
                        'arguments': {'enable': ['no-such-capability']}}, 'GenericError')
    # Still in negotiation mode.
    expect_error(conn, {'execute': 'query-status'}, 'CommandNotFound', desc=NOT_NEGOTIATED)
    conn.negotiate()
    still_works(conn)


def case_commands(emu):
    conn = emu.connect(negotiate=True)
    emu.wait_serial(IDLE_OUTPUT)
    v = conn.command('query-version')
    check(set(v) == {'qemu', 'package'}, 'query-version: %r' % v)
    st = conn.command('query-status')
    check(st.get('status') == 'running' and st.get('running') is True,
          'query-status: %r' % st)
    check(conn.command('query-name') == {'name': 'qmp-test-vm'}, 'query-name with -name')
    uuid = conn.command('query-uuid')
    check(uuid == {'UUID': '5b3c7e2a-1d4f-4a6b-9c8d-0e1f2a3b4c5d'}, 'query-uuid: %r' % uuid)
    check(conn.command('query-target') == {'arch': 'x86_64'}, 'query-target')
    kvm = conn.command('query-kvm')
    check(kvm.get('enabled') is False and isinstance(kvm.get('present'), bool),
          'query-kvm under tcg: %r' % kvm)
    cmds = conn.command('query-commands')
    check(isinstance(cmds, list) and all(isinstance(c, dict) and isinstance(c.get('name'), str)
                                         for c in cmds), 'query-commands shape')
    names = {c['name'] for c in cmds}
    missing = [c for c in COMMANDS if c not in names]
    check(not missing, 'query-commands lacks %s' % missing)
    machines = conn.command('query-machines')
    check(isinstance(machines, list) and all('name' in m and isinstance(m.get('cpu-max'), int)
                                             for m in machines), 'query-machines shape')
    mnames = {m['name'] for m in machines} | {m['alias'] for m in machines if 'alias' in m}
    check({'pc', 'none'} <= mnames, 'query-machines lacks pc/none: %s' % sorted(mnames))
    defaults = [m for m in machines if m.get('is-default')]
    check(len(defaults) == 1, 'query-machines: %d defaults' % len(defaults))
    if KESTREL:
        check(defaults[0]['name'] == 'pc-i440fx-7.2' and defaults[0].get('alias') == 'pc',
              'Kestrel default machine %r' % defaults[0])
    cpus = conn.command('query-cpus-fast')
    check([c.get('cpu-index') for c in cpus] == [0, 1], 'query-cpus-fast with -smp 2: %r' % cpus)
    for c in cpus:
        check(c.get('target') == 'x86_64' and isinstance(c.get('qom-path'), str)
              and isinstance(c.get('thread-id'), int), 'query-cpus-fast entry %r' % c)
    chardevs = conn.command('query-chardev')
    for c in chardevs:
        check(set(c) >= {'label', 'filename', 'frontend-open'}, 'query-chardev entry %r' % c)
    byname = {c['label']: c for c in chardevs}
    check('ptydev' in byname, 'query-chardev lacks the pty: %r' % chardevs)
    pty = byname['ptydev']['filename']
    check(pty.startswith('pty:/dev/pts/') and pty[len('pty:/dev/pts/'):].isdigit(),
          'pty filename %r' % pty)
    check(os.path.exists(pty[4:]), 'the pty %s does not exist' % pty[4:])
    opts = conn.command('query-command-line-options')
    check(isinstance(opts, list) and opts and all(
        isinstance(o.get('option'), str) and isinstance(o.get('parameters'), list) for o in opts),
        'query-command-line-options shape')
    only = conn.command('query-command-line-options', {'option': 'machine'})
    check([o['option'] for o in only] == ['machine'], 'query-command-line-options machine: %r'
          % [o['option'] for o in only])
    expect_error(conn, {'execute': 'query-command-line-options',
                        'arguments': {'option': 'no-such-option'}}, 'GenericError')
    # human-monitor-command
    check(hmp(conn, 'info status').startswith('VM status: running'), 'info status')
    for line in ('info mtree', 'info registers', 'info cpus', 'info qtree'):
        out = hmp(conn, line)
        check(out.strip(), '%r printed nothing' % line)
    check('CPU #1' in hmp(conn, 'info cpus'), 'info cpus lacks CPU #1')
    regs = hmp(conn, 'info registers')
    check('EIP=' in regs or 'RIP=' in regs, 'info registers shows no instruction pointer')
    check('system' in hmp(conn, 'info mtree'), 'info mtree lacks the system address space')
    check(hmp(conn, 'no-such-hmp-command').strip(), 'unknown HMP command printed nothing')
    # stop/cont/system_reset/system_powerdown return {}.
    for name in ('stop', 'cont', 'system_reset', 'system_powerdown'):
        check(conn.command(name) == {}, '%s did not return {}' % name)
    # quit: SHUTDOWN, the reply, then the process exits with status 0.
    check(conn.command('quit') == {}, 'quit did not return {}')
    ev = conn.wait_event('SHUTDOWN')
    check(ev.get('data') == {'guest': False, 'reason': 'host-qmp-quit'}, 'quit SHUTDOWN %r' % ev)
    check(conn.closed_by_peer(), 'the connection stayed open after quit')
    check(emu.wait_exit() == 0, 'exit status after quit: %r' % emu.proc.returncode)


def case_name_uuid_defaults(emu):
    conn = emu.connect(negotiate=True)
    check(conn.command('query-name') == {}, 'query-name without -name')
    check(conn.command('query-uuid') == {'UUID': '00000000-0000-0000-0000-000000000000'},
          'query-uuid without -uuid')


def case_id_echo(emu):
    conn = emu.connect(negotiate=True)
    for ident in (1, 0, -7, 2.5, 'text', '', [1, 'two', None], {'a': {'b': [True]}},
                  None, True, False, 'ünïcode ✓', 2 ** 53):
        conn.send_raw(json.dumps({'execute': 'query-name', 'id': ident}) + '\n')
        r = conn.reply()
        check('return' in r and 'id' in r and r['id'] == ident and
              type(r['id']) is type(ident), 'id %r echoed as %r' % (ident, r))
        conn.send_raw(json.dumps({'id': ident, 'execute': 'no-such-command'}) + '\n')
        r = conn.reply()
        check('error' in r and r.get('id') == ident, 'id %r on an error: %r' % (ident, r))
    r = conn.execute('query-name')
    check('id' not in r, 'reply without id in the request has one: %r' % r)
    # id on an argument error and on a wrong-type error.
    r = expect_error(conn, {'execute': 'query-name', 'arguments': {'x': 1}, 'id': 'u'},
                     'GenericError')
    check(r.get('id') == 'u', 'id not echoed on an argument error: %r' % r)


def case_events(emu):
    conn = emu.connect(negotiate=True)
    emu.wait_serial(IDLE_OUTPUT)
    conn.no_event(0.3)
    conn.command('stop')
    conn.command('cont')
    conn.command('system_reset')
    conn.command('system_powerdown')
    conn.command('stop')
    conn.command('system_reset')
    conn.command('cont')
    evs = conn.wait_events(['STOP', 'RESUME', 'RESET', 'POWERDOWN', 'STOP', 'RESET', 'RESUME'])
    for ev in evs:
        if ev['event'] == 'RESET':
            check(ev.get('data') == {'guest': False, 'reason': 'host-qmp-system-reset'},
                  'RESET data %r' % ev)
        else:
            check('data' not in ev, '%s has data: %r' % (ev['event'], ev))
    stamps = [(e['timestamp']['seconds'], e['timestamp']['microseconds']) for e in evs]
    check(stamps == sorted(stamps), 'event timestamps go backwards: %s' % stamps)
    # The reset restarts the guest: it prints again.
    deadline = time.monotonic() + TIMEOUT
    while emu.serial().count(IDLE_OUTPUT) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    check(emu.serial().count(IDLE_OUTPUT) >= 2, 'the guest did not run again after the reset')
    st = conn.command('query-status')
    check(st['status'] == 'running', 'status after cont: %r' % st)
    # Events go to every negotiated monitor.
    other = emu.connect(1, negotiate=True)
    conn.command('stop')
    check(other.wait_event('STOP')['event'] == 'STOP', 'second monitor')
    conn.wait_event('STOP')
    other.command('cont')
    conn.wait_event('RESUME')
    other.wait_event('RESUME')


def case_start_paused(emu):
    conn = emu.connect(negotiate=True)
    st = conn.command('query-status')
    check(st['running'] is False and st['status'] in ('prelaunch', 'paused'),
          'query-status with -S: %r' % st)
    check(emu.serial() == b'', 'the guest ran under -S: %r' % emu.serial())
    conn.command('cont')
    conn.wait_events(['RESUME'])
    emu.wait_serial(IDLE_OUTPUT)
    check(conn.command('query-status')['status'] == 'running', 'status after cont')


def case_guest_shutdown(emu):
    """A guest power-off (ACPI S5) ends the emulator: SHUTDOWN with
    guest true, reason guest-shutdown, exit status 0."""
    conn = emu.connect(negotiate=True)
    conn.command('cont')
    ev = conn.wait_event('SHUTDOWN')
    check(ev.get('data') == {'guest': True, 'reason': 'guest-shutdown'}, 'SHUTDOWN %r' % ev)
    check(conn.closed_by_peer(), 'connection open after the guest powered off')
    check(emu.wait_exit() == 0, 'exit status %r after the guest powered off' % emu.proc.returncode)
    check(POWEROFF_OUTPUT in emu.serial(), 'serial output %r' % emu.serial())


def case_no_shutdown(emu):
    """-no-shutdown: the guest's power-off stops the machine (SHUTDOWN then
    STOP) and the process stays, answering commands."""
    conn = emu.connect(negotiate=True)
    conn.command('cont')
    evs = conn.wait_events(['RESUME', 'SHUTDOWN', 'STOP'])
    check(evs[1].get('data') == {'guest': True, 'reason': 'guest-shutdown'},
          'SHUTDOWN %r' % evs[1])
    check(emu.alive(), 'the emulator exited under -no-shutdown')
    st = conn.command('query-status')
    check(st['running'] is False and st['status'] == 'shutdown', 'status %r' % st)
    status_text = hmp(conn, 'info status')
    check(status_text.startswith('VM status:') and 'shutdown' in status_text,
          'info status %r' % status_text)
    conn.command('quit')
    conn.wait_event('SHUTDOWN')
    check(emu.wait_exit() == 0, 'exit status after quit %r' % emu.proc.returncode)


def case_sigterm(emu):
    conn = emu.connect(negotiate=True)
    emu.wait_serial(IDLE_OUTPUT)
    emu.proc.send_signal(signal.SIGTERM)
    ev = conn.wait_event('SHUTDOWN')
    check(ev.get('data') == {'guest': False, 'reason': 'host-signal'}, 'SHUTDOWN %r' % ev)
    check(emu.wait_exit() == 0, 'exit status %r after SIGTERM' % emu.proc.returncode)


def case_sigint(emu):
    conn = emu.connect(negotiate=True)
    emu.proc.send_signal(signal.SIGINT)
    ev = conn.wait_event('SHUTDOWN')
    check(ev.get('data') == {'guest': False, 'reason': 'host-signal'}, 'SHUTDOWN %r' % ev)
    check(emu.wait_exit() == 0, 'exit status %r after SIGINT' % emu.proc.returncode)


def case_split_input(emu):
    conn = emu.connect()
    msg = b'{"execute": "qmp_capabilities", "id": "split-caps"}'
    for i in range(0, len(msg), 3):
        conn.send_raw(msg[i:i + 3])
        time.sleep(0.02)
    conn.send_raw(b'\n')
    r = conn.reply()
    check(r == {'return': {}, 'id': 'split-caps'}, 'split qmp_capabilities: %r' % r)
    # One byte at a time, across a string, a number and an escape.
    msg = (b'{ "execute" : "human-monitor-command", "arguments": {"command-line": '
           b'"info \\u0073tatus"}, "id": [12345, "a\\"b"] }')
    for b in msg:
        conn.send_raw(bytes([b]))
        time.sleep(0.003)
    r = conn.reply()
    check(r.get('id') == [12345, 'a"b'] and str(r.get('return', '')).startswith('VM status'),
          'byte-by-byte command: %r' % r)
    # Split mid-UTF-8 sequence (an id with a multi-byte character).
    msg = json.dumps({'execute': 'query-name', 'id': 'é✓'}, ensure_ascii=False).encode()
    cut = msg.index('✓'.encode()) + 1
    conn.send_raw(msg[:cut])
    time.sleep(0.1)
    conn.send_raw(msg[cut:])
    r = conn.reply()
    check(r.get('id') == 'é✓', 'split UTF-8: %r' % r)
    # Without any newline at all: the object ends the message.
    conn.send_raw(b'{"execute":"query-name","id":"no-newline"}')
    r = conn.reply()
    check(r.get('id') == 'no-newline', 'message without newline: %r' % r)


def case_batched_input(emu):
    conn = emu.connect()
    batch = b''.join(json.dumps({'execute': c, 'id': i}).encode() + sep
                     for i, (c, sep) in enumerate([
                         ('qmp_capabilities', b'\n'), ('query-name', b''),
                         ('query-status', b'\r\n'), ('no-such-command', b' '),
                         ('query-target', b'\n\n'), ('query-version', b'\t')]))
    conn.send_raw(batch)
    replies = [conn.reply() for _ in range(6)]
    check([r.get('id') for r in replies] == list(range(6)), 'ids of batched replies: %r'
          % [r.get('id') for r in replies])
    check(['return' in r for r in replies] == [True, True, True, False, True, True],
          'batched replies: %r' % replies)
    # Many at once (a big write the emulator reads in pieces).
    n = 300
    conn.send_raw(b''.join(json.dumps({'execute': 'query-target', 'id': i}).encode()
                           for i in range(n)))
    ids = [conn.reply().get('id') for _ in range(n)]
    check(ids == list(range(n)), 'replies to %d batched commands out of order' % n)
    # Commands with events in one write: the events come in order, and
    # never inside a reply (each message is one well-formed line).
    conn.send_raw(b'{"execute":"stop"}{"execute":"cont"}{"execute":"stop"}{"execute":"cont"}')
    for _ in range(4):
        conn.reply()
    conn.wait_events(['STOP', 'RESUME', 'STOP', 'RESUME'])


def case_bad_input(emu):
    conn = emu.connect(negotiate=True)
    # Malformed JSON (each followed by a newline; the parser must recover).
    for bad in (b'{"execute": "query-status",}', b'{"execute" "query-status"}',
                b'{"execute": query-status}', b'}', b'{"execute": "query-status"]',
                b'\xff\xfe{}'):
        conn.send_raw(bad + b'\n')
        errs = conn.sync()
        check(errs and all(r.get('error', {}).get('class') == 'GenericError' for r in errs),
              'malformed %r: replies %r' % (bad, errs))
    # Non-object input.
    for bad in ('[]', '[{"execute": "query-status"}]', '"query-status"', '42', 'null',
                'true'):
        expect_error(conn, bad.encode() + b'\n', 'GenericError', raw=True,
                     desc='QMP input must be a JSON object')
    # Missing or bad "execute", unknown members.
    expect_error(conn, {'arguments': {}}, 'GenericError')
    expect_error(conn, {}, 'GenericError')
    expect_error(conn, {'execute': 7}, 'GenericError')
    expect_error(conn, {'execute': 'query-status', 'bogus': 1}, 'GenericError',
                 desc_contains='bogus')
    expect_error(conn, {'execute': 'query-status', 'arguments': [1]}, 'GenericError')
    # Unknown command.
    expect_error(conn, {'execute': 'no-such-command'}, 'CommandNotFound',
                 desc='The command no-such-command has not been found')
    # Unknown argument, wrong argument type, missing argument.
    expect_error(conn, {'execute': 'query-status', 'arguments': {'verbose': True}},
                 'GenericError', desc_contains='verbose')
    expect_error(conn, {'execute': 'human-monitor-command',
                        'arguments': {'command-line': 42}}, 'GenericError',
                 desc_contains='command-line')
    expect_error(conn, {'execute': 'human-monitor-command', 'arguments': {}},
                 'GenericError', desc_contains='command-line')
    expect_error(conn, {'execute': 'getfd', 'arguments': {'fdname': ['x']}},
                 'GenericError', desc_contains='fdname')
    expect_error(conn, {'execute': 'query-command-line-options',
                        'arguments': {'option': True}}, 'GenericError', desc_contains='option')
    still_works(conn)
    check(emu.alive(), 'the emulator died on bad input')


def case_oversized_input(emu):
    conn = emu.connect(negotiate=True)
    # A 64 KiB command name: large but bounded, so an ordinary error.
    big = 'x' * (1 << 16)
    r = expect_error(conn, {'execute': big, 'id': 'big'}, 'CommandNotFound')
    check(r.get('id') == 'big', 'id of the big command: %r' % r.get('id'))
    # 64 KiB of an unknown argument: still an error reply.
    expect_error(conn, {'execute': 'query-status', 'arguments': {'pad': 'y' * (1 << 16)}},
                 'GenericError', desc_contains='pad')
    # Nesting far deeper than any command needs: errors, then recovery.
    conn.send_raw(b'[' * 2000 + b']' * 2000 + b'\n')
    errs = conn.sync()
    check(errs and all('error' in r for r in errs), 'deep nesting: %r' % errs[:3])
    still_works(conn)
    if KESTREL:
        kestrel_size_limits(emu, conn)
        return
    # Input that never ends (a string left open): the emulator may close
    # this client at its limit; the client gives up after 2 MiB. Either
    # way the emulator stays up and serves the next client.
    try:
        conn.send_raw(b'{"execute": "' + b'z' * (2 << 20))
    except OSError:
        pass                  # closed by the emulator: allowed
    conn.close()
    check(emu.alive(), 'the emulator died on oversized input')
    again = emu.connect(negotiate=True)
    still_works(again)


def kestrel_size_limits(emu, conn):
    """Kestrel's documented limits (docs/qmp.md): a message over 16 MiB
    gets an error reply; one over 256 MiB closes that client only."""
    mib = b'y' * (1 << 20)
    conn.send_raw(b'{"execute": "query-status", "arguments": {"pad": "')
    for _ in range(17):
        conn.send_raw(mib)
    conn.send_raw(b'"}, "id": "huge"}\n')
    errs = conn.sync()
    check(errs and all(r.get('error', {}).get('class') == 'GenericError' for r in errs),
          'a 17 MiB message: replies %r' % [str(r)[:200] for r in errs])
    still_works(conn)
    other = emu.connect(1, negotiate=True)
    closed = False
    try:
        conn.send_raw(b'{"execute": "query-status", "arguments": {"pad": "')
        for _ in range(300):
            conn.send_raw(mib)
    except OSError:
        closed = True
    check(closed or conn.closed_by_peer(), 'the client sending 300 MiB without end '
          'was not disconnected')
    check(emu.alive(), 'the emulator died on unbounded input')
    # The other monitor's client was not affected; the monitor takes a new client.
    still_works(other)
    again = emu.connect(negotiate=True)
    still_works(again)


def case_getfd(emu):
    conn = emu.connect(negotiate=True)
    r, w = os.pipe()
    try:
        conn.send_fds({'execute': 'getfd', 'arguments': {'fdname': 'pipe0'}, 'id': 'g'}, [w])
        rep = conn.reply()
        check(rep == {'return': {}, 'id': 'g'}, 'getfd with an fd: %r' % rep)
        # A second getfd under the same name replaces the first.
        conn.send_fds({'execute': 'getfd', 'arguments': {'fdname': 'pipe0'}}, [w])
        check('return' in conn.reply(), 'getfd replacing a name failed')
        conn.send_fds({'execute': 'getfd', 'arguments': {'fdname': 'pipe1'}}, [r])
        check('return' in conn.reply(), 'getfd pipe1 failed')
        check(conn.command('closefd', {'fdname': 'pipe0'}) == {}, 'closefd pipe0')
        expect_error(conn, {'execute': 'closefd', 'arguments': {'fdname': 'pipe0'}},
                     'GenericError', desc_contains='pipe0')
        check(conn.command('closefd', {'fdname': 'pipe1'}) == {}, 'closefd pipe1')
        # getfd without an fd attached.
        expect_error(conn, {'execute': 'getfd', 'arguments': {'fdname': 'none'}},
                     'GenericError')
        # A name starting with a digit is refused (it could be a number).
        conn.send_fds({'execute': 'getfd', 'arguments': {'fdname': '1abc'}}, [w])
        rep = conn.reply()
        check('error' in rep, 'getfd accepted a name starting with a digit: %r' % rep)
        expect_error(conn, {'execute': 'closefd', 'arguments': {'fdname': 'never'}},
                     'GenericError')
        expect_error(conn, {'execute': 'getfd', 'arguments': {}}, 'GenericError',
                     desc_contains='fdname')
        # The emulator really closed its copies: with only our write end
        # closed, the read end sees end of file.
        os.close(w)
        w = None
        deadline = time.monotonic() + TIMEOUT
        eof = False
        os.set_blocking(r, False)
        while time.monotonic() < deadline:
            try:
                if os.read(r, 1) == b'':
                    eof = True
                    break
            except BlockingIOError:
                time.sleep(0.05)
        check(eof, 'the pipe still has a writer: the emulator did not close its fds')
        still_works(conn)
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


def case_getfd_leave(emu):
    """Several fds in one getfd message, and a client that leaves with an
    fd still held by the monitor: no harm, the next client works."""
    conn = emu.connect(negotiate=True)
    r, w = os.pipe()
    try:
        conn.send_fds({'execute': 'getfd', 'arguments': {'fdname': 'kept'}}, [r, w])
        conn.reply()
        conn.close()
        again = emu.connect(negotiate=True)
        still_works(again)
    finally:
        os.close(r)
        os.close(w)


def case_reconnect(emu):
    for i in range(4):
        conn = emu.connect(negotiate=(i % 2 == 0))
        if i % 2 == 0:
            check(conn.command('query-name') == {}, 'session %d' % i)
            if i == 2:
                conn.send_raw(b'{"execute": "query-na')   # leave mid-message
        conn.close()
    conn = emu.connect()
    # A new client starts in negotiation mode.
    expect_error(conn, {'execute': 'query-status'}, 'CommandNotFound', desc=NOT_NEGOTIATED)
    conn.negotiate()
    conn.command('stop')
    conn.wait_event('STOP')
    conn.close()
    # Events that happened while nobody listened are not replayed.
    conn = emu.connect(negotiate=True)
    conn.command('cont')
    conn.wait_events(['RESUME'])


def case_second_client_waits(emu):
    """While one client is connected, a second connection to the same
    monitor gets no greeting; it gets one once the first leaves."""
    first = emu.connect(negotiate=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(emu.qmp_paths[0])
    s.settimeout(0.5)
    try:
        early = s.recv(100)
    except socket.timeout:
        early = None
    check(early is None or early == b'', 'a second client got %r while the first was connected'
          % early)
    if early == b'':
        s.close()               # refused outright: connect again after the first leaves
        first.close()
        second = emu.connect()
    else:
        first.close()
        from qmpclient import Connection
        s.settimeout(None)
        second = Connection(s)
    second.negotiate()
    still_works(second)


def case_two_monitors(emu):
    sock2 = os.path.join(emu.dir, 'mon.sock')
    a = emu.connect(negotiate=True)
    b = connect_unix(sock2)
    b.negotiate()
    a.command('stop')
    a.wait_event('STOP')
    b.wait_event('STOP')
    check(b.command('query-status')['running'] is False, 'the -mon monitor sees the stop')
    b.command('cont')
    a.wait_event('RESUME')
    b.wait_event('RESUME')
    labels = {c['label'] for c in b.command('query-chardev')}
    check('qmpmon' in labels, 'query-chardev lacks the -chardev monitor: %s' % labels)
    # Each monitor serves its own client independently.
    a.close()
    check(b.command('query-name') == {}, 'the second monitor after the first client left')
    a = emu.connect(negotiate=True)
    still_works(a)


def case_tcp(emu):
    conn = connect_tcp('127.0.0.1', emu.tcp_port)
    conn.negotiate()
    check(conn.command('query-target') == {'arch': 'x86_64'}, 'query-target over TCP')
    conn.close()
    conn = connect_tcp('127.0.0.1', emu.tcp_port)
    conn.negotiate()
    still_works(conn)


def case_machine_none(emu):
    conn = emu.connect(negotiate=True)
    st = conn.command('query-status')
    check(st == {'status': 'running', 'singlestep': False, 'running': True} or
          (st.get('status') == 'running' and st.get('running') is True),
          'query-status with -machine none: %r' % st)
    check(conn.command('query-cpus-fast') == [], '-machine none has CPUs')
    conn.command('stop')
    conn.command('cont')
    conn.command('system_reset')
    conn.wait_events(['STOP', 'RESUME', 'RESET'])
    conn.command('quit')
    ev = conn.wait_event('SHUTDOWN')
    check(ev['data'] == {'guest': False, 'reason': 'host-qmp-quit'}, 'SHUTDOWN %r' % ev)
    check(emu.wait_exit() == 0, 'exit status %r' % emu.proc.returncode)


def case_schema(emu):
    conn = emu.connect(negotiate=True)
    schema = conn.command('query-qmp-schema')
    check(isinstance(schema, list) and schema, 'query-qmp-schema is not a non-empty list')
    for e in schema:
        check(isinstance(e, dict) and isinstance(e.get('name'), str)
              and isinstance(e.get('meta-type'), str), 'schema entry %r' % e)
    types = {e['name']: e for e in schema}
    check(len(types) == len(schema), 'duplicate names in the schema')
    schema_cmds = {e['name'] for e in schema if e['meta-type'] == 'command'}
    schema_events = {e['name'] for e in schema if e['meta-type'] == 'event'}
    commands = {c['name'] for c in conn.command('query-commands')}
    check(commands <= schema_cmds, 'commands missing from the schema: %s'
          % sorted(commands - schema_cmds))
    missing = [c for c in COMMANDS if c not in schema_cmds]
    check(not missing, 'schema lacks %s' % missing)
    for ev in ('STOP', 'RESUME', 'SHUTDOWN', 'RESET', 'POWERDOWN'):
        check(ev in schema_events, 'schema lacks event %s' % ev)
    if KESTREL:
        check(schema_cmds == commands, 'schema commands not in query-commands: %s'
              % sorted(schema_cmds - commands))
    # Every type a command or event names is defined in the schema.
    for e in schema:
        refs = []
        if e['meta-type'] in ('command', 'event'):
            refs = [e.get('arg-type'), e.get('ret-type')]
        elif e['meta-type'] == 'object':
            refs = [m.get('type') for m in e.get('members', [])]
            refs += [v.get('type') for v in e.get('variants', [])]
        elif e['meta-type'] == 'array':
            refs = [e.get('element-type')]
        elif e['meta-type'] == 'alternate':
            refs = [m.get('type') for m in e.get('members', [])]
        for ref in refs:
            if ref is not None:
                check(ref in types, '%s %s refers to undefined type %r'
                      % (e['meta-type'], e['name'], ref))
    # Argument names of a few commands match what they accept.
    by_name = types

    def members(cmd):
        arg = by_name[by_name[cmd]['arg-type']]
        return {m['name'] for m in arg.get('members', [])}
    check('command-line' in members('human-monitor-command'), 'hmp arguments in the schema')
    check('fdname' in members('getfd') and 'fdname' in members('closefd'),
          'getfd/closefd arguments in the schema')
    check(members('query-status') == set(), 'query-status takes no arguments in the schema')


def case_daemonize(emu):
    """-daemonize: the parent exits 0 once the monitor is ready; the pidfile
    holds the live child's pid; the monitor accepts."""
    status = emu.wait_exit()
    check(status == 0, 'the -daemonize parent exited with %r (stderr %s)'
          % (status, emu.stderr()))
    pidfile = os.path.join(emu.dir, 'pid')
    check(os.path.exists(pidfile), 'no pidfile')
    text = open(pidfile).read()
    check(text.strip().isdigit(), 'pidfile holds %r' % text)
    pid = int(text)
    try:
        check(pid != emu.proc.pid, 'the pidfile names the parent')
        os.kill(pid, 0)
        conn = connect_unix(emu.qmp_paths[0])     # ready when the parent exited
        conn.negotiate()
        st = conn.command('query-status')
        check(st['running'] is True, 'status %r' % st)
        conn.command('quit')
        conn.wait_event('SHUTDOWN')
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            raise Failure('the daemon still runs after quit')
        check(not os.path.exists(pidfile), 'the pidfile was left behind after quit')
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, NameError, UnboundLocalError):
            pass


def case_inherited_fd(emu):
    """-chardev socket,fd=N: N is a listening socket the parent made."""
    conn = connect_unix(emu.inherited_path)
    conn.negotiate()
    still_works(conn)
    conn.close()
    conn = connect_unix(emu.inherited_path)
    conn.negotiate()
    check(conn.command('query-target') == {'arch': 'x86_64'}, 'second client on the fd monitor')


def case_socat(emu):
    """A scripted session through socat (a generic client): the whole
    transcript must be the expected replies, one per line."""
    script = (b'{"execute": "qmp_capabilities"}\n'
              b'{"execute": "query-status", "id": 1}\n'
              b'{"execute": "stop", "id": 2}\n'
              b'{"execute": "query-status", "id": 3}\n'
              b'{"execute": "cont", "id": 4}\n'
              b'{"execute": "human-monitor-command", "arguments": {"command-line": "info status"},'
              b' "id": 5}\n'
              b'{"execute": "quit", "id": 6}\n')
    emu.connect().close()      # the monitor is listening
    # socat reads the script from stdin and stays until the emulator
    # closes the connection (after quit); -t bounds the wait after EOF.
    proc = subprocess.run(['socat', '-t', str(int(TIMEOUT)), '-', 'UNIX-CONNECT:' + emu.qmp_paths[0]],
                          input=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=TIMEOUT * 2)
    check(proc.returncode == 0, 'socat exited %d: %s' % (proc.returncode, proc.stderr))
    lines = proc.stdout.split(b'\n')
    check(lines[-1] == b'', 'transcript does not end with a newline')
    msgs = []
    for line in lines[:-1]:
        check(line.endswith(b'\r'), 'line without CRLF: %r' % line)
        msgs.append(json.loads(line[:-1]))
    check('QMP' in msgs[0], 'no greeting: %r' % msgs[0])
    replies = [m for m in msgs[1:] if 'event' not in m]
    events = [m['event'] for m in msgs if 'event' in m]
    check([r.get('id') for r in replies] == [None, 1, 2, 3, 4, 5, 6],
          'reply ids %r' % [r.get('id') for r in replies])
    check(all('return' in r for r in replies), 'an error in the transcript: %r' % replies)
    check(replies[1]['return']['status'] == 'running', 'first query-status %r' % replies[1])
    check(replies[3]['return']['status'] == 'paused', 'query-status after stop %r' % replies[3])
    check(replies[5]['return'].startswith('VM status: running'), 'info status %r' % replies[5])
    check(events == ['STOP', 'RESUME', 'SHUTDOWN'], 'events %r' % events)
    check(emu.wait_exit() == 0, 'exit status after quit %r' % emu.proc.returncode)


# ------------------------------------------------ hostile clients (review)

def fd_count(emu):
    return len(os.listdir('/proc/%d/fd' % emu.proc.pid))


def rss_kib(emu):
    with open('/proc/%d/status' % emu.proc.pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


SYNC = {'execute': 'query-name', 'id': 'SYNC'}


def replies_until_sync(conn, limit=200):
    """The messages before the SYNC reply (each must be a JSON object)."""
    got = []
    while True:
        msg = conn.read_message()
        check(isinstance(msg, dict), 'a reply that is no object: %r' % msg)
        if msg.get('id') == 'SYNC':
            return got
        got.append(msg)
        check(len(got) < limit, 'more than %d replies for one input' % limit)


# Inputs that must each get error replies (or odd but valid replies) and
# leave the session usable. Every one ends a message, so SYNC follows.
HOSTILE_INPUTS = [
    b'[' * 100000 + b']' * 100000,
    b'{"a":' * 100000 + b'1' + b'}' * 100000,
    b'{"execute": "query-status", "id": ' + b'[' * 2000 + b']' * 2000 + b'}',
    # (QEMU 7.2 echoes 1e400 as `inf`, which is no JSON: Kestrel only.)
    b'{"execute": "query-status", "id": 1e400}',
    b'{"execute": "query-status", "id": -0}',
    b'{"execute": "query-status", "id": 18446744073709551616}',
    b'{"execute": "query-status", "id": 123456789012345678901234567890e-10}',
    b'{"execute": "query-status", "id": "\xff\xfe\xc0\x80"}',
    b'{"execute": "query-status", "id": "a\x00b"}',
    b'{"execute": "query-status", "id": "\\ud800"}',
    b'{"execute": "query-status", "id": "\\udc00x"}',
    b'{"execute": "query-status", "id": "\\ud83d\\ude00"}',
    b'{"execute": "query-status", "id": "cr\rlf\n"}',
    b'{"execute": "query-status", "execute": "quit"}',
    b'{"execute": 1}', b'{"execute": null}', b'{"execute": {"a": 1}}', b'{"execute": []}',
    b'{"execute": "query-status", "arguments": []}',
    b'{"execute": "query-status", "arguments": "x"}',
    b'{"execute": "' + b'q' * 200000 + b'"}',
    b'{"execute": "qmp_capabilities", "arguments": {"enable": ["oob", 1, null]}}',
    b'{"execute": "human-monitor-command", "arguments": {"command-line": "' +
    b'info ' * 20000 + b'"}}',
    b'{"execute": "human-monitor-command", "arguments": {"command-line": "info registers",'
    b' "cpu-index": 18446744073709551615}}',
    b'{"execute": "query-command-line-options", "arguments": {"option": "\\u0000"}}',
    b'\x00\x01\x02\xff}}]],,::',
    b'"unterminated \\" string" 123 -  tru nul {} [] ""',
    b'{"execute":"query-status"}' * 3000,
]


def case_hostile_input(emu):
    """Every kind of malformed or abusive input, each on a fresh client:
    error replies, no crash, no hang, no fd leak, the next request works."""
    conn = emu.connect(negotiate=True)
    still_works(conn)
    conn.close()
    fds = fd_count(emu)
    for data in HOSTILE_INPUTS:
        if b'1e400' in data and not KESTREL:
            continue
        conn = emu.connect(negotiate=True)
        conn.send_raw(data + b'\n' + json.dumps(SYNC).encode() + b'\n')
        replies_until_sync(conn, limit=300000)
        still_works(conn)
        conn.close()
    # The id is echoed whatever its JSON type.
    conn = emu.connect(negotiate=True)
    for ident in [None, True, False, 0, -1, 2**53, 1.5, '', 'x' * 1000, [], [1, [2]],
                  {}, {'a': {'b': None}}]:
        conn.send({'execute': 'query-name', 'id': ident})
        rep = conn.reply()
        check('return' in rep and rep.get('id') == ident and 'id' in rep,
              'id %r echoed as %r' % (ident, rep))
    for execute in [1, None, True, [], {}, 1.5]:
        expect_error(conn, {'execute': execute}, 'GenericError',
                     desc="QMP input member 'execute' must be a string")
    for arguments in [[], 'x', 1, None, True]:
        expect_error(conn, {'execute': 'query-status', 'arguments': arguments},
                     'GenericError', desc="QMP input member 'arguments' must be an object")
    expect_error(conn, {'execute': 'q' * 100000}, 'CommandNotFound')
    for cpu_index in (-1, 99, 2**63 - 1):
        expect_error(conn, {'execute': 'human-monitor-command',
                            'arguments': {'command-line': 'info registers',
                                          'cpu-index': cpu_index}},
                     'GenericError', desc="Parameter 'cpu-index' expects a CPU number")
    # Integers beyond 64 bits never wrap into small ones: they are numbers
    # (doubles), which an integer parameter refuses.
    for big in (b'-18446744073709551615', b'18446744073709551617', b'9223372036854775809',
                b'123456789012345678901234567890'):
        expect_error(conn, b'{"execute": "human-monitor-command", "arguments": '
                     b'{"command-line": "info cpus", "cpu-index": ' + big + b'}}\n',
                     'GenericError', raw=True,
                     desc="Invalid parameter type for 'cpu-index', expected: integer")
    conn.send_raw(b'{"execute": "query-name", "id": -18446744073709551617}\n')
    rep = conn.reply()
    check(rep.get('id') == -18446744073709551617.0, 'big id echoed as %r' % rep.get('id'))
    # Lone UTF-16 surrogates are refused; a pair is one character.
    for lone in (b'\\udc00', b'\\ud800', b'\\uD800\\u0041'):
        expect_error(conn, b'{"execute": "query-name", "id": "x' + lone + b'"}\n',
                     'GenericError', raw=True,
                     desc='JSON parse error, %s is not a valid Unicode character'
                     % lone[:6].decode())
    conn.send_raw(b'{"execute": "query-name", "id": "\\ud83d\\ude00"}\n')
    check(conn.reply().get('id') == '\U0001f600', 'surrogate pair')
    # Duplicate keys are refused, not resolved (last or first one wins).
    expect_error(conn, b'{"execute": "query-status", "execute": "quit"}\n', 'GenericError',
                 desc='JSON parse error, duplicate key', raw=True)
    expect_error(conn, b'{"execute": "query-status", "arguments": {"a": {"b": 1, "b": 2}}}\n',
                 'GenericError', desc='JSON parse error, duplicate key', raw=True)
    # Random bytes in random-sized writes, then a disconnect mid-message.
    # (QEMU 7.2 sometimes leaves the next client unanswered after this:
    # Kestrel only.)
    rng = random.Random(5)
    for round in range(20 if KESTREL else 0):
        noise = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 4000)))
        noise += rng.choice([b'{', b'"', b'[{"a', b'{"execute": "qu', b''])
        conn.send_raw(noise)
        if round % 5 == 4:
            conn.close()
            conn = emu.connect(negotiate=True)
    conn.close()
    # A client that leaves while its replies are being written. (QEMU 7.2
    # writes the replies it still owed that client to the next one, so
    # only Kestrel is checked here.)
    if KESTREL:
        conn = emu.connect(negotiate=True)
        conn.send_raw(b'{"execute": "query-qmp-schema"}\n' * 50)
        conn.read_message()
        conn.close()
    conn = emu.connect(negotiate=True)
    still_works(conn)
    conn.close()
    # Nothing kept an fd (sockets, pipes) beyond the baseline.
    deadline = time.monotonic() + TIMEOUT
    while fd_count(emu) > fds and time.monotonic() < deadline:
        time.sleep(0.05)
    check(fd_count(emu) <= fds, 'fds: %d before, %d after' % (fds, fd_count(emu)))


def case_fd_passing(emu):
    """SCM_RIGHTS abuse: fds with no getfd, too many fds, reused names,
    closefd of unknown names; no fd may stay behind."""
    conn = emu.connect(negotiate=True)
    base = fd_count(emu)
    pipes = [os.pipe() for _ in range(40)]
    try:
        every = [fd for p in pipes for fd in p]
        # fds on a message that does not take them, and more than fit.
        conn.send_fds({'execute': 'query-status', 'id': 1}, every[:60])
        check(conn.reply().get('id') == 1, 'query-status with fds attached')
        # getfd with several fds, names reused, unknown closefd.
        for i in range(10):
            conn.send_fds({'execute': 'getfd', 'arguments': {'fdname': 'n%d' % (i % 3)}},
                          every[i * 3:i * 3 + 3])
            rep = conn.reply()
            check('return' in rep or 'error' in rep, 'getfd reply %r' % rep)
        expect_error(conn, {'execute': 'getfd', 'arguments': {'fdname': 'nofd'}},
                     'GenericError')
        expect_error(conn, {'execute': 'closefd', 'arguments': {'fdname': 'unknown'}},
                     'GenericError')
        # Split over a write boundary: the fds go with the first byte.
        socket.send_fds(conn.sock, [b'{"execute": "getfd", '], every[70:73])
        conn.send_raw(b'"arguments": {"fdname": "split"}}\n')
        check('return' in conn.reply(), 'getfd with the fd on a partial message')
        conn.close()
        conn = emu.connect(negotiate=True)
        for name in ('n0', 'n1', 'n2', 'split'):
            conn.send({'execute': 'closefd', 'arguments': {'fdname': name}})
            conn.reply()
        still_works(conn)
        conn.close()
        deadline = time.monotonic() + TIMEOUT
        while fd_count(emu) > base and time.monotonic() < deadline:
            time.sleep(0.05)
        check(fd_count(emu) <= base, 'fds: %d before, %d after' % (base, fd_count(emu)))
    finally:
        for r, w in pipes:
            os.close(r)
            os.close(w)


def case_slow_reader(emu):
    """A client that reads late gets every reply whole; one that never
    reads stops being read from (bounded memory) without blocking the VM
    or the other monitor."""
    conn = emu.connect(negotiate=True)
    conn.send_raw(b''.join(b'{"execute": "query-qmp-schema", "id": %d}\n' % i
                           for i in range(60)))
    time.sleep(2)
    for i in range(60):
        rep = conn.reply()
        check(rep.get('id') == i and isinstance(rep.get('return'), list),
              'reply %d after a late read: %r' % (i, str(rep)[:200]))
    still_works(conn)
    # A reply near the message size limit (its id echoed) while earlier
    # replies are still unread: delivered whole, the client stays. (QEMU
    # reads monitor input a byte per main-loop step: far too slow for
    # 16 MiB, so it gets 64 KiB.)
    big_id = 'b' * (((16 << 20) if KESTREL else (64 << 10)) - 4096)
    conn.send_raw(b'{"execute": "query-qmp-schema", "id": 1}\n' * 5)
    # (Sent from a thread: QEMU stops reading until its output drains.)
    sender = threading.Thread(target=conn.send_raw, args=(
        json.dumps({'execute': 'query-name', 'id': big_id}).encode() + b'\n',))
    sender.start()
    time.sleep(1)
    for i in range(5):
        check(conn.reply().get('id') == 1, 'schema reply %d before the big one' % i)
    check(conn.reply(timeout=60).get('id') == big_id, 'the big reply was not delivered whole')
    sender.join()
    still_works(conn)
    # Monitor 1: a client that sends a lot and never reads.
    hog = emu.connect(index=1, negotiate=True)
    hog.sock.setblocking(False)
    before = rss_kib(emu)
    request = b'{"execute": "query-qmp-schema"}\n' * 1000
    sent = 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and sent < 20 * len(request):
        try:
            sent += hog.sock.send(request)
        except BlockingIOError:
            time.sleep(0.05)
    # The VM and the other monitor go on, with events too.
    for _ in range(3):
        conn.command('stop')
        conn.wait_event('STOP')
        conn.command('cont')
        conn.wait_event('RESUME')
        still_works(conn)
    grown = rss_kib(emu) - before
    check(grown < 32 * 1024, 'memory grew by %d KiB for a client that never reads' % grown)
    hog.close()
    conn.command('stop')
    conn.wait_event('STOP')
    again = emu.connect(index=1, negotiate=True)
    still_works(again)


def case_reboot_flow(emu):
    """libvirt's reboot with -no-shutdown: the guest powers off (SHUTDOWN,
    STOP), cont is refused until system_reset, then cont runs the guest
    again from the start (it powers off a second time)."""
    conn = emu.connect(negotiate=True)
    conn.command('cont')
    evs = conn.wait_events(['RESUME', 'SHUTDOWN', 'STOP'])
    check(evs[1].get('data') == {'guest': True, 'reason': 'guest-shutdown'},
          'SHUTDOWN %r' % evs[1])
    check(emu.serial().count(POWEROFF_OUTPUT) == 1, 'serial %r' % emu.serial())
    expect_error(conn, {'execute': 'cont'}, 'GenericError',
                 desc='Resetting the Virtual Machine is required')
    conn.command('system_reset')
    ev = conn.wait_event('RESET')
    check(ev.get('data') == {'guest': False, 'reason': 'host-qmp-system-reset'},
          'RESET %r' % ev)
    # QEMU puts a VM reset while not running in prelaunch.
    st = conn.command('query-status')
    check(st['running'] is False and st['status'] == 'prelaunch', 'status after reset %r' % st)
    check(hmp(conn, 'info status') == 'VM status: paused (prelaunch)\r\n',
          'info status after reset: %r' % hmp(conn, 'info status'))
    conn.command('cont')
    # QEMU's firmware resets the machine once more on its own (RESET
    # guest-reset) before the kernel runs again; Kestrel's does not.
    order = []
    while 'STOP' not in order:
        ev = conn.wait_event_any()
        if ev['event'] == 'RESET' and not KESTREL:
            check(ev.get('data') == {'guest': True, 'reason': 'guest-reset'}, 'RESET %r' % ev)
            continue
        order.append(ev['event'])
        if ev['event'] == 'SHUTDOWN':
            check(ev.get('data') == {'guest': True, 'reason': 'guest-shutdown'},
                  'second SHUTDOWN %r' % ev)
    check(order == ['RESUME', 'SHUTDOWN', 'STOP'], 'events after cont: %r' % order)
    deadline = time.monotonic() + TIMEOUT
    while emu.serial().count(POWEROFF_OUTPUT) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    check(emu.serial().count(POWEROFF_OUTPUT) == 2,
          'the guest did not run again after system_reset + cont: %r' % emu.serial())
    check(conn.command('query-status')['status'] == 'shutdown', 'status after 2nd power-off')
    check(hmp(conn, 'info status') == 'VM status: paused (shutdown)\r\n',
          'info status %r' % hmp(conn, 'info status'))
    check(emu.alive(), 'the emulator exited under -no-shutdown')


def processes_mentioning(text):
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def case_daemonize_fail(emu):
    """-daemonize with a monitor that cannot be created: the parent exits
    non-zero after printing why; no daemon stays behind, no pidfile."""
    marker = os.path.join(emu.dir, 'daemonize-fail')
    for bad in ['unix:%s/no/such/dir/q.sock,server=on,wait=off' % marker,
                'tcp:256.1.1.1:1,server=on,wait=off']:
        pidfile = marker + '.pid'
        proc = subprocess.run([BINARY, '-machine', 'none', '-display', 'none', '-nodefaults',
                               '-daemonize', '-pidfile', pidfile, '-qmp', bad],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=TIMEOUT)
        check(proc.returncode != 0, '-daemonize -qmp %s: parent exit status 0' % bad)
        check(proc.stderr.strip() != b'', '-daemonize -qmp %s: no error printed' % bad)
        time.sleep(0.2)
        left = processes_mentioning(marker)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        check(not left, 'an orphan daemon stayed behind: %r' % left)
        check(not os.path.exists(pidfile), 'a pidfile was left behind')


def case_sigterm_pending(emu):
    """SIGTERM while one client is mid-message and another has unread
    output: a prompt, clean exit, pidfile and sockets removed."""
    conn = emu.connect(negotiate=True)
    conn.send_raw(b'{"execute": "query-sta')
    hog = emu.connect(index=1, negotiate=True)
    hog.send_raw(b'{"execute": "query-qmp-schema"}\n' * 100)
    time.sleep(0.5)
    emu.proc.send_signal(signal.SIGTERM)
    check(emu.wait_exit() == 0, 'exit status %r after SIGTERM' % emu.proc.returncode)
    check(not os.path.exists(os.path.join(emu.dir, 'pid')), 'pidfile left after SIGTERM')
    for path in emu.qmp_paths:
        check(not os.path.exists(path), 'socket %s left after SIGTERM' % path)


# ------------------------------------------------------------------ setup

def free_tcp_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def setup(name):
    """The emulator a case runs against."""
    if name == 'greeting':
        return machine(guest=False)
    if name == 'negotiation':
        return machine(guest=False, qmp=2)
    if name == 'negotiation-bad-capability':
        return machine(guest=False)
    if name == 'commands':
        return machine(['-smp', '2', '-name', 'qmp-test-vm',
                        '-uuid', '5b3c7e2a-1d4f-4a6b-9c8d-0e1f2a3b4c5d',
                        '-chardev', 'pty,id=ptydev'])
    if name == 'name-uuid-defaults':
        return machine(guest=False)
    if name == 'id-echo':
        return machine(guest=False)
    if name == 'events':
        return machine(qmp=2)
    if name == 'start-paused':
        return machine(['-S'])
    if name == 'guest-shutdown':
        return machine(['-S'], guest=poweroff_payload())
    if name == 'no-shutdown':
        return machine(['-S', '-no-shutdown'], guest=poweroff_payload())
    if name in ('sigterm', 'sigint'):
        return machine()
    if name == 'oversized-input':
        return machine(guest=False, qmp=2)
    if name in ('split-input', 'batched-input', 'bad-input', 'getfd',
                'getfd-leave', 'reconnect', 'second-client-waits', 'schema', 'socat'):
        return machine(guest=False)
    if name == 'machine-none':
        return machine(guest=False)
    if name in ('hostile-input', 'fd-passing'):
        return machine(guest=False)
    if name == 'slow-reader':
        return machine(qmp=2)
    if name == 'reboot-flow':
        return machine(['-S', '-no-shutdown'], guest=poweroff_payload())
    if name == 'daemonize-fail':
        return machine(guest=False, qmp=0)
    if name == 'sigterm-pending':
        emu = machine(qmp=2, start=False)
        emu.cmd += ['-pidfile', os.path.join(emu.dir, 'pid')]
        emu.start()
        return emu
    if name == 'two-monitors':
        emu = Emulator(BINARY, [], qmp=1, start=False)
        path = os.path.join(emu.dir, 'mon.sock')
        emu.cmd += ['-machine', 'none',
                    '-chardev', 'socket,id=qmpmon,path=%s,server=on,wait=off' % path,
                    '-mon', 'chardev=qmpmon,mode=control']
        emu.start()
        emu.connect().close()     # the -qmp monitor is up, so is the other
        return emu
    if name == 'tcp':
        emu = Emulator(BINARY, ['-machine', 'none'], qmp=0, start=False)
        emu.tcp_port = free_tcp_port()
        emu.cmd += ['-qmp', 'tcp:127.0.0.1:%d,server=on,wait=off' % emu.tcp_port]
        emu.start()
        return emu
    if name == 'daemonize':
        emu = Emulator(BINARY, [], qmp=1, start=False, serial=False)
        emu.cmd += ['-machine', 'none', '-daemonize',
                    '-pidfile', os.path.join(emu.dir, 'pid')]
        emu.start()
        return emu
    if name == 'inherited-fd':
        emu = Emulator(BINARY, [], qmp=0, start=False)
        emu.inherited_path = os.path.join(emu.dir, 'inherited.sock')
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(emu.inherited_path)
        lsock.listen(1)
        fd = lsock.fileno()
        emu.cmd += ['-machine', 'none', '-chardev', 'socket,id=inh,fd=%d,server=on' % fd,
                    '-mon', 'chardev=inh,mode=control']
        emu.pass_fds = (fd,)
        emu.start()
        lsock.close()             # only the emulator holds it now
        return emu
    raise KeyError(name)


CASES = {
    'greeting': case_greeting,
    'negotiation': case_negotiation,
    'negotiation-bad-capability': case_negotiation_bad_capability,
    'commands': case_commands,
    'name-uuid-defaults': case_name_uuid_defaults,
    'id-echo': case_id_echo,
    'events': case_events,
    'start-paused': case_start_paused,
    'guest-shutdown': case_guest_shutdown,
    'no-shutdown': case_no_shutdown,
    'sigterm': case_sigterm,
    'sigint': case_sigint,
    'split-input': case_split_input,
    'batched-input': case_batched_input,
    'bad-input': case_bad_input,
    'oversized-input': case_oversized_input,
    'getfd': case_getfd,
    'getfd-leave': case_getfd_leave,
    'reconnect': case_reconnect,
    'second-client-waits': case_second_client_waits,
    'two-monitors': case_two_monitors,
    'tcp': case_tcp,
    'machine-none': case_machine_none,
    'schema': case_schema,
    'daemonize': case_daemonize,
    'inherited-fd': case_inherited_fd,
    'socat': case_socat,
    'hostile-input': case_hostile_input,
    'fd-passing': case_fd_passing,
    'slow-reader': case_slow_reader,
    'reboot-flow': case_reboot_flow,
    'daemonize-fail': case_daemonize_fail,
    'sigterm-pending': case_sigterm_pending,
}


def run_case(name):
    emu = None
    try:
        emu = setup(name)
        CASES[name](emu)
        # Leave through SIGTERM (not SIGKILL), so that a sanitizer build
        # runs its exit path too; then look for sanitizer reports.
        if emu.alive():
            emu.proc.send_signal(signal.SIGTERM)
            status = emu.wait_exit()
            check(status == 0, 'exit status %r after the final SIGTERM' % status)
        for marker in ('AddressSanitizer', 'runtime error:', 'LeakSanitizer'):
            check(marker not in emu.stderr(), 'sanitizer report on stderr:\n%s' % emu.stderr())
        print('PASS: %s' % name)
        return True
    except (Failure, QMPError, ProtocolError, OSError, ValueError, KeyError, TypeError) as e:
        print('FAIL: %s: %s: %s' % (name, type(e).__name__, e))
        traceback.print_exc(file=sys.stdout)
        if emu is not None:
            alive = emu.proc is not None and emu.alive()
            print('emulator %s' % ('still running' if alive else
                                   'exited with status %s' % (emu.proc.returncode
                                                               if emu.proc else None)))
            print('--- stderr ---\n%s' % emu.stderr())
        return False
    finally:
        if emu is not None:
            emu.cleanup()


def main():
    global KESTREL, BINARY
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--binary', default='qemu-system-x86_64')
    ap.add_argument('--list', action='store_true')
    ap.add_argument('cases', nargs='*')
    args = ap.parse_args()
    if args.list:
        print('\n'.join(CASES))
        return 0
    BINARY = args.binary
    KESTREL = is_kestrel(BINARY)
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print('unknown case(s): %s' % ' '.join(unknown))
        return 2
    if 'socat' in names and not __import__('shutil').which('socat'):
        print('FAIL: socat is not installed (apt-get install socat)')
        return 1
    print('binary: %s (%s)' % (BINARY, 'Kestrel' if KESTREL else 'reference'))
    ok = [run_case(n) for n in names]
    print('%d passed, %d failed' % (sum(ok), len(ok) - sum(ok)))
    return 0 if all(ok) else 1


if __name__ == '__main__':
    sys.exit(main())
