"""``booted()``'s orchestration (login → first boot → SSH → optional nextboot → DDB → fingerprint) with the
QEMU side replaced by the pty peer that answers as the FreeBSD console does; SSH commands go to the same peer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from harness.guests.freebsd import boot as boot_module
from harness.guests.freebsd.kernel import load_build
from harness.images import load_manifests, select
from harness.images.store import BaseImage
from harness.vm.console import CommandResult, Console
from harness.vm.stream import FdStream
from tests.support.freebsd_peer import FakeSftp, FreeBSDConsolePeer, GuestState, Transcripts, load_transcripts


class PeerSSH:
    """SSH stand-in: commands run on the peer's shell (through the console), files land in its state."""

    def __init__(self, console: Console, state: GuestState) -> None:
        self.console = console
        self.sftp = FakeSftp(state)
        self.closed = False

    def run(self, command: str, timeout: float = 60.0) -> CommandResult:
        assert not self.closed, "a closed SSH session was used"
        return self.console.run(command, timeout=timeout)

    def put(self, local: Path, remote: str) -> None:
        self.sftp.put(local, remote)

    def close(self) -> None:
        self.closed = True


class PeerMachine:
    """Machine stand-in: the console is a pty whose far end is the FreeBSD console peer."""

    instances: list[PeerMachine] = []  # noqa: RUF012 - test bookkeeping
    text: Transcripts
    state: GuestState

    def __init__(self, profile: Any, spec: Any, run_dir: Path, **kwargs: Any) -> None:
        self.profile, self.spec, self.run_dir, self.kwargs = profile, spec, run_dir, kwargs
        self.accel = None
        self.ssh_port: int | None = 2222 if kwargs.get("forward_ssh_at_launch", True) else None
        self.sshd_running_when_forwarded: bool | None = None
        self.sessions: list[PeerSSH] = []
        PeerMachine.instances.append(self)

    @classmethod
    def for_guest(cls, adapter: Any, profile: Any, spec: Any, run_dir: Path, **kwargs: Any) -> PeerMachine:
        return cls(profile, spec, run_dir, death=adapter.death_strings, **kwargs)

    def __enter__(self) -> PeerMachine:
        master, self.slave = os.openpty()
        self.peer = FreeBSDConsolePeer(self.slave, self.text, self.state, resizewin=True)
        self.peer.start()
        self.console = Console(FdStream(master), death=self.kwargs["death"], log_dir=self.run_dir, timeout=30)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.peer.stopped.set()
        self.console.close()
        self.peer.join(5)
        os.close(self.slave)

    def open_ssh_forward(self) -> int:
        # S2: the forward appears only once sshd runs with the harness's configuration.
        self.sshd_running_when_forwarded = self.state.sshd_running
        self.ssh_port = 2222
        return self.ssh_port

    def ssh(self, key: Any, timeout: float = 120.0) -> PeerSSH:
        assert self.ssh_port is not None, "SSH before the forward was opened"
        session = PeerSSH(self.console, self.state)
        self.sessions.append(session)
        return session


@pytest.fixture
def world(freebsd_fixtures: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[GuestState]:
    text = load_transcripts(freebsd_fixtures)
    state = GuestState(dict(text.sysctl), text.uname_a, nm_symbols=("kstacks", "kstack_cache_size", "vm_thread_swapin"))
    PeerMachine.text, PeerMachine.state, PeerMachine.instances = text, state, []
    monkeypatch.setattr(boot_module, "Machine", PeerMachine)
    yield state


def _base(tmp_path: Path) -> BaseImage:
    manifest = select("12", "amd64", load_manifests())
    raw = tmp_path / "base.raw"
    raw.write_bytes(bytes(1 << 20))
    return BaseImage(manifest, raw, "raw")


@pytest.mark.skipif(not Path("/usr/bin/qemu-img").exists(), reason="qemu-img (qemu-utils) not installed")
def test_stock_boot_configures_reports_no_ddb_and_fingerprints(world: GuestState, tmp_path: Path) -> None:
    base = _base(tmp_path)
    with boot_module.booted(base.manifest, base, tmp_path / "run", disk_size="64M") as guest:
        result = guest.result
        machine = PeerMachine.instances[0]
        disk = machine.spec.disks[0]
        assert disk.base == tmp_path / "run" / "disk.qcow2" and disk.overlay is False
        assert machine.profile.firmware is not None, "12.4 amd64 (plain image) boots through OVMF"
        assert result.first_boot_configured and world.sshd_running
        assert machine.kwargs["forward_ssh_at_launch"] is False and machine.sshd_running_when_forwarded
        assert (result.kernel.bootfile, result.kernel.ident) == ("/boot/kernel/kernel", "GENERIC")
        assert result.ddb_available == () and not result.ddb_ready
        assert (result.generation, result.generation_reason) == ("G0-list", "kstack_object absent, kstacks present")
        assert guest.key.public_line.startswith("ssh-ed25519 ")
    assert all(s.closed for s in machine.sessions)


@pytest.mark.skipif(not Path("/usr/bin/qemu-img").exists(), reason="qemu-img (qemu-utils) not installed")
def test_boot_with_a_kernel_goes_through_nextboot_and_sets_up_ddb(world: GuestState, tmp_path: Path) -> None:
    kernel_dir = tmp_path / "kernel"
    kernel_dir.mkdir()
    (kernel_dir / "kernel").write_bytes(b"\x7fELF\x00FreeBSD 12.4-RELEASE KSTACKTEST\n\x00" + os.urandom(64))
    (kernel_dir / "metadata.json").write_text('{"ident": "KSTACKTEST"}')
    build = load_build(kernel_dir, name="testk")
    world.kernels["testk"] = (
        "/boot/testk/kernel",
        "KSTACKTEST",
        "FreeBSD freebsd 12.4-RELEASE FreeBSD 12.4-RELEASE KSTACKTEST amd64",
    )
    world.sysctl["debug.kdb.available"] = "ddb"
    base = _base(tmp_path)
    with boot_module.booted(base.manifest, base, tmp_path / "run", kernel=build, disk_size="64M") as guest:
        machine = PeerMachine.instances[0]
        assert guest.result.kernel.bootfile == "/boot/testk/kernel" and guest.result.kernel.ident == "KSTACKTEST"
        assert guest.result.ddb_ready and world.sysctl["debug.debugger_on_panic"] == "1"
        assert world.boots == 2
        assert machine.sessions[0].closed, "the SSH session is closed before the reboot"
        assert len(machine.sessions) == 2 and guest.ssh is machine.sessions[1]


@pytest.mark.skipif(not Path("/usr/bin/qemu-img").exists(), reason="qemu-img (qemu-utils) not installed")
def test_a_failed_fingerprint_does_not_fail_the_boot(world: GuestState, tmp_path: Path) -> None:
    world.nm_symbols = ("kstack_object",)  # G1 by symbols, but the 12.1 sysctls have vm.kstacks: a conflict
    base = _base(tmp_path)
    with boot_module.booted(base.manifest, base, tmp_path / "run", disk_size="64M") as guest:
        assert guest.result.generation is None
        assert "symbols say G1" in guest.result.generation_reason
