"""Write every report of a run into its directory: results.json, junit.xml, report.html."""

from __future__ import annotations

from pathlib import Path

from harness.report import html, junit
from harness.report.results import RunResult, write_json

RESULTS_JSON = "results.json"
JUNIT_XML = "junit.xml"
REPORT_HTML = "report.html"


def write_all(result: RunResult, run_dir: Path) -> dict[str, Path]:
    paths = {"json": run_dir / RESULTS_JSON, "junit": run_dir / JUNIT_XML, "html": run_dir / REPORT_HTML}
    write_json(result, paths["json"])
    junit.write(result, paths["junit"])
    html.write(result, paths["html"])
    return paths
