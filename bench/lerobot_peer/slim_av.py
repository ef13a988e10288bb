#!/usr/bin/env python3
"""Make an unpacked PyAV wheel small enough to carry: replace encoder, network and device libraries by stubs.

    python3 bench/lerobot_peer/slim_av.py SITE_DIR      # SITE_DIR holds av/ and av.libs/ (an unpacked wheel)

Why: PyAV's manylinux wheel bundles FFmpeg with every codec and protocol library (38 MiB zipped, 114 MiB
unpacked; 26 MiB as tar.xz). Reading LeRobot v3.0 datasets needs only FFmpeg's own libraries and the AV1
decoder libdav1d (H.264 and the other common decoders are FFmpeg's own code). The device tool carries 64 MiB
a call, and the 50-episode dataset alone is 37 MiB.

How: each library in STUB keeps its file name, SONAME and symbol versions, but every function it exported
becomes ``return 0`` and every data object a zeroed block of the same size, built with gcc -nostdlib (no libc
dependence, so it loads on any glibc). FFmpeg's libraries link and load as before; only an encoder or
protocol that is never used in decoding local files would reach a stub (libx265 encoding, https through
gnutls, ALSA capture ...). ``avformat_network_init`` calls gnutls_global_init, whose stub returns 0 (success).
Libraries that only stubbed ones needed are then dropped. Checked by decoding the same AV1 and H.264 files
with the full and the slim tree (identical frames; bench/lerobot_peer/README.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

# substrings of av.libs/ file names: encoders, audio codecs, network protocols, capture devices
STUB = ('libx265', 'libSvtAv1Enc', 'libaom', 'libx264', 'libopenh264', 'libvpx', 'libmp3lame', 'libopus', 'libspeex',
        'libtwolame', 'libvorbis', 'libvorbisenc', 'libopencore-amrnb', 'libopencore-amrwb', 'libwebp', 'libwebpmux',
        'libgnutls', 'libsrt', 'libgmp', 'libasound', 'libxcb', 'libxcb-shm', 'libxcb-shape', 'libxcb-xfixes')


def run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def lib_key(name: str) -> str:
    """'libxcb-shm-0be6dfbf.so.0.0.0' -> 'libxcb-shm' (auditwheel adds -<hash> before .so)."""
    return re.sub(r'-[0-9a-f]{8}\.so.*$', '', name)


def needed(path: Path) -> list[str]:
    return re.findall(r'\(NEEDED\)\s+Shared library: \[(.+?)\]', run('readelf', '-d', str(path)))


def exports(path: Path) -> list[tuple[str, str, int, str | None, bool]]:
    """(name, FUNC|OBJECT, size, version, default) of the defined dynamic symbols."""
    out = []
    for line in run('readelf', '-W', '--dyn-syms', str(path)).splitlines():
        parts = line.split()
        if len(parts) < 8 or parts[6] in ('UND', 'ABS') or parts[3] not in ('FUNC', 'OBJECT', 'IFUNC') or parts[4] == 'LOCAL':
            continue
        name, version, default = parts[7], None, True
        if '@' in name:
            name, _, version = name.partition('@')
            default = version.startswith('@')
            version = version.lstrip('@')
        size = int(parts[2], 16) if parts[2].startswith('0x') else int(parts[2])
        out.append((name, 'FUNC' if parts[3] != 'OBJECT' else 'OBJECT', size, version, default))
    return out


def version_defs(path: Path) -> list[str]:
    text = run('readelf', '-W', '-V', str(path))
    section = text.split("Version definition section '.gnu.version_d'")
    if len(section) < 2:
        return []
    names = re.findall(r'Name: (\S+)', section[1].split("Version needs section")[0])
    return names[1:]  # the first is the library's own base name


def build_stub(lib: Path, workdir: Path) -> None:
    syms = exports(lib)
    versions = version_defs(lib)
    soname = re.search(r'\(SONAME\)\s+Library soname: \[(.+?)\]', run('readelf', '-d', str(lib)))
    soname = soname.group(1) if soname else lib.name
    c, seen = [], set()
    for i, (name, kind, size, version, default) in enumerate(syms):
        cname = f'stub_{i}'
        if kind == 'FUNC':
            c.append(f'long {cname}(void) {{ return 0; }}')
        else:
            c.append(f'char {cname}[{max(size, 8)}] __attribute__((aligned(16)));')
        if version:
            c.append(f'__asm__(".symver {cname},{name}{"@@" if default else "@"}{version}");')
        elif name not in seen:
            c.append(f'__asm__(".globl {name}\\n.set {name},{cname}");')
            c.append(f'__asm__(".type {name},@{"function" if kind == "FUNC" else "object"}");')
        seen.add(name)
    src, vmap = workdir / f'{lib.name}.c', workdir / f'{lib.name}.map'
    src.write_text('\n'.join(c) + '\n')
    if versions:
        vmap.write_text(''.join(f'{v} {{ global: *; }};\n' for v in versions))
    else:
        vmap.write_text('{ global: *; };\n')
    out = workdir / lib.name
    run('gcc', '-shared', '-fPIC', '-nostdlib', '-O0', '-o', str(out), f'-Wl,-soname,{soname}',
        f'-Wl,--version-script={vmap}', str(src))
    out.replace(lib)


def main() -> int:
    site = Path(sys.argv[1])
    libs = site / 'av.libs'
    before = sum(f.stat().st_size for f in libs.iterdir())
    stubbed = [f for f in libs.iterdir() if lib_key(f.name) in STUB]
    with tempfile.TemporaryDirectory() as tmp:
        for lib in stubbed:
            build_stub(lib, Path(tmp))
    # drop what nothing needs any more: reachable from the extension modules through NEEDED
    by_name = {f.name: f for f in libs.iterdir()}
    todo = [m for m in site.joinpath('av').rglob('*.so')]
    reach: set[str] = set()
    while todo:
        for dep in needed(todo.pop()):
            if dep in by_name and dep not in reach:
                reach.add(dep)
                todo.append(by_name[dep])
    dropped = [name for name in by_name if name not in reach]
    for name in dropped:
        by_name[name].unlink()
    after = sum(f.stat().st_size for f in libs.iterdir())
    print(f'slim_av: {len(stubbed)} stubbed, {len(dropped)} dropped ({", ".join(sorted(dropped))}); '
          f'av.libs {before / 2**20:.1f} -> {after / 2**20:.1f} MiB')
    return 0


if __name__ == '__main__':
    sys.exit(main())
