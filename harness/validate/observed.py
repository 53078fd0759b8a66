"""What a run showed, as named observables per phase and as time series: the input ``judge`` compares with the model.

Names are the ones predictions use (``harness.model.prediction.Prediction.name``). Phases are ``before``,
``plateau``, ``after``; ``delta`` is derived (after − before) unless it was observed directly, and
``plateau_delta`` (plateau − before) likewise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Derived phases: name → (minuend phase, subtrahend phase).
DERIVED_PHASES = {"delta": ("after", "before"), "plateau_delta": ("plateau", "before")}


@dataclass
class Observations:
    """Observed values: ``values[name][phase]``, and ``series[name]`` as (seconds since start, value) pairs."""

    values: dict[str, dict[str, float]] = field(default_factory=dict)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    #: Where each value came from (``raw/plateau/vmstat.txt``), for the report.
    sources: dict[str, str] = field(default_factory=dict)

    def put(self, name: str, phase: str, value: float, source: str | None = None) -> None:
        self.values.setdefault(name, {})[phase] = float(value)
        if source:
            self.sources[f"{name}@{phase}"] = source

    def get(self, name: str, phase: str) -> float | None:
        phases = self.values.get(name, {})
        if phase in phases:
            return phases[phase]
        derived = DERIVED_PHASES.get(phase)
        if derived and derived[0] in phases and derived[1] in phases:
            return phases[derived[0]] - phases[derived[1]]
        if phase == "peak" and self.series.get(name):
            return max(value for _, value in self.series[name])
        return None

    def merge(self, other: Observations) -> None:
        for name, phases in other.values.items():
            self.values.setdefault(name, {}).update(phases)
        self.series.update(other.series)
        self.sources.update(other.sources)
