"""``harness run --repeat N``: the same workloads N times, each on a fresh VM, then the flaky-aware verdict.

The first repeat boots cold and saves the VM snapshot (unless one already matches), every later one restores it
(``harness.run.vmstart``), so N repeats cost one boot. Layout::

    runs/<cell-id>/<run-id>/   one ordinary run directory per repeat (``harness analyze`` and ``compare`` take it)
    runs/<cell-id>/summary.json  the verdict over the repeats (``harness.regress.flaky``) and how each VM started
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ExitCode, UsageError
from harness.regress.flaky import FlakySummary, Repeat, summarise
from harness.report.results import RunResult
from harness.run.pipeline import RunOutcome, execute
from harness.run.request import RunRequest
from harness.steps import note, step

SUMMARY = "summary.json"
#: More repeats than this is a typo, not a plan (each one is a whole run).
MAX_REPEATS = 100


@dataclass
class RepeatOutcome:
    cell: Path
    runs: list[RunOutcome]
    summary: FlakySummary

    @property
    def exit_code(self) -> ExitCode:
        return self.summary.exit_code


def check_label(verdict: Any) -> str:
    """One check across repeats: its workload, invariant, observable and phase."""
    workload = f"{verdict.workload}: " if verdict.workload else ""
    return f"{workload}{verdict.invariant} {verdict.name}@{verdict.phase}"


def as_repeat(result: RunResult) -> Repeat:
    checks = {check_label(v): v.status.value for v in result.verdicts}
    return Repeat(result.outcome, checks, result.crash.title if result.crash else None)


def execute_repeats(request: RunRequest, repeat: int) -> RepeatOutcome:
    if not 1 <= repeat <= MAX_REPEATS:
        raise UsageError(f"--repeat {repeat}: must be 1 to {MAX_REPEATS}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    cell = Path(request.runs_root) / f"{stamp}-{request.guest}-{request.arch}-x{repeat}-{secrets.token_hex(2)}"
    cell.mkdir(parents=True)
    outcomes: list[RunOutcome] = []
    for index in range(1, repeat + 1):
        with step("repeat", index=index, of=repeat):
            outcomes.append(execute(dataclasses.replace(request, runs_root=cell)))
    summary = summarise([as_repeat(o.result) for o in outcomes])
    write_summary(cell, outcomes, summary)
    note("repeat", summary.describe(), verdict=summary.verdict.value)
    return RepeatOutcome(cell, outcomes, summary)


def write_summary(cell: Path, outcomes: list[RunOutcome], summary: FlakySummary) -> Path:
    data = {
        "verdict": summary.verdict.value,
        "exit_code": int(summary.exit_code),
        "describe": summary.describe(),
        "repeats": [
            {
                "run_dir": o.run.path.name,
                "outcome": o.result.outcome,
                "vm_start": o.result.metadata.get("vm_start"),
            }
            for o in outcomes
        ],
        "checks": [dataclasses.asdict(c) | {"verdict": c.verdict.value} for c in summary.checks],
        "crashed": summary.crashed,
        "errored": summary.errored,
    }
    path = cell / SUMMARY
    tmp = path.with_name(SUMMARY + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
