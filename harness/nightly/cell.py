"""One repeat of one cell, on whichever host runs it: ``harness run`` in a process group of its own, its run
directory packed into bytes for the coordinator.

The child is owned by a context manager: on cancel (the night's cancel flag), a timeout or any exception its
whole group gets SIGTERM (the harness shuts its VM down), then SIGKILL after a grace period; QEMU itself dies
with the harness that started it (``PR_SET_PDEATHSIG``), and the harness with this worker (:mod:`child`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ExitCode, HarnessError
from harness.nightly import pack
from harness.nightly.plan import CellTask
from harness.util.procs import owned_group

#: Seconds the harness gets to shut its VM down after SIGTERM before its group is killed.
TERM_GRACE_SECONDS = 30.0
POLL_SECONDS = 1.0
DEFAULT_TIMEOUT = 3 * 3600.0
#: What a shipped kernel directory may hold, unpacked.
KERNEL_LIMIT = 1 << 30
#: The cell's own log (the harness's progress and errors), kept in its run directory.
CELL_LOG = "nightly-cell.log"


class CellCancelled(Exception):
    """The night was cancelled (Ctrl-C on the coordinator) while this cell ran."""


@dataclass(frozen=True)
class CellResult:
    """What comes back to the coordinator: the exit code, the packed run dir (None when none was made), where it
    ran, and one line saying how it ended."""

    cell: str
    repeat: int
    exit_code: int
    packed: bytes | None
    worker: str = ""
    seconds: float = 0.0
    message: str = ""
    cancelled: bool = False
    attempts: int = 1


def _wait(process: subprocess.Popen[bytes], cancelled: Callable[[], bool], deadline: float) -> int:
    while True:
        try:
            return process.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        if cancelled():
            raise CellCancelled("cancelled")
        if time.monotonic() > deadline:
            raise TimeoutError("cell timed out")


def _last_error(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.is_file() else []
    errors = [line for line in lines if line.startswith("harness: ")]
    return (errors or lines or [""])[-1][:300]


def command(task: CellTask, runs: Path, kernel: Path | None) -> list[str]:
    argv = [*task.argv, *(["--kernel", str(kernel)] if kernel else []), "--runs-dir", str(runs)]
    return [sys.executable, "-m", "harness.nightly.child", str(os.getpid()), "--", *argv]


def run_cell(
    task: CellTask,
    kernel_tar: bytes | None = None,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    worker: str = "",
    timeout: float = DEFAULT_TIMEOUT,
) -> CellResult:
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="harness-cell-") as scratch:
        tmp = Path(scratch)
        kernel = pack.unpack(kernel_tar, tmp / "kernel", limit=KERNEL_LIMIT) if kernel_tar is not None else None
        runs, log = tmp / "runs", tmp / CELL_LOG
        runs.mkdir()
        code, message, was_cancelled = int(ExitCode.INFRA), "", False
        with log.open("wb") as out:
            process = subprocess.Popen(
                command(task, runs, kernel),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                with owned_group(process, TERM_GRACE_SECONDS):
                    code = _wait(process, cancelled, start + timeout)
            except CellCancelled:
                message, was_cancelled = "cancelled: the night was interrupted", True
            except TimeoutError:
                message = f"timed out after {timeout:.0f} s"
        made = [d for d in runs.iterdir() if d.is_dir()]
        packed = None
        if len(made) == 1:
            (made[0] / CELL_LOG).write_bytes(log.read_bytes())
            try:
                packed = pack.pack(made[0])
            except HarnessError as exc:
                message = exc.one_line()
        if code < 0:
            message, code = message or f"harness run killed by signal {-code}", int(ExitCode.INFRA)
        return CellResult(
            task.cell,
            task.repeat,
            code,
            packed,
            worker=worker,
            seconds=round(time.monotonic() - start, 1),
            message=message or _last_error(log),
            cancelled=was_cancelled,
        )
