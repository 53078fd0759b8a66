"""Judge predictions against observations: one verdict per check, with invariant id, expected, observed, why."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import ExitCode
from harness.model.prediction import Prediction, number
from harness.validate.observed import Observations


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check. ``expected`` is the prediction in words (``= 8192 ± 64``)."""

    check: str
    name: str
    phase: str
    invariant: str
    status: Status
    expected: str
    observed: float | None
    unit: str
    why: str
    source: str
    expected_value: float | None = None
    low: float | None = None
    high: float | None = None
    tolerance: float = 0.0
    workload: str | None = None

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS


def describe(prediction: Prediction) -> str:
    """The prediction's value or bound, integers in full (``Prediction.describe``)."""
    return prediction.describe()


def _fmt(value: float, unit: str) -> str:
    return f"{number(value)} {unit}".strip()


def _predicted(prediction: Prediction) -> str:
    """The prediction in words, with its unit: ``928 ± 64 KiB``, ``exactly 4 pages``, ``at most 2048 KiB``."""
    unit = prediction.unit
    if prediction.expected is not None:
        if prediction.tolerance:
            return f"{number(prediction.expected)} ± {_fmt(prediction.tolerance, unit)}"
        return f"exactly {_fmt(prediction.expected, unit)}"
    if prediction.low is not None and prediction.high is not None:
        return f"between {number(prediction.low)} and {_fmt(prediction.high, unit)}"
    if prediction.low is not None:
        return f"at least {_fmt(prediction.low, unit)}"
    assert prediction.high is not None  # a Prediction has a value or a bound
    return f"at most {_fmt(prediction.high, unit)}"


def _why(prediction: Prediction, observed: float | None, status: Status) -> str:
    """One sentence: what was seen, against what, and the model's reason."""
    reason = prediction.why.rstrip(".")
    predicted = _predicted(prediction)
    if status is Status.INCONCLUSIVE:
        return (
            f"Not judged: no {prediction.phase} observation of {prediction.name} was collected "
            f"(the model predicts {predicted}: {reason})."
        )
    assert observed is not None
    seen = _fmt(observed, prediction.unit)
    if status is Status.PASS:
        within = "within " if prediction.expected is not None and prediction.tolerance else ""
        return f"Observed {seen}, {within}{predicted} as predicted: {reason}."
    off = ""
    if prediction.expected is not None:
        diff = observed - prediction.expected
        off = f" (off by {'+' if diff > 0 else ''}{_fmt(diff, prediction.unit)})"
    return f"Observed {seen}, but the model predicts {predicted}{off}: {reason}."


def judge_one(prediction: Prediction, observations: Observations, workload: str | None = None) -> Verdict:
    observed = observations.get(prediction.name, prediction.phase)
    status = Status.INCONCLUSIVE
    if observed is not None:
        status = Status.PASS if prediction.admits(observed) else Status.FAIL
    return Verdict(
        check=f"{prediction.invariant}:{prediction.name}@{prediction.phase}",
        name=prediction.name,
        phase=prediction.phase,
        invariant=prediction.invariant,
        status=status,
        expected=describe(prediction),
        observed=observed,
        unit=prediction.unit,
        why=_why(prediction, observed, status),
        source=prediction.source,
        expected_value=prediction.expected,
        low=prediction.low,
        high=prediction.high,
        tolerance=prediction.tolerance,
        workload=workload,
    )


def judge(predictions: Iterable[Prediction], observations: Observations, workload: str | None = None) -> list[Verdict]:
    """A verdict for every prediction, in the order given."""
    return [judge_one(p, observations, workload) for p in predictions]


def summary(verdicts: Iterable[Verdict]) -> dict[str, int]:
    counts = {status.value: 0 for status in Status}
    for verdict in verdicts:
        counts[verdict.status.value] += 1
    return counts


def exit_code(verdicts: Iterable[Verdict]) -> ExitCode:
    """0 when no check failed (inconclusive checks do not fail a run), 1 when any did."""
    return ExitCode.CHECK_FAILED if any(v.status is Status.FAIL for v in verdicts) else ExitCode.OK
