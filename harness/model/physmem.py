"""Physical pages per NUMA domain, and level-0 superpage reservations (``vm_reserv.c``, spec §2.2, I-13).

Pages are frame numbers. A domain hands out whole 2 MiB chunks to reservations and splits other chunks for
single pages. A page of a COLORED object (``kstack_object`` in G1/G2) is placed in the reservation that covers
``pindex >> level0_order`` when one exists in the same domain; a new reservation is created only when no page
of the object is resident in that pindex range yet (the ``leftcap``/``rightcap`` test of
``vm_reserv_alloc_page``) and a free chunk exists. ``fullpop`` and ``partpop`` are the live gauges of
``vm.reserv.fullpop`` and ``vm.reserv.partpopq``; ``freed`` counts reservations that emptied.
"""

from __future__ import annotations


class Reservation:
    __slots__ = ("base", "domain", "popcnt")

    def __init__(self, base: int, domain: int) -> None:
        self.base = base
        self.domain = domain
        self.popcnt = 0


class PhysDomain:
    __slots__ = ("base", "chunk_pages", "free_chunks", "free_pages", "hog", "next_chunk", "npages", "singles")

    def __init__(self, base: int, npages: int, chunk_pages: int) -> None:
        self.base = base
        self.npages = npages
        self.chunk_pages = chunk_pages
        self.free_pages = npages
        self.next_chunk = base
        self.free_chunks: list[int] = []
        self.singles: list[int] = []
        self.hog = 0  # pages taken by others (memory pressure), counted as not free

    @property
    def available(self) -> int:
        return self.free_pages - self.hog

    def take_chunk(self) -> int | None:
        if self.free_chunks:
            return self.free_chunks.pop()
        if self.next_chunk + self.chunk_pages <= self.base + self.npages:
            c = self.next_chunk
            self.next_chunk += self.chunk_pages
            return c
        return None

    def take_single(self) -> int:
        if not self.singles:
            c = self.take_chunk()
            if c is None:
                raise MemoryError("physical pages exhausted")
            self.singles.extend(range(c + self.chunk_pages - 1, c - 1, -1))
        return self.singles.pop()


class PhysMem:
    def __init__(self, ndomains: int, pages_per_domain: int, level0_order: int) -> None:
        self.order = level0_order
        self.npages_resv = 1 << level0_order
        self.mask = self.npages_resv - 1
        chunk = self.npages_resv
        size = -(-pages_per_domain // chunk) * chunk
        self.domains = [PhysDomain(d * size + chunk, size, chunk) for d in range(ndomains)]
        self.resv: dict[tuple[int, int], Reservation] = {}
        self.fullpop = 0
        self.partpop = 0
        self.freed = 0
        self.max_fill = 0  # the highest popcount any stack reservation reached

    def domain_of(self, pfn: int) -> int:
        for i, d in enumerate(self.domains):
            if d.base <= pfn < d.base + d.npages:
                return i
        raise ValueError(f"frame {pfn:#x} is in no domain")

    def alloc_run(self, oid: int, pindex: int, n: int, domain: int, rcount: dict[int, int] | None) -> list[int]:
        """Frames for pages ``pindex`` … ``pindex+n-1`` of object ``oid``, all from ``domain``, placed as
        ``vm_page_alloc`` places them one page at a time (the caller checked availability). ``rcount`` is given
        for a COLORED object: its resident pages per reservation index, counted here as the pages land.

        Stack creation is the simulator's hottest path, so a run of pages is handled per reservation index, not
        per page: the first page of the run finds (or creates) the reservation every later page of the run would
        find, and the later pages take the next frames of it; popcounts only grow, so the peak and the fullpop
        transition are those of the last page."""
        d = self.domains[domain]
        d.free_pages -= n
        if rcount is None:
            singles = d.singles
            if len(singles) >= n:  # the n frames take_single would pop, in the order it pops them
                taken = singles[: -n - 1 : -1]
                del singles[-n:]
                return taken
            return [d.take_single() for _ in range(n)]
        order, resv = self.order, self.resv
        out: list[int] = []
        p, end = pindex, pindex + n
        while p < end:
            ri = p >> order
            run = min(end, (ri + 1) << order) - p
            rv = resv.get((oid, ri))
            if rv is None and not rcount.get(ri):
                base = d.take_chunk()
                if base is not None:
                    rv = Reservation(base, domain)
                    resv[(oid, ri)] = rv
                    self.partpop += 1
            if rv is not None and rv.domain == domain:
                old = rv.popcnt
                pop = rv.popcnt = old + run
                if pop > self.max_fill:
                    self.max_fill = pop
                if old < self.npages_resv <= pop:
                    self.fullpop += 1
                    self.partpop -= 1
                first = rv.base + (p & self.mask)
                out.extend(range(first, first + run))
            else:
                out.extend([d.take_single() for _ in range(run)])
            rcount[ri] = rcount.get(ri, 0) + run
            p += run
        return out

    def free_run(
        self, oid: int, pindex: int, pfns: list[int], domains: list[int], rcount: dict[int, int] | None
    ) -> None:
        """Free the frames ``pfns`` of pages ``pindex`` … of object ``oid`` (page i in ``domains[i]``); ``rcount``
        as for ``alloc_run`` (for a COLORED object: uncounted here). A run of pages in one domain that all sit in
        their reservation (the usual case for a stack) is freed in one step, as for ``alloc_run``."""
        order, nres, resv = self.order, self.npages_resv, self.resv
        n = len(pfns)
        if rcount is None and not resv and n and domains.count(domains[0]) == n:
            # No reservation anywhere (G0's uncoloured objects): every frame was a single; the loop below would
            # give each back to its domain's singles in this order.
            d = self.domains[domains[0]]
            d.free_pages += n
            d.singles.extend(pfns)
            return
        i = 0
        while i < n:
            ri = (pindex + i) >> order
            j = min(n, ((ri + 1) << order) - pindex)
            if rcount is not None:
                left = rcount[ri] - (j - i)
                if left:
                    rcount[ri] = left
                else:
                    del rcount[ri]
            rv = resv.get((oid, ri))
            run = pfns[i:j] if i or j < n else pfns
            one_domain = domains.count(domains[i]) == n  # the whole stack in one domain (else: page by page)
            if rv is None and one_domain:  # no reservation (an uncoloured object): every page was a single
                d = self.domains[domains[i]]
                d.free_pages += j - i
                d.singles.extend(run)
            elif rv is not None and one_domain and rv.base <= min(run) and max(run) < rv.base + nres:
                d = self.domains[domains[i]]
                d.free_pages += j - i
                old = rv.popcnt
                rv.popcnt = old - (j - i)
                if old == nres:
                    self.fullpop -= 1
                    self.partpop += 1
                if rv.popcnt == 0:
                    del resv[(oid, ri)]
                    self.partpop -= 1
                    self.freed += 1
                    d.free_chunks.append(rv.base)
            else:
                for q in range(i, j):
                    self._free_page(oid, ri, pfns[q], domains[q])
            i = j

    def _free_page(self, oid: int, ri: int, pfn: int, domain: int) -> None:
        d = self.domains[domain]
        d.free_pages += 1
        key = (oid, ri)
        rv = self.resv.get(key)
        if rv is not None and rv.base <= pfn < rv.base + self.npages_resv:
            if rv.popcnt == self.npages_resv:
                self.fullpop -= 1
                self.partpop += 1
            rv.popcnt -= 1
            if rv.popcnt == 0:
                del self.resv[key]
                self.partpop -= 1
                self.freed += 1
                d.free_chunks.append(rv.base)
            return
        d.singles.append(pfn)
