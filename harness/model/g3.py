"""G3: kernel-stack swapping removed (main from 2024-07-29, e24a65528388 and its series; 15.0).

Stack allocation is G2's. Swapout is gone, so stack pages never enter the laundry (I-19). The object type is
an open question (spec §2.3, question c): CHERI-derived trees create the objects as OBJT_PHYS, which would make
them unmanaged and not COLORED (no reservations). ``ModelParams.g3_object_type`` picks "sw" (as G2) or "ph".
"""

from __future__ import annotations

from harness.model.g2 import OBJ_COLORED, OBJ_SWAP, G2Kernel
from harness.model.kernel import Stack

OBJ_UNMANAGED = 0x2


class G3Kernel(G2Kernel):
    generation = "G3"
    swapping = False

    def _object_type(self) -> tuple[str, bool, int]:
        if self.params.g3_object_type == "ph":
            return "ph", False, OBJ_UNMANAGED
        return "sw", True, OBJ_SWAP | OBJ_COLORED

    def _swapout_stack(self, stack: Stack) -> None:
        raise AssertionError("G3 has no stack swapout")

    def _swapin_stack(self, stack: Stack, cpu: int) -> None:
        raise AssertionError("G3 has no stack swapin")
