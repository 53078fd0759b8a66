"""The Linux test guest's adapter: a root shell on the console (no login), dropbear, and Linux kdb."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.util import tomlfile
from harness.vm.console import Console
from harness.vm.guest import Credentials, DeathStrings, DebuggerDialect, EntryKind, EntryMethod, StartHints


def _settings() -> dict[str, Any]:
    return tomlfile.load_resource("harness.guests.linuxtest", "adapter.toml").data


def kdb_dialect() -> DebuggerDialect:
    raw = _settings()["kdb"]
    return DebuggerDialect(
        name=raw["name"],
        prompt=raw["prompt"],
        pager=raw["pager"],
        pager_answer=raw["pager_answer"],
        disable_pager=raw.get("disable_pager"),
        resume=raw["resume"],
        eol=raw["eol"],
        entry_methods=tuple(
            EntryMethod(EntryKind(e["kind"]), e.get("payload", ""), tuple(e.get("arches", ()))) for e in raw["entry"]
        ),
        entry_banner=raw.get("entry_banner"),
    )


def _death() -> DeathStrings:
    raw = _settings()["death"]
    return DeathStrings(panic=tuple(raw["panic"]), debugger=tuple(raw["debugger"]))


@dataclass
class LinuxTestGuest:
    """Implements ``harness.vm.guest.GuestAdapter`` for the Debian-built test guest."""

    name: str = "linuxtest"
    prompt: str = field(default_factory=lambda: _settings()["shell"]["prompt"])
    death_strings: DeathStrings = field(default_factory=_death)
    debugger: DebuggerDialect = field(default_factory=kdb_dialect)
    poweroff_command: str = field(default_factory=lambda: _settings()["shell"]["poweroff"])
    reboot_command: str = field(default_factory=lambda: _settings()["shell"]["reboot"])
    #: Console output that proves the guest is going down for the reboot.
    reboot_seen: str = field(default_factory=lambda: _settings()["shell"]["reboot_seen"])
    input_pace: float = field(default_factory=lambda: float(_settings()["shell"]["input_pace"]))
    credentials: Credentials = field(default_factory=Credentials)
    start_hints: StartHints = field(
        default_factory=lambda: StartHints.from_tables(_settings()["clock"], _settings()["phases"])
    )

    def login(self, console: Console, timeout: float) -> None:
        """No login: busybox init gives a root shell on the console. Wait for it, then set the unique prompt."""
        shell = _settings()["shell"]
        console.expect(shell["boot_prompt"], timeout, what="the test guest's shell prompt")
        console.sendline("")  # a fresh prompt: the boot prompt may have been followed by dropbear log lines
        console.sendline(shell["set_prompt"])
        console.expect(self.prompt, 30, what="the harness prompt")
        console.prompt = self.prompt
        console.discard_pending()
