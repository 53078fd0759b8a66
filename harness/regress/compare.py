"""Compare two stored runs A (the reference) and B: which checks regressed, were fixed, still fail, appear in only
one run, or moved beyond their tolerance; whether B crashed where A did not; what differs in their metadata.

Checks are matched by :class:`~harness.regress.runs.CheckKey` (workload, invariant, observable, phase), so a run
that adds a workload or whose model changed an expected value still lines up. Crashes are matched by signature.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ExitCode
from harness.regress.runs import Check, CheckKey, CrashInfo, StoredRun


class Kind(enum.StrEnum):
    """What happened to a check (or the crash) from A to B, most important first (the order of the report)."""

    NEW_CRASH = "new crash"
    REGRESSION = "regression"
    FIX = "fix"
    CRASH_GONE = "crash gone"
    STILL_CRASHING = "still crashing"
    STILL_FAILING = "still failing"
    NO_LONGER_JUDGED = "no longer judged"
    NEWLY_JUDGED = "newly judged"
    ONLY_IN_B = "only in B"
    ONLY_IN_A = "only in A"
    MOVED = "moved"


ORDER = {kind: index for index, kind in enumerate(Kind)}


@dataclass(frozen=True)
class Change:
    kind: Kind
    what: str
    a_status: str | None
    b_status: str | None
    a_observed: float | None = None
    b_observed: float | None = None
    unit: str = ""
    tolerance: float | None = None
    expected: str | None = None
    a_expected: str | None = None
    detail: str = ""

    @property
    def delta(self) -> float | None:
        if self.a_observed is None or self.b_observed is None:
            return None
        return self.b_observed - self.a_observed


@dataclass(frozen=True)
class FactDiff:
    name: str
    a: Any
    b: Any


@dataclass
class Comparison:
    a: str
    b: str
    a_outcome: str
    b_outcome: str
    changes: list[Change] = field(default_factory=list)
    facts: list[FactDiff] = field(default_factory=list)
    unchanged: int = 0

    def of(self, kind: Kind) -> list[Change]:
        return [c for c in self.changes if c.kind is kind]

    def counts(self) -> dict[str, int]:
        return {kind.value: n for kind in Kind if (n := len(self.of(kind)))}

    #: B's run ended in an infrastructure error (boot failed, SSH refused): its missing checks prove nothing.
    b_error: str | None = None

    @property
    def exit_code(self) -> ExitCode:
        """3 when B crashed where A did not (or crashed differently), 1 when a check regressed (failing in B and
        not failing in A, including a check A never had), 2 when B errored, else 0: the order CI must act on, as
        for a run. "No regression" is never said of a run that did not get to judge its checks."""
        if self.of(Kind.NEW_CRASH):
            return ExitCode.KERNEL_CRASH
        if self.of(Kind.REGRESSION):
            return ExitCode.CHECK_FAILED
        if self.b_error is not None:
            return ExitCode.INFRA
        return ExitCode.OK

    @property
    def verdict(self) -> str:
        return {
            ExitCode.KERNEL_CRASH: "B crashed where A did not",
            ExitCode.CHECK_FAILED: "B regressed against A",
            ExitCode.INFRA: "B errored, its checks were not judged",
        }.get(self.exit_code, "no regression")


def moved_beyond_tolerance(a: Check, b: Check) -> bool:
    """The observed value changed by more than the check admits around its expected value."""
    if a.observed is None or b.observed is None:
        return False
    return abs(b.observed - a.observed) > max(a.tolerance, b.tolerance)


def _kind(a: Check, b: Check) -> Kind | None:
    if b.status == "fail":
        return Kind.STILL_FAILING if a.status == "fail" else Kind.REGRESSION
    if a.status == "fail":
        return Kind.FIX if b.status == "pass" else Kind.NO_LONGER_JUDGED
    if a.status != b.status:
        return Kind.NO_LONGER_JUDGED if b.status == "inconclusive" else Kind.NEWLY_JUDGED
    return Kind.MOVED if moved_beyond_tolerance(a, b) else None


def _paired(key: CheckKey, a: Check, b: Check, kind: Kind) -> Change:
    return Change(
        kind=kind,
        what=key.label(),
        a_status=a.status,
        b_status=b.status,
        a_observed=a.observed,
        b_observed=b.observed,
        unit=b.unit or a.unit,
        tolerance=max(a.tolerance, b.tolerance),
        expected=b.expected,
        a_expected=a.expected,
        detail=b.why if kind in (Kind.REGRESSION, Kind.STILL_FAILING) else "",
    )


def _single(key: CheckKey, check: Check, kind: Kind) -> Change:
    a_side = kind is Kind.ONLY_IN_A
    return Change(
        kind=kind,
        what=key.label(),
        a_status=check.status if a_side else None,
        b_status=None if a_side else check.status,
        a_observed=check.observed if a_side else None,
        b_observed=None if a_side else check.observed,
        unit=check.unit,
        tolerance=check.tolerance,
        expected=check.expected,
        detail=check.why if check.status == "fail" else "",
    )


def compare_checks(a: dict[CheckKey, Check], b: dict[CheckKey, Check]) -> tuple[list[Change], int]:
    changes: list[Change] = []
    unchanged = 0
    for key in a.keys() | b.keys():
        if key not in b:
            changes.append(_single(key, a[key], Kind.ONLY_IN_A))
        elif key not in a:
            # A failing check A never judged (a new workload, a model that added a check) is a regression all the
            # same: it is "a check A did not fail" that fails in B.
            kind = Kind.REGRESSION if b[key].status == "fail" else Kind.ONLY_IN_B
            changes.append(_single(key, b[key], kind))
        elif (paired := _kind(a[key], b[key])) is not None:
            changes.append(_paired(key, a[key], b[key], paired))
        else:
            unchanged += 1
    return changes, unchanged


def _crash_text(crash: CrashInfo) -> str:
    where = f" during {crash.workload}" if crash.workload else ""
    return f"{crash.title}{where} [{crash.signature}]"


def compare_crashes(a: CrashInfo | None, b: CrashInfo | None) -> list[Change]:
    if a is None and b is None:
        return []
    if b is None:
        assert a is not None
        return [Change(Kind.CRASH_GONE, "guest kernel crash", "crash", None, detail=_crash_text(a))]
    if a is None:
        return [Change(Kind.NEW_CRASH, "guest kernel crash", None, "crash", detail=_crash_text(b))]
    if a.signature == b.signature:
        return [Change(Kind.STILL_CRASHING, "guest kernel crash", "crash", "crash", detail=_crash_text(b))]
    # A different signature is a different bug: B has a crash A did not have (and A's is gone).
    return [
        Change(Kind.NEW_CRASH, "guest kernel crash", "other crash", "crash", detail=_crash_text(b)),
        Change(Kind.CRASH_GONE, "guest kernel crash", "crash", "other crash", detail=_crash_text(a)),
    ]


def compare_facts(a: dict[str, Any], b: dict[str, Any]) -> list[FactDiff]:
    names = list(a) + [name for name in b if name not in a]
    return [FactDiff(name, a.get(name), b.get(name)) for name in names if a.get(name) != b.get(name)]


def _sort_key(change: Change) -> tuple[int, float, str]:
    # Within a kind, the biggest movement first, then by name so the order is stable.
    delta = change.delta
    return ORDER[change.kind], -abs(delta) if delta is not None else 0.0, change.what


def compare(a: StoredRun, b: StoredRun) -> Comparison:
    changes, unchanged = compare_checks(a.checks, b.checks)
    changes += compare_crashes(a.crash, b.crash)
    return Comparison(
        a=str(a.path),
        b=str(b.path),
        a_outcome=a.outcome,
        b_outcome=b.outcome,
        changes=sorted(changes, key=_sort_key),
        facts=compare_facts(a.facts, b.facts),
        unchanged=unchanged,
        b_error=b_error(b),
    )


def b_error(run: StoredRun) -> str | None:
    """Why the run errored (its ``error``, or its outcome/exit code saying so), None when it did not."""
    if run.error:
        return run.error
    if run.outcome == "error" or run.exit_code == ExitCode.INFRA:
        return f"outcome {run.outcome or 'error'}, exit {run.exit_code}"
    return None


def to_json(comparison: Comparison, a: StoredRun, b: StoredRun) -> dict[str, Any]:
    def change(c: Change) -> dict[str, Any]:
        return {
            "kind": c.kind.value,
            "check": c.what,
            "a": {"status": c.a_status, "observed": c.a_observed},
            "b": {"status": c.b_status, "observed": c.b_observed},
            "delta": c.delta,
            "unit": c.unit,
            "tolerance": c.tolerance,
            "expected": c.expected,
            "a_expected": c.a_expected,
            "detail": c.detail,
        }

    return {
        "a": {"run_dir": comparison.a, "run_id": a.run_id, "outcome": a.outcome, "error": a.error},
        "b": {"run_dir": comparison.b, "run_id": b.run_id, "outcome": b.outcome, "error": b.error},
        "verdict": comparison.verdict,
        "exit_code": int(comparison.exit_code),
        "counts": {**comparison.counts(), "unchanged": comparison.unchanged},
        "changes": [change(c) for c in comparison.changes],
        "metadata": [{"name": f.name, "a": f.a, "b": f.b} for f in comparison.facts],
    }
