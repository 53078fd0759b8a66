"""The flaky-aware verdict over repeats of one cell (``harness run --repeat N``, nightly cells).

The rule, after syzkaller's repeat-and-threshold (a crash reproduced once is a crash; a check that fails in some
repeats and passes in others is flaky, not failed):

- A repeat is one run's outcome: ``crashed``, ``failed``, ``passed`` or ``error`` (infrastructure), and the status
  of each check it judged (``pass``, ``fail``, ``inconclusive``).
- A check fails when it failed in every repeat that judged it; it is flaky when it failed in some and passed in
  others (its fail rate is failures / repeats that judged it); it passes when every judging repeat passed it;
  it is inconclusive when no repeat judged it.
- The cell crashes when any repeat crashed. Otherwise it errors when no repeat finished (every one had an
  infrastructure error); otherwise it fails when any check fails, is flaky when any check is flaky, and passes.
  Repeats that errored are counted and shown, but they neither pass nor fail a check.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from harness.errors import ExitCode


class CellVerdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    FLAKY = "flaky"
    CRASH = "crash"
    ERROR = "error"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Repeat:
    """One repeat's outcome (``RunResult.outcome``) and each check's status (``Verdict.status.value``)."""

    outcome: str
    checks: Mapping[str, str] = field(default_factory=dict)
    crash_title: str | None = None


@dataclass(frozen=True)
class CheckTally:
    check: str
    passed: int
    failed: int
    inconclusive: int

    @property
    def judged(self) -> int:
        return self.passed + self.failed

    @property
    def fail_rate(self) -> float:
        return self.failed / self.judged if self.judged else 0.0

    @property
    def verdict(self) -> CellVerdict:
        if not self.judged:
            return CellVerdict.INCONCLUSIVE
        if self.failed == self.judged:
            return CellVerdict.FAIL
        if self.failed:
            return CellVerdict.FLAKY
        return CellVerdict.PASS


@dataclass(frozen=True)
class FlakySummary:
    verdict: CellVerdict
    repeats: int
    crashed: int
    errored: int
    checks: tuple[CheckTally, ...]
    crash_titles: tuple[str, ...] = ()

    @property
    def flaky_checks(self) -> list[CheckTally]:
        return [c for c in self.checks if c.verdict is CellVerdict.FLAKY]

    @property
    def failed_checks(self) -> list[CheckTally]:
        return [c for c in self.checks if c.verdict is CellVerdict.FAIL]

    @property
    def exit_code(self) -> ExitCode:
        """Crash 3, failure 1, nothing finished 2; a flaky or passing cell is 0 (flakiness is reported, not fatal)."""
        return {
            CellVerdict.CRASH: ExitCode.KERNEL_CRASH,
            CellVerdict.FAIL: ExitCode.CHECK_FAILED,
            CellVerdict.ERROR: ExitCode.INFRA,
        }.get(self.verdict, ExitCode.OK)

    def describe(self) -> str:
        """One line for a terminal or a report cell."""
        head = f"{self.verdict.value} over {self.repeats} repeat{'s' if self.repeats != 1 else ''}"
        parts = []
        if self.crashed:
            parts.append(f"{self.crashed} crashed")
        if self.errored:
            parts.append(f"{self.errored} infrastructure error{'s' if self.errored != 1 else ''}")
        for tally in self.flaky_checks:
            parts.append(f"{tally.check} flaky (failed {tally.failed}/{tally.judged}, {tally.fail_rate:.0%})")
        for tally in self.failed_checks:
            parts.append(f"{tally.check} failed {tally.failed}/{tally.judged}")
        return head + (": " + "; ".join(parts) if parts else "")


def tally_checks(repeats: Iterable[Repeat]) -> tuple[CheckTally, ...]:
    counts: dict[str, list[int]] = {}
    for repeat in repeats:
        for check, status in repeat.checks.items():
            slot = counts.setdefault(check, [0, 0, 0])
            slot[{"pass": 0, "fail": 1}.get(status, 2)] += 1
    return tuple(CheckTally(check, p, f, i) for check, (p, f, i) in sorted(counts.items()))


def summarise(repeats: Sequence[Repeat]) -> FlakySummary:
    """The cell's verdict by the rule in this module's docstring."""
    if not repeats:
        raise ValueError("a cell needs at least one repeat")
    crashed = sum(1 for r in repeats if r.outcome == "crashed")
    errored = sum(1 for r in repeats if r.outcome == "error")
    checks = tally_checks(repeats)
    titles = tuple(dict.fromkeys(r.crash_title for r in repeats if r.crash_title))
    if crashed:
        verdict = CellVerdict.CRASH
    elif errored == len(repeats):
        verdict = CellVerdict.ERROR
    elif any(c.verdict is CellVerdict.FAIL for c in checks):
        verdict = CellVerdict.FAIL
    elif any(c.verdict is CellVerdict.FLAKY for c in checks):
        verdict = CellVerdict.FLAKY
    elif checks and all(c.verdict is CellVerdict.INCONCLUSIVE for c in checks):
        verdict = CellVerdict.INCONCLUSIVE
    else:
        verdict = CellVerdict.PASS
    return FlakySummary(verdict, len(repeats), crashed, errored, checks, titles)
