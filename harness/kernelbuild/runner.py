"""Runs a build's commands: host commands as owned subprocesses, guest commands through the builder's shell.

Every command's output goes to the build log; each is a step (progress, timing). Nothing outlives a failure, an
interrupt or SIGTERM: a host command runs in its own process group, which is terminated then killed on the way
out. ``dry_run`` prints each command instead (cheribuild's pretend mode).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from harness.errors import BuildError
from harness.kernelbuild.commands import Command
from harness.steps import step
from harness.util.procs import owned_group
from harness.vm.shell import RemoteShell

#: A kernel build in a guest may take hours under TCG; the SSH command is bounded by this.
GUEST_COMMAND_TIMEOUT = 8 * 3600.0
_TERM_GRACE = 10.0


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    # The command's own last lines, not the "### host$ ..." header the runner writes before it.
    output = text.rsplit("\n### ", 1)[-1].split("\n", 1)[-1] if "\n### " in text else text
    return " | ".join(line.strip() for line in output.splitlines()[-lines:] if line.strip())


@dataclass
class Runner:
    log_path: Path
    dry_run: bool = False
    echo: Callable[[str], None] = print
    guest: RemoteShell | None = None

    def run_all(self, commands: list[Command]) -> None:
        for command in commands:
            self.run(command)

    def run(self, command: Command) -> None:
        if self.dry_run:
            self.echo(command.display())
            return
        with step(f"build.{command.stage}", where=command.where), self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n### {command.display()}\n")
            log.flush()
            if command.where == "guest":
                self._run_guest(command, log)
            else:
                self._run_host(command, log)

    def _run_host(self, command: Command, log: TextIO) -> None:
        env = dict(os.environ, **dict(command.env))
        try:
            proc = subprocess.Popen(
                list(command.argv),
                cwd=command.cwd,
                env=env,
                stdin=subprocess.DEVNULL,  # make.py asks about clean builds on stdin; never let it wait
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise BuildError(f"{command.stage}: cannot start {command.argv[0]}: {exc.strerror}") from None
        with owned_group(proc, _TERM_GRACE):
            code = proc.wait()
        if code != 0:
            log.flush()
            raise BuildError(
                f"{command.stage} failed (exit {code}): {_tail(self.log_path)}",
                hint=f"the full output is in {self.log_path}",
            )

    def _run_guest(self, command: Command, log: TextIO) -> None:
        if self.guest is None:
            raise BuildError(f"{command.stage} must run in the builder VM, and none is connected")
        if command.kind == "put":
            self.guest.put(Path(str(command.local)), str(command.remote))
            return
        if command.kind == "get":
            self.guest.get(str(command.remote), Path(str(command.local)))
            return
        result = self.guest.run(command.shell(), GUEST_COMMAND_TIMEOUT)
        log.write(result.output)
        log.write(result.stderr)
        if result.status != 0:
            log.flush()
            raise BuildError(
                f"{command.stage} failed in the builder VM (exit {result.status}): {_tail(self.log_path)}",
                hint=f"the full output is in {self.log_path}",
            )
