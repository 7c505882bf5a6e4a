"""A small QMP client for the functional tests (Python 3 standard library only).

It speaks the wire protocol directly so that the tests see exactly what the
emulator sends: one JSON object per message, each followed by CRLF. The same
tests run against Kestrel and against Debian's qemu-system-x86_64 (the
reference); `Emulator` starts either with a list of arguments.

    emu = Emulator(binary, ['-machine', 'none'], qmp=1)
    conn = emu.connect()              # reads and checks the greeting
    conn.negotiate()                  # qmp_capabilities
    conn.command('query-status')      # -> the "return" value, or raises QMPError
    conn.wait_event('STOP')           # -> the event message

Every wait has a timeout (a safety net only, never a check of speed).
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

TIMEOUT = float(os.environ.get('QMP_TEST_TIMEOUT', '30'))


class QMPError(Exception):
    """An error reply: .error_class and .desc hold the reply's fields."""
    def __init__(self, reply):
        self.reply = reply
        err = reply.get('error', {})
        self.error_class = err.get('class')
        self.desc = err.get('desc')
        super().__init__('%s: %s' % (self.error_class, self.desc))


class ProtocolError(Exception):
    """The peer broke the wire format, closed the connection, or timed out."""


def is_kestrel(binary):
    """True when BINARY is Kestrel (its -version output names it)."""
    try:
        out = subprocess.run([binary, '-version'], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 'kestrel' in os.path.basename(binary)
    return b'Kestrel' in out


class Connection:
    """One QMP client connection. Events read while waiting for a reply are
    kept (in arrival order) in .events until wait_event takes them."""

    def __init__(self, sock, check_greeting=True):
        self.sock = sock
        self.buf = b''
        self.events = []
        self.messages = []          # every message received, in order
        self.next_id = 1
        self.greeting = None
        if check_greeting:
            self.greeting = self.read_message()
            if 'QMP' not in self.greeting:
                raise ProtocolError('first message is not a greeting: %r' % self.greeting)

    # ---------------------------------------------------------------- wire
    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw(json.dumps(obj) + '\n')

    def read_message(self, timeout=TIMEOUT):
        """The next message (a dict), checking its CRLF ending."""
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError('no complete message within %.0f s (have %r)'
                                    % (timeout, self.buf[:200]))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                raise ProtocolError('connection error: %s' % e)
            if not chunk:
                raise ProtocolError('connection closed by the emulator (pending %r)'
                                    % self.buf[:200])
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b'\n')
        if not line.endswith(b'\r'):
            raise ProtocolError('message not terminated by CRLF: %r' % line[:200])
        try:
            msg = json.loads(line[:-1].decode())
        except ValueError as e:
            raise ProtocolError('not JSON (%s): %r' % (e, line[:200]))
        if not isinstance(msg, dict):
            raise ProtocolError('message is not an object: %r' % line[:200])
        self.messages.append(msg)
        if 'event' in msg:
            check_event_shape(msg)
        return msg

    def closed_by_peer(self, timeout=TIMEOUT):
        """True once the emulator closes the connection (discarding data)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return True
            if not chunk:
                return True
        return False

    # ---------------------------------------------------------------- replies
    def reply(self, timeout=TIMEOUT):
        """The next reply (return or error); events before it are kept."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.read_message(max(0.01, deadline - time.monotonic()))
            if 'event' in msg:
                self.events.append(msg)
                continue
            if ('return' in msg) == ('error' in msg):
                raise ProtocolError('neither a reply nor an event: %r' % msg)
            return msg

    def execute(self, name, arguments=None, id=None, **kw):
        """Sends one command and returns its raw reply (dict)."""
        msg = {'execute': name}
        if arguments is not None:
            msg['arguments'] = arguments
        if id is not None:
            msg['id'] = id
        self.send(msg)
        return self.reply(**kw)

    def command(self, name, arguments=None, **kw):
        """Runs a command; its "return" value, or QMPError. Uses a fresh id
        and checks that the reply echoes it."""
        ident = 'cmd-%d' % self.next_id
        self.next_id += 1
        r = self.execute(name, arguments, id=ident, **kw)
        if r.get('id') != ident:
            raise ProtocolError('reply to %s has id %r, expected %r: %r'
                                % (name, r.get('id'), ident, r))
        if 'error' in r:
            raise QMPError(r)
        return r['return']

    def negotiate(self):
        r = self.command('qmp_capabilities')
        if r != {}:
            raise ProtocolError('qmp_capabilities returned %r' % r)

    def sync(self, timeout=TIMEOUT):
        """Sends query-status with a unique id and reads up to its reply:
        the replies read before it (a list) answer earlier input."""
        ident = 'sync-%d' % self.next_id
        self.next_id += 1
        self.send({'execute': 'query-name', 'id': ident})
        before = []
        deadline = time.monotonic() + timeout
        while True:
            r = self.reply(max(0.01, deadline - time.monotonic()))
            if r.get('id') == ident:
                if 'return' not in r:
                    raise ProtocolError('sync command failed: %r' % r)
                return before
            before.append(r)

    # ---------------------------------------------------------------- events
    def wait_event(self, name, timeout=TIMEOUT):
        """Takes the oldest pending event NAME (reading more if needed).
        Events of other names read meanwhile stay pending."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev['event'] == name:
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError('no %s event within %.0f s (pending: %s)'
                                    % (name, timeout, [e['event'] for e in self.events]))
            msg = self.read_message(left)
            if 'event' not in msg:
                raise ProtocolError('unexpected reply while waiting for %s: %r' % (name, msg))
            self.events.append(msg)

    def wait_event_any(self, timeout=TIMEOUT):
        """Takes the oldest pending event, whatever its name."""
        if not self.events:
            msg = self.read_message(timeout)
            if 'event' not in msg:
                raise ProtocolError('unexpected reply while waiting for an event: %r' % msg)
            self.events.append(msg)
        return self.events.pop(0)

    def wait_events(self, names, timeout=TIMEOUT):
        """Reads events until len(names) have arrived; checks that they are
        exactly NAMES in this order. Returns them."""
        deadline = time.monotonic() + timeout
        while len(self.events) < len(names):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                msg = self.read_message(left)
            except ProtocolError:
                break
            if 'event' not in msg:
                raise ProtocolError('unexpected reply while waiting for events %s: %r'
                                    % (names, msg))
            self.events.append(msg)
        got = self.events[:len(names)]
        if [e['event'] for e in got] != list(names):
            raise ProtocolError('events %s, expected %s in this order'
                                % ([e['event'] for e in self.events], list(names)))
        del self.events[:len(names)]
        return got

    def no_event(self, wait=0.3):
        """Checks that nothing arrives within WAIT seconds (used only to
        catch stray events; never a timing check)."""
        try:
            msg = self.read_message(wait)
        except ProtocolError as e:
            if 'no complete message' in str(e):
                return
            raise
        raise ProtocolError('unexpected message: %r' % msg)

    def send_fds(self, obj, fds):
        data = (json.dumps(obj) + '\n').encode()
        socket.send_fds(self.sock, [data], fds)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def check_event_shape(msg):
    ts = msg.get('timestamp')
    if not isinstance(msg.get('event'), str):
        raise ProtocolError('event name is not a string: %r' % msg)
    if not isinstance(ts, dict) or set(ts) != {'seconds', 'microseconds'}:
        raise ProtocolError('event timestamp is not {seconds, microseconds}: %r' % msg)
    if not all(isinstance(ts[k], int) and not isinstance(ts[k], bool) for k in ts):
        raise ProtocolError('event timestamp fields are not integers: %r' % msg)
    if not 0 <= ts['microseconds'] < 1000000 or ts['seconds'] <= 0:
        raise ProtocolError('event timestamp out of range: %r' % msg)
    if 'data' in msg and not isinstance(msg['data'], dict):
        raise ProtocolError('event data is not an object: %r' % msg)


def connect_unix(path, timeout=TIMEOUT, greeting=True):
    """Connects to a listening UNIX socket, retrying until it exists."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return Connection(s, greeting)
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise ProtocolError('cannot connect to %s within %.0f s' % (path, timeout))
            time.sleep(0.05)


