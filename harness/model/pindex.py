"""``harness model pindex``: the kstack_object pindex of a stack address, per generation, with the reason
when an address cannot be a stack's lowest mapped page."""

from __future__ import annotations

from typing import Any

from harness.errors import UsageError
from harness.model.arch import ArchConstants
from harness.model.g2 import vm_kstack_pindex
from harness.model.generations import canonical


def pindex_of(generation: str, arch: ArchConstants, addr: int) -> dict[str, Any]:
    gen = canonical(generation)
    a = arch
    if addr % a.page_size:
        raise UsageError(f"{addr:#x} is not page aligned: td_kstack is the start of a page")
    if not a.vm_min_kernel_address <= addr < a.vm_max_kernel_address:
        raise UsageError(
            f"{addr:#x} is outside the kernel map [{a.vm_min_kernel_address:#x}, {a.vm_max_kernel_address:#x})"
        )
    linear = a.atop(addr - a.vm_min_kernel_address)
    # vm_thread_stack_create maps [ks, ks + P_k pages) above guard pages it took from the same kernel-map allocation
    if linear < a.kstack_guard_pages:
        raise UsageError(f"{addr:#x} has no room below it for the stack's guard page inside the kernel map")
    if addr + a.ptoa(a.kstack_pages) > a.vm_max_kernel_address:
        raise UsageError(f"{addr:#x}: a {a.kstack_pages}-page stack there would run past the end of the kernel map")
    row: dict[str, Any] = {"addr": f"{addr:#x}", "generation": gen, "linear": linear}
    if gen.startswith("G0"):
        row.update(pindex=0, note="per-stack object: the first stack page is pindex 0")
    elif gen == "G1":
        row.update(pindex=linear, note=f"atop(ks − VM_MIN_KERNEL_ADDRESS); guard page at pindex {linear - 1}")
    else:
        slot = a.stack_slot_pages
        off = linear % slot
        if off < a.kstack_guard_pages:
            raise UsageError(
                f"{addr:#x} falls on a guard page: linear page {linear} is page {off} of kstack slot {linear // slot}"
            )
        if off != a.kstack_guard_pages:
            raise UsageError(
                f"{addr:#x} is misaligned for {gen}: it is page {off - a.kstack_guard_pages} of the stack in slot "
                f"{linear // slot}, not its lowest mapped page"
            )
        p = vm_kstack_pindex(
            a.vm_min_kernel_address, a.page_shift, a.kstack_pages, a.kstack_guard_pages, addr, a.kstack_pages
        )
        row.update(pindex=p, slot=linear // slot, note=f"vm_kstack_pindex: slot {linear // slot} · {a.kstack_pages}")
    return row
