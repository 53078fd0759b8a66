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

    def alloc(self, oid: int, pindex: int, domain: int, colored: bool, rcount: dict[int, int] | None) -> int:
        """One page of object ``oid`` at ``pindex`` from ``domain`` (the caller checked availability)."""
        d = self.domains[domain]
        d.free_pages -= 1
        if colored and rcount is not None:
            ri = pindex >> self.order
            key = (oid, ri)
            rv = self.resv.get(key)
            if rv is None and rcount.get(ri, 0) == 0:
                base = d.take_chunk()
                if base is not None:
                    rv = Reservation(base, domain)
                    self.resv[key] = rv
                    self.partpop += 1
            if rv is not None and rv.domain == domain:
                rv.popcnt += 1
                if rv.popcnt > self.max_fill:
                    self.max_fill = rv.popcnt
                if rv.popcnt == self.npages_resv:
                    self.fullpop += 1
                    self.partpop -= 1
                return rv.base + (pindex & self.mask)
        return d.take_single()

    def free(self, oid: int, pindex: int, pfn: int, domain: int) -> None:
        d = self.domains[domain]
        d.free_pages += 1
        key = (oid, pindex >> self.order)
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
