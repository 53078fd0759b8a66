"""Panic reports: cutting, titles (syzkaller's rules), signatures, backtraces; never a traceback on bad text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ParseError
from harness.parse.backtrace import parse_backtrace
from harness.parse.panic import cut_reports, parse_panic, parse_panics, sanitise_title

DDB_TRAP = """\
Fatal trap 12: page fault while in kernel mode
cpuid = 1; apic id = 01
fault virtual address	= 0x28
fault code		= supervisor read data, page not present
instruction pointer	= 0x20:0xffffffff80f1a2b3
current process		= 1234 (kstackd)
trap number		= 12
panic: page fault
cpuid = 1
time = 1700000000
KDB: stack backtrace:
db_trace_self_wrapper() at db_trace_self_wrapper+0x2b/frame 0xfffffe0082a50540
vpanic() at vpanic+0x151/frame 0xfffffe0082a50590
panic() at panic+0x43/frame 0xfffffe0082a505f0
trap_fatal() at trap_fatal+0x387/frame 0xfffffe0082a50650
trap_pfault() at trap_pfault+0x4f/frame 0xfffffe0082a506b0
calltrap() at calltrap+0x8/frame 0xfffffe0082a506b0
--- trap 0xc, rip = 0xffffffff80f1a2b3, rsp = 0xfffffe0082a50780, rbp = 0xfffffe0082a507b0 ---
vm_thread_stack_back() at vm_thread_stack_back+0x53/frame 0xfffffe0082a507b0
kstack_import() at kstack_import+0x6e/frame 0xfffffe0082a50800
fork1() at fork1+0x2a4/frame 0xfffffe0082a50870
--- syscall (2, FreeBSD ELF64, fork), rip = 0x8011, rsp = 0x7fff, rbp = 0x7fff ---
KDB: enter: panic
[ thread pid 1234 tid 100777 ]
Stopped at      kdb_enter+0x37: movq    $0,0x10b29f6(%rip)
db> bt
Tracing pid 1234 tid 100777 td 0xfffff80012345000
"""


def test_ddb_trap_report() -> None:
    report = parse_panic(DDB_TRAP)
    assert report.title == "Fatal trap NUM: page fault in vm_thread_stack_back"
    assert report.faulting_function == "vm_thread_stack_back"
    assert (report.thread, report.cpuid, report.fault_address) == ((1234, 100777), 1, 0x28)
    assert report.current_process == (1234, "kstackd") and report.panic_message == "page fault"
    assert report.last_line == 26  # ends at the first db> after the debugger took over


def test_numbered_backtrace_skips_syzkaller_frames() -> None:
    text = "Fatal trap 12: page fault while in kernel mode\ncpuid = 0; apic id = 00\npanic: page fault\n"
    text += (
        "KDB: stack backtrace:\n#0 0xffffffff80aada97 at kdb_backtrace+0x67\n#1 0xffffffff80a6bb76 at vpanic+0x186\n"
    )
    text += "#2 0xffffffff80a6b9e3 at panic+0x43\n#3 0xffffffff80ae96e1 at m_copydata+0x61\n"
    text += "#4 0xffffffff80c05ba7 at vm_thread_new+0x157\n"
    report = parse_panic(text)
    assert report.title == "Fatal trap NUM: page fault while in kernel mode in vm_thread_new"
    assert report.faulting_function == "m_copydata"  # the kernel's view: the trap happened there


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("panic: vm_page_free: freeing wired page 0xfffffe0001234560", "panic: vm_page_free: freeing wired page ADDR"),
        (
            "panic: sleeping thread 0xfffff80012345678 owns a non-sleepable lock",
            "panic: sleeping thread ADDR owns a non-sleepable lock",
        ),
        ("panic: syz-executor.3 killed at 10.0.2.15", "panic: syz-executor killed at IP"),
        ("panic: bad pindex 17 in kstack_object", "panic: bad pindex NUM in kstack_object"),
        ("panic: lock at /usr/src/sys/vm/vm_glue.c:312", "panic: lock at /usr/src/sys/vm/vm_glue.c:LINE"),
        ("panic: \ttabs\t and   spaces ", "panic: tabs and spaces"),
    ],
)
def test_panic_titles_are_normalised(raw: str, title: str) -> None:
    assert parse_panic(raw + "\ncpuid = 0\n").title == title


def test_sanitise_caps_length_and_drops_controls() -> None:
    assert len(sanitise_title("panic: " + "x" * 300)) == 120
    assert sanitise_title("panic: a\x01b") == "panic: ab"


def test_signature_ignores_addresses_but_not_the_bug() -> None:
    first = parse_panic(DDB_TRAP)
    moved = parse_panic(DDB_TRAP.replace("0xfffffe0082a5", "0xfffffe0099a5").replace("1234", "4321"))
    other = parse_panic(DDB_TRAP.replace("vm_thread_stack_back", "vm_thread_stack_create"))
    assert first.signature == moved.signature
    assert first.signature != other.signature and len(first.signature) == 16


def test_signature_tells_apart_the_same_title_reached_from_other_callers() -> None:
    first = parse_panic(DDB_TRAP)
    via_other_caller = parse_panic(DDB_TRAP.replace("kstack_import", "kstack_release"))
    assert first.title == via_other_caller.title
    assert first.signature != via_other_caller.signature


def test_reports_are_cut_at_boot_and_reboot() -> None:
    log = "\n".join(
        [
            "Trying to mount root from ufs:/dev/gpt/rootfs [rw]...",
            "panic: first",
            "cpuid = 0",
            "Uptime: 1m2s",
            "Automatic reboot in 15 seconds - press a key on the console to abort",
            "Rebooting...",
            "---<<BOOT>>---",
            "Copyright (c) 1992-2023 The FreeBSD Project.",
            "login: panic: second",
            "cpuid = 1",
        ]
    )
    first, second = parse_panics(log)
    assert (first.first_line, first.last_line, first.uptime, first.reboot_in) == (2, 5, "1m2s", 15)
    assert (second.first_line, second.panic_message, second.cpuid) == (9, "second", 1)
    assert [len(r) for r in cut_reports(log)] == [4, 2]


def test_truncated_report_is_marked_corrupted_not_rejected() -> None:
    text = "panic: cut\ncpuid = 0\nKDB: stack backtrace:\ndb_trace_self_wrapper() at db_tr"
    report = parse_panic(text)
    assert report.corrupted and report.frames == () and report.title == "panic: cut"


def test_no_crash_is_a_parse_error_naming_the_line() -> None:
    with pytest.raises(ParseError, match="line 1"):
        parse_panic("all quiet\n")


def test_empty_backtrace_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="line 7: backtrace has no frames"):
        parse_backtrace([(7, "KDB: enter: panic")])


def test_arm64_backtrace_layout() -> None:
    lines = [
        "vpanic() at kassert_panic+0x164",
        "         pc = 0xffffff8000153e30  lr = 0xffffff8000153d64",
        "         sp = 0xffffff80685b28a0  fp = 0xffffff80685b2970",
        "",
        "kassert_panic() at do_el1h_sync+0x30",
        "         pc = 0xffffff8000153d64  lr = 0xffffff80003cd91c",
        "         sp = 0xffffff80685b2980  fp = 0xffffff80685b29a0",
        "",
        "KDB: enter: panic",
    ]
    trace = parse_backtrace(list(enumerate(lines, start=1)))
    assert trace.style == "arm64" and trace.functions == ["vpanic", "kassert_panic"] and trace.last_line == 8


CRASHY = st.lists(
    st.sampled_from([*DDB_TRAP.splitlines(), "panic: x", "---<<BOOT>>---", "db> ", "#0 0x1 at f+0x1", "#1 0xzz"])
    | st.text(alphabet="abc()+/0x123 :-#\t\r\x1b", max_size=20)
).map("\n".join)


@settings(max_examples=300)
@given(CRASHY)
def test_panic_parsing_never_raises_on_console_text(text: str) -> None:
    for report in parse_panics(text):
        assert report.title and len(report.signature) == 16
        assert report.first_line <= report.last_line
