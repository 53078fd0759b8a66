"""Streaming console scanner: raw serial output in, :class:`ConsoleEvent` records out, with the time each was read.

Finding events must keep up with a console at full speed and with 100 MB logs, so lines are not classified one by
one. One regex whose every alternative begins with ``\\n`` (the regex engine then skips ahead with a fast literal
search) finds the lines that may start with a milestone; a few ``str.find`` loops find the milestones that may sit
in the middle of a line (``login: panic: …``, the loader menu box). Only those candidate lines are classified with
the named patterns of :mod:`harness.parse.console`.

Prompts (``login:``, ``db>``, ``OK``, ``--More--``, ``mountroot>``) are printed without a line end and wait for
input, so the scanner also looks at the unfinished last line after each chunk and reports a prompt once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.parse.console import (
    BANNER_VERSION,
    LOADER_KINDS,
    ConsoleEvent,
    EventKind,
    classify_line,
)
from harness.parse.text import clean_console, is_stamped, stamped_chunks
from harness.parse.version import parse_version_line

#: Literal starts of the lines that can carry a milestone (after optional indentation).
_LINE_STARTS = (
    "---<<BOOT>>---",
    "Copyright (c) 1992-",
    "FreeBSD",
    "Trying to mount root",
    "Mounting from",
    "mountroot>",
    "login:",
    "panic: ",
    "Fatal ",
    "KDB: ",
    "[ thread pid",
    "Stopped at",
    "db>",
    "--More--",
    "cpuid = ",
    "Uptime: ",
    "Automatic reboot",
    "Dumping ",
    "Rebooting...",
    "Autoboot in",
    "Hit [Enter]",
    "Booting [",
    "Loading kernel",
    "OK",
)
#: Every alternative starts with ``\n`` so the regex engine can skip ahead with a literal search. Two more are
#: indented: the Lua countdown (``   Autoboot in``) and the menu box (``|``, ``+``, box-drawing characters at the
#: start of a line), which holds the ``Welcome to FreeBSD`` title, the entries and ``Kernel: …``.
_TRIGGER = re.compile(
    "\n(?:" + "|".join(re.escape(k) for k in _LINE_STARTS) + r"| +Autoboot in| *[|+\u2502\u2551\u250c\u2554])"
)
#: Milestones that may follow other text on their line (``login: panic: …``).
_MID_LINE = ("panic: ",)
#: Prompt kinds, which wait for input on an unfinished line.
_PROMPTS = frozenset(
    {
        EventKind.LOGIN,
        EventKind.DB_PROMPT,
        EventKind.LOADER_OK_PROMPT,
        EventKind.MORE_PROMPT,
        EventKind.MOUNTROOT_PROMPT,
    }
)
#: An unfinished line longer than this is scanned anyway (the loader can redraw for a long time without ``\n``).
_MAX_TAIL = 1 << 16


def _candidate_starts(text: str) -> list[int]:
    """Offsets of the lines of ``text`` that may hold a milestone, ascending and unique."""
    starts = {0}
    starts.update(m.start() + 1 for m in _TRIGGER.finditer(text))
    for key in _MID_LINE:
        pos = text.find(key)
        while pos != -1:
            starts.add(text.rfind("\n", 0, pos) + 1)
            pos = text.find(key, pos + len(key))
    return sorted(starts)


def _event(kind: EventKind, fields: dict[str, str], line: str, next_line: str | None) -> dict[str, str]:
    """Extra fields for some kinds: the banner's decoded release, branch, revision, ident and arch."""
    if kind is EventKind.BANNER_VERSION:
        version = parse_version_line(line, next_line)
        if version is not None:
            for name in ("release", "branch", "revision", "ident", "arch", "date"):
                value = getattr(version, name)
                if value is not None:
                    fields[name] = str(value)
    return fields


def scan_clean(text: str, *, first_line_no: int = 1, time: float | None = None) -> list[ConsoleEvent]:
    """The events in already-cleaned text, numbering lines from ``first_line_no``."""
    events: list[ConsoleEvent] = []
    line_no = first_line_no
    previous = 0
    for start in _candidate_starts(text):
        line_no += text.count("\n", previous, start)
        previous = start
        end = text.find("\n", start)
        line = text[start:] if end == -1 else text[start:end]
        found = classify_line(line)
        if found is None:
            continue
        kind, fields = found
        if kind is EventKind.BANNER_VERSION and end != -1:
            after = text.find("\n", end + 1)
            next_line = text[end + 1 :] if after == -1 else text[end + 1 : after]
            fields = _event(kind, fields, line, next_line)
        elif kind is EventKind.BANNER_VERSION:
            fields = _event(kind, fields, line, None)
        events.append(ConsoleEvent(kind, line_no, line, time, fields))
    return events


def scan_console(raw: str) -> list[ConsoleEvent]:
    """All events of a stored console log. A timestamped harness log (``[  12.345] `` per line, written by
    harness.vm.console) gives each event the time its line was read; any other log gives ``time=None``."""
    if raw.startswith(("[", "# ")) and is_stamped(raw):
        return scan_stamped(raw)
    return scan_clean(clean_console(raw))


