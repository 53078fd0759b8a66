"""The flaky-aware cell verdict over repeats (harness/regress/flaky.py)."""

from __future__ import annotations

import pytest

from harness.errors import ExitCode
from harness.regress.flaky import CellVerdict, Repeat, summarise


def passed(**checks: str) -> Repeat:
    return Repeat("failed" if "fail" in checks.values() else "passed", checks)


def test_a_check_failing_in_every_repeat_fails_the_cell() -> None:
    cell = summarise([passed(a="fail", b="pass"), passed(a="fail", b="pass")])
    assert cell.verdict is CellVerdict.FAIL
    assert [t.check for t in cell.failed_checks] == ["a"]
    assert cell.exit_code is ExitCode.CHECK_FAILED


def test_a_check_failing_in_some_repeats_is_flaky_with_its_rate() -> None:
    cell = summarise([passed(a="fail"), passed(a="pass"), passed(a="pass")])
    assert cell.verdict is CellVerdict.FLAKY
    (tally,) = cell.flaky_checks
    assert (tally.failed, tally.judged) == (1, 3)
    assert tally.fail_rate == pytest.approx(1 / 3)
    assert cell.exit_code is ExitCode.OK
    assert "a flaky (failed 1/3, 33%)" in cell.describe()


def test_a_failure_beats_a_flaky_check_and_inconclusive_repeats_do_not_judge() -> None:
    cell = summarise([passed(a="fail", b="fail"), passed(a="pass", b="inconclusive")])
    assert {t.check: t.verdict for t in cell.checks} == {"a": CellVerdict.FLAKY, "b": CellVerdict.FAIL}
    assert cell.verdict is CellVerdict.FAIL


def test_one_crash_makes_a_crash_and_errors_alone_make_an_error() -> None:
    crash = summarise([passed(a="pass"), Repeat("crashed", {}, "panic: x")])
    assert crash.verdict is CellVerdict.CRASH and crash.crash_titles == ("panic: x",)
    assert crash.exit_code is ExitCode.KERNEL_CRASH
    error = summarise([Repeat("error"), Repeat("error")])
    assert error.verdict is CellVerdict.ERROR and error.exit_code is ExitCode.INFRA
    mixed = summarise([Repeat("error"), passed(a="pass")])
    assert mixed.verdict is CellVerdict.PASS and mixed.errored == 1


def test_nothing_judged_is_inconclusive_and_no_repeats_is_refused() -> None:
    assert summarise([passed(a="inconclusive")]).verdict is CellVerdict.INCONCLUSIVE
    with pytest.raises(ValueError):
        summarise([])
