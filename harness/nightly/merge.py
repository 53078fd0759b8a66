"""Cell run directories → one verdict per cell (the flaky-aware rule of :mod:`harness.regress.flaky` over its
repeats) → known failures applied → the status the grid shows.

Run directories are untrusted (they come from workers and CI jobs): results.json and metadata.json are read
bounded, their fields type-checked; a directory that cannot be read is that repeat's infrastructure error.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.nightly.known import CRASH, KnownEntry, KnownList
from harness.nightly.matrix import STOCK, cell_id
from harness.regress.flaky import CellVerdict, FlakySummary, Repeat, summarise

MAX_JSON_BYTES = 32 << 20
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$")
#: Grid statuses, worst first (the order a reader must act on).
STATUSES = ("crash", "fail", "error", "known", "flaky", "inconclusive", "pass")


@dataclass(frozen=True)
class RepeatRecord:
    repeat: int
    exit_code: int
    outcome: str
    run_dir: str | None = None
    message: str = ""
    worker: str = ""
    attempts: int = 1
    seconds: float = 0.0
    checks: dict[str, str] = field(default_factory=dict)
    crash_title: str | None = None

    def as_repeat(self) -> Repeat:
        return Repeat(self.outcome, self.checks, self.crash_title)


@dataclass(frozen=True)
class CheckLine:
    check: str
    verdict: str
    failed: int
    judged: int
    known: KnownEntry | None = None
    expired: KnownEntry | None = None

    @property
    def rate(self) -> float:
        return self.failed / self.judged if self.judged else 0.0

    @property
    def failing(self) -> bool:
        return self.verdict in ("fail", "crash")

    @property
    def unexplained(self) -> bool:
        return self.failing and self.known is None


@dataclass
class CellOutcome:
    cell: str
    axes: dict[str, Any]
    repeats: list[RepeatRecord]
    summary: FlakySummary
    checks: list[CheckLine]
    status: str
    known_passing: list[KnownEntry] = field(default_factory=list)

    @property
    def crashed_unexplained(self) -> bool:
        return any(c.check == CRASH and c.unexplained for c in self.checks)


def _read_json(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        data = handle.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"{path.name} larger than {MAX_JSON_BYTES} bytes")
    value = json.loads(data.decode("utf-8", errors="replace"))
    if not isinstance(value, dict):
        raise ValueError(f"{path.name} is not a JSON object")
    return value


def read_repeat(
    directory: Path, repeat: int, exit_code: int | None = None, *, message: str = "", **extra: Any
) -> RepeatRecord:
    """One repeat from its run directory's results.json; unreadable → an infrastructure error of that repeat
    (``message``: how the cell ended, kept when the run itself names no error)."""
    try:
        data = _read_json(directory / "results.json")
        outcome = data.get("outcome")
        if outcome not in ("passed", "failed", "crashed", "error"):
            raise ValueError(f"outcome {str(outcome)[:40]!r}")
        checks: dict[str, str] = {}
        for verdict in data.get("verdicts") or []:
            if isinstance(verdict, dict) and isinstance(verdict.get("check"), str):
                status = verdict.get("status")
                checks[verdict["check"][:300]] = (
                    status if status in ("pass", "fail", "inconclusive") else "inconclusive"
                )
        crash = data.get("crash")
        title = str(crash.get("title"))[:300] if isinstance(crash, dict) and crash.get("title") else None
        said = str(data.get("error") or "")[:300] or message
        code = int(data.get("exit_code", 2)) if exit_code is None else exit_code
        return RepeatRecord(repeat, code, outcome, message=said, checks=checks, crash_title=title, **extra)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        said = f"results.json unreadable: {exc}"[:200] + (f"; {message}" if message else "")
        return RepeatRecord(repeat, 2, "error", message=said[:300], **extra)


def _check_lines(cell: str, summary: FlakySummary, known: KnownList) -> list[CheckLine]:
    lines: list[CheckLine] = []
    if summary.crashed:
        lines.append(
            CheckLine(
                CRASH,
                "crash",
                summary.crashed,
                summary.repeats,
                known.excuse(cell, CRASH),
                known.expired_for(cell, CRASH),
            )
        )
    for tally in summary.checks:
        verdict = tally.verdict.value
        failing = tally.verdict in (CellVerdict.FAIL, CellVerdict.FLAKY)
        lines.append(
            CheckLine(
                tally.check,
                verdict,
                tally.failed,
                tally.judged,
                known.excuse(cell, tally.check) if failing else None,
                known.expired_for(cell, tally.check) if failing else None,
            )
        )
    return lines


def _known_passing(cell: str, lines: list[CheckLine], summary: FlakySummary, known: KnownList) -> list[KnownEntry]:
    """Unexpired entries naming this cell none of whose checks failed, and which were judged: "fixed? remove the
    entry". A crash entry counts as judged when a repeat ran to its end without crashing."""
    found = []
    for entry in known.entries:
        if entry.expired(known.today) or not fnmatch.fnmatchcase(cell, entry.cell):
            continue
        named = [line for line in lines if entry.matches(cell, line.check)]
        if any(line.verdict in ("fail", "flaky", "crash") for line in named):
            continue
        ran = summary.repeats > summary.errored
        if any(line.verdict == "pass" for line in named) or (entry.check == CRASH and ran):
            found.append(entry)
    return found


