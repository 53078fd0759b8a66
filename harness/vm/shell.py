"""The one "run a command in the guest" contract, for everything that drives a guest through a shell.

``Shell`` runs a command and says how it ended: the serial ``harness.vm.console.Console`` and the
``harness.vm.ssh.SSHSession`` both are one. ``RemoteShell`` also copies files (SSH with SFTP): what the collectors
and the builder VM need. Results are ``harness.vm.console.CommandResult`` either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from harness.vm.console import CommandResult


class Shell(Protocol):
    def run(self, command: str, timeout: float = ...) -> CommandResult: ...


class RemoteShell(Protocol):
    def run(self, command: str, timeout: float = ..., *, check: bool = False) -> CommandResult: ...

    def put(self, local: Path, remote: str) -> None: ...

    def get(self, remote: str, local: Path) -> None: ...
