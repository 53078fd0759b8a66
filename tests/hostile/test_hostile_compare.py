"""`harness compare RUN_A RUN_B` on hostile and degenerate run directories (docs/reviews/hostile-input.md, A.11).

compare's exit code is a CI gate: it must never say "no regression" of a B that errored or fails a check A did
not have (F2), must keep its code through a closed pipe (F3), and must read any garbled results.json or
metadata.json as one line (exit 2), never a traceback. Nothing outside the two run directories changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import (
    CliResult,
    assert_no_traceback,
    assert_one_line_error,
    outside_state,
    run_harness_reader_gone,
)
from tests.support.hostile import make_run, set_metadata, stored_run, verdict
from tests.support.inproc import Harness

CRASH = {"title": "panic: page fault", "excerpt": ["panic: page fault", "cpuid = 0"], "workload": "thread-hold"}
FAILED = {"verdicts": [verdict("fail", 5)], "outcome": "failed", "exit_code": 1}


@dataclass(frozen=True)
class Case:
    """B built by ``build(root)`` against a passing A (or ``a`` when given); the exit code compare must end with."""

    build: Callable[[Path], Path]
    code: int
    mentions: str | None = None
    a: Callable[[Path], Path] | None = None


def _b(**results: Any) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        return stored_run(root, "b", **{**FAILED, **results})

    return build


def _b_results(content: bytes) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        run = stored_run(root, "b")
        (run / "results.json").write_bytes(content)
        return run

    return build


def _b_meta(**fields: Any) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        run = stored_run(root, "b", **FAILED)
        set_metadata(run, **fields)
        return run

    return build


def _b_without(name: str) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        run = stored_run(root, "b")
        (run / name).unlink()
        return run

    return build


def _b_path(name: str) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        run = stored_run(root, "b", **FAILED)
        (root / "p[").mkdir()
        return run.rename(root / "p[" / name)

    return build


def _a_without_check(root: Path) -> Path:
    other = verdict("pass", 4, name="kern.other")
    return stored_run(root, "a", [other])


def _b_new_failing_check(root: Path) -> Path:
    return stored_run(root, "b", [verdict("pass", 4, name="kern.other"), verdict("fail", 5)], outcome="failed")


def _b_errored(root: Path) -> Path:
    return stored_run(root, "b", [], outcome="error", exit_code=2, error="SSH to root@127.0.0.1:2222 refused")


CASES: dict[str, Case] = {
    # --- controls and checks that held in the review ---
    "A11-03 nonexistent A": Case(lambda root: root / "nonexistent", 2, "not a run directory"),
    "A11-06 same run twice (control)": Case(lambda root: stored_run(root, "b"), 0),
    "A11-07 pass -> fail (control)": Case(_b(), 1),
    "A11-08 pass -> crash (control)": Case(_b(crash=CRASH, outcome="crashed", exit_code=3), 3),
    "A11-16 metadata.json empty": Case(
        lambda root: _write(stored_run(root, "b"), "metadata.json", b""), 2, "metadata.json"
    ),
    "A11-18 results.json empty": Case(_b_results(b""), 2, "results.json"),
    "A11-17 results.json missing": Case(_b_without("results.json"), 2, "no results.json"),
    "A11-19 results.json truncated": Case(_b_results(b'{"verdicts": [{"sta'), 2, "garbled"),
    "A11-20 results.json is []": Case(_b_results(b"[]"), 2, "garbled"),
    "A11-21 results.json invalid UTF-8": Case(_b_results(b'{"verdicts": "\xff"}'), 2, "garbled"),
    "A11-26 verdict without status": Case(_b(verdicts=[{k: v for k, v in verdict().items() if k != "status"}]), 2),
    "A11-27 verdict status 'maybe'": Case(_b(verdicts=[verdict("maybe")]), 2, "maybe"),
    "A11-28 verdict observed 'abc'": Case(_b(verdicts=[verdict("fail", "abc")]), 2, "not a number"),
    "A11-35 crash is a string": Case(_b(crash="panic: x"), 2, "crash"),
    "A11-38 crash excerpt 30k-char panic token": Case(
        _b(crash={"title": "panic: x", "excerpt": ["panic: " + "A" * 30_000]}, outcome="crashed"), 3
    ),
    "A11-42 metadata.json missing": Case(_b_without("metadata.json"), 2, "no metadata.json"),
    "A11-44 metadata.json is []": Case(
        lambda root: _write(stored_run(root, "b", **FAILED), "metadata.json", b"[]"), 2, "not an object"
    ),
    "A11-56 metadata patch '[/x]' (rich markup in facts)": Case(_b_meta(patch="[/x] [bold]"), 1),
    # --- failed in the review ---
    "A11-22 F results.json deeply nested": Case(_b_results(b"[" * 100_000 + b"]" * 100_000), 2, "garbled"),
    "A11-32 F verdict observed huge int 10**400": Case(
        _b_results(json.dumps({**FAILED, "verdicts": [verdict("fail", 10**400)]}).encode()), 2, "digit"
    ),
    "A11-50 F metadata workloads is 5": Case(_b_meta(workloads=5), 2, "workloads"),
    "A11-57 F run dir path containing '[/b]'": Case(_b_path("b]"), 1),
    "A11-58 F B has a failing check A never judged": Case(_b_new_failing_check, 1, a=_a_without_check),
    "A11-59 F B errored (exit 2, no checks) vs A passed": Case(_b_errored, 2),
}


def _write(run: Path, name: str, content: bytes) -> Path:
    (run / name).write_bytes(content)
    return run


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "w"
    root.mkdir()
    return root


def _compare(scratch: Path, case: Case, harness: Harness) -> tuple[CliResult, Path, Path]:
    a = case.a(scratch) if case.a else stored_run(scratch, "a")
    b = case.build(scratch)
    before = outside_state(scratch, a, b) if b.exists() else outside_state(scratch, a)
    result = harness(["compare", str(a), str(b)])
    after = outside_state(scratch, a, b) if b.exists() else outside_state(scratch, a)
    assert after == before, "compare changed something outside the run directories"
    return result, a, b


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_compare(case_id: str, scratch: Path, harness: Harness) -> None:
    case = CASES[case_id]
    result, _, _ = _compare(scratch, case, harness)
    if case.code == 2 and "F B errored" not in case_id:
        assert_one_line_error(result, 2, mentions=case.mentions)
    else:
        assert_no_traceback(result, case.code)
        assert "harness: error:" not in result.stderr, str(result)
        assert "no regression" not in result.stdout or case.code == 0, str(result)


def test_an_errored_b_is_named_and_never_no_regression(scratch: Path, harness: Harness) -> None:
    """F2: the verdict line says B errored and why; --json says the same."""
    result, a, b = _compare(scratch, Case(_b_errored, 2), harness)
    assert "B errored" in result.stdout and "SSH to root@127.0.0.1:2222 refused" in result.stdout
    data = json.loads(harness(["compare", str(a), str(b), "--json"]).stdout)
    assert data["exit_code"] == 2 and data["verdict"] != "no regression"


def test_a_failing_check_only_in_b_is_a_regression(scratch: Path, harness: Harness) -> None:
    result, a, b = _compare(scratch, Case(_b_new_failing_check, 1, a=_a_without_check), harness)
    assert result.code == 1 and "B regressed against A" in result.stdout
    data = json.loads(harness(["compare", str(a), str(b), "--json"]).stdout)
    assert [c["kind"] for c in data["changes"] if c["b"]["status"] == "fail"] == ["regression"]


def test_paths_and_facts_are_printed_as_data(scratch: Path, harness: Harness) -> None:
    """F1: a run-dir path and metadata facts with markup are shown as they are."""
    result, _, b = _compare(scratch, Case(_b_path("b]"), 1), harness)
    assert f"B: {b}" in result.stdout


def test_A11_60_F_exit_code_survives_a_closed_pipe(tmp_path: Path) -> None:
    """A11-60 F: `harness compare A C | true` keeps 3 (pass → crash)."""
    a = stored_run(tmp_path, "a")
    b = stored_run(tmp_path, "b", crash=CRASH, outcome="crashed", exit_code=3)
    result = run_harness_reader_gone(["compare", str(a), str(b)], cwd=tmp_path)
    assert_no_traceback(result, 3)
    assert "harness: error" not in result.stderr


def test_a_run_without_metadata_object_keys_is_tolerated(scratch: Path, harness: Harness) -> None:
    """metadata.json facts of odd types (a dict kernel, a list version) do not stop the comparison."""
    b = stored_run(scratch, "b", **FAILED)
    set_metadata(b, kernel={"a": 1}, run_id={"x": 1}, harness_version=[1])
    a = make_run(scratch, "a2")
    (a / "results.json").write_text(json.dumps({"verdicts": [verdict()], "outcome": "passed", "exit_code": 0}))
    result = harness(["compare", str(a), str(b)])
    assert_no_traceback(result, 1)
