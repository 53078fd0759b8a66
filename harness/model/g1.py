"""G1: D24473 as landed (f13fa9df, r360354; all of 13.x and 14.x). One global ``OBJT_SWAP`` kstack_object
indexed by ``atop(ks - VM_MIN_KERNEL_ADDRESS)``, KVA from ``kva_alloc`` (the kernel arena, best fit), pages
grabbed with ``VM_ALLOC_WAITFAIL`` so a shortage makes creation sleep rather than fail (spec §1.3, I-18).
Verified against a 13/14-era vm_glue.c carrying exactly this code."""

from __future__ import annotations

from harness.model.kernel import Kernel, Stack, VmObject
from harness.model.uma_backend import UmaCacheKernel

OBJ_SWAP = 0x200
OBJ_COLORED = 0x1000


def g1_pindex(vm_min: int, page_shift: int, ks: int) -> int:
    return (ks - vm_min) >> page_shift


class G1Kernel(UmaCacheKernel):
    generation = "G1"

    def _init_backend(self) -> None:
        self.kobj = VmObject(
            1, "sw", self.arch.kstack_object_size, colored=True, flags=OBJ_SWAP | OBJ_COLORED, name="kstack_object"
        )
        self.c.vm_object_used += 1
        self.c.vm_object_req += 1
        self._init_zone()

    def pindex(self, ks: int, pages: int) -> int:
        return g1_pindex(self.arch.vm_min_kernel_address, self.arch.page_shift, ks)

    def stack_objects(self) -> list[VmObject]:
        return [self.kobj]

    def _stack_create(self, domain: int, pages: int) -> Stack | None:
        a = self.arch
        shift = a.page_shift
        kva = self.kernel_arena.alloc((pages + self.G) << shift)
        if kva is None:
            self.c.kva_fail += 1  # "vm_thread_stack_create: kstack allocation failed"
            return None
        ks = kva + (self.G << shift)
        st = Stack(ks, pages, self.kobj, (ks - a.vm_min_kernel_address) >> shift)  # g1_pindex
        # kstack_object->domain.dr_policy = ds, re-set on every retry
        if self._page_in_stack(st, self.domain_order(domain)):
            self.c.stalls += 1  # VM_ALLOC_WAITFAIL: sleep for pages, then retry; never fails
        st.domain = st.pdom[0]
        self.c.wired += pages
        self.c.created += 1
        self.stacks[ks] = st
        return st

    def _stack_destroy(self, stack: Stack) -> None:
        self._page_out_stack(stack)  # pages leave the object before the KVA can be reused
        self.kernel_arena.free(stack.ks - (self.G << self.arch.page_shift))
        self.c.wired -= stack.npages
        self.c.destroyed += 1
        del self.stacks[stack.ks]

    def _swapout_stack(self, stack: Stack) -> None:
        self._swapout_pages(stack)

    def _swapin_stack(self, stack: Stack, cpu: int) -> None:
        # The *thread's* domain policy: a swapped-in G1 stack may change domain.
        self._swapin_pages(stack, self.domain_order(self.cpu_domain[cpu]))


__all__ = ["G1Kernel", "Kernel", "g1_pindex"]
