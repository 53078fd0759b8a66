"""Guest kinds are registered objects: a third kind (tests/support/guest_kind.py) is judged by `harness analyze`
with nothing else changed, and the pipeline and the CLI take every kind-specific answer from the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import UsageError
from harness.run.kinds import registry
from harness.run.rundir import RunDir
from tests.support.guest_kind import ToyKind


def _toy_run(root: Path, console: str) -> Path:
    workloads = [{"name": "make-5", "params": {"count": 5}}, {"name": "make-3", "params": {"count": 3}}]
    run = RunDir.create(root, "toy-run", {"guest": "toy", "arch": "amd64", "workloads": workloads}, ["harness"])
    run.write_raw("5\n", "make-5", "count.txt")
    run.write_raw("4\n", "make-3", "count.txt")
    (run.path / "guest.console.log").write_text(console, encoding="utf-8")
    return run.path


def _analyze(run_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, object]]:
    code = main(["analyze", str(run_dir), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_a_third_guest_kind_is_judged_by_harness_analyze(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _toy_run(tmp_path, "boot\n")
    with registry.registered(ToyKind()):
        code, result = _analyze(run_dir, capsys)
        assert code == 1 and result["outcome"] == "failed" and result["generation"] == "toy-1"
        statuses = {(v["workload"], v["status"]) for v in result["verdicts"]}  # type: ignore[attr-defined]
        assert statuses == {("make-5", "pass"), ("make-3", "fail")}
        assert "judged by the toy kind" in result["notes"]  # type: ignore[operator]
        # The kind's own --model key reaches its analysis: one item of slack passes make-3.
        code, result = _analyze(run_dir, capsys, "--model", "slack=1")
        assert code == 0 and result["metadata"]["model"] == {"slack": 1}  # type: ignore[index]
    assert (run_dir / "results.json").is_file() and (run_dir / "report.html").is_file()


def test_the_kind_finds_its_own_crashes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    console = "HARNESS-WORKLOAD-START name=make-3\nTOY OOPS: out of toys\n"
    with registry.registered(ToyKind()):
        code, result = _analyze(_toy_run(tmp_path, console), capsys)
    assert code == 3 and result["crash"] == {  # type: ignore[comparison-overlap]
        "title": "out of toys",
        "workload": "make-3",
        "excerpt": ["TOY OOPS: out of toys"],
        "kind": "oops",
        "signature": None,
    }


def test_model_keys_are_the_kinds_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _toy_run(tmp_path, "")
    with registry.registered(ToyKind()):
        assert main(["analyze", str(run_dir), "--model", "thread_size_kib=8"]) == 2
    err = capsys.readouterr().err
    assert "the toy model has no constant 'thread_size_kib' (known: slack)" in err and len(err.splitlines()) == 1


def test_an_unregistered_kind_is_one_line_and_the_registration_ends_with_its_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _toy_run(tmp_path, "")
    with registry.registered(ToyKind()):
        assert "toy" in registry.names()
        with pytest.raises(ValueError, match="registered already"), registry.registered(ToyKind()):
            pass
    assert registry.names() == ("freebsd", "linuxtest")
    assert main(["analyze", str(run_dir)]) == 2
    assert "metadata names an unknown guest 'toy'" in capsys.readouterr().err
    with pytest.raises(UsageError) as refused:
        registry.select("toy")
    assert refused.value.one_line() == "unknown guest 'toy' (known guests: freebsd, linuxtest)"


def test_run_offers_every_registered_kind_and_its_model_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with registry.registered(ToyKind()), pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{freebsd,linuxtest,toy}" in text and "on toy slack" in text


def test_a_kind_refuses_options_that_do_not_apply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with registry.registered(ToyKind()):
        code = main(["run", "--guest", "toy", "--patch", "kstack-object", "--runs-dir", str(tmp_path)])
    assert code == 2 and "the toy guest boots no kernel and no image" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
