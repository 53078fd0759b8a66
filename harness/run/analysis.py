"""Judge a stored run: raw outputs → observations → the model's predictions → verdicts → a RunResult.

This is the tail of every ``harness run`` and all of ``harness analyze RUN_DIR``: it reads only the run directory
(metadata.json, raw/, console.log), so a model change re-judges old runs without a VM.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import harness.run.freebsd_analysis as freebsd_analysis
from harness.errors import ConfigError, UsageError
from harness.model.linux_task import KSTACK, TASKS, LinuxTaskModel
from harness.report.results import Crash, RunResult
from harness.run.crashes import find_crash
from harness.run.rundir import RunDir
from harness.steps import step
from harness.validate import linux
from harness.validate.observed import Observations
from harness.validate.verdicts import Verdict, judge
from harness.workloads.catalogue import plateau_threads

#: What ``--model KEY=VALUE`` may override, per guest. Every such constant is a non-negative integer.
MODEL_KEYS = {"linuxtest": frozenset({"thread_size_kib"}), "freebsd": freebsd_analysis.MODEL_KEYS}
SNAPSHOT = "snapshot.txt"
SAMPLES = "samples.txt"
STDOUT = "stdout.txt"


def linux_workload(
    run: RunDir, model: LinuxTaskModel, name: str, params: dict[str, Any]
) -> tuple[list[Verdict], Observations]:
    """Verdicts of one workload on the Linux test guest."""
    snapshots = {phase: text for phase in run.raw_phases(name) if (text := run.read_raw(name, phase, SNAPSHOT))}
    obs = linux.observations(snapshots, run.read_raw(name, SAMPLES), where=f"raw/{name}")
    run.write_parsed({"values": obs.values, "series": obs.series}, name, "observations.json")
    tasks = {phase: v for phase in snapshots if (v := obs.get(TASKS, phase)) is not None}
    kstack = {phase: v for phase in snapshots if (v := obs.get(KSTACK, phase)) is not None}
    calibration: dict[str, float] = {}
    if (created := plateau_threads(run.read_raw(name, STDOUT))) is not None:
        calibration["threads_created"] = float(created)
    if "before" in kstack:
        calibration["before_kib"] = kstack["before"]
    predictions = [
        *model.snapshot_predictions(tasks),
        *model.counter_predictions(kstack),
        *model.workload_predictions(name, params, calibration),
    ]
    return judge(predictions, obs, workload=name), obs


def check_model_overrides(guest: str, overrides: dict[str, Any]) -> None:
    """Refuse ``--model`` keys the guest's model does not have (they would be ignored, and the run judged by the
    unchanged model) and values that are not non-negative integers (they would break the model mid-analysis)."""
    known = MODEL_KEYS.get(guest)
    if known is None:
        return  # an unknown guest is refused by analyze itself
    for key, value in overrides.items():
        if key not in known:
            raise UsageError(
                f"--model {key}: the {guest} model has no constant {key!r}", hint=f"known: {', '.join(sorted(known))}"
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UsageError(f"--model {key}={value}: must be a non-negative integer")


def _crash_from(meta: dict[str, Any], console_text: str | None, guest: str) -> Crash | None:
    recorded = meta.get("crash")
    if recorded:
        return Crash(
            title=str(recorded["title"]),
            workload=recorded.get("workload"),
            excerpt=list(recorded.get("excerpt", [])),
            kind=str(recorded.get("kind", "panic")),
            signature=recorded.get("signature"),
        )
    return find_crash(console_text, guest) if console_text else None


def analyze(run: RunDir, *, offline: bool = False, model_overrides: dict[str, Any] | None = None) -> RunResult:
    """Re-parse, re-predict and re-judge everything stored in ``run``."""
    meta = run.metadata()
    guest = str(meta.get("guest", ""))
    arch = str(meta.get("arch", ""))
    overrides = {**meta.get("model", {}), **(model_overrides or {})}
    check_model_overrides(guest, overrides)
    workloads = list(meta.get("workloads", []))
    result = RunResult(
        run_id=run.run_id,
        guest=guest,
        arch=arch,
        release=meta.get("release"),
        generation=meta.get("generation"),
        workloads=[str(w["name"]) for w in workloads],
        started=meta.get("created"),
        finished=meta.get("finished"),
        analyzed_offline=offline,
        error=meta.get("error"),
        metadata={k: meta[k] for k in ("kernel", "patch", "argv") if k in meta},
    )
    if overrides:
        result.metadata["model"] = overrides  # the constants this judgement used, the run's and analyze's
    for entry in workloads:
        if entry.get("status") not in (None, "done", "pending"):
            code = entry.get("exit_status")
            result.notes.append(f"workload {entry['name']}: {entry['status']}" + (f" (exit {code})" if code else ""))
    with step("analyze", run=run.run_id, guest=guest):
        result.crash = _crash_from(meta, run.console_text(), guest)
        if guest == "linuxtest":
            model = LinuxTaskModel.for_arch(arch, thread_size_kib=overrides.get("thread_size_kib"))
            result.generation = "linux-task"
            for entry in workloads:
                if not run.raw_phases(entry["name"]):
                    result.notes.append(f"workload {entry['name']} left no snapshots (it did not run to its end)")
                    continue
                verdicts, obs = linux_workload(run, model, entry["name"], dict(entry.get("params", {})))
                result.verdicts += verdicts
                result.series.update({f"{entry['name']}: {k}": v for k, v in obs.series.items()})
        elif guest == "freebsd":
            analysis = freebsd_analysis.analyze(run, meta, overrides)
            result.generation = analysis.generation
            result.verdicts += analysis.verdicts
            result.series.update(analysis.series)
            result.notes += analysis.notes
        else:
            raise ConfigError(f"{run.path}: metadata names an unknown guest {guest!r}")
    if offline:
        result.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result
