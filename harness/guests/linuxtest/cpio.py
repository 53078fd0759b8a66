"""A newc ("070701") cpio writer, enough for a Linux initramfs; no ``cpio`` binary and no root needed.

The kernel's initramfs unpacker does not create parent directories, so every directory is written before
anything inside it. Owners are always root (0:0); device nodes come from devtmpfs at boot.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

_MAGIC = b"070701"


class CpioWriter:
    def __init__(self) -> None:
        self._out = io.BytesIO()
        self._inode = 1
        self._dirs: set[str] = set()
        self.names: list[str] = []

    def _header(self, name: str, mode: int, size: int, nlink: int = 1) -> None:
        encoded = name.encode() + b"\0"
        fields = (self._inode, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(encoded), 0)
        self._inode += 1
        self._out.write(_MAGIC + b"".join(b"%08X" % value for value in fields) + encoded)
        self._align()

    def _align(self) -> None:
        self._out.write(b"\0" * (-self._out.tell() % 4))

    def _parents(self, name: str) -> None:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            self.directory("/".join(parts[:depth]))

    def directory(self, name: str, perm: int = 0o755) -> None:
        name = name.strip("/")
        if not name or name in self._dirs:
            return
        self._parents(name)
        self._dirs.add(name)
        self.names.append(name)
        self._header(name, stat.S_IFDIR | perm, 0, nlink=2)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        name = name.strip("/")
        self._parents(name)
        self.names.append(name)
        self._header(name, stat.S_IFREG | perm, len(data))
        self._out.write(data)
        self._align()

    def symlink(self, name: str, target: str) -> None:
        name = name.strip("/")
        self._parents(name)
        self.names.append(name)
        encoded = target.encode()
        self._header(name, stat.S_IFLNK | 0o777, len(encoded))
        self._out.write(encoded)
        self._align()

    def copy(self, source: Path, name: str) -> None:
        """A host file or symlink, keeping its permission bits."""
        info = os.lstat(source)
        if stat.S_ISLNK(info.st_mode):
            self.symlink(name, os.readlink(source))
        else:
            self.file(name, source.read_bytes(), stat.S_IMODE(info.st_mode))

    def finish(self) -> bytes:
        self._header("TRAILER!!!", 0, 0)
        self._out.write(b"\0" * (-self._out.tell() % 512))
        return self._out.getvalue()


def read_names(archive: bytes) -> list[tuple[str, int, bytes]]:
    """(name, mode, data) of every entry of a newc archive (for tests and checks)."""
    entries: list[tuple[str, int, bytes]] = []
    offset = 0
    while True:
        header = archive[offset : offset + 110]
        if header[:6] != _MAGIC:
            raise ValueError(f"no cpio header at offset {offset}")
        fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_start = offset + 110
        name = archive[name_start : name_start + namesize - 1].decode()
        data_start = name_start + namesize + (-(name_start + namesize) % 4)
        if name == "TRAILER!!!":
            return entries
        entries.append((name, mode, archive[data_start : data_start + size]))
        offset = data_start + size + (-(data_start + size) % 4)
