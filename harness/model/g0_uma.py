"""G0-uma (13-CURRENT, 2019 → r360354): per-stack objects behind the UMA cache zone "kstack_cache"
(``jwroberson/freebsd sys/vm/vm_glue.c @0f006c93``, spec §1.2). The zone arithmetic is G1's [R]."""

from __future__ import annotations

from harness.model.g0_common import G0Objects
from harness.model.kernel import Stack, VmObject
from harness.model.uma_backend import UmaCacheKernel


class G0UmaKernel(UmaCacheKernel):
    generation = "G0-uma"

    def _init_backend(self) -> None:
        self.g0 = G0Objects()
        self.objs = self.g0.objs
        self._init_zone()

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