def connect_tcp(host, port, timeout=TIMEOUT, greeting=True):
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.create_connection((host, port), timeout=5)
            return Connection(s, greeting)
        except (ConnectionRefusedError, socket.timeout):
            if time.monotonic() > deadline:
                raise ProtocolError('cannot connect to %s:%d within %.0f s' % (host, port, timeout))
            time.sleep(0.05)


# ------------------------------------------------------------------ payloads

FLAT_BASE = 0x100000
FLAT_HEADER = 32


def flat_multiboot_kernel(code):
    """A multiboot kernel using the a.out kludge: a flat image loaded at
    1 MiB, entered in 32-bit protected mode right after its header. Both
    Kestrel and QEMU boot it with -kernel."""
    magic, flags = 0x1BADB002, 0x00010000             # "address fields valid"
    end = FLAT_BASE + FLAT_HEADER + len(code)
    header = struct.pack('<8I', magic, flags, (-(magic + flags)) & 0xffffffff,
                         FLAT_BASE, FLAT_BASE, end, end, FLAT_BASE + FLAT_HEADER)
    return header + code


def _print_code(text):
    code = b'\xba\xf8\x03\x00\x00'                     # mov edx, 0x3f8 (COM1)
    for ch in text:
        code += bytes([0xb0, ch, 0xee])                # mov al, ch; out dx, al
    return code


