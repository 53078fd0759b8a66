"""Collectors: snapshots (before / plateau / after), the guest-side 1 s sampler, and running one workload.

Everything goes over one SSH session (``RemoteShell``). Long work runs in the background in the guest and is polled,
so a guest crash seen on the console aborts the poll at once (``harness.vm`` aborts the SSH command and raises
the crash). Every raw output is written into the run directory as it arrives.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from harness.errors import InfraError, SSHError
from harness.run.profiles import GuestProfile
from harness.run.rundir import RunDir
from harness.steps import note, step
from harness.vm.shell import RemoteShell
from harness.workloads.catalogue import RenderedWorkload

if TYPE_CHECKING:
    from harness.vm.console import CommandResult

#: Seconds between polls of a background job in the guest.
POLL_SECONDS = 0.5
#: Seconds a plateau may take to appear beyond which the workload is judged stuck.
PLATEAU_TIMEOUT = 300.0


@dataclass
class WorkloadRun:
    name: str
    status: str  # "done" | "failed" | "timeout" | "crashed" | "skipped"
    exit_status: int | None
    plateau: bool
    stdout: str
    seconds: float


def snapshot(
    remote: RemoteShell, run: RunDir, profile: GuestProfile, *parts: str, commands: dict[str, str] | None = None
) -> None:
    """Run each snapshot command and keep its output as ``raw/<parts>/<file>``."""
    with step("snapshot", at="/".join(parts)):
        for file, command in (commands or profile.snapshot).items():
            result = remote.run(command, timeout=120)
            run.write_raw(result.output, *parts, file)
            if result.stderr.strip():
                run.write_raw(result.stderr, *parts, file + ".stderr")


def _background(remote: RemoteShell, command: str, out: str) -> None:
    """Start ``command`` detached in the guest, output to ``out``; its pid in ``out.pid``, exit status in
    ``out.rc`` when it ends."""
    # No nohup: busybox lacks it. Ignoring SIGHUP in the detached shell and closing its stdio is portable.
    wrapped = f"trap '' HUP; ({command}) > {shlex.quote(out)} 2>&1; echo $? > {shlex.quote(out + '.rc')}"
    pid = shlex.quote(out + ".pid")
    remote.run(f"sh -c {shlex.quote(wrapped)} < /dev/null > /dev/null 2>&1 & echo $! > {pid}", check=True)


def _read(remote: RemoteShell, path: str) -> str:
    return remote.run(f"cat {shlex.quote(path)} 2>/dev/null", timeout=120).output


def _wait_for_file(remote: RemoteShell, path: str, timeout: float, what: str) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if remote.run(f"test -e {shlex.quote(path)}").status == 0:
            return True
        time.sleep(POLL_SECONDS)
    note("wait", f"{what} not seen within {timeout:.0f} s", path=path)
    return False


def upload(remote: RemoteShell, rendered: RenderedWorkload, binary: Path | None, staging: Path) -> None:
    """Put the script, the C sources (or the host-built binary) into the guest's workdir."""
    remote.run(f"mkdir -p {shlex.quote(rendered.workdir)}", check=True)
    staging.mkdir(parents=True, exist_ok=True)
    script = staging / Path(rendered.script_path).name
    script.write_text(rendered.script, encoding="utf-8")
    remote.put(script, rendered.script_path)
    for name, data in rendered.files.items():
        local = staging / name
        local.write_bytes(data)
        remote.put(local, f"{rendered.workdir}/{name}")
    if binary is not None:
        remote.put(binary, rendered.binary)
        remote.run(f"chmod 755 {shlex.quote(rendered.binary)}", check=True)


