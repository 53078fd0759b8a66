"""Configuration commands in the FreeBSD guest that must succeed, over any ``harness.vm.shell.Shell`` (the serial
console or the SSH session)."""

from __future__ import annotations

from harness.errors import InfraError
from harness.vm.shell import Shell as Shell  # re-exported: the FreeBSD modules take a Shell from here


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
