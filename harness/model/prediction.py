"""What the model promises about a run: named observables with an exact value or a bound, and their invariant.

This is the contract between ``harness.model`` (which makes predictions) and ``harness.validate`` (which
compares them with what a real kernel showed). Keep it plain data so a stored run can be re-judged offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prediction:
    """One observable the model predicts.

    ``name`` is a stable id that ``harness.validate`` maps to an observed value (e.g.
    ``"kstack_cache.used_plus_free"``, ``"kstack_object.resident_pages"``, ``"vm_object.req_per_thread"``).
    ``phase`` says when it is observed: ``"before"``, ``"plateau"``, ``"after"``, ``"delta"`` (after − before) or
    ``"plateau_delta"`` (plateau − before: what a held workload added).
    Either ``expected`` is set (an exact value, ± ``tolerance``), or one or both of ``low``/``high`` (inclusive).
    """

    name: str
    invariant: str
    phase: str
    unit: str
    why: str
    source: str
    expected: float | None = None
    low: float | None = None
    high: float | None = None
    tolerance: float = 0.0
    inputs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.expected is None and self.low is None and self.high is None:
            raise ValueError(f"prediction {self.name} has neither a value nor a bound")

    def admits(self, observed: float) -> bool:
        """True when ``observed`` satisfies the prediction."""
        if self.expected is not None:
            return abs(observed - self.expected) <= self.tolerance
        if self.low is not None and observed < self.low:
            return False
        return not (self.high is not None and observed > self.high)

    def describe(self) -> str:
        """``= 1000 ± 4``, ``≥ 128``, ``in [0, 10485760]``: integers in full, as a kernel developer reads them."""
        if self.expected is not None:
            tol = f" ± {number(self.tolerance)}" if self.tolerance else ""
            return f"= {number(self.expected)}{tol}"
        if self.low is not None and self.high is not None:
            return f"in [{number(self.low)}, {number(self.high)}]"
        if self.low is not None:
            return f"≥ {number(self.low)}"
        return f"≤ {number(self.high)}"


def number(value: float | None) -> str:
    """A value as a kernel developer reads it: integers in full (``-10485760`` bytes, not ``-1.04858e+07``)."""
    if value is None:
        return "?"
    if float(value).is_integer() and abs(value) < 1e18:
        return str(int(value))
    return f"{value:.6g}"
