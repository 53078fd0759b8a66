"""Console patterns, cleaning of raw serial text, the streaming scanner and boot phases."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.parse import console
from harness.parse.console import EventKind, classify_line, is_crash_line, is_debugger_line
from harness.parse.scanner import ConsoleScanner, boots, scan_console
from harness.parse.text import clean_console

BOOT_LOG = """\
FreeBSD/amd64 EFI loader, Revision 1.1
   Autoboot in 9 seconds. [Space] to pause
Loading kernel...
/boot/kernel/kernel text=0x17b9e0 data=0x140
Booting [/boot/kernel/kernel]...
---<<BOOT>>---
Copyright (c) 1992-2023 The FreeBSD Project.
FreeBSD 14.0-RELEASE #0 releng/14.0-n265380-f9716eee8ab4: Fri Nov 10 05:57:23 UTC 2023
    root@releng1.nyi.freebsd.org:/usr/obj/usr/src/amd64.amd64/sys/GENERIC amd64
Trying to mount root from ufs:/dev/gpt/rootfs [rw]...

FreeBSD/amd64 (freebsd) (ttyu0)

login: """


def test_crash_and_debugger_predicates() -> None:
    assert is_crash_line("panic: vm_fault_lookup: fault on nofault entry, addr: 0")
    assert is_crash_line("login: panic: mtx_lock() of destroyed mutex")
    assert is_crash_line("Fatal trap 12: page fault while in kernel mode")
    assert is_crash_line("Fatal double fault")
    assert not is_crash_line("debug.kdb.panic: 0")
    assert not is_crash_line("kern.panic_reboot_wait_time: 15")
    assert not is_crash_line("skb_panic: something")
    assert is_debugger_line("KDB: enter: sysctl debug.kdb.enter")
    assert is_debugger_line("db> ")
    assert is_debugger_line("Stopped at      kdb_enter+0x6a: movq    $0,kdb_why")
    assert not is_debugger_line("adb> ")


def test_patterns_are_compiled_constants() -> None:
    for pattern in (*console.CRASH_PATTERNS, *console.DEBUGGER_PATTERNS):
        assert pattern.search("") is None or pattern is console.DB_PROMPT
    assert {kind for kind, _ in console.PATTERNS} == set(EventKind)


def test_classify_fields() -> None:
    assert classify_line("Fatal trap 9: general protection fault while in kernel mode") == (
        EventKind.FATAL_TRAP,
        {"number": "9", "what": "general protection fault", "mode": "kernel"},
    )
    assert classify_line("[ thread pid 907 tid 100096 ]") == (EventKind.KDB_THREAD, {"pid": "907", "tid": "100096"})
    assert classify_line("Automatic reboot in 15 seconds - press a key on the console to abort") == (
        EventKind.AUTOMATIC_REBOOT,
        {"seconds": "15"},
    )
    assert classify_line("Dumping 812 out of 16333 MB:..2%") == (EventKind.DUMPING, {"size": "812", "total": "16333"})
    assert classify_line("Booting [/boot/kernel/kernel] in 9 seconds...") == (
        EventKind.LOADER_BOOTING,
        {"kernel": "/boot/kernel/kernel", "seconds": "9"},
    )
    assert classify_line("OK boot") == (EventKind.LOADER_OK_PROMPT, {"command": "boot"})
    assert classify_line("Welcome to FreeBSD!") is None
    assert classify_line("an ordinary line") is None


def test_clean_crlf_mixes_and_lone_cr() -> None:
    assert clean_console("a\r\nb\n\rc\nd") == "a\nb\nc\nd"
    assert clean_console("progress 10%\rprogress 100%\n") == "progress 100%\n"
    assert clean_console("abcdef\rXY\n") == "XYcdef\n"


def test_clean_ddb_pager_prompt() -> None:
    raw = "line 19\r\n--More--\r        \rline 20\r\ndb> "
    assert clean_console(raw) == "line 19\n--More--\nline 20\ndb> "


def test_clean_ansi_and_loader_menu_redraw() -> None:
    """The Lua loader positions the cursor for each redraw of its countdown; each becomes its own line."""
    raw = (
        "\x1b[H\x1b[J\x1b[1m+----- Welcome to FreeBSD -----+\x1b[0m"
        "\x1b[10;5H 1. Boot Multi user [Enter]"
        "\x1b[23;4HAutoboot in 3 seconds. [Space] to pause \x1b[23;4HAutoboot in 2 seconds. [Space] to pause "
        "\x1b[24;1H\x1b[?25h"
    )
    cleaned = clean_console(raw)
    assert "\x1b" not in cleaned
    events = scan_console(raw)
    # The title in the box's top border marks the menu; each countdown redraw is its own event.
    assert [e.kind for e in events] == [EventKind.LOADER_MENU, EventKind.LOADER_AUTOBOOT, EventKind.LOADER_AUTOBOOT]
    assert classify_line(" |  1. Boot Multi user [Enter]  |") == (EventKind.LOADER_MENU, {})
    assert [e.fields.get("seconds") for e in events[1:]] == ["3", "2"]


def test_clean_resizewin_reply_and_controls() -> None:
    assert clean_console("root@freebsd:~ # \x1b[999;999H\x1b[6n\x1b[24;80R\x07ls\n") == "root@freebsd:~ # \nls\n"
    assert clean_console("a\x00b\x08c\n") == "abc\n"


def test_boot_phases_need_times() -> None:
    (boot,) = boots(scan_console(BOOT_LOG))
    assert boot.complete and [p.name for p in boot.phases] == ["loader", "kernel", "userland"]
    assert all(p.duration is None for p in boot.phases)
    assert boot.banner is not None and boot.banner.fields["ident"] == "GENERIC"
    assert boot.banner.fields["branch"] == "releng/14.0"


def test_scanner_stamps_read_time_and_reports_prompts_once() -> None:
    scanner = ConsoleScanner()
    lines = BOOT_LOG.split("\n")
    for n, line in enumerate(lines[:-1]):
        scanner.feed(line + "\r\n", 10.0 + n)
    got = scanner.feed("login: ", 99.0)
    assert [(e.kind, e.time) for e in got] == [(EventKind.LOGIN, 99.0)]
    assert scanner.feed("root\r\n", 100.0) == []  # the completed prompt line is not reported again
    (boot,) = boots(scanner.events)
    assert {p.name: p.duration for p in boot.phases} == {"loader": 5.0, "kernel": 4.0, "userland": 99.0 - 19.0}


def test_scanner_db_prompt_and_more_without_newline() -> None:
    scanner = ConsoleScanner()
    scanner.feed("KDB: enter: panic\r\n[ thread pid 1 tid 100001 ]\r\nStopped at kdb_enter+0x3b: movq $0,0\r\n", 1.0)
    assert [e.kind for e in scanner.feed("db> ", 2.0)] == [EventKind.DB_PROMPT]
    assert [e.kind for e in scanner.feed("ps\r\n  pid  ppid\r\n--More--\r", 3.0)] == [EventKind.MORE_PROMPT]
    assert [e.kind for e in scanner.feed("        \r  1  0\r\ndb> ", 4.0)] == [EventKind.DB_PROMPT]


def test_long_line_without_newline_is_still_scanned() -> None:
    scanner = ConsoleScanner()
    got = scanner.feed("x" * (1 << 17) + " panic: out of memory", 5.0)
    assert [e.kind for e in got] == [EventKind.PANIC]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=len(BOOT_LOG)), max_size=12))
def test_chunking_does_not_change_events(cuts: list[int]) -> None:
    """However the serial reads split the stream, the scanner finds the same events on the same lines."""
    raw = BOOT_LOG.replace("\n", "\r\n") + "\r\npanic: boom\r\ncpuid = 0\r\nKDB: enter: panic\r\ndb> "
    whole = [(e.kind, e.line_no) for e in scan_console(raw)]
    scanner = ConsoleScanner()
    previous = 0
    for cut in [*sorted(set(cuts)), len(raw)]:
        scanner.feed(raw[previous:cut], float(cut))
        previous = cut
    scanner.finish()
    assert [(e.kind, e.line_no) for e in scanner.events] == whole


TOKENS = ["panic: ", "db> ", "login: ", "---<<BOOT>>---", "Fatal trap 12: ", "\x1b[2;3H", "--More--\r", "\r\n", "\n"]
GARBAGE = st.lists(
    st.sampled_from(TOKENS) | st.text(alphabet="abc:;[]0123456789 \t\r\n\x1b\x00\x07-<>#", max_size=8)
).map("".join)


@settings(max_examples=300)
@given(GARBAGE)
def test_scanner_never_fails_on_any_text(text: str) -> None:
    events = scan_console(text)
    assert all(e.line_no >= 1 for e in events)
    scanner = ConsoleScanner()
    scanner.feed(text, 0.0)
    scanner.finish(1.0)
    boots(scanner.events)


STAMPED_LOG = """\
# console opened 2026-11-27T09:00:00+0000
[    0.512] FreeBSD/amd64 EFI loader, Revision 1.1
[    1.020]    Autoboot in 0 seconds, hit [Enter] to boot or any other key to stop
[    2.300] Loading kernel...
[    3.100] ---<<BOOT>>---
[    3.100] Copyright (c) 1992-2023 The FreeBSD Project.
[    9.700] Trying to mount root from ufs:/dev/gpt/rootfs [rw]...
[   21.250] FreeBSD/amd64 (freebsd) (ttyu0)
[   21.250]
[   21.250] login: """


def test_harness_stamped_log_gives_read_times_and_file_line_numbers() -> None:
    """The console pump's log (harness.vm.console: ``[%9.3f] `` per line) yields events with their read times."""
    events = scan_console(STAMPED_LOG)
    assert [(e.line_no, e.kind, e.time) for e in events][:2] == [
        (2, EventKind.LOADER_BANNER, 0.512),
        (3, EventKind.LOADER_AUTOBOOT, 1.02),
    ]
    (boot,) = boots(events)
    assert {p.name: round(p.duration or 0, 3) for p in boot.phases} == {
        "loader": 2.588,
        "kernel": 6.6,
        "userland": 11.55,
    }
    assert boot.login is not None and boot.login.line_no == 10
    assert clean_console(STAMPED_LOG).split("\n")[4] == "---<<BOOT>>---"


