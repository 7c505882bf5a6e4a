"""Reads tests/guest/*.expected files (format: docs/testing.md).

    # args: -m 256 -append "expect_mem=256"
    # status: 1
    # kernel: multiboot.elf
    # timeout: 60
    <the exact serial output>

Header lines come first, each "# key: value"; the first line that does not
start with "# " begins the serial output, which runs to the end of the file.
"""
import os
import shlex

KNOWN_KEYS = {'args', 'status', 'kernel', 'timeout', 'accel'}
DEFAULT_TIMEOUT = 60


class Expectation:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)[:-len('.expected')]
        self.args = []
        self.status = None
        self.kernel = self.name + '.elf'
        self.timeout = DEFAULT_TIMEOUT
        self.accels = None          # None: every accelerator
        with open(path, 'rb') as f:
            data = f.read()
        lines = data.split(b'\n')
        body_start = 0
        for line in lines:
            if not line.startswith(b'# '):
                break
            body_start += len(line) + 1
            key, sep, value = line[2:].decode().partition(':')
            key = key.strip()
            value = value.strip()
            if not sep or key not in KNOWN_KEYS:
                raise ValueError('%s: unknown header line %r' % (path, line.decode()))
            if key == 'args':
                self.args += shlex.split(value)
            elif key == 'status':
                self.status = int(value)
            elif key == 'kernel':
                self.kernel = value
            elif key == 'timeout':
                self.timeout = int(value)
            elif key == 'accel':
                self.accels = value.split()
        if self.status is None:
            raise ValueError('%s: no "# status:" header' % path)
        self.output = data[body_start:]

    def expanded_args(self, guest_src, guest_build):
        """Arguments with @GUEST_SRC@ / @GUEST_BUILD@ replaced by the
        directories holding the payload sources and the built payloads."""
        return [a.replace('@GUEST_SRC@', guest_src).replace('@GUEST_BUILD@', guest_build)
                for a in self.args]
