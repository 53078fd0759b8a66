"""The one thing the FreeBSD adapter needs from a console or an SSH session: run a command, get its result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from harness.errors import InfraError

if TYPE_CHECKING:
    from harness.vm.console import CommandResult


class Shell(Protocol):
    """``harness.vm.console.Console`` (serial) and the SSH session both run shell commands this way."""

    def run(self, command: str, timeout: float = ...) -> CommandResult: ...


class GuestSetupError(InfraError):
    """A configuration command in the FreeBSD guest failed (sysrc, sshd, nextboot, an upload)."""


def must(shell: Shell, command: str, *, why: str, timeout: float | None = None, hint: str | None = None) -> str:
    """Run ``command``; its output, or ``GuestSetupError`` naming ``why`` with the command's own words."""
    result = shell.run(command) if timeout is None else shell.run(command, timeout=timeout)
    if not result.ok:
        said = (result.stderr or result.output).strip().splitlines()
        tail = f": {said[-1]}" if said else ""
        raise GuestSetupError(f"{why} failed (`{command}` exited {result.status}){tail}", hint=hint)
    return result.output
