"""Boot a guest for a run and hand back a live session: the Machine (QEMU, console), SSH, the adapter.

One context manager per guest kind (``harness.run.kinds``: what its ``prepare`` returns opens it); each shuts
the VM down on every exit path (the Machine owns QEMU). With
``keep_vm`` the VM stays up after the workloads until the user presses Ctrl-C, with the SSH command printed.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.run import vmstart
from harness.run.profiles import GuestProfile
from harness.run.rundir import RunDir
from harness.steps import step
from harness.vm import accel as accelerators
from harness.vm import profile as vm_profiles
from harness.vm import snapshot as snapshots
from harness.vm.guest import GuestAdapter
from harness.vm.machine import BootSpec, Machine
from harness.vm.phases import Timeline
from harness.vm.profile import VMProfile
from harness.vm.ssh import SSHKey, SSHSession

if TYPE_CHECKING:
    from harness.run.kinds.base import PreparedGuest
    from harness.run.request import RunRequest
    from harness.workloads.catalogue import ParamValue, Workload

#: The Machine's name: its console logs are ``guest.console.log`` (time-stamped) and ``guest.console.raw``.
MACHINE_NAME = "guest"


@dataclass
class GuestSession:
    machine: Machine
    ssh: SSHSession
    adapter: GuestAdapter
    profile: GuestProfile
    key: SSHKey
    #: What the guest kind found out while booting (JSON values), recorded as ``guest_facts`` in metadata.json.
    facts: dict[str, object]
    #: Checks (and completes) a workload's parameters against this guest's limits before any workload starts:
    #: ``fit_params(workload, params) -> params``; a misfit is a one-line UsageError (FreeBSD; None elsewhere).
    fit_params: Callable[[Workload, dict[str, ParamValue]], dict[str, ParamValue]] | None = None


def hold_for_user(machine: Machine, key: SSHKey) -> None:
    """--keep-vm: leave the guest up for inspection until Ctrl-C (then the Machine shuts it down)."""
    port = machine.ssh_port
    print(
        f"harness: VM kept running; ssh -i {key.path} -p {port} -o StrictHostKeyChecking=no root@127.0.0.1 "
        "(Ctrl-C to stop it)",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        while machine.running:
            machine.wait_exit(1.0)


def linuxtest_key(
    arch: str, kernel: Path, initramfs: Path, append: str, vm_profile: VMProfile, accel: str
) -> snapshots.SnapshotKey:
    """The test guest's snapshot key: its initramfs (the image), kernel, command line and VM profile."""
    return snapshots.SnapshotKey(
        guest="linuxtest",
        arch=arch,
        image_digest=snapshots.file_digest(initramfs),
        kernel_digest=snapshots.file_digest(kernel),
        profile_digest=snapshots.profile_digest(vm_profile, accel, append),
    )


@contextlib.contextmanager
def linuxtest(
    run: RunDir,
    profile: GuestProfile,
    arch: str,
    *,
    keep_vm: bool = False,
    kdb: bool = False,
    snapshot: bool = True,
) -> Iterator[GuestSession]:
    """The Debian-built test guest; with ``kdb`` the self-built kernel with Linux kdb (for ``--ddb``). Restored
    from its VM snapshot when one matches (``harness.run.vmstart``), else booted cold and saved."""
    from harness.guests.linuxtest import builder
    from harness.guests.linuxtest.adapter import LinuxTestGuest

    guest = builder.ensure(arch, kdb=kdb)
    adapter = LinuxTestGuest()
    vm_dir = run.path / "vm"
    vm_profile = vm_profiles.load(f"linuxtest-{arch}")
    accel = accelerators.choose(vm_profile.qemu, vm_profile.arch, vm_profile.accelerators).accel

    def make_machine(boot: BootSpec, incoming: Path | None) -> Machine:
        timeout = snapshots.settings().restore_timeout
        return Machine.for_guest(
            adapter,
            vm_profile,
            boot,
            run.path,
            name=MACHINE_NAME,
            accel=accel,
            incoming=incoming,
            incoming_timeout=timeout,
        )

    chance = vmstart.lookup(
        snapshot, lambda: linuxtest_key(arch, guest.kernel, guest.initramfs, guest.append, vm_profile, accel)
    )
    with contextlib.ExitStack() as stack:
        started = None
        if chance.snapshot is not None:
            boot = BootSpec(kernel=guest.kernel, initrd=chance.snapshot.file("initrd"), append=guest.append)
            started = vmstart.restore(
                stack,
                chance.snapshot,
                boot,
                make_machine,
                hints=adapter.start_hints,
                key_dir=vm_dir / "keys",
                ssh_timeout=profile.boot_timeout,
            )
        if started is None:
            key = SSHKey.generate(vm_dir / "keys")
            initrd = guest.initramfs_with_key(key.public_line, vm_dir / "initramfs.cpio.gz")
            machine = make_machine(BootSpec(kernel=guest.kernel, initrd=initrd, append=guest.append), None)
            started = _cold_boot(stack, machine, adapter, key, profile, arch)
            started.facts = {"arch": arch, "uname": started.ssh.run("uname -a").output.strip()}
            started.facts.update(guest_key=guest.key, kdb=guest.kdb)
            vmstart.save_booted(
                chance, started, prompt=adapter.prompt, ssh_timeout=profile.boot_timeout, files={"initrd": initrd}
            )
        ssh = started.ssh
        stack.callback(lambda: started.ssh.close())
        facts = {**started.facts, "vm_start": started.record()}
        yield GuestSession(started.machine, ssh, adapter, profile, started.key, facts)
        if keep_vm:
            hold_for_user(started.machine, started.key)
    (vm_dir / "initramfs.cpio.gz").unlink(missing_ok=True)  # a per-run copy of the cached guest


def _cold_boot(
    stack: contextlib.ExitStack, machine: Machine, adapter: Any, key: SSHKey, profile: GuestProfile, arch: str
) -> vmstart.Started:
    """Launch, log in on the console, connect SSH; the phases go to steps.jsonl under ``boot``."""
    with step("boot", guest="linuxtest", arch=arch):
        stack.enter_context(machine)
        timeline = Timeline(machine.launch_started)
        timeline.mark("qemu start", machine.ready_at)
        adapter.login(machine.console, profile.boot_timeout)
        timeline.mark("login")
        ssh = machine.ssh(key, timeout=profile.boot_timeout)
        timeline.mark("ssh ready")
        timeline.console(machine.console, adapter.start_hints.boot_markers)
        timeline.emit("boot")
    return vmstart.Started(machine, ssh, key, "boot", timeline.total)


@contextlib.contextmanager
def open_session(
    run: RunDir, profile: GuestProfile, request: RunRequest, prepared: PreparedGuest
) -> Iterator[GuestSession]:
    """The session of the guest ``prepared`` (what the guest kind's ``prepare`` made ready) for this run."""
    with prepared.session(run, profile, request) as session:
        yield session
