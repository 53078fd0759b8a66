"""The simulator's checkers catch a broken model: each fault below breaks exactly one invariant, and the per-step
check (or, for I-4, the periodic full walk) must name it. A checker made cheaper must still fail these."""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import accumulate

import pytest

from harness.model import simulate as simulate_mod
from harness.model.arch import ArchConstants
from harness.model.g0_list import G0ListKernel
from harness.model.g0_uma import G0UmaKernel
from harness.model.g1 import G1Kernel
from harness.model.g2 import G2Kernel
from harness.model.generations import GENERATIONS, make_kernel
from harness.model.invariants import InvariantViolation, make_checker
from harness.model.kernel import Kernel, ModelParams
from harness.model.simulate import FULL_CHECK_EVERY, simulate
from harness.model.uma_backend import UmaCacheKernel


def _busy_kernel(generation: str, ncpu: int = 2, ndomains: int = 1) -> Kernel:
    """A kernel with live, zombie-reaped (cached), alt-size and parked stacks."""
    k = make_kernel(
        generation,
        ArchConstants.load("amd64", ncpu=ncpu, ndomains=ndomains),
        ModelParams(phys_pages_per_domain=1 << 14, swap_pages=1 << 14),
    )
    pid = k.fork(0)
    assert pid is not None
    tids = [k.thread_create(pid, i % ncpu) for i in range(40)]
    k.thread_create(pid, 0, k.P + 2)
    for tid in tids[:25]:
        assert tid is not None
        k.thread_exit(tid)
    k.reap()
    other = k.fork(1 % ncpu)
    assert other is not None
    k.proc_exit(other)
    k.proc_reap(other)
    return k


def _drop_page(k: Kernel) -> None:
    assert isinstance(k, G1Kernel | G2Kernel)
    k.kobj.pages.popitem()


def _thread_struct_leak(k: Kernel) -> None:
    k.thread_structs += 1


def _cache_over_limit(k: Kernel) -> None:
    assert isinstance(k, UmaCacheKernel) and k.zone.cached > 0
    k.zone.cap_hwm = k.zone.cached - 1


def _object_leak(k: Kernel) -> None:
    if isinstance(k, G0ListKernel | G0UmaKernel):
        k.objs.popitem()
    else:
        k.c.vm_object_req += 1


def _kva_leak(k: Kernel) -> None:
    if isinstance(k, G2Kernel):
        k.kstack_arena[0].busy[1 << 12] = 1 << 12  # a busy tag no stack owns
    else:
        k.kernel_arena.inuse += k.arch.page_size


def _object_shadowed(k: Kernel) -> None:
    assert isinstance(k, G1Kernel | G2Kernel)
    k.kobj.shadow += 1


def _g3_laundry(k: Kernel) -> None:
    k.c.laundry += 1


FAULTS: list[tuple[str, Callable[[Kernel], None], tuple[str, ...]]] = [
    ("I-1", _drop_page, ("G1", "G2", "G3")),
    ("I-2", _thread_struct_leak, ("G0-uma", "G1", "G2", "G3")),
    ("I-6", _cache_over_limit, ("G0-uma", "G1", "G2", "G3")),
    ("I-11", _object_leak, ("G0-list", "G0-uma", "G1", "G2", "G3")),
    ("I-12", _kva_leak, ("G1", "G2", "G3")),
    ("I-20", _object_shadowed, ("G1", "G2", "G3")),
    ("I-19", _g3_laundry, ("G3",)),
]
CASES = [(inv, fault, gen) for inv, fault, gens in FAULTS for gen in gens]