def test_stamped_log_with_pager_without_cr() -> None:
    """The pump drops CRs, so DDB's erased pager prompt stays in front of the next line."""
    assert clean_console("[ 1.000] line 19\n[ 1.000] --More--        line 20\n") == "line 19\n--More--\nline 20\n"


# --- stream patterns: the same milestones as the guest adapter waits for them -------------------------------------

#: Line event → (its stream pattern, the prompt text the stream pattern must end at, or None when it is a whole line).
STREAM_OF = {
    EventKind.DB_PROMPT: (console.STREAM_DB_PROMPT, "db> "),
    EventKind.LOGIN: (console.STREAM_LOGIN, "login: "),
    EventKind.LOADER_OK_PROMPT: (console.STREAM_LOADER_OK, "OK "),
    EventKind.MORE_PROMPT: (console.STREAM_MORE, None),
    EventKind.KDB_ENTER: (console.STREAM_KDB_ENTER, None),
    EventKind.LOADER_AUTOBOOT: (console.STREAM_LOADER_AUTOBOOT, None),
    EventKind.LOADER_HIT_ENTER: (console.STREAM_LOADER_HIT_ENTER, None),
    EventKind.REBOOTING: (console.STREAM_REBOOT_SEEN, None),
    EventKind.BOOT: (console.STREAM_REBOOT_SEEN, None),
}


