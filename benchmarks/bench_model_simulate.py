"""``harness model simulate --events 1000000 --seed 1`` (issue 2: target ≤ 2 s on one core; memory bounded by
live stacks), for every generation, with the CLI's defaults (amd64 from arch.toml: one CPU, one domain). Run with
``tox -e bench`` (pure Python), ``tox -e bench-mypyc`` (the mypyc-compiled wheel, see harness/model/README.md) or
``taskset -c 1 python -m pytest benchmarks/bench_model_simulate.py --benchmark-only``; the simulate() call alone is
timed (CLI start-up is not). ``extra_info["mypyc"]`` records which build ran."""

from __future__ import annotations

import tracemalloc

import pytest

from harness.model import simulate as simulate_mod
from harness.model.arch import ArchConstants
from harness.model.generations import GENERATIONS
from harness.model.simulate import simulate

# An extension module (.so) means the mypyc-compiled build is installed.
COMPILED = not simulate_mod.__file__.endswith(".py")


@pytest.mark.parametrize("generation", list(GENERATIONS))
def test_simulate_one_million_events(benchmark, generation: str) -> None:  # type: ignore[no-untyped-def]
    arch = ArchConstants.load("amd64")
    result = benchmark.pedantic(simulate, args=(generation, arch, 1_000_000, 1), rounds=1, iterations=1)
    assert result.checks == 1_000_000
    benchmark.extra_info["events_per_second"] = result.events_per_second
    benchmark.extra_info["mypyc"] = COMPILED
    benchmark.extra_info["peak_live_stacks"] = result.peak_live_stacks


@pytest.mark.parametrize("generation", ["G1", "G2"])
def test_simulate_two_cpus(benchmark, generation: str) -> None:  # type: ignore[no-untyped-def]
    arch = ArchConstants.load("amd64", ncpu=2)
    result = benchmark.pedantic(simulate, args=(generation, arch, 1_000_000, 1), rounds=1, iterations=1)
    assert result.checks == 1_000_000
    benchmark.extra_info["events_per_second"] = result.events_per_second
    benchmark.extra_info["mypyc"] = COMPILED


def test_memory_grows_with_live_stacks_not_events() -> None:
    arch = ArchConstants.load("amd64", ncpu=2)
    peaks = []
    for events in (50_000, 200_000):
        tracemalloc.start()
        simulate("G1", arch, events, 1, max_threads=500)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5, peaks
