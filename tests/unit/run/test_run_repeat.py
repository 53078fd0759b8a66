"""``run --repeat``: one run directory per repeat under one cell, the flaky-aware verdict (harness.regress.flaky)
in summary.json; the CLI's usage errors; ``harness cache`` on an empty and a filled cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.report.results import Crash, RunResult
from harness.run import repeat as repeat_module
from harness.run.pipeline import RunOutcome
from harness.run.request import RunRequest
from harness.run.rundir import RunDir
from harness.validate.verdicts import Status, Verdict
from harness.vm.snapshot import SnapshotStore
from tests.support.cli import assert_one_line_error, run_harness
from tests.support.snapshots import key, write_snapshot


def _verdict(status: Status) -> Verdict:
    return Verdict("LX-2 plateau", "linux.nr_kernel_stack_kib", "plateau", "LX-2", status, "= 1", 1.0, "KiB", "", "")


def _fake_execute(outcomes: list[tuple[str, Status | None, str | None]], seen: list[RunRequest]) -> Any:
    def execute(request: RunRequest) -> RunOutcome:
        outcome, status, crash = outcomes[len(seen)]
        seen.append(request)
        run = RunDir.create(request.runs_root, f"run{len(seen)}", {"guest": "linuxtest"}, ["harness", "run"])
        result = RunResult(run.run_id, "linuxtest", "amd64", None, None, ["thread-hold"])
        result.verdicts = [_verdict(status)] if status else []
        result.crash = Crash(crash, None) if crash else None
        result.error = "ssh failed" if outcome == "error" else None
        how = "boot" if len(seen) == 1 else "restore"
        result.metadata["vm_start"] = {"how": how, "seconds": 1.0, "snapshot": "abc"}
        assert result.outcome == outcome
        return RunOutcome(run, result, {})

    return execute


def test_repeats_get_a_run_dir_each_and_the_flaky_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[RunRequest] = []
    runs = [("passed", Status.PASS, None), ("failed", Status.FAIL, None), ("passed", Status.PASS, None)]
    monkeypatch.setattr(repeat_module, "execute", _fake_execute(runs, seen))
    request = RunRequest(guest="linuxtest", arch="amd64", workloads=["thread-hold"], runs_root=tmp_path)
    outcome = repeat_module.execute_repeats(request, 3)
    assert outcome.cell.parent == tmp_path and {r.runs_root for r in seen} == {outcome.cell}
    assert sorted(p.name for p in outcome.cell.iterdir()) == ["run1", "run2", "run3", "summary.json"]
    summary = json.loads((outcome.cell / "summary.json").read_text())
    assert summary["verdict"] == "flaky" and summary["exit_code"] == 0
    assert summary["checks"][0]["failed"] == 1 and summary["checks"][0]["passed"] == 2
    assert [r["vm_start"]["how"] for r in summary["repeats"]] == ["boot", "restore", "restore"]


def test_a_crash_in_any_repeat_is_the_cells_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = [("passed", Status.PASS, None), ("crashed", None, "panic: stack overflow")]
    monkeypatch.setattr(repeat_module, "execute", _fake_execute(runs, []))
    request = RunRequest(guest="linuxtest", arch="amd64", workloads=["thread-hold"], runs_root=tmp_path)
    outcome = repeat_module.execute_repeats(request, 2)
    assert outcome.summary.verdict.value == "crash" and int(outcome.exit_code) == 3


def test_repeat_count_is_bounded(tmp_path: Path) -> None:
    request = RunRequest(guest="linuxtest", arch="amd64", workloads=[], runs_root=tmp_path)
    with pytest.raises(Exception, match="--repeat 0"):
        repeat_module.execute_repeats(request, 0)


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [
        (["--repeat", "0"], "--repeat 0"),
        (["--repeat", "101"], "--repeat 101"),
        (["--repeat", "2", "--keep-vm"], "--keep-vm"),
    ],
)
def test_run_refuses_bad_repeats_in_one_line(tmp_path: Path, argv: list[str], mentions: str) -> None:
    result = run_harness(["run", "--guest", "linuxtest", *argv, "--runs-dir", str(tmp_path / "runs")], cwd=tmp_path)
    assert_one_line_error(result, 2, mentions=mentions)
    assert not (tmp_path / "runs").exists()


def test_cache_lists_and_prunes_snapshots(tmp_path: Path) -> None:
    empty = run_harness(["cache", "list"], cwd=tmp_path)
    assert empty.code == 0 and "0 VM snapshots, 0 MiB" in empty.stdout
    store = SnapshotStore(tmp_path / ".cache" / "snapshots")
    kept = write_snapshot(store, key())
    old = write_snapshot(store, key(harness_version="0.0.1"))
    listed = run_harness(["cache", "list", "--json"], cwd=tmp_path)
    assert listed.code == 0 and {row["id"] for row in json.loads(listed.stdout)} == {kept.name, old.name}
    assert_one_line_error(run_harness(["cache", "prune"], cwd=tmp_path), 2, mentions="--stale")
    pruned = run_harness(["cache", "prune", "--stale"], cwd=tmp_path)
    assert pruned.code == 0 and f"removed {old}" in pruned.stdout
    assert kept.exists() and not old.exists()
