"""The runner: host commands logged and owned (nothing left running after an interrupt), guest commands through
the builder's shell in order, failures naming the stage and the log."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import pytest

from harness.errors import BuildError
from harness.kernelbuild.commands import Command
from harness.kernelbuild.runner import Runner


def test_host_command_output_goes_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    Runner(log).run(
        Command(
            "buildkernel", ("sh", "-c", "echo $MAKEOBJDIRPREFIX; pwd"), (("MAKEOBJDIRPREFIX", "/o"),), str(tmp_path)
        )
    )
    text = log.read_text()
    assert "### host$ cd " in text and "/o\n" in text and f"{tmp_path}\n" in text


def test_host_command_never_waits_on_stdin(tmp_path: Path) -> None:
    # make.py asks "Did you really mean to do a clean build?" on stdin; with stdin closed `read` fails at once.
    log = tmp_path / "build.log"
    with pytest.raises(BuildError, match=r"kernel-toolchain failed \(exit 3\)"):
        Runner(log).run(Command("kernel-toolchain", ("sh", "-c", "read answer || exit 3")))


def test_failure_names_stage_last_lines_and_log(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    with pytest.raises(BuildError) as caught:
        Runner(log).run(Command("buildkernel", ("sh", "-c", "echo vm_glue.c:12: error: nope; exit 2")))
    assert "buildkernel failed (exit 2): vm_glue.c:12: error: nope" in caught.value.one_line()
    assert str(log) in caught.value.one_line()


def test_interrupt_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            Runner(tmp_path / "build.log").run(Command("buildkernel", ("sh", "-c", script)))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"the build's child {child} outlived the interrupt")


@dataclass
class Result:
    status: int
    output: str = ""
    stderr: str = ""


@dataclass
class RecordingShell:
    fail_on: str | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)

    def run(self, command: str, timeout: float = 60.0, *, check: bool = False) -> Result:
        self.calls.append(("run", command))
        failed = self.fail_on is not None and self.fail_on in command
        return Result(1 if failed else 0, f"out of {command}\n", "warning\n" if failed else "")

    def put(self, local: Path, remote: str) -> None:
        self.calls.append(("put", f"{local} {remote}"))

    def get(self, remote: str, local: Path) -> None:
        self.calls.append(("get", f"{remote} {local}"))


def test_guest_commands_go_through_the_shell_in_order(tmp_path: Path) -> None:
    shell = RecordingShell()
    commands = [
        Command("upload", where="guest", kind="put", local="/h/src.tgz", remote="/g/src.tgz"),
        Command("buildkernel", ("make", "buildkernel"), (("MAKEOBJDIRPREFIX", "/g/obj"),), "/g/src", "guest"),
        Command("download", where="guest", kind="get", local="/h/k.tgz", remote="/g/k.tgz"),
    ]
    Runner(tmp_path / "build.log", guest=shell).run_all(commands)
    assert shell.calls == [
        ("put", "/h/src.tgz /g/src.tgz"),
        ("run", "cd /g/src && env MAKEOBJDIRPREFIX=/g/obj make buildkernel"),
        ("get", "/g/k.tgz /h/k.tgz"),
    ]
    assert "out of cd /g/src" in (tmp_path / "build.log").read_text()


def test_guest_failure_is_a_build_error(tmp_path: Path) -> None:
    shell = RecordingShell(fail_on="installkernel")
    with pytest.raises(BuildError, match="installkernel failed in the builder VM"):
        Runner(tmp_path / "build.log", guest=shell).run(
            Command("installkernel", ("make", "installkernel"), where="guest")
        )


def test_dry_run_prints_and_runs_nothing(tmp_path: Path) -> None:
    printed: list[str] = []
    marker = tmp_path / "ran"
    Runner(tmp_path / "build.log", dry_run=True, echo=printed.append).run(Command("x", ("touch", str(marker))))
    assert printed == [f"host$ touch {marker}"]
    assert not marker.exists() and not (tmp_path / "build.log").exists()
