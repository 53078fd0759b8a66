"""The generic debugger driver on a real Linux kdb (self-built kernel), and the watcher around it.

Per arch one kdb guest is shared in order: debugger session → SSH again → unexpected debugger entry → panic
during SSH (which ends the guest).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import KernelPanic, UnexpectedDebugger
from harness.guests.linuxtest.boot import BootedGuest, booted
from harness.vm.guest import EntryKind, EntryMethod
from tests.support.kdb import kdb_arches

if TYPE_CHECKING:
    from conftest import QemuRegistry

pytestmark = [pytest.mark.integration, pytest.mark.kdb]


@pytest.fixture(scope="module", params=kdb_arches())
def kdb_guest(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, qemu_registry: QemuRegistry
) -> Iterator[BootedGuest]:
    arch = request.param
    with booted(arch, tmp_path_factory.mktemp(f"kdb-{arch}"), kdb=True) as g:
        pid = g.vm.process.pid if g.vm.process else None
        qemu_registry.share(pid)
        try:
            yield g
        finally:
            qemu_registry.unshare(pid)
    assert pid not in qemu_registry.ours()


def test_debugger_three_commands_captured_then_resumed(kdb_guest: BootedGuest) -> None:
    ssh = kdb_guest.ssh()
    assert ssh.run("echo before").output.strip() == "before"
    db = kdb_guest.debugger()
    banner = db.enter()
    assert "Entering kdb" in banner
    bt = db.command("bt")
    ps = db.command("ps")
    summary = db.command("summary")
    db.resume()
    # bt of the shell that wrote to sysrq-trigger; long enough to stop at the pager, which was answered.
    assert bt.output.startswith("Stack traceback for pid")
    assert "Call Trace" in bt.output or "Call trace" in bt.output
    assert bt.pages >= 2
    assert "more>" not in bt.output.splitlines()[-1]
    assert "Task Addr" in ps.output and " dropbear" in ps.output
    machine = {"amd64": "x86_64", "arm64": "aarch64"}[kdb_guest.guest.arch]
    assert f"machine    {machine}" in summary.output
    assert "kdb>" not in summary.output
    # The kernel runs again: console and SSH both answer.
    assert kdb_guest.vm.console.run("echo alive").output == "alive"
    assert ssh.run("echo after").output.strip() == "after"
    assert kdb_guest.vm.console.crash is None


def test_unexpected_debugger_entry_is_reported(kdb_guest: BootedGuest) -> None:
    console = kdb_guest.vm.console
    console.sendline("echo g > /proc/sysrq-trigger")  # not through the driver: nobody expects kdb
    with pytest.raises(UnexpectedDebugger) as caught:
        console.expect(r"will-never-print", timeout=30)
    assert "kdb" in caught.value.message
    assert caught.value.exit_code == 3
    console.acknowledge_crash()
    console.send("go\r")
    console.expect(console.prompt or "", timeout=30)
    assert console.run("echo resumed").output == "resumed"


def test_panic_enters_kdb_and_is_reported_as_panic(kdb_guest: BootedGuest) -> None:
    ssh = kdb_guest.ssh()
    console = kdb_guest.vm.console

    def induce_panic() -> None:
        time.sleep(1.0)
        console.sendline("echo c > /proc/sysrq-trigger")

    threading.Thread(target=induce_panic, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(KernelPanic) as caught:
        ssh.run("sleep 120", timeout=150)
    assert time.monotonic() - started < 1.0 + 5.0
    assert "sysrq triggered crash" in caught.value.message
    # Panic first, then kdb: the report is the panic, and kdb's prompt follows on the console.
    console.acknowledge_crash()
    with console.expecting_debugger():
        console.expect(kdb_guest.adapter.debugger.prompt, timeout=30)


def test_kdb_log_is_timestamped(kdb_guest: BootedGuest) -> None:
    log = kdb_guest.vm.console.log
    assert log is not None
    lines = log.read_text().splitlines()
    assert lines[0].startswith("# ")
    stamped = [line for line in lines[1:] if line.startswith("[")]
    assert stamped and all(line[1:10].strip().replace(".", "").isdigit() for line in stamped[:20])


def test_qmp_nmi_reaches_the_kernel(tmp_path: Path, qemu_registry: QemuRegistry) -> None:
    """The NMI entry path (QMP inject-nmi, amd64). Linux turns an unknown NMI into a panic only with
    `unknown_nmi_panic`, and kdb then takes over: the driver reports that panic rather than a clean entry."""
    with booted("amd64", tmp_path, kdb=True, append="unknown_nmi_panic") as guest:
        db = guest.debugger()
        with pytest.raises(KernelPanic) as caught:
            db.enter(EntryMethod(EntryKind.QMP_NMI), timeout=30)
        assert "NMI: Not continuing" in caught.value.message
        assert not db.active
        # The panic report was raised when kdb's prompt had arrived: the console shows the hand-over.
        tail = "\n".join(guest.vm.console.last_lines(5))
        assert "due to NonMaskable Interrupt" in tail
        assert re.search(guest.adapter.debugger.prompt, tail)
