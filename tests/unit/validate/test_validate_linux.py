"""The Linux test guest's observations (/proc/vmstat, /proc/meminfo, task count, samples) and its small model."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ParseError, UsageError
from harness.model.linux_task import KSTACK, MEMINFO, TASKS, LinuxTaskModel
from harness.validate import linux
from harness.validate.verdicts import Status, judge


def _snapshot(kstack: int, meminfo: int, tasks: int) -> str:
    return (
        f"== vmstat\nnr_free_pages 100\nnr_kernel_stack {kstack}\nnr_page_table_pages 3\n"
        f"== meminfo\nMemTotal:         500000 kB\nKernelStack:        {meminfo} kB\n== tasks\n{tasks}\n"
    )


def test_snapshot_reads_the_three_sections() -> None:
    assert linux.parse_snapshot(_snapshot(1600, 1600, 100)) == {KSTACK: 1600, MEMINFO: 1600, TASKS: 100}
    # Each value from its own file: LX-4 compares the two counters, so mixing them up would pass it vacuously.
    assert linux.parse_snapshot(_snapshot(1616, 1632, 101)) == {KSTACK: 1616, MEMINFO: 1632, TASKS: 101}


@pytest.mark.skipif(not Path("/proc/vmstat").is_file(), reason="needs a Linux /proc")
def test_snapshot_reads_this_hosts_real_proc_files() -> None:
    text = (
        "== vmstat\n"
        + Path("/proc/vmstat").read_text()
        + "== meminfo\n"
        + Path("/proc/meminfo").read_text()
        + "== tasks\n42\n"
    )
    values = linux.parse_snapshot(text)
    assert values[KSTACK] > 0 and values[MEMINFO] > 0 and values[TASKS] == 42


@pytest.mark.parametrize(
    "text",
    [
        "== vmstat\nnr_kernel_stack 1\n== meminfo\nKernelStack: 1 kB\n",
        "== vmstat\nnr_kernel_stack x\n== meminfo\nKernelStack: 1 kB\n== tasks\n1\n",
        "== vmstat\nnr_free 1\n== meminfo\nKernelStack: 1 kB\n== tasks\n1\n",
    ],
)
def test_malformed_snapshots_raise_parse_errors(text: str) -> None:
    with pytest.raises(ParseError):
        linux.parse_snapshot(text)


def test_samples_drop_a_tick_cut_off_at_the_end() -> None:
    text = "== tick 100\nnr_kernel_stack 800\n== tick 101\nnr_kernel_stack 4900\n== tick 102\nnr_kernel_st"
    assert linux.parse_samples(text) == [(100.0, 800.0), (101.0, 4900.0)]
    obs = linux.observations({"before": _snapshot(800, 800, 50)}, text)
    assert obs.series[KSTACK] == [(0.0, 800.0), (1.0, 4900.0)]


def test_model_predicts_one_thread_size_stack_per_task() -> None:
    model = LinuxTaskModel.for_arch("arm64")
    assert model.thread_size_kib == 16
    (prediction,) = model.snapshot_predictions({"plateau": 300})
    assert prediction.invariant == "LX-1" and prediction.expected == 300 * 16


def test_model_judges_a_plateau_and_catches_a_wrong_thread_size() -> None:
    before, plateau, after = (
        _snapshot(848, 848, 53),
        _snapshot(848 + 259 * 16, 848 + 259 * 16, 312),
        _snapshot(848, 848, 53),
    )
    obs = linux.observations({"before": before, "plateau": plateau, "after": after})
    calibration = {"threads_created": 256.0, "before_kib": 848.0}
    right = LinuxTaskModel.for_arch("amd64")
    wrong = LinuxTaskModel.for_arch("amd64", thread_size_kib=8)
    for model, status in ((right, Status.PASS), (wrong, Status.FAIL)):
        predictions = model.workload_predictions("thread-hold", {"threads": 256}, calibration)
        lx2 = next(v for v in judge(predictions, obs) if v.invariant == "LX-2")
        assert lx2.status is status


def test_unknown_arch_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        LinuxTaskModel.for_arch("riscv64")


def test_counter_checks_come_in_the_order_of_the_run() -> None:
    # raw/ lists phases alphabetically (after, before, plateau); the report reads them in the order they happened.
    model = LinuxTaskModel.for_arch("amd64")
    checks = model.counter_predictions({"after": 900.0, "before": 896.0, "plateau": 5000.0})
    assert [p.phase for p in checks] == ["before", "plateau", "after"]
    assert [p.expected for p in checks] == [896.0, 5000.0, 900.0]


def test_plateau_counts_the_workloads_own_tasks_exactly() -> None:
    # LX-2's expected value is exact: the held threads plus the workload's own tasks (its shells and the
    # program's main thread), each one stack. Its tolerance only absorbs races; it must not hide a missing term.
    model = LinuxTaskModel.for_arch("amd64")
    (_, lx2) = model.workload_predictions("thread-hold", {"threads": 256}, {"threads_created": 250.0})
    assert lx2.invariant == "LX-2" and lx2.phase == "plateau_delta"
    assert lx2.expected == (250 + model.workload_overhead_tasks) * 16 and model.workload_overhead_tasks == 3


def test_a_malformed_stored_snapshot_is_named_by_its_file() -> None:
    with pytest.raises(ParseError) as caught:
        linux.observations({"before": _snapshot(800, 800, 50), "plateau": "garbage\n"}, where="raw/thread-hold")
    assert caught.value.message.startswith("raw/thread-hold/plateau/snapshot.txt: Linux snapshot lacks")
    obs = linux.observations({"before": _snapshot(800, 800, 50)}, where="raw/thread-hold")
    assert obs.sources[f"{KSTACK}@before"] == "raw/thread-hold/before/snapshot.txt"
