"""A small model of Linux kernel stacks, for the Linux test guest that proves the pipeline on this machine.

Every task (process or thread, kernel threads included) holds exactly one kernel stack of THREAD_SIZE bytes,
accounted in ``nr_kernel_stack`` of /proc/vmstat (in KiB, ``NR_KERNEL_STACK_KB``) and shown as ``KernelStack`` in
/proc/meminfo (kB). The boot CPU's idle task uses the static ``init_stack`` and is not in /proc, so
``nr_kernel_stack = THREAD_SIZE/1024 × (tasks listed under /proc/*/task)``, up to races with tasks that start or
exit while the snapshot is read. The invariants:

* LX-1: nr_kernel_stack = THREAD_SIZE_KiB × tasks, at every snapshot.
* LX-2: a plateau of N held threads raises nr_kernel_stack by THREAD_SIZE_KiB × (N + the workload's own tasks).
* LX-3: stacks are freed with their tasks: after the workload, nr_kernel_stack is back at its baseline.
* LX-4: /proc/meminfo KernelStack and /proc/vmstat nr_kernel_stack are the same counter.
* LX-5: a churn never has more than its concurrency alive: the sampled peak stays below that bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError
from harness.model.prediction import Prediction
from harness.util import tomlfile

SOURCE = "harness.model.linux_task"
KSTACK = "linux.nr_kernel_stack_kib"
MEMINFO = "linux.meminfo_kernelstack_kib"
TASKS = "linux.tasks"
SNAPSHOT_PHASES = ("before", "plateau", "after")


@dataclass(frozen=True)
class LinuxTaskModel:
    arch: str
    thread_size_kib: int
    race_tasks: int = 4
    workload_overhead_tasks: int = 3

    @classmethod
    def for_arch(cls, arch: str, thread_size_kib: int | None = None) -> LinuxTaskModel:
        """The model with the shipped constants for ``arch``; ``thread_size_kib`` overrides THREAD_SIZE."""
        data = _constants()
        try:
            size = int(data["arch"][arch]["thread_size_kib"])
        except KeyError:
            known = ", ".join(data.get("arch", {}))
            raise UsageError(
                f"the Linux task model has no constants for arch {arch!r}", hint=f"known: {known}"
            ) from None
        tolerance = data.get("tolerance", {})
        return cls(
            arch=arch,
            thread_size_kib=thread_size_kib if thread_size_kib is not None else size,
            race_tasks=int(tolerance.get("race_tasks", 4)),
            workload_overhead_tasks=int(tolerance.get("workload_overhead_tasks", 3)),
        )

    @property
    def slack_kib(self) -> float:
        return float(self.race_tasks * self.thread_size_kib)

    def snapshot_predictions(self, tasks: dict[str, float]) -> list[Prediction]:
        """LX-1 and LX-4 at every phase for which the task count was observed (``tasks[phase]``)."""
        out = []
        for phase in SNAPSHOT_PHASES:
            if phase not in tasks:
                continue
            out.append(
                Prediction(
                    name=KSTACK,
                    invariant="LX-1",
                    phase=phase,
                    unit="KiB",
                    why=f"each of the {tasks[phase]:g} tasks holds one {self.thread_size_kib} KiB THREAD_SIZE stack",
                    source=SOURCE,
                    expected=tasks[phase] * self.thread_size_kib,
                    tolerance=self.slack_kib,
                    inputs={"tasks": tasks[phase], "thread_size_kib": self.thread_size_kib},
                )
            )
        return out

    def counter_predictions(self, nr_kernel_stack: dict[str, float]) -> list[Prediction]:
        """LX-4: meminfo's KernelStack is nr_kernel_stack (both read in one snapshot command)."""
        return [
            Prediction(
                name=MEMINFO,
                invariant="LX-4",
                phase=phase,
                unit="KiB",
                why="KernelStack in /proc/meminfo is the NR_KERNEL_STACK_KB counter shown as nr_kernel_stack",
                source=SOURCE,
                expected=value,
                tolerance=self.slack_kib,
                inputs={"nr_kernel_stack_kib": value},
            )
            for phase in SNAPSHOT_PHASES
            if (value := nr_kernel_stack.get(phase)) is not None
        ]

    def workload_predictions(
        self, workload: str, params: dict[str, Any], calibration: dict[str, float]
    ) -> list[Prediction]:
        """LX-2, LX-3 and LX-5 for one workload. ``calibration``: ``threads_created`` (from the program's own
        report), ``before_kib`` (nr_kernel_stack before the workload)."""
        out = [
            Prediction(
                name=KSTACK,
                invariant="LX-3",
                phase="delta",
                unit="KiB",
                why="every stack of a task that exited is freed, so nr_kernel_stack returns to its baseline",
                source=SOURCE,
                expected=0.0,
                tolerance=self.slack_kib,
            )
        ]
        if workload in {"thread-hold", "burst-and-idle"}:
            threads = calibration.get("threads_created", float(params.get("threads", 0)))
            tasks = threads + self.workload_overhead_tasks
            out.append(
                Prediction(
                    name=KSTACK,
                    invariant="LX-2",
                    phase="plateau_delta",
                    unit="KiB",
                    why=(
                        f"{threads:g} held threads plus {self.workload_overhead_tasks} workload tasks each add one "
                        f"{self.thread_size_kib} KiB stack"
                    ),
                    source=SOURCE,
                    expected=tasks * self.thread_size_kib,
                    tolerance=self.slack_kib,
                    inputs={"threads_created": threads, "thread_size_kib": self.thread_size_kib},
                )
            )
        concurrency = {"thread-churn": "concurrency", "fork-churn": "concurrency"}.get(workload)
        if concurrency and "before_kib" in calibration:
            alive = float(params.get(concurrency, 0)) + self.workload_overhead_tasks + self.race_tasks
            out.append(
                Prediction(
                    name=KSTACK,
                    invariant="LX-5",
                    phase="peak",
                    unit="KiB",
                    why=f"at most {alive:g} workload tasks are alive at once, each with one stack",
                    source=SOURCE,
                    high=calibration["before_kib"] + alive * self.thread_size_kib,
                    inputs={"before_kib": calibration["before_kib"], "alive_tasks": alive},
                )
            )
        return out


def _constants() -> dict[str, Any]:
    return tomlfile.load_resource("harness.model", "linux_task.toml").data
