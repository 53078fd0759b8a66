"""Find a guest crash in a stored console log and attribute it to the workload that was running.

Workload scripts write ``HARNESS-WORKLOAD-START name=…`` and ``HARNESS-WORKLOAD-END name=…`` to /dev/console; a
crash after a START without its END happened during that workload. FreeBSD panics are read by
``harness.parse.panic`` (titles as syzkaller makes them); the Linux test guest's panic line is
``Kernel panic - not syncing: MSG``.
"""

from __future__ import annotations

import re

from harness.parse.panic import parse_panics, signature
from harness.parse.text import clean_console
from harness.report.results import Crash

MARKER = re.compile(r"HARNESS-WORKLOAD-(?P<what>START|END|STEP) name=(?P<name>\S+)")
LINUX_PANIC = re.compile(r"(?P<title>Kernel panic - not syncing: .*?)\s*$")
KERNEL_TIME = re.compile(r"^\[\s*\d+\.\d+\]\s*")
#: Console lines kept around a crash for the report.
EXCERPT_LINES = 30


def workload_at(lines: list[str], index: int) -> str | None:
    """The workload that had started, and not ended, before line ``index``."""
    running: str | None = None
    for line in lines[:index]:
        found = MARKER.search(line)
        if not found:
            continue
        if found["what"] == "START":
            running = found["name"]
        elif found["what"] == "END" and found["name"] == running:
            running = None
    return running


def clean_title(title: str) -> str:
    """A crash title without the kernel's ``[   9.69] `` time stamp, so the same crash has the same title."""
    return KERNEL_TIME.sub("", title.strip())


def linux_crash(console_text: str) -> Crash | None:
    """The first ``Kernel panic - not syncing:`` line (the Linux test guest)."""
    lines = console_text.splitlines()
    for index, line in enumerate(lines):
        found = LINUX_PANIC.search(line)
        if found:
            title = clean_title(found["title"])
            excerpt = lines[max(0, index - 5) : index + EXCERPT_LINES]
            return Crash(
                title=title, workload=workload_at(lines, index), excerpt=excerpt, signature=signature(title, None)
            )
    return None


def freebsd_crash(text: str) -> Crash | None:
    """The first FreeBSD panic report."""
    reports = parse_panics(text)
    if not reports:
        return None
    report = reports[0]
    # The report's line numbers count lines of the cleaned log.
    cleaned = clean_console(text).splitlines()
    return Crash(
        title=report.title,
        workload=workload_at(cleaned, report.first_line - 1),
        excerpt=list(report.lines[:EXCERPT_LINES]),
        kind=report.kind,
        signature=report.signature,
    )
