"""The cache layer shared by G0-uma, G1, G2 and G3: ``vm_thread_new``/``vm_thread_dispose`` over the
``kstack_cache`` UMA cache zone, with ``kstack_import``/``kstack_release`` (spec §1.3, I-6 … I-8)."""

from __future__ import annotations

from collections.abc import Iterator

from harness.model.kernel import Kernel, Stack
from harness.model.policy_ref import UmaReference
from harness.model.uma import RECLAIM_TRIM, UmaCacheZone


class UmaCacheKernel(Kernel):
    zone: UmaCacheZone
    #: The simulator's policy reference (policy_ref.py), advanced at every zone call; None outside simulate.
    ref: UmaReference | None
    _imports: list[tuple[int, int]]  # (requested, built) of each kstack_import during the current zone call

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
            policy=self.params.policy,
        )
        self.zone.set_maxcache(self.cache_size)
        self.ref = None
        self._imports = []

    def attach_reference(self) -> bool:
        """Run the policy reference in lockstep from now on (one domain only: it does not model cross buckets)."""
        if self.ndomains != 1 or self.zone.allocs or self.zone.frees:
            return False
        self.ref = UmaReference(self.ncpu, self.zone.maxcache.nitems)
        self.ref.check_parameters(self.zone)
        return True

    def _kstack_import(self, cnt: int, domain: int) -> list[Stack]:
        """``kstack_import``: build up to ``cnt`` stacks preferring ``domain``; stop at the first failure."""
        out: list[Stack] = []
        for _ in range(cnt):
            st = self._stack_create(domain, self.P)
            if st is None:
                break
            out.append(st)
        if self.ref is not None:
            self._imports.append((cnt, len(out)))
        return out

    def _kstack_release(self, items: list[Stack]) -> None:
        for st in items:
            self._stack_destroy(st)

    def _vm_thread_new(self, pages: int, cpu: int) -> Stack | None:
        st: Stack | None = None
        if pages == self.P:
            zone = self.zone
            st = zone.alloc(cpu)
            ref = self.ref
            if ref is not None:
                imports = self._imports
                ref.alloc(cpu, imports, zone.bucketdisable)
                if imports:
                    imports.clear()
        if st is None:
            st = self._stack_create(self.cpu_domain[cpu], pages)
        return st

    def _vm_thread_dispose(self, stack: Stack, cpu: int) -> None:
        if stack.npages == self.P:
            zone = self.zone
            zone.free(stack, cpu)
            ref = self.ref
            if ref is not None:
                ref.free(cpu, zone.bucketdisable)
        else:
            self._stack_destroy(stack)

    def _shortage(self) -> bool:
        return all(d.available <= 0 for d in self.phys.domains)

    def set_cache_size(self, n: int) -> None:
        if n < 0:
            raise ValueError("vm.kstack_cache_size must not be negative")
        self.cache_size = n
        self.zone.set_maxcache(n)
        if self.ref is not None:
            self.ref.set_maxcache(n)
            self.ref.check_parameters(self.zone)

    def cache_used(self) -> int:
        return self.zone.used

    def cache_free(self) -> int:
        return self.zone.nfree

    def uma_reclaim(self, kind: int) -> None:
        self.zone.bucketdisable = self._shortage()
        self.zone.reclaim(kind)
        if self.ref is not None:
            self.ref.reclaim(kind, [len(b) for b in self.zone.domains[0].buckets])
            self.ref.check_parameters(self.zone)

    def uma_timeout(self) -> None:
        self.zone.bucketdisable = self._shortage()
        self.zone.timeout()
        if self.ref is not None:
            self.ref.trimmed([len(b) for b in self.zone.domains[0].buckets])

    def lowmem(self) -> None:
        """``vm_pageout_lowmem``: the vm_lowmem event and ``uma_reclaim(UMA_RECLAIM_TRIM)``."""
        self.uma_reclaim(RECLAIM_TRIM)

    def live_stacks(self) -> Iterator[Stack]:
        return iter(self.stacks.values())
