"""``harness selftest``: check the host, then prove console, SSH, SFTP, debugger and crash detection on the
Linux test guest. Each check is a row: passed, failed (with the reason), or skipped (with why)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import GuestCrashed, HarnessError, KernelPanic
from harness.guests.linuxtest import kdbkernel
from harness.guests.linuxtest.boot import BootedGuest, booted
from harness.vm import accel, profile


class CheckFailed(Exception):
    """A selftest check found the host or the guest wrong (a row that fails, not an error of the harness)."""


def _require(condition: object, reason: str) -> None:
    """The check mechanism: unlike ``assert``, it is not removed by ``python -O``."""
    if not condition:
        raise CheckFailed(reason)


@dataclass
class Check:
    name: str
    status: str  # "pass" | "fail" | "skip" | "warn"
    detail: str = ""
    seconds: float = 0.0


@dataclass
class SelftestReport:
    arch: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)


class _Runner:
    def __init__(self, report: SelftestReport) -> None:
        self.report = report

    def check(self, name: str, action: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail = action()
            status = "warn" if detail.startswith("warning: ") else "pass"
            detail = detail.removeprefix("warning: ")
        except HarnessError as exc:
            status, detail = "fail", exc.one_line()
        except (OSError, CheckFailed) as exc:
            status, detail = "fail", f"{type(exc).__name__}: {exc}"
        self.report.checks.append(Check(name, status, detail, time.monotonic() - started))
        return status != "fail"

    def skip(self, name: str, why: str) -> None:
        self.report.checks.append(Check(name, "skip", why))


def run_selftest(arch: str, kdb: str = "auto", keep_dir: Path | None = None) -> SelftestReport:
    """``kdb``: ``yes`` builds the kdb kernel if needed, ``no`` never uses it, ``auto`` uses it when cached."""
    report = SelftestReport(arch)
    runner = _Runner(report)
    vm_profile = profile.load(f"linuxtest-{arch}")
    host_ok = all(
        [
            runner.check("qemu binary", lambda: _qemu_version(vm_profile.qemu)),
            runner.check("accelerator", lambda: _accelerator(vm_profile)),
            runner.check("firmware", lambda: _firmware(vm_profile)),
            runner.check("apt + dpkg (test guest)", _apt),
        ]
    )
    if not host_ok:
        runner.skip("boot test guest", "host checks failed")
        return report
    use_kdb = kdb == "yes" or (kdb == "auto" and kdbkernel.cached(arch) is not None)
    work = keep_dir or Path(tempfile.mkdtemp(prefix="harness-selftest-"))
    try:
        _guest_checks(runner, arch, use_kdb, work)
    finally:
        if keep_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return report


def _guest_checks(runner: _Runner, arch: str, use_kdb: bool, work: Path) -> None:
    started = time.monotonic()
    try:
        with booted(arch, work / "vm", kdb=use_kdb) as guest:
            boot_time = time.monotonic() - started
            runner.report.checks.append(
                Check("boot + console login", "pass", f"{'kdb' if use_kdb else 'Debian'} kernel", boot_time)
            )
            _checks_on(runner, guest, use_kdb, work)
    except HarnessError as exc:
        runner.report.checks.append(Check("boot + console login", "fail", exc.one_line(), time.monotonic() - started))
    runner.check("no QEMU left running", _no_qemu_left)


def _checks_on(runner: _Runner, guest: BootedGuest, use_kdb: bool, work: Path) -> None:
    runner.check("console command + status", lambda: _console_status(guest))
    if not runner.check("ssh command", lambda: _ssh_command(guest)):
        return
    runner.check("sftp round trip", lambda: _sftp(guest, work))
    if use_kdb:
        runner.check("debugger (kdb)", lambda: _debugger(guest))
    else:
        runner.skip("debugger (kdb)", "no kdb kernel cached (selftest --kdb yes builds it, about 5 min)")
    runner.check("crash detection", lambda: _crash(guest))
    runner.check("shutdown", lambda: guest.vm.shutdown(guest.adapter.poweroff_command).value)


def _qemu_version(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise CheckFailed(f"{binary} not found (install qemu-system-x86 / qemu-system-arm)")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=30).stdout
    return out.splitlines()[0] if out else path


def _accelerator(vm_profile: profile.VMProfile) -> str:
    choice = accel.choose(vm_profile.qemu, vm_profile.arch, vm_profile.accelerators)
    if choice.accel == "tcg" and "kvm" in vm_profile.accelerators:
        return f"warning: TCG (KVM unusable: {choice.reason})"
    return choice.accel


def _firmware(vm_profile: profile.VMProfile) -> str:
    if vm_profile.firmware is None:
        return "none needed (direct kernel boot / SeaBIOS)"
    code, vars_template = vm_profile.firmware.resolve()
    return f"{code}, {vars_template}"


def _apt() -> str:
    missing = [tool for tool in ("apt-get", "apt-cache", "dpkg-deb") if shutil.which(tool) is None]
    _require(not missing, f"missing {', '.join(missing)}: the test guest is built from Debian packages")
    return "apt-get, dpkg-deb"


def _console_status(guest: BootedGuest) -> str:
    result = guest.vm.console.run("uname -r; false")
    _require(result.status == 1, f"`false` reported status {result.status}")
    return f"kernel {result.output.strip()}"


def _ssh_command(guest: BootedGuest) -> str:
    session = guest.ssh()
    result = session.run("exit 5")
    _require(result.status == 5, f"`exit 5` reported status {result.status}")
    return f"port {guest.vm.ssh_port}"


def _sftp(guest: BootedGuest, work: Path) -> str:
    session = guest.sessions[-1]
    blob = os.urandom(256 * 1024)
    (work / "sftp-up").write_bytes(blob)
    session.put(work / "sftp-up", "/tmp/selftest.bin")
    session.get("/tmp/selftest.bin", work / "sftp-down")
    _require((work / "sftp-down").read_bytes() == blob, "the file came back different")
    digest = session.run("sha256sum /tmp/selftest.bin").output.split()[0]
    _require(digest == hashlib.sha256(blob).hexdigest(), "the guest's sha256 differs")
    return "256 KiB put + get, sha256 equal"


def _debugger(guest: BootedGuest) -> str:
    db = guest.debugger()
    with db.session():
        outputs = [db.command(c) for c in ("bt", "ps", "summary")]
    _require(all(o.output.strip() for o in outputs), "a debugger command printed nothing")
    _require(guest.vm.console.run("true").ok, "the shell did not come back after resuming")
    _require(guest.sessions[-1].run("true").ok, "SSH did not work after resuming")
    return f"entered, {len(outputs)} commands ({sum(o.pages for o in outputs)} pages), resumed"


def _crash(guest: BootedGuest) -> str:
    console = guest.vm.console
    timer = threading.Timer(1.0, lambda: console.sendline("echo c > /proc/sysrq-trigger"))
    timer.start()
    started = time.monotonic()
    try:
        guest.sessions[-1].run("sleep 120", timeout=150)
    except KernelPanic as exc:
        waited = time.monotonic() - started - 1.0
        _require(waited < 5.0, f"SSH command aborted {waited:.1f} s after the panic")
        return f"panic seen, SSH aborted after {waited:.1f} s: {exc.title}"
    except GuestCrashed as exc:
        raise CheckFailed(f"expected a panic, got {type(exc).__name__}") from exc
    finally:
        timer.cancel()
    raise CheckFailed("the guest panicked but the SSH command was not aborted")


def _no_qemu_left() -> str:
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if "qemu-system" in text[: text.rindex(")")] and int(fields[1]) == me and fields[0] != "Z":
            raise CheckFailed(f"QEMU pid {stat.parent.name} still running")
    return "none"