# Prints "idle", then halts with interrupts off for ever (a reset restarts
# it): a guest that stays put without using the host CPU.
IDLE_OUTPUT = b'idle\n'


def idle_payload():
    return flat_multiboot_kernel(_print_code(IDLE_OUTPUT) + b'\xfa\xf4\xeb\xfd')  # cli; hlt; jmp hlt


# Prints "off", then powers off through ACPI PM1a_CNT (I/O 0x604): SLP_EN
# with SLP_TYP 0 (QEMU's PIIX4 S5, as SeaBIOS sets it up), then SLP_TYP 7
# (Kestrel's \_S5, docs/acpi.md). Each machine ignores the other value.
POWEROFF_OUTPUT = b'off\n'


def poweroff_payload():
    code = _print_code(POWEROFF_OUTPUT)
    code += b'\x66\xba\x04\x06'                        # mov dx, 0x604
    code += b'\x66\xb8\x00\x20\x66\xef'                # mov ax, 0x2000; out dx, ax
    code += b'\x66\xb8\x00\x3c\x66\xef'                # mov ax, 0x3c00; out dx, ax
    code += b'\xfa\xf4\xeb\xfd'                        # cli; hlt; jmp hlt
    return flat_multiboot_kernel(code)


# ------------------------------------------------------------------ emulator

class Emulator:
    """A running emulator. Its QMP monitors are UNIX sockets in a private
    temporary directory: qmp=N adds N `-qmp unix:...` monitors (paths in
    .qmp_paths). Serial output goes to .serial_path (a file)."""

    def __init__(self, binary, args, qmp=1, guest=None, serial=True, start=True,
                 pass_fds=(), stdin=subprocess.DEVNULL, base=True):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix='qmp-test-')
        self.qmp_paths = [os.path.join(self.dir, 'qmp%d.sock' % i) for i in range(qmp)]
        self.serial_path = os.path.join(self.dir, 'serial.txt')
        cmd = [binary]
        if base:
            cmd += ['-accel', 'tcg', '-display', 'none', '-nodefaults']
            if serial:
                cmd += ['-serial', 'file:' + self.serial_path]
        for p in self.qmp_paths:
            cmd += ['-qmp', 'unix:%s,server=on,wait=off' % p]
        if guest is not None:
            kernel = os.path.join(self.dir, 'guest.bin')
            with open(kernel, 'wb') as f:
                f.write(guest)
            cmd += ['-kernel', kernel]
        self.cmd = cmd + list(args)
        self.stdout_path = os.path.join(self.dir, 'stdout.txt')
        self.stderr_path = os.path.join(self.dir, 'stderr.txt')
        self.proc = None
        self.pass_fds = pass_fds
        self.stdin = stdin
        if start:
            self.start()

    def start(self):
        print('command:', ' '.join(self.cmd), flush=True)
        self.proc = subprocess.Popen(self.cmd, stdin=self.stdin,
                                     stdout=open(self.stdout_path, 'wb'),
                                     stderr=open(self.stderr_path, 'wb'),
                                     pass_fds=self.pass_fds)

    def connect(self, index=0, negotiate=False, **kw):
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(self.qmp_paths[index]):
            if self.proc.poll() is not None:
                raise ProtocolError('the emulator exited with status %d before its '
                                    'monitor appeared; stderr: %s'
                                    % (self.proc.returncode, self.stderr()))
            if time.monotonic() > deadline:
                raise ProtocolError('monitor socket %s never appeared' % self.qmp_paths[index])
            time.sleep(0.05)
        conn = connect_unix(self.qmp_paths[index], **kw)
        if negotiate:
            conn.negotiate()
        return conn

    def serial(self):
        try:
            with open(self.serial_path, 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return b''

    def wait_serial(self, text, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while text not in self.serial():
            if time.monotonic() > deadline:
                raise ProtocolError('serial output never showed %r (have %r)'
                                    % (text, self.serial()[-200:]))
            if self.proc.poll() is not None and text not in self.serial():
                raise ProtocolError('the emulator exited (status %d) before the serial '
                                    'output showed %r' % (self.proc.returncode, text))
            time.sleep(0.05)

    def stderr(self):
        try:
            with open(self.stderr_path, 'rb') as f:
                return f.read().decode(errors='replace')
        except FileNotFoundError:
            return ''

    def wait_exit(self, timeout=TIMEOUT):
        """The exit status, or None if it is still running after TIMEOUT."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
