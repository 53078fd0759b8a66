"""The debugger driver: enter the kernel debugger, disable or answer its pager, run commands and capture each
output up to the next prompt, resume. Guest-neutral: the dialect (DDB, kdb) comes from the guest adapter.

    db = Debugger(vm.console, adapter.debugger, arch="amd64", nmi=vm.inject_nmi)
    with db.session():
        trace = db.command("bt")
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from harness.errors import HarnessError, UsageError, VMError
from harness.steps import step
from harness.vm.console import Console
from harness.vm.guest import DebuggerDialect, EntryKind, EntryMethod


@dataclass(frozen=True)
class DebuggerOutput:
    command: str
    output: str
    pages: int
    duration: float


class Debugger:
    def __init__(
        self, console: Console, dialect: DebuggerDialect, *, arch: str, nmi: Callable[[], None] | None = None
    ) -> None:
        self.console = console
        self.dialect = dialect
        self.arch = arch
        self.nmi = nmi
        self.active = False
        self.transcript: list[DebuggerOutput] = []

    def methods(self) -> list[EntryMethod]:
        """Entry methods usable here (NMI only with a QMP connection, each only on its arches)."""
        return [
            m
            for m in self.dialect.entry_methods
            if m.works_on(self.arch) and (m.kind is not EntryKind.QMP_NMI or self.nmi is not None)
        ]

    def enter(self, method: EntryMethod | None = None, timeout: float = 60.0) -> str:
        """Drop into the debugger; returns the console text from the trigger to the first prompt."""
        chosen = method or next(iter(self.methods()), None)
        if chosen is None:
            raise UsageError(
                f"no way into {self.dialect.name} on {self.arch}", hint="check the dialect's entry methods"
            )
        with step("debugger enter", debugger=self.dialect.name, method=chosen.kind.value):
            self.console.watcher.expect_debugger(True)
            self.active = True
            try:
                self.console.discard_pending()
                self._trigger(chosen)
                self.console.expect(self.dialect.prompt, timeout, what=f"the {self.dialect.name} prompt")
            except BaseException:
                self._leave()
                raise
            banner = self.console.before
            if self.dialect.disable_pager:
                self.command(self.dialect.disable_pager, timeout)
            return banner

    def _trigger(self, method: EntryMethod) -> None:
        if method.kind is EntryKind.SHELL_COMMAND:
            self.console.sendline(method.payload)
        elif method.kind is EntryKind.CONSOLE_KEYS:
            self.console.send(method.payload)
        elif self.nmi is not None:
            self.nmi()
        else:  # pragma: no cover - methods() filters this out
            raise VMError("QMP NMI entry needs a QMP connection")

    def command(self, command: str, timeout: float = 60.0) -> DebuggerOutput:
        """Run one debugger command; its output (echo removed), every pager page answered."""
        if not self.active:
            raise VMError(f"{self.dialect.name}: not in the debugger", hint="call enter() first")
        started = time.monotonic()
        self.console.discard_pending()
        self.console.send(command + self.dialect.eol)
        patterns = [self.dialect.prompt] + ([self.dialect.pager] if self.dialect.pager else [])
        pieces: list[str] = []
        pages = 1
        while True:
            index = self.console.expect(patterns, timeout, what=f"the end of {self.dialect.name} `{command}`")
            pieces.append(self.console.before)
            if index == 0:
                break
            pages += 1
            self.console.send(self.dialect.pager_answer)
        result = DebuggerOutput(command, _without_echo("".join(pieces)), pages, time.monotonic() - started)
        self.transcript.append(result)
        return result

    def resume(self, timeout: float = 60.0, *, wait_for_prompt: bool = True) -> None:
        """Leave the debugger; with ``wait_for_prompt``, wait until the shell prompt is back (if one is known)."""
        if not self.active:
            return
        with step("debugger resume", debugger=self.dialect.name):
            try:
                self.console.send(self.dialect.resume + self.dialect.eol)
                if wait_for_prompt and self.console.prompt:
                    self.console.expect(self.console.prompt, timeout, what="the shell prompt after resuming")
                else:
                    self.console.expect(r"\n", timeout, what=f"the echo of `{self.dialect.resume}`")
            finally:
                self._leave()

    def _leave(self) -> None:
        if self.active:
            self.active = False
            self.console.watcher.expect_debugger(False)

    @contextlib.contextmanager
    def session(self, method: EntryMethod | None = None, timeout: float = 60.0) -> Iterator[Debugger]:
        self.enter(method, timeout)
        try:
            yield self
        except BaseException:
            # Try to leave the kernel running, but report the original failure, not a failed resume.
            with contextlib.suppress(HarnessError):
                self.resume(timeout)
            raise
        self.resume(timeout)


def _without_echo(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "").split("\n")
    return "\n".join(lines[1:]).strip("\n")