@pytest.mark.parametrize(("invariant", "fault", "generation"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_per_step_check_names_the_broken_invariant(
    invariant: str, fault: Callable[[Kernel], None], generation: str
) -> None:
    k = _busy_kernel(generation)
    check, full_check = make_checker(k)
    check()
    full_check()
    fault(k)
    with pytest.raises(InvariantViolation) as info:
        check()
    assert info.value.invariant == invariant


@pytest.mark.parametrize("generation", ["G1", "G2", "G3"])
@pytest.mark.parametrize("topology", [(2, 1), (4, 2)])
def test_full_walk_catches_a_misplaced_stack(generation: str, topology: tuple[int, int]) -> None:
    k = _busy_kernel(generation, *topology)
    check, full_check = make_checker(k)
    st = next(iter(k.stacks.values()))
    st.pindex += 1  # counts still agree: only the per-stack walk (I-4) can see it
    check()
    with pytest.raises(InvariantViolation) as info:
        full_check()
    assert info.value.invariant == "I-4"


@pytest.mark.parametrize("generation", ["G1", "G2", "G3"])
def test_full_walk_catches_a_page_at_the_wrong_frame(generation: str) -> None:
    k = _busy_kernel(generation)
    check, full_check = make_checker(k)
    st = next(iter(k.stacks.values()))
    k.stacks[st.ks].obj.pages[st.pindex + 1] += 1  # same page count, wrong physical frame
    check()
    with pytest.raises(InvariantViolation) as info:
        full_check()
    assert info.value.invariant == "I-4"


@pytest.mark.parametrize("generation", list(GENERATIONS))
def test_simulate_stops_at_the_step_a_model_bug_breaks_an_invariant(
    generation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model bug leaks one thread struct and one object mid-run: the per-step check fails at that step, long
    before the first full walk. The bug comes in through the simulator's two Python-level seams (its kernel
    factory and its random stream), as the mypyc-compiled build's kernel classes cannot be subclassed here."""
    kernels: list[Kernel] = []
    events = FULL_CHECK_EVERY - 1
    leak_at = events + 500  # the first batch draws `events` picks; later draws happen inside event steps

    def make_and_keep(gen: str, arch: ArchConstants, params: ModelParams) -> Kernel:
        kernels.append(make_kernel(gen, arch, params))
        return kernels[-1]

    class LeakingRandom(random.Random):
        draws = 0

        def random(self) -> float:
            self.draws += 1
            if self.draws == leak_at:
                kernels[0].thread_structs += 1
                kernels[0].c.vm_object_used += 1  # G0-list has no THREAD count check: break I-11 too
            return super().random()

    monkeypatch.setattr(simulate_mod, "make_kernel", make_and_keep)
    monkeypatch.setattr(simulate_mod.random, "Random", LeakingRandom)
    with pytest.raises(InvariantViolation) as info:
        simulate(generation, ArchConstants.load("amd64", ncpu=2), events, seed=3)
    assert info.value.invariant in ("I-1", "I-2", "I-11")
    assert len(kernels) == 1


@pytest.mark.parametrize("generation", list(GENERATIONS))
def test_simulate_a_healthy_model_passes_every_check(generation: str) -> None:
    events = FULL_CHECK_EVERY + 5  # one periodic full walk and the tail's
    result = simulate(generation, ArchConstants.load("amd64", ncpu=2, ndomains=2), events, seed=5)
    assert result.checks == events
    assert sum(result.event_counts.values()) == result.checks


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_draw_events_is_random_choices(seed: int) -> None:
    """The simulator's batched draw makes the same picks from the same stream as random.choices."""
    weights = [w for _, w in simulate_mod.EVENTS]
    weights[7] = 0.0  # a disabled event (G3 has four)
    ours, theirs = random.Random(seed), random.Random(seed)
    cum = list(accumulate(weights))
    for n in (1, 7, 4096):
        assert simulate_mod.draw_events(ours.random, cum, n) == theirs.choices(range(len(weights)), weights, k=n)
    assert ours.random() == theirs.random()


@pytest.mark.parametrize("events", [60, 4095, FULL_CHECK_EVERY + 100])
def test_the_tail_of_every_run_gets_the_full_walk(events: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Model audit §6.3.1: a page moved to the wrong frame shortly before the end of a run (which only the full
    walk's I-4 sees) must fail the run, also when the run is shorter than one full-walk period."""
    kernels: list[Kernel] = []

    def make_and_keep(gen: str, arch: ArchConstants, params: ModelParams) -> Kernel:
        kernels.append(make_kernel(gen, arch, params))
        return kernels[-1]

    class CorruptingRandom(random.Random):
        draws = 0

        def random(self) -> float:
            self.draws += 1
            if self.draws == 2 * events + 20:  # well after the batch draws, a few steps before the end
                k = kernels[0]
                assert isinstance(k, G1Kernel)
                pindex = next(iter(k.kobj.pages))
                k.kobj.pages[pindex] += 1 << 30
            return super().random()

    monkeypatch.setattr(simulate_mod, "make_kernel", make_and_keep)
    monkeypatch.setattr(simulate_mod.random, "Random", CorruptingRandom)
    with pytest.raises(InvariantViolation) as info:
        simulate("G1", ArchConstants.load("amd64"), events, seed=2)
    assert info.value.invariant == "I-4"
