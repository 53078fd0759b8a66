"""Judge a stored run: raw outputs → observations → the model's predictions → verdicts → a RunResult.

This is the tail of every ``harness run`` and all of ``harness analyze RUN_DIR``: it reads only the run directory
(metadata.json, raw/, console.log), so a model change re-judges old runs without a VM. What is particular to a
guest (its model, its observables, its crash lines) is its guest kind's (``harness.run.kinds``).
"""

from __future__ import annotations

import datetime as dt

from harness.report import timeline
from harness.report.results import Crash, RunResult
from harness.run.kinds import registry
from harness.run.kinds.base import GuestKind, check_model_overrides
from harness.run.metadata import RunMetadata, WorkloadStatus
from harness.run.request import ModelOverrides
from harness.run.rundir import STEPS, RunDir
from harness.steps import step
from harness.workloads.catalogue import load_catalogue


def _crash_from(meta: RunMetadata, console_text: str | None, kind: GuestKind) -> Crash | None:
    recorded = meta.crash
    if recorded:
        return Crash(
            title=recorded.title,
            workload=recorded.workload,
            excerpt=list(recorded.excerpt),
            kind=recorded.kind,
            signature=recorded.signature,
        )
    return kind.find_crash(console_text) if console_text else None


def check_params(meta: RunMetadata) -> None:
    """Stored workload parameters held to the catalogue's types and bounds, before anything is judged: a run
    directory from elsewhere may say ``threads: "abc"`` or 10^30 (the model would fail mid-analysis, the plots
    divide by a zero-width band). A workload the catalogue does not know keeps its parameters as stored."""
    catalogue = load_catalogue()
    for entry in meta.workloads:
        if entry.name in catalogue.workloads:
            catalogue.get(entry.name).with_params(dict(entry.params))


def analyze(run: RunDir, *, offline: bool = False, model_overrides: ModelOverrides | None = None) -> RunResult:
    """Re-parse, re-predict and re-judge everything stored in ``run``."""
    meta = run.metadata()
    kind = registry.of_run(meta.guest, str(run.path))
    check_params(meta)
    overrides = {**meta.model, **(model_overrides or {})}
    check_model_overrides(kind, overrides)
    result = RunResult(
        run_id=run.run_id,
        guest=meta.guest,
        arch=meta.arch,
        release=meta.release,
        generation=meta.generation,
        workloads=[w.name for w in meta.workloads],
        started=meta.created,
        finished=meta.finished,
        analyzed_offline=offline,
        error=meta.error,
        metadata=meta.shown(),
        timeline=timeline.read(run.path / STEPS),
    )
    start = (meta.guest_facts or {}).get("vm_start")
    if isinstance(start, dict):
        result.metadata["vm_start"] = start  # how the VM started: boot or restore, seconds, snapshot
    if overrides:
        result.metadata["model"] = overrides  # the constants this judgement used, the run's and analyze's
    for entry in meta.workloads:
        if entry.status not in (WorkloadStatus.DONE, WorkloadStatus.PENDING):
            code = entry.exit_status
            result.notes.append(f"workload {entry.name}: {entry.status}" + (f" (exit {code})" if code else ""))
    with step("analyze", run=run.run_id, guest=meta.guest):
        result.crash = _crash_from(meta, run.console_text(), kind)
        analysis = kind.analyze(run, meta, overrides)
        result.generation = analysis.generation
        result.verdicts += analysis.verdicts
        result.series.update(analysis.series)
        result.notes += analysis.notes
    if offline:
        result.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result
