"""The human output of ``harness compare``: one verdict line, a short rich table (most important first), what
differs in metadata."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.regress.bisect import BisectResult
from harness.regress.compare import Change, Comparison, Kind
from harness.util.jsonable import to_jsonable
from harness.util.text import one_line


def escape(text: object, style: str = "") -> Text:
    """Text read from run directories, step output or git: data for rich, never markup or control sequences."""
    return Text(one_line(str(text)), style=style)


STYLES = {
    Kind.NEW_CRASH: "bold magenta",
    Kind.REGRESSION: "bold red",
    Kind.FIX: "green",
    Kind.CRASH_GONE: "green",
    Kind.STILL_CRASHING: "magenta",
    Kind.STILL_FAILING: "red",
    Kind.MOVED: "yellow",
}
MARK_STYLES = {"good": "green", "bad": "bold red", "skip": "yellow", "abort": "magenta"}
#: Rows shown before the table is cut (``--json`` has them all).
DEFAULT_ROWS = 20


def _value(status: str | None, observed: float | None, unit: str) -> str:
    if status is None:
        return "—"
    return status if observed is None else f"{status} {observed:g} {unit}".rstrip()


def _delta(change: Change) -> str:
    if change.delta is None:
        return ""
    tol = f" (tol {change.tolerance:g})" if change.tolerance is not None else ""
    return f"{change.delta:+g}{tol}"


def _expected(change: Change) -> str:
    """B's expectation, and A's when the model expected something else there (a model or parameter change)."""
    if change.kind in (Kind.NEW_CRASH, Kind.CRASH_GONE, Kind.STILL_CRASHING):
        return change.detail
    shown = change.expected or ""
    if change.a_expected is not None and change.a_expected != change.expected:
        shown += f" (A: {change.a_expected})"
    return f"{shown} {change.unit}".strip() if shown else ""


def _fact(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def print_comparison(comparison: Comparison, rows: int = DEFAULT_ROWS) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)
    style = {0: "green", 1: "bold red", 3: "bold magenta"}.get(int(comparison.exit_code), "")
    console.print(
        Text.assemble(
            (comparison.verdict, style),
            escape(
                f" (exit {int(comparison.exit_code)}): "
                f"A {comparison.a_outcome or '?'} → B {comparison.b_outcome or '?'}"
            ),
        )
    )
    if comparison.b_error is not None:
        console.print(escape(f"B's error: {comparison.b_error}", "yellow"))
    counts = ", ".join(f"{n} {kind}" for kind, n in comparison.counts().items())
    console.print(f"{counts + ', ' if counts else ''}{comparison.unchanged} unchanged")
    for change in comparison.changes:
        if change.kind in (Kind.NEW_CRASH, Kind.CRASH_GONE, Kind.STILL_CRASHING):
            side = "A" if change.kind is Kind.CRASH_GONE else "B"
            console.print(
                Text.assemble((change.kind.value, STYLES[change.kind]), escape(f" ({side}): {change.detail}"))
            )
    shown = comparison.changes[:rows]
    if shown:
        table = Table(show_lines=False)
        for column in ("change", "check", "A", "B", "Δ", "expected"):
            table.add_column(column)
        for change in shown:
            table.add_row(
                Text(change.kind.value, style=STYLES.get(change.kind, "")),
                escape(change.what),
                escape(_value(change.a_status, change.a_observed, change.unit)),
                escape(_value(change.b_status, change.b_observed, change.unit)),
                escape(_delta(change)),
                escape(_expected(change)),
            )
        console.print(table)
    if len(comparison.changes) > rows:
        console.print(f"… {len(comparison.changes) - rows} more changes (--rows N, or --json for all)")
    if comparison.facts:
        facts = Table(title="metadata that differs", show_lines=False)
        for column in ("what", "A", "B"):
            facts.add_column(column)
        for diff in comparison.facts:
            facts.add_row(escape(diff.name), escape(_fact(diff.a)), escape(_fact(diff.b)))
        console.print(facts)
    console.print(escape(f"A: {comparison.a}"))
    console.print(escape(f"B: {comparison.b}"))


# --- harness bisect -------------------------------------------------------------------------------------------


def result_json(result: BisectResult) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(result)
    data["exit_code"] = result.exit_code
    return data


def print_bisect(result: BisectResult, log_dir: Path) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)
    if result.steps:
        table = Table(show_lines=False)
        for column in ("step", "revision", "verdict", "summary", "run / output"):
            table.add_column(column)
        for record in result.steps:
            table.add_row(
                str(record.step),
                escape(f"{record.revision[:12]} {record.subject}"[:60]),
                Text(record.mark, style=MARK_STYLES.get(record.mark, "")),
                escape(record.summary),
                escape(record.run_dir or record.output or ""),
            )
        console.print(table)
    if result.status == "found" and result.first_bad:
        console.print(
            Text.assemble(("first bad commit:", "bold red"), escape(f" {result.first_bad} {result.subject or ''}"))
        )
        shown = result.shown_by
        if shown is not None:
            where = shown.run_dir or shown.output or ""
            console.print(escape(f"shown by step {shown.step}: {shown.summary} ({where})"))
        else:
            console.print("no step judged it: it is the --bad revision given (git bisect took it as bad)")
    elif result.status == "ambiguous":
        console.print("[yellow]only skipped commits are left; the first bad commit is one of:[/]")
        for sha in result.candidates:
            console.print(escape(f"  {sha}"))
    console.print(escape(f"bisect log: {log_dir}"))
