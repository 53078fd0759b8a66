"""The cache layer shared by G0-uma, G1, G2 and G3: ``vm_thread_new``/``vm_thread_dispose`` over the
``kstack_cache`` UMA cache zone, with ``kstack_import``/``kstack_release`` (spec §1.3, I-6 … I-8)."""

from __future__ import annotations

from collections.abc import Iterator

from harness.model.kernel import Kernel, Stack
from harness.model.uma import RECLAIM_TRIM, UmaCacheZone


class UmaCacheKernel(Kernel):
    zone: UmaCacheZone

    def _stack_create(self, domain: int, pages: int) -> Stack | None:
        raise NotImplementedError

    def _stack_destroy(self, stack: Stack) -> None:
        raise NotImplementedError

    def _init_zone(self) -> None:
        self.zone = UmaCacheZone(
            "kstack_cache",
            self.arch.ptoa(self.P),
            self.cpu_domain,
            self.ndomains,
            self._kstack_import,
            self._kstack_release,
            firsttouch=True,
        )
        self.zone.set_maxcache(self.cache_size)

    def _kstack_import(self, cnt: int, domain: int) -> list[Stack]:
        """``kstack_import``: build up to ``cnt`` stacks preferring ``domain``; stop at the first failure."""
        out: list[Stack] = []
        for _ in range(cnt):
            st = self._stack_create(domain, self.P)
            if st is None:
                break
            out.append(st)
        return out

    def _kstack_release(self, items: list[Stack]) -> None:
        for st in items:
            self._stack_destroy(st)

    def _vm_thread_new(self, pages: int, cpu: int) -> Stack | None:
        st: Stack | None = None
        if pages == self.P:
            st = self.zone.alloc(cpu)
        if st is None:
            st = self._stack_create(self.cpu_domain[cpu], pages)
        return st

    def _vm_thread_dispose(self, stack: Stack, cpu: int) -> None:
        if stack.npages == self.P:
            self.zone.free(stack, cpu)
        else:
            self._stack_destroy(stack)

    def _shortage(self) -> bool:
        return all(d.available <= 0 for d in self.phys.domains)

    def set_cache_size(self, n: int) -> None:
        if n < 0:
            raise ValueError("vm.kstack_cache_size must not be negative")
        self.cache_size = n
        self.zone.set_maxcache(n)

    def cache_used(self) -> int:
        return self.zone.used

    def cache_free(self) -> int:
        return self.zone.nfree

    def uma_reclaim(self, kind: int) -> None:
        self.zone.bucketdisable = self._shortage()
        self.zone.reclaim(kind)

    def uma_timeout(self) -> None:
        self.zone.bucketdisable = self._shortage()
        self.zone.timeout()

    def lowmem(self) -> None:
        """``vm_pageout_lowmem``: the vm_lowmem event and ``uma_reclaim(UMA_RECLAIM_TRIM)``."""
        self.uma_reclaim(RECLAIM_TRIM)

    def live_stacks(self) -> Iterator[Stack]:
        return iter(self.stacks.values())
