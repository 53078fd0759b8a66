"""report.html: one self-contained page (inline CSS and SVG, no script, no external URL)."""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from harness.model.prediction import number
from harness.report import plots, timeline
from harness.report.results import RunResult
from harness.util.files import atomic_write_text


def render(result: RunResult) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["number"] = number
    series = {name: Markup(plots.series_plot(name, points)) for name, points in sorted(result.series.items())}
    return env.get_template("report.html.j2").render(
        r=result,
        counts=result.counts(),
        outcome=result.outcome,
        exit_code=int(result.exit_code),
        check_plot=Markup(plots.check_plot(result.verdicts)) if result.verdicts else None,
        series=series,
        timeline=Markup(timeline.svg(result.timeline)) if result.timeline else None,
    )


def write(result: RunResult, path: Path) -> None:
    atomic_write_text(path, render(result))
