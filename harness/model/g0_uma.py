"""G0-uma (13-CURRENT, 2019 → r360354): per-stack objects behind the UMA cache zone "kstack_cache"
(``jwroberson/freebsd sys/vm/vm_glue.c @0f006c93``, spec §1.2). The zone arithmetic is G1's [R]."""

from __future__ import annotations

from harness.model.g0_common import G0Kernel
from harness.model.uma_backend import UmaCacheKernel


class G0UmaKernel(G0Kernel, UmaCacheKernel):
    generation = "G0-uma"

    def _init_backend(self) -> None:
        self._init_objects()
        self._init_zone()
