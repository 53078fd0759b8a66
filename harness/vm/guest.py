"""The guest contract: what a guest OS must tell the guest-neutral machinery in ``harness.vm``.

The machinery defines it and guests implement it, so ``harness.vm`` never imports ``harness.guests``. A guest
adapter (FreeBSD in ``harness.guests.freebsd``, the Linux test guest in ``harness.guests.linuxtest``)
supplies: how to log in on the serial console and install a unique shell prompt, the console's death strings
(crash and debugger patterns the console watcher checks on every read), its kernel debugger's dialect, and how to
power off. ``harness.vm`` never hard-codes any of these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from harness.vm.console import Console


class EntryKind(enum.Enum):
    """How the harness makes the kernel drop into its debugger."""

    #: A command typed at the guest's shell prompt on the console (``sysctl debug.kdb.enter=1``,
    #: ``echo g > /proc/sysrq-trigger``).
    SHELL_COMMAND = "shell"
    #: Raw keys sent on the serial line, no end-of-line added (FreeBSD's alt-break ``"\r~\x02"``).
    CONSOLE_KEYS = "keys"
    #: QMP ``inject-nmi`` (x86 only; the guest must turn an NMI into debugger entry).
    QMP_NMI = "nmi"


@dataclass(frozen=True)
class EntryMethod:
    kind: EntryKind
    #: The shell command or the key sequence; empty for ``QMP_NMI``.
    payload: str = ""
    #: Architectures this method works on; empty means all.
    arches: tuple[str, ...] = ()

    def works_on(self, arch: str) -> bool:
        return not self.arches or arch in self.arches


@dataclass(frozen=True)
class DebuggerDialect:
    """The surface of one in-kernel debugger as seen on a serial console.

    FreeBSD DDB: prompt ``db> ``, pager ``--More--`` (answered with a space), ``set $lines 0`` disables the
    pager, ``continue`` resumes. Linux kdb: prompt ``[0]kdb> ``, pager ``more> ``, ``go`` resumes, and kdb reads
    only CR as Enter.
    """

    name: str
    #: Regex of the debugger's prompt (matched at the end of a command's output).
    prompt: str
    #: Regex of the pager prompt that stops long output, or None if the debugger never pages.
    pager: str | None
    #: Key(s) that answer the pager to show the next page; sent without end-of-line.
    pager_answer: str
    #: A command that turns the pager off for the rest of the session, or None (then the pager is answered).
    disable_pager: str | None
    #: The command that leaves the debugger and resumes the kernel.
    resume: str
    #: What ends a debugger command line (``"\r"`` for kdb, which ignores LF).
    eol: str = "\r"
    #: Ways in, in order of preference.
    entry_methods: tuple[EntryMethod, ...] = ()
    #: Regex seen on the console when the debugger is entered (before the first prompt), for logging/checks.
    entry_banner: str | None = None


@dataclass(frozen=True)
class DeathStrings:
    """Console patterns that mean the guest kernel is in trouble (tbot's "death strings").

    ``panic`` patterns raise ``harness.errors.KernelPanic``; ``debugger`` patterns raise
    ``harness.errors.UnexpectedDebugger`` unless the harness entered the debugger on purpose. Regexes, matched
    line by line (the current unfinished line included, so a bare ``db> `` prompt is seen).
    """

    panic: tuple[str, ...] = ()
    debugger: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        return self.panic + self.debugger


@dataclass(frozen=True)
class StartHints:
    """What starting a VM needs from a guest OS beyond logging in (``[clock]`` and ``[phases]`` of its data file).

    ``set_clock``: a shell command with ``{epoch}`` (host UTC seconds) that sets the guest's wall clock; run after
    a restore, whose guest clock stood still while the state was saved. ``read_clock`` prints the guest's UTC
    seconds. ``boot_markers``: (phase, regex) in boot order; a phase ends at the first console line matching its
    regex (the report's boot timeline).
    """

    set_clock: str
    read_clock: str
    boot_markers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_tables(cls, clock: dict[str, object], phases: dict[str, object]) -> StartHints:
        markers = phases.get("markers", [])
        if not isinstance(markers, list) or not all(
            isinstance(m, list) and len(m) == 2 and all(isinstance(x, str) for x in m) for m in markers
        ):
            raise TypeError("[phases] markers must be a list of [phase, regex] pairs")
        return cls(str(clock["set"]), str(clock["read"]), tuple((m[0], m[1]) for m in markers))


@dataclass(frozen=True)
class Credentials:
    """How to log in over SSH once the guest is up."""

    user: str = "root"
    port: int = 22


@runtime_checkable
class GuestAdapter(Protocol):
    """One guest OS, as the VM machinery needs it (read-only: attributes or properties both implement it)."""

    @property
    def name(self) -> str:
        """Short name: ``"freebsd"``, ``"linuxtest"``."""
        ...

    @property
    def prompt(self) -> str:
        """Regex of the unique shell prompt installed by ``login`` (must not match its own echoed ``PS1=`` line)."""
        ...

    @property
    def death_strings(self) -> DeathStrings: ...

    @property
    def debugger(self) -> DebuggerDialect: ...

    @property
    def poweroff_command(self) -> str:
        """Shell command that powers the guest off cleanly (``shutdown -p now``, ``poweroff``)."""
        ...

    @property
    def input_pace(self) -> float:
        """Seconds between characters typed on the console (0 = send at once). Slow UARTs under TCG drop input."""
        ...

    @property
    def credentials(self) -> Credentials: ...

    def login(self, console: Console, timeout: float) -> None:
        """Wait for the login prompt or shell, log in, and install ``prompt`` (sets ``console.prompt``)."""
        ...
