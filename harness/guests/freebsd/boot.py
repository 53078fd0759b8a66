"""Boot a FreeBSD image under QEMU up to a logged-in guest with SSH, optionally running a test kernel.

    with booted(manifest, base, run_dir, kernel=build) as guest:
        guest.ssh.run("uname -a"); guest.result.generation

Everything QEMU-side comes from ``harness.vm`` (Machine, Console, SSH, Debugger); this module only decides the
FreeBSD things: firmware for the image, the loader and login, first-boot configuration, nextboot, DDB, fingerprint.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import SSHError, UsageError
from harness.guests.freebsd import ddb, fingerprint, firstboot, probes
from harness.guests.freebsd.adapter import FreeBSDGuest
from harness.guests.freebsd.kernel import BootProof, KernelBuild, install_and_boot, read_proof
from harness.guests.freebsd.shell import GuestSetupError, Shell
from harness.images.manifest import ImageManifest
from harness.images.store import BaseImage, run_overlay
from harness.parse.console import STREAM_REBOOT_SEEN
from harness.steps import note, step
from harness.vm import profile as profiles
from harness.vm.console import Console
from harness.vm.machine import BootSpec, Disk, Machine
from harness.vm.ssh import SSHKey, SSHSession


@dataclass(frozen=True)
class BootResult:
    release: str
    arch: str
    accel: str
    ssh_port: int | None
    kernel: BootProof
    ddb_available: tuple[str, ...]
    ddb_ready: bool
    generation: str | None
    generation_reason: str
    first_boot_configured: bool


@dataclass
class BootedGuest:
    machine: Machine
    adapter: FreeBSDGuest
    ssh: SSHSession
    key: SSHKey
    result: BootResult


def check_serial_console(manifest: ImageManifest) -> None:
    """Refuse an image whose kernel console would not reach the serial line (review L4).

    A plain amd64 image booted through SeaBIOS sets no console in loader.conf (release/tools/vmimage.subr), so its
    loader and kernel print on VGA, and the harness's QEMU line has ``-nodefaults -display none``: no VGA at all,
    nothing on the serial line, no ``login:``. Steering the loader from the serial line cannot work when the loader
    itself is not on it, so instead of a boot that times out this is one line with the fix."""
    if manifest.firmware == "bios" and not manifest.serial_console:
        raise UsageError(
            f"the FreeBSD {manifest.release} {manifest.arch} image ({manifest.file}) boots through BIOS with its "
            "console on VGA, which the harness's VMs do not have",
            hint='set firmware = "uefi" in its manifest (the EFI loader picks the serial console) or use the '
            "BASIC-CI image (console=comconsole)",
        )


def vm_profile(manifest: ImageManifest, adapter: FreeBSDGuest) -> profiles.VMProfile:
    """The arch's FreeBSD profile, with OVMF when an amd64 image is to boot through UEFI."""
    profile = profiles.load(f"freebsd-{manifest.arch}")
    if manifest.arch == "amd64" and manifest.firmware == "uefi" and profile.firmware is None:
        fw = adapter.data.firmware
        profile = dataclasses.replace(profile, firmware=profiles.Firmware(fw.amd64_uefi_code, fw.amd64_uefi_vars))
    return profile


def reboot_console(
    console: Console, login: Callable[[Console, float], None], *, command: str, going_down: str, timeout: float
) -> Console:
    """Send the reboot command, wait for the guest to go down, log in on the new boot; returns the console.
    Guest-neutral: the Linux test guest runs it too (tests/unit/guests/test_freebsd_shared_linux.py)."""
    console.sendline(command)
    console.expect(going_down, timeout=timeout, what="the guest going down for the reboot")
    login(console, timeout)
    return console


def reboot_on_console(console: Console, adapter: FreeBSDGuest, timeout: float) -> Console:
    """Reboot FreeBSD from the serial console and log in again; returns the console (a ``Shell``) on the new boot."""
    command = adapter.data.kernel.reboot_command
    return reboot_console(console, adapter.login, command=command, going_down=STREAM_REBOOT_SEEN, timeout=timeout)


def ssh_reboot(
    machine: Machine, key: SSHKey, sessions: list[SSHSession], reboot: Callable[[], object], ssh_timeout: float
) -> Callable[[], Shell]:
    """The ``reboot`` that ``install_and_boot`` calls: close the SSH session (it dies with the guest), reboot on the
    console, open a fresh session on the same forwarded port; ``sessions[-1]`` is always the live one."""

    def reboot_and_reconnect() -> Shell:
        # The proof is read over a fresh SSH session: console output can carry kernel and syslog noise.
        sessions[-1].close()
        reboot()
        sessions.append(machine.ssh(key, timeout=ssh_timeout))
        return sessions[-1]

    return reboot_and_reconnect


