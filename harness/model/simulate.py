"""``harness model simulate``: a seeded random event mix over one generation, every applicable invariant
checked after every step (incrementally, see invariants.py). State is bounded by ``max_threads``, so memory
grows with the live stacks, never with the number of events."""

from __future__ import annotations

import gc
import random
import time
from bisect import bisect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate, repeat, starmap
from operator import mul

from harness.model.arch import ArchConstants
from harness.model.generations import canonical, make_kernel
from harness.model.invariants import APPLIES, check_layout, check_swapped_in, check_swapped_out, make_checker
from harness.model.kernel import ModelParams
from harness.model.uma import RECLAIM_DRAIN, RECLAIM_DRAIN_CPU, RECLAIM_TRIM

EVENTS: tuple[tuple[str, float], ...] = (
    ("thread_create", 30.0),
    ("thread_exit", 27.0),
    ("reap", 6.0),
    ("fork", 4.0),
    ("proc_exit", 3.0),
    ("proc_reap", 3.0),
    ("swapout", 1.5),
    ("launder", 1.5),
    ("pagedaemon_free", 1.5),
    ("swapin", 1.5),
    ("uma_timeout", 0.5),
    ("uma_reclaim", 0.2),
    ("set_cache_size", 0.1),
    ("memory_pressure", 0.2),
    ("kva_other", 1.0),
    ("alt_thread", 0.5),
    ("lowmem", 0.1),
)

#: The event mix is drawn in batches of this size (the same random stream as ever for a given seed).
DRAW_BATCH = 4096
#: The full invariant walk (every stack and process: O(live stacks), ~ the cost of 4,000 steps' O(1) checks)
#: runs after every this many steps and once more at the end of every run. Newly built stacks get their I-4
#: layout check and swapped stacks their I-14/I-16 checks at the step that touched them, so the walk only
#: looks for later corruption of untouched stacks; at 16,384 it costs about a twentieth of a run.
FULL_CHECK_EVERY = 16384


@dataclass
class SimResult:
    generation: str
    arch: str
    seed: int
    events: int
    seconds: float
    events_per_second: float
    peak_live_stacks: int
    final_live_stacks: int
    invariants: list[str]
    checks: int
    event_counts: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class _Picker:
    """A list with O(1) random pick and removal."""

    __slots__ = ("items", "pos")

    def __init__(self) -> None:
        self.items: list[int] = []
        self.pos: dict[int, int] = {}

    def add(self, x: int) -> None:
        self.pos[x] = len(self.items)
        self.items.append(x)

    def remove(self, x: int) -> None:
        i = self.pos.pop(x)
        last = self.items.pop()
        if last != x:
            self.items[i] = last
            self.pos[last] = i

    def pick(self, r: float) -> int:
        return self.items[int(r * len(self.items))]

    def __len__(self) -> int:
        return len(self.items)


def draw_events(rand: Callable[[], float], cum_weights: list[float], n: int) -> list[int]:
    """``random.choices(range(len(cum_weights)), cum_weights=cum_weights, k=n)``: the same ``rand()`` calls and
    the same picks (choices does ``bisect(cum_weights, random() * total, 0, hi)`` per pick), with the loop run
    in C by ``map`` instead of a Python list comprehension."""
    total = cum_weights[-1] + 0.0
    return list(
        map(
            bisect,
            repeat(cum_weights, n),
            map(mul, starmap(rand, repeat((), n)), repeat(total, n)),
            repeat(0, n),
            repeat(len(cum_weights) - 1, n),
        )
    )


