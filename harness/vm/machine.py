"""One QEMU process, owned by a context manager that never lets it outlive the harness.

    with Machine(profile, BootSpec(kernel=..., initrd=..., append=...), run_dir, death=adapter.death_strings) as vm:
        adapter.login(vm.console, timeout=300)
        with vm.ssh(key) as ssh:
            ssh.run("uname -a")
        vm.shutdown(adapter.poweroff_command)

``incoming=PATH`` starts QEMU from a VM state saved by ``save_state`` (same profile and boot spec) instead of
booting; ``harness.vm.snapshot`` keeps such states.

Launch failures raise ``VMLaunchFailure`` with the command line, exit code, stderr and the last console lines.
Shutdown escalates: guest poweroff command → QMP ``system_powerdown`` → QMP ``quit`` → SIGKILL. QEMU also gets
SIGKILL from the kernel if the harness process dies (``PR_SET_PDEATHSIG``; strictly, when the thread that
launched it ends, so launch a Machine from a thread that outlives it), and at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import dataclasses
import enum
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness.errors import HostError, VMError, VMLaunchFailure
from harness.steps import note, step
from harness.util.text import one_line
from harness.vm import accel as accelerators
from harness.vm.cmdline import NETDEV_ID, RunPaths, build_command
from harness.vm.console import Console
from harness.vm.guest import DeathStrings, GuestAdapter
from harness.vm.profile import VMProfile
from harness.vm.qmp import QMP
from harness.vm.sockdir import make_socket_dir
from harness.vm.ssh import SSHKey, SSHSession
from harness.vm.stream import SocketStream

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9
#: Migration bandwidth for saving a state to a file (QEMU 7.2's default is 32 MiB/s, made for live networks).
_SAVE_BANDWIDTH = 16 << 30
#: The QMP name of the file descriptor a state is saved through.
_SAVE_FD_NAME = "harness-vmstate"


@dataclass(frozen=True)
class Disk:
    """A disk image. With ``overlay`` the base is never written: the VM gets a per-run qcow2 overlay on it."""

    base: Path
    format: str = "qcow2"
    overlay: bool = True


@dataclass(frozen=True)
class BootSpec:
    """What to boot: a kernel (+initrd, command line) directly, or disks through firmware."""

    kernel: Path | None = None
    initrd: Path | None = None
    append: str = ""
    disks: tuple[Disk, ...] = ()
    extra_args: tuple[str, ...] = ()


class ShutdownHow(enum.Enum):
    ALREADY_EXITED = "already exited"
    GUEST_POWEROFF = "guest poweroff"
    POWERDOWN = "QMP system_powerdown"
    QUIT = "QMP quit"
    KILL = "SIGKILL"


def _die_with_parent_hook() -> Callable[[], None]:
    """A preexec_fn asking the kernel to SIGKILL QEMU when the thread that started it dies (Linux).

    libc is loaded here, in the parent: loading it between fork and exec could deadlock on the loader lock.
    """
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:  # pragma: no cover - runs in the child between fork and exec
        libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL)

    return hook


class Machine:
    def __init__(
        self,
        profile: VMProfile,
        boot: BootSpec,
        run_dir: Path,
        *,
        death: DeathStrings | None = None,
        poweroff_command: str | None = None,
        console_pace: float = 0.0,
        accel: str | None = None,
        ssh_guest_port: int | None = 22,
        forward_ssh_at_launch: bool = True,
        launch_timeout: float = 30.0,
        name: str = "vm",
        incoming: Path | None = None,
        incoming_timeout: float = 300.0,
    ) -> None:
        self.profile = profile
        self.boot = boot
        self.run_dir = run_dir
        self.death = death or DeathStrings()
        self.poweroff_command = poweroff_command
        self.console_pace = console_pace
        self.forced_accel = accel
        self.ssh_guest_port = ssh_guest_port
        #: False: no host port reaches the guest's sshd until ``open_ssh_forward`` (after the guest is configured).
        self.forward_ssh_at_launch = forward_ssh_at_launch
        self.launch_timeout = launch_timeout
        self.name = name
        self.incoming = incoming
        self.incoming_timeout = incoming_timeout
        self.command: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None
        self.accel: accelerators.AccelChoice | None = None
        self.ssh_port: int | None = None
        self.qmp = QMP(Path("/nonexistent"))
        self._console: Console | None = None
        self._sockdir: Path | None = None
        self._stderr_path = run_dir / f"{name}.qemu.stderr"
        #: Monotonic times: launch began, QEMU was started, its QMP answered, it was ready (a saved state loaded).
        self.launch_started = 0.0
        self.launched_at = 0.0
        self.connected_at = 0.0
        self.ready_at = 0.0
        self.paths: RunPaths | None = None
        self._finished = False
        self.shutdown_how: ShutdownHow | None = None

    @classmethod
    def for_guest(
        cls,
        adapter: GuestAdapter,
        profile: VMProfile,
        boot: BootSpec,
        run_dir: Path,
        *,
        name: str,
        accel: str | None = None,
        forward_ssh_at_launch: bool = True,
        incoming: Path | None = None,
        incoming_timeout: float = 300.0,
    ) -> Machine:
        """The one way to build a Machine for a guest: its death strings, power-off command and console pace come
        from the guest's adapter (the guest contract, ``harness.vm.guest``). ``forward_ssh_at_launch=False``: no
        host port reaches the guest's sshd until ``open_ssh_forward`` (a guest whose stock sshd is unsafe).
        ``incoming``: a saved VM state to restore instead of booting (``harness.vm.snapshot``)."""
        return cls(
            profile,
            boot,
            run_dir,
            death=adapter.death_strings,
            poweroff_command=adapter.poweroff_command,
            console_pace=adapter.input_pace,
            accel=accel,
            name=name,
            forward_ssh_at_launch=forward_ssh_at_launch,
            incoming=incoming,
            incoming_timeout=incoming_timeout,
        )

    # --- context manager ---------------------------------------------------------------------------------------

    def __enter__(self) -> Machine:
        self.launch()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is None or self._finished:
            return
        if exc_type is None:
            self.shutdown(self.poweroff_command)
        else:
            # An error or an interrupt: do not wait on a guest that may be dead; quit, then kill.
            self.shutdown(None, powerdown_timeout=0, quit_timeout=5)

    @property
    def console(self) -> Console:
        if self._console is None:
            raise VMError(f"{self.name}: not launched")
        return self._console

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- launch --------------------------------------------------------------------------------------------------

    def launch(self) -> None:
        self.launch_started = time.monotonic()
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Unix socket paths are limited to 108 bytes, so sockets live in a short private temp dir.
        self._sockdir = make_socket_dir()
        paths = RunPaths(
            serial=self._sockdir / "serial.sock",
            qmp=self._sockdir / "qmp.sock",
            firmware_vars=self.run_dir / f"{self.name}.efivars.fd",
            disks=tuple(self.run_dir / f"{self.name}.disk{i}.qcow2" for i in range(len(self.boot.disks))),
        )
        try:
            with step("launch qemu", vm=self.name, profile=self.profile.name):
                try:
                    self._launch(paths)
                except VMError as exc:
                    # QEMU may have died mid-launch (e.g. firmware it cannot open): report that, not the symptom.
                    if not isinstance(exc, VMLaunchFailure) and (code := self.wait_exit(2.0)) is not None:
                        raise self._launch_failure(f"QEMU exited with code {code} during launch", code) from exc
                    raise
        except BaseException:
            self._cleanup(kill=True)
            raise

    def _launch(self, paths: RunPaths) -> None:
        self.accel = accelerators.choose(
            self.profile.qemu, self.profile.arch, self.profile.accelerators, forced=self.forced_accel
        )
        firmware = self.profile.firmware.resolve() if self.profile.firmware else None
        if firmware:
            shutil.copyfile(firmware[1], paths.firmware_vars)
        self._make_overlays(paths)
        forwarded = self.ssh_guest_port if self.forward_ssh_at_launch else None
        if shutil.which(self.profile.qemu) is None:
            raise HostError(f"{self.profile.qemu} not found", hint=f"install QEMU for {self.profile.arch}")
        try:
            incoming_fd = os.open(self.incoming, os.O_RDONLY | os.O_CLOEXEC) if self.incoming else None
        except OSError as exc:
            raise VMError(f"cannot open the saved VM state {self.incoming}: {exc.strerror}") from exc
        try:
            paths = dataclasses.replace(paths, incoming_fd=incoming_fd)
            self.paths = paths
            self.command = build_command(self.profile, self.boot, paths, self.accel.accel, firmware, forwarded)
            (self.run_dir / f"{self.name}.cmdline").write_text(" ".join(self.command) + "\n")
            with self._stderr_path.open("wb") as stderr:
                self.process = subprocess.Popen(
                    self.command,
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent_hook(),
                    pass_fds=() if incoming_fd is None else (incoming_fd,),
                )
        finally:
            if incoming_fd is not None:
                os.close(incoming_fd)  # QEMU has its own copy
        self.launched_at = time.monotonic()
        atexit.register(self.kill)
        sock = self._connect_serial(paths.serial)
        self._console = Console(
            SocketStream(sock),
            death=self.death,
            log_dir=self.run_dir,
            pace=self.console_pace,
            name=f"{self.name}.console",
        )
        self.qmp = QMP(paths.qmp)
        self._await_socket(paths.qmp, "QMP socket")
        self.qmp.connect()
        self.connected_at = time.monotonic()
        if forwarded is not None:
            self.ssh_port = self.qmp.host_forward_port(forwarded)
        if self.incoming is not None:
            self._await_incoming()
        self.ready_at = time.monotonic()
        note("qemu", f"pid {self.process.pid}, accel {self.accel.accel}, ssh port {self.ssh_port}", vm=self.name)

    def _await_incoming(self) -> None:
        """Wait until QEMU has loaded the saved state, then run the guest (it was saved stopped, so stays paused)."""
        deadline = time.monotonic() + self.incoming_timeout
        while True:
            self._raise_if_exited("while loading the saved VM state")
            status = str((self.qmp.command("query-status") or {}).get("status", ""))
            if status != "inmigrate":
                break
            if time.monotonic() > deadline:
                raise self._launch_failure(
                    f"QEMU did not load the saved state within {self.incoming_timeout:.0f} s", None
                )
            time.sleep(0.02)
        if status in ("paused", "postmigrate", "prelaunch"):
            self.qmp.command("cont")
        elif status != "running":
            raise self._launch_failure(f"QEMU is {status!r} after loading the saved state", None)

    def _make_overlays(self, paths: RunPaths) -> None:
        for disk, overlay in zip(self.boot.disks, paths.disks, strict=True):
            if not disk.overlay:
                continue
            if not disk.base.is_file():
                raise HostError(f"disk image {disk.base} does not exist")
            proc = subprocess.run(
                [
                    "qemu-img",
                    "create",
                    "-q",
                    "-f",
                    "qcow2",
                    "-F",
                    disk.format,
                    "-b",
                    str(disk.base.resolve()),
                    str(overlay),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise VMError(f"qemu-img could not create an overlay on {disk.base}: {proc.stderr.strip()}")

    def _await_socket(self, path: Path, what: str) -> None:
        deadline = time.monotonic() + self.launch_timeout
        while not path.exists():
            self._raise_if_exited(f"before its {what} appeared")
            if time.monotonic() > deadline:
                raise self._launch_failure(f"QEMU did not create its {what} within {self.launch_timeout:.0f} s", None)
            time.sleep(0.01)

    def _connect_serial(self, path: Path) -> socket.socket:
        self._await_socket(path, "serial socket")
        deadline = time.monotonic() + self.launch_timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(path))
                return sock
            except OSError as exc:
                sock.close()
                self._raise_if_exited("while the serial console connected")
                # The socket file exists a moment before QEMU listens on it.
                if time.monotonic() > deadline:
                    raise VMError(f"cannot connect to QEMU's serial socket {path}: {exc}") from exc
                time.sleep(0.01)

    def _raise_if_exited(self, when: str) -> None:
        if self.process is not None and (code := self.process.poll()) is not None:
            raise self._launch_failure(f"QEMU exited with code {code} {when}", code)

    def _launch_failure(self, what: str, code: int | None) -> VMLaunchFailure:
        stderr = self.stderr_text()
        last_err = [line for line in stderr.splitlines() if line.strip()][-2:]
        lines = self._console.last_lines(5) if self._console else []
        shown = " | ".join(line.strip() for line in lines if line.strip())
        console = shown or "(none: the console printed nothing)"
        # QEMU's stderr can echo what the guest wrote (and is anything a broken QEMU prints): data, escaped.
        message = one_line(f"{what}: {' / '.join(last_err) or 'no stderr'}; last console lines: {console}")
        return VMLaunchFailure(
            message,
            command=list(self.command),
            exitcode=code,
            stderr=stderr,
            hint=f"command line in {self.run_dir / (self.name + '.cmdline')}",
        )

    def stderr_text(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    # --- use -----------------------------------------------------------------------------------------------------

    def open_ssh_forward(self) -> int:
        """Add the loopback forward to the guest's sshd now (``hostfwd_add``; QEMU picks the host port) and return
        the port. A stock image's sshd may accept root with an empty password until the harness has configured it,
        and every local user can reach 127.0.0.1, so such a guest is launched without the forward."""
        if self.ssh_port is not None:
            return self.ssh_port
        if self.ssh_guest_port is None:
            raise VMError(f"{self.name}: launched without an SSH guest port")
        answer = self.qmp.hmp(f"hostfwd_add {NETDEV_ID} tcp:127.0.0.1:0-:{self.ssh_guest_port}").strip()
        if answer:  # HMP says nothing on success
            raise VMError(f"{self.name}: QEMU refused the SSH forward: {' '.join(answer.split())[:200]}")
        self.ssh_port = self.qmp.host_forward_port(self.ssh_guest_port)
        note("qemu", f"ssh port {self.ssh_port} forwarded", vm=self.name)
        return self.ssh_port

    def ssh(self, key: SSHKey, user: str = "root", timeout: float = 120.0) -> SSHSession:
        """A connected SSH session; a crash seen on the console aborts its running command."""
        if self.ssh_port is None:
            raise VMError(f"{self.name}: no SSH port forwarded")
        session = SSHSession("127.0.0.1", self.ssh_port, user, key, alive=self._stop_reason)
        session.connect(timeout)
        console = self.console
        console.on_crash(lambda crash: session.abort(console.crash_error))
        return session

    def _stop_reason(self) -> BaseException | None:
        if self.process is not None and (code := self.process.poll()) is not None:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            return VMError(f"{self.name}: QEMU {how}, the guest is gone", hint=f"see {self._stderr_path}")
        return self.console.crash_error(settle=False)

    def inject_nmi(self) -> None:
        self.qmp.command("inject-nmi")

    def writable_disks(self) -> tuple[Path, ...]:
        """The disk files this VM writes: its per-run overlays, or the images it was given to write."""
        if self.paths is None:
            raise VMError(f"{self.name}: not launched")
        return tuple(
            overlay if disk.overlay else disk.base
            for disk, overlay in zip(self.boot.disks, self.paths.disks, strict=True)
        )

    def save_state(self, path: Path, timeout: float = 300.0) -> int:
        """Stop the guest and save its whole state (RAM, devices) to ``path``; returns its size in bytes.

        The guest stays stopped, so its disks hold exactly the saved moment until ``resume``. A QEMU migration
        to a file descriptor: it needs nothing from the disks (unlike ``savevm``), so a guest without disks (the
        initramfs test guest) and one with a raw UEFI vars pflash save alike, on both arches.
        """
        self.qmp.command("stop")
        self.qmp.command("migrate-set-parameters", **{"max-bandwidth": _SAVE_BANDWIDTH})
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            self.qmp.send_fd(_SAVE_FD_NAME, fd)
            self.qmp.command("migrate", uri=f"fd:{_SAVE_FD_NAME}")
        finally:
            os.close(fd)
        deadline = time.monotonic() + timeout
        while True:
            info = self.qmp.command("query-migrate") or {}
            status = str(info.get("status", ""))
            if status == "completed":
                return path.stat().st_size
            if status in ("failed", "cancelled"):
                raise VMError(f"{self.name}: saving the VM state failed: {info.get('error-desc', status)}")
            if time.monotonic() > deadline or not self.running:
                with contextlib.suppress(VMError):
                    self.qmp.command("migrate_cancel")
                raise VMError(f"{self.name}: saving the VM state did not finish within {timeout:.0f} s ({status})")
            time.sleep(0.02)

    def resume(self) -> None:
        """Run the guest again after ``save_state``."""
        self.qmp.command("cont")

    def wait_exit(self, timeout: float) -> int | None:
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return None

    # --- shutdown ------------------------------------------------------------------------------------------------

    def shutdown(
        self,
        poweroff_command: str | None = None,
        *,
        guest_timeout: float = 30.0,
        powerdown_timeout: float = 20.0,
        quit_timeout: float = 10.0,
    ) -> ShutdownHow:
        """Stop QEMU, politely first. Always returns with QEMU gone and sockets closed."""
        try:
            with step("shutdown", vm=self.name):
                how = self._escalate(poweroff_command, guest_timeout, powerdown_timeout, quit_timeout)
                note("shutdown", how.value, vm=self.name)
                self.shutdown_how = how
                return how
        finally:
            self._cleanup(kill=True)
            self._finished = True

    def _escalate(
        self, poweroff: str | None, guest_timeout: float, powerdown_timeout: float, quit_timeout: float
    ) -> ShutdownHow:
        if not self.running:
            return ShutdownHow.ALREADY_EXITED
        crashed = self._console is not None and bool(self._console.watcher.history)
        if poweroff and not crashed and self._console is not None and self._console.prompt:
            with contextlib.suppress(OSError):
                self._console.sendline(poweroff)
                if self.wait_exit(guest_timeout) is not None:
                    return ShutdownHow.GUEST_POWEROFF
        powerdown = powerdown_timeout > 0 and not crashed and self._qmp_quietly("system_powerdown")
        if powerdown and self.wait_exit(powerdown_timeout) is not None:
            return ShutdownHow.POWERDOWN
        if self._qmp_quietly("quit") and self.wait_exit(quit_timeout) is not None:
            return ShutdownHow.QUIT
        self.kill()
        return ShutdownHow.KILL

    def _qmp_quietly(self, command: str) -> bool:
        if not self.qmp.connected:
            return False
        try:
            self.qmp.command(command)
        except VMError:
            return False
        return True

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)

    def _cleanup(self, *, kill: bool) -> None:
        if kill:
            self.kill()
        atexit.unregister(self.kill)
        self.qmp.close()
        if self._console is not None:
            self._console.close()
        if self._sockdir is not None:
            shutil.rmtree(self._sockdir, ignore_errors=True)
            self._sockdir = None
