"""G2: D38852 (7a79d066). Default-size stacks in ``kstack_object`` at the compact ``vm_kstack_pindex``; other
sizes in ``kstack_alt_object`` at the linear pindex. Default-size KVA comes from a per-domain "kstack arena"
that imports 10 MiB at 2 MiB alignment from the domain's kernel arena and bumps the start to a multiple of
``kstack_pages + guard`` pages. Creation walks the domains and fails (ENOMEM) rather than sleeps; a swapped-in
stack never changes domain. Read verbatim at ``freebsd/freebsd-src sys/vm/vm_glue.c @7a79d066`` (spec §2.1)."""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import UsageError
from harness.model.kernel import Stack, VmObject
from harness.model.uma_backend import UmaCacheKernel
from harness.model.vmem import Vmem

OBJ_SWAP = 0x200
OBJ_COLORED = 0x1000


def vm_kstack_pindex(vm_min: int, page_shift: int, kstack_pages: int, guard: int, ks: int, kpages: int) -> int:
    """``vm_kstack_pindex(ks, kpages)`` (LP64). Raises UsageError for a guard-page address (the KASSERT)."""
    pindex = (ks - vm_min) >> page_shift
    if guard == 0 or kpages != kstack_pages:
        return pindex
    slot = kpages + guard
    if pindex % slot < guard:
        raise UsageError(
            f"{ks:#x} is a guard page (linear page {pindex} is page {pindex % slot} of slot {pindex // slot})"
        )
    return pindex - (pindex // slot + 1) * guard


class G2Kernel(UmaCacheKernel):
    generation = "G2"

    def _object_type(self) -> tuple[str, bool, int]:
        return "sw", True, OBJ_SWAP | OBJ_COLORED

    def _init_backend(self) -> None:
        a = self.arch
        otype, colored, flags = self._object_type()
        self.kobj = VmObject(1, otype, a.kstack_object_size, colored=colored, flags=flags, name="kstack_object")
        self.altobj = VmObject(2, otype, a.kstack_object_size, colored=colored, flags=flags, name="kstack_alt_object")
        self.c.vm_object_used += 2
        self.c.vm_object_req += 2
        quantum = a.kva_quantum * (128 if self.ndomains > 1 and self.params.numa_import_quantum else 1)
        self.vmd_kernel_arena = [
            Vmem(
                "kernel arena domain",
                a.page_size,
                import_fn=lambda size, align: self.kernel_arena.alloc(size),
                import_quantum=quantum,
            )
            for _ in range(self.ndomains)
        ]
        self.kstack_arena = [
            Vmem(
                "kstack arena",
                a.page_size,
                import_fn=self._arena_import(d),
                release_fn=self._arena_release(d),
                import_quantum=a.kstack_arena_span,
            )
            for d in range(self.ndomains)
        ]
        self._init_zone()

    def _arena_import(self, domain: int) -> Callable[[int, int], int | None]:
        a = self.arch
        slot = self.P + self.G

        def imp(size: int, align: int) -> int | None:
            addr = self.vmd_kernel_arena[domain].alloc(a.kstack_import_quantum, align=a.kva_quantum)
            if addr is None:
                return None
            rem = a.atop(addr - a.vm_min_kernel_address) % slot
            if rem:
                addr += a.ptoa(slot - rem)  # bump to the next slot-aligned linear page
            return addr

        return imp

    def _arena_release(self, domain: int) -> Callable[[int, int], None]:
        q = self.arch.kva_quantum

        def rel(addr: int, size: int) -> None:
            self.vmd_kernel_arena[domain].free(addr - addr % q)

        return rel

    def pindex(self, ks: int, pages: int) -> int:
        a = self.arch
        return vm_kstack_pindex(a.vm_min_kernel_address, a.page_shift, self.P, self.G, ks, pages)

    def stack_objects(self) -> list[VmObject]:
        return [self.kobj, self.altobj]

    def resident_alt(self) -> int:
        return self.altobj.resident

    def _stack_create(self, domain: int, pages: int) -> Stack | None:
        a = self.arch
        obj = self.kobj if pages == self.P else self.altobj
        size = (pages + self.G) << a.page_shift
        for d in self.domain_order(domain):
            arena = self.kstack_arena[d] if pages == self.P else self.vmd_kernel_arena[d]
            kva = arena.alloc(size)
            if kva is None:
                self.c.kva_fail += 1
                continue
            pd = self.phys.domains[d]
            if pd.free_pages - pd.hog < pages:  # phys_available
                arena.free(kva)  # vm_thread_stack_back returned ENOMEM: try the next domain
                continue
            ks = kva + (self.G << a.page_shift)
            st = Stack(ks, pages, obj, self.pindex(ks, pages))
            self._page_in_whole(st, d)
            st.domain = d
            c = self.c
            c.wired += pages
            c.created += 1
            self.stacks[ks] = st
            return st
        return None

    def _stack_destroy(self, stack: Stack) -> None:
        self._page_out_stack(stack)
        a = self.arch
        kva = stack.ks - (self.G << a.page_shift)
        if stack.npages == self.P:
            self.kstack_arena[stack.domain].free(kva)
        else:
            self.vmd_kernel_arena[stack.domain].free(kva)
        self.c.wired -= stack.npages
        self.c.destroyed += 1
        del self.stacks[stack.ks]

    def _swapout_stack(self, stack: Stack) -> None:
        self._swapout_pages(stack)

    def _swapin_stack(self, stack: Stack, cpu: int) -> None:
        # while (vm_thread_stack_back(..., td_kstack_domain) == ENOMEM); — spins on the stack's own domain.
        missing = sum(1 for s in stack.pst if s == 4)
        if missing and not self.phys_available(stack.domain, missing):
            self.c.swapin_spins += 1
        self._swapin_pages(stack, [stack.domain])
