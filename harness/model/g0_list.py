"""G0-list (≤ 12.x): per-stack objects and the linked-list cache under mutex "kstkch".

Read in ``freebsd/freebsd-src sys/vm/vm_glue.c @0010ea38``: ``kstacks`` counts every constructed stack (it is
incremented when ``vm_thread_new`` builds one and decremented in ``vm_thread_stack_dispose``), and a freed
default-size stack is kept on the list only while ``kstacks <= kstack_cache_size``. ``vm.kstacks`` is therefore
the number of constructed stacks, not the list length the spec assumed. ``vm_lowmem`` drains the list.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.model.g0_common import G0Objects
from harness.model.kernel import Kernel, Stack, VmObject
from harness.model.policy_ref import ListReference


class G0ListKernel(Kernel):
    generation = "G0-list"
    has_uma_cache = False
    ref: ListReference | None  # the simulator's policy reference (policy_ref.py); None outside simulate

    def _init_backend(self) -> None:
        self.g0 = G0Objects()
        self.objs = self.g0.objs
        self.kcache: list[Stack] = []
        self.kstacks = 0
        self.cache_size = self.params.kstack_cache_size or 128
        self.keeps = self.params.policy.list_keeps
        self.ref = None

    def attach_reference(self) -> bool:
        if self.kstacks:
            return False
        self.ref = ListReference(self.P, self.cache_size)
        return True

    def pindex(self, ks: int, pages: int) -> int:
        """G0: every stack has its own object, so its first page is pindex 0."""
        return 0

    def stack_objects(self) -> list[VmObject]:
        return list(self.objs.values())

    def _stack_create(self, domain: int, pages: int) -> Stack | None:
        return self.g0.stack_create(self, domain, pages)

    def _stack_destroy(self, stack: Stack) -> None:
        self.g0.stack_destroy(self, stack)

    def _swapout_stack(self, stack: Stack) -> None:
        self._swapout_pages(stack)

    def _swapin_stack(self, stack: Stack, cpu: int) -> None:
        self._swapin_pages(stack, self.domain_order(stack.domain))

    def _vm_thread_new(self, pages: int, cpu: int) -> Stack | None:
        if self.ref is not None:
            self.ref.new(pages)
        if pages == self.P and self.kcache:
            return self.kcache.pop()
        st = self._stack_create(self.cpu_domain[cpu], pages)
        if st is not None:
            self.kstacks += 1
        elif self.ref is not None:
            self.ref.unbuilt()
        return st

    def _vm_thread_dispose(self, stack: Stack, cpu: int) -> None:
        if self.ref is not None:
            self.ref.dispose(stack.npages)
        if stack.npages == self.P and self.keeps(self.kstacks, self.cache_size):
            self.kcache.append(stack)
            return
        self.kstacks -= 1
        self._stack_destroy(stack)

    def set_cache_size(self, n: int) -> None:
        if n < 0:
            raise ValueError("vm.kstack_cache_size must not be negative")
        self.cache_size = n
        if self.ref is not None:
            self.ref.cache_size = n

    def cache_used(self) -> int:
        return self.kstacks - len(self.kcache) - self.alt_stacks

    def cache_free(self) -> int:
        return len(self.kcache)

    def uma_reclaim(self, kind: int) -> None:
        """No UMA zone holds stacks here; ``debug.uma_reclaim`` does not touch the list."""

    def uma_timeout(self) -> None:
        """Nothing trims the list over time."""

    def lowmem(self) -> None:
        """``vm_thread_stack_lowmem``: drain the whole list."""
        if self.ref is not None:
            self.ref.lowmem()
        while self.kcache:
            st = self.kcache.pop()
            self.kstacks -= 1
            self._stack_destroy(st)

    def live_stacks(self) -> Iterator[Stack]:
        return iter(self.stacks.values())
