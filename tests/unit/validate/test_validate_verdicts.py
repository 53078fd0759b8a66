"""Verdicts: pass / fail / inconclusive, derived phases, the sentence of why, the exit code."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.errors import ExitCode
from harness.model.prediction import Prediction
from harness.validate.observed import Observations
from harness.validate.verdicts import Status, exit_code, judge, judge_one, summary


def _exact(value: float, tolerance: float = 0.0, phase: str = "plateau") -> Prediction:
    return Prediction(
        "kstack_cache.used", "I-2", phase, "stacks", "one stack per thread", "vmstat -z", value, tolerance=tolerance
    )


def test_exact_value_within_tolerance_passes_and_says_so() -> None:
    obs = Observations()
    obs.put("kstack_cache.used", "plateau", 1003)
    verdict = judge_one(_exact(1000, 4), obs, workload="thread-hold")
    assert verdict.status is Status.PASS
    assert verdict.check == "I-2:kstack_cache.used@plateau" and verdict.workload == "thread-hold"
    assert verdict.why == "Observed 1003 stacks, within 1000 ± 4 stacks as predicted: one stack per thread."


def test_outside_the_tolerance_fails_with_the_difference() -> None:
    obs = Observations()
    obs.put("kstack_cache.used", "plateau", 1010)
    verdict = judge_one(_exact(1000, 4), obs)
    assert verdict.status is Status.FAIL
    assert "off by +10 stacks" in verdict.why and verdict.expected == "= 1000 ± 4"


def test_missing_observation_is_inconclusive_not_a_failure() -> None:
    verdict = judge_one(_exact(1000), Observations())
    assert verdict.status is Status.INCONCLUSIVE and verdict.observed is None
    assert verdict.why == (
        "Not judged: no plateau observation of kstack_cache.used was collected "
        "(the model predicts exactly 1000 stacks: one stack per thread)."
    )
    assert exit_code([verdict]) is ExitCode.OK


def test_delta_phases_are_derived_from_snapshots() -> None:
    obs = Observations()
    obs.put("thread.used", "before", 100)
    obs.put("thread.used", "plateau", 356)
    obs.put("thread.used", "after", 101)
    assert obs.get("thread.used", "plateau_delta") == 256
    assert obs.get("thread.used", "delta") == 1
    obs.put("thread.used", "delta", 7)  # observed directly wins over derived
    assert obs.get("thread.used", "delta") == 7
    assert obs.get("thread.used", "nonsense") is None


def test_peak_comes_from_the_time_series() -> None:
    obs = Observations()
    obs.series["nr"] = [(0.0, 10.0), (1.0, 40.0), (2.0, 12.0)]
    bound = Prediction("nr", "LX-5", "peak", "KiB", "bounded", "s", high=39)
    assert judge_one(bound, obs).status is Status.FAIL
    assert judge_one(Prediction("nr", "LX-5", "peak", "KiB", "bounded", "s", high=40), obs).status is Status.PASS


def test_summary_and_exit_code_count_every_status() -> None:
    obs = Observations()
    obs.put("a", "before", 1)
    obs.put("b", "before", 5)
    verdicts = judge(
        [
            Prediction("a", "I-1", "before", "x", "w", "s", 1),
            Prediction("b", "I-1", "before", "x", "w", "s", low=0, high=4),
            Prediction("c", "I-1", "before", "x", "w", "s", 1),
        ],
        obs,
    )
    assert [v.status for v in verdicts] == [Status.PASS, Status.FAIL, Status.INCONCLUSIVE]
    assert summary(verdicts) == {"pass": 1, "fail": 1, "inconclusive": 1}
    assert exit_code(verdicts) is ExitCode.CHECK_FAILED


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(observed=finite, expected=finite, tolerance=st.floats(min_value=0, max_value=1e6))
def test_status_agrees_with_the_prediction_contract(observed: float, expected: float, tolerance: float) -> None:
    prediction = _exact(expected, tolerance)
    obs = Observations()
    obs.put(prediction.name, prediction.phase, observed)
    verdict = judge_one(prediction, obs)
    assert (verdict.status is Status.PASS) == prediction.admits(observed)
    assert verdict.status is not Status.INCONCLUSIVE


@given(low=finite, span=st.floats(min_value=0, max_value=1e6), observed=finite)
def test_bounds_are_inclusive(low: float, span: float, observed: float) -> None:
    prediction = Prediction("x", "I-6", "after", "u", "w", "s", low=low, high=low + span)
    obs = Observations()
    obs.put("x", "after", observed)
    assert (judge_one(prediction, obs).status is Status.PASS) == (low <= observed <= low + span)


def test_the_sentence_names_the_bound_with_its_unit() -> None:
    obs = Observations()
    obs.put("kern.kstack_pages", "before", 4)
    obs.put("nr", "peak", 1072)
    pages = Prediction("kern.kstack_pages", "I-0", "before", "pages", "KSTACK_PAGES of a KASAN kernel", "sysctl", 6)
    assert judge_one(pages, obs).why == (
        "Observed 4 pages, but the model predicts exactly 6 pages (off by -2 pages): KSTACK_PAGES of a KASAN kernel."
    )
    peak = Prediction("nr", "LX-5", "peak", "KiB", "at most 71 tasks are alive at once", "s", high=2048)
    assert (
        judge_one(peak, obs).why
        == "Observed 1072 KiB, at most 2048 KiB as predicted: at most 71 tasks are alive at once."
    )
    band = Prediction("nr", "LX-5", "peak", "KiB", "a band", "s", low=1000, high=1050)
    assert "but the model predicts between 1000 and 1050 KiB: a band." in judge_one(band, obs).why


def test_large_values_are_written_in_full() -> None:
    # vm.kvm_free moves in 2 MiB steps: "-1.04858e+07" bytes hides the very number a kernel developer checks.
    obs = Observations()
    obs.put("vm.kvm_free", "delta", -2097152)
    kva = Prediction("vm.kvm_free", "I-12", "delta", "bytes", "it only shrinks", "s", low=-10485760, high=0)
    verdict = judge_one(kva, obs)
    assert verdict.expected == "in [-10485760, 0]"
    assert verdict.why == "Observed -2097152 bytes, between -10485760 and 0 bytes as predicted: it only shrinks."
    obs.put("ratio", "plateau", 0.8)
    fill = Prediction("ratio", "I-4", "plateau", "", "at most 4/5", "s", high=0.8)
    assert judge_one(fill, obs).why == "Observed 0.8, at most 0.8 as predicted: at most 4/5."