def _ddb_state(shell: Shell, adapter: FreeBSDGuest) -> tuple[tuple[str, ...], bool]:
    status = ddb.kdb_status(shell)
    if not status.has_ddb:
        note(
            "ddb",
            "the running kernel has no DDB (release GENERIC kernels lack it); a kernel built with `options DDB` "
            "fixes it (harness boot --kernel DIR)",
        )
        return status.available, False
    ddb.prepare(shell, adapter.data.ddb)
    return status.available, True


def _fingerprint(shell: Shell, timeout: float) -> tuple[str | None, str]:
    """The generation, or None with the reason: a boot (e.g. a builder VM) must not fail for want of a fingerprint;
    the run that needs the generation checks for None and fails there."""
    try:
        with step("fingerprint"):
            found = fingerprint.take(shell, timeout)
    except (fingerprint.FingerprintConflict, GuestSetupError) as exc:
        note("fingerprint", exc.one_line())
        return None, exc.one_line()
    return found.generation, found.reason


def first_ssh(machine: Machine, key: SSHKey, vm: profiles.VMProfile, timeout: float, command: float) -> SSHSession:
    """The first SSH session; when it cannot be opened, ``ifconfig`` on the serial console says whether the NIC
    is the cause (review L5: harness.guests.freebsd.probes), in one line with the fix."""
    try:
        return machine.ssh(key, timeout=timeout)
    except SSHError:
        shown = machine.console.run("ifconfig", timeout=command)
        diagnosis = probes.network_diagnosis(shown.output, vm.devices.net, vm.name)
        if diagnosis is None:
            raise
        raise GuestSetupError(diagnosis) from None


@contextlib.contextmanager
def booted(
    manifest: ImageManifest,
    base: BaseImage,
    run_dir: Path,
    *,
    kernel: KernelBuild | None = None,
    accel: str | None = None,
    disk_size: str | None = None,
) -> Iterator[BootedGuest]:
    """A running, configured FreeBSD guest (QEMU stopped on exit, whatever happens)."""
    check_serial_console(manifest)
    adapter = FreeBSDGuest()
    timeouts = adapter.data.timeouts
    overlay = run_overlay(base, run_dir, disk_size)
    key = SSHKey.generate(run_dir / "ssh")
    spec = BootSpec(disks=(Disk(overlay.path, "qcow2", overlay=False),))
    # BASIC-CI images start sshd with PermitRootLogin yes + PermitEmptyPasswords yes (freebsd-facts §A.5): until
    # firstboot has put our sshd_config lines first and restarted sshd, a forward would let any local user in as
    # root. The forward is added only after that (open_ssh_forward below).
    vm = vm_profile(manifest, adapter)
    machine = Machine.for_guest(adapter, vm, spec, run_dir, accel=accel, name="freebsd", forward_ssh_at_launch=False)
    with machine:
        with step("freebsd-boot", release=manifest.release, arch=manifest.arch):
            adapter.login(machine.console, timeouts.boot)
            report = firstboot.configure(
                machine.console,
                adapter.data.firstboot,
                public_key=key.public_line,
                timeout=timeouts.command,
            )
            machine.open_ssh_forward()
        sessions = [first_ssh(machine, key, vm, timeouts.ssh, timeouts.command)]

        reboot = ssh_reboot(
            machine, key, sessions, lambda: reboot_on_console(machine.console, adapter, timeouts.reboot), timeouts.ssh
        )
        try:
            ssh = sessions[0]
            if kernel is not None:
                proof = install_and_boot(kernel, transfer=ssh, shell=ssh, reboot=reboot)
                ssh = sessions[-1]
            else:
                proof = read_proof(ssh)
            available, ready = _ddb_state(ssh, adapter)
            generation, reason = _fingerprint(ssh, timeouts.command)
            result = BootResult(
                release=manifest.release,
                arch=manifest.arch,
                accel=machine.accel.accel if machine.accel else "?",
                ssh_port=machine.ssh_port,
                kernel=proof,
                ddb_available=available,
                ddb_ready=ready,
                generation=generation,
                generation_reason=reason,
                first_boot_configured=not report.already_configured,
            )
            yield BootedGuest(machine, adapter, ssh, key, result)
        finally:
            sessions[-1].close()
