"""The one place a directory the harness writes into (cache, runs, logs) is made usable, or refused in one line.

The most common CI mistakes are a cache on a read-only mount, a runs dir owned by someone else, or a file where a
directory should be; each must be exit 2 naming the directory and the fix, never an ``OSError`` traceback.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from harness.errors import InfraError

_WHY = {
    errno.EEXIST: "a file is in the way",
    errno.ENOTDIR: "a file is in the way",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
}


def usable_dir(path: Path, *, what: str, fix: str) -> Path:
    """``path`` created (with parents) and writable; otherwise an ``InfraError`` naming ``what``, ``path`` and ``fix``.

    ``what`` is e.g. "the cache directory", ``fix`` e.g. "set HARNESS_CACHE_DIR to a writable directory".
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InfraError(f"cannot use {what} {path}: {_WHY.get(exc.errno or 0, exc.strerror)}", hint=fix) from None
    if not path.is_dir():
        raise InfraError(f"cannot use {what} {path}: a file is in the way", hint=fix)
    if not os.access(path, os.W_OK | os.X_OK):
        raise InfraError(f"cannot use {what} {path}: not writable by this user", hint=fix)
    return path


def unusable(exc: OSError, fix: str) -> InfraError:
    """The same wording for a file operation that failed later (ENOSPC mid-download, an unreadable --from file)."""
    where = f" {exc.filename}" if exc.filename else ""
    return InfraError(f"cannot use{where}: {_WHY.get(exc.errno or 0, exc.strerror)}", hint=fix)


__all__ = ["unusable", "usable_dir"]
