"""KVA arenas: a small ``vmem(9)`` (``sys/kern/subr_vmem.c``) and the kernel map they import from.

What matters for the model and is kept from vmem: segregated free lists by size order (exact below 32 quanta,
power-of-two classes above), LIFO within a list, ``M_BESTFIT`` scanning from the request's own order upward and
taking the lowest suitable address of the first segment that fits, imports of ``roundup(size, import_quantum)``
(plus ``2*align`` for aligned requests), coalescing within a span, and releasing a span to the parent when it
becomes wholly free (only arenas with a release function: the G2 kstack arena).
"""

from __future__ import annotations

from collections.abc import Callable

VMEM_OPTORDER = 5
VMEM_OPTVALUE = 1 << VMEM_OPTORDER
VMEM_MAXORDER = VMEM_OPTVALUE - 1 + 64 - VMEM_OPTORDER


_ORDER_BIAS = VMEM_OPTVALUE - VMEM_OPTORDER - 2  # size2order above VMEM_OPTVALUE: bit_length() + this


def size2order(qsize: int) -> int:
    if qsize < VMEM_OPTVALUE:
        return qsize - 1
    return qsize.bit_length() - 1 + (VMEM_OPTVALUE - VMEM_OPTORDER - 1)


def _roundup(x: int, q: int) -> int:
    return -(-x // q) * q


class KernelMap:
    """The kernel map as KVA's ultimate source: a bump allocator of superpage-aligned chunks.

    ``kernel_vm_end`` follows ``pmap_growkernel``: it only grows, in ``growth_quantum`` steps, and
    ``vm.kvm_free`` = ``VM_MAX_KERNEL_ADDRESS - kernel_vm_end`` (pmap.c).
    """

    def __init__(self, vm_min: int, vm_max: int, start: int, growth_quantum: int) -> None:
        self.vm_min = vm_min
        self.vm_max = vm_max
        self.next = start
        self.growth_quantum = growth_quantum
        self.kernel_vm_end = _roundup(start, growth_quantum)
        self.allocated = 0

    def alloc(self, size: int, align: int) -> int | None:
        addr = _roundup(self.next, align)
        if addr + size > self.vm_max:
            return None
        self.next = addr + size
        self.allocated += size
        end = _roundup(addr + size, self.growth_quantum)
        if end > self.kernel_vm_end:
            self.kernel_vm_end = min(end, self.vm_max)
        return addr

    @property
    def kvm_free(self) -> int:
        return self.vm_max - self.kernel_vm_end


class Vmem:
    """One arena. Addresses and sizes are bytes; every arena here has a PAGE_SIZE quantum."""

    def __init__(
        self,
        name: str,
        quantum: int,
        *,
        import_fn: Callable[[int, int], int | None] | None = None,
        release_fn: Callable[[int, int], None] | None = None,
        import_quantum: int = 0,
    ) -> None:
        self.name = name
        self.quantum = quantum
        self.qshift = quantum.bit_length() - 1
        self.import_fn = import_fn
        self.release_fn = release_fn
        self.import_quantum = import_quantum or quantum
        self._lists: list[dict[int, None]] = [{} for _ in range(VMEM_MAXORDER + 1)]
        self._nonempty = 0
        self._free: dict[int, int] = {}  # start -> size
        self._free_end: dict[int, int] = {}  # end -> start
        self.busy: dict[int, int] = {}  # start -> size of each busy tag
        self.spans: dict[int, int] = {}  # start -> size
        self._span_ends: dict[int, int] = {}  # end -> start
        self.size = 0  # vm_size: bytes of all spans
        self.inuse = 0  # vm_inuse
        self.imports = 0
        self.releases = 0

    # --- bookkeeping ---------------------------------------------------------------------------------------------

    # size2order() and _roundup() are written out in the three functions below: they run several times for
    # every stack built or destroyed.

    def _insfree(self, start: int, size: int) -> None:
        self._free[start] = size
        self._free_end[start + size] = start
        qsize = size >> self.qshift
        order = qsize - 1 if qsize < VMEM_OPTVALUE else qsize.bit_length() + _ORDER_BIAS
        self._lists[order][start] = None
        self._nonempty |= 1 << order

    def _remfree(self, start: int) -> int:
        size = self._free.pop(start)
        del self._free_end[start + size]
        qsize = size >> self.qshift
        order = qsize - 1 if qsize < VMEM_OPTVALUE else qsize.bit_length() + _ORDER_BIAS
        lst = self._lists[order]
        del lst[start]
        if not lst:
            self._nonempty &= ~(1 << order)
        return size

    def add_span(self, start: int, size: int) -> None:
        """``vmem_add``: a new span of free space (also what an import does)."""
        self.spans[start] = size
        self._span_ends[start + size] = start
        self.size += size
        self._insfree(start, size)

    # --- allocation ----------------------------------------------------------------------------------------------

    def alloc(self, size: int, align: int = 0) -> int | None:
        """``vmem_xalloc(vm, size, align, 0, 0, MIN, MAX, M_BESTFIT|M_NOWAIT)``; None on ENOMEM."""
        q = self.quantum
        if align <= q:
            align = 0
        size = -(-size // q) * q
        qsize = size >> self.qshift
        order = qsize - 1 if qsize < VMEM_OPTVALUE else qsize.bit_length() + _ORDER_BIAS
        while True:
            m = self._nonempty >> order
            o = order
            while m:
                low = (m & -m).bit_length() - 1
                o += low
                m >>= low
                lst = self._lists[o]
                for start in reversed(lst):
                    seg = self._free[start]
                    if seg < size:
                        continue
                    addr = _roundup(start, align) if align else start
                    if addr + size > start + seg:
                        continue
                    self._clip(start, seg, addr, size)
                    return addr
                m &= ~1
            if self.import_fn is None or not self._import(size, align):
                return None

    def _clip(self, start: int, seg: int, addr: int, size: int) -> None:
        self._remfree(start)
        if addr > start:
            self._insfree(start, addr - start)
        end = addr + size
        if end < start + seg:
            self._insfree(end, start + seg - end)
        self.busy[addr] = size
        self.inuse += size

    def _import(self, size: int, align: int) -> bool:
        assert self.import_fn is not None
        if align:
            size = align * 2 + size
        size = _roundup(size, self.import_quantum)
        addr = self.import_fn(size, align)
        if addr is None:
            return False
        self.imports += 1
        self.add_span(addr, size)
        return True

    def free(self, addr: int) -> None:
        """``vmem_free``: coalesce with free neighbours in the same span; release a wholly free span."""
        size = self.busy.pop(addr)
        self.inuse -= size
        start, end = addr, addr + size
        if start not in self.spans:
            prev = self._free_end.get(start)
            if prev is not None:
                self._remfree(prev)
                start = prev
        if end not in self._span_ends and end in self._free:
            end += self._remfree(end)
        if self.release_fn is not None and self.spans.get(start) == end - start:
            del self.spans[start]
            del self._span_ends[end]
            self.size -= end - start
            self.releases += 1
            self.release_fn(start, end - start)
            return
        self._insfree(start, end - start)

    # --- observables ---------------------------------------------------------------------------------------------

    @property
    def busy_tags(self) -> int:
        return len(self.busy)

    @property
    def free_tags(self) -> int:
        return len(self._free)

    @property
    def free_bytes(self) -> int:
        return self.size - self.inuse

    def busy_size(self, addr: int) -> int | None:
        return self.busy.get(addr)

    def order_table(self) -> list[tuple[int, int, int, int]]:
        """Per order: (order size, busy count, order size, free count), as ``show vmem`` prints."""
        busy = [0] * (VMEM_MAXORDER + 1)
        free = [0] * (VMEM_MAXORDER + 1)
        for sz in self.busy.values():
            busy[size2order(sz >> self.qshift)] += 1
        for sz in self._free.values():
            free[size2order(sz >> self.qshift)] += 1
        rows = []
        for o in range(VMEM_MAXORDER + 1):
            if busy[o] or free[o]:
                osize = (o + 1 if o < VMEM_OPTVALUE else 1 << (o - (VMEM_OPTVALUE - VMEM_OPTORDER - 1))) * self.quantum
                rows.append((osize, busy[o], osize, free[o]))
        return rows
