"""Panic reports: cut each crash out of a console log, read it, title it the way syzkaller does, sign it.

A report starts at a crash line (``Fatal trap N:``, ``Fatal double fault``, ``panic:``); a ``panic:`` that follows
a fatal trap belongs to it (trap.c prints the trap block, then calls panic). It ends at the first ``db>`` prompt
after the debugger took over, at ``Automatic reboot in``/``Rebooting...``, just before the next boot or crash, or
at the end of the log.

Titles follow syzkaller's FreeBSD rules (google/syzkaller pkg/report/freebsd.go and the title sanitiser of
report.go), re-implemented here: ``Fatal trap NUM: page fault while in kernel mode in FUNC`` for the ``#N``
backtrace layout, ``Fatal trap NUM: page fault in FUNC`` for the DDB layout (the first frame after the
``--- trap`` marker), ``panic: MSG`` otherwise, with the special cases syzkaller has, then numbers, addresses,
line numbers and executor names normalised. The signature is a hash of the title and the first frames that are
not panic/trap machinery, so the same bug gets the same signature across runs and machines.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from harness.errors import ParseError
from harness.parse.backtrace import Backtrace, Frame, parse_backtrace
from harness.parse.console import (
    AUTOMATIC_REBOOT,
    BANNER_COPYRIGHT,
    BOOT_MARKER,
    CPUID,
    DB_PROMPT,
    FATAL_DOUBLE_FAULT,
    FATAL_TRAP,
    KDB_BACKTRACE,
    KDB_ENTER,
    KDB_THREAD,
    PANIC,
    REBOOTING,
    STOPPED_AT,
    UPTIME,
)
from harness.parse.text import clean_console, to_int

#: Frames syzkaller skips before the faulting function in the ``#N`` layout (freebsd.go, first Fatal trap format).
SYZKALLER_NUMBERED_SKIP = frozenset(
    {
        "kdb_backtrace",
        "vpanic",
        "panic",
        "trap_fatal",
        "trap_pfault",
        "trap",
        "calltrap",
        "m_copydata",
        "__rw_wlock_hard",
    }
)
#: Frames that are panic, trap and debugger machinery, never the culprit (for the faulting function and signature).
MACHINERY = frozenset(
    {
        "db_trace_self",
        "db_trace_self_wrapper",
        "kdb_backtrace",
        "vpanic",
        "panic",
        "kassert_panic",
        "trap_fatal",
        "trap_pfault",
        "trap",
        "calltrap",
        "do_el1h_sync",
        "handle_el1h_sync",
        "dblfault_handler",
        "Xdblfault",
        "__mtx_assert",
        "_mtx_lock_flags",
    }
)
#: Frames that only dispatch (system call entry, thread start): the last resort for a faulting function.
_DISPATCH = frozenset({"amd64_syscall", "fast_syscall_common", "Xfast_syscall", "fork_exit", "fork_trampoline"})
#: Frames used in the signature.
SIGNATURE_FRAMES = 4

_TRAP_FIELD = re.compile(r"^(?P<key>[a-z][a-z ]*?)\s*=\s*(?P<value>.*)$")
_CURRENT_PROCESS = re.compile(r"^(?P<pid>\d+) \((?P<name>.*)\)$")
_TIME = re.compile(r"^time = (?P<time>\d+)")


@dataclass(frozen=True)
class PanicReport:
    """One crash as read from the console. ``lines`` are the report's own lines, ``first_line``/``last_line``
    their 1-based numbers in the cleaned log."""

    first_line: int
    last_line: int
    lines: tuple[str, ...]
    kind: str  # "panic" | "fatal_trap" | "double_fault"
    title: str
    signature: str
    panic_message: str | None = None
    trap_number: int | None = None
    trap_type: str | None = None
    trap_mode: str | None = None
    trap_fields: dict[str, str] = field(default_factory=dict)
    fault_address: int | None = None
    instruction_pointer: str | None = None
    current_process: tuple[int, str] | None = None
    faulting_function: str | None = None
    frames: tuple[Frame, ...] = ()
    backtrace_style: str | None = None
    thread: tuple[int, int] | None = None
    cpuid: int | None = None
    panic_time: int | None = None
    kdb_why: str | None = None
    stopped_at: str | None = None
    uptime: str | None = None
    reboot_in: int | None = None
    corrupted: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# --- syzkaller's title sanitiser ---------------------------------------------------------------------------------

_SANITISE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"syz-executor\.?[0-9]+(?:(?:/|:)[0-9]+)?", re.ASCII), "syz-executor"),
    (re.compile(r"syzkaller[0-9]+(?:(?:/|:)[0-9]+)?", re.ASCII), "syzkaller"),
    (re.compile(r"([^a-zA-Z0])(?:0x)?[0-9a-f]{6,}", re.ASCII), r"\1ADDR"),
    (re.compile(r"([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})", re.ASCII), "IP"),
    (re.compile(r"(\.\w+)(:[0-9]+)+", re.ASCII), r"\1:LINE"),
    (re.compile(r"([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+", re.ASCII), r"\1"),
    (re.compile(r"CPU#[0-9]+", re.ASCII), "CPU"),
    (re.compile(r"(\W)(\d+)(\W|$)", re.ASCII), r"\1NUM\3"),
)
_MAX_TITLE = 120
#: What of a title or panic message the patterns look at. Some of syzkaller's patterns backtrack (a long token
#: before ``+0x`` costs a scan per start position), so a guest printing ``panic: `` and a megabyte without a
#: space would cost hours; a real message is a line of a few hundred characters, and the substitutions shorten
#: text by a small factor at most, so the first 1 KiB decides the 120 characters kept.
_SCAN_LIMIT = 1024


def sanitise_title(title: str) -> str:
    """Normalise a title as syzkaller does: executor names, addresses, IPs, line numbers, offsets, numbers;
    tabs to spaces, control characters dropped, runs of spaces squeezed, at most 120 characters."""
    title = title[:_SCAN_LIMIT]
    for pattern, replacement in _SANITISE:
        while True:
            changed = pattern.sub(replacement, title)
            if changed == title:
                break
            title = changed
    kept: list[str] = []
    previous = " "
    for ch in title[:_MAX_TITLE]:
        ch = " " if ch == "\t" else ch
        if ch < " " or ch >= "\x7f" or (ch == " " and previous == " "):
            continue
        kept.append(ch)
        previous = ch
    return "".join(kept).strip()


# --- special panic messages (syzkaller freebsd.go) -------------------------------------------------------------

_FFS_WRITE = re.compile(r"^ffs_write: type 0x[0-9a-f]+ [0-9]+ \([0-9]+,[0-9]+\)")
_DESTROYED_LOCK = re.compile(
    r"^([a-zA-Z]+[a-zA-Z0-9_]*\(\)) of destroyed (mutex|rmlock|rwlock|sx) @ /.*/(sys/.*:[0-9]+)"
)
_FIXED_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^No chunks on the queues for sid [0-9]+\.$"), "panic: sctp: no chunks on the queues"),
    (
        re.compile(r"^size_on_all_streams = [0-9]+ smaller than control length [0-9]+$"),
        "panic: size_on_all_streams smaller than control length",
    ),
    (re.compile(r"^sbflush_internal: ccc [0-9]+ mb [0-9]+ mbcnt [0-9]+$"), "panic: sbflush_internal: residual data"),
    (re.compile(r"^pfi_dynaddr_setup: dyn is 0x[0-9a-f]+$"), "panic: pfi_dynaddr_setup: non-NULL dyn"),
)
_ASAN = re.compile(r"^(ASan: Invalid access, [0-9]+-byte (?:read|write)) at 0x[0-9a-f]+,")


def _first_frame_after(backtrace: Backtrace | None, name_prefix: str) -> str | None:
    """The function of the first DDB frame after the first frame whose function starts with ``name_prefix``."""
    if backtrace is None or backtrace.style == "numbered":
        return None
    functions = backtrace.functions
    for index, function in enumerate(functions[:-1]):
        if function.startswith(name_prefix):
            return functions[index + 1]
    return None


def _panic_title(message: str, backtrace: Backtrace | None) -> str:
    message = message[:_SCAN_LIMIT]  # see _SCAN_LIMIT: _DESTROYED_LOCK backtracks on a long letter run
    if _FFS_WRITE.match(message):
        return "panic: ffs_write: type ADDR X (Y,Z)"
    destroyed = _DESTROYED_LOCK.match(message)
    if destroyed:
        return f"panic: {destroyed.group(1)} of destroyed {destroyed.group(2)} at {destroyed.group(3)}"
    for pattern, title in _FIXED_MESSAGES:
        if pattern.match(message):
            return title
    if message == "sx lock still held":
        culprit = _first_frame_after(backtrace, "sx_destroy")
        if culprit:
            return f"panic: sx lock still held in {culprit}"
    asan = _ASAN.match(message)
    if asan:
        culprit = _first_frame_after(backtrace, "__asan_")
        if culprit:
            return f"panic: {asan.group(1)} in {culprit}"
    return f"panic: {message}"


def _trap_title(header: str, number: int, what: str, mode: str | None, backtrace: Backtrace | None) -> str:
    if backtrace is not None and backtrace.style == "numbered":
        for frame in backtrace.frames:
            if frame.symbol is None:
                break
            if frame.function not in SYZKALLER_NUMBERED_SKIP:
                return f"{header} in {frame.function}"
    elif backtrace is not None and mode is not None:
        after = backtrace.frames_after_first_trap()
        if after and after[0].symbol is not None:
            return f"Fatal trap {number}: {what} in {after[0].function}"
    return header


def syzkaller_title(report_kind: str, header: str, backtrace: Backtrace | None) -> str:
    """The title of a report from its first crash line (``header``) and its backtrace, sanitised."""
    if report_kind == "fatal_trap":
        match = FATAL_TRAP.search(header)
        if match:
            title = _trap_title(
                header, to_int(match.group("number")), match.group("what"), match.group("mode"), backtrace
            )
            return sanitise_title(title)
    if report_kind == "panic":
        match = PANIC.search(header)
        if match:
            return sanitise_title(_panic_title(match.group("message").rstrip(), backtrace))
    return sanitise_title(header)


# --- reading one report ----------------------------------------------------------------------------------------


def faulting_function(report_kind: str, backtrace: Backtrace | None) -> str | None:
    """The first frame that is not panic/trap machinery (after the trap marker, for a trap in DDB layout)."""
    if backtrace is None:
        return None
    frames: tuple[Frame, ...] = backtrace.frames
    if report_kind == "fatal_trap":
        frames = backtrace.frames_after_first_trap() or frames
    candidates = [f.function for f in frames if f.function not in MACHINERY and f.symbol is not None]
    culprits = [f for f in candidates if f not in _DISPATCH]
    if culprits:
        return culprits[0]
    return candidates[0] if candidates else None


def signature(title: str, backtrace: Backtrace | None) -> str:
    """A stable id for dedup: the title and the first non-machinery frames, hashed (16 hex digits)."""
    functions = [] if backtrace is None else [f for f in backtrace.functions if f not in MACHINERY]
    basis = "\n".join([title, *functions[:SIGNATURE_FRAMES]])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


@dataclass
class _Fields:
    values: dict[str, object] = field(default_factory=dict)
    trap_fields: dict[str, str] = field(default_factory=dict)


def _read_trap_block(lines: list[tuple[int, str]], fields: _Fields) -> None:
    """The ``key = value`` lines of trap.c's register block (tab- or space-aligned)."""
    for _, line in lines:
        match = _TRAP_FIELD.match(line.strip()[:_SCAN_LIMIT])  # the lazy key backtracks on long runs
        if not match or match.group("key") in {"cpuid", "time"}:
            continue
        key, value = match.group("key").strip(), match.group("value").strip()
        fields.trap_fields.setdefault(key, value)
    block = fields.trap_fields
    if "fault virtual address" in block:
        try:
            fields.values["fault_address"] = to_int(block["fault virtual address"], 16)
        except ValueError:
            fields.values["corrupted"] = True
    if "instruction pointer" in block:
        fields.values["instruction_pointer"] = block["instruction pointer"]
    process = _CURRENT_PROCESS.match(block.get("current process", ""))
    if process:
        fields.values["current_process"] = (to_int(process.group("pid")), process.group("name"))


