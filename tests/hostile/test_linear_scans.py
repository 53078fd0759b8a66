"""The scans of guest text grow linearly with their input (F4, F11, and the sysctl parser's first-seen list).

Not a timing test: each scan runs on an input and on four times that input, side by side, and the ratio of the
best times must stay far below 16 (what quadratic work gives); benchmarks/bench_hostile_scans.py has the figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from harness.guests.freebsd.ddb import death_strings
from harness.parse.panic import parse_panics
from harness.parse.sysctl import parse_sysctl
from harness.vm.watcher import Watcher

#: Linear: about 4. Quadratic: 16. The margin absorbs a busy machine.
MAX_RATIO = 10.0


def _best(run: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _panic(size: int) -> Callable[[], object]:
    text = "panic: " + "A" * size + "\n"
    return lambda: parse_panics(text)


def _watcher(size: int) -> Callable[[], object]:
    def feed() -> object:
        watcher = Watcher(death_strings())
        for _ in range(size // 4096):
            watcher.feed(b"A" * 4096)
        return watcher

    return feed


def _sysctl(lines: int) -> Callable[[], object]:
    text = "".join(f"kern.x{n}: {n}\n" for n in range(lines))
    return lambda: parse_sysctl(text)


@pytest.mark.parametrize(
    ("make", "size"),
    [(_panic, 512 * 1024), (_watcher, 512 * 1024), (_sysctl, 5000)],
    ids=["panic title of one long token", "console watcher without newlines", "sysctl lines"],
)
def test_four_times_the_input_costs_about_four_times_the_time(
    make: Callable[[int], Callable[[], object]], size: int
) -> None:
    small = _best(make(size), repeats=5)
    large = _best(make(4 * size))
    assert large / max(small, 1e-4) < MAX_RATIO, (
        f"x4 input: {large / small:.1f}x the time ({small:.3f} s → {large:.3f} s)"
    )
