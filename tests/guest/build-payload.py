#!/usr/bin/env python3
"""Builds one freestanding guest payload (a multiboot kernel) from sources.

Called by tests/guest/meson.build for each payload:

    build-payload.py --mode 32|64 --cc gcc --ld ld --objcopy objcopy \
        --script link32.ld --out NAME.elf --depfile NAME.elf.d \
        [--format elf|aout-binary] [--include DIR] SOURCES...

Sources ending in .c are compiled with the payload flags for the mode, .S
files are assembled through the compiler. 32-bit payloads are linked with
`ld -m elf_i386`. 64-bit payloads are linked with `ld -m elf_x86_64` and
converted to ELF32 (`objcopy -O elf32-i386`), because multiboot loaders only
take ELF32 images. `--format aout-binary` instead writes the flat memory image
(for the payload that exercises the multiboot a.out kludge), followed by
8 KiB of 0xa5 bytes that the loader must not load.
"""
import argparse
import os
import subprocess
import sys
import tempfile

COMMON_FLAGS = [
    '-ffreestanding', '-fno-pic', '-fno-pie', '-fno-stack-protector',
    '-fno-asynchronous-unwind-tables', '-fno-unwind-tables',
    '-fno-builtin', '-nostdlib', '-nostdinc',
    '-mno-sse', '-mno-sse2', '-mno-mmx', '-mno-80387', '-mgeneral-regs-only',
    '-mno-red-zone', '-O2', '-g0', '-std=gnu11',
    '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
]
MODE_FLAGS = {
    '32': ['-m32', '-march=i686'],
    '64': ['-m64', '-mcmodel=small', '-march=x86-64'],
}
LD_EMULATION = {'32': 'elf_i386', '64': 'elf_x86_64'}


def compiler_include_dir(cc):
    """The compiler's own header directory (stdint.h, stdarg.h, ...).

    -nostdinc drops the host's /usr/include, which must never leak into a
    freestanding guest; the compiler's freestanding headers are still needed.
    """
    out = subprocess.run([cc, '-print-file-name=include'], check=True,
                         capture_output=True, text=True).stdout.strip()
    return out


def run(cmd):
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        sys.stderr.write('build-payload: command failed: %s\n' % ' '.join(cmd))
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', choices=['32', '64'], required=True)
    ap.add_argument('--cc', default='gcc')
    ap.add_argument('--ld', default='ld')
    ap.add_argument('--objcopy', default='objcopy')
    ap.add_argument('--script', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--depfile')
    ap.add_argument('--format', choices=['elf', 'aout-binary'], default='elf')
    ap.add_argument('--include', action='append', default=[])
    ap.add_argument('sources', nargs='+')
    args = ap.parse_args()

    flags = COMMON_FLAGS + MODE_FLAGS[args.mode]
    flags += ['-isystem', compiler_include_dir(args.cc)]
    for d in args.include:
        flags += ['-I', d]

    deps = []
    with tempfile.TemporaryDirectory(prefix='payload-') as tmp:
        objects = []
        for i, src in enumerate(args.sources):
            obj = os.path.join(tmp, '%d-%s.o' % (i, os.path.basename(src)))
            dep = obj + '.d'
            run([args.cc] + flags + ['-MD', '-MF', dep, '-c', src, '-o', obj])
            with open(dep) as f:
                text = f.read().replace('\\\n', ' ')
            deps += text.split(':', 1)[1].split()
            objects.append(obj)

        linked = os.path.join(tmp, 'linked.elf')
        run([args.ld, '-m', LD_EMULATION[args.mode], '-nostdlib', '-static',
             '-n', '--build-id=none', '-z', 'max-page-size=0x1000',
             '-z', 'noexecstack', '--no-warn-rwx-segments', '-T', args.script, '-o', linked] + objects)

        if args.format == 'aout-binary':
            run([args.objcopy, '-O', 'binary', linked, args.out])
            # Bytes past load_end_addr that a correct loader ignores: one
            # that loads the whole file would put them where .bss must be
            # zero, and the payload notices.
            with open(args.out, 'ab') as f:
                f.write(b'\xa5' * 8192)
        elif args.mode == '64':
            run([args.objcopy, '-O', 'elf32-i386', linked, args.out])
        else:
            run([args.objcopy, linked, args.out])
    deps.append(args.script)

    if args.depfile:
        with open(args.depfile, 'w') as f:
            f.write('%s: %s\n' % (args.out, ' '.join(
                d.replace(' ', '\\ ') for d in sorted(set(deps)))))


if __name__ == '__main__':
    main()
