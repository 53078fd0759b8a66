"""The FreeBSD half of ``analyze``: raw outputs → observations (``harness.validate.freebsd``) → the generation
(``harness.guests.freebsd.fingerprint``) → the model's predictions for that generation, calibrated with the
guest's own sysctls (``ArchConstants.from_sysctls``) and the workload's real counts → verdicts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.errors import HarnessError
from harness.guests.freebsd import fingerprint as fp
from harness.model.arch import ArchConstants
from harness.model.predict import WORKLOADS, WorkloadParams, predict
from harness.model.prediction import Prediction
from harness.parse.sysctl import parse_sysctl
from harness.run.kinds.base import GuestAnalysis
from harness.run.metadata import RunMetadata
from harness.run.request import ModelOverrides
from harness.run.rundir import RunDir
from harness.validate import freebsd
from harness.validate.observed import Observations
from harness.validate.verdicts import judge
from harness.workloads.catalogue import ParamValue, plateau_threads

FINGERPRINT = "fingerprint"
#: Catalogue parameter → the model's WorkloadParams field, per workload.
PARAM_MAP = {
    "thread-hold": {"threads": "threads"},
    "thread-churn": {"threads_per_round": "threads", "rounds": "rounds", "concurrency": "concurrency"},
    "fork-churn": {"forks": "forks", "concurrency": "concurrency"},
    "burst-and-idle": {"threads": "burst"},
    "swap-pressure": {"procs": "procs", "threads": "threads"},
}
ARCH_FIELDS = {f.name for f in dataclasses.fields(ArchConstants)} - {"arch"}
PARAM_FIELDS = {f.name for f in dataclasses.fields(WorkloadParams)}
#: What ``--model KEY=VALUE`` may override on a FreeBSD run: an arch constant or a workload parameter.
MODEL_KEYS = frozenset(ARCH_FIELDS | PARAM_FIELDS)


def _snapshot_files(run: RunDir, *parts: str) -> dict[str, str]:
    return {name: text for name in freebsd.SNAPSHOT_FILES if (text := run.read_raw(*parts, name)) is not None}


def generation_of(nm_text: str | None, sysctl_text: str | None) -> tuple[str | None, str]:
    """The generation from stored outputs: the symbols (with the sysctl cross-check) when ``nm`` output is there;
    from a ``sysctl -a`` alone only G0-list is certain (``vm.kstacks`` exists exactly on G0-list kernels)."""
    names = "\n".join(parse_sysctl(sysctl_text).values) if sysctl_text else ""
    if nm_text and nm_text.strip():
        found = fp.fingerprint(nm_text, names)
        return found.generation, found.reason
    if sysctl_text:
        if "vm.kstacks" in fp.sysctls_from_names(names):
            return "G0-list", "sysctl vm.kstacks present (the linked-list stack cache, kstack-model-spec §4.7)"
        return None, "no nm output, and without vm.kstacks the sysctls cannot tell G0-uma, G1, G2 and G3 apart"
    return None, "no fingerprint outputs (raw/fingerprint/)"


def _generation(run: RunDir, meta: RunMetadata) -> tuple[str | None, str]:
    nm_text = run.read_raw(FINGERPRINT, "nm.txt")
    sysctl_text = run.read_raw(FINGERPRINT, "sysctl.txt")
    if nm_text is None and sysctl_text is None and meta.generation:
        return meta.generation, "recorded by the run"
    return generation_of(nm_text, sysctl_text)


def _arch(
    meta: RunMetadata, sysctl_text: str | None, overrides: ModelOverrides, generation: str | None = None
) -> ArchConstants:
    sysctls = {name: value.text for name, value in parse_sysctl(sysctl_text).values.items()} if sysctl_text else {}
    arch_overrides = {k: int(v) for k, v in overrides.items() if k in ARCH_FIELDS}
    return ArchConstants.from_sysctls(meta.arch or "amd64", sysctls, generation, **arch_overrides)


#: Observation at ``before`` → the WorkloadParams field that conditions the predictions on it (conditional.py).
START_STATE = {
    "kstack_cache.used": "start_used",
    "kstack_cache.free": "start_free",
    "uma.kstack_cache.bucket_size": "start_bucket_size",
    "vm.kstacks": "start_kstacks",
}


def start_state(obs: Observations) -> dict[str, int]:
    """The stack-cache state the ``before`` snapshot showed: kstack_cache USED and FREE (together or not at all)
    with the bucket size when present, and G0-list's vm.kstacks."""
    found = {field: obs.get(name, "before") for name, field in START_STATE.items()}
    if found["start_used"] is None or found["start_free"] is None:
        found = {"start_kstacks": found["start_kstacks"]}
    return {field: int(value) for field, value in found.items() if value is not None and value >= 0}


def workload_params(
    name: str,
    params: dict[str, ParamValue],
    stdout: str | None,
    overrides: ModelOverrides,
    start: dict[str, Any] | None = None,
) -> WorkloadParams:
    """The model's parameters: the cache state before the workload and what the boot probes decided (``start``),
    then the catalogue's, then the count the program really reached, then overrides."""
    values: dict[str, Any] = dict(start or {})
    for ours, theirs in PARAM_MAP.get(name, {}).items():
        if isinstance(params.get(ours), int):
            values[theirs] = params[ours]
    created = plateau_threads(stdout)
    if created is not None and name in ("thread-hold", "burst-and-idle"):
        values["threads" if name == "thread-hold" else "burst"] = created
    values.update({k: v for k, v in overrides.items() if k in PARAM_FIELDS})
    return WorkloadParams(**values)


