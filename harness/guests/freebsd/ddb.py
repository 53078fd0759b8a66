"""FreeBSD's DDB as the generic debugger driver sees it, and the checks and setup around it.

Release kernels (GENERIC on stable/ and releng/ branches) are built with ``KDB`` and ``KDB_TRACE`` but without
``DDB``: ``debug.kdb.available`` is then empty and ``sysctl debug.kdb.enter=1`` has no backend (freebsd-facts
§D.3; the 12.1-RELEASE ``sysctl -a`` fixture shows ``debug.kdb.available:`` empty). A kernel built with
``options DDB`` fixes it. Entry (§E.1): the sysctl (both arches), alt-break ``CR ~ Ctrl-B`` when
``debug.kdb.alt_break_to_debugger=1``, or an NMI (amd64 only).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from harness.errors import InfraError
from harness.guests.freebsd.data import DdbData
from harness.guests.freebsd.shell import Shell, must
from harness.parse.console import (
    CRASH_PATTERNS,
    DEBUGGER_PATTERNS,
    STREAM_DB_PROMPT,
    STREAM_KDB_ENTER,
    STREAM_MORE,
)
from harness.vm.guest import DeathStrings, DebuggerDialect, EntryKind, EntryMethod


class DdbUnavailable(InfraError):
    """The running FreeBSD kernel has no DDB backend."""


@dataclass(frozen=True)
class KdbStatus:
    """``debug.kdb.available`` and ``debug.kdb.current`` of the running kernel."""

    available: tuple[str, ...]
    current: str

    @property
    def has_ddb(self) -> bool:
        return "ddb" in self.available


def dialect(data: DdbData) -> DebuggerDialect:
    """DDB's surface: ``db> `` prompt, ``--More--`` pager (off with ``set $lines 0``), ``continue`` resumes. The
    prompt, pager and entry patterns are the parse package's; the keys and commands come from freebsd.toml."""
    return DebuggerDialect(
        name="ddb",
        prompt=STREAM_DB_PROMPT,
        pager=STREAM_MORE,
        pager_answer=data.pager_answer,
        disable_pager=data.disable_pager,
        resume=data.resume,
        eol=data.eol,
        entry_methods=(
            EntryMethod(EntryKind.SHELL_COMMAND, data.enter_sysctl),
            EntryMethod(EntryKind.CONSOLE_KEYS, data.alt_break),
            EntryMethod(EntryKind.QMP_NMI, "", arches=("amd64",)),
        ),
        entry_banner=STREAM_KDB_ENTER,
    )


def death_strings() -> DeathStrings:
    """The console watcher's death strings: the parse package's FreeBSD crash and debugger patterns."""
    return DeathStrings(
        panic=tuple(p.pattern for p in CRASH_PATTERNS), debugger=tuple(p.pattern for p in DEBUGGER_PATTERNS)
    )


_SYSCTL_VALUE = re.compile(r"^debug\.kdb\.(?P<name>available|current): ?(?P<value>.*)$", re.MULTILINE)


def parse_kdb_sysctls(text: str) -> KdbStatus:
    """``debug.kdb.available: ddb gdb`` / ``debug.kdb.current: ddb`` lines (``sysctl`` without ``-n``)."""
    values = {m["name"]: m["value"].strip() for m in _SYSCTL_VALUE.finditer(text)}
    if "available" not in values:
        raise DdbUnavailable(
            "the kernel has no debug.kdb sysctls (built without options KDB)",
            hint="build the kernel with `options KDB` and `options DDB`",
        )
    return KdbStatus(tuple(values["available"].split()), values.get("current", ""))


def kdb_status(shell: Shell) -> KdbStatus:
    output = shell.run("sysctl debug.kdb.available debug.kdb.current").output
    return parse_kdb_sysctls(output)


def require_ddb(status: KdbStatus, *, kernel: str = "the running kernel") -> None:
    if not status.has_ddb:
        found = " ".join(status.available) or "nothing"
        raise DdbUnavailable(
            f"{kernel} has no DDB: debug.kdb.available lists {found} (release GENERIC kernels are built without DDB)",
            hint="boot a kernel built with `options DDB` (harness boot --kernel DIR; the build's KERNCONF adds it)",
        )


def setup_commands(data: DdbData) -> list[str]:
    """Stop in DDB on panic with a trace, enable alt-break, and install the on-panic ddb script (ddb(8))."""
    return [f"sysctl {' '.join(data.sysctls)}", f"ddb script {shlex.quote(data.panic_script)}"]


def prepare(shell: Shell, data: DdbData) -> KdbStatus:
    """Check DDB is there (or raise ``DdbUnavailable`` saying how to get it) and set it up for the run."""
    status = kdb_status(shell)
    require_ddb(status)
    for command in setup_commands(data):
        must(shell, command, why="setting up DDB")
    return status
