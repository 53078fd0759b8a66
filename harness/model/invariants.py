"""Invariants of spec §5 as executable checks on a model kernel.

``check_all(k)`` checks every invariant that applies to ``k.generation`` over the whole state (O(stacks)).
``Checker`` does the same incrementally for the simulator: the global equations (I-1, I-2, I-6, I-11, I-12,
I-19, I-20) are O(1) comparisons of counts kept by *different* structures (the VM object's page dict, the UMA
zone's counters, the arenas, the thread table), and the per-stack ones (I-4 layout, I-14 and I-16 transitions)
are checked on the stacks an event touched. A violation raises ``InvariantViolation`` naming the invariant.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

from harness.model.g0_list import G0ListKernel
from harness.model.g0_uma import G0UmaKernel
from harness.model.g1 import G1Kernel
from harness.model.g2 import G2Kernel
from harness.model.kernel import ABSENT, INACT, LAUNDRY, RES, RES_DIRTY, Kernel, Stack
from harness.model.uma_backend import UmaCacheKernel
from harness.model.violation import InvariantViolation as InvariantViolation

APPLIES: dict[str, tuple[str, ...]] = {
    "I-1": ("G1", "G2", "G3"),
    "I-2": ("G0-uma", "G1", "G2", "G3"),
    "I-4": ("G1", "G2", "G3"),
    "I-6": ("G0-uma", "G1", "G2", "G3"),
    "I-11": ("G0-list", "G0-uma", "G1", "G2", "G3"),
    "I-12": ("G1", "G2", "G3"),
    "I-14": ("G0-list", "G0-uma", "G1", "G2"),
    "I-16": ("G0-list", "G0-uma", "G1", "G2"),
    "I-19": ("G3",),
    "I-20": ("G1", "G2", "G3"),
}


# Field getters for the full walk (check_all), mapped over every stack or thread.
_NPAGES = attrgetter("npages")
_STACK_SWAPPED = attrgetter("stack.swapped")


def _count_res(pst: list[int]) -> int:
    return pst.count(RES)


def _count_res_dirty(pst: list[int]) -> int:
    return pst.count(RES_DIRTY)


def applicable(generation: str) -> list[str]:
    return [inv for inv, gens in APPLIES.items() if generation in gens]


def _fail(inv: str, msg: str) -> None:
    raise InvariantViolation(inv, msg)


# --- global invariants (O(1)) ---------------------------------------------------------------------------------


def check_i1(k: Kernel) -> None:
    """R = P_k·(U+F) [+ alt pages in G1] − S, with cached-but-uncounted cross items included in F."""
    if not isinstance(k, G1Kernel | G2Kernel):
        return
    u, f = k.cache_used(), k.cache_free() + k.zone.in_flight
    if isinstance(k, G2Kernel):
        r = k.kobj.resident
        expect = k.P * (u + f) - (k.c.absent - k.c.absent_alt)
        ralt = k.altobj.resident
        if ralt != k.alt_pages - k.c.absent_alt:
            _fail("I-1", f"kstack_alt_object R={ralt} != alt pages {k.alt_pages} - S_alt {k.c.absent_alt}")
    else:
        r = k.kobj.resident
        expect = k.P * (u + f) + k.alt_pages - k.c.absent
    if r != expect:
        _fail("I-1", f"R={r} != P_k·(U+F)+alt−S = {k.P}·({u}+{f})+alt−S = {expect}")


def check_i2(k: Kernel) -> None:
    """THREAD.USED = U + N_alt (live, zombie and parked threads all own one stack)."""
    if isinstance(k, G0ListKernel):
        return
    u = k.cache_used()
    if k.thread_structs != u + k.alt_stacks:
        _fail("I-2", f"THREAD.USED {k.thread_structs} != U {u} + N_alt {k.alt_stacks}")
    owned = len(k.threads) + k.zombie_count() + k.parked_count()
    if owned != k.thread_structs:
        _fail("I-2", f"{owned} thread structs reachable but THREAD.USED is {k.thread_structs}")


def check_i6(k: Kernel) -> None:
    """F ≤ vm.kstack_cache_size. After the size is lowered, buckets already loaded keep their capacity until
    replaced, so the bound is the largest size set since the cache was last drained (debug.uma_reclaim=2);
    on NUMA, cross-domain buckets add slack."""
    if isinstance(k, G0ListKernel):
        return
    z = k.zone  # type: ignore[attr-defined]
    f = z.nfree
    bmax = z.bucket_max_hwm
    # zone_put_bucket compares each domain's count with the zone-wide uz_bucket_max, so every further domain can
    # hold up to bucket_max more items; per-CPU cross-domain buckets add slack too.
    slack = z.percpu_items() + (len(z.domains) - 1) * bmax if z.numa else 0
    if f > z.cap_hwm + slack:
        _fail("I-6", f"F={f} > vm.kstack_cache_size {z.cap_hwm} + NUMA slack {slack}")
    for d in z.domains:
        if d.nitems and d.nitems >= bmax:
            _fail("I-6", f"domain bucket cache holds {d.nitems} >= bucket_max {bmax}")


def check_i11(k: Kernel) -> None:
    """G0: one VM object per constructed stack; G1+: the object count never changes."""
    if isinstance(k, G0ListKernel | G0UmaKernel):
        if k.c.vm_object_used != len(k.stacks) or len(k.objs) != len(k.stacks):
            _fail("I-11", f"{k.c.vm_object_used} stack objects for {len(k.stacks)} stacks")
    else:
        want = 1 if isinstance(k, G1Kernel) else 2
        if k.c.vm_object_used != want or k.c.vm_object_req != want:
            _fail("I-11", f"stack VM objects {k.c.vm_object_used} (req {k.c.vm_object_req}), expected {want}")


def check_i12(k: Kernel) -> None:
    """KVA: G1 kernel arena holds (P+G) pages per stack plus other kva_alloc users; G2 kstack arenas hold
    20480 B per default stack, busy tags = stacks, size = 10,465,280 B per import."""
    a = k.arch
    if isinstance(k, G2Kernel):
        per_dom = [0] * k.ndomains
        for st in k.stacks.values():
            if st.npages == k.P:
                per_dom[st.domain] += 1
        slot = a.ptoa(k.P + k.G)
        for d, arena in enumerate(k.kstack_arena):
            if arena.inuse != slot * per_dom[d] or arena.busy_tags != per_dom[d]:
                _fail("I-12", f"kstack arena {d}: inuse {arena.inuse}, busy {arena.busy_tags}, stacks {per_dom[d]}")
            if arena.size != a.kstack_arena_span * len(arena.spans):
                _fail("I-12", f"kstack arena {d}: size {arena.size} != {a.kstack_arena_span}·{len(arena.spans)}")
    elif isinstance(k, G1Kernel):
        stacks = k.stacks.values()
        want = a.ptoa(sum(map(_NPAGES, stacks)) + k.G * len(stacks) + sum(k.other_kva.values()))
        if k.kernel_arena.inuse != want:
            _fail("I-12", f"kernel arena inuse {k.kernel_arena.inuse} != stacks+other {want}")


def check_i12_fast(k: Kernel) -> None:
    """I-12 from counts only (the simulator's per-step form)."""
    a = k.arch
    if isinstance(k, G2Kernel):
        slot = a.ptoa(k.P + k.G)
        n_default = len(k.stacks) - k.alt_stacks
        inuse = busy = 0
        for ar in k.kstack_arena:
            inuse += ar.inuse
            busy += ar.busy_tags
        if inuse != slot * n_default or busy != n_default:
            _fail("I-12", f"kstack arenas inuse {inuse} busy {busy} for {n_default} default stacks")
    elif isinstance(k, G1Kernel):
        pages = len(k.stacks) * (k.P + k.G) - k.alt_stacks * k.P + k.alt_pages + k.other_kva_pages
        if k.kernel_arena.inuse != a.ptoa(pages):
            _fail("I-12", f"kernel arena inuse {k.kernel_arena.inuse} != {a.ptoa(pages)}")


def check_i19(k: Kernel) -> None:
    if k.generation != "G3":
        return
    if k.c.laundry or k.c.inactive or k.c.absent or k.c.v_swappgsout or k.laundry_q:
        _fail("I-19", "a G3 stack page entered the laundry or went to swap")
    if any(p.swapped for p in k.procs.values()):
        _fail("I-19", "a G3 process is swapped out")


def check_i20(k: Kernel) -> None:
    if not isinstance(k, G1Kernel | G2Kernel):
        return
    size = k.arch.kstack_object_size
    for obj in k.stack_objects():
        if obj.ref != 1 or obj.shadow != 0 or obj.size != size:
            _fail("I-20", f"{obj.name}: ref {obj.ref} shadow {obj.shadow} size {obj.size:#x} (want 1, 0, {size:#x})")
        if k.generation != "G3" and obj.type != "sw":
            _fail("I-20", f"{obj.name} type {obj.type}")


def check_counts(k: Kernel) -> None:
    """The page-queue counters agree with the queues (shared by I-14 and I-16)."""
    if len(k.laundry_q) != k.c.laundry or len(k.inactive_q) != k.c.inactive:
        _fail("I-14", f"laundry {k.c.laundry}/{len(k.laundry_q)} inactive {k.c.inactive}/{len(k.inactive_q)}")
    # I-14/I-16: v_wire_count −= P_k at swapout and += P_k at swapin; every other stack page is wired once.
    psts = [st.pst for st in k.stacks.values()]
    wired = sum(map(_count_res, psts)) + sum(map(_count_res_dirty, psts))
    if k.c.wired != wired:
        _fail("I-14", f"wired counter {k.c.wired} != {wired} resident stack pages")


GLOBAL_CHECKS = {
    "I-1": check_i1,
    "I-2": check_i2,
    "I-6": check_i6,
    "I-11": check_i11,
    "I-19": check_i19,
    "I-20": check_i20,
}


# --- per-stack invariants --------------------------------------------------------------------------------------


def check_layout(k: Kernel, st: Stack) -> None:
    """I-4 for one constructed stack."""
    a = k.arch
    lin = a.atop(st.ks - a.vm_min_kernel_address)
    if isinstance(k, G2Kernel):
        if st.npages == k.P:
            slot = k.P + k.G
            if lin % slot != k.G:
                _fail("I-4", f"stack {st.ks:#x}: linear page {lin} mod {slot} = {lin % slot}, want {k.G}")
            if st.pindex != (lin // slot) * k.P:
                _fail("I-4", f"stack {st.ks:#x}: pindex {st.pindex} != slot {lin // slot} · {k.P}")
        elif st.pindex != lin:
            _fail("I-4", f"alt stack {st.ks:#x}: pindex {st.pindex} != linear {lin}")
    elif isinstance(k, G1Kernel):
        if st.pindex != lin:
            _fail("I-4", f"stack {st.ks:#x}: pindex {st.pindex} != atop(ks − VMMIN) {lin}")
        if k.G and (lin - 1) in k.kobj.pages:
            _fail("I-4", f"stack {st.ks:#x}: guard pindex {lin - 1} is resident")
    obj = st.obj
    for i, s in enumerate(st.pst):
        if s != ABSENT and obj.pages.get(st.pindex + i) != st.phys[i]:
            _fail("I-4", f"stack {st.ks:#x} page {i} not at pindex {st.pindex + i}")


def check_layouts(k: Kernel) -> None:
    """I-4 for every constructed stack.

    The simulator's full walk runs this over ~1,500 stacks every 4,096 steps, so each stack first gets the same
    conditions as ``check_layout`` with the lookups hoisted and the page comparison done as one list compare;
    a stack that does not pass (or has a page out on swap) goes through ``check_layout``, which decides and
    names the failure. The fast test is never laxer than ``check_layout``: it only sends more stacks to it.
    """
    a = k.arch
    vmin, shift = a.vm_min_kernel_address, a.page_shift
    P, G = k.P, k.G
    slot = P + G
    g2 = isinstance(k, G2Kernel)
    g1 = isinstance(k, G1Kernel)
    g1_pages: dict[int, int] = k.kobj.pages if isinstance(k, G1Kernel) else {}
    for st in k.stacks.values():
        lin = (st.ks - vmin) >> shift
        pindex = st.pindex
        if g2 and st.npages == P:
            ok = lin % slot == G and pindex == (lin // slot) * P
        elif g2:
            ok = pindex == lin
        elif g1:
            ok = pindex == lin and not (G and (lin - 1) in g1_pages)
        else:
            ok = True  # G0: one object per stack, no KVA-derived pindex to check
        if not ok or ABSENT in st.pst or list(map(st.obj.pages.get, range(pindex, pindex + st.npages))) != st.phys:
            check_layout(k, st)


def check_swapped_out(k: Kernel, st: Stack) -> None:
    """I-14: after swapout every page is unwired, dirty or laundered, not mapped; the KVA is unchanged."""
    if not st.swapped:
        _fail("I-14", f"stack {st.ks:#x} not marked swapped")
    if k.stacks.get(st.ks) is not st:
        _fail("I-14", f"stack {st.ks:#x} lost its KVA")
    for s in st.pst:
        if s not in (LAUNDRY, INACT, ABSENT):
            _fail("I-14", f"stack {st.ks:#x} has a wired page after swapout")


def check_swapped_in(k: Kernel, st: Stack, domain_before: int) -> None:
    """I-16: after swapin every page is resident and wired at the same pindex; G2 keeps the domain."""
    if st.swapped:
        _fail("I-16", f"stack {st.ks:#x} still swapped")
    for i, s in enumerate(st.pst):
        if s not in (RES, RES_DIRTY):
            _fail("I-16", f"stack {st.ks:#x} page {i} not resident after swapin")
        if st.obj.pages.get(st.pindex + i) != st.phys[i]:
            _fail("I-16", f"stack {st.ks:#x} page {i} not in its object")
    if isinstance(k, G2Kernel) and any(d != domain_before for d in st.pdom):
        _fail("I-16", f"G2 stack {st.ks:#x} changed domain across a swap")


def check_all(k: Kernel) -> list[str]:
    """Every applicable invariant over the whole state; returns the invariant ids checked."""
    gen = k.generation
    done = []
    for inv, fn in GLOBAL_CHECKS.items():
        if gen in APPLIES[inv]:
            fn(k)
            done.append(inv)
    if gen in APPLIES["I-12"]:
        check_i12(k)
        done.append("I-12")
    if gen in APPLIES["I-4"]:
        check_layouts(k)
        done.append("I-4")
    check_counts(k)
    for p in k.procs.values():
        if p.swapped:
            for td in p.threads:
                assert td.stack is not None
                check_swapped_out(k, td.stack)
        elif any(map(_STACK_SWAPPED, p.threads)):
            td = next(td for td in p.threads if _STACK_SWAPPED(td))
            _fail("I-16", f"thread {td.tid} of a resident process has a swapped stack")
    if gen in APPLIES["I-14"]:
        done += ["I-14", "I-16"]
    return done


def make_checker(k: Kernel) -> tuple[Callable[[], None], Callable[[], None]]:
    """The simulator's per-step check, specialised to ``k``'s generation, and a periodic full check.

    The per-step check compares counts kept by independent structures in O(1): the object's page dict (R),
    the zone's alloc/free counters (U) and its cached-item count (F), the thread table, the arenas' in-use
    bytes and the vmmeter counters. The full check also recounts F from the buckets and walks every stack.
    """
    gen = k.generation
    c = k.c
    P = k.P
    a = k.arch
    slotb = a.ptoa(k.P + k.G)
    threads = k.threads
    stacks = k.stacks
    size0 = a.kstack_object_size

    def fail(inv: str, msg: str) -> None:
        raise InvariantViolation(inv, msg)

    # The lockstep cache-policy reference (policy_ref.py): three counters compared per step, inline.
    ref = k.ref if isinstance(k, UmaCacheKernel) else None

    # The closures run after every simulator step: objects whose identity never changes (the zone, the VM
    # objects and their page dicts, the arenas' busy-tag dicts) are bound once, and each attribute read once.
    if isinstance(k, G2Kernel):
        zone, kobj, altobj = k.zone, k.kobj, k.altobj
        kpages, altpages = kobj.pages, altobj.pages
        arenas = k.kstack_arena
        busy_maps = [ar.busy for ar in arenas]
        arena0, busy0, one_domain = arenas[0], busy_maps[0], len(arenas) == 1
        g3 = gen == "G3"
        i20 = (1, 0, size0, 1, size0)  # ref, shadow, size of kstack_object; ref, size of kstack_alt_object

        def named_check() -> None:
            u = zone.allocs - zone.frees
            f = zone.cached
            uf = u + f
            absent_alt = c.absent_alt
            n_alt = k.alt_stacks
            if len(kpages) != P * uf - (c.absent - absent_alt):
                fail("I-1", f"R={len(kpages)} != P_k·(U+F)−S with U+F={uf}, S={c.absent - absent_alt}")
            if len(altpages) != k.alt_pages - absent_alt:
                fail("I-1", f"kstack_alt_object R={len(altpages)} != {k.alt_pages - absent_alt}")
            ts = k.thread_structs
            if ts != u + n_alt or len(threads) + k.n_zombies + k.n_parked != ts:
                fail("I-2", f"THREAD.USED {ts} != U {u} + N_alt {n_alt}")
            if uf + n_alt != len(stacks):
                fail("I-2", f"{len(stacks)} constructed stacks != U+F+N_alt {uf + n_alt}")
            if f > zone.cap_hwm and f - zone.in_flight > zone.cap_hwm + (zone.percpu_items() if zone.numa else 0):
                fail("I-6", f"F={f} > vm.kstack_cache_size {zone.cap_hwm}")
            if (c.vm_object_used, c.vm_object_req) != (2, 2):
                fail("I-11", f"{c.vm_object_used} stack VM objects (req {c.vm_object_req}), want 2")
            if one_domain:
                inuse = arena0.inuse
                busy = len(busy0)
            else:
                inuse = sum(ar.inuse for ar in arenas)
                busy = sum(map(len, busy_maps))
            if inuse != slotb * uf or busy != uf:
                fail("I-12", f"kstack arenas inuse {inuse} busy {busy} for {uf} default stacks")
            if (kobj.ref, kobj.shadow, kobj.size, altobj.ref, altobj.size) != i20:
                fail("I-20", "kstack_object ref/shadow/size changed")
            if g3 and (c.laundry or c.inactive or c.absent or c.v_swappgsout):
                fail("I-19", "a G3 stack page entered the laundry")
            if ref is not None and (
                ref.error or ref.cached != f or ref.imported != zone.imports or ref.released != zone.releases
            ):
                policy_fail(ref.compare(zone))

        def check() -> None:
            # named_check's conditions as one expression (no tuples built, one branch); named_check, which
            # names the broken invariant, runs only when one of them fails.
            z = zone
            u = z.allocs - z.frees
            f = z.cached
            uf = u + f
            absent_alt = c.absent_alt
            n_alt = k.alt_stacks
            ts = k.thread_structs
            if one_domain:
                inuse = arena0.inuse
                busy = len(busy0)
            else:
                inuse = sum(ar.inuse for ar in arenas)
                busy = sum(map(len, busy_maps))
            if (
                len(kpages) != P * uf - c.absent + absent_alt
                or len(altpages) != k.alt_pages - absent_alt
                or ts != u + n_alt
                or len(threads) + k.n_zombies + k.n_parked != ts
                or uf + n_alt != len(stacks)
                or (f > z.cap_hwm and f - z.in_flight > z.cap_hwm + (z.percpu_items() if z.numa else 0))
                or c.vm_object_used != 2
                or c.vm_object_req != 2
                or inuse != slotb * uf
                or busy != uf
                or kobj.ref != 1
                or kobj.shadow != 0
                or kobj.size != size0
                or altobj.ref != 1
                or altobj.size != size0
                or (g3 and (c.laundry or c.inactive or c.absent or c.v_swappgsout))
                or (
                    ref is not None
                    and (ref.error or ref.cached != f or ref.imported != z.imports or ref.released != z.releases)
                )
            ):
                named_check()
                fail("?", "the per-step check and its naming pass disagree")  # not reached: named_check raised

    elif isinstance(k, G1Kernel):
        zone, kobj, karena = k.zone, k.kobj, k.kernel_arena
        kpages = kobj.pages
        G = k.G
        slot = P + G
        shift = a.page_shift
        i20_g1 = (1, 0, size0, "sw")  # ref, shadow, size, type of kstack_object

        def named_check() -> None:
            u = zone.allocs - zone.frees
            f = zone.cached
            uf = u + f
            n_alt = k.alt_stacks
            alt_pages = k.alt_pages
            if len(kpages) != P * uf + alt_pages - c.absent:
                fail("I-1", f"R={len(kpages)} != P_k·(U+F)+alt−S with U+F={uf}")
            ts = k.thread_structs
            if ts != u + n_alt or len(threads) + k.n_zombies + k.n_parked != ts:
                fail("I-2", f"THREAD.USED {ts} != U {u} + N_alt {n_alt}")
            if uf + n_alt != len(stacks):
                fail("I-2", f"{len(stacks)} constructed stacks != U+F+N_alt {uf + n_alt}")
            if f > zone.cap_hwm and f - zone.in_flight > zone.cap_hwm + (zone.percpu_items() if zone.numa else 0):
                fail("I-6", f"F={f} > vm.kstack_cache_size {zone.cap_hwm}")
            if (c.vm_object_used, c.vm_object_req) != (1, 1):
                fail("I-11", f"{c.vm_object_used} stack VM objects, want 1")
            pages = uf * slot + alt_pages + n_alt * G + k.other_kva_pages
            if karena.inuse != pages << shift:
                fail("I-12", f"kernel arena inuse {karena.inuse} != {pages << shift}")
            if (kobj.ref, kobj.shadow, kobj.size, kobj.type) != i20_g1:
                fail("I-20", "kstack_object ref/shadow/size/type changed")
            if ref is not None and (
                ref.error or ref.cached != f or ref.imported != zone.imports or ref.released != zone.releases
            ):
                policy_fail(ref.compare(zone))

        def check() -> None:
            # named_check's conditions as one expression; named_check names the failure (as for G2 above).
            z = zone
            u = z.allocs - z.frees
            f = z.cached
            uf = u + f
            n_alt = k.alt_stacks
            alt_pages = k.alt_pages
            ts = k.thread_structs
            if (
                len(kpages) != P * uf + alt_pages - c.absent
                or ts != u + n_alt
                or len(threads) + k.n_zombies + k.n_parked != ts
                or uf + n_alt != len(stacks)
                or (f > z.cap_hwm and f - z.in_flight > z.cap_hwm + (z.percpu_items() if z.numa else 0))
                or c.vm_object_used != 1
                or c.vm_object_req != 1
                or karena.inuse != (uf * slot + alt_pages + n_alt * G + k.other_kva_pages) << shift
                or kobj.ref != 1
                or kobj.shadow != 0
                or kobj.size != size0
                or kobj.type != "sw"
                or (
                    ref is not None
                    and (ref.error or ref.cached != f or ref.imported != z.imports or ref.released != z.releases)
                )
            ):
                named_check()
                fail("?", "the per-step check and its naming pass disagree")  # not reached: named_check raised

    elif isinstance(k, G0ListKernel):
        objs = k.objs
        lref, kcache = k.ref, k.kcache

        def check() -> None:
            n = len(stacks)
            if c.vm_object_used != n or len(objs) != n:
                fail("I-11", f"{c.vm_object_used} stack objects for {n} stacks")
            if lref is not None and (k.kstacks != lref.kstacks or len(kcache) != lref.listed):
                policy_fail(lref.compare(k.kstacks, len(kcache)))

    else:
        assert isinstance(k, G0UmaKernel)
        objs = k.objs
        z = k.zone

        def check() -> None:
            n = len(stacks)
            if c.vm_object_used != n or len(objs) != n:
                fail("I-11", f"{c.vm_object_used} stack objects for {n} stacks")
            u = z.allocs - z.frees
            ts = k.thread_structs
            if ts != u + k.alt_stacks or len(threads) + k.n_zombies + k.n_parked != ts:
                fail("I-2", f"THREAD.USED {ts} != U {u} + N_alt {k.alt_stacks}")
            f = z.cached
            if f > z.cap_hwm and f - z.in_flight > z.cap_hwm + (z.percpu_items() if z.numa else 0):
                fail("I-6", f"F={f} > vm.kstack_cache_size {z.cap_hwm}")
            if ref is not None and (
                ref.error or ref.cached != f or ref.imported != z.imports or ref.released != z.releases
            ):
                policy_fail(ref.compare(z))

    def full_check() -> None:
        if isinstance(k, UmaCacheKernel):
            zone = k.zone
            if zone.cached != zone.nfree + zone.in_flight:
                fail("I-6", f"cached-item count {zone.cached} != items in buckets {zone.nfree + zone.in_flight}")
            if k.ref is not None:
                policy_fail(k.ref.compare_buckets(zone))
        elif isinstance(k, G0ListKernel) and k.ref is not None:
            policy_fail(k.ref.compare(k.kstacks, len(k.kcache)))
        check_all(k)

    return check, full_check


def policy_fail(found: str) -> None:
    """Raise for a policy reference's "I-n: what" disagreement (policy_ref.py); "" is agreement."""
    if found:
        inv, _, msg = found.partition(": ")
        raise InvariantViolation(inv, f"cache policy: {msg}")
