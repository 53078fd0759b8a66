"""Fast nightly cells for tests: a ``CellRunner`` that replays stored run directories of the Linux test guest.

``tests/data/nightly/<cell>/`` holds four real run directories recorded by ``harness nightly run`` on this
project's Linux test guest (amd64 and arm64 × thread-hold and thread-churn; metadata trimmed of host paths). A
replayed cell is copied, given the task's ``--model`` overrides and re-judged by the real analysis
(``harness.run.analysis.analyze``), then packed as a worker would pack it: the wrong-model regression is judged
for real, only the VM is skipped.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.nightly import pack
from harness.nightly.cell import CellResult
from harness.nightly.engine import OnResult
from harness.nightly.plan import CellTask
from harness.report.write import write_all
from harness.run.analysis import analyze
from harness.run.rundir import RunDir

STORED = Path(__file__).resolve().parent.parent / "data" / "nightly"
#: The parameters the stored runs were made with (the matrix must ask for the same).
MATRIX = """\
[matrix]
guest = ["linuxtest"]
arch = ["amd64", "arm64"]
workload = [
  { name = "thread-hold", params = { threads = 16, hold_seconds = 30 } },
  { name = "thread-churn", params = { rounds = 1, threads_per_round = 16, concurrency = 4, pause_ms = 0 } },
]
"""


def write_matrix(directory: Path, extra: str = "", name: str = "nightly.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(MATRIX + extra, encoding="utf-8")
    return path


def model_of(task: CellTask) -> dict[str, Any]:
    """The ``--model KEY=VALUE`` overrides in a task's ``harness run`` command."""
    argv = list(task.argv)
    found: dict[str, Any] = {}
    for flag, value in itertools.pairwise(argv):
        if flag == "--model":
            key, _, number = value.partition("=")
            found[key] = int(number)
    return found


@dataclass
class ReplayRunner:
    """Replays ``STORED/<cell>`` for each task. ``tweak(task)`` may return extra model overrides (e.g. to fail
    one repeat); ``lost`` names tasks (``cell#repeat``) whose worker is lost for good (no run directory);
    ``crashed`` names tasks whose guest kernel panicked in their workload (recorded as the pipeline records it)."""

    tweak: Callable[[CellTask], dict[str, Any]] = lambda task: {}
    lost: frozenset[str] = frozenset()
    crashed: frozenset[str] = frozenset()
    #: Tasks whose run hit an infrastructure error (recorded in metadata.json as the pipeline records one).
    errored: frozenset[str] = frozenset()
    seen: list[str] = field(default_factory=list)

    def run(self, tasks: Sequence[CellTask], kernels: Mapping[str, bytes], on_result: OnResult) -> None:
        for task in tasks:
            self.seen.append(task.key)
            if task.key in self.lost:
                message = "the worker running it was lost 2 times (retried once elsewhere)"
                on_result(CellResult(task.cell, task.repeat, 2, None, message=message, attempts=2))
                continue
            on_result(self.replay(task))

    def replay(self, task: CellTask) -> CellResult:
        with tempfile.TemporaryDirectory(prefix="replay-") as scratch:
            target = Path(scratch) / task.cell
            shutil.copytree(STORED / task.cell, target)
            overrides = {**model_of(task), **self.tweak(task)}
            run = RunDir.open(target)
            run.update_metadata(model=overrides)
            if task.key in self.crashed:
                title = "Kernel panic - not syncing: sysrq triggered crash"
                run.update_metadata(crash={"title": title, "workload": None, "excerpt": [title], "kind": "KernelPanic"})
            if task.key in self.errored:
                run.update_metadata(error="SSH to the guest was refused (connection reset)")
            result = analyze(run, offline=True)
            write_all(result, target)
            return CellResult(task.cell, task.repeat, int(result.exit_code), pack.pack(target), worker="replay")
