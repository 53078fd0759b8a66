"""The summary table printed at the end of `harness run` and `harness analyze` (rich).

Crash titles, workload names, notes, the error and the run-dir path come from the guest or from a stored run
directory: they are data, never markup (a ``[/giant]`` in a panic message must not crash the printer) and never
control sequences (:func:`harness.util.text.printable`). Only the harness's own words carry styles.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.model.prediction import number
from harness.report.results import RunResult
from harness.util.text import one_line

STYLES = {"pass": "green", "fail": "bold red", "inconclusive": "yellow"}


def _plain(text: object, style: str = "") -> Text:
    """Untrusted text as a rich Text: no markup parsed, controls shown escaped, bounded to one line."""
    return Text(one_line(str(text)), style=style)


def print_summary(result: RunResult, run_dir: Path, reports: dict[str, Path]) -> None:
    # Wide enough for check names when the output is a file or a CI log rather than a terminal.
    console = Console(stderr=False, width=None if sys.stdout.isatty() else 160)
    headline = f"run {result.run_id}: {result.outcome} (exit {int(result.exit_code)})"
    table = Table(title=_plain(headline), show_lines=False)
    for column in ("verdict", "invariant", "check", "expected", "observed"):
        table.add_column(column)
    for v in result.verdicts:
        observed = "—" if v.observed is None else f"{number(v.observed)} {v.unit}"
        table.add_row(
            Text(v.status.value, style=STYLES[v.status.value]),
            _plain(v.invariant),
            _plain(f"{v.name}@{v.phase}" + (f" ({v.workload})" if v.workload else "")),
            _plain(f"{v.expected} {v.unit}"),
            _plain(observed),
        )
    if result.verdicts:
        console.print(table)
    else:
        console.print(_plain(f"{headline}, no checks were judged"))
    if result.metadata.get("model"):
        overrides = " ".join(f"{k}={v}" for k, v in result.metadata["model"].items())
        console.print(_plain(f"model overrides: {overrides}"))
    counts = result.counts()
    console.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['inconclusive']} inconclusive")
    if result.crash:
        where = f" during {result.crash.workload}" if result.crash.workload else ""
        console.print(_plain(f"guest kernel crashed{where}: {result.crash.title}", "bold magenta"))
    if result.error:
        console.print(_plain(f"error: {result.error}", "yellow"))
    start = result.metadata.get("vm_start")
    if isinstance(start, dict) and start.get("how") in ("boot", "restore"):
        how = "booted cold" if start["how"] == "boot" else f"restored from snapshot {start.get('snapshot')}"
        console.print(_plain(f"VM {how} in {start.get('seconds')} s (QEMU start to SSH ready)"))
    for note in result.notes:
        console.print(_plain(f"note: {note}"))
    console.print(_plain(f"run directory: {run_dir}"))
    console.print(_plain(f"report: {reports['html']}  (also {reports['json'].name}, {reports['junit'].name})"))
