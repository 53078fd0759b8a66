"""The whole night: run (or merge) every cell, judge each over its repeats, apply known failures, record the
history, write nightly.json, junit.xml and report.html, and say the exit code.

Exit codes: 0 no new failure, 1 a new failure, 2 infrastructure (a cell could not run at all), 3 a new crash.
"New" means not excused by an unexpired known-failure entry; the history says whether it is also new since the
last night (``harness history``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ExitCode, InfraError, UsageError
from harness.nightly import history, known, pack, plan
from harness.nightly.cell import CellResult
from harness.nightly.engine import CellRunner
from harness.nightly.history import DEFAULT_WINDOW
from harness.nightly.matrix import Matrix
from harness.nightly.merge import CellOutcome, RepeatRecord, cell_of_run, judge_cell, read_repeat

CELLS = "cells"


@dataclass
class NightOptions:
    out: Path
    history: Path
    known: Path | None = None
    night: str | None = None
    matrix: str = ""
    window: int = DEFAULT_WINDOW
    today: dt.date | None = None


@dataclass
class NightResult:
    night: str
    cells: list[CellOutcome]
    exit_code: int
    lifecycle: list[history.Lifecycle]
    known: list[known.KnownEntry]
    started: str
    finished: str = ""
    paths: dict[str, Path] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        from harness.nightly.merge import STATUSES

        return {status: sum(1 for c in self.cells if c.status == status) for status in STATUSES}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _fresh_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not empty", hint="give each night a fresh --out directory")
    (out / CELLS).mkdir(parents=True, exist_ok=True)


def _record(out: Path, result: CellResult) -> RepeatRecord:
    extra: dict[str, Any] = {"worker": result.worker, "attempts": result.attempts, "seconds": result.seconds}
    if result.packed is None:
        outcome = "error"
        return RepeatRecord(
            result.repeat, result.exit_code, outcome, message=result.message or "no run directory", **extra
        )
    dest = out / CELLS / result.cell / f"repeat-{result.repeat}"
    try:
        pack.unpack(result.packed, dest)
    except InfraError as exc:
        return RepeatRecord(result.repeat, int(ExitCode.INFRA), "error", message=exc.one_line()[:300], **extra)
    rel = str(dest.relative_to(out))
    return read_repeat(dest, result.repeat, result.exit_code, run_dir=rel, message=result.message, **extra)


def run_night(
    matrix: Matrix, options: NightOptions, runner: CellRunner, kernels: Mapping[str, bytes] | None = None
) -> NightResult:
    """Every cell of ``matrix`` through ``runner`` (Dask, serial, or a test's), then :func:`finish`."""
    entries = known.load(options.known)  # a bad known-failures file is said before any cell runs
    history.check_writable(options.history, options.night)
    _fresh_out(options.out)
    started = _now()
    records: dict[str, list[RepeatRecord]] = {cell.id: [] for cell in matrix.cells}
    done: dict[str, set[int]] = {cell.id: set() for cell in matrix.cells}

    def on_result(result: CellResult) -> None:
        # The cell and repeat come back from a worker: only the night's own, each once, name a directory.
        repeat = result.repeat
        wanted = isinstance(repeat, int) and not isinstance(repeat, bool) and 1 <= repeat <= matrix.repeat
        if wanted and result.cell in records and not result.cancelled and repeat not in done[result.cell]:
            done[result.cell].add(repeat)
            records[result.cell].append(_record(options.out, result))

    runner.run(plan.tasks(matrix), kernels or {}, on_result)
    axes = {cell.id: cell.axes() for cell in matrix.cells}
    return finish(records, axes, options, started, entries)


def merge_dirs(run_dirs: Sequence[Path], options: NightOptions) -> NightResult:
    """``harness nightly merge``: run directories made elsewhere (CI jobs), each copied safely into the output."""
    found = [(d, *cell_of_run(d)) for d in run_dirs]  # every directory checked before anything is written
    entries = known.load(options.known)
    history.check_writable(options.history, options.night)
    _fresh_out(options.out)
    started = _now()
    records: dict[str, list[RepeatRecord]] = {}
    axes: dict[str, dict[str, Any]] = {}
    for run_dir, cell, cell_axes in found:
        repeat = len(records.setdefault(cell, [])) + 1
        axes.setdefault(cell, cell_axes)
        dest = options.out / CELLS / cell / f"repeat-{repeat}"
        pack.unpack(pack.pack(run_dir), dest)
        records[cell].append(read_repeat(dest, repeat, run_dir=str(dest.relative_to(options.out))))
    for cell in axes:
        axes[cell]["repeats"] = len(records[cell])
    return finish(records, axes, options, started, entries)


def night_exit(cells: Sequence[CellOutcome], failing_before: Set[tuple[str, str]] = frozenset()) -> int:
    """3 a new crash, 1 a new failure, 2 a cell that could not run, else 0. New: not failing (unexcused) in the
    last night that ran the same cell and check (``history.failing_last_time``); a check still failing since an
    earlier night is reported by the history and the report, not by the exit code."""
    if any(c.crashed_unexplained and (c.cell, known.CRASH) not in failing_before for c in cells):
        return int(ExitCode.KERNEL_CRASH)
    if any(
        line.verdict == "fail" and line.unexplained and (c.cell, line.check) not in failing_before
        for c in cells
        for line in c.checks
    ):
        return int(ExitCode.CHECK_FAILED)
    if any(c.status == "error" for c in cells):
        return int(ExitCode.INFRA)
    return int(ExitCode.OK)


def history_rows(cells: Sequence[CellOutcome]) -> list[history.Row]:
    rows = []
    for cell in cells:
        for line in cell.checks:
            rows.append(history.Row(cell.cell, line.check, line.verdict, round(line.rate, 4), line.known is not None))
        if cell.status == "error":
            rows.append(history.Row(cell.cell, "infrastructure", "error"))
    return rows


def finish(
    records: dict[str, list[RepeatRecord]],
    axes: dict[str, dict[str, Any]],
    options: NightOptions,
    started: str,
    entries: list[known.KnownEntry],
) -> NightResult:
    from harness.nightly import report

    today = options.today or dt.datetime.now(dt.UTC).date()
    known_list = known.KnownList(tuple(entries), today)
    cells = [
        judge_cell(
            cell, axes[cell], repeats or [RepeatRecord(1, 2, "error", message="no result came back")], known_list
        )
        for cell, repeats in records.items()
    ]
    night = options.night or dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    pairs = [(c.cell, line.check) for c in cells for line in c.checks]
    exit_code = night_exit(cells, history.failing_last_time(options.history, pairs))
    history.record(
        options.history,
        night,
        started,
        history_rows(cells),
        matrix=options.matrix,
        out_dir=str(options.out.resolve()),
        exit_code=exit_code,
    )
    result = NightResult(night, cells, exit_code, history.lifecycle(options.history, options.window), entries, started)
    result.finished = _now()
    recent = history.nights(options.history, options.window)
    trends = history.cell_trends(options.history, options.window)
    result.paths = report.write_all(result, options.out, recent, trends)
    return result


def remove_partial(out: Path) -> None:
    """After Ctrl-C: the cells that came back are kept for inspection, half-unpacked ones removed, and the
    directory marked (the night is not in the history)."""
    if not out.is_dir():
        return
    for partial in (out / CELLS).glob("*/*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
    (out / "INTERRUPTED").write_text("this night was interrupted; it is not in the history\n", encoding="utf-8")