def _read_report(lines: list[tuple[int, str]]) -> PanicReport:
    first_no, header = lines[0]
    if FATAL_TRAP.search(header):
        kind = "fatal_trap"
    elif FATAL_DOUBLE_FAULT.search(header):
        kind = "double_fault"
    else:
        kind = "panic"
    fields = _Fields()
    backtrace: Backtrace | None = None
    corrupted = False
    trap = FATAL_TRAP.search(header)
    if trap:
        fields.values.update(trap_number=to_int(trap.group("number")), trap_type=trap.group("what"))
        fields.values["trap_mode"] = trap.group("mode")
    for index, (_, line) in enumerate(lines):
        if (m := PANIC.search(line)) and "panic_message" not in fields.values:
            fields.values["panic_message"] = m.group("message").rstrip()
        elif (m := CPUID.search(line)) and "cpuid" not in fields.values:
            fields.values["cpuid"] = to_int(m.group("cpuid"))
        elif (m := _TIME.match(line)) and "panic_time" not in fields.values:
            fields.values["panic_time"] = to_int(m.group("time"))
        elif KDB_BACKTRACE.search(line) and backtrace is None:
            try:
                backtrace = parse_backtrace(lines[index + 1 :])
            except ParseError:
                corrupted = True
        elif (m := KDB_ENTER.search(line)) and "kdb_why" not in fields.values:
            fields.values["kdb_why"] = m.group("why")
        elif (m := KDB_THREAD.search(line)) and "thread" not in fields.values:
            fields.values["thread"] = (to_int(m.group("pid")), to_int(m.group("tid")))
        elif (m := STOPPED_AT.search(line)) and "stopped_at" not in fields.values:
            fields.values["stopped_at"] = m.group("where")
        elif (m := UPTIME.search(line)) and "uptime" not in fields.values:
            fields.values["uptime"] = m.group("uptime")
        elif (m := AUTOMATIC_REBOOT.search(line)) and "reboot_in" not in fields.values:
            fields.values["reboot_in"] = to_int(m.group("seconds"))
    if kind == "fatal_trap":
        _read_trap_block(lines[1:20], fields)
    title = syzkaller_title(kind, header, backtrace)
    return PanicReport(
        first_line=first_no,
        last_line=lines[-1][0],
        lines=tuple(text for _, text in lines),
        kind=kind,
        title=title,
        signature=signature(title, backtrace),
        trap_fields=fields.trap_fields,
        faulting_function=faulting_function(kind, backtrace),
        frames=backtrace.frames if backtrace else (),
        backtrace_style=backtrace.style if backtrace else None,
        corrupted=corrupted or bool(fields.values.pop("corrupted", False)),
        **fields.values,  # type: ignore[arg-type]
    )


