"""The ``linuxtest`` guest kind: the Debian-built Linux test guest that proves the pipeline without FreeBSD.

It boots the cached guest (``harness.guests.linuxtest``), judges ``nr_kernel_stack`` and the task counts against
``harness.model.linux_task`` (whose only ``--model`` key is ``thread_size_kib``) and finds crashes by Linux's
``Kernel panic - not syncing:`` line. It takes no release, image or kernel options.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import UsageError
from harness.run.kinds.base import GuestAnalysis

if TYPE_CHECKING:
    from harness.model.linux_task import LinuxTaskModel
    from harness.report.results import Crash
    from harness.run.metadata import RunMetadata
    from harness.run.profiles import GuestProfile
    from harness.run.request import ModelOverrides, RunRequest
    from harness.run.rundir import RunDir
    from harness.run.session import GuestSession
    from harness.validate.observed import Observations
    from harness.validate.verdicts import Verdict
    from harness.workloads.catalogue import ParamValue

SNAPSHOT = "snapshot.txt"
SAMPLES = "samples.txt"
STDOUT = "stdout.txt"


@dataclass(frozen=True)
class _Prepared:
    """Nothing to fetch ahead: the guest is built (or taken from the cache) as the session starts."""

    def session(self, run: RunDir, profile: GuestProfile, request: RunRequest) -> AbstractContextManager[GuestSession]:
        from harness.run.session import linuxtest

        return linuxtest(
            run, profile, request.arch, keep_vm=request.keep_vm, kdb=request.ddb, snapshot=request.snapshot
        )


def linux_workload(
    run: RunDir, model: LinuxTaskModel, name: str, params: dict[str, ParamValue]
) -> tuple[list[Verdict], Observations]:
    """Verdicts of one workload on the Linux test guest."""
    from harness.model.linux_task import KSTACK, TASKS
    from harness.validate import linux
    from harness.validate.verdicts import judge
    from harness.workloads.catalogue import plateau_threads

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


class LinuxTest:
    name = "linuxtest"
    model_help = "thread_size_kib"
    has_releases = False
    takes_kernels = False

    @property
    def model_keys(self) -> frozenset[str]:
        return frozenset({"thread_size_kib"})

    def check_options(self, request: RunRequest) -> None:
        if request.kernel or request.patch:
            raise UsageError("--kernel and --patch apply to FreeBSD guests", hint=f"drop them with --guest {self.name}")
        if request.image:
            raise UsageError("--image is a FreeBSD image", hint=f"drop it with --guest {self.name}")

    def resolve(self, request: RunRequest) -> None:
        request.release = None  # one guest, no releases: --release's default does not apply

    def prepare(self, request: RunRequest) -> _Prepared:
        return _Prepared()

    def find_crash(self, console_text: str) -> Crash | None:
        from harness.run.crashes import linux_crash

        return linux_crash(console_text)

    def analyze(self, run: RunDir, meta: RunMetadata, overrides: ModelOverrides) -> GuestAnalysis:
        from harness.model.linux_task import LinuxTaskModel

        size = overrides.get("thread_size_kib")
        model = LinuxTaskModel.for_arch(meta.arch, thread_size_kib=None if size is None else int(size))
        result = GuestAnalysis("linux-task")
        for entry in meta.workloads:
            if not run.raw_phases(entry.name):
                result.notes.append(f"workload {entry.name} left no snapshots (it did not run to its end)")
                continue
            verdicts, obs = linux_workload(run, model, entry.name, dict(entry.params))
            result.verdicts += verdicts
            result.series.update({f"{entry.name}: {k}": v for k, v in obs.series.items()})
        return result