class Sampler:
    """The guest-side 1 s sampler: a shell loop started in the background that ends when its stop file appears
    (portable: no process-group kill needed on busybox or FreeBSD)."""

    def __init__(self, remote: RemoteShell, profile: GuestProfile, out: str) -> None:
        self.remote, self.profile, self.out = remote, profile, out
        self.stop_file = out + ".stop"

    def __enter__(self) -> Sampler:
        stop = shlex.quote(self.stop_file)
        loop = (
            f'rm -f {stop}; while [ ! -e {stop} ]; do echo "== tick $(date +%s)"; {self.profile.sampler}; sleep 1; done'
        )
        _background(self.remote, loop, self.out)
        return self

    def __exit__(self, *exc: object) -> None:
        # Best effort when the guest is gone (a crash): the raw samples then stay in the guest.
        if exc[0] is None:
            self.stop()

    def stop(self) -> None:
        self.remote.run(f"touch {shlex.quote(self.stop_file)}")
        _wait_for_file(self.remote, self.out + ".rc", 10, "sampler end")

    def fetch(self) -> str:
        return _read(self.remote, self.out)


def run_workload(
    remote: RemoteShell,
    run: RunDir,
    profile: GuestProfile,
    rendered: RenderedWorkload,
    *,
    at_plateau: list[Callable[[], None]] | None = None,
) -> WorkloadRun:
    """Snapshot before, run the workload in the background, snapshot at its plateau (then release it), wait for
    it to end, settle, snapshot after. ``at_plateau`` callables run while the plateau is held (DDB capture)."""
    name = rendered.name
    run.write_raw(rendered.script, name, "script.sh")
    started = time.monotonic()
    out = f"{rendered.workdir}/{name}.out"
    sampler = Sampler(remote, profile, f"{rendered.workdir}/{name}.samples")
    with step("workload", workload=name), sampler:
        snapshot(remote, run, profile, name, "before")
        _background(remote, f"sh {shlex.quote(rendered.script_path)}", out)
        plateau = False
        if rendered.ready_path and rendered.release_path:
            plateau = _wait_for_file(
                remote, rendered.ready_path, min(PLATEAU_TIMEOUT, rendered.timeout_seconds), "plateau"
            )
            if plateau:
                snapshot(remote, run, profile, name, "plateau")
                for action in at_plateau or []:
                    if callable(action):
                        action()
                # Hold the plateau long enough for the 1 s sampler to record it in the time series.
                time.sleep(profile.plateau_dwell_seconds)
            remote.run(f"touch {shlex.quote(rendered.release_path)}")
        finished = _wait_for_file(remote, out + ".rc", rendered.timeout_seconds, "workload end")
        if not finished:
            # The shell, then the program it started (killall is in FreeBSD's base and in busybox).
            binary = shlex.quote(PurePosixPath(rendered.binary).name)
            remote.run(f"kill $(cat {shlex.quote(out + '.pid')}) 2>/dev/null; killall -9 {binary} 2>/dev/null; true")
        time.sleep(profile.settle_seconds)
        # Still under the sampler, as `before` was: its own tasks (a shell loop, its sleep) hold kernel stacks too.
        snapshot(remote, run, profile, name, "after")
        sampler.stop()
        stdout = _read(remote, out)
        run.write_raw(stdout, name, "stdout.txt")
        fetch_moments(remote, run, profile, rendered)
        run.write_raw(sampler.fetch(), name, "samples.txt")
    rc_text = _read(remote, out + ".rc").strip() if finished else ""
    exit_status = int(rc_text) if rc_text.isdigit() else None
    status = "timeout" if not finished else ("done" if exit_status == 0 else "failed")
    return WorkloadRun(name, status, exit_status, plateau, stdout, time.monotonic() - started)


def fetch_moments(remote: RemoteShell, run: RunDir, profile: GuestProfile, rendered: RenderedWorkload) -> None:
    """Copy the snapshots the script took in the guest (``moments/<moment>/<file>``) to ``raw/<workload>/``."""
    for moment in rendered.moments:
        for file in profile.snapshot:
            path = f"{rendered.workdir}/moments/{moment}/{file}"
            if remote.run(f"test -f {shlex.quote(path)}").status == 0:
                run.write_raw(_read(remote, path), rendered.name, moment, file)


def require_ok(result: CommandResult, what: str) -> None:
    if result.status != 0:
        raise InfraError(
            f"{what} failed in the guest (exit {result.status}): {(result.stderr or result.output)[-300:]}"
        )


__all__ = ["RemoteShell", "SSHError", "Sampler", "WorkloadRun", "run_workload", "snapshot", "upload"]
