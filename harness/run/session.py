"""Boot a guest for a run and hand back a live session: the Machine (QEMU, console), SSH, the adapter.

One context manager per guest kind (``harness.run.kinds``: what its ``prepare`` returns opens it); each shuts
the VM down on every exit path (the Machine owns QEMU). With
``keep_vm`` the VM stays up after the workloads until the user presses Ctrl-C, with the SSH command printed.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.run.profiles import GuestProfile
from harness.run.rundir import RunDir
from harness.steps import step
from harness.vm import profile as vm_profiles
from harness.vm.guest import GuestAdapter
from harness.vm.machine import BootSpec, Machine
from harness.vm.ssh import SSHKey, SSHSession

if TYPE_CHECKING:
    from harness.run.kinds.base import PreparedGuest
    from harness.run.request import RunRequest

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


@contextlib.contextmanager
def linuxtest(
    run: RunDir, profile: GuestProfile, arch: str, *, keep_vm: bool = False, kdb: bool = False
) -> Iterator[GuestSession]:
    """The Debian-built test guest; with ``kdb`` the self-built kernel with Linux kdb (for ``--ddb``)."""
    from harness.guests.linuxtest import builder
    from harness.guests.linuxtest.adapter import LinuxTestGuest

    guest = builder.ensure(arch, kdb=kdb)
    adapter = LinuxTestGuest()
    vm_dir = run.path / "vm"
    key = SSHKey.generate(vm_dir / "keys")
    initrd = guest.initramfs_with_key(key.public_line, vm_dir / "initramfs.cpio.gz")
    boot = BootSpec(kernel=guest.kernel, initrd=initrd, append=guest.append)
    machine = Machine.for_guest(adapter, vm_profiles.load(f"linuxtest-{arch}"), boot, run.path, name=MACHINE_NAME)
    with machine:
        with step("boot", guest="linuxtest", arch=arch):
            adapter.login(machine.console, profile.boot_timeout)
        with machine.ssh(key, timeout=profile.boot_timeout) as ssh:
            uname = ssh.run("uname -a").output.strip()
            facts = {"arch": arch, "uname": uname, "guest_key": guest.key, "kdb": guest.kdb}
            yield GuestSession(machine, ssh, adapter, profile, key, facts)
            if keep_vm:
                hold_for_user(machine, key)
        (vm_dir / "initramfs.cpio.gz").unlink(missing_ok=True)  # a per-run copy of the cached guest


@contextlib.contextmanager
def open_session(
    run: RunDir, profile: GuestProfile, request: RunRequest, prepared: PreparedGuest
) -> Iterator[GuestSession]:
    """The session of the guest ``prepared`` (what the guest kind's ``prepare`` made ready) for this run."""
    with prepared.session(run, profile, request) as session:
        yield session
