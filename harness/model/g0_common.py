"""G0 (both variants): one ``OBJT_DEFAULT`` object per stack, pindex ``i``, KVA from ``kva_alloc``
(``sys/vm/vm_glue.c`` before r360354; spec §1.2)."""

from __future__ import annotations

from harness.model.kernel import Kernel, Stack, VmObject


class G0Kernel(Kernel):
    objs: dict[int, VmObject]
    _next_oid: int

    def _init_objects(self) -> None:
        self.objs = {}
        self._next_oid = 1

    def pindex(self, ks: int, pages: int) -> int:
        """G0: every stack has its own object, so its first page is pindex 0."""
        return 0

    def stack_objects(self) -> list[VmObject]:
        return list(self.objs.values())

    def _stack_create(self, domain: int, pages: int) -> Stack | None:
        a = self.arch
        obj = VmObject(self._next_oid, "df", pages, colored=False, flags=0)
        self._next_oid += 1
        self.c.vm_object_req += 1
        kva = self.kernel_arena.alloc((pages + self.G) << a.page_shift)
        if kva is None:
            self.c.kva_fail += 1  # "kstack allocation failed"; the object is deallocated again
            return None
        ks = kva + (self.G << a.page_shift)
        st = Stack(ks, pages, obj, 0)
        if self._page_in_stack(st, self.domain_order(domain)):
            self.c.stalls += 1  # vm_page_grab_pages(VM_ALLOC_NORMAL) sleeps in VM_WAIT
        st.domain = st.pdom[0]
        self.objs[obj.oid] = obj
        self.c.vm_object_used += 1
        self.c.wired += pages
        self.c.created += 1
        self.stacks[ks] = st
        return st

    def _stack_destroy(self, stack: Stack) -> None:
        self._page_out_stack(stack)
        del self.objs[stack.obj.oid]
        self.c.vm_object_used -= 1
        self.kernel_arena.free(stack.ks - (self.G << self.arch.page_shift))
        self.c.wired -= stack.npages
        self.c.destroyed += 1
        del self.stacks[stack.ks]

    def _swapout_stack(self, stack: Stack) -> None:
        self._swapout_pages(stack)

    def _swapin_stack(self, stack: Stack, cpu: int) -> None:
        self._swapin_pages(stack, self.domain_order(stack.domain))
