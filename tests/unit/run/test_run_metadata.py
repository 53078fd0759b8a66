"""metadata.json as a typed, versioned record: run directories written before it existed are read and judged as
they were (tests/data/rundirs/, written by main at 05eb79d), and a malformed one is one line, exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import UsageError
from harness.run.metadata import SCHEMA_VERSION, RunMetadata, RunStatus, WorkloadStatus
from harness.run.rundir import METADATA, RunDir
from tests.support.paths import DATA

STORED = DATA / "rundirs"
NULL_UNTIL_KNOWN = {"generation", "current_workload"}
RUN_IDS = sorted(p.name for p in STORED.iterdir() if p.is_dir())


def _copy(run_id: str, root: Path) -> Path:
    return Path(shutil.copytree(STORED / run_id, root / run_id))


def test_there_are_stored_run_dirs_of_both_guests_and_all_endings() -> None:
    outcomes = {json.loads((STORED / f"{r}.analyze.json").read_text())["outcome"] for r in RUN_IDS}
    assert {r.split("-")[2] for r in RUN_IDS} == {"freebsd", "linuxtest"}
    assert outcomes == {"passed", "crashed", "error"}


@pytest.mark.parametrize("run_id", RUN_IDS)
def test_a_run_dir_written_before_versioning_is_judged_the_same(
    run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = json.loads((STORED / f"{run_id}.analyze.json").read_text())
    run_dir = _copy(run_id, tmp_path)
    code = main(["analyze", str(run_dir), "--json"])
    judged = json.loads(capsys.readouterr().out)
    assert judged.pop("run_dir") == str(run_dir) and judged.pop("finished")
    assert code == expected["exit_code"]
    assert judged == expected


@pytest.mark.parametrize("run_id", RUN_IDS)
def test_reading_and_writing_back_changes_nothing_but_the_version(run_id: str, tmp_path: Path) -> None:
    raw = json.loads((STORED / run_id / METADATA).read_text())
    assert "schema_version" not in raw  # version 0: the file before the record was versioned
    run = RunDir(_copy(run_id, tmp_path))
    meta = run.metadata()
    run.write_metadata(meta)
    written = json.loads((run.path / METADATA).read_text())
    assert written.pop("schema_version") == SCHEMA_VERSION
    # Every value kept; a later field still unknown (null) is left out rather than written as null.
    assert written == {k: v for k, v in raw.items() if v is not None or k not in NULL_UNTIL_KNOWN}
    assert run.metadata() == meta


def test_the_record_is_typed() -> None:
    meta = RunDir(STORED / "20261203-071500-linuxtest-amd64-c0de").metadata()
    assert meta.status is RunStatus.CRASHED
    assert [w.status for w in meta.workloads] == [WorkloadStatus.DONE, WorkloadStatus.CRASHED]
    assert meta.crash is not None and meta.crash.workload == "thread-churn" and meta.model == {"thread_size_kib": 16}
    assert meta.workload("thread-hold") is not None and meta.workload("nope") is None


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "r", {"guest": "linuxtest", "arch": "amd64", "nightly_cell": "a1"}, ["harness"])
    run.update_metadata(status=RunStatus.PASSED)
    raw = json.loads((run.path / METADATA).read_text())
    assert raw["nightly_cell"] == "a1" and raw["status"] == "passed" and run.metadata().extra == {"nightly_cell": "a1"}
    with pytest.raises(TypeError, match="not RunMetadata fields: statuz"):
        run.update_metadata(statuz="passed")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"status": "maybe"}, "'maybe' is not a valid RunStatus"),
        ({"workloads": [{"name": "w", "status": "resting"}]}, "'resting' is not a valid WorkloadStatus"),
        ({"workloads": {"w": {}}}, "workloads is not a list"),
        ({"workloads": [{"params": {}}]}, "no 'name'"),
        ({"crash": {"workload": "w"}}, "no 'title'"),
        ({"model": {"kstack_pages": [4]}}, "model kstack_pages is [4], not a number or text"),
        ({"schema_version": SCHEMA_VERSION + 1}, "newer than this harness reads"),
    ],
)
def test_a_malformed_record_is_one_line_exit_2(
    change: dict[str, object], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _copy("20261203-071048-linuxtest-amd64-e046", tmp_path)
    raw = json.loads((run_dir / METADATA).read_text())
    (run_dir / METADATA).write_text(json.dumps({**raw, **change}))
    assert main(["analyze", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and said in err and "Traceback" not in err
    with pytest.raises(UsageError, match="is not a run's metadata"):
        RunMetadata.from_json({**raw, **change}, run_dir / METADATA)
