"""The night end to end without a VM: stored Linux-guest run directories replayed through the real analysis
(tests/support/nightly.py), merged, judged over repeats, checked against known failures, recorded in the SQLite
history and reported (nightly.json, junit.xml against the shipped XSD, report.html in headless Chromium)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from harness.cli.main import main
from harness.errors import InfraError
from harness.nightly import history, job, matrix
from harness.nightly.plan import CellTask
from harness.report import junit as run_junit
from tests.support.browser import CHROMIUM, render
from tests.support.nightly import ReplayRunner, write_matrix

REGRESSED = "linuxtest-amd64-stock-thread-hold"
#: An 8 KiB THREAD_SIZE: wrong on both arches (16 KiB), so the held threads' stacks are twice the prediction.
WRONG_MODEL = f'\n[model]\n"{REGRESSED}" = {{ thread_size_kib = 8 }}\n'
KNOWN = f"""
[[known]]
cell = "{REGRESSED}"
check = "*"
reason = "THREAD_SIZE <8 KiB> on this host's <b>config</b>"
link = "https://example.org/bug/1"
"""


def _night(tmp: Path, name: str, matrix_file: Path, runner: Any = None, **kw: Any) -> job.NightResult:
    options = job.NightOptions(out=tmp / name, history=tmp / "history.sqlite", night=name, **kw)
    if "known" not in kw:
        from harness.nightly import known

        options.known = known.default_path(matrix_file)
    return job.run_night(matrix.load(matrix_file), options, runner or ReplayRunner())


def _history(capsys: pytest.CaptureFixture[str], db: Path) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["history", "--history", str(db), "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def _states(data: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(c["cell"], c["check"]): c["state"] for c in data["checks"]}


def test_three_nights_regression_new_then_fixed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_matrix(tmp_path / "good")
    bad = write_matrix(tmp_path / "bad", WRONG_MODEL)
    one = _night(tmp_path, "n1", good)
    assert one.exit_code == 0 and {c.status for c in one.cells} == {"pass"}
    assert len(one.cells) == 4

    two = _night(tmp_path, "n2", bad)
    assert two.exit_code == 1
    statuses = {c.cell: c.status for c in two.cells}
    assert statuses.pop(REGRESSED) == "fail" and set(statuses.values()) == {"pass"}
    states = _states(_history(capsys, tmp_path / "history.sqlite"))
    new = [check for (cell, check), state in states.items() if state == "new"]
    assert new and all(cell == REGRESSED for (cell, _), state in states.items() if state == "new")
    assert any("LX-2" in check for check in new)
    # What changed since the last nightly is in the night's own report too.
    data = json.loads((tmp_path / "n2" / "nightly.json").read_text())
    assert {c["state"] for c in data["changes"]} == {"new"} and data["exit_code"] == 1

    three = _night(tmp_path, "n3", good)
    assert three.exit_code == 0
    after = _history(capsys, tmp_path / "history.sqlite")
    fixed = {key for key, state in _states(after).items() if state == "fixed"}
    assert fixed == {(REGRESSED, check) for check in new}
    entry = next(c for c in after["checks"] if c["state"] == "fixed")
    assert entry["since"] == "n3" and entry["trend"] == ["pass", "fail", "pass"]
    assert [n["night"] for n in after["nights"]] == ["n1", "n2", "n3"]


def test_a_failure_still_failing_since_last_night_is_reported_but_only_a_new_one_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_matrix(tmp_path / "bad", WRONG_MODEL)
    assert _night(tmp_path, "n1", bad).exit_code == 1
    again = _night(tmp_path, "n2", bad)
    assert again.exit_code == 0
    assert next(c for c in again.cells if c.cell == REGRESSED).status == "fail"
    states = _states(_history(capsys, tmp_path / "history.sqlite"))
    still = {check for (cell, check), state in states.items() if state == "still failing"}
    assert still and all(cell == REGRESSED for (cell, _), state in states.items() if state == "still failing")
    assert "new" not in states.values()


def test_a_known_failure_does_not_fail_the_night_and_is_marked(tmp_path: Path) -> None:
    bad = write_matrix(tmp_path / "bad", WRONG_MODEL)
    (bad.parent / "known-failures.toml").write_text(KNOWN, encoding="utf-8")
    two = _night(tmp_path, "n2", bad)
    assert two.exit_code == 0
    cell = next(c for c in two.cells if c.cell == REGRESSED)
    assert cell.status == "known" and cell.summary.verdict.value == "fail"
    page = (tmp_path / "n2" / "report.html").read_text()
    assert "known: " in page and "THREAD_SIZE &lt;8 KiB&gt; on this host&#39;s &lt;b&gt;config&lt;/b&gt;" in page
    assert 'href="https://example.org/bug/1"' in page
    suite = next(s for s in _junit(tmp_path / "n2") if s.get("name") == REGRESSED)
    assert suite.findall("testcase/skipped") and not suite.findall("testcase/failure")
    # The same entry on a night where the cell passes: flagged, not silently kept.
    good = write_matrix(tmp_path / "good")
    shutil.copy(bad.parent / "known-failures.toml", good.parent / "known-failures.toml")
    three = _night(tmp_path, "n3", good)
    passing = next(c for c in three.cells if c.cell == REGRESSED)
    assert passing.status == "pass" and passing.known_passing
    assert "fixed? remove the entry" in (tmp_path / "n3" / "report.html").read_text()


def test_an_expired_known_failure_fails_again(tmp_path: Path) -> None:
    bad = write_matrix(tmp_path / "bad", WRONG_MODEL)
    (bad.parent / "known-failures.toml").write_text(KNOWN + "expires = 2026-01-31\n", encoding="utf-8")
    night = _night(tmp_path, "n2", bad, today=dt.date(2026, 2, 1))
    assert night.exit_code == 1
    cell = next(c for c in night.cells if c.cell == REGRESSED)
    assert cell.status == "fail" and any(line.expired for line in cell.checks)
    assert "expired 2026-01-31: fails again" in (tmp_path / "n2" / "report.html").read_text()


def test_repeats_give_a_flaky_verdict_with_its_rate(tmp_path: Path) -> None:
    repeated = write_matrix(tmp_path / "m", "").read_text().replace("[matrix]", "[matrix]\nrepeat = 3")
    path = tmp_path / "m" / "nightly.toml"
    path.write_text(repeated)

    def second_repeat_wrong(task: CellTask) -> dict[str, Any]:
        return {"thread_size_kib": 8} if task.cell == REGRESSED and task.repeat == 2 else {}

    night = _night(tmp_path, "n1", path, ReplayRunner(tweak=second_repeat_wrong))
    assert night.exit_code == 0  # flakiness is reported, not fatal
    cell = next(c for c in night.cells if c.cell == REGRESSED)
    assert cell.status == "flaky" and len(cell.repeats) == 3
    flaky = [line for line in cell.checks if line.verdict == "flaky"]
    assert flaky and all(line.failed == 1 and line.judged == 3 for line in flaky)
    assert "33%" in cell.summary.describe()
    data = json.loads((tmp_path / "n1" / "nightly.json").read_text())
    rates = [c["fail_rate"] for x in data["cells"] if x["cell"] == REGRESSED for c in x["checks"]]
    assert 0.3333 in rates


def test_a_lost_cell_is_an_infrastructure_error_and_others_complete(tmp_path: Path) -> None:
    path = write_matrix(tmp_path / "m")
    night = _night(tmp_path, "n1", path, ReplayRunner(lost=frozenset({f"{REGRESSED}#1"})))
    assert night.exit_code == 2
    statuses = {c.cell: c.status for c in night.cells}
    assert statuses.pop(REGRESSED) == "error" and set(statuses.values()) == {"pass"}
    infra = next(s for s in _junit(tmp_path / "n1") if s.get("name") == REGRESSED)
    assert [e.get("type") for e in infra.findall("testcase/error")] == ["InfraError"]


def test_a_crashed_cell_makes_the_night_exit_3_unless_known(tmp_path: Path) -> None:
    crashed = frozenset({"linuxtest-arm64-stock-thread-churn#1"})
    path = write_matrix(tmp_path / "m")
    night = _night(tmp_path, "n1", path, ReplayRunner(crashed=crashed))
    assert night.exit_code == 3
    statuses = {c.cell: c.status for c in night.cells}
    assert statuses.pop("linuxtest-arm64-stock-thread-churn") == "crash" and set(statuses.values()) == {"pass"}
    suite = next(s for s in _junit(tmp_path / "n1") if s.get("name") == "linuxtest-arm64-stock-thread-churn")
    errors = suite.findall("testcase/error")
    assert [(e.get("type"), e.get("message")) for e in errors] == [
        ("GuestCrashed", "Kernel panic - not syncing: sysrq triggered crash")
    ]
    (path.parent / "known-failures.toml").write_text(
        '[[known]]\ncell = "linuxtest-arm64-*"\ncheck = "crash"\nreason = "sysrq crash on arm64"\n'
    )
    again = _night(tmp_path, "n2", path, ReplayRunner(crashed=crashed))
    assert again.exit_code == 0
    assert {c.cell: c.status for c in again.cells}["linuxtest-arm64-stock-thread-churn"] == "known"


def test_an_infrastructure_error_in_a_run_is_said_and_exits_2(tmp_path: Path) -> None:
    errored = frozenset({"linuxtest-amd64-stock-thread-churn#1"})
    night = _night(tmp_path, "n1", write_matrix(tmp_path / "m"), ReplayRunner(errored=errored))
    assert night.exit_code == 2
    cell = next(c for c in night.cells if c.cell == "linuxtest-amd64-stock-thread-churn")
    assert cell.status == "error" and cell.repeats[0].message == "SSH to the guest was refused (connection reset)"
    assert cell.repeats[0].run_dir == "cells/linuxtest-amd64-stock-thread-churn/repeat-1"


def test_results_naming_other_cells_or_repeats_are_ignored(tmp_path: Path) -> None:
    from harness.nightly.cell import CellResult

    class Hostile(ReplayRunner):
        def run(self, tasks: Any, kernels: Any, on_result: Any) -> None:
            super().run(tasks, kernels, on_result)
            first = self.replay(tasks[0])
            on_result(first)  # the same repeat twice
            on_result(CellResult("../../escape", 1, 0, first.packed))
            on_result(CellResult(tasks[0].cell, 7, 0, first.packed))

    night = _night(tmp_path, "n1", write_matrix(tmp_path / "m"), Hostile())
    assert night.exit_code == 0 and all(len(c.repeats) == 1 for c in night.cells)
    assert sorted(p.name for p in (tmp_path / "n1" / "cells").iterdir()) == sorted(c.cell for c in night.cells)
    assert not (tmp_path / "escape").exists()


def test_history_writes_a_whole_night_or_nothing(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    rows = [history.Row("c", f"check-{i}", "pass") for i in range(50)]
    history.record(db, "n1", "t", rows, matrix="m", out_dir="o", exit_code=0)
    # A row that breaks the primary key halfway: the transaction rolls back, the night is not half-recorded.
    broken = [*rows[:10], rows[0]]
    with pytest.raises(InfraError, match="UNIQUE"):
        history.record(db, "n2", "t", broken, matrix="m", out_dir="o", exit_code=0)

    class Interrupted(list[history.Row]):
        """Ctrl-C while the night's rows are being written (after the night's own row went in)."""

        def __iter__(self) -> Iterator[history.Row]:
            yield from rows[:10]
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        history.record(db, "n3", "t", Interrupted(rows), matrix="m", out_dir="o", exit_code=0)
    assert [n["night"] for n in history.nights(db)] == ["n1"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM results").fetchone() == (50,)


def _junit(out: Path) -> list[Any]:
    import xml.etree.ElementTree as ET

    xmlschema.XMLSchema(run_junit.schema_path()).validate(out / "junit.xml")
    return list(ET.parse(out / "junit.xml").getroot().findall("testsuite"))


def test_merged_junit_has_a_suite_per_cell_and_validates(tmp_path: Path) -> None:
    night = _night(tmp_path, "n1", write_matrix(tmp_path / "m", WRONG_MODEL))
    suites = _junit(tmp_path / "n1")
    assert sorted(s.get("name") for s in suites) == sorted(c.cell for c in night.cells)
    failed = next(s for s in suites if s.get("name") == REGRESSED)
    assert int(failed.get("failures")) >= 1


def test_merge_collects_run_directories_made_elsewhere(tmp_path: Path) -> None:
    made = tmp_path / "made"
    night = _night(tmp_path, "n1", write_matrix(tmp_path / "m"))
    dirs = sorted((tmp_path / "n1" / "cells").glob("*/repeat-1"))
    for i, run_dir in enumerate(dirs):
        shutil.copytree(run_dir, made / f"job{i}" / "run")
    (made / "job0" / "run" / "link").symlink_to("/etc/passwd")  # never followed, never copied
    code = main(
        ["nightly", "merge", "--out", str(tmp_path / "merged"), "--history", str(tmp_path / "h2.sqlite")]
        + [str(p) for p in sorted(made.glob("job*/run"))]
    )
    assert code == 0
    data = json.loads((tmp_path / "merged" / "nightly.json").read_text())
    assert sorted(c["cell"] for c in data["cells"]) == sorted(c.cell for c in night.cells)
    assert not list((tmp_path / "merged").rglob("link"))
    _junit(tmp_path / "merged")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_the_nightly_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    good = write_matrix(tmp_path / "good")
    bad = write_matrix(tmp_path / "bad", WRONG_MODEL)
    _night(tmp_path, "n1", good)
    _night(tmp_path, "n2", bad, runner=ReplayRunner(lost=frozenset({"linuxtest-arm64-stock-thread-churn#1"})))
    page = tmp_path / "n2" / "report.html"
    text = page.read_text()
    assert "<script" not in text and "<link" not in text and "https://" not in text
    assert 'href="cells/linuxtest-amd64-stock-thread-hold/repeat-1/report.html"' in text
    assert (tmp_path / "n2" / "cells/linuxtest-amd64-stock-thread-hold/repeat-1/report.html").is_file()
    done = render(page, tmp_path, height=1400)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.is_png and done.screenshot.stat().st_size > 10_000
    assert done.console_errors == []


def test_lifecycle_states_across_nights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "h.sqlite"
    series = {
        "steady": ["fail", "fail", "fail", "fail", "fail"],
        "flipping": ["pass", "fail", "pass", "fail", "pass"],
        "late": ["pass", "pass", "pass", "pass", "fail"],
        "infra": ["pass", "pass", "pass", "pass", "error"],
        "green": ["pass"] * 5,
    }
    for night in range(5):
        rows = [
            history.Row("cell", check, states[night], 1.0 if states[night] == "fail" else 0.0)
            for check, states in series.items()
        ]
        history.record(db, f"n{night + 1}", "t", rows, matrix="m", out_dir="o", exit_code=0)
    found = {f.check: f for f in history.lifecycle(db, window=5)}
    assert found["steady"].state == "still failing" and found["steady"].since == "n1"
    assert found["flipping"].state == "flaky" and found["flipping"].rate == 0.4
    assert found["late"].state == "new" and found["late"].since == "n5"
    assert found["infra"].state == "error" and found["green"].state == "passing"
    # A window of 2 nights sees only the last two: "steady" has been failing since the first of them.
    assert {f.check: f.since for f in history.lifecycle(db, window=2)}["steady"] == "n4"
    capsys.readouterr()
    assert main(["history", "--history", str(db)]) == 0
    text = capsys.readouterr().out
    assert "still failing since night n1" in text and "flaky: failed 40% over the last 5 night(s)" in text
    assert "green" not in text
