"""Golden tests for outputs that have NO real public sample (SOURCES.md lists them as not found).

The files in ``tests/golden/fixtures/`` were WRITTEN FROM FreeBSD's FORMAT STRINGS, not captured from a machine:
each file applies the printf format quoted in its test below to values chosen to look like a kstack workload
(kstack_object, a ``kstack_cache`` zone, a ``kstack arena``). They check that the parsers read exactly what those
format strings produce; they say nothing about real values. Replace them with real captures once a FreeBSD guest
has produced them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ParseError
from harness.parse.ddb import parse_command_output
from harness.parse.procstat import parse_swapinfo
from harness.parse.sysctl import parse_sysctl
from harness.parse.vmstat import parse_vmstat_o, parse_vmstat_z

FIXTURES = Path(__file__).parent / "fixtures"
#: amd64 VM_MIN_KERNEL_ADDRESS; the kstack pindex of a page is atop(va - VM_MIN_KERNEL_ADDRESS).
AMD64_MIN_KVA = 0xFFFFFE0000000000


def _text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_vmstat_o_from_doobjstat_format() -> None:
    """usr.bin/vmstat/vmstat.c doobjstat/display_object: ``%5ju %5ju %5ju %3d %3d %-3s %-2s %-s``."""
    rows = parse_vmstat_o(_text("vmstat-o__format.txt"))
    assert len(rows) == 10
    swap = [r for r in rows if r.type == "sw"]
    assert [(r.resident, r.ref_count, r.shadow_count, r.memattr, r.path) for r in swap[:2]] == [
        (560, 1, 0, "WB", ""),
        (2, 1, 0, "WB", ""),
    ]
    assert rows[0].type_name == "default" and rows[3].type_name == "phys"
    assert rows[8].path == "/var/db/pkg/My Documents/big file.bin"
    assert (rows[9].resident, rows[9].active, rows[9].inactive) == (123456, 100000, 23456)  # widths overflow


def test_vmstat_z_kstack_cache_row_from_domemstat_zone_format() -> None:
    """vmstat.c domemstat_zone: ``%-20s %6ju, %6ju,%8ju,%8ju,%8ju,%4ju,%4ju,%4ju`` with ``name:``."""
    table = parse_vmstat_z(_text("vmstat-z-kstack__format.txt"))
    kstack = table.get("kstack_cache")
    assert kstack is not None
    assert (kstack.size, kstack.limit, kstack.used, kstack.free, kstack.requests) == (16384, 0, 140, 60, 9731)
    assert (kstack.fail, kstack.sleep, kstack.xdomain) == (0, 0, 0)
    jumbo = table.get("mbuf_jumbo_9k")
    assert jumbo is not None and jumbo.limit == 1632210  # a 7-digit limit eats the column's padding


def test_vmstat_z_libxo_json_same_rows_as_text() -> None:
    """vmstat.c's xo_emit field names: memory-zone-statistics / zone / name,size,limit,used,free,requests,…"""
    from_json = parse_vmstat_z(_text("vmstat-z-libxo__format.json"))
    from_text = parse_vmstat_z(_text("vmstat-z-kstack__format.txt"))
    strip = [(r.name, r.size, r.used, r.free, r.requests, r.fail, r.xdomain) for r in from_text.rows]
    assert [(r.name, r.size, r.used, r.free, r.requests, r.fail, r.xdomain) for r in from_json.rows] == strip


