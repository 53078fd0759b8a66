"""The nightly's default engine (an embedded Dask LocalCluster, sized from this host's cores and memory) against
the same cells run one after another (``SerialRunner``, what a hand-written CI script does), measured side by
side in one benchmark run: the 4-cell matrix of the Linux test guest (amd64 and arm64 × thread-hold and
thread-churn, the smallest parameters). Goal: ratio (parallel / serial wall time) ≤ 0.65 on 2 cores.

Each round runs the serial night in pedantic's untimed setup, then the timed parallel night, so host load hits
both alike. ``HARNESS_BENCH_ROUNDS`` sets the rounds (default 1: a round is about 5 minutes here). The ratio is
stored in the benchmark's ``extra_info`` and printed. Run: ``pytest benchmarks/bench_nightly_parallel.py
--benchmark-only -s`` (or ``tox -e bench``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.nightly import job, matrix
from harness.nightly.engine import DaskRunner, SerialRunner, vm_need
from tests.support.nightly import write_matrix

pytestmark = pytest.mark.integration

ROUNDS = int(os.environ.get("HARNESS_BENCH_ROUNDS", "1"))


def _night(loaded: matrix.Matrix, out: Path, runner: object) -> job.NightResult:
    options = job.NightOptions(out=out, history=out.parent / f"{out.name}.sqlite", night=out.name)
    result = job.run_night(loaded, options, runner)  # type: ignore[arg-type]
    assert {c.status for c in result.cells} == {"pass"}, [(c.cell, c.status) for c in result.cells]
    return result


def test_nightly_parallel_vs_serial(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    for tool in ("qemu-system-x86_64", "qemu-system-aarch64", "aarch64-linux-gnu-gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    loaded = matrix.load(write_matrix(tmp_path / "m"))
    serial: list[float] = []
    rounds = iter(range(ROUNDS * 2))

    def setup() -> None:
        started = time.monotonic()
        _night(loaded, tmp_path / f"serial-{next(rounds)}", SerialRunner())
        serial.append(time.monotonic() - started)

    def parallel() -> None:
        _night(
            loaded,
            tmp_path / f"parallel-{next(rounds)}",
            DaskRunner(vm=vm_need([(c.guest, c.arch) for c in loaded.cells])),
        )

    benchmark.group = "nightly 4 linuxtest cells"
    benchmark.pedantic(parallel, setup=setup, rounds=ROUNDS, iterations=1)
    parallel_mean = benchmark.stats.stats.mean
    serial_mean = statistics.mean(serial)
    ratio = parallel_mean / serial_mean
    benchmark.extra_info.update(
        serial_mean_s=round(serial_mean, 1),
        parallel_mean_s=round(parallel_mean, 1),
        ratio=round(ratio, 3),
        cores=os.cpu_count(),
    )
    print(
        f"\nnightly 4 cells: local Dask {parallel_mean:.1f} s, one after another {serial_mean:.1f} s, "
        f"ratio {ratio:.3f} (goal ≤ 0.65 on 2 cores; {os.cpu_count()} cores here)"
    )
