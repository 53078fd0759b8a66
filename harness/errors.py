"""The one exception hierarchy of the harness, and the exit codes that follow it.

Three kinds of trouble are kept apart because a CI job must treat them differently:

* ``CheckFailed`` (exit 1): the harness worked and the kernel disagrees with the model.
* ``InfraError`` / ``UsageError`` (exit 2): the harness could not do its job (no QEMU, download failed, SSH
  refused, bad option). Says nothing about the kernel under test.
* ``GuestCrashed`` (exit 3): the guest kernel panicked or fell into the debugger unasked.

Every error carries a one-line message naming the cause and, where one is known, a ``hint`` naming the fix.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    CHECK_FAILED = 1
    INFRA = 2
    KERNEL_CRASH = 3
    INTERRUPTED = 130


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""

    exit_code: ExitCode = ExitCode.INFRA

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message a user sees: cause first, then the fix."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


# --- exit 2: usage --------------------------------------------------------------------------------------------


class UsageError(HarnessError):
    """The user asked for something that cannot be: unknown generation, bad address, negative count."""


class ConfigError(UsageError):
    """A data file (manifest, VM profile, patch recipe, arch constants) is missing or malformed."""


# --- exit 2: infrastructure -----------------------------------------------------------------------------------


class InfraError(HarnessError):
    """The harness's own machinery failed; the kernel under test is not to blame."""


class HostError(InfraError):
    """The host lacks something: a QEMU binary, firmware, a usable KVM, a Debian package."""


class DownloadError(InfraError):
    """A download failed or the network is unreachable."""


class ChecksumMismatch(DownloadError):
    """A downloaded file does not match its published checksum; it was not cached."""


class VMError(InfraError):
    """QEMU could not be started, controlled or stopped."""


class VMLaunchFailure(VMError):
    """QEMU exited during launch. Carries the command line, exit code and stderr."""

    def __init__(
        self,
        message: str,
        *,
        command: list[str],
        exitcode: int | None,
        stderr: str,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.command = command
        self.exitcode = exitcode
        self.stderr = stderr


class ConsoleTimeout(VMError):
    """The serial console did not show what was expected in time. Carries the last console lines."""

    def __init__(self, message: str, *, last_lines: list[str] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.last_lines = list(last_lines or [])


class ConsoleClosed(ConsoleTimeout):
    """The console stream ended (QEMU exited, the peer closed) while something was expected on it."""


class SSHError(InfraError):
    """SSH to the guest was refused, failed authentication or timed out."""


class BuildError(InfraError):
    """Applying a patch or building a kernel failed."""


class PatchConflict(BuildError):
    """A patch does not apply; carries the conflicting files and hunks."""


class ParseError(InfraError):
    """Text read from the guest does not have the expected shape. Names the line."""

    #: Characters of the offending line shown: a 20 MB "line" must not become a 20 MB error.
    SHOWN = 200

    def __init__(self, message: str, *, line_no: int | None = None, line: str | None = None) -> None:
        where = f"line {line_no}: " if line_no is not None else ""
        shown = ""
        if line is not None:
            rest = line[self.SHOWN :]
            shown = f": {line[: self.SHOWN]!r}" + (
                f"… [cut {len(rest.encode('utf-8', 'surrogatepass'))} bytes]" if rest else ""
            )
        super().__init__(f"{where}{message}{shown}")
        self.line_no = line_no
        self.line = line


# --- exit 1: the kernel disagrees with the model --------------------------------------------------------------


class CheckFailed(HarnessError):
    """At least one model check failed."""

    exit_code = ExitCode.CHECK_FAILED


# --- exit 3: the guest kernel crashed --------------------------------------------------------------------------


class GuestCrashed(HarnessError):
    """The guest kernel panicked, trapped or entered the debugger unasked."""

    exit_code = ExitCode.KERNEL_CRASH

    def __init__(
        self,
        message: str,
        *,
        title: str | None = None,
        excerpt: list[str] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.title = title
        self.excerpt = list(excerpt or [])


class KernelPanic(GuestCrashed):
    """A panic (or fatal trap) was seen on the console."""


class UnexpectedDebugger(GuestCrashed):
    """The kernel debugger was entered without the harness asking for it."""
