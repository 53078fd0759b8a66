"""FreeBSD output formats (spec §4)."""

from __future__ import annotations

from harness.model.arch import ArchConstants
from harness.model.generations import make_kernel
from harness.model.render import (
    VMSTAT_Z_HEADER,
    kstack_cache_row,
    show_object,
    show_vmem,
    vmstat_o_rows,
    vmstat_s_lines,
    vmstat_z_row,
)


def test_vmstat_z_row_matches_a_real_14_row() -> None:
    row = vmstat_z_row("UMA Kegs", 384, 0, 174, 0, 174, 0, 0, 0)
    assert row == "UMA Kegs:               384,      0,     174,       0,     174,   0,   0,   0"
    assert VMSTAT_Z_HEADER.startswith("ITEM                   SIZE  LIMIT")


def test_kstack_cache_row_and_objects() -> None:
    k = make_kernel("G1", ArchConstants.load("amd64"))
    pid = k.fork(0)
    assert pid is not None
    for _ in range(10):
        k.thread_create(pid, 0)
    row = kstack_cache_row(k)
    assert row.startswith("kstack_cache:") and ",   16384," not in row
    fields = [f.strip() for f in row.split(":", 1)[1].split(",")]
    assert fields[0] == "16384" and int(fields[2]) == k.cache_used() == 11
    (orow,) = vmstat_o_rows(k)
    assert orow.split()[0] == str(k.kobj.resident) and " sw " in orow
    lines = show_object(k, k.kobj)
    assert lines[0].split(": ", 1)[1].startswith(f"type=1, size=0x1fffffff, res={k.kobj.resident}, ref=1")
    assert lines[2].startswith("  memory:=(off=0x")
    assert lines[3].startswith("   ...(off=0x")
    assert lines[2].count("(off=") == 6
    assert vmstat_s_lines(k)[0] == "        1 fork() calls"


def test_show_vmem_g2() -> None:
    k = make_kernel("G2", ArchConstants.load("amd64"))
    pid = k.fork(0)
    assert pid is not None
    lines = show_vmem(k.kstack_arena[0])  # type: ignore[attr-defined]
    assert lines[0].endswith("'kstack arena'")
    assert "\tsize:\t10465280" in lines
    assert f"\tinuse:\t{20480 * len(k.stacks)}" in lines