def _stream_cases(text: str) -> list[tuple[EventKind, str]]:
    """Each line the line patterns classify as a stream milestone, with the raw stream up to where pexpect would
    see it: up to the end of the prompt for prompts, through the end of the line for the others."""
    cases = []
    offset = 0
    for raw_line in text.splitlines(keepends=True):
        found = classify_line(clean_console(raw_line).rstrip("\n"))
        if found and found[0] in STREAM_OF:
            prompt = STREAM_OF[found[0]][1]
            if prompt is None:
                cases.append((found[0], text[: offset + len(raw_line)]))
            else:  # stored transcripts lost the prompt's trailing space; the console prints it
                shown = prompt.rstrip()
                cases.append((found[0], text[: offset + raw_line.index(shown) + len(shown)] + prompt[len(shown) :]))
        offset += len(raw_line)
    return cases


def test_stream_patterns_see_what_the_line_patterns_see_in_real_transcripts(freebsd_fixtures: Path) -> None:
    seen: set[EventKind] = set()
    for path in sorted(freebsd_fixtures.glob("*.txt")):
        for kind, stream in _stream_cases(path.read_text(encoding="utf-8")):
            pattern = STREAM_OF[kind][0]
            assert re.search(pattern, stream), (path.name, kind, stream[-80:])
            if pattern.endswith("$"):  # db> and OK are prompts only while nothing follows them
                assert not re.search(pattern, stream + "x"), (path.name, kind)
            seen.add(kind)
    assert {EventKind.DB_PROMPT, EventKind.LOGIN, EventKind.KDB_ENTER, EventKind.BOOT} <= seen


def test_ddb_pager_and_loader_prompt_as_printed() -> None:
    # db_output.c db_pager(): db_printf("--More--\r") and wait; the loader prints "OK " and waits.
    assert re.search(console.STREAM_MORE, "  1 0 0 0 init\n--More--\r")
    assert re.search(console.STREAM_LOADER_OK, "Escape to loader prompt\n\nOK ")
    assert not re.search(console.STREAM_LOADER_OK, "Escape to loader prompt\n\nOK boot\n")
    assert not re.search(console.STREAM_DB_PROMPT, "db> show pcpu\ncpuid        = 0\n")
    assert re.search(console.STREAM_REBOOT_SEEN, "Uptime: 1m2s\nRebooting...\n")


def _every_line_classified(text: str) -> list[tuple[int, EventKind]]:
    """The slow reference: classify every cleaned line (what the scanner's literal pre-filter must not change)."""
    found = []
    for line_no, line in enumerate(clean_console(text).split("\n"), start=1):
        kind = classify_line(line)
        if kind is not None:
            found.append((line_no, kind[0]))
    return found


def test_the_scanners_prefilter_hides_no_event_in_real_transcripts(freebsd_fixtures: Path) -> None:
    """scanner._LINE_STARTS repeats the literal starts of the patterns in console.py; a pattern added there without
    its start here would silently never fire."""
    for path in sorted(freebsd_fixtures.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        assert [(e.line_no, e.kind) for e in scan_console(text)] == _every_line_classified(text), path.name
    text = "\n".join([BOOT_LOG, "Fatal double fault", "Mounting from ufs:/dev/x failed with error 19.", "mountroot> "])
    text += "\n--More--\r\nDumping 1 out of 2 MB\nRebooting...\n   Autoboot in 3 seconds\nOK boot\n"
    assert [(e.line_no, e.kind) for e in scan_console(text)] == _every_line_classified(text)
