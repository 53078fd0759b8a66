"""Long host commands (make, tar pipelines) owned by a function that waits for them and kills them on any exit."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from harness.errors import BuildError


def run_logged(cmd: list[str], *, log: Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run ``cmd`` with output appended to ``log``; on error or interrupt its whole process group is killed."""
    with log.open("ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = proc.wait()
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-5:]
        raise BuildError(f"{cmd[0]} failed (exit {code}): {' | '.join(tail)}", hint=f"full log: {log}")


@contextlib.contextmanager
def cache_lock(path: Path) -> Iterator[None]:
    """Serialise builders of the same cache entry across processes (a second test session waits, then reuses)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
