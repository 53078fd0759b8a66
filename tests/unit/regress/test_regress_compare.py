"""`harness compare` on run directories written by the real writers: RunDir (metadata.json), verdicts judged by
harness.validate from model Predictions, RunResult → results.json/junit.xml/report.html by harness.report; and runs
judged by `harness.run.analysis.analyze` from the real FreeBSD transcripts (read through freebsd_fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cli.main import main
from harness.model.prediction import Prediction
from harness.regress.compare import Kind, compare
from harness.regress.runs import crash_signature, load
from harness.report.results import Crash, RunResult
from harness.report.write import write_all
from harness.run.analysis import analyze
from harness.run.rundir import RunDir
from harness.validate.observed import Observations
from harness.validate.verdicts import judge

HOLD = "thread-hold"
CHURN = "thread-churn"


def _prediction(name: str, phase: str, expected: float, tolerance: float = 64.0, invariant: str = "LX-1") -> Prediction:
    return Prediction(name, invariant, phase, "KiB", "each task holds one stack", "test", expected, tolerance=tolerance)


#: (workload, prediction) pairs of a small Linux-guest-like run.
CHECKS = [
    (HOLD, _prediction("linux.nr_kernel_stack_kib", "before", 912)),
    (HOLD, _prediction("linux.nr_kernel_stack_kib", "plateau", 5056)),
    (HOLD, _prediction("linux.meminfo_kernelstack_kib", "plateau", 5040, invariant="LX-4")),
    (CHURN, _prediction("linux.nr_kernel_stack_kib", "before", 912)),
]
GOOD = {
    (HOLD, "linux.nr_kernel_stack_kib", "before"): 896.0,
    (HOLD, "linux.nr_kernel_stack_kib", "plateau"): 5040.0,
    (HOLD, "linux.meminfo_kernelstack_kib", "plateau"): 5040.0,
    (CHURN, "linux.nr_kernel_stack_kib", "before"): 896.0,
}


def write_run(
    root: Path,
    run_id: str,
    observed: dict[tuple[str, str, str], float],
    *,
    checks: list[tuple[str, Prediction]] | None = None,
    crash: Crash | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """A run directory as `harness run` leaves it: metadata first, then verdicts judged and reports written."""
    checks = CHECKS if checks is None else checks
    workloads = sorted({w for w, _ in checks})
    entries = [{"name": w, "params": {"threads": 256}} for w in workloads]
    base = {"guest": "linuxtest", "arch": "amd64", "workloads": entries}
    run = RunDir.create(root, run_id, {**base, **(meta or {})}, ["harness", "run"])
    result = RunResult(run_id, "linuxtest", "amd64", None, "linux-task", workloads, crash=crash)
    for workload in workloads:
        obs = Observations()
        for (w, name, phase), value in observed.items():
            if w == workload:
                obs.put(name, phase, value)
        result.verdicts += judge([p for w, p in checks if w == workload], obs, workload=workload)
    write_all(result, run.path)
    run.update_metadata(status=result.outcome)
    return run.path


def kinds(a: Path, b: Path) -> dict[str, list[str]]:
    comparison = compare(load(a), load(b))
    out: dict[str, list[str]] = {}
    for change in comparison.changes:
        out.setdefault(change.kind.value, []).append(change.what)
    return out


def test_the_same_run_has_no_change(tmp_path: Path) -> None:
    a = write_run(tmp_path, "a", GOOD)
    comparison = compare(load(a), load(a))
    assert comparison.changes == [] and comparison.unchanged == len(CHECKS)
    assert main(["compare", str(a), str(a)]) == 0


def test_a_check_that_starts_failing_is_a_regression_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(tmp_path, "a", GOOD)
    b = write_run(tmp_path, "b", {**GOOD, (HOLD, "linux.nr_kernel_stack_kib", "plateau"): 9000.0})
    assert kinds(a, b) == {"regression": ["LX-1 linux.nr_kernel_stack_kib@plateau (thread-hold)"]}
    assert main(["compare", str(a), str(b), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "B regressed against A" and out["counts"]["regression"] == 1
    (change,) = out["changes"]
    assert change["a"] == {"status": "pass", "observed": 5040.0}
    assert change["b"] == {"status": "fail", "observed": 9000.0} and change["delta"] == 3960.0
    assert "but the model predicts" in change["detail"]
    # Reversed, the same change is a fix and nothing regressed.
    assert kinds(b, a) == {"fix": ["LX-1 linux.nr_kernel_stack_kib@plateau (thread-hold)"]}
    assert main(["compare", str(b), str(a)]) == 0


def test_still_failing_moved_and_within_tolerance(tmp_path: Path) -> None:
    failing = (CHURN, "linux.nr_kernel_stack_kib", "before")
    a = write_run(tmp_path, "a", {**GOOD, failing: 2000.0})
    b = write_run(
        tmp_path,
        "b",
        {
            **GOOD,
            failing: 2100.0,
            (HOLD, "linux.nr_kernel_stack_kib", "before"): 896.0 + 65,  # still passes (= 912 ± 64), moved by 65 > 64
            (HOLD, "linux.nr_kernel_stack_kib", "plateau"): 5040.0 + 10,  # moved by 10 ≤ 64: not reported
        },
    )
    found = kinds(a, b)
    assert found == {
        "still failing": ["LX-1 linux.nr_kernel_stack_kib@before (thread-churn)"],
        "moved": ["LX-1 linux.nr_kernel_stack_kib@before (thread-hold)"],
    }
    assert main(["compare", str(a), str(b)]) == 0  # still failing is not a regression of B against A


def test_checks_in_one_run_only_are_listed_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(tmp_path, "a", GOOD)
    b = write_run(tmp_path, "b", GOOD, checks=CHECKS[:3])  # B ran no thread-churn
    assert kinds(a, b) == {"only in A": ["LX-1 linux.nr_kernel_stack_kib@before (thread-churn)"]}
    assert kinds(b, a) == {"only in B": ["LX-1 linux.nr_kernel_stack_kib@before (thread-churn)"]}
    assert main(["compare", str(b), str(a)]) == 0
    out = capsys.readouterr().out
    assert "1 only in B, 3 unchanged" in out and "only in B" in out.split("\n", 2)[2]


def test_a_check_that_can_no_longer_be_judged_is_not_a_fix(tmp_path: Path) -> None:
    failing = (HOLD, "linux.nr_kernel_stack_kib", "before")
    a = write_run(tmp_path, "a", {**GOOD, failing: 100.0})
    b = write_run(tmp_path, "b", {k: v for k, v in GOOD.items() if k != failing})
    assert kinds(a, b) == {"no longer judged": ["LX-1 linux.nr_kernel_stack_kib@before (thread-hold)"]}


def test_metadata_differences_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(
        tmp_path, "a", GOOD, meta={"release": "14.1-RELEASE", "guest_facts": {"kernel": {"ident": "GENERIC"}}}
    )
    b = write_run(
        tmp_path,
        "b",
        GOOD,
        meta={
            "release": "14.2-RELEASE",
            "patch": "kstack-object",
            "guest_facts": {"kernel": {"bootfile": "/boot/harness/kernel", "ident": "HARNESS_ab12", "uname_v": "x"}},
            "workloads": [{"name": w, "params": {"threads": 1024}} for w in (CHURN, HOLD)],
        },
    )
    assert main(["compare", str(a), str(b), "--json"]) == 0
    diffs = {d["name"]: (d["a"], d["b"]) for d in json.loads(capsys.readouterr().out)["metadata"]}
    assert diffs["release"] == ("14.1-RELEASE", "14.2-RELEASE")
    assert diffs["patch"] == (None, "kstack-object")
    assert diffs["kernel ident"] == ("GENERIC", "HARNESS_ab12")
    assert diffs[f"workload {HOLD}"] == ({"threads": 256}, {"threads": 1024})
    assert "arch" not in diffs and "guest" not in diffs


def test_human_output_puts_the_crash_first_then_regressions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_run(tmp_path, "a", GOOD)
    crash = Crash("Kernel panic - not syncing: sysrq triggered crash", HOLD)
    b = write_run(tmp_path, "b", {**GOOD, (CHURN, "linux.nr_kernel_stack_kib", "before"): 1.0}, crash=crash)
    assert main(["compare", str(a), str(b)]) == 3
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("B crashed where A did not (exit 3)")
    assert out.index("new crash") < out.index("regression") < out.index("A: ")
    assert "sysrq triggered crash" in out


# --- crashes, by signature -------------------------------------------------------------------------------------


def _freebsd_crash_run(root: Path, run_id: str, console: str) -> Path:
    """A FreeBSD run whose console holds a real panic: analyze() finds and titles it, write_all stores it."""
    run = RunDir.create(root, run_id, {"guest": "freebsd", "arch": "amd64", "workloads": []}, ["harness", "run"])
    (run.path / "freebsd.console.log").write_text(console, encoding="utf-8")
    result = analyze(run, offline=True)
    assert result.crash is not None
    write_all(result, run.path)
    return run.path


@pytest.fixture
def panics(freebsd_fixtures: Path) -> list[str]:
    return [(freebsd_fixtures / f"panic__unknown__amd64__{n}.txt").read_text() for n in (1, 2)]


def test_same_crash_signature_is_still_crashing_a_new_one_is_exit_3(tmp_path: Path, panics: list[str]) -> None:
    first = _freebsd_crash_run(tmp_path, "p1", panics[0])
    again = _freebsd_crash_run(tmp_path, "p1-again", panics[0])
    other = _freebsd_crash_run(tmp_path, "p2", panics[1])
    same = compare(load(first), load(again))
    assert [c.kind for c in same.changes] == [Kind.STILL_CRASHING] and int(same.exit_code) == 0
    different = compare(load(first), load(other))
    assert [c.kind for c in different.changes] == [Kind.NEW_CRASH, Kind.CRASH_GONE]
    assert main(["compare", str(first), str(other)]) == 3


def test_the_signature_is_rederived_from_the_stored_excerpt_as_triage_does(tmp_path: Path, panics: list[str]) -> None:
    from harness.parse.panic import parse_panics

    path = _freebsd_crash_run(tmp_path, "p1", panics[0])
    stored = json.loads((path / "results.json").read_text())["crash"]
    assert crash_signature(stored) == parse_panics(panics[0])[0].signature
    assert crash_signature({**stored, "signature": "feedface"}) == "feedface"


def test_a_crash_gone_is_no_regression(tmp_path: Path, panics: list[str]) -> None:
    crashed = _freebsd_crash_run(tmp_path, "p1", panics[0])
    clean = RunDir.create(tmp_path, "clean", {"guest": "freebsd", "arch": "amd64", "workloads": []}, ["harness"])
    write_all(analyze(clean, offline=True), clean.path)
    assert [c.kind for c in compare(load(crashed), load(clean.path)).changes] == [Kind.CRASH_GONE]
    assert main(["compare", str(crashed), str(clean.path)]) == 0
    assert main(["compare", str(clean.path), str(crashed)]) == 3


def test_reanalysing_a_real_capture_with_another_model_shows_the_regression(
    freebsd_fixtures: Path, tmp_path: Path
) -> None:
    sysctl = (freebsd_fixtures / "sysctl-a__12.1-RELEASE__amd64__1.txt").read_text()
    paths = []
    for run_id, overrides in (("stock", {}), ("kasan", {"kstack_pages": 6})):
        run = RunDir.create(
            tmp_path,
            run_id,
            {
                "guest": "freebsd",
                "arch": "amd64",
                "release": "12.1-RELEASE",
                "workloads": [{"name": HOLD, "params": {}}],
            },
            ["harness", "run"],
        )
        run.write_raw(sysctl, "fingerprint", "sysctl.txt")
        run.write_raw(sysctl, HOLD, "before", "sysctl.txt")
        write_all(analyze(run, offline=True, model_overrides=overrides), run.path)
        paths.append(run.path)
    comparison = compare(load(paths[0]), load(paths[1]))
    (change,) = comparison.of(Kind.REGRESSION)
    assert "kern.kstack_pages@before (thread-hold)" in change.what
    assert change.a_observed == change.b_observed == 4 and change.a_expected != change.expected
    assert int(comparison.exit_code) == 1


# --- bad input: one line, exit 2 --------------------------------------------------------------------------------


def _garble(run: Path, text: str) -> Path:
    (run / "results.json").write_text(text, encoding="utf-8")
    return run


VERDICT = {"invariant": "LX-1", "name": "x", "phase": "before", "status": "pass", "observed": 1.0}


@pytest.mark.parametrize(
    ("results", "said"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "a JSON list, not an object"),
        ('{"verdicts": {}}', "no list of verdicts"),
        ('{"verdicts": [3]}', "verdict 0 is not an object"),
        (json.dumps({"verdicts": [{k: v for k, v in VERDICT.items() if k != "phase"}]}), "verdict 0 has no 'phase'"),
        (json.dumps({"verdicts": [{**VERDICT, "status": "maybe"}]}), "status 'maybe'"),
        (json.dumps({"verdicts": [{**VERDICT, "observed": "lots"}]}), "observed is 'lots', not a number"),
        (json.dumps({"verdicts": [], "crash": {"kind": "panic"}}), "crash has no title"),
    ],
)
def test_garbled_results_are_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], results: str, said: str
) -> None:
    good = write_run(tmp_path, "a", GOOD)
    bad = _garble(write_run(tmp_path, "b", GOOD), results)
    assert main(["compare", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and said in err and "results.json is garbled" in err


def test_not_a_run_directory_and_missing_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_run(tmp_path, "a", GOOD)
    unfinished = write_run(tmp_path, "b", GOOD)
    (unfinished / "results.json").unlink()
    (tmp_path / "file").write_text("x")
    for other, said in (
        (tmp_path / "missing", "is not a run directory"),
        (tmp_path / "file", "is not a run directory"),
        (tmp_path, "no metadata.json"),
        (unfinished, "has no results.json"),
    ):
        assert main(["compare", str(good), str(other)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and said in err, err


# --- properties -------------------------------------------------------------------------------------------------

_observed = st.fixed_dictionaries(
    {key: st.sampled_from([value, value + 40, value + 70, 0.0]) for key, value in GOOD.items()}
)


@settings(max_examples=12, deadline=None)
@given(first=_observed, second=_observed)
def test_swapping_a_and_b_swaps_regressions_and_fixes(
    tmp_path_factory: pytest.TempPathFactory, first: dict[Any, float], second: dict[Any, float]
) -> None:
    root = tmp_path_factory.mktemp("prop")
    a, b = load(write_run(root, "a", first)), load(write_run(root, "b", second))
    forward, backward = compare(a, b), compare(b, a)
    assert {c.what for c in forward.of(Kind.REGRESSION)} == {c.what for c in backward.of(Kind.FIX)}
    assert {c.what for c in forward.of(Kind.MOVED)} == {c.what for c in backward.of(Kind.MOVED)}
    assert len(forward.changes) + forward.unchanged == len(CHECKS)
    # Against itself a run changes nothing; its failing checks are all it shows, as still failing.
    assert {c.kind for c in compare(a, a).changes} <= {Kind.STILL_FAILING}
