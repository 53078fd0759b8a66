"""Debian-kernel test guests on amd64 and arm64: boot → console → SSH + SFTP → panic during SSH → shutdown.

One guest per arch is shared by the tests of this module, in order; the panic test ends it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import KernelPanic
from harness.guests.linuxtest.boot import BootedGuest, booted
from harness.vm.machine import ShutdownHow

if TYPE_CHECKING:
    from conftest import QemuRegistry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["amd64", "arm64"])
def guest(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, qemu_registry: QemuRegistry
) -> Iterator[BootedGuest]:
    arch = request.param
    with booted(arch, tmp_path_factory.mktemp(f"flow-{arch}")) as g:
        pid = g.vm.process.pid if g.vm.process else None
        qemu_registry.share(pid)
        try:
            yield g
        finally:
            qemu_registry.unshare(pid)
    assert pid not in qemu_registry.ours()


def test_console_command_output_and_status(guest: BootedGuest) -> None:
    ok = guest.vm.console.run("uname -m; cat /proc/cmdline")
    assert ok.status == 0
    machine, cmdline = ok.output.splitlines()[:2]
    assert machine == {"amd64": "x86_64", "arm64": "aarch64"}[guest.guest.arch]
    assert f"console={guest.guest.console_tty}" in cmdline
    failed = guest.vm.console.run("ls /no/such/path")
    assert failed.status != 0
    assert "No such file" in failed.output


def test_ssh_command_and_sftp_round_trip(guest: BootedGuest, tmp_path: Path) -> None:
    ssh = guest.ssh()
    result = ssh.run("id -u; echo to-stderr >&2; exit 7")
    assert (result.output.strip(), result.stderr.strip(), result.status) == ("0", "to-stderr", 7)
    blob = os.urandom(512 * 1024)
    (tmp_path / "up").write_bytes(blob)
    ssh.put(tmp_path / "up", "/tmp/blob")
    remote = ssh.run("sha256sum /tmp/blob", check=True).output.split()[0]
    assert remote == hashlib.sha256(blob).hexdigest()
    # The way back carries a file the guest made from the upload: equal content proves both directions.
    ssh.run("gzip -c /tmp/blob > /tmp/blob.gz", check=True)
    ssh.get("/tmp/blob.gz", tmp_path / "down.gz")
    assert gzip.decompress((tmp_path / "down.gz").read_bytes()) == blob


def test_panic_during_ssh_command_is_detected_and_aborts_it(guest: BootedGuest) -> None:
    ssh = guest.ssh()
    console = guest.vm.console
    ssh.run("true", check=True)
    # The panic comes from the console while SSH waits on a command that would run for 120 s.
    panic_sent = threading.Event()

    def induce_panic() -> None:
        time.sleep(1.0)
        console.sendline("echo c > /proc/sysrq-trigger")
        panic_sent.set()

    threading.Thread(target=induce_panic, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(KernelPanic) as caught:
        ssh.run("sleep 120", timeout=150)
    aborted_after = time.monotonic() - started
    assert panic_sent.is_set()
    assert aborted_after < 1.0 + 5.0, f"SSH command aborted only after {aborted_after:.1f} s"
    crash = caught.value
    assert "Kernel panic - not syncing: sysrq triggered crash" in crash.message
    excerpt = "\n".join(crash.excerpt)
    assert "sysrq: Trigger a crash" in excerpt
    assert "Call trace" in excerpt or "Call Trace" in excerpt
    assert crash.exit_code == 3
    # A crashed guest is not asked to power off: the harness quits QEMU.
    assert guest.vm.shutdown(guest.adapter.poweroff_command) in {ShutdownHow.QUIT, ShutdownHow.KILL}
    assert not guest.vm.running
