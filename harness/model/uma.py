"""The UMA cache zone behind ``vmstat -z kstack_cache`` (spec §4.2, I-6 … I-8).

Follows the 13/14-era ``sys/vm/uma_core.c`` (read in a vendored 14-era copy): per-CPU alloc/free (and, with
FIRSTTOUCH on more than one domain, cross-domain) buckets; a per-domain cache of full buckets capped by
``uz_bucket_max`` (``zone_put_bucket`` keeps a bucket only while the domain's item count stays *below* it);
imports of ``uz_bucket_size`` items on a miss; the working-set estimate and the 20 s trim; ``uma_reclaim``.

Items are opaque to the zone except for ``item.domain`` (the NUMA domain of the item's first page), which a
FIRSTTOUCH zone reads to pick the cross bucket.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: Bucket zones of 14-era UMA on LP64: 2, 4, 8, 16 literal; then BUCKET_SIZE(n) = (8n - 16) / 8.
BUCKET_ENTRIES: tuple[int, ...] = (2, 4, 8, 16, 30, 62, 126, 254)
BUCKET_MAX = BUCKET_ENTRIES[-1]
UMA_TIMEOUT = 20  # seconds between zone_timeout() trims

RECLAIM_DRAIN = 1  # debug.uma_reclaim=1
RECLAIM_DRAIN_CPU = 2  # debug.uma_reclaim=2
RECLAIM_TRIM = 3  # debug.uma_reclaim=3


@dataclass(frozen=True)
class MaxcacheParams:
    """What ``uma_zone_set_maxcache(zone, nitems)`` computes (I-6)."""

    nitems: int
    bpcpu: int
    bpdom: int
    nb: int
    bucket_size: int  # = uz_bucket_size = uz_bucket_size_max
    bucket_max: int  # uz_bucket_max (vm.uma.<zone>.limit.bucket_max)


def maxcache_params(nitems: int, ncpu: int, ndomains: int = 1, firsttouch: bool = True) -> MaxcacheParams:
    """I-6: ``bpcpu = 2`` (+1, with ``bpdom = 1``, for FIRSTTOUCH on >1 domain); ``nb = bpcpu*ncpu + bpdom*ndom``;
    ``bsize = nitems/nb/2`` capped at BUCKET_MAX, forced to 1 if 0 while ``nitems/nb > 0``;
    ``bucket_max = nitems - nb*bsize``."""
    if nitems < 0 or ncpu < 1 or ndomains < 1:
        raise ValueError("nitems >= 0, ncpu >= 1 and ndomains >= 1 are required")
    bpdom = 0
    bpcpu = 2
    if firsttouch and ndomains > 1:
        bpcpu += 1
        bpdom += 1
    nb = bpcpu * ncpu + bpdom * ndomains
    bsize = nitems // nb // 2
    if bsize > BUCKET_MAX:
        bsize = BUCKET_MAX
    elif bsize == 0 and nitems // nb > 0:
        bsize = 1
    return MaxcacheParams(nitems, bpcpu, bpdom, nb, bsize, nitems - nb * bsize)


#: Pre-mid-2020 ``bucket_zones[]`` (G0-uma's era). Upstream Jan 2020 (``freebsd/freebsd-src sys/vm/uma_core.c
#: @175219a4``): BUCKET_SIZE(4, 6, 8, 12, 16, 32, 64, 128, 256) with a 24-byte ``struct uma_bucket``; the
#: G0-uma anchor tree (``jwroberson/freebsd sys/vm/uma_core.c @327f5f8c``) has the 14-era zones.
BUCKET_ENTRIES_2020 = (1, 3, 5, 9, 13, 29, 61, 125, 253)


def maxcache_params_2020(nitems: int, ncpu: int, ndomains: int, zones: Sequence[int], bpcpu: int) -> tuple[int, int]:
    """(bucket size, ``uz_bkt_max``) of pre-2020 ``uma_zone_set_maxcache``/``bucket_zone_max``: the largest
    bucket zone with ``entries·bpcpu·ncpu <= nitems``; the rest, per domain, is the bucket-cache limit."""
    fitting = [e for e in zones if e * bpcpu * ncpu <= nitems]
    if not fitting:
        return 0, nitems
    size = fitting[-1]
    return size, (nitems - size * bpcpu * ncpu) // ndomains


def g0_uma_maxcache_range(nitems: int, ncpu: int, ndomains: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """G0-uma's (bucket size low, high) and (bucket_max low, high) over the eras its kernels may carry: 14-era
    arithmetic (the model's simulation), the G0-uma anchor tree (bpcpu 3: FIRSTTOUCH always adds a cross
    bucket) and upstream Jan 2020 (bpcpu 2, UMA_XDOMAIN off) — model audit §5.3."""
    p = maxcache_params(nitems, ncpu, ndomains)
    eras = [
        (p.bucket_size, p.bucket_max),
        maxcache_params_2020(nitems, ncpu, ndomains, BUCKET_ENTRIES, 3),
        maxcache_params_2020(nitems, ncpu, ndomains, BUCKET_ENTRIES_2020, 2),
    ]
    sizes = [e[0] for e in eras]
    maxes = [e[1] for e in eras]
    return (min(sizes), max(sizes)), (min(maxes), max(maxes))


def bucket_entries(bucket_size: int, bucket_size_max: int) -> int:
    """``ub_entries`` of a bucket allocated now: the bucket zone for ``uz_bucket_size``, capped at the max."""
    for entries in BUCKET_ENTRIES:
        if entries >= bucket_size:
            return min(entries, bucket_size_max)
    return min(BUCKET_MAX, bucket_size_max)


def cache_shrink(bucket_size_min: int, bucket_size: int) -> int:
    """``cache_shrink``: ``uz_bucket_size = (uz_bucket_size_min + uz_bucket_size) / 2``."""
    return (bucket_size_min + bucket_size) // 2


def keep_below(nitems: int, bucket_max: int) -> bool:
    """``zone_put_bucket``: the bucket stays in the domain cache only while the new count is below the limit."""
    return nitems < bucket_max


def list_keeps(kstacks: int, cache_size: int) -> bool:
    """G0-list ``vm_thread_dispose``: a default stack is cached while ``kstacks <= kstack_cache_size``."""
    return kstacks <= cache_size


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """The cache-policy decisions of one era of the code, kept as seams so that the whole model can run under
    another era's arithmetic and so that the mutation suite (tests/unit/model/test_model_mutants.py) can inject a
    behavioural bug through ``ModelParams(policy=...)`` and the kernel factory — no monkeypatching, which the
    mypyc-compiled build would not see. Each field names the ``uma_core.c``/``vm_glue.c`` step it stands for."""

    maxcache: Callable[[int, int, int, bool], MaxcacheParams] = maxcache_params  # uma_zone_set_maxcache
    import_count: Callable[[int, int], int] = min  # zone_alloc_bucket: MIN(uz_bucket_size, ub_entries)
    keeps: Callable[[int, int], bool] = keep_below  # zone_put_bucket's comparison with uz_bucket_max
    shrink: Callable[[int, int], int] = cache_shrink  # uma_reclaim(UMA_RECLAIM_DRAIN_CPU)'s cache_shrink
    list_keeps: Callable[[int, int], bool] = list_keeps  # G0-list vm_thread_dispose
    #: The UMA trimming era. 14 (14.x and later, CHERI-Alliance/freebsd-src sys/vm/uma_core.c @2c440bb0):
    #: ``zone_domain_update_wss`` keeps limin/timin and ``zone_timeout`` trims a quarter of the items unused for
    #: ~15 min; a trim drains while ``nitems >= target + ub_cnt`` with target = WSS. 13 (13.x,
    #: sobomax/freebsd14_vendor sys/vm/uma_core.c @0f7ff342): ``wss = (4·(imax − imin) + wss)/5`` and
    #: ``imax = imin = nitems`` every 20 s, ``zone_timeout`` never trims, and a trim (lowmem,
    #: ``debug.uma_reclaim=3``) drains while ``nitems > target`` with target = max(WSS, nitems − imin).
    era: int = 14


#: The 14.x+ (and model default) policy, and 13.x's.
UMA_14 = CachePolicy()
UMA_13 = CachePolicy(era=13)


class _Domain:
    """``struct uma_zone_domain``: full buckets (head = end of the list) and the WSS estimator."""

    __slots__ = ("bimin", "buckets", "cross", "imax", "imin", "limin", "nitems", "timin", "wss")

    def __init__(self) -> None:
        self.buckets: list[list[Any]] = []
        self.nitems = 0
        self.imax = 0
        self.imin = 0
        self.bimin = 0
        self.wss = 0
        self.limin = 0
        self.timin = 0
        self.cross: list[Any] | None = None  # uzd_cross (only on > 2 domains)


class UmaCacheZone:
    """A ``uma_zcache_create`` zone. ``import_fn(count, domain) -> list`` builds items, ``release_fn(items)`` frees.

    ``domain`` passed to import is the allocating CPU's domain (FIRSTTOUCH) — the kstack import turns it into
    DOMAINSET_PREF(domain). Counters mirror ``vmstat -z``: USED = allocs − frees, FREE = cached items, REQ =
    allocs, FAIL = fails, XDOMAIN = xdomain.
    """

    def __init__(
        self,
        name: str,
        item_size: int,
        cpu_domain: Sequence[int],
        ndomains: int,
        import_fn: Callable[[int, int], list[Any]],
        release_fn: Callable[[list[Any]], None],
        *,
        firsttouch: bool = True,
        bucket_size_min: int = 1,
        policy: CachePolicy = UMA_14,
    ) -> None:
        self.name = name
        self.policy = policy
        self.item_size = item_size
        self.ncpu = len(cpu_domain)
        self.ndomains = ndomains
        self.cpu_domain = list(cpu_domain)
        self.numa = firsttouch and ndomains > 1
        self.import_fn = import_fn
        self.release_fn = release_fn
        self.allocs = 0
        self.frees = 0
        self.fails = 0
        self.xdomain = 0
        self.cached = 0  # items held anywhere in the cache (kept incrementally; nfree + in_flight recounts it)
        self.imports = 0  # items built by import (for I-7)
        self.releases = 0  # items released (for I-8)
        self.bucketdisable = False
        # bucket_select(16384) == 1 for stack-sized items, which zone_ctor keeps as uz_bucket_size_min.
        self.bucket_size_min = bucket_size_min
        self.bucket_size = bucket_size_min
        self.bucket_size_max = bucket_size_min
        self.bucket_max = 0
        self.maxcache = MaxcacheParams(0, 2, 0, 2 * self.ncpu, 0, 0)
        n = self.ncpu
        self._ab: list[list[Any] | None] = [None] * n
        self._abcap = [0] * n
        self._fb: list[list[Any] | None] = [None] * n
        self._fbcap = [0] * n
        self._xb: list[list[Any] | None] = [None] * n
        self._xbcap = [0] * n
        self.domains = [_Domain() for _ in range(ndomains)]

    # --- configuration -------------------------------------------------------------------------------------------

    def set_maxcache(self, nitems: int) -> MaxcacheParams:
        p = self.policy.maxcache(nitems, self.ncpu, self.ndomains, self.numa or self.ndomains == 1)
        self.maxcache = p
        # Buckets already loaded keep their old capacity, so after a shrink F may exceed the new cap until
        # they are replaced; the bounds below remember the largest setting since the last full drain.
        self.cap_hwm = max(getattr(self, "cap_hwm", 0), nitems)
        self.bucket_max_hwm = max(getattr(self, "bucket_max_hwm", 0), p.bucket_max)
        self.bucket_size_max = self.bucket_size = p.bucket_size
        if self.bucket_size_min > self.bucket_size_max:
            self.bucket_size_min = self.bucket_size_max
        self.bucket_max = p.bucket_max
        return p

    def load_state(self, used: int, percpu: Sequence[tuple[int, int]], domain: Sequence[int]) -> None:
        """Start from a known cache state (one domain): ``used`` items handed out, ``percpu[cpu]`` = (items in
        the alloc bucket, in the free bucket), ``domain`` = item counts of the domain's full buckets, head last.
        Items are plain integers; conditional predictions (conditional.py) replay a workload from here."""
        cap = self._new_bucket_cap()
        next_item = 0
        for cpu, (na, nf) in enumerate(percpu):
            for n, buckets, caps in ((na, self._ab, self._abcap), (nf, self._fb, self._fbcap)):
                if n or caps is self._fbcap:
                    buckets[cpu] = list(range(next_item, next_item + n))
                    caps[cpu] = max(n, cap)
                    next_item += n
        d = self.domains[0]
        for n in domain:
            d.buckets.append(list(range(next_item, next_item + n)))
            d.nitems += n
            next_item += n
        self.cached = next_item
        self.allocs = used

    # --- observables ---------------------------------------------------------------------------------------------

    @property
    def used(self) -> int:
        return self.allocs - self.frees

    @property
    def nfree(self) -> int:
        """FREE as ``vmstat -z`` shows it: per-CPU buckets plus the domains' full-bucket caches."""
        total = 0
        for buckets in (self._ab, self._fb, self._xb):
            for b in buckets:
                if b:
                    total += len(b)
        for d in self.domains:
            total += d.nitems
        return total

    @property
    def in_flight(self) -> int:
        """Items in the domains' cross-sorting buckets (> 2 domains): cached but not counted in FREE."""
        return sum(len(d.cross) for d in self.domains if d.cross)

    def cached_items(self) -> list[Any]:
        out: list[Any] = []
        for buckets in (self._ab, self._fb, self._xb):
            for b in buckets:
                if b:
                    out.extend(b)
        for d in self.domains:
            for b in d.buckets:
                out.extend(b)
            if d.cross:
                out.extend(d.cross)
        return out

    def percpu_items(self) -> int:
        return sum(len(b) for bs in (self._ab, self._fb, self._xb) for b in bs if b)

    # --- allocation ----------------------------------------------------------------------------------------------

    def alloc(self, cpu: int) -> Any:
        """``uma_zalloc(zone, M_NOWAIT)`` on ``cpu``: an item, or None (the caller then builds one directly)."""
        b = self._ab[cpu]
        if b:
            self.allocs += 1
            self.cached -= 1
            return b.pop()
        return self._alloc_slow(cpu)

    def _new_bucket_cap(self) -> int:
        return bucket_entries(self.bucket_size, self.bucket_size_max)

    def _alloc_slow(self, cpu: int) -> Any:
        while True:
            fb = self._fb[cpu]
            if fb:  # swap the free bucket in
                self._fb[cpu], self._ab[cpu] = self._ab[cpu], fb
                self._fbcap[cpu], self._abcap[cpu] = self._abcap[cpu], self._fbcap[cpu]
                self.allocs += 1
                self.cached -= 1
                return fb.pop()
            self._ab[cpu] = None  # discard the empty alloc bucket
            self._abcap[cpu] = 0
            domain = self.cpu_domain[cpu]
            bucket = self._fetch_bucket(self.domains[domain], reclaim=False)
            cap = 0
            new = False
            if bucket is None and self.bucket_size != 0 and not self.bucketdisable:
                cap = self._new_bucket_cap()
                want = self.policy.import_count(self.bucket_size, cap)
                items = self.import_fn(want, domain)
                self.imports += len(items)
                if items:
                    bucket = items
                    self.cached += len(items)
                    new = True
                else:
                    self.fails += 1
            elif bucket is not None:
                cap = max(len(bucket), self._new_bucket_cap())
            if bucket is None:
                # zone_alloc_item(): one item straight from import.
                items = self.import_fn(1, domain)
                self.imports += len(items)
                if not items:
                    self.fails += 1
                    return None
                self.allocs += 1
                return items[0]
            if new:
                self.domains[domain].imax += len(bucket)
            self._ab[cpu] = bucket
            self._abcap[cpu] = cap
            self.allocs += 1
            self.cached -= 1
            return bucket.pop()

    # --- free ----------------------------------------------------------------------------------------------------

    def free(self, item: Any, cpu: int) -> None:
        """``uma_zfree(zone, item)`` on ``cpu``."""
        if not self.numa:
            ab = self._ab[cpu]
            if ab is not None and len(ab) < self._abcap[cpu]:
                ab.append(item)
                self.frees += 1
                self.cached += 1
                return
        self._free_slow(item, cpu)

    def _free_slow(self, item: Any, cpu: int) -> None:
        itemdomain = item.domain if self.numa else 0
        cross = self.numa and self.cpu_domain[cpu] != itemdomain
        while True:
            if cross:
                b, cap = self._xb[cpu], self._xbcap[cpu]
            else:
                b, cap = self._ab[cpu], self._abcap[cpu]
                fb = self._fb[cpu]
                # An unloaded bucket has ucb_cnt == ucb_entries == 0: it counts as full and swaps.
                if (len(b) if b is not None else 0) >= cap and fb is not None and len(fb) < self._fbcap[cpu]:
                    self._ab[cpu], self._fb[cpu] = fb, b
                    self._abcap[cpu], self._fbcap[cpu] = self._fbcap[cpu], cap
                    b, cap = fb, self._abcap[cpu]
            if b is not None and len(b) < cap:
                b.append(item)
                self.frees += 1
                self.cached += 1
                return
            if not self._cache_free(cpu, itemdomain, cross):
                break
        # zone_free_item(): straight back to the backend.
        self.release_fn([item])
        self.releases += 1
        self.frees += 1

    def _cache_free(self, cpu: int, itemdomain: int, cross: bool) -> bool:
        if self.bucket_size == 0:
            return False
        if cross:
            bucket = self._xb[cpu]
            if bucket:
                self.xdomain += len(bucket)
            self._xb[cpu] = None
            self._xbcap[cpu] = 0
        else:
            bucket = self._fb[cpu]
            self._fb[cpu] = None
            self._fbcap[cpu] = 0
        newcap = 0 if self.bucketdisable else self._new_bucket_cap()
        if bucket is not None:
            self._free_bucket(bucket, cpu, itemdomain, ws=True)
        if newcap == 0:
            return False
        if cross and self._xb[cpu] is None:
            self._xb[cpu] = []
            self._xbcap[cpu] = newcap
            return True
        self._fb[cpu] = []
        self._fbcap[cpu] = newcap
        return True

    def _free_bucket(self, bucket: list[Any], cpu: int, itemdomain: int, ws: bool) -> None:
        """``zone_free_bucket``: sort cross-domain items on > 2 domains, else cache in ``itemdomain``."""
        if self.numa and self.ndomains > 2 and self.cpu_domain[cpu] != itemdomain:
            self._free_cross(bucket)
            return
        self._put_bucket(itemdomain, bucket, ws)

    def _free_cross(self, bucket: list[Any]) -> None:
        cap = self._new_bucket_cap()
        while bucket:
            item = bucket.pop()
            d = self.domains[item.domain]
            if d.cross is None:
                d.cross = []
            d.cross.append(item)
            if len(d.cross) >= cap:
                full, d.cross = d.cross, None
                self._put_bucket(item.domain, full, ws=True)

    def _put_bucket(self, domain: int, bucket: list[Any], ws: bool) -> None:
        """``zone_put_bucket``: keep the bucket while the domain's count stays below ``bucket_max``."""
        if not bucket:
            return
        d = self.domains[domain]
        cnt = len(bucket)
        d.nitems += cnt
        if self.policy.keeps(d.nitems, self.bucket_max):
            if ws:
                if d.imax < d.nitems:
                    old = d.imax
                    d.imax = d.nitems
                    if d.wss < old - d.bimin:
                        d.wss = old - d.bimin
                    d.bimin = d.nitems
            else:
                d.imax += cnt
                d.imin += cnt
                d.bimin += cnt
                d.limin += cnt
            d.buckets.append(bucket)
            return
        d.nitems -= cnt
        self._drain(bucket)

    def _drain(self, bucket: list[Any]) -> None:
        if bucket:
            self.releases += len(bucket)
            self.cached -= len(bucket)
            self.release_fn(list(bucket))
            bucket.clear()

    def _fetch_bucket(self, d: _Domain, reclaim: bool) -> list[Any] | None:
        if not d.buckets:
            return None
        bucket = d.buckets.pop()
        cnt = len(bucket)
        d.nitems -= cnt
        if reclaim:
            c = min(d.bimin, cnt)
            d.imax -= c
            d.bimin -= c
            d.imin -= min(d.imin, cnt)
            if d.limin >= cnt:
                d.limin -= cnt
            else:
                d.limin = 0
                d.timin = 0
        elif d.bimin > d.nitems:
            d.bimin = d.nitems
            if d.imin > d.nitems:
                d.imin = d.nitems
        return bucket

    # --- trimming and reclaim ------------------------------------------------------------------------------------

    def _update_wss(self, d: _Domain) -> None:
        if self.policy.era == 13:
            wss = d.imax - d.imin
            d.imax = d.imin = d.bimin = d.nitems
            d.wss = (4 * wss + d.wss) // 5
            return
        d.wss = max(d.wss * 3 // 4, d.imax - d.bimin)
        m = d.imin - d.wss
        if m >= 0:
            d.limin = m if d.limin >= m else (m + d.limin * 255) // 256
            d.timin += 1
        else:
            d.limin = 0
            d.timin = 0
        d.imax -= (d.imax - d.nitems + 1) // 2
        d.imin = d.bimin = d.nitems

    def _reclaim_domain(self, domain: int, drain: bool, trim: bool) -> bool:
        d = self.domains[domain]
        if d.cross:
            cross, d.cross = d.cross, None
            self._drain(cross)
        if self.policy.era == 13:
            return self._reclaim_domain_13(d, drain, trim)
        self._update_wss(d)
        if drain:
            target = 0
        elif trim:
            target = d.wss
        elif d.timin > 900 // UMA_TIMEOUT:
            target = d.nitems - d.limin // 4
        else:
            return False
        done = False
        while d.buckets and d.nitems >= target + len(d.buckets[-1]):
            bucket = self._fetch_bucket(d, reclaim=True)
            assert bucket is not None
            self._drain(bucket)
            done = True
        return done

    def _reclaim_domain_13(self, d: _Domain, drain: bool, trim: bool) -> bool:
        """13.x: the timeout only updates the WSS; a trim or drain frees head buckets while above the target."""
        if not (drain or trim):
            self._update_wss(d)
            return False
        target = 0 if drain else max(d.wss, d.nitems - d.imin)
        done = False
        while d.buckets and d.nitems > target:
            bucket = self._fetch_bucket(d, reclaim=True)
            assert bucket is not None
            self._drain(bucket)
            done = True
        return done

    def timeout(self) -> None:
        """``zone_timeout`` (every UMA_TIMEOUT seconds): release items unused for a long time."""
        for dom in range(self.ndomains):
            self._reclaim_domain(dom, drain=False, trim=False)

    def _bucket_cache_reclaim(self, drain: bool) -> None:
        if self.bucket_size > self.bucket_size_min:
            self.bucket_size -= 1
        for dom in range(self.ndomains):
            self._reclaim_domain(dom, drain=drain, trim=True)

    def reclaim(self, kind: int) -> None:
        """``uma_reclaim(kind)`` as ``debug.uma_reclaim`` does it: 1 drain, 2 drain incl. per-CPU, 3 trim."""
        if kind == RECLAIM_TRIM:
            self._bucket_cache_reclaim(drain=False)
        elif kind == RECLAIM_DRAIN:
            self._bucket_cache_reclaim(drain=True)
        elif kind == RECLAIM_DRAIN_CPU:
            self._bucket_cache_reclaim(drain=True)
            self.bucket_size = self.policy.shrink(self.bucket_size_min, self.bucket_size)
            for cpu in range(self.ncpu):
                dom = self.cpu_domain[cpu]
                b1, b2, b3 = self._ab[cpu], self._fb[cpu], self._xb[cpu]
                self._ab[cpu] = self._fb[cpu] = self._xb[cpu] = None
                self._abcap[cpu] = self._fbcap[cpu] = self._xbcap[cpu] = 0
                if b1:
                    self._free_bucket(b1, cpu, dom, ws=False)
                if b2:
                    self._free_bucket(b2, cpu, dom, ws=False)
                if b3:
                    self._free_bucket(b3, cpu, (dom + 1) % self.ndomains, ws=False)
            self._bucket_cache_reclaim(drain=True)
            self.cap_hwm = self.maxcache.nitems
            self.bucket_max_hwm = self.bucket_max
        else:
            raise ValueError(f"unknown reclaim kind {kind}")
