"""The host's processes, read from /proc: which QEMU a test (or a Dask worker) left running."""

from __future__ import annotations

import os
from pathlib import Path


def proc_table() -> dict[int, tuple[int, str]]:
    """pid → (ppid, command name) of every live (non-zombie) process."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if state != "Z":
            table[int(entry.name)] = (int(ppid), name)
    return table


def our_qemu_pids() -> set[int]:
    """Running (not zombie) qemu-system-* processes whose parent is this test process."""
    me = os.getpid()
    return {pid for pid, (ppid, name) in proc_table().items() if name.startswith("qemu-system") and ppid == me}