def test_show_object_kstack_object_page_list() -> None:
    """sys/vm/vm_object.c DB_SHOW_COMMAND(object): header, sref line, ``memory:=`` and 6 entries per line."""
    (obj,) = parse_command_output("show object *kstack_object", _text("ddb-show-object-kstack__format.txt"))
    assert (obj.type, obj.size_pages, obj.resident, obj.ref_count, obj.flags) == (1, 0x1FFFFFFF, 16, 1, 0x1200)
    assert (obj.ruid, obj.charge, obj.shadow_count, obj.backing_object) == (-1, 0, 0, 0)
    stacks = [0xFFFFFE0082A4D000, 0xFFFFFE0082A52000, 0xFFFFFE0082A57000, 0xFFFFFE0082A5C000]
    expected = [(ks - AMD64_MIN_KVA) // 4096 + i for ks in stacks for i in range(4)]
    assert obj.pindexes == expected
    assert obj.pages[0].phys == 0x1A3C000 and obj.pages[-1].phys == 0x51C3000
    assert len(obj.pages) == obj.resident


def test_show_pginfo_from_vm_page_format() -> None:
    """vm_page.c: ``page %p obj %p pidx 0x%jx phys 0x%jx q %d ref %u`` / ``  af 0x%x of 0x%x f 0x%x act %d busy %x
    valid 0x%x dirty 0x%x``."""
    first, second = parse_command_output("show pginfo/v 0xfffffe0082a4d000", _text("ddb-show-pginfo__format.txt"))
    assert (first.object, first.pindex, first.phys, first.queue) == (0xFFFFF800030C1A00, 0x82A4D, 0x1A3C000, 255)
    assert (first.ref_count, first.busy_lock, first.valid, first.dirty, first.oflags) == (
        0x80000001,
        0xFFFFFFFC,
        0xFF,
        0,
        0,
    )
    assert second.pindex == first.pindex + 1


def test_show_thread_from_db_ps_format() -> None:
    """sys/ddb/db_ps.c DB_SHOW_COMMAND(thread)."""
    thread = parse_command_output("show thread 100123", _text("ddb-show-thread__format.txt"))
    assert (thread.tid, thread.pid, thread.name) == (100123, 812, "kstackd")
    assert (thread.stack_low, thread.stack_high) == (0xFFFFFE0082A4D000, 0xFFFFFE0082A50FFF)
    assert thread.stack_pages == 4
    assert thread.inhibitors == ("SLEEPING", "SWAPPED") and thread.swapped
    assert thread.extra["priority"] == "120" and thread.flags == 0x4


def test_show_all_vmem_kstack_arena() -> None:
    """sys/kern/subr_vmem.c DB_SHOW_COMMAND(vmem) via show all vmem."""
    arenas = parse_command_output("show all vmem", _text("ddb-show-all-vmem__format.txt"))
    assert [a.name for a in arenas] == ["transient arena", "kstack arena"]
    kstack = arenas[1]
    assert (kstack.quantum, kstack.size, kstack.inuse, kstack.free) == (4096, 10465280, 245760, 10219520)
    assert kstack.inuse == 12 * 20480 and kstack.busy_tags == 12
    assert [(o.size, o.busy_count, o.busy_bytes) for o in kstack.orders] == [(20480, 12, 245760), (16777216, 0, 0)]


def test_show_pageq_from_vm_page_format() -> None:
    queues = parse_command_output("show pageq", _text("ddb-show-pageq__format.txt"))
    assert queues.free == 1963524
    assert queues.domains[0] == {
        "page_cnt": 2031432,
        "free": 1963524,
        "pq_act": 20193,
        "pq_inact": 35119,
        "pq_laund": 0,
        "pq_unsw": 12596,
    }


def test_ddb_bt_from_db_trace_format() -> None:
    trace = parse_command_output("bt 100123", _text("ddb-bt__format.txt"))
    assert (trace.pid, trace.tid) == (812, 100123)
    assert trace.backtrace.functions[:2] == ["sched_switch", "mi_switch"]
    assert [m.what for m in trace.backtrace.markers] == ["syscall"]


def test_swapinfo_from_pstat_format() -> None:
    info = parse_swapinfo(_text("swapinfo-k__format.txt"))
    assert info.block_unit == "1K" and [d.device for d in info.devices] == ["/dev/vtbd0p3", "/dev/md99"]
    assert info.total is not None and info.used_kib == 10240 and info.devices[0].capacity_percent == 1


def test_sysctl_unknown_oid_opaque_and_struct() -> None:
    out = parse_sysctl(_text("sysctl-misc__format.txt"))
    assert out.unknown == ("vm.kstacks",) and "vm.kstacks" not in out
    opaque = out.values["vm.vmtotal"].opaque()
    assert opaque is not None and opaque[:2] == ("S,vmtotal", 48) and opaque[2][:1] == b"\x01"
    assert out.values["kern.cp_time"].as_ints() == [1234, 0, 5678, 90, 123456]
    assert out.values["kern.boottime"].as_struct() == {"sec": "1700000000", "usec": "123456"}
    with pytest.raises(ParseError, match=r"kern\.cp_time is not a"):
        out.values["kern.cp_time"].as_struct()
