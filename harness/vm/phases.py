"""Where a VM's start goes: phases (QEMU start, firmware, loader, kernel, login, SSH ready; or loading a saved
state) recorded as steps, so ``steps.jsonl`` and the report's timeline show them.

Each phase ends at a mark: a moment the harness saw itself (QEMU ready, the prompt answered, SSH connected) or the
first console line matching a guest's marker pattern, read from the console's time-stamped log. A phase starts
where the one before it ended; a marker the console never showed (e.g. firmware that prints nothing) merges its
phase into the next one.

    timeline = Timeline(machine.launch_started)
    timeline.mark("qemu start", machine.ready_at)
    timeline.console(machine.console, markers)   # [("kernel", "guestinit: loading"), ...]
    timeline.mark("ssh ready")
    timeline.emit(kind="boot")
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.steps import record
from harness.vm.console import Console

#: A console log line: ``[   12.345] text`` (see ``Console._stamp``).
_STAMPED = re.compile(r"^\[\s*(\d+\.\d+)\] (.*)$")
#: Only the head of a console log is searched: boot markers come early, and the log is guest output.
_LOG_LIMIT = 8 << 20


@dataclass(frozen=True)
class Phase:
    name: str
    start: float  # monotonic
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


def console_marks(log: Path, opened_at: float, markers: Sequence[tuple[str, str]]) -> list[tuple[str, float]]:
    """(phase, monotonic time) for each marker found in order: marker i is searched after marker i-1's line."""
    try:
        with log.open("r", encoding="utf-8", errors="replace") as handle:
            lines = handle.read(_LOG_LIMIT).splitlines()
    except OSError:
        return []
    found: list[tuple[str, float]] = []
    position = 0
    for phase, pattern in markers:
        regex = re.compile(pattern)
        for index in range(position, len(lines)):
            stamped = _STAMPED.match(lines[index])
            if stamped and regex.search(stamped.group(2)):
                found.append((phase, opened_at + float(stamped.group(1))))
                position = index + 1
                break
    return found


class Timeline:
    """Marks of one VM start; ``phases`` turns them into back-to-back spans from ``origin``."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.marks: list[tuple[str, float]] = []

    def mark(self, phase: str, at: float | None = None) -> None:
        self.marks.append((phase, time.monotonic() if at is None else at))

    def console(self, console: Console, markers: Sequence[tuple[str, str]]) -> None:
        if console.log is not None:
            self.marks += console_marks(console.log, console.opened_at, markers)

    def phases(self) -> list[Phase]:
        spans: list[Phase] = []
        start = self.origin
        for name, at in sorted(self.marks, key=lambda mark: mark[1]):
            spans.append(Phase(name, start, max(at, start)))
            start = max(at, start)
        return spans

    @property
    def total(self) -> float:
        phases = self.phases()
        return phases[-1].end - self.origin if phases else 0.0

    def emit(self, kind: str) -> None:
        """Each phase as a recorded step with ``phase`` set; ``kind`` is ``boot`` or ``restore``."""
        now_wall, now_mono = time.time(), time.monotonic()
        for phase in self.phases():
            record(phase.name, now_wall - (now_mono - phase.start), phase.seconds, phase=kind)
