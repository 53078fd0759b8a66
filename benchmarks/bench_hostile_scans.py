"""Guest text that is built to hurt: the scans that read it stay linear (issue 10, findings F4 and F11).

* ``panic: `` and one token of 1 MB / 4 MB with no space, through the panic reader (``harness triage``,
  ``analyze``, ``compare`` re-deriving signatures): syzkaller's title patterns backtracked on such a token,
  40 000 characters took 14 s and 1 MB did not end in 180 s.
* 1 MB / 4 MB without a newline fed to the console watcher in 4 KiB reads (the pump thread): it re-judged the
  whole unfinished line at every read, 4 MB took 70 s.
* ``sysctl`` output of 12 500 / 50 000 lines (the parser kept first-seen order with a list scan).

Each pair is measured side by side in one run; the larger input must cost about 4x the smaller (linear), not 16x
(quadratic), and seconds, not minutes. Run ``pytest benchmarks/bench_hostile_scans.py --benchmark-only``, or
``python benchmarks/bench_hostile_scans.py`` for the ratios alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.guests.freebsd.ddb import death_strings
from harness.parse.panic import parse_panics
from harness.parse.sysctl import parse_sysctl
from harness.vm.watcher import Watcher

MB = 1024 * 1024
READ = 4096
#: Linear work grows 4x from the small input to the large one; quadratic work 16x. Between: noise and caches.
MAX_RATIO = 10.0
MAX_SECONDS = 10.0


def panic_token(size: int) -> Callable[[], object]:
    text = "panic: " + "A" * size + "\n"
    return lambda: parse_panics(text)


def watcher_without_newline(size: int) -> Callable[[], object]:
    chunk = b"A" * READ

    def feed() -> object:
        watcher = Watcher(death_strings())
        for _ in range(size // READ):
            watcher.feed(chunk)
        return watcher

    return feed


def sysctl_lines(lines: int) -> Callable[[], object]:
    text = "".join(f"kern.x{n}: {n}\n" for n in range(lines))
    return lambda: parse_sysctl(text)


CASES: dict[str, tuple[Callable[[int], Callable[[], object]], int]] = {
    "panic-token": (panic_token, MB),
    "watcher-no-newline": (watcher_without_newline, MB),
    "sysctl-lines": (sysctl_lines, 12_500),
}
_SMALL: dict[str, float] = {}


@pytest.mark.parametrize("factor", [1, 4], ids=["x1", "x4"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_scan_is_linear(benchmark: BenchmarkFixture, case: str, factor: int) -> None:
    make, size = CASES[case]
    benchmark.pedantic(make(size * factor), rounds=3, iterations=1)
    best = benchmark.stats.stats.min
    if factor == 1:
        _SMALL[case] = best
        return
    assert best < MAX_SECONDS, f"{case}: {best:.1f} s for 4x the input"
    if case in _SMALL:
        ratio = best / max(_SMALL[case], 1e-6)
        assert ratio < MAX_RATIO, f"{case}: 4x the input cost {ratio:.1f}x the time (quadratic?)"


def main() -> None:
    for case, (make, size) in sorted(CASES.items()):
        times = []
        for factor in (1, 4):
            run = make(size * factor)
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - start)
            times.append(best)
        print(f"{case:20} x1 {times[0]:8.3f} s   x4 {times[1]:8.3f} s   ratio {times[1] / times[0]:5.1f}")


if __name__ == "__main__":
    main()