def simulate(
    generation: str,
    arch: ArchConstants,
    events: int,
    seed: int = 0,
    *,
    max_threads: int = 1500,
    params: ModelParams | None = None,
) -> SimResult:
    gen = canonical(generation)
    params = params or ModelParams(phys_pages_per_domain=1 << 16, swap_pages=1 << 16)
    k = make_kernel(gen, arch, params)
    policy_checked = k.attach_reference()  # the lockstep cache-policy reference (policy_ref.py)
    rng = random.Random(seed)
    rand = rng.random
    names = [n for n, _ in EVENTS]
    weights = [w for _, w in EVENTS]
    if not k.swapping:
        for i, name in enumerate(names):
            if name in ("swapout", "swapin", "launder", "pagedaemon_free"):
                weights[i] = 0.0
    cum_weights = list(accumulate(weights))  # what random.choices(…, weights) accumulates on every call
    event_ids = range(len(names))
    counts: Counter[int] = Counter()
    ncpu = k.ncpu
    ndom = k.ndomains
    procs = _Picker()  # live processes
    zombies_p = _Picker()  # exited, not yet reaped
    swapped = _Picker()
    extra = _Picker()  # non-first threads of live processes
    kva: list[int] = []
    pressure = [False] * ndom

    inv = [i for i, gens in APPLIES.items() if gen in gens]
    c4 = "I-4" in inv
    c = k.c
    peak = 0

    pid0 = k.fork(0)
    assert pid0 is not None
    procs.add(pid0)

    stacks = k.stacks
    threads = k.threads
    # thread_create and thread_exit are over half of all events: their picker operations are inlined below
    # and the lists, dicts and bound methods they use are bound once here.
    extra_items, extra_pos = extra.items, extra.pos
    procs_items = procs.items
    thread_create, thread_exit = k.thread_create, k.thread_exit

    def new_thread(pid: int, cpu: int, pages: int) -> None:
        created = c.created
        tid = thread_create(pid, cpu, pages)
        if tid is not None:
            extra.add(tid)
            if c4 and c.created != created:  # a stack was built: check its layout (cached ones were checked)
                st = threads[tid].stack
                assert st is not None
                check_layout(k, st)

    check, full_check = make_checker(k)

    t0 = time.perf_counter()
    done = 0
    multi_cpu = ncpu > 1
    # The cyclic GC is off for the run: per event the model allocates threads, stacks and page lists but makes
    # no reference cycles (a thread leaves its process's list when its ``proc`` is cleared), so collections
    # would only re-walk the live state (~5-15 % of a run); memory stays bounded by the live stacks
    # (benchmarks/bench_model_simulate.py::test_memory_grows_with_live_stacks_not_events).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while done < events:
            n = min(DRAW_BATCH, events - done)
            evs = draw_events(rand, cum_weights, n)
            counts.update(evs)
            for ev in evs:
                r = rand()  # every step draws its CPU, also on one CPU (the random stream stays the same)
                cpu = int(r * ncpu) if multi_cpu else 0
                if ev == 0 and (len(threads) < max_threads or not extra_items):  # thread_create
                    if procs_items:
                        created = c.created
                        tid = thread_create(procs_items[int(rand() * len(procs_items))], cpu, 0)
                        if tid is not None:
                            extra_pos[tid] = len(extra_items)
                            extra_items.append(tid)
                        if c.created != created:  # stacks were built (only then can the peak grow)
                            if c4 and tid is not None:
                                st = threads[tid].stack
                                assert st is not None
                                check_layout(k, st)
                            if len(stacks) > peak:
                                peak = len(stacks)
                elif ev <= 1:  # thread_exit, also for a thread_create at max_threads
                    if ev == 0:
                        counts[0] -= 1  # counted as the thread_exit it turns into
                        counts[1] += 1
                    if extra_items:
                        i = int(rand() * len(extra_items))
                        tid = extra_items[i]
                        last = extra_items.pop()  # _Picker.remove: the last tid takes the freed slot
                        if last != tid:
                            extra_items[i] = last
                            extra_pos[last] = i
                        del extra_pos[tid]
                        thread_exit(tid)
                elif ev == 2:
                    k.reap(int(rand() * ndom), cpu)
                elif ev == 3:
                    if len(threads) < max_threads:
                        created = c.created
                        pid = k.fork(cpu)
                        if pid is not None:
                            procs.add(pid)
                            if c4 and c.created != created:
                                st = k.procs[pid].threads[0].stack
                                assert st is not None
                                check_layout(k, st)
                        peak = max(peak, len(stacks))
                elif ev == 4:
                    if len(procs) > 1:
                        pid = procs.pick(rand())
                        procs.remove(pid)
                        if pid in swapped.pos:
                            swapped.remove(pid)
                        for td in k.procs[pid].threads[1:]:
                            extra.remove(td.tid)
                        k.proc_exit(pid, cpu)
                        zombies_p.add(pid)
                elif ev == 5:
                    if len(zombies_p):
                        pid = zombies_p.pick(rand())
                        zombies_p.remove(pid)
                        k.proc_reap(pid, cpu)
                elif ev == 6:  # swapout
                    if procs.items:
                        pid = procs.pick(rand())
                        if pid not in swapped.pos and k.swapout(pid):
                            swapped.add(pid)
                            for td in k.procs[pid].threads:
                                assert td.stack is not None
                                check_swapped_out(k, td.stack)
                elif ev == 7:
                    k.launder(1 + int(rand() * 64))
                elif ev == 8:
                    k.pagedaemon_free(1 + int(rand() * 64))
                elif ev == 9:  # swapin
                    if len(swapped):
                        pid = swapped.pick(rand())
                        swapped.remove(pid)
                        p = k.procs[pid]
                        doms = [td.stack.domain for td in p.threads if td.stack is not None]
                        k.swapin(pid, cpu)
                        for td, d in zip(p.threads, doms, strict=True):
                            assert td.stack is not None
                            check_swapped_in(k, td.stack, d)
                elif ev == 10:
                    k.uma_timeout()
                elif ev == 11:
                    k.uma_reclaim((RECLAIM_DRAIN, RECLAIM_DRAIN_CPU, RECLAIM_TRIM)[int(rand() * 3)])
                elif ev == 12:
                    k.set_cache_size((16, 64, 128, 256, 1024, k.arch.default_kstack_cache_size)[int(rand() * 6)])
                elif ev == 13:
                    d = int(rand() * ndom)
                    pressure[d] = not pressure[d]
                    k.set_memory_pressure(d, 0 if pressure[d] else 1 << 40)
                elif ev == 14:
                    if kva and rand() < 0.5:
                        k.kva_other_free(kva.pop(int(rand() * len(kva))))
                    elif len(kva) < 256:
                        addr = k.kva_other_alloc(1 + int(rand() * 16))
                        if addr is not None:
                            kva.append(addr)
                elif ev == 15:
                    if procs_items and len(threads) < max_threads:
                        new_thread(procs_items[int(rand() * len(procs_items))], cpu, k.P + 2)
                        peak = max(peak, len(stacks))
                elif ev == 16:
                    k.lowmem()
                check()
            done += n
            if done % FULL_CHECK_EVERY == 0:
                full_check()
        if events % FULL_CHECK_EVERY:  # the tail of the run (or a run shorter than one batch) gets its full walk too
            full_check()
    finally:
        if gc_was_enabled:
            gc.enable()
    seconds = time.perf_counter() - t0
    return SimResult(
        generation=gen,
        arch=arch.arch,
        seed=seed,
        events=events,
        seconds=round(seconds, 3),
        events_per_second=round(events / seconds) if seconds > 0 else 0,
        peak_live_stacks=peak,
        final_live_stacks=len(k.stacks),
        invariants=inv + (["policy"] if policy_checked else []),
        checks=done,
        event_counts={names[i]: counts[i] for i in event_ids if counts[i]},
        counters={
            "stacks_created": c.created,
            "stacks_destroyed": c.destroyed,
            "forks": c.v_forks,
            "swapouts": c.swapouts,
            "swap_pages_out": c.v_swappgsout,
            "swap_pages_in": c.v_swappgsin,
            "enomem": c.enomem,
            "stalls": c.stalls,
        },
    )
