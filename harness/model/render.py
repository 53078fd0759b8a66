"""Model state rendered in FreeBSD's own output formats (spec §4), so the harness can diff them textually."""

from __future__ import annotations

from harness.model.kernel import Kernel, VmObject
from harness.model.vmem import Vmem

#: The 8-column ``vmstat -z`` header as a real 14.0-CURRENT printed it [T] (FAIL and SLEEP run together).
VMSTAT_Z_HEADER = "ITEM                   SIZE  LIMIT     USED     FREE      REQ     FAILSLEEP XDOMAIN"
VMSTAT_O_HEADER = f"{'RES':>5} {'ACT':>5} {'INACT':>5} {'REF':>3} {'SHD':>3} {'CM':>3} {'TP':>2} PATH"
OBJT_NUMBER = {"df": 0, "sw": 1, "vn": 2, "dv": 3, "ph": 4, "dd": 5}


def vmstat_z_row(
    name: str, size: int, limit: int, used: int, free: int, req: int, fail: int, sleep: int, xdomain: int
) -> str:
    """One ``vmstat -z`` row: ``%-20s %6ju, %6ju,%8ju,%8ju,%8ju,%4ju,%4ju,%4ju`` with the name followed by ':'."""
    return f"{name + ':':<20} {size:>6}, {limit:>6},{used:>8},{free:>8},{req:>8},{fail:>4},{sleep:>4},{xdomain:>4}"


def kstack_cache_row(k: Kernel) -> str:
    """The ``kstack_cache`` row (G0-uma … G3). G0-list has no such zone."""
    if not k.has_uma_cache:
        raise ValueError(f"{k.generation} has no kstack_cache zone (the cache is a linked list)")
    z = k.zone  # type: ignore[attr-defined]
    return vmstat_z_row("kstack_cache", z.item_size, 0, z.used, z.nfree, z.allocs, z.fails, 0, z.xdomain)


def vmstat_o_row(obj: VmObject, *, cm: str = "WB", path: str = "") -> str:
    act = 0
    return f"{obj.resident:>5} {act:>5} {obj.inactive:>5} {obj.ref:>3} {obj.shadow:>3} {cm:<3} {obj.type:<2} {path}"


def vmstat_o_rows(k: Kernel) -> list[str]:
    """The rows the stack objects contribute to ``vmstat -o`` (G0: one per stack; G1: one; G2/G3: two)."""
    return [vmstat_o_row(o) for o in k.stack_objects()]


def show_object(k: Kernel, obj: VmObject, *, addr: int = 0xFFFFF80003A1B000, ruid: int = 0) -> list[str]:
    """DDB ``show object *kstack_object``: header, ``sref`` line, and the page list in memq (pindex) order."""
    lines = [
        f"Object {addr:#x}: type={OBJT_NUMBER.get(obj.type, 1)}, size={obj.size:#x}, res={obj.resident}, "
        f"ref={obj.ref}, flags={obj.flags:#x} ruid {ruid} charge 0",
        f" sref={obj.ref}, backing_object(0)=(0)+0x0",
    ]
    page = k.arch.page_size
    cur = ""
    count = 0
    for pindex in sorted(obj.pages):
        entry = f"(off={pindex:#x},page={obj.pages[pindex] * page:#x})"
        if count == 0 and not cur:
            cur = "  memory:=" + entry
        elif count == 6:
            lines.append(cur)
            cur = "   ..." + entry
            count = 0
        else:
            cur += "," + entry
        count += 1
    if cur:
        lines.append(cur)
    return lines


def vmstat_s_lines(k: Kernel) -> list[str]:
    """The model's share of the ``vmstat -s`` lines (``%9u <text>``)."""
    c = k.c
    rows = [
        (c.v_forks, "fork() calls"),
        (c.v_swapin, "swap pager pageins"),
        (c.v_swappgsin, "swap pager pages paged in"),
        (c.v_swapout, "swap pager pageouts"),
        (c.v_swappgsout, "swap pager pages paged out"),
        (c.wired, "pages wired down"),
        (c.laundry, "pages in the laundry queue"),
    ]
    return [f"{v:>9} {text}" for v, text in rows]


def show_vmem(arena: Vmem, *, addr: int = 0xFFFFF80002000000) -> list[str]:
    """DDB ``show vmem`` for one arena."""
    lines = [
        f"vmem {addr:#x} '{arena.name}'",
        f"\tquantum:\t{arena.quantum}",
        f"\tsize:\t{arena.size}",
        f"\tinuse:\t{arena.inuse}",
        f"\tfree:\t{arena.free_bytes}",
        f"\tbusy tags:\t{arena.busy_tags}",
        f"\tfree tags:\t{arena.free_tags}",
    ]
    for osize, nbusy, fsize, nfree in arena.order_table():
        lines.append(f"\t{osize:<15} {nbusy}\t{fsize:<15} {nfree}\t")
    return lines


def reservation_fill(k: Kernel) -> float:
    """The highest fraction of a level-0 reservation any stack object page run has populated so far."""
    return k.phys.max_fill / k.phys.npages_resv
