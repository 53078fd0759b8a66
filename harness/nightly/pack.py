"""Run directories as bytes: how results travel from a worker to the coordinator (no shared filesystem).

``pack`` makes a gzip'd tar of a directory's regular files (symlinks, devices, disk images, firmware variable
stores and ``vm/`` — overlays, keys, host-built binaries — are left out), refusing more than ``limit`` bytes.
``unpack`` takes untrusted bytes: only regular files and directories, no absolute path, no ``..``, no link, at
most ``limit`` bytes and ``MAX_MEMBERS`` entries in all; anything else is an ``InfraError`` and nothing is
left half-written.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from harness.errors import InfraError

#: Bytes a packed run directory may hold (uncompressed): logs, raw snapshots, reports.
DEFAULT_LIMIT = 256 << 20
MAX_MEMBERS = 20000
#: Not shipped: the VM's overlays, SSH keys and host-built binaries (big, and only useful on that host).
EXCLUDED_TOP = frozenset({"vm"})
#: Nor disk images and firmware variable stores (an arm64 run dir holds a 64 MiB ``guest.efivars.fd``).
EXCLUDED_SUFFIXES = (".fd", ".qcow2", ".img")


def pack(directory: Path, limit: int = DEFAULT_LIMIT) -> bytes:
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
            here = Path(dirpath)
            rel_dir = here.relative_to(directory)
            if rel_dir == Path("."):
                dirnames[:] = [d for d in dirnames if d not in EXCLUDED_TOP]
            dirnames.sort()
            for name in sorted(filenames):
                path = here / name
                if path.is_symlink() or not path.is_file() or name.endswith(EXCLUDED_SUFFIXES):
                    continue
                total += path.stat().st_size
                if total > limit:
                    raise InfraError(f"{directory}: run directory larger than {limit} bytes", hint="raise the limit")
                tar.add(path, arcname=str(rel_dir / name), recursive=False)
    return buffer.getvalue()


def _checked(member: tarfile.TarInfo) -> None:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or not member.name or member.name.startswith("/"):
        raise InfraError(f"packed run directory: entry {member.name[:100]!r} points outside its directory")
    if not (member.isreg() or member.isdir()):
        raise InfraError(f"packed run directory: entry {member.name[:100]!r} is not a plain file or directory")


def unpack(data: bytes, dest: Path, limit: int = DEFAULT_LIMIT) -> Path:
    """Unpack into ``dest`` (which must not exist yet): written beside and renamed, so it is whole or absent."""
    if dest.exists():
        raise InfraError(f"{dest} exists already", hint="merge into a fresh output directory")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            total = 0
            members = []
            while (member := tar.next()) is not None:
                _checked(member)
                total += member.size
                members.append(member)
                if total > limit or len(members) > MAX_MEMBERS:
                    raise InfraError(f"packed run directory larger than {limit} bytes or {MAX_MEMBERS} entries")
            partial.mkdir()
            tar.extractall(partial, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise InfraError(f"packed run directory is not a readable tar.gz: {exc}") from None
    except InfraError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(dest)
    return dest
