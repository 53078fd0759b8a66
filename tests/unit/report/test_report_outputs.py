"""Reports: results.json, junit.xml against the shipped XSD, and report.html in headless Chromium."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from harness.model.prediction import Prediction
from harness.report import html, junit, plots
from harness.report.results import Crash, RunResult
from harness.report.write import write_all
from harness.validate.observed import Observations
from harness.validate.verdicts import judge
from tests.support.browser import CHROMIUM, render


def _result(*, crash: Crash | None = None, wrong: bool = False) -> RunResult:
    obs = Observations()
    obs.put("linux.nr_kernel_stack_kib", "before", 1600)
    obs.put("linux.nr_kernel_stack_kib", "plateau", 1600 + 259 * 16)
    obs.put("linux.nr_kernel_stack_kib", "after", 1616)
    obs.series["linux.nr_kernel_stack_kib"] = [(0.0, 1600), (1.0, 3000), (2.0, 5744), (3.0, 1616)]
    per_thread = 8 if wrong else 16
    predictions = [
        Prediction(
            "linux.nr_kernel_stack_kib",
            "LX-2",
            "plateau_delta",
            "KiB",
            "256 threads <b>",
            "t",
            259.0 * per_thread,
            tolerance=64,
        ),
        Prediction("linux.nr_kernel_stack_kib", "LX-3", "delta", "KiB", "stacks freed", "t", 0.0, tolerance=64),
        Prediction("linux.tasks", "LX-1", "after", "tasks", "never observed", "t", low=1),
    ]
    return RunResult(
        run_id="20261127-x",
        guest="linuxtest",
        arch="amd64",
        release=None,
        generation="linux-task",
        workloads=["thread-hold"],
        verdicts=judge(predictions, obs, "thread-hold"),
        series=obs.series,
        crash=crash,
        started="2026-11-27T10:00:00+00:00",
    )


def test_results_json_carries_outcome_counts_and_verdicts(tmp_path: Path) -> None:
    paths = write_all(_result(wrong=True), tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["outcome"] == "failed" and data["exit_code"] == 1
    assert data["counts"] == {"pass": 1, "fail": 1, "inconclusive": 1}
    lx2 = next(v for v in data["verdicts"] if v["invariant"] == "LX-2")
    assert lx2["status"] == "fail" and lx2["observed"] == 259 * 16 and lx2["expected_value"] == 259 * 8


def test_a_crash_wins_over_failures_and_is_named(tmp_path: Path) -> None:
    crash = Crash(title="Kernel panic - not syncing: sysrq triggered crash", workload="thread-hold")
    result = _result(crash=crash, wrong=True)
    assert int(result.exit_code) == 3
    paths = write_all(result, tmp_path)
    assert json.loads(paths["json"].read_text())["crash"]["title"] == crash.title
    assert crash.title in paths["html"].read_text()
    errors = ET.parse(paths["junit"]).getroot().findall(".//error")
    assert [e.get("message") for e in errors] == [crash.title]


@pytest.mark.parametrize("wrong", [False, True])
def test_junit_validates_against_the_shipped_schema(wrong: bool, tmp_path: Path) -> None:
    paths = write_all(_result(wrong=wrong), tmp_path)
    schema = xmlschema.XMLSchema(junit.schema_path())
    schema.validate(paths["junit"])
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "3" and suite.get("failures") == ("1" if wrong else "0")
    assert len(suite.findall("testcase/skipped")) == 1


def test_the_schema_rejects_a_testcase_without_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<testsuites><testsuite name="s" tests="1" failures="0" errors="0" time="0" '
        'timestamp="2026-01-01T00:00:00" hostname="h"><testcase classname="c" time="0"/></testsuite></testsuites>'
    )
    assert not xmlschema.XMLSchema(junit.schema_path()).is_valid(bad)


def test_html_is_self_contained_and_escapes_text() -> None:
    page = html.render(_result())
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script" not in page and "<link" not in page
    assert "256 threads &lt;b&gt;" in page
    assert page.count("<svg") == 2  # checks plot + one time series


def test_check_plot_rows_name_their_workload_and_show_the_numbers() -> None:
    obs = Observations()
    obs.put("linux.nr_kernel_stack_kib", "before", 912)
    before = Prediction("linux.nr_kernel_stack_kib", "LX-1", "before", "KiB", "tasks", "t", 928, tolerance=64)
    verdicts = judge([before], obs, "thread-hold") + judge([before], obs, "thread-churn")
    svg = plots.check_plot(verdicts)
    # The same check in two workloads: without the workload the two rows would read the same.
    assert ">thread-hold: LX-1 linux.nr_kernel_stack_kib@before<" in svg
    assert ">thread-churn: LX-1 linux.nr_kernel_stack_kib@before<" in svg
    # Each row has its own scale, so the values are written out.
    assert svg.count(">observed 912, model = 928 ± 64 KiB<") == 2


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    paths = write_all(_result(crash=Crash(title="panic: x", workload=None), wrong=True), tmp_path)
    done = render(paths["html"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.is_png and done.screenshot.stat().st_size > 10_000  # a real rendering, not a blank page
    assert done.console_errors == []


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_the_console_error_probe_does_see_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>console.error('probe-error')</script></body></html>")
    assert any("probe-error" in line for line in render(page, tmp_path).console_errors)
