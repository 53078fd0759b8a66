"""An independent reference of the stack caches' *policy*, run in lockstep with a model kernel by the simulator.

The invariants of invariants.py compare tallies kept by different structures; none of them can tell a right
cache policy from a wrong one (model audit §6.2: a zone that imports one stack per miss, keeps a bucket at
``nitems == bucket_max``, skips ``cache_shrink`` or computes the bucket size wrongly passes them all). This module
re-derives, from FreeBSD's source and written apart from uma.py, the decisions that set U, F and R:

* ``uma_zone_set_maxcache`` (14-era ``sys/vm/uma_core.c``; the arithmetic of model audit §3.2, appendix):
  ``nb = 2·ncpu``, ``bsize = nitems/nb/2`` clamped to [1, 254], ``uz_bucket_max = nitems − nb·bsize``;
* ``cache_alloc``/``cache_alloc_retry``/``zone_alloc_bucket``: alloc bucket, then swap in the free bucket, then a
  full bucket from the domain cache, then an import of ``MIN(uz_bucket_size, ub_entries)`` items (I-7), else
  ``zone_alloc_item`` (one item);
* ``uma_zfree_arg``/``cache_free``/``zone_put_bucket``: free into the alloc bucket, else swap with the free
  bucket, else put the full free bucket in the domain cache *only while the count stays below* ``uz_bucket_max``
  and release it otherwise (I-8);
* ``uma_reclaim``: ``uz_bucket_size--`` per bucket-cache reclaim, ``cache_shrink`` (``(min + size)/2``) and the
  per-CPU drain for ``UMA_RECLAIM_DRAIN_CPU``; a drain empties the domain cache;
* G0-list ``vm_thread_dispose`` (``freebsd/freebsd-src sys/vm/vm_glue.c @0010ea38``): cache a default stack while
  ``kstacks <= kstack_cache_size``, where ``kstacks`` counts every constructed stack.

It keeps only counts (items per bucket), for one memory domain. Trims driven by the working-set estimate
(``zone_timeout``, ``UMA_RECLAIM_TRIM``) are not re-derived: the reference takes the zone's result but checks that
it only released whole buckets from the head of the domain cache. ``compare`` names the first disagreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: ``bucket_zones[]`` of 14-era UMA on LP64 (16-byte ``struct uma_bucket``): 2, 4, 8, 16 literal, then
#: BUCKET_SIZE(32, 64, 128, 256) = (8n − 16)/8.
ZONE_ENTRIES = (2, 4, 8, 16, 30, 62, 126, 254)


def reference_maxcache(nitems: int, ncpu: int) -> tuple[int, int]:
    """(``uz_bucket_size``, ``uz_bucket_max``) after ``uma_zone_set_maxcache(zone, nitems)`` on one domain."""
    buckets = 2 * ncpu  # bpcpu 2 (alloc + free); a FIRSTTOUCH zone adds a cross bucket only with > 1 domain
    per_bucket = nitems // buckets
    size = min(per_bucket // 2, ZONE_ENTRIES[-1])
    if size == 0 and per_bucket:
        size = 1
    return size, nitems - buckets * size


def reference_entries(size: int, size_max: int) -> int:
    """``ub_entries`` of a new bucket: the first bucket zone holding ``size`` items, capped at the maximum."""
    fits = [e for e in ZONE_ENTRIES if e >= size]
    return min(fits[0] if fits else ZONE_ENTRIES[-1], size_max)


class UmaReference:
    """Item counts of one ``kstack_cache`` zone on one domain, advanced by the kernel at every zone call."""

    def __init__(self, ncpu: int, nitems: int) -> None:
        self.ncpu = ncpu
        self.alloc_cnt = [0] * ncpu
        self.alloc_cap = [0] * ncpu  # 0: no bucket loaded
        self.free_cnt = [0] * ncpu
        self.free_cap = [0] * ncpu
        self.domain: list[int] = []  # full-bucket cache, head at the end
        self.nitems = 0
        self.size_min = 1  # bucket_select() of a 16 KiB item
        self.size = self.size_max = 1
        self.bucket_max = 0
        self.cached = 0
        self.imported = 0
        self.released = 0
        self.error = ""
        self.set_maxcache(nitems)

    # --- configuration -------------------------------------------------------------------------------------------

    def set_maxcache(self, nitems: int) -> None:
        self.size, self.bucket_max = reference_maxcache(nitems, self.ncpu)
        self.size_max = self.size
        self.size_min = min(self.size_min, self.size_max)

    # --- allocation ----------------------------------------------------------------------------------------------

    def alloc(self, cpu: int, imports: Sequence[tuple[int, int]], bucketdisable: bool) -> None:
        """One ``uma_zalloc`` on ``cpu``; ``imports`` are the (requested, built) pairs kstack_import saw."""
        if self.alloc_cnt[cpu] and not imports:  # the common hit, kept cheap: it runs on every thread creation
            self.alloc_cnt[cpu] -= 1
            self.cached -= 1
            return
        pending = list(imports)
        if self.alloc_cnt[cpu]:
            self._take(cpu)
        elif self.free_cnt[cpu]:
            self._swap(cpu)
            self._take(cpu)
        else:
            self.alloc_cnt[cpu] = self.alloc_cap[cpu] = 0
            if self.domain:
                n = self.domain.pop()
                self.nitems -= n
                self.alloc_cnt[cpu] = n
                self.alloc_cap[cpu] = max(n, reference_entries(self.size, self.size_max))
                self._take(cpu)
            else:
                self._miss(cpu, pending, bucketdisable)
        if pending:
            self.error = f"I-7: {len(pending)} unexpected kstack_import call(s) {pending} on one allocation"

    def _take(self, cpu: int) -> None:
        self.alloc_cnt[cpu] -= 1
        self.cached -= 1

    def _swap(self, cpu: int) -> None:
        a, f = self.alloc_cnt, self.free_cnt
        ac, fc = self.alloc_cap, self.free_cap
        a[cpu], f[cpu] = f[cpu], a[cpu]
        ac[cpu], fc[cpu] = fc[cpu], ac[cpu]

    def _import(self, pending: list[tuple[int, int]], want: int) -> int:
        if not pending:
            self.error = f"I-7: a cache miss made no kstack_import call (want {want} items)"
            return 0
        requested, built = pending.pop(0)
        if requested != want:
            self.error = (
                f"I-7: a cache miss imported {requested} item(s), want MIN(uz_bucket_size, ub_entries) = {want}"
            )
        self.imported += built
        return built

    def _miss(self, cpu: int, pending: list[tuple[int, int]], bucketdisable: bool) -> None:
        if self.size and not bucketdisable:
            entries = reference_entries(self.size, self.size_max)
            built = self._import(pending, min(self.size, entries))
            if built:
                self.alloc_cnt[cpu], self.alloc_cap[cpu] = built, entries
                self.cached += built
                self._take(cpu)
                return
        self._import(pending, 1)  # zone_alloc_item: one item, never cached

    # --- free ----------------------------------------------------------------------------------------------------

    def free(self, cpu: int, bucketdisable: bool) -> None:
        """One ``uma_zfree`` on ``cpu``."""
        if self.alloc_cnt[cpu] < self.alloc_cap[cpu]:  # the common case: room in the alloc bucket
            self.alloc_cnt[cpu] += 1
            self.cached += 1
            return
        while True:
            if self.alloc_cnt[cpu] >= self.alloc_cap[cpu] and self.free_cnt[cpu] < self.free_cap[cpu]:
                self._swap(cpu)
            if self.alloc_cnt[cpu] < self.alloc_cap[cpu]:
                self.alloc_cnt[cpu] += 1
                self.cached += 1
                return
            if not self.size:  # cache_free refuses: zone_free_item
                self.released += 1
                return
            full = self.free_cnt[cpu]
            self.free_cnt[cpu] = self.free_cap[cpu] = 0
            self._put(full)
            if bucketdisable:  # bucket_alloc fails: zone_free_item
                self.released += 1
                return
            self.free_cap[cpu] = reference_entries(self.size, self.size_max)

    def _put(self, n: int) -> None:
        """``zone_put_bucket``: keep while the domain's count stays below ``uz_bucket_max``, else release."""
        if not n:
            return
        if self.nitems + n < self.bucket_max:
            self.nitems += n
            self.domain.append(n)
        else:
            self.released += n
            self.cached -= n

    # --- reclaim -------------------------------------------------------------------------------------------------

    def _reclaim_buckets(self, drain: bool) -> None:
        if self.size > self.size_min:
            self.size -= 1
        if drain:
            self.released += self.nitems
            self.cached -= self.nitems
            self.domain.clear()
            self.nitems = 0

    def reclaim(self, kind: int, zone_domain: Sequence[int]) -> None:
        """``uma_reclaim(kind)``: 1 drain, 2 drain with ``cache_shrink`` and the per-CPU buckets, 3 trim."""
        if kind == 3:
            self._reclaim_buckets(drain=False)
            self.trimmed(zone_domain)
            return
        self._reclaim_buckets(drain=True)
        if kind == 2:
            self.size = (self.size_min + self.size) // 2
            for cpu in range(self.ncpu):
                for cnt in (self.alloc_cnt, self.free_cnt):
                    n, cnt[cpu] = cnt[cpu], 0
                    self._put(n)
                self.alloc_cap[cpu] = self.free_cap[cpu] = 0
            self._reclaim_buckets(drain=True)

    def trimmed(self, zone_domain: Sequence[int]) -> None:
        """A working-set trim: the zone may release only whole buckets from the head of the domain cache."""
        kept = len(zone_domain)
        if list(zone_domain) != self.domain[:kept]:
            self.error = f"I-8: a trim left domain buckets {list(zone_domain)}, not a prefix of {self.domain}"
            return
        gone = sum(self.domain[kept:])
        del self.domain[kept:]
        self.nitems -= gone
        self.released += gone
        self.cached -= gone

    # --- comparison ----------------------------------------------------------------------------------------------

    def check_parameters(self, zone: Any) -> None:
        """After ``set_maxcache`` or a reclaim (the only changes of the zone's sizes): remember a disagreement."""
        if not self.error:
            self.error = self._parameters(zone)

    def _parameters(self, zone: Any) -> str:
        if (zone.bucket_size, zone.bucket_size_max, zone.bucket_max) != (self.size, self.size_max, self.bucket_max):
            return (
                f"I-6: uz_bucket_size/_max/uz_bucket_max {zone.bucket_size}/{zone.bucket_size_max}/{zone.bucket_max}"
                f", the reference has {self.size}/{self.size_max}/{self.bucket_max}"
            )
        return ""

    def compare(self, zone: Any) -> str:
        """The first disagreement with ``zone`` (a ``UmaCacheZone``) as "I-n: what", or "" when there is none."""
        if self.error:
            return self.error
        found = self._parameters(zone)
        if found:
            return found
        if zone.imports != self.imported:
            return f"I-7: the zone imported {zone.imports} stacks, the reference {self.imported}"
        if zone.releases != self.released or zone.cached != self.cached:
            return (
                f"I-8: the zone released {zone.releases} and caches {zone.cached} stacks, "
                f"the reference {self.released} and {self.cached}"
            )
        return ""

    def compare_buckets(self, zone: Any) -> str:
        """The full walk: every per-CPU bucket and the domain cache, item for item."""
        found = self.compare(zone)
        if found:
            return found
        for cpu in range(self.ncpu):
            ours = (self.alloc_cnt[cpu], self.alloc_cap[cpu], self.free_cnt[cpu], self.free_cap[cpu])
            ab, fb = zone._ab[cpu], zone._fb[cpu]
            theirs = (len(ab or ()), zone._abcap[cpu], len(fb or ()), zone._fbcap[cpu])
            if ours != theirs:
                return f"I-6: cpu {cpu} buckets (alloc n/cap, free n/cap) {theirs}, the reference {ours}"
        domain = [len(b) for b in zone.domains[0].buckets]
        if domain != self.domain:
            return f"I-6: domain cache buckets {domain}, the reference {self.domain}"
        return ""


class ListReference:
    """G0-list's ``kstacks`` and list length, advanced by the kernel at every ``vm_thread_new``/``dispose``."""

    def __init__(self, kstack_pages: int, cache_size: int) -> None:
        self.P = kstack_pages
        self.cache_size = cache_size
        self.kstacks = 0
        self.listed = 0

    def new(self, pages: int) -> None:
        """A stack handed out: from the list if it has one of this size, else built (``unbuilt`` undoes that)."""
        if pages == self.P and self.listed:
            self.listed -= 1
        else:
            self.kstacks += 1

    def unbuilt(self) -> None:
        self.kstacks -= 1

    def dispose(self, pages: int) -> None:
        if pages == self.P and self.kstacks <= self.cache_size:
            self.listed += 1
        else:
            self.kstacks -= 1

    def lowmem(self) -> None:
        self.kstacks -= self.listed
        self.listed = 0

    def compare(self, kstacks: int, listed: int) -> str:
        if (kstacks, listed) != (self.kstacks, self.listed):
            return (
                f"I-8: vm.kstacks {kstacks} with {listed} cached stacks, the reference {self.kstacks} with "
                f"{self.listed} (a freed stack is cached while kstacks <= kstack_cache_size {self.cache_size})"
            )
        return ""
