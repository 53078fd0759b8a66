"""Private directories for QEMU's unix sockets (serial console, QMP), and sweeping those a killed harness left.

Socket paths are limited to 108 bytes, so they cannot live in a deep run directory: each Machine gets a short
``hvm-*`` directory under the system temp dir. A harness killed with SIGKILL cannot remove it, so each directory
records the pid that made it, and the next launch removes directories whose owner is gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "hvm-"
OWNER = "owner.pid"


def _owner_alive(directory: Path) -> bool:
    try:
        pid = int((directory / OWNER).read_text().strip())
    except (OSError, ValueError):
        return True  # not ours to judge: no (readable) owner file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def sweep_stale(root: Path | None = None) -> list[Path]:
    """Remove ``hvm-*`` directories whose owning process is dead; returns what was removed."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    for directory in base.glob(f"{PREFIX}*"):
        if directory.is_dir() and not _owner_alive(directory):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def make_socket_dir(root: Path | None = None) -> Path:
    """A new private socket directory, owned by this process (after sweeping stale ones)."""
    sweep_stale(root)
    directory = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
    (directory / OWNER).write_text(f"{os.getpid()}\n")
    return directory
