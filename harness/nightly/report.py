"""The night's reports: nightly.json, one merged junit.xml (a testsuite per cell) and report.html (the matrix as
a grid, links to each cell's report, what changed since the last night, trends). Self-contained: inline CSS, no
script, no external URL; jinja2 with autoescape, so nothing a guest printed becomes markup.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from harness.nightly.merge import STATUSES, CellOutcome
from harness.util.files import atomic_write_text

if TYPE_CHECKING:
    from harness.nightly.job import NightResult

NIGHTLY_JSON = "nightly.json"
JUNIT_XML = "junit.xml"
REPORT_HTML = "report.html"
SCHEMA_VERSION = 1
#: Characters XML 1.0 cannot carry (guest consoles print them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _write(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _entry(entry: Any) -> dict[str, Any] | None:
    return entry.to_json() if entry is not None else None


def cell_json(cell: CellOutcome) -> dict[str, Any]:
    return {
        "cell": cell.cell,
        "axes": cell.axes,
        "status": cell.status,
        "verdict": cell.summary.verdict.value,
        "describe": cell.summary.describe(),
        "repeats": [
            {
                "repeat": r.repeat,
                "outcome": r.outcome,
                "exit_code": r.exit_code,
                "run_dir": r.run_dir,
                "message": r.message,
                "worker": r.worker,
                "attempts": r.attempts,
                "seconds": r.seconds,
                "crash_title": r.crash_title,
            }
            for r in cell.repeats
        ],
        "checks": [
            {
                "check": line.check,
                "verdict": line.verdict,
                "failed": line.failed,
                "judged": line.judged,
                "fail_rate": round(line.rate, 4),
                "known": _entry(line.known),
                "expired": _entry(line.expired),
            }
            for line in cell.checks
        ],
        "known_passing": [e.to_json() for e in cell.known_passing],
    }


def night_json(result: NightResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "night": result.night,
        "started": result.started,
        "finished": result.finished,
        "exit_code": result.exit_code,
        "counts": result.counts(),
        "cells": [cell_json(c) for c in result.cells],
        "known": [e.to_json() for e in result.known],
        "changes": [_life(life) for life in result.lifecycle if life.state in ("new", "fixed")],
        "history": [_life(life) for life in result.lifecycle if life.state != "passing"],
    }


def _life(life: Any) -> dict[str, Any]:
    return {
        "cell": life.cell,
        "check": life.check,
        "state": life.state,
        "describe": life.describe(),
        "since": life.since,
        "rate": life.rate,
        "trend": list(life.trend),
    }


# --- junit.xml -----------------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def junit(result: NightResult) -> ET.Element:
    root = ET.Element("testsuites", name=f"harness.nightly.{_clean(result.night)}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for cell in result.cells:
        suite = ET.SubElement(root, "testsuite", name=cell.cell, tests="0", failures="0", errors="0", skipped="0")
        suite.set("time", str(round(sum(r.seconds for r in cell.repeats), 1)))
        suite.set("timestamp", result.started[:19])
        suite.set("hostname", "nightly")
        props = ET.SubElement(suite, "properties")
        for key in ("guest", "release", "arch", "kernel", "workload"):
            ET.SubElement(props, "property", name=key, value=_clean(str(cell.axes.get(key) or "")))
        ET.SubElement(props, "property", name="status", value=cell.status)
        ET.SubElement(props, "property", name="verdict", value=_clean(cell.summary.describe()))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for line in cell.checks:
            case = ET.SubElement(suite, "testcase", name=_clean(line.check), classname=f"nightly.{cell.cell}", time="0")
            counts["tests"] += 1
            rate = f"failed {line.failed}/{line.judged} repeat(s) ({line.rate:.0%})"
            if line.known is not None:
                ET.SubElement(case, "skipped", message=_clean(f"known failure: {line.known.reason} ({rate})"))
                counts["skipped"] += 1
            elif line.check == "crash" and line.verdict == "crash":
                titles = "; ".join(r.crash_title or "" for r in cell.repeats if r.crash_title)
                ET.SubElement(case, "error", message=_clean(titles[:500]), type="GuestCrashed").text = _clean(rate)
                counts["errors"] += 1
            elif line.verdict == "fail":
                ET.SubElement(case, "failure", message=_clean(rate), type="CheckFailed")
                counts["failures"] += 1
            elif line.verdict == "inconclusive":
                ET.SubElement(case, "skipped", message="not judged in any repeat")
                counts["skipped"] += 1
            elif line.verdict == "flaky":
                ET.SubElement(case, "system-out").text = _clean(f"flaky: {rate}")
        if cell.status == "error":
            case = ET.SubElement(suite, "testcase", name="infrastructure", classname=f"nightly.{cell.cell}", time="0")
            message = "; ".join(r.message for r in cell.repeats if r.message)[:500]
            ET.SubElement(case, "error", message=_clean(message), type="InfraError")
            counts["tests"] += 1
            counts["errors"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    return root


# --- report.html ---------------------------------------------------------------------------------------------


def _safe_link(url: str) -> str | None:
    return url if re.match(r"^https?://[^\s\"'<>]+$", url) else None


def _grid(cells: list[CellOutcome]) -> tuple[list[str], list[tuple[str, dict[str, CellOutcome]]]]:
    columns: list[str] = []
    rows: dict[str, dict[str, CellOutcome]] = {}
    for cell in cells:
        a = cell.axes
        row = " ".join(str(a.get(k)) for k in ("guest", "release", "arch", "kernel") if a.get(k))
        column = str(a.get("workload"))
        if column not in columns:
            columns.append(column)
        rows.setdefault(row, {})[column] = cell
    return columns, list(rows.items())


def render(result: NightResult, nights: list[dict[str, Any]], trends: dict[str, list[str]]) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.nightly", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["safe_link"] = _safe_link
    columns, rows = _grid(result.cells)
    return env.get_template("nightly.html.j2").render(
        r=result,
        counts=result.counts(),
        statuses=STATUSES,
        columns=columns,
        rows=rows,
        changes=[life for life in result.lifecycle if life.state in ("new", "fixed")],
        lifecycle=[life for life in result.lifecycle if life.state != "passing"],
        trends=trends,
        nights=nights,
    )


def write_all(
    result: NightResult, out: Path, nights: list[dict[str, Any]], trends: dict[str, list[str]]
) -> dict[str, Path]:
    paths = {"json": out / NIGHTLY_JSON, "junit": out / JUNIT_XML, "html": out / REPORT_HTML}
    _write(paths["json"], json.dumps(night_json(result), indent=2) + "\n")
    root = junit(result)
    ET.indent(root)
    _write(paths["junit"], ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
    _write(paths["html"], render(result, nights, trends))
    return paths
