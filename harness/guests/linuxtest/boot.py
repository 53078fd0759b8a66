"""Boot the Linux test guest: build (or reuse) it, make a run key, launch the VM, log in on the console.

Used by ``harness selftest``, the integration tests and the boot benchmark.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.guests.linuxtest import builder
from harness.guests.linuxtest.adapter import LinuxTestGuest
from harness.vm import profile as profiles
from harness.vm.debugger import Debugger
from harness.vm.machine import BootSpec, Machine
from harness.vm.profile import VMProfile
from harness.vm.ssh import SSHKey, SSHSession


@dataclass
class BootedGuest:
    vm: Machine
    adapter: LinuxTestGuest
    key: SSHKey
    guest: builder.TestGuest
    sessions: list[SSHSession] = field(default_factory=list)

    def ssh(self, timeout: float = 60.0) -> SSHSession:
        session = self.vm.ssh(self.key, self.adapter.credentials.user, timeout)
        self.sessions.append(session)
        return session

    def debugger(self) -> Debugger:
        nmi = self.vm.inject_nmi if self.guest.arch == "amd64" else None
        return Debugger(self.vm.console, self.adapter.debugger, arch=self.guest.arch, nmi=nmi)


def machine_for(
    arch: str,
    run_dir: Path,
    *,
    kdb: bool = False,
    profile: VMProfile | None = None,
    append: str = "",
    extra_args: tuple[str, ...] = (),
) -> tuple[Machine, LinuxTestGuest, SSHKey, builder.TestGuest]:
    """An unlaunched Machine for the test guest (its initramfs carries this run's public key)."""
    guest = builder.ensure(arch, kdb=kdb)
    adapter = LinuxTestGuest()
    key = SSHKey.generate(run_dir / "ssh")
    initrd = guest.initramfs_with_key(key.public_line, run_dir / "initramfs-run.cpio.gz")
    boot = BootSpec(
        kernel=guest.kernel,
        initrd=initrd,
        append=" ".join(p for p in (guest.append, append) if p),
        extra_args=extra_args,
    )
    vm = Machine.for_guest(
        adapter, profile or profiles.load(f"linuxtest-{arch}"), boot, run_dir, name=f"linuxtest-{arch}"
    )
    return vm, adapter, key, guest


@contextlib.contextmanager
def booted(
    arch: str,
    run_dir: Path,
    *,
    kdb: bool = False,
    profile: VMProfile | None = None,
    append: str = "",
    login_timeout: float = 180.0,
    extra_args: tuple[str, ...] = (),
) -> Iterator[BootedGuest]:
    """The test guest up to its shell prompt; shut down (or killed) on leaving, whatever happened."""
    vm, adapter, key, guest = machine_for(arch, run_dir, kdb=kdb, profile=profile, append=append, extra_args=extra_args)
    booted_guest = BootedGuest(vm, adapter, key, guest)
    with vm:
        try:
            adapter.login(vm.console, login_timeout)
            yield booted_guest
        finally:
            for session in booted_guest.sessions:
                session.close()
