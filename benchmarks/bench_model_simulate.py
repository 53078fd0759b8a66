"""``harness model simulate --events 1000000 --seed 1`` (issue 2: target ≤ 2 s on one core; memory bounded by
live stacks), for every generation, with the CLI's defaults (amd64 from arch.toml: one CPU, one domain). Run with
``tox -e bench`` (pure Python), ``tox -e bench-mypyc`` (the mypyc-compiled wheel, see harness/model/README.md) or
``taskset -c 1 python -m pytest benchmarks/bench_model_simulate.py --benchmark-only``; the simulate() call alone is
timed (CLI start-up is not). ``extra_info`` records the build (``mypyc``), events/s, CPU seconds and the ratio of
simulate's CPU time to a calibration loop measured in the same run (``ratio_to_calibration``), which is what to
compare across runs on a shared machine. ``python benchmarks/bench_model_simulate.py [GEN ...]`` prints the same
per generation; ``... --against TREE [--rounds N] [GEN ...]`` runs that for another checkout (``main``'s, say) and
this one alternately, generation by generation, so that both are measured side by side under the same load (the
README's figures)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from harness.model import simulate as simulate_mod
from harness.model.arch import ArchConstants
from harness.model.generations import GENERATIONS
from harness.model.simulate import simulate

# An extension module (.so) means the mypyc-compiled build is installed.
COMPILED = not simulate_mod.__file__.endswith(".py")
EVENTS = 1_000_000


def calibration_seconds(stores: int = 5_000_000) -> float:
    """CPU seconds of a fixed pure-Python loop (dict stores, the model's commonest operation), timed in the same
    run: a figure divided by it holds on a shared, noisy machine where absolute seconds do not. CPU time, not
    wall time, so that time the process spends descheduled counts in neither."""
    t0 = time.process_time()
    d: dict[int, int] = {}
    for i in range(stores):
        d[i & 4095] = i
    return time.process_time() - t0


def measure(generation: str, ncpu: int = 1) -> dict[str, float]:
    """simulate() of EVENTS events, seed 1, between two calibration loops: wall and CPU seconds, events/s (CPU),
    and the ratio of simulate's CPU time to the calibration loop's (the smaller of the two)."""
    cal = [calibration_seconds()]
    t0 = time.process_time()
    result = simulate(generation, ArchConstants.load("amd64", ncpu=ncpu), EVENTS, 1)
    cpu = time.process_time() - t0
    cal.append(calibration_seconds())
    base = min(cal)
    return {
        "seconds": result.seconds,
        "cpu_seconds": round(cpu, 3),
        "events_per_cpu_second": round(EVENTS / cpu),
        "calibration_seconds": round(base, 3),
        "ratio_to_calibration": round(cpu / base, 2),
    }


@pytest.mark.parametrize("generation", list(GENERATIONS))
def test_simulate_one_million_events(benchmark, generation: str) -> None:  # type: ignore[no-untyped-def]
    arch = ArchConstants.load("amd64")
    cal = calibration_seconds()
    t0 = time.process_time()
    result = benchmark.pedantic(simulate, args=(generation, arch, EVENTS, 1), rounds=1, iterations=1)
    cpu = time.process_time() - t0
    cal = min(cal, calibration_seconds())
    assert result.checks == EVENTS
    benchmark.extra_info["events_per_second"] = result.events_per_second
    benchmark.extra_info["cpu_seconds"] = round(cpu, 3)
    benchmark.extra_info["calibration_seconds"] = round(cal, 3)
    benchmark.extra_info["ratio_to_calibration"] = round(cpu / cal, 2)
    benchmark.extra_info["mypyc"] = COMPILED
    benchmark.extra_info["peak_live_stacks"] = result.peak_live_stacks


@pytest.mark.parametrize("generation", ["G1", "G2"])
def test_simulate_two_cpus(benchmark, generation: str) -> None:  # type: ignore[no-untyped-def]
    arch = ArchConstants.load("amd64", ncpu=2)
    cal = calibration_seconds()
    t0 = time.process_time()
    result = benchmark.pedantic(simulate, args=(generation, arch, EVENTS, 1), rounds=1, iterations=1)
    cpu = time.process_time() - t0
    cal = min(cal, calibration_seconds())
    assert result.checks == EVENTS
    benchmark.extra_info["events_per_second"] = result.events_per_second
    benchmark.extra_info["ratio_to_calibration"] = round(cpu / cal, 2)
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


def side_by_side(other: Path, rounds: int, gens: list[str]) -> None:
    """This script, per generation, under ``other``'s tree and this one in turn (the order flips every round),
    each in a fresh interpreter whose ``PYTHONPATH`` is that tree; the children inherit the CPU affinity."""
    trees = {"other": other.resolve(), "this": Path(__file__).resolve().parents[1]}
    for r in range(rounds):
        for gen in gens:
            for label in ("other", "this") if r % 2 == 0 else ("this", "other"):
                tree = trees[label]
                env = {**os.environ, "PYTHONPATH": str(tree)}
                script = tree / "benchmarks" / "bench_model_simulate.py"
                out = subprocess.run(
                    [sys.executable, str(script), gen], env=env, cwd=tree, capture_output=True, text=True, check=True
                )
                print(f"round {r + 1} {label:5} {out.stdout.splitlines()[-1]}", flush=True)


if __name__ == "__main__":
    # ``taskset -c 1 nice -n 0 python benchmarks/bench_model_simulate.py``: one line per generation, for the README.
    args = sys.argv[1:]
    if args[:1] == ["--against"] and len(args) >= 2:
        rounds = 2
        rest = args[2:]
        if rest[:1] == ["--rounds"] and len(rest) >= 2:
            rounds, rest = int(rest[1]), rest[2:]
        side_by_side(Path(args[1]), rounds, rest or list(GENERATIONS))
        sys.exit(0)
    gens = args or list(GENERATIONS)
    print(f"build: {'mypyc' if COMPILED else 'pure'}; Python {sys.version.split()[0]}; {EVENTS} events, seed 1")
    for gen in gens:
        m = measure(gen)
        print(
            f"{gen:8} simulate {m['seconds']:6.2f} s wall, {m['cpu_seconds']:6.2f} s CPU "
            f"({m['events_per_cpu_second']:>7.0f} events/CPU-s)  calibration {m['calibration_seconds']:.3f} s CPU  "
            f"ratio {m['ratio_to_calibration']:.2f}"
        )
