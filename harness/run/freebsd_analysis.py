"""The FreeBSD half of ``analyze``: raw outputs → observations (``harness.validate.freebsd``) → the generation
(fingerprint) → the model's predictions for that generation, calibrated with the guest's own sysctls → verdicts.

The fingerprint and the predictions belong to ``harness.model`` (and ``harness.guests.freebsd``); this module only
wires them to the run directory, through the two functions ``_generation`` and ``_predictions``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from harness.model.prediction import Prediction
from harness.run.rundir import RunDir
from harness.validate import freebsd
from harness.validate.observed import Observations
from harness.validate.verdicts import Verdict, judge

FINGERPRINT = "fingerprint"


@dataclass
class FreeBSDAnalysis:
    generation: str | None
    verdicts: list[Verdict] = field(default_factory=list)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _snapshot_files(run: RunDir, *parts: str) -> dict[str, str]:
    return {name: text for name in freebsd.SNAPSHOT_FILES if (text := run.read_raw(*parts, name)) is not None}


def _model_module(name: str) -> Any:
    """``harness.model.<name>``, imported when used (the model package grows independently of the pipeline)."""
    return importlib.import_module(f"harness.model.{name}")


def _generation(run: RunDir, meta: dict[str, Any]) -> tuple[str | None, str | None]:
    """The generation (G0-list … G3) and how it was found: the model's fingerprint of the stored nm and sysctl
    outputs, else what the run recorded."""
    model_fingerprint = _model_module("fingerprint")
    nm_text = run.read_raw(FINGERPRINT, "nm.txt")
    sysctl_text = run.read_raw(FINGERPRINT, "sysctl.txt")
    if nm_text is not None or sysctl_text is not None:
        found = model_fingerprint.fingerprint(nm_text=nm_text, sysctl_text=sysctl_text)
        return found.generation, found.reason
    recorded = meta.get("generation")
    return (str(recorded), "recorded by the run") if recorded else (None, None)


def _predictions(
    generation: str,
    arch: str,
    sysctl_text: str | None,
    workload: str | None,
    params: dict[str, Any],
    observations: Observations,
    overrides: dict[str, Any],
) -> list[Prediction]:
    model_predict = _model_module("predict")
    return list(
        model_predict.predictions(
            generation=generation,
            arch=arch,
            sysctl_text=sysctl_text,
            workload=workload,
            params=params,
            observations=observations,
            overrides=overrides,
        )
    )


def analyze(run: RunDir, meta: dict[str, Any], overrides: dict[str, Any]) -> FreeBSDAnalysis:
    arch = str(meta.get("arch", ""))
    try:
        generation, reason = _generation(run, meta)
    except ImportError as exc:
        return FreeBSDAnalysis(None, notes=[f"no generation fingerprint available: {exc}"])
    result = FreeBSDAnalysis(generation)
    if generation is None:
        result.notes.append("no fingerprint outputs (raw/fingerprint/) and no recorded generation")
        return result
    result.notes.append(f"generation {generation}: {reason}")
    fingerprint_sysctl = run.read_raw(FINGERPRINT, "sysctl.txt")
    # The static checks of the fingerprinted kernel (arch constants, cache sizes, KVA bounds) need no workload.
    static = freebsd.observations({"before": _snapshot_files(run, FINGERPRINT)}, {})
    scopes: list[tuple[str | None, dict[str, Any], Observations, str | None]] = [(None, {}, static, fingerprint_sysctl)]
    for entry in meta.get("workloads", []):
        name = str(entry["name"])
        phases = run.raw_phases(name)
        if not phases:
            result.notes.append(f"workload {name} left no snapshots (it did not run to its end)")
            continue
        snapshots = {phase: _snapshot_files(run, name, phase) for phase in phases}
        obs = freebsd.observations(snapshots, freebsd.parse_samples(run.read_raw(name, "samples.txt") or ""))
        run.write_parsed({"values": obs.values, "series": obs.series}, name, "observations.json")
        scopes.append((name, dict(entry.get("params", {})), obs, snapshots.get("before", {}).get("sysctl.txt")))
        result.series.update({f"{name}: {k}": v for k, v in obs.series.items()})
    for workload, params, obs, sysctl_text in scopes:
        try:
            predictions = _predictions(generation, arch, sysctl_text, workload, params, obs, overrides)
        except ImportError as exc:
            result.notes.append(f"the model has no predictions entry point yet: {exc}")
            break
        result.verdicts += judge(predictions, obs, workload=workload)
    return result
