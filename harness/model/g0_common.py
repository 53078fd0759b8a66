"""G0 (both variants): one ``OBJT_DEFAULT`` object per stack, pindex ``i``, KVA from ``kva_alloc``
(``sys/vm/vm_glue.c`` before r360354; spec §1.2).

G0-list (a plain ``Kernel``) and G0-uma (a ``UmaCacheKernel``) share this by composition rather than multiple
inheritance, which mypyc (the optional compiled build, see README.md) does not support."""

from __future__ import annotations

from harness.model.kernel import Kernel, Stack, VmObject


class G0Objects:
    """The per-stack VM objects of one G0 kernel: ``vm_thread_stack_create``/``vm_thread_stack_dispose``."""

    def __init__(self) -> None:
        self.objs: dict[int, VmObject] = {}
        self.next_oid = 1

    def stack_create(self, k: Kernel, domain: int, pages: int) -> Stack | None:
        shift = k.arch.page_shift
        c = k.c
        oid = self.next_oid
        obj = VmObject(oid, "df", pages, colored=False, flags=0)
        self.next_oid = oid + 1
        c.vm_object_req += 1
        kva = k.kernel_arena.alloc((pages + k.G) << shift)
        if kva is None:
            c.kva_fail += 1  # "kstack allocation failed"; the object is deallocated again
            return None
        ks = kva + (k.G << shift)
        st = Stack(ks, pages, obj, 0)
        if k._page_in_stack(st, k._domain_orders[domain]):  # domain_order(domain)
            c.stalls += 1  # vm_page_grab_pages(VM_ALLOC_NORMAL) sleeps in VM_WAIT
        st.domain = st.pdom[0]
        self.objs[oid] = obj
        c.vm_object_used += 1
        c.wired += pages
        c.created += 1
        k.stacks[ks] = st
        return st

    def stack_destroy(self, k: Kernel, stack: Stack) -> None:
        k._page_out_stack(stack)
        del self.objs[stack.obj.oid]
        c = k.c
        c.vm_object_used -= 1
        ks = stack.ks
        k.kernel_arena.free(ks - (k.G << k.arch.page_shift))
        c.wired -= stack.npages
        c.destroyed += 1
        del k.stacks[ks]
