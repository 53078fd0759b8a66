"""The human output of ``harness compare``: one verdict line, a short rich table (most important first), what
differs in metadata."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.regress.compare import Change, Comparison, Kind

STYLES = {
    Kind.NEW_CRASH: "bold magenta",
    Kind.REGRESSION: "bold red",
    Kind.FIX: "green",
    Kind.CRASH_GONE: "green",
    Kind.STILL_CRASHING: "magenta",
    Kind.STILL_FAILING: "red",
    Kind.MOVED: "yellow",
}
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
        f"[{style}]{comparison.verdict}[/] (exit {int(comparison.exit_code)}): "
        f"A {comparison.a_outcome or '?'} → B {comparison.b_outcome or '?'}"
    )
    counts = ", ".join(f"{n} {kind}" for kind, n in comparison.counts().items())
    console.print(f"{counts + ', ' if counts else ''}{comparison.unchanged} unchanged")
    for change in comparison.changes:
        if change.kind in (Kind.NEW_CRASH, Kind.CRASH_GONE, Kind.STILL_CRASHING):
            side = "A" if change.kind is Kind.CRASH_GONE else "B"
            console.print(f"[{STYLES[change.kind]}]{change.kind.value}[/] ({side}): {escape(change.detail)}")
    shown = comparison.changes[:rows]
    if shown:
        table = Table(show_lines=False)
        for column in ("change", "check", "A", "B", "Δ", "expected"):
            table.add_column(column)
        for change in shown:
            table.add_row(
                f"[{STYLES.get(change.kind, '')}]{change.kind.value}[/]",
                escape(change.what),
                escape(_value(change.a_status, change.a_observed, change.unit)),
                escape(_value(change.b_status, change.b_observed, change.unit)),
                _delta(change),
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
    console.print(f"A: {comparison.a}\nB: {comparison.b}")
