"""Where cells run. A ``CellRunner`` takes the night's tasks and hands each ``CellResult`` to a callback as it
arrives. ``DaskRunner`` is the engine: an embedded ``LocalCluster`` sized from this host's cores and memory, or an
existing cluster (``--scheduler tcp://HOST:PORT``) whose workers declare a ``vm`` resource, so each worker runs
only as many VMs as it has slots. ``SerialRunner`` runs the cells one after another in this process (the
baseline of the parallel benchmark). Tests inject their own runner (e.g. one replaying stored run directories).

Failure handling: a cell that errors or crashes is a result like any other; a worker lost mid-cell gets the cell
started once more by the scheduler, on another worker; a third start (lost twice) ends it as an infrastructure
error at once (``guarded_cell`` counts real starts, not the scheduler's lost-worker tally, which also counts
cells only queued on the dead worker);
Ctrl-C sets the night's cancel flag (a Dask ``Event``), which every running cell polls and answers by ending its
``harness run`` process group (so no QEMU is left on any worker), and cancels what has not started.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.errors import ExitCode, HarnessError, InfraError
from harness.nightly.cell import CellResult, run_cell
from harness.nightly.plan import CellTask

OnResult = Callable[[CellResult], None]
#: What a worker runs for one task: (task, the packed kernel or None, the night's cancel-event name) → result.
CellFunction = Callable[[CellTask, bytes | None, str], CellResult]
#: A worker lost mid-cell: the cell is started once more (elsewhere), then counted as an infrastructure error.
MAX_STARTS = 2
#: The scheduler's own limit on worker losses per task. It also counts tasks merely queued on a worker that died
#: (never started), so it stays loose; the cell's real starts are counted by ``guarded_cell``.
ALLOWED_FAILURES = 10
#: Seconds to wait, after Ctrl-C, for running cells to end their process groups and report.
CANCEL_WAIT_SECONDS = 60.0
#: What a VM costs the host besides its RAM (QEMU itself, the harness, the SSH session).
VM_OVERHEAD_MB = 256
HOST_RESERVE_MB = 1024


class CellRunner(Protocol):
    def run(self, tasks: Sequence[CellTask], kernels: Mapping[str, bytes], on_result: OnResult) -> None: ...


class Progress:
    """``nightly: 3/8 done, 2 running, 1 failed`` on stderr whenever it changes. ``slots`` caps "running" (the
    scheduler may count a task handed to a worker that has not started it yet)."""

    def __init__(self, total: int, stream: Any = None, slots: int | None = None) -> None:
        self.total, self.done, self.failed, self.running = total, 0, 0, 0
        self.stream = stream or sys.stderr
        self.slots = slots

    def update(self, result: CellResult | None = None, running: int | None = None) -> None:
        if result is not None:
            self.done += 1
            self.failed += 1 if result.exit_code != 0 else 0
        if running is not None:
            self.running = running
        left = self.total - self.done
        running_now = min(self.running, left, self.slots or left)
        print(
            f"nightly: {self.done}/{self.total} done, {running_now} running, {self.failed} failed",
            file=self.stream,
            flush=True,
        )


@dataclass(frozen=True)
class ClusterSize:
    slots: int
    reason: str


def vm_need(guests_arches: Sequence[tuple[str, str]]) -> tuple[int, int]:
    """The largest vCPU count and RAM (MiB) of the night's VM profiles."""
    from harness.vm import profile as vm_profiles

    cpus, memory = 1, 512
    for guest, arch in set(guests_arches):
        try:
            prof = vm_profiles.load(f"{guest}-{arch}")
        except Exception:  # a profile that cannot load fails its cell later, with its own error
            continue
        cpus, memory = max(cpus, prof.cpus), max(memory, prof.memory_mb)
    return cpus, memory


def _available_mb() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES") // (1 << 20))