def scan_stamped(raw: str) -> list[ConsoleEvent]:
    """Events of a timestamped harness console log, each stamped with the time its line was read."""
    scanner = ConsoleScanner()
    for seconds, text in stamped_chunks(raw):
        scanner.feed(text, seconds)
    scanner.finish()
    return scanner.events


@dataclass
class ConsoleScanner:
    """Feed raw console chunks as they are read; get the events each chunk completed, stamped with its time.

    Not thread-safe: one scanner per console reader.
    """

    events: list[ConsoleEvent] = field(default_factory=list)
    _tail: str = ""
    _line_no: int = 1
    _prompted: set[tuple[int, EventKind]] = field(default_factory=set)

    def feed(self, data: str, now: float | None = None) -> list[ConsoleEvent]:
        """Scan a chunk read at time ``now``; returns (and records) the new events."""
        buffer = self._tail + data
        cut = buffer.rfind("\n")
        if cut == -1 and len(buffer) > _MAX_TAIL:
            cut = len(buffer) - 1
            buffer += "\n"
        new: list[ConsoleEvent] = []
        if cut != -1:
            complete, self._tail = buffer[: cut + 1], buffer[cut + 1 :]
            cleaned = clean_console(complete)
            for event in scan_clean(cleaned, first_line_no=self._line_no, time=now):
                if (event.line_no, event.kind) not in self._prompted:
                    new.append(event)
            self._line_no += cleaned.count("\n")
            self._prompted = {key for key in self._prompted if key[0] >= self._line_no}
        else:
            self._tail = buffer
        new.extend(self._prompt_in_tail(now))
        self.events.extend(new)
        return new

    def finish(self, now: float | None = None) -> list[ConsoleEvent]:
        """Scan whatever unfinished line is left (end of the log or of the machine)."""
        if not self._tail:
            return []
        return self.feed("\n", now)

    def _prompt_in_tail(self, now: float | None) -> list[ConsoleEvent]:
        if not self._tail:
            return []
        cleaned = clean_console(self._tail)
        found: list[ConsoleEvent] = []
        for event in scan_clean(cleaned, first_line_no=self._line_no, time=now):
            key = (event.line_no, event.kind)
            if event.kind in _PROMPTS and key not in self._prompted:
                self._prompted.add(key)
                found.append(event)
        return found


@dataclass(frozen=True)
class BootPhase:
    """One phase of a boot: ``loader`` (first loader output → ``---<<BOOT>>---``), ``kernel`` (→ ``Trying to mount
    root from``), ``userland`` (→ ``login:``). ``duration`` is ``None`` when the events carry no read times."""

    name: str
    start_line: int
    end_line: int
    start: float | None
    end: float | None

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


@dataclass(frozen=True)
class Boot:
    """The milestones of one boot, in order, and the phases they delimit."""

    loader: ConsoleEvent | None
    kernel: ConsoleEvent | None
    root: ConsoleEvent | None
    login: ConsoleEvent | None
    banner: ConsoleEvent | None
    phases: tuple[BootPhase, ...]

    @property
    def complete(self) -> bool:
        return self.login is not None


def _phase(name: str, start: ConsoleEvent | None, end: ConsoleEvent | None) -> BootPhase | None:
    if start is None or end is None:
        return None
    return BootPhase(name, start.line_no, end.line_no, start.time, end.time)


def _close(loader: ConsoleEvent | None, marks: dict[EventKind, ConsoleEvent]) -> Boot:
    kernel = marks.get(EventKind.BOOT) or marks.get(EventKind.BANNER_COPYRIGHT)
    root = marks.get(EventKind.MOUNT_ROOT)
    login = marks.get(EventKind.LOGIN)
    phases = tuple(
        p
        for p in (_phase("loader", loader, kernel), _phase("kernel", kernel, root), _phase("userland", root, login))
        if p is not None
    )
    return Boot(loader, kernel, root, login, marks.get(EventKind.BANNER_VERSION), phases)


def boots(events: Iterable[ConsoleEvent]) -> list[Boot]:
    """Split events into boots (a new loader run or ``---<<BOOT>>---`` after a login starts the next one)."""
    result: list[Boot] = []
    loader: ConsoleEvent | None = None
    marks: dict[EventKind, ConsoleEvent] = {}
    for event in events:
        kind = event.kind
        starts_new = (kind in LOADER_KINDS and (EventKind.BOOT in marks or EventKind.LOGIN in marks)) or (
            kind is EventKind.BOOT and EventKind.BOOT in marks
        )
        if starts_new:
            result.append(_close(loader, marks))
            loader, marks = None, {}
        if kind in LOADER_KINDS:
            loader = loader or event
        elif kind in (EventKind.BOOT, EventKind.BANNER_COPYRIGHT, EventKind.MOUNT_ROOT, EventKind.BANNER_VERSION):
            marks.setdefault(kind, event)
        elif kind is EventKind.LOGIN and EventKind.LOGIN not in marks:
            marks[kind] = event
    if loader is not None or marks:
        result.append(_close(loader, marks))
    return result


__all__ = [
    "BANNER_VERSION",
    "Boot",
    "BootPhase",
    "ConsoleScanner",
    "boots",
    "scan_clean",
    "scan_console",
]
