"""Long host commands (make, tar pipelines) owned by a function that waits for them and kills them on any exit."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.errors import BuildError
from harness.util.procs import owned_group


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
        with owned_group(proc, grace=0):
            code = proc.wait()
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-5:]
        raise BuildError(f"{cmd[0]} failed (exit {code}): {' | '.join(tail)}", hint=f"full log: {log}")
