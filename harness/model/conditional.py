"""Predictions conditional on the cache state the ``before`` snapshot showed (model audit §6.3.2, issue 12 part 1).

Without a start state, thread-hold's resident-page growth is a bound of ±cap around the truth ([−32, 948] pages
for 100 threads on one CPU), wide enough to pass a kernel that imports one stack per miss. Given kstack_cache
USED and FREE from ``vmstat -z`` before the workload, this module replays the workload on the model's own UMA
zone (uma.py, the true policy) from every placement of the FREE stacks that the cache can be in, for every amount
of background activity the noise allowance admits, creating and reaping on one CPU or on all of them, and takes
the smallest and largest outcome. What is left in the width is exactly that:

* where the F cached stacks sit (the creating CPU's alloc or free bucket, the domain cache, other CPUs' buckets),
  which ``vmstat -z`` does not show;
* background activity of the guest and the harness's own commands: up to ``noise`` stacks allocated or freed;
* the first stack of the workload process, which fork takes new only from a never-used PROC item (+1);
* which CPUs create and reap the threads (one, or round-robin over all).

Assumptions, named in every ``why``: one memory domain (the cross-domain buckets are not replayed); the zone's
``uz_bucket_size`` equals its ``bucket_size_max`` unless the snapshot showed ``vm.uma.kstack_cache.bucket_size``
(a ``uma_reclaim`` lowers it); no UMA trim between the samples (14.x trims only items idle for 15 minutes, 13.x
never on the timeout).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harness.model.uma import UmaCacheZone, bucket_entries

#: Replays are O(threads); beyond this many zone operations in all the closed-form bound is used instead.
MAX_REPLAY_OPS = 3_000_000


@dataclass(frozen=True)
class StartState:
    """kstack_cache as the ``before`` snapshot showed it."""

    used: int
    free: int
    bucket_size: int | None = None  # vm.uma.kstack_cache.bucket_size, when the snapshot has it


@dataclass(frozen=True)
class Range:
    low: int
    high: int

    @staticmethod
    def of(values: list[int]) -> Range:
        return Range(min(values), max(values))

    def widened(self, by: int) -> Range:
        return Range(self.low - by, self.high + by) if by else self


@dataclass(frozen=True)
class HoldOutcome:
    """Bounds for thread-hold from a start state: stacks built/released and FREE, at the plateau and after."""

    built_plateau: Range  # stacks imported minus released between before and plateau
    free_plateau: Range  # FREE at the plateau
    built_after: Range  # stacks imported minus released between before and after
    free_after: Range  # FREE after the threads were reaped
    placements: int
    width: str  # what the width comes from, in words


def placements(free: int, ncpu: int, cap: int, bucket_max: int) -> list[tuple[list[tuple[int, int]], list[int]]]:
    """The distinct ways ``free`` cached items can sit in one domain's cache: (per-CPU (alloc, free) counts,
    domain bucket counts). Domain buckets are full ones (``cache_free`` puts only full free buckets; a drain
    releases the partial ones it puts) and stay below ``bucket_max``; each per-CPU bucket holds at most ``cap``."""
    out: list[tuple[list[tuple[int, int]], list[int]]] = []
    orders = [
        ("alloc", "free", "domain", "others"),
        ("free", "alloc", "domain", "others"),
        ("domain", "alloc", "free", "others"),
    ]
    if ncpu > 1:
        orders.append(("others", "domain", "alloc", "free"))
    for order in orders:
        left = free
        percpu = [[0, 0] for _ in range(ncpu)]
        domain: list[int] = []
        for where in order:
            if where == "alloc":
                percpu[0][0] = take = min(left, cap)
                left -= take
            elif where == "free":
                percpu[0][1] = take = min(left, cap)
                left -= take
            elif where == "domain":
                while left >= cap and (len(domain) + 1) * cap < bucket_max:
                    domain.append(cap)
                    left -= cap
            else:
                for cpu in range(1, ncpu):
                    for slot in (0, 1):
                        take = min(left, cap)
                        percpu[cpu][slot] = take
                        left -= take
        if left:
            continue  # this order cannot hold all of F
        state = ([(a, f) for a, f in percpu], domain)
        if state not in out:
            out.append(state)
    return out


def _cpus(ncpu: int, spread: bool) -> Iterator[int]:
    cpu = 0
    while True:
        yield cpu
        if spread:
            cpu = (cpu + 1) % ncpu


def _replay(
    nitems: int,
    ncpu: int,
    start: StartState,
    state: tuple[list[tuple[int, int]], list[int]],
    threads: int,
    extra: int,
    spread: tuple[bool, bool],
) -> tuple[int, int, int, int]:
    """(built by the plateau, FREE at the plateau, built by the end, FREE at the end) for one scenario:
    ``extra`` > 0 background allocations, < 0 background frees first; ``threads`` created, held, then reaped."""
    zone = UmaCacheZone("kstack_cache", 0, [0] * ncpu, 1, lambda count, domain: list(range(count)), lambda items: None)
    zone.set_maxcache(nitems)
    if start.bucket_size is not None:
        zone.bucket_size = min(start.bucket_size, zone.bucket_size_max)
    percpu, domain = state
    zone.load_state(start.used, percpu, domain)
    cpus = _cpus(ncpu, spread[0])
    held = []
    for _ in range(-extra):  # background threads that exit and are reaped meanwhile
        zone.free(-1, next(cpus))
    for _ in range(threads + max(extra, 0)):
        held.append(zone.alloc(next(cpus)))
    built_plateau = zone.imports - zone.releases
    free_plateau = zone.nfree
    reap = _cpus(ncpu, spread[1])
    for item in held[:threads]:
        zone.free(item, next(reap))
    return built_plateau, free_plateau, zone.imports - zone.releases, zone.nfree


def thread_hold(nitems: int, ncpu: int, start: StartState, threads: int, noise: int) -> HoldOutcome | None:
    """Bounds for thread-hold of ``threads`` from ``start``; None when a replay would be too long or the state
    cannot be placed in the cache (then the caller keeps its unconditional bound)."""
    zone = UmaCacheZone("probe", 0, [0] * ncpu, 1, lambda count, domain: [], lambda items: None)
    zone.set_maxcache(nitems)
    size = zone.bucket_size if start.bucket_size is None else min(start.bucket_size, zone.bucket_size_max)
    cap = bucket_entries(size, zone.bucket_size_max) if size else 0
    states = placements(start.free, ncpu, max(cap, 1), zone.bucket_max)
    extras = [e for e in range(-noise, noise + 2) if e >= -start.used]  # +1: fork's first stack, from the cache
    ways = (False, True) if ncpu > 1 else (False,)
    spreads = [(create, reap) for create in ways for reap in ways]
    if not states or len(states) * len(extras) * len(spreads) * 2 * (threads + noise + 1) > MAX_REPLAY_OPS:
        return None
    runs = [
        _replay(nitems, ncpu, start, state, threads, extra, spread)
        for state in states
        for extra in extras
        for spread in spreads
    ]
    width = (
        f"replayed from USED {start.used} and FREE {start.free} in {len(states)} placement(s) of the FREE stacks "
        f"(per-CPU buckets vs the domain cache, not visible in vmstat -z), with −{noise}…+{noise} background "
        f"stacks (noise) and fork's first stack (+1)"
        + (", creating and reaping on one CPU or round-robin over all" if ncpu > 1 else "")
        + "; assumes one memory domain, uz_bucket_size = "
        + ("the observed vm.uma.kstack_cache.bucket_size" if start.bucket_size is not None else "bucket_size_max")
        + " and no UMA trim between the samples"
    )
    # On more than one CPU the threads may be created and reaped on any mix of CPUs, not only the two patterns
    # replayed: each further CPU can leave one more partly used bucket (built) or hold two (FREE).
    built_slack, free_slack = (ncpu - 1) * cap, (ncpu - 1) * 2 * cap
    if ncpu > 1:
        width += f"; ±{built_slack} built and ±{free_slack} cached stacks for other mixes of {ncpu} CPUs"
    return HoldOutcome(
        built_plateau=Range.of([r[0] for r in runs]).widened(built_slack),
        free_plateau=Range.of([r[1] for r in runs]).widened(free_slack),
        built_after=Range.of([r[2] for r in runs]).widened(built_slack),
        free_after=Range.of([r[3] for r in runs]).widened(free_slack),
        placements=len(states),
        width=width,
    )
