"""Writing files so that a reader never sees half of one, and never through a link planted by someone else.

Every report, results and JSON write goes through :func:`atomic_write_text`/:func:`atomic_write_bytes`: the new
content is written to a private temporary file beside the target (``O_EXCL``, owner-only mode), fsynced, then
renamed over the target. ``rename`` replaces a symlink at the target *itself*, so a link planted in a run directory
is replaced, never followed. :func:`inside` turns untrusted path parts (a workload name from a stored
``metadata.json``) into a path under a root, refusing anything that could leave it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harness.errors import InfraError, UsageError
from harness.util.jsonable import to_jsonable

#: Files the harness writes into run directories: readable by their owner only (console logs, keys, disks).
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
#: One path segment from untrusted data: a plain name, no separators, not ``.``/``..``, not hidden.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}")


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = PRIVATE_FILE) -> None:
    """Write ``data`` beside ``path``, fsync, rename over ``path`` (a symlink there is replaced, not followed)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # the umask may have taken bits the caller asked for (reproducer.sh: 0700)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise InfraError(
            f"cannot write {path}: {exc.strerror or exc}", hint="check the directory's permissions"
        ) from None


def atomic_write_text(path: Path, text: str, *, mode: int = PRIVATE_FILE) -> None:
    atomic_write_bytes(path, text.encode("utf-8", "replace"), mode=mode)


def atomic_write_json(path: Path, data: Any, *, mode: int = PRIVATE_FILE) -> None:
    """``data`` as indented, key-sorted JSON (``util.jsonable``: dataclasses, enums, paths) written atomically."""
    atomic_write_text(path, json.dumps(to_jsonable(data), indent=2, sort_keys=True) + "\n", mode=mode)


def atomic_write_all(files: Iterable[tuple[Path, bytes]], *, mode: int = PRIVATE_FILE) -> None:
    """Write several files that belong together (a run's reports): every one is complete before any is renamed
    into place, so a failure leaves the old set whole (a half-new set would lie about the run)."""
    staged: list[tuple[Path, Path]] = []
    files = list(files)
    for path, _ in files:
        if path.is_dir() and not path.is_symlink():
            raise InfraError(f"cannot write {path}: it is a directory", hint="remove it and try again")
    try:
        for path, data in files:
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            atomic_write_bytes(tmp, data, mode=mode)
            staged.append((tmp, path))
        for tmp, path in staged:
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise InfraError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()


def safe_segment(name: str, what: str) -> str:
    """``name`` if it is one plain path segment, else a UsageError naming ``what`` it was."""
    if not isinstance(name, str) or not PLAIN_NAME.fullmatch(name):
        raise UsageError(f"{what} {name!r} is not a plain name", hint="letters, digits and _.+- only; no / or ..")
    return name


def inside(root: Path, *parts: str, what: str = "path", replace_link: bool = False) -> Path:
    """``root/parts…`` after checking each part is a plain segment and no existing component under ``root`` is a
    symlink (a link planted in a received run directory must not redirect a read or a write). With
    ``replace_link`` the last part may be a link: the caller writes with :func:`atomic_write_text`, which
    replaces the link itself."""
    path = root
    for index, part in enumerate(parts):
        path = path / safe_segment(part, what)
        if path.is_symlink() and not (replace_link and index == len(parts) - 1):
            raise UsageError(f"{path} is a symbolic link", hint="a run directory holds plain files only; remove it")
    return path


@contextlib.contextmanager
def owner_only() -> Iterator[None]:
    """Files and directories created meanwhile are the owner's alone (umask 077): a run's console log, steps, QEMU
    command line and stderr, SSH keys and disk hold what the guest printed and stored, for no other local user."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def private_dir(path: Path, *, parents: bool = True, exist_ok: bool = True) -> Path:
    """``mkdir`` with mode 0700 (the run's console, disk and keys are the owner's alone); an unusable place is
    one line naming it."""
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=parents, exist_ok=exist_ok)
        if not path.is_symlink():
            os.chmod(path, PRIVATE_DIR)
    except FileExistsError:
        what = "is not a directory" if exist_ok else "already exists"
        raise UsageError(f"{path} {what}", hint="choose another directory") from None
    except OSError as exc:
        raise InfraError(
            f"cannot create directory {path}: {exc.strerror or exc}", hint="choose a writable directory"
        ) from None
    return path