def local_size(vcpus: int, memory_mb: int, cores: int | None = None, available_mb: int | None = None) -> ClusterSize:
    """VM slots this host can give: each VM needs its vCPUs and its RAM (plus overhead); at least one."""
    cores = cores or os.cpu_count() or 1
    available = _available_mb() if available_mb is None else available_mb
    by_cpu = max(1, cores // max(1, vcpus))
    by_mem = max(1, (available - HOST_RESERVE_MB) // (memory_mb + VM_OVERHEAD_MB))
    slots = min(by_cpu, by_mem)
    reason = (
        f"{slots} VM slot{'s' if slots != 1 else ''}: {cores} cores / {vcpus} vCPU per VM = {by_cpu}, "
        f"{available} MiB available / {memory_mb + VM_OVERHEAD_MB} MiB per VM = {by_mem}"
    )
    return ClusterSize(slots, reason)


def dask_cell(task: CellTask, kernel_tar: bytes | None, cancel_event: str) -> CellResult:
    """The function a Dask worker runs: one cell, polling the night's cancel flag; never raises."""
    from distributed import Event, get_worker

    worker = get_worker()
    event = Event(cancel_event)
    last = [0.0, False]

    def cancelled() -> bool:
        now = time.monotonic()
        if now - float(last[0]) >= 2.0:
            last[0], last[1] = now, bool(event.is_set())
        return bool(last[1])

    try:
        return run_cell(task, kernel_tar, cancelled=cancelled, worker=str(worker.address))
    except Exception as exc:  # the cell's infrastructure failed; the night goes on
        return CellResult(task.cell, task.repeat, int(ExitCode.INFRA), None, str(worker.address), 0.0, str(exc)[:300])


def guarded_cell(cell: CellFunction, task: CellTask, kernel_tar: bytes | None, night: str) -> CellResult:
    """Count the cell's real starts (a Dask ``Variable`` per task): the third start means its worker was lost
    twice, and it ends as an infrastructure error without running again."""
    from dataclasses import replace

    from distributed import Variable

    counter = Variable(f"{night}-starts-{task.key}")
    try:
        starts = int(counter.get(timeout=1)) + 1
    except Exception:  # not set yet (TimeoutError): the first start
        starts = 1
    counter.set(starts)
    if starts > MAX_STARTS:
        lost = starts - 1
        message = f"the worker running it was lost {lost} times (retried once elsewhere)"
        return CellResult(task.cell, task.repeat, int(ExitCode.INFRA), None, message=message, attempts=lost)
    return replace(cell(task, kernel_tar, night), attempts=starts)


@dataclass
class DaskRunner:
    scheduler: str | None = None
    slots: int | None = None
    #: The VM (vCPUs, MiB) the local cluster is sized for.
    vm: tuple[int, int] = (1, 512)
    announce: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))
    #: The function workers run (``dask_cell``; tests inject a VM-less one, importable on the workers).
    cell: CellFunction = dask_cell
    _slots: int = field(default=0, init=False)

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        import dask
        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                client = Client(self.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise InfraError(
                    f"cannot reach the Dask scheduler {self.scheduler}: {exc}",
                    hint="start it with `dask scheduler` and workers with `dask worker --resources vm=N`",
                ) from None
            with client:
                client.run_on_scheduler(_set_allowed_failures, ALLOWED_FAILURES)
                slots = _cluster_slots(client)
                self._slots = slots
                self.announce(f"nightly: Dask cluster {self.scheduler}: {slots} VM slot(s) on its workers")
                if not slots:
                    raise InfraError(
                        f"the Dask cluster {self.scheduler} has no worker with a vm resource",
                        hint="start workers with `dask worker SCHEDULER --resources vm=N`",
                    )
                yield client
            return
        size = local_size(*self.vm) if self.slots is None else ClusterSize(self.slots, f"{self.slots} VM slots (asked)")
        self.announce(f"nightly: local Dask cluster, {size.reason}")
        self._slots = size.slots
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}),
            LocalCluster(
                n_workers=1,
                threads_per_worker=size.slots,
                processes=False,
                resources={"vm": size.slots},
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client

    def run(self, tasks: Sequence[CellTask], kernels: Mapping[str, bytes], on_result: OnResult) -> None:
        try:
            self._run(tasks, kernels, on_result)
        except HarnessError:
            raise
        except Exception as exc:  # the boundary with Dask: its failures are the engine's, said in one line
            raise InfraError(
                f"the Dask engine failed: {type(exc).__name__}: {str(exc)[:300]}",
                hint="check the scheduler and workers (dask scheduler / dask worker --resources vm=N)",
            ) from None

    def _run(self, tasks: Sequence[CellTask], kernels: Mapping[str, bytes], on_result: OnResult) -> None:
        from distributed import Event, Variable, as_completed
        from distributed.client import FutureCancelledError

        token = secrets.token_hex(4)
        with self._client() as client:
            cancel = Event(f"harness-nightly-cancel-{token}", client=client)
            shared = {key: client.scatter(data, hash=False) for key, data in kernels.items()}
            futures = {
                client.submit(
                    guarded_cell,
                    self.cell,
                    task,
                    shared.get(task.kernel_key) if task.kernel_key else None,
                    cancel.name,
                    key=f"harness-cell-{token}-{task.key}",
                    resources={"vm": 1},
                    pure=False,
                ): task
                for task in tasks
            }
            progress = Progress(len(tasks), slots=self._slots)
            progress.update(running=_running(client))
            try:
                for future in as_completed(futures):
                    task = futures[future]
                    try:
                        result = future.result()
                    except FutureCancelledError:
                        continue
                    except Exception as exc:
                        result = _lost(task, exc)
                    with contextlib.suppress(Exception):
                        Variable(f"{cancel.name}-starts-{task.key}", client=client).delete()
                    on_result(result)
                    progress.update(result, running=_running(client))
            except KeyboardInterrupt:
                self.announce("nightly: interrupted; cancelling every cell and stopping their VMs")
                cancel.set()
                _drain(client, list(futures), CANCEL_WAIT_SECONDS)
                client.cancel(list(futures), force=True)
                raise


def _set_allowed_failures(count: int, dask_scheduler: Any = None) -> None:
    """Run on the scheduler: a task whose worker dies is retried ``count`` times, then ``KilledWorker``."""
    if dask_scheduler is not None:
        dask_scheduler.allowed_failures = count


def _cluster_slots(client: Any) -> int:
    info = (
        client.scheduler_info(n_workers=-1)
        if "n_workers" in _params(client.scheduler_info)
        else client.scheduler_info()
    )
    return int(sum(w.get("resources", {}).get("vm", 0) for w in info.get("workers", {}).values()))


def _params(func: Any) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return set()


def _running(client: Any) -> int:
    try:
        return sum(len(keys) for keys in client.processing().values())
    except Exception:
        return 0


def _lost(task: CellTask, exc: BaseException) -> CellResult:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        message = f"the scheduler gave up after {ALLOWED_FAILURES + 1} lost workers"
        return CellResult(task.cell, task.repeat, int(ExitCode.INFRA), None, message=message, attempts=2)
    return CellResult(task.cell, task.repeat, int(ExitCode.INFRA), None, message=f"cell failed: {exc}"[:300])


def _drain(client: Any, futures: list[Any], seconds: float) -> None:
    """Wait until no cell is running any more (each ended its process group), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    with contextlib.suppress(Exception):
        while time.monotonic() < deadline and _running(client):
            time.sleep(1.0)


@dataclass
class SerialRunner:
    """Every cell one after another, in this process: the baseline the parallel engine is measured against."""

    def run(self, tasks: Sequence[CellTask], kernels: Mapping[str, bytes], on_result: OnResult) -> None:
        progress = Progress(len(tasks))
        for task in tasks:
            progress.update(running=1)
            kernel = kernels.get(task.kernel_key) if task.kernel_key else None
            result = run_cell(task, kernel)
            on_result(result)
            progress.update(result, running=0)
