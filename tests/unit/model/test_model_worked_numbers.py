"""The spec's worked numbers (§2.1, §3, §5 I-6, I-13) as tests."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.model.arch import ArchConstants
from harness.model.g2 import G2Kernel, vm_kstack_pindex
from harness.model.generations import make_kernel
from harness.model.kernel import ModelParams
from harness.model.uma import UMA_13, UMA_14, CachePolicy, maxcache_params
from harness.model.uma_backend import UmaCacheKernel


def test_kstack_object_size_amd64() -> None:
    assert ArchConstants.load("amd64").kstack_object_size == 0x1FFFFFFF


def test_kstack_object_size_arm64() -> None:
    assert ArchConstants.load("arm64").kstack_object_size == 0x8000000


def test_kvm_size_matches_the_12_1_transcript() -> None:
    assert ArchConstants.load("amd64").kvm_size == 0x1FFFFFFF000 == 2199023251456


def test_g2_import_quantum_and_slots() -> None:
    a = ArchConstants.load("amd64")
    assert a.kstack_import_quantum == 10_485_760
    assert a.kstack_arena_span == 10_465_280 == 2555 * 4096
    assert a.slots_per_import == 511


@pytest.mark.parametrize(("import_linear", "bump", "slot"), [(512, 3, 103), (1536, 4, 308)])
def test_g2_import_bump(import_linear: int, bump: int, slot: int) -> None:
    a = ArchConstants.load("amd64")
    P = a.stack_slot_pages
    rem = import_linear % P
    assert (P - rem if rem else 0) == bump
    first = import_linear + bump
    assert first // P == slot
    ks = a.vm_min_kernel_address + a.ptoa(first + a.kstack_guard_pages)
    first_pindex = vm_kstack_pindex(a.vm_min_kernel_address, a.page_shift, 4, 1, ks, 4)
    assert first_pindex == slot * 4
    if import_linear == 512:
        last_ks = ks + a.ptoa(P * 510)
        last = vm_kstack_pindex(a.vm_min_kernel_address, a.page_shift, 4, 1, last_ks, 4)
        assert (first_pindex, last + 3) == (412, 2455)
    else:  # the span (2555 pages from the bumped start) ends one page before the 2560-page chunk ends
        assert first + 511 * P == first + a.kstack_arena_span // 4096 == import_linear + 2560 - 1


def test_g2_guard_page_pindex_is_an_error() -> None:
    a = ArchConstants.load("amd64")
    with pytest.raises(UsageError, match="guard page"):
        vm_kstack_pindex(a.vm_min_kernel_address, 12, 4, 1, a.vm_min_kernel_address + a.ptoa(515), 4)


def test_g2_model_import_holds_511_slots_and_128_slots_fill_a_reservation() -> None:
    k = make_kernel("G2", ArchConstants.load("amd64"), ModelParams())
    assert isinstance(k, G2Kernel)
    pid = k.fork(0)
    assert pid is not None
    for _ in range(600):
        assert k.thread_create(pid, 0) is not None
    arena = k.kstack_arena[0]
    assert arena.imports == 2
    assert arena.size == 2 * 10_465_280
    # 511 slots in the first import: the 512th default stack came from a second one
    slots = sorted(st.ks for st in k.stacks.values())
    assert arena.busy_tags == len(slots)
    assert k.phys.fullpop >= 1
    # every default stack's pindexes are 4s … 4s+3 with s = linear div 5
    for st in k.stacks.values():
        lin = k.arch.atop(st.ks - k.arch.vm_min_kernel_address)
        assert lin % 5 == 1 and st.pindex == (lin // 5) * 4


def test_g2_model_second_import_comes_with_the_512th_stack_and_fullpop_counts_complete_reservations() -> None:
    k = make_kernel("G2", ArchConstants.load("amd64"), ModelParams())
    assert isinstance(k, G2Kernel)
    pid = k.fork(0)
    assert pid is not None
    arena = k.kstack_arena[0]
    for _ in range(700):
        assert k.thread_create(pid, 0) is not None
        assert arena.imports == (1 if arena.busy_tags <= 511 else 2), arena.busy_tags
    assert arena.busy_tags > 511
    # a reservation r covers pindex [512r, 512r+511]: full exactly when 128 consecutive slots are all live
    slots = {st.pindex // 4 for st in k.stacks.values() if st.npages == 4}
    full = {s // 128 for s in slots if all(s - s % 128 + i in slots for i in range(128))}
    assert all(r * 512 + i in k.kobj.pages for r in full for i in range(512))
    assert k.phys.fullpop == len(full) >= 1


def test_128_consecutive_slots_are_one_reservation() -> None:
    pages = 128 * 4
    assert pages == 512 == 1 << ArchConstants.load("amd64").reserv_order


def test_g1_reservation_fill_never_exceeds_four_fifths() -> None:
    k = make_kernel("G1", ArchConstants.load("amd64"), ModelParams())
    pid = k.fork(0)
    assert pid is not None
    for _ in range(3000):
        k.thread_create(pid, 0)
    assert k.phys.fullpop == 0
    assert k.phys.max_fill / 512 <= 4 / 5
    assert k.phys.max_fill >= 400  # stacks alone nearly reach the cap when nothing else shares the KVA


@pytest.mark.parametrize(
    ("ncpu", "cap", "bsize", "bucket_max"),
    [(1, 128, 32, 64), (8, 128, 4, 64), (32, 128, 1, 64), (64, 256, 1, 128)],
)
def test_i6_examples(ncpu: int, cap: int, bsize: int, bucket_max: int) -> None:
    a = ArchConstants.load("amd64", ncpu=ncpu)
    assert a.default_kstack_cache_size == cap
    p = maxcache_params(cap, ncpu, 1)
    assert (p.bucket_size, p.bucket_max) == (bsize, bucket_max)
    k = make_kernel("G1", a)
    assert (k.zone.bucket_size_max, k.zone.bucket_max) == (bsize, bucket_max)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("nitems", "bsize", "bucket_max"), [(3, 1, 1), (2, 1, 0), (1, 0, 1), (0, 0, 0)])
def test_i6_small_cache_forces_one_item_buckets(nitems: int, bsize: int, bucket_max: int) -> None:
    # 1 CPU: nb = 2; bsize = nitems/nb/2 is 0, forced to 1 while nitems/nb > 0 (vm.kstack_cache_size set low)
    p = maxcache_params(nitems, 1, 1)
    assert (p.nb, p.bucket_size, p.bucket_max) == (2, bsize, bucket_max)


def test_i6_numa_adds_cross_buckets() -> None:
    p = maxcache_params(128, 4, 2)
    assert (p.bpcpu, p.bpdom, p.nb) == (3, 1, 14)
    assert p.bucket_size == 128 // 14 // 2


def test_from_sysctls_overrides_and_rejects() -> None:
    a = ArchConstants.from_sysctls(
        "arm64",
        {"hw.ncpu": "8", "vm.ndomains": "2", "kern.kstack_pages": "6", "vm.min_kernel_address": "18446462598732840960"},
    )
    assert (a.ncpu, a.ndomains, a.kstack_pages) == (8, 2, 6)
    assert a.vm_min_kernel_address == 0xFFFF000000000000
    with pytest.raises(UsageError, match=r"hw\.ncpu"):
        ArchConstants.from_sysctls("amd64", {"hw.ncpu": "many"})
    with pytest.raises(UsageError, match="unknown arch"):
        ArchConstants.load("riscv")


@pytest.mark.parametrize(("policy", "trims"), [(UMA_14, True), (UMA_13, False)])
def test_idle_trimming_by_uma_era(policy: CachePolicy, trims: bool) -> None:
    """14.x's zone_timeout releases domain buckets that stayed unused for hours (limin/timin); 13.x's never does
    (it only updates the WSS), and there a trim after the idle time drains to max(WSS, nitems − imin) = 0."""
    k = make_kernel("G1", ArchConstants.load("amd64", ncpu=8), ModelParams(policy=policy, kstack_cache_size=1024))
    assert k.attach_reference()
    pid = k.fork(0)
    assert pid is not None
    tids = [k.thread_create(pid, 0) for _ in range(1000)]
    for tid in tids:
        assert tid is not None
        k.thread_exit(tid)
    k.reap(cpu=0)
    assert isinstance(k, UmaCacheKernel) and k.ref is not None
    cached = k.zone.domains[0].nitems
    for _ in range(3 * 180):  # three hours of 20 s timeouts
        k.uma_timeout()
    assert (k.zone.domains[0].nitems < cached) is trims
    k.uma_reclaim(3)
    if not trims:
        assert k.zone.domains[0].nitems == 0
    assert k.ref.compare_buckets(k.zone) == ""
