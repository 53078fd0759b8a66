"""Write every report of a run into its directory: results.json, junit.xml, report.html.

All three are rendered first, then written beside the old ones and renamed into place together: a report that
cannot be rendered (or a disk that fills up) leaves the previous set whole, never new results next to a stale
page.
"""

from __future__ import annotations

from pathlib import Path

from harness.report import html, junit
from harness.report.results import RunResult, render_json
from harness.util.files import atomic_write_all

RESULTS_JSON = "results.json"
JUNIT_XML = "junit.xml"
REPORT_HTML = "report.html"


def write_all(result: RunResult, run_dir: Path) -> dict[str, Path]:
    paths = {"json": run_dir / RESULTS_JSON, "junit": run_dir / JUNIT_XML, "html": run_dir / REPORT_HTML}
    rendered = [
        (paths["json"], render_json(result).encode("utf-8")),
        (paths["junit"], junit.render(result)),
        (paths["html"], html.render(result).encode("utf-8", "replace")),
    ]
    atomic_write_all(rendered)
    return paths
