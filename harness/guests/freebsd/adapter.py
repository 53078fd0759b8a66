"""``FreeBSDGuest``: the FreeBSD guest adapter the VM machinery drives (``harness.vm.guest.GuestAdapter``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.guests.freebsd import ddb
from harness.guests.freebsd.data import FreeBSDData, load
from harness.guests.freebsd.login import Session, login, prompt_regex
from harness.vm.guest import Credentials, DeathStrings, DebuggerDialect, StartHints

if TYPE_CHECKING:
    from harness.vm.console import Console


@dataclass
class FreeBSDGuest:
    """One FreeBSD guest (its kernel console on the serial line: see harness.guests.freebsd.boot)."""

    data: FreeBSDData = field(default_factory=load)
    name: str = "freebsd"
    poweroff_command: str = "shutdown -p now"
    credentials: Credentials = field(default_factory=Credentials)
    session: Session | None = None

    @property
    def prompt(self) -> str:
        """The unique prompt of the current console session (valid after ``login``)."""
        return self.session.prompt if self.session else prompt_regex(self.data.console.prompt_tag)

    @property
    def death_strings(self) -> DeathStrings:
        return ddb.death_strings()

    @property
    def debugger(self) -> DebuggerDialect:
        return ddb.dialect(self.data.ddb)

    @property
    def start_hints(self) -> StartHints:
        return self.data.start

    @property
    def input_pace(self) -> float:
        return self.data.console.input_pace

    def login(self, console: Console, timeout: float) -> None:
        """From power-on or a reboot to root's /bin/sh with the unique prompt (``console.prompt`` is set)."""
        self.session = login(console, self.data, boot_timeout=timeout)
