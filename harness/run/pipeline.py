"""One ``harness run``: run directory first, boot, workloads with collection, then the offline analysis and the
reports. Crashes and infrastructure errors are recorded in the run directory before they end the run, so every
run dir can be re-judged by ``harness analyze``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import GuestCrashed, HarnessError, UsageError
from harness.report.results import RunResult
from harness.report.write import write_all
from harness.run import collect, ddb
from harness.run.analysis import analyze
from harness.run.crashes import clean_title, workload_at
from harness.run.kinds import registry
from harness.run.kinds.base import check_model_overrides
from harness.run.metadata import CrashRecord, RunMetadata, RunStatus, WorkloadStatus
from harness.run.profiles import GuestProfile, profile
from harness.run.request import RunRequest
from harness.run.rundir import RunDir, new_run_id
from harness.run.session import GuestSession, open_session
from harness.steps import JsonlRecorder, listening, note, step
from harness.util.files import owner_only
from harness.util.text import one_line
from harness.workloads.catalogue import Catalogue, ParamValue, load_catalogue, render
from harness.workloads.hostbuild import build_static


@dataclass
class RunOutcome:
    run: RunDir
    result: RunResult
    reports: dict[str, Path]


def _validated(request: RunRequest, catalogue: Catalogue) -> dict[str, dict[str, ParamValue]]:
    """Every workload exists, runs on this guest, and its parameters are typed (usage errors before booting)."""
    check_model_overrides(registry.select(request.guest), request.model)
    typed: dict[str, dict[str, ParamValue]] = {}
    for name in request.workloads:
        workload = catalogue.get(name)
        render(workload, guest_os=request.guest, run_id="check", workdir="/tmp", overrides=request.params.get(name))
        typed[name] = workload.with_params(request.params.get(name, {}))
    unknown = set(request.params) - set(request.workloads)
    if unknown:
        raise UsageError(
            f"parameters given for workloads not run: {', '.join(sorted(unknown))}", hint="add them with --workload"
        )
    return typed


def _metadata(request: RunRequest, typed: dict[str, dict[str, ParamValue]], guest: GuestProfile) -> dict[str, object]:
    return {
        "guest": request.guest,
        "arch": request.arch,
        "release": request.release_name or request.release,
        "kernel": str(request.kernel) if request.kernel else None,
        "patch": request.patch,
        "ddb": request.ddb,
        "model": request.model,
        "workdir": guest.workdir,
        "workloads": [{"name": name, "params": params, "status": "pending"} for name, params in typed.items()],
    }


def _fit_to_guest(session: GuestSession, run: RunDir, catalogue: Catalogue, meta: RunMetadata) -> None:
    """Every workload's parameters checked against the guest's own limits, before the first one starts; what the
    guest decided (a hog size) is recorded as the parameter that ran."""
    fit = getattr(session, "fit_params", None)  # sessions of other guests (and test doubles) have none
    if fit is None:
        return
    for entry in meta.workloads:
        entry.params = fit(catalogue.get(entry.name), dict(entry.params))
    run.update_metadata(workloads=meta.workloads)


def _run_workloads(session: GuestSession, run: RunDir, request: RunRequest, catalogue: Catalogue) -> None:
    guest = session.profile
    meta = run.metadata()
    _fit_to_guest(session, run, catalogue, meta)
    for entry in meta.workloads:
        name = entry.name
        workload = catalogue.get(name)
        rendered = render(
            workload,
            guest_os=request.guest,
            run_id=run.run_id,
            workdir=guest.workdir,
            overrides=entry.params,
            compile_in_guest=guest.compile_in_guest,
            cc=guest.cc,
            snapshot=guest.snapshot,
        )
        binary = None
        if not guest.compile_in_guest and workload.program:
            binary = build_static(catalogue, workload, request.arch, run.path / "vm" / "bin")
        entry.status = WorkloadStatus.RUNNING
        run.update_metadata(workloads=meta.workloads, current_workload=name)
        collect.upload(session.ssh, rendered, binary, run.path / "vm" / "staging")
        plateau_actions: list[Callable[[], None]] = []
        if request.ddb and guest.ddb is not None:
            plateau_actions.append(functools.partial(ddb.capture, session, run, name, rendered))
        try:
            outcome = collect.run_workload(session.ssh, run, guest, rendered, at_plateau=plateau_actions)
        except BaseException as exc:
            # Not left "running" in metadata.json: a crash is then attributed by _record_crash ("crashed").
            interrupted = isinstance(exc, KeyboardInterrupt)
            entry.status = WorkloadStatus.INTERRUPTED if interrupted else WorkloadStatus.ABORTED
            run.update_metadata(workloads=meta.workloads)
            raise
        entry.status = WorkloadStatus(outcome.status)
        entry.exit_status, entry.seconds = outcome.exit_status, round(outcome.seconds, 1)
        run.update_metadata(workloads=meta.workloads, current_workload=None)
        note("workload", f"{name}: {outcome.status}", workload=name)


def _record_crash(run: RunDir, exc: GuestCrashed) -> None:
    meta = run.metadata()
    lines = (run.console_text() or "").splitlines()
    workload = workload_at(lines, len(lines)) or meta.current_workload
    crash = CrashRecord(
        title=clean_title(exc.title or exc.message),
        workload=workload,
        excerpt=tuple(exc.excerpt),
        kind=type(exc).__name__,
    )
    for entry in meta.workloads:
        if entry.name == workload:
            entry.status = WorkloadStatus.CRASHED
    run.update_metadata(crash=crash, workloads=meta.workloads)


def reproducer_argv(request: RunRequest, typed: dict[str, dict[str, ParamValue]]) -> list[str]:
    """The exact ``harness run`` command: every choice spelled out (the resolved release, every parameter), so
    changed defaults do not change what it repeats."""
    argv = ["harness", "run", "--guest", request.guest, "--arch", request.arch]
    if request.release_name:
        argv += ["--release", request.release_name.removesuffix("-RELEASE")]
    if request.image:
        argv += ["--image", str(Path(request.image).resolve())]
    if request.kernel:
        argv += ["--kernel", str(Path(request.kernel).resolve())]
    if request.patch:
        argv += ["--patch", request.patch]
    for name, params in typed.items():
        argv += ["--workload", name]
        argv += [arg for key, value in params.items() for arg in ("--param", f"{name}:{key}={value}")]
    argv += [arg for key, value in request.model.items() for arg in ("--model", f"{key}={value}")]
    argv += ["--ddb"] if request.ddb else []
    argv += [] if request.snapshot else ["--no-snapshot"]
    return [*argv, "--runs-dir", str(request.runs_root)]


def execute(request: RunRequest) -> RunOutcome:
    with owner_only():
        return _execute(request)


def _execute(request: RunRequest) -> RunOutcome:
    catalogue = load_catalogue()
    kind = registry.select(request.guest)
    guest = profile(request.guest)
    typed = _validated(request, catalogue)
    kind.resolve(request)
    prepared = kind.prepare(request)
    run = RunDir.create(
        request.runs_root,
        new_run_id(request.guest, request.arch),
        _metadata(request, typed, guest),
        reproducer_argv(request, typed),
    )
    with listening(JsonlRecorder(run.path / "steps.jsonl")), step("run", run=run.run_id):
        try:
            with open_session(run, guest, request, prepared) as session:
                run.update_metadata(guest_facts=session.facts, generation=session.facts.get("generation"))
                _run_workloads(session, run, request, catalogue)
        except GuestCrashed as exc:
            _record_crash(run, exc)
        except HarnessError as exc:
            # Infrastructure (or a usage problem found only in the guest, e.g. --ddb on a kernel without DDB).
            # A crash may be what broke SSH: the analysis reads the console log and says so.
            run.update_metadata(error=one_line(exc.one_line()))
        except KeyboardInterrupt:
            run.update_metadata(status=RunStatus.INTERRUPTED, error="interrupted by the user")
            raise
        finally:
            run.update_metadata(finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        result = analyze(run)
        reports = write_all(result, run.path)
        run.update_metadata(status=result.outcome)
        # The run step ends either way; say how it came out, so progress never reads as a plain success.
        note("run", f"{result.outcome} (exit {int(result.exit_code)})", outcome=result.outcome)
    return RunOutcome(run, result, reports)
