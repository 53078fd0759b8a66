"""DDB parsers: sessions, ps, show thread/proc, bt, registers and the VM commands; errors name the line; fuzzed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ParseError
from harness.parse.ddb import PARSERS, command_key, parse_command_output, parse_ddb_session, split_session

OBJECT = (
    "Object 0xfffff800030c1a00: type=1, size=0x1fffffff, res=3, ref=1, flags=0x1000\n"
    " sref=0, backing_object(0)=(0)+0x0\n"
    "  memory:=(off=0x82a4d,page=0x1a3c000),(off=0x82a4e,page=0x1a3d000),(off=0x82a4f,page=0x2b7e000)\n"
)
PGINFO = (
    "page 0xfffffe0000f5a3d0 obj 0xfffff800030c1a00 pidx 0x82a4d phys 0x1a3c000 q 255 ref 0x80000001\n"
    "  af 0x0 of 0x0 f 0x0 act 0 busy fffffffc valid 0xff dirty 0x0\n"
)
THREAD = (
    "Thread 100123 at 0xfffff80012345000:\n proc (pid 812): 0xfffff80011111000\n name: kstackd\n"
    " pcb: 0xfffffe0082a50cc0\n stack: 0xfffffe0082a4d000-0xfffffe0082a50fff\n flags: 0x4  pflags: 0\n"
    " state: RUNNING (CPU 1)\n priority: 120\n"
)
VMEM = (
    "vmem 0xfffff80003d17000 'kstack arena'\n\tquantum:\t4096\n\tsize:\t10465280\n\tinuse:\t20480\n"
    "\tfree:\t10444800\n\tbusy tags:\t1\n\tfree tags:\t1\n\t\t\tinuse\tsize\t\tfree\tsize\n"
    "\t20480           1\t20480           0\t0               \n"
)
PS = (
    "  pid  ppid  pgrp   uid  state   wmesg   wchan               cmd\n"
    "  812     1   812     0  DW     *vm map  0xfffff80003010200  kstackd\n"
    "   12     0     0     0  WL      (threaded)                  [intr]\n"
    "100010                   IW                                  [swi6: task queue]\n"
)
SAMPLES = {
    "show object": OBJECT,
    "show pginfo": PGINFO,
    "show thread": THREAD,
    "show all vmem": VMEM,
    "ps": PS,
    "show page": "vm_cnt.v_free_count: 137621\nvm_cnt.v_wire_count: 91128\n",
    "show pageq": "pq_free 5\ndom 0 page_cnt 9 free 5 pq_act 1 pq_inact 1 pq_laund 0 pq_unsw 2\n",
    "show uma": "              Zone   Size    Used    Free    Requests  Sleeps  Bucket  Total Mem    XFree\n"
    "      kstack_cache  16384     140      60        9731       0       0    3276800        0\n",
    "show malloc": "              Type        InUse        MemUse     Requests\n"
    "            linker   352   2523K   402\n",
    "show registers": "cs                        0x20\nrbx                          0\n"
    "rip  0xffffffff81665abb  kdb_enter+0x6b\nkdb_enter+0x6b: movq    $0,0x25c787a(%rip)\n",
    "bt": "Tracing pid 812 tid 100123 td 0xfffff80012345000\nsched_switch() at sched_switch+0x5b3/frame 0x1\n",
    "show proc": "Process 812 (kstackd) at 0xfffff80011111000:\n state: NORMAL\n threads: 1\n"
    "100123                   D       nanslp  0xffffffff81f0a2b0  kstackd\n",
}


def test_ps_lock_marker_swapped_and_kernel_threads() -> None:
    kstackd, intr = parse_command_output("ps", PS)
    assert kstackd.swapped and kstackd.threads[0].on_lock and kstackd.threads[0].wmesg == "vm map"
    assert kstackd.threads[0].wchan == 0xFFFFF80003010200
    assert intr.system and intr.command == "intr" and intr.threads[0].name == "swi6: task queue"
    assert intr.threads[0].swapped


def test_show_thread_running() -> None:
    thread = parse_command_output("show thread", THREAD)
    assert thread.state == "RUNNING (CPU 1)" and thread.inhibitors == () and not thread.swapped
    assert thread.pflags == 0 and thread.stack_pages == 4


def test_show_object_without_page_list_and_old_header() -> None:
    (obj,) = parse_command_output("show object 0xfffff800030c1a00", OBJECT.rsplit("\n", 2)[0] + "\n")
    assert obj.pages == () and obj.ruid is None and obj.flags == 0x1000


def test_show_object_garbage_in_page_list_names_the_line() -> None:
    bad = OBJECT + "   ...(off=0x82a50,page=0x2b7f000),(off=0x82a5\n"
    with pytest.raises(ParseError, match="line 4"):
        parse_command_output("show object", bad)


def test_pginfo_hex_ref_form() -> None:
    (page,) = parse_command_output("show pginfo/v 0xfffffe0082a4d000", PGINFO)
    assert page.ref_count == 0x80000001 and page.busy_lock == 0xFFFFFFFC


def test_an_80_column_line_is_a_whole_line() -> None:
    """Review L1: FreeBSD's db_putchar never wraps, so a genuine 80-character line is not glued to the next.
    Written from vm_object.c's ``Object %p: type=%d, size=0x%jx, res=%d, ref=%d, flags=0x%x`` and
    `` sref=%d, backing_object(%d)=(%p)+0x%jx`` with values that make the header exactly 80 characters."""
    header = "Object 0xfffff800030c1a00: type=1, size=0x1fffffff, res=16452, ref=1, flags=0x1200"
    header = header.replace("res=16452", "res=" + "1" * (5 + 80 - len(header)))
    assert len(header) == 80
    (obj,) = parse_command_output("show object", header + "\n sref=0, backing_object(0)=(0)+0x0\n")
    assert obj.ref_count == 1 and obj.shadow_count == 0 and obj.flags == 0x1200


def test_session_split_drops_pager_lines_and_keeps_raw_output() -> None:
    text = "db> show page\r\nvm_cnt.v_free_count: 1\r\n--More--\r        \rvm_cnt.v_wire_count: 2\r\ndb> c\r\n"
    blocks = split_session(text)
    assert [(n, c, [line for _, line in out]) for n, c, out in blocks] == [
        (1, "show page", ["vm_cnt.v_free_count: 1", "vm_cnt.v_wire_count: 2"]),
        (5, "c", [""]),
    ]
    session = parse_ddb_session(text)
    assert session.find("show page")[0].parsed == {"v_free_count": 1, "v_wire_count": 2}
    assert session.find("c")[0].parsed is None


def test_command_keys() -> None:
    assert command_key("show pginfo/v 0xfffffe0082a4d000") == "show pginfo"
    assert command_key("show object *kstack_object") == "show object"
    assert command_key("trace 100123") == "trace"
    assert command_key("show all vmem") == "show all vmem"


def test_unknown_command_has_no_parser() -> None:
    with pytest.raises(ParseError, match="no parser"):
        parse_command_output("show lockedvnods", "")


def test_session_without_prompt_is_an_error() -> None:
    with pytest.raises(ParseError, match="line 1"):
        parse_ddb_session("no debugger here\n")


@pytest.mark.parametrize("command", sorted(SAMPLES))
def test_samples_parse(command: str) -> None:
    assert command_key(command) in PARSERS
    assert parse_command_output(command, SAMPLES[command])


@pytest.mark.parametrize("command", sorted(SAMPLES))
def test_cut_output_is_an_error_or_a_shorter_result(command: str) -> None:
    """Output cut mid-line never raises anything but ParseError."""
    text = SAMPLES[command]
    for cut in range(1, len(text), 7):
        try:
            parse_command_output(command, text[:cut])
        except ParseError as error:
            assert error.line_no is None or error.line_no >= 1


@pytest.mark.parametrize("command", sorted(SAMPLES))
def test_fuzz_only_parse_errors(command: str) -> None:
    lines = SAMPLES[command].splitlines()
    pieces = st.sampled_from(lines) | st.builds(lambda line, n: line[:n], st.sampled_from(lines), st.integers(0, 99))
    junk = st.text(alphabet="abc:,=()0x123456789f \t\r\x1b[{}'-*", max_size=30)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(pieces | junk, max_size=10).map("\n".join))
    def run(text: str) -> None:
        try:
            parse_command_output(command, text)
        except ParseError as error:
            assert error.line_no is None or error.line_no >= 1

    run()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([f"db> {c}\n{t}" for c, t in SAMPLES.items()]) | st.text(max_size=20), max_size=6))
def test_fuzz_sessions(parts: list[str]) -> None:
    try:
        parse_ddb_session("".join(parts))
    except ParseError as error:
        assert error.line_no is None or error.line_no >= 1