# --- cutting reports out of a log ------------------------------------------------------------------------------


def _is_crash(line: str) -> bool:
    return bool(FATAL_TRAP.search(line) or FATAL_DOUBLE_FAULT.search(line) or PANIC.search(line))


def _ends_after(line: str, in_debugger: bool) -> bool:
    return bool(AUTOMATIC_REBOOT.search(line) or REBOOTING.search(line) or (in_debugger and DB_PROMPT.search(line)))


def _ends_before(line: str) -> bool:
    return bool(BOOT_MARKER.search(line) or BANNER_COPYRIGHT.search(line))


def cut_reports(text: str) -> list[list[tuple[int, str]]]:
    """The numbered lines of each crash report in a console log."""
    reports: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] | None = None
    seen_panic = in_debugger = False
    for line_no, line in enumerate(clean_console(text).split("\n"), start=1):
        if current is not None and _ends_before(line):
            reports.append(current)
            current = None
        if _is_crash(line):
            is_panic = PANIC.search(line) is not None
            continues = current is not None and is_panic and not seen_panic and not in_debugger
            if current is not None and not continues:
                reports.append(current)
                current = None
            if current is None:
                current, seen_panic, in_debugger = [], False, False
            seen_panic = seen_panic or is_panic
        if current is None:
            continue
        current.append((line_no, line))
        in_debugger = in_debugger or bool(KDB_ENTER.search(line) or STOPPED_AT.search(line))
        if _ends_after(line, in_debugger):
            reports.append(current)
            current = None
    if current:
        reports.append(current)
    return [r for r in reports if r]


def parse_panics(text: str) -> list[PanicReport]:
    """Every crash in a console log, read and titled."""
    return [_read_report(lines) for lines in cut_reports(text)]


def parse_panic(text: str) -> PanicReport:
    """The first crash in a text; ParseError if there is none."""
    reports = parse_panics(text)
    if not reports:
        raise ParseError("no panic, fatal trap or double fault in the text", line_no=1, line=text.split("\n", 1)[0])
    return reports[0]