def _status(summary: FlakySummary, lines: list[CheckLine]) -> str:
    if any(line.check == CRASH and line.unexplained for line in lines):
        return "crash"
    if any(line.verdict == "fail" and line.unexplained for line in lines):
        return "fail"
    if summary.verdict is CellVerdict.ERROR:
        return "error"
    if any(line.known is not None for line in lines):
        return "known"
    if summary.verdict is CellVerdict.FLAKY:
        return "flaky"
    if summary.verdict is CellVerdict.INCONCLUSIVE:
        return "inconclusive"
    return "pass"


def judge_cell(cell: str, axes: dict[str, Any], repeats: list[RepeatRecord], known: KnownList) -> CellOutcome:
    ordered = sorted(repeats, key=lambda r: r.repeat)
    summary = summarise([r.as_repeat() for r in ordered])
    lines = _check_lines(cell, summary, known)
    return CellOutcome(
        cell, axes, ordered, summary, lines, _status(summary, lines), _known_passing(cell, lines, summary, known)
    )


# --- harness nightly merge: cells from run directories made elsewhere ------------------------------------------


def cell_of_run(run_dir: Path) -> tuple[str, dict[str, Any]]:
    """The cell id and axes of a ``harness run`` directory, from its metadata.json (the run's one typed reader,
    after a size check: the directory may come from anywhere)."""
    from harness.run.rundir import METADATA, RunDir

    try:
        size = (run_dir / METADATA).stat().st_size
    except OSError:
        raise UsageError(
            f"{run_dir} is not a run directory (no {METADATA})", hint="pass dirs harness run made"
        ) from None
    if size > MAX_JSON_BYTES:
        raise UsageError(f"{run_dir}/{METADATA} is larger than {MAX_JSON_BYTES} bytes", hint="pass run directories")
    meta = RunDir.open(run_dir).metadata()
    release = meta.release.removesuffix("-RELEASE") if meta.release else None
    kernel = meta.patch or (Path(meta.kernel).name if meta.kernel else STOCK)
    names = [entry.name for entry in meta.workloads]
    workload = "+".join(names) or "none"
    cell = cell_id(meta.guest, release, meta.arch, kernel, workload)
    if not _SAFE_ID.match(cell):
        raise UsageError(f"{run_dir}: cell name {cell[:80]!r} is not a plain name", hint="check its metadata.json")
    axes = {
        "cell": cell,
        "guest": meta.guest,
        "release": release,
        "arch": meta.arch,
        "kernel": kernel,
        "workload": workload,
        "params": {entry.name: dict(entry.params) for entry in meta.workloads},
        "model": dict(meta.model),
    }
    return cell, axes