def predictions_for(generation: str, arch: ArchConstants, name: str, params: WorkloadParams) -> list[Prediction]:
    return predict(generation, arch, name, params)


def _add_ddb(run: RunDir, name: str, obs: Observations) -> None:
    """DDB captures of the plateau (``raw/<workload>/ddb/NN-<slug>.txt`` plus the commands in transcript order)."""
    transcript = run.read_raw(name, "ddb", "transcript.txt")
    if not transcript:
        return
    captures: dict[str, str] = {}
    for block in transcript.split("db> ")[1:]:
        command, _, output = block.partition("\n")
        captures[command.strip()] = output
    values = freebsd.ddb_values(
        captures, obs.get("kern.kstack_pages", "plateau"), obs.get("kstack_cache.used_plus_free", "plateau")
    )
    for key, value in values.items():
        obs.put(key, "plateau", value, source=f"raw/{name}/ddb/transcript.txt")


def object_types(run: RunDir, generation: str | None) -> tuple[tuple[str, ...], list[str]]:
    """The TP letters the kstack object may have on this kernel, and what the report must say about it: on G3 the
    type is probed from the boot-time ``vmstat -o`` (review M5); undecided, both are admitted and the note says so."""
    types = freebsd.KSTACK_OBJECT_TYPES.get(generation or "", freebsd.ANY_KSTACK_OBJECT_TYPE)
    if len(types) == 1:
        return types, []
    probed, evidence = freebsd.kstack_object_type(run.read_raw(FINGERPRINT, "vmstat-o.txt") or "")
    if probed is not None:
        return (probed,), [f"kstack object type detected: {probed} ({evidence})"]
    return types, [f"assumption: kstack object type sw or ph, both admitted ({evidence})"]


def item_size(run: RunDir) -> tuple[int | None, list[str]]:
    """Which kstack_cache item size the booted kernel uses (review M5), in bytes when the boot-time ``vmstat -z``
    decides it, and the report's note. Undecided, the model admits both sizes and its ``why`` says so."""
    sysctl_text = run.read_raw(FINGERPRINT, "sysctl.txt") or ""
    vmstat_z = run.read_raw(FINGERPRINT, "vmstat-z.txt") or ""
    layout, evidence = freebsd.kstack_cache_item_size(
        vmstat_z, freebsd.sysctl_values(sysctl_text) if sysctl_text else {}
    )
    if layout is None:
        return None, [f"assumption: kstack_cache item size undecided, both sizes admitted ({evidence})"]
    size = freebsd.zone_values(vmstat_z).get("kstack_cache.size")
    return (int(size) if size is not None else None), [f"kstack_cache item size detected: {layout} ({evidence})"]


def probed_facts(run: RunDir, generation: str | None, types: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """What the boot-time probes decided that the G3 model otherwise admits both ways (object type, item size),
    as model parameters, with the report's notes."""
    if generation != "G3":
        return {}, []
    facts: dict[str, Any] = {}
    if len(types) == 1:
        facts["g3_object_type"] = types[0]
    size, notes = item_size(run)
    if size is not None:
        facts["g3_kstack_cache_item_size"] = size
    return facts, notes


def analyze(run: RunDir, meta: RunMetadata, overrides: ModelOverrides) -> GuestAnalysis:
    try:
        generation, reason = _generation(run, meta)
    except HarnessError as exc:
        return GuestAnalysis(None, notes=[f"no generation: {exc.one_line()}"])
    result = GuestAnalysis(generation, notes=[f"generation {generation or 'unknown'}: {reason}"])
    types, type_notes = object_types(run, generation)
    facts, fact_notes = probed_facts(run, generation, types)
    result.notes += type_notes + fact_notes
    for entry in meta.workloads:
        name = entry.name
        phases = run.raw_phases(name)
        if not phases:
            result.notes.append(f"workload {name} left no snapshots (it did not run to its end)")
            continue
        snapshots = {phase: _snapshot_files(run, name, phase) for phase in phases}
        samples = freebsd.parse_samples(run.read_raw(name, "samples.txt") or "")
        obs = freebsd.observations(snapshots, samples, where=f"raw/{name}", object_types=types)
        ambiguous = obs.get("kstack_object.candidates", "plateau")
        if ambiguous is not None and ambiguous != 1:
            result.notes.append(
                f"workload {name}: vmstat -o has {ambiguous:.0f} rows with kstack_object's identity at the plateau: "
                "no kstack_object value from it (run with --ddb for `show object *kstack_object`)"
            )
        _add_ddb(run, name, obs)
        run.write_parsed({"values": obs.values, "series": obs.series}, name, "observations.json")
        result.series.update({f"{name}: {k}": v for k, v in obs.series.items()})
        if generation is None or name not in WORKLOADS:
            result.notes.append(
                f"workload {name}: no model predictions ({'no generation' if not generation else 'not modelled'})"
            )
            continue
        sysctl_text = snapshots.get("before", {}).get("sysctl.txt") or run.read_raw(FINGERPRINT, "sysctl.txt")
        arch = _arch(meta, sysctl_text, overrides, generation)
        stdout = run.read_raw(name, "stdout.txt")
        params = workload_params(name, dict(entry.params), stdout, overrides, {**facts, **start_state(obs)})
        result.verdicts += judge(predictions_for(generation, arch, name, params), obs, workload=name)
    return result
