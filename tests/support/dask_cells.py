"""VM-less cell functions for ``DaskRunner(cell=...)``, run by real Dask workers (importable there by reference).

``cell_or_die`` ends its own worker process (SIGKILL: a lost worker) for the cells named in the environment
variable ``NIGHTLY_TEST_DIE`` (``cell`` = every attempt, ``cell@1`` = the first attempt only, remembered in the
directory ``NIGHTLY_TEST_MARKS``); other cells pass at once with a tiny run directory."""

from __future__ import annotations

import json
import os
import signal
import tempfile
from pathlib import Path

from harness.nightly import pack
from harness.nightly.cell import CellResult
from harness.nightly.plan import CellTask


def _passing_run(task: CellTask) -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        run = Path(scratch)
        (run / "results.json").write_text(json.dumps({"outcome": "passed", "exit_code": 0, "verdicts": []}))
        return pack.pack(run)


def cell_or_die(task: CellTask, kernel: bytes | None, cancel_event: str) -> CellResult:
    rules = os.environ.get("NIGHTLY_TEST_DIE", "").split(",")
    marks = Path(os.environ.get("NIGHTLY_TEST_MARKS", tempfile.gettempdir()))
    if task.cell in rules:
        os.kill(os.getpid(), signal.SIGKILL)
    if f"{task.cell}@1" in rules:
        mark = marks / task.cell
        if not mark.exists():
            mark.write_text("first attempt")
            os.kill(os.getpid(), signal.SIGKILL)
    return CellResult(task.cell, task.repeat, 0, _passing_run(task), worker=str(os.getpid()))
