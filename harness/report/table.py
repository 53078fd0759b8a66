"""The summary table printed at the end of `harness run` and `harness analyze` (rich)."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.model.prediction import number
from harness.report.results import RunResult

STYLES = {"pass": "green", "fail": "bold red", "inconclusive": "yellow"}


def print_summary(result: RunResult, run_dir: Path, reports: dict[str, Path]) -> None:
    # Wide enough for check names when the output is a file or a CI log rather than a terminal.
    console = Console(stderr=False, width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"run {result.run_id}: {result.outcome} (exit {int(result.exit_code)})", show_lines=False)
    for column in ("verdict", "invariant", "check", "expected", "observed"):
        table.add_column(column)
    for v in result.verdicts:
        observed = "—" if v.observed is None else f"{number(v.observed)} {v.unit}"
        table.add_row(
            f"[{STYLES[v.status.value]}]{v.status.value}[/]",
            v.invariant,
            f"{v.name}@{v.phase}" + (f" ({v.workload})" if v.workload else ""),
            f"{v.expected} {v.unit}",
            observed,
        )
    if result.verdicts:
        console.print(table)
    else:
        console.print(f"run {result.run_id}: {result.outcome} (exit {int(result.exit_code)}), no checks were judged")
    if result.metadata.get("model"):
        overrides = " ".join(f"{k}={v}" for k, v in result.metadata["model"].items())
        console.print(f"model overrides: {overrides}", markup=False)
    counts = result.counts()
    console.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['inconclusive']} inconclusive")
    if result.crash:
        where = f" during {result.crash.workload}" if result.crash.workload else ""
        console.print(f"[bold magenta]guest kernel crashed{where}: {result.crash.title}[/]")
    if result.error:
        console.print(f"[yellow]error: {result.error}[/]")
    start = result.metadata.get("vm_start")
    if isinstance(start, dict) and start.get("how") in ("boot", "restore"):
        how = "booted cold" if start["how"] == "boot" else f"restored from snapshot {start.get('snapshot')}"
        console.print(f"VM {how} in {start.get('seconds')} s (QEMU start to SSH ready)", markup=False)
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"run directory: {run_dir}")
    console.print(f"report: {reports['html']}  (also {reports['json'].name}, {reports['junit'].name})")
