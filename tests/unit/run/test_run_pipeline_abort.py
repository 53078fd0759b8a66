"""The pipeline's bookkeeping when a workload ends early: the run dir says which workload stopped and how."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import SSHError
from harness.run import pipeline
from harness.run.pipeline import RunRequest, execute


class _Session:
    def __init__(self, profile: Any) -> None:
        self.profile, self.ssh, self.facts = profile, None, {"arch": "amd64"}


def _fake_guest(monkeypatch: pytest.MonkeyPatch, failure: BaseException) -> None:
    @contextlib.contextmanager
    def open_session(run: Any, profile: Any, request: Any, *_: Any) -> Iterator[_Session]:
        yield _Session(profile)

    def run_workload(*_: Any, **__: Any) -> Any:
        raise failure

    monkeypatch.setattr(pipeline, "open_session", open_session)
    monkeypatch.setattr(pipeline, "build_static", lambda *_: None)
    monkeypatch.setattr(pipeline.collect, "upload", lambda *_: None)
    monkeypatch.setattr(pipeline.collect, "run_workload", run_workload)


def _request(root: Path) -> RunRequest:
    return RunRequest(guest="linuxtest", arch="amd64", workloads=["thread-hold", "thread-churn"], runs_root=root)


def test_an_infrastructure_error_marks_the_running_workload_aborted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_guest(monkeypatch, SSHError("SSH connection to root@127.0.0.1:2222 dropped"))
    outcome = execute(_request(tmp_path))
    statuses = [w.status for w in outcome.run.metadata().workloads]
    assert statuses == ["aborted", "pending"]
    assert int(outcome.result.exit_code) == 2 and "dropped" in (outcome.result.error or "")
    assert "workload thread-hold: aborted" in outcome.result.notes


def test_an_interrupt_marks_the_running_workload_interrupted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_guest(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        execute(_request(tmp_path))
    (run_dir,) = tmp_path.iterdir()
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert meta["status"] == "interrupted"
    assert [w["status"] for w in meta["workloads"]] == ["interrupted", "pending"]
