"""No QEMU outlives the harness: exceptions, SIGTERM, SIGKILL of the harness; shutdown escalation."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.errors import VMError
from harness.guests.linuxtest.boot import booted, machine_for
from harness.vm import profile as profiles
from harness.vm.machine import BootSpec, Disk, Machine, ShutdownHow
from harness.vm.profile import NumaNode
from tests.support.signals import terminal_dispositions

pytestmark = pytest.mark.integration

# A VM with nothing to boot (SeaBIOS keeps looking for a boot device): enough to own a real QEMU process.
_HOLDER = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    from harness.cli.main import _raise_on_sigterm
    from harness.vm import profile
    from harness.vm.machine import BootSpec, Machine

    signal.signal(signal.SIGTERM, _raise_on_sigterm)  # what `harness` itself installs
    with Machine(profile.load("linuxtest-amd64"), BootSpec(), Path(sys.argv[1]), ssh_guest_port=None) as vm:
        print(vm.process.pid, flush=True)
        time.sleep(300)
    """
)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _start_holder(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    script = tmp_path / "holder.py"
    script.write_text(_HOLDER)
    # As from a terminal: SIGINT at its default, so Python turns it into KeyboardInterrupt. (A test run started in
    # the background by a non-interactive shell inherits SIGINT ignored, and the holder would never see Ctrl-C.)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=terminal_dispositions,
    )
    assert proc.stdout is not None
    qemu_pid = int(proc.stdout.readline())
    assert _alive(qemu_pid)
    return proc, qemu_pid


def _wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_the_harness_stops_qemu(tmp_path: Path, signum: int) -> None:
    proc, qemu_pid = _start_holder(tmp_path)
    try:
        proc.send_signal(signum)
        assert proc.wait(timeout=30) != 0
        assert _wait_gone(qemu_pid)
    finally:
        proc.kill()  # a failed check must not leave the holder and its QEMU running for 300 s (PDEATHSIG)
        proc.wait(timeout=10)


def test_sigkill_of_the_harness_takes_qemu_down(tmp_path: Path) -> None:
    proc, qemu_pid = _start_holder(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    assert _wait_gone(qemu_pid), "QEMU survived its parent (PR_SET_PDEATHSIG)"


def test_exception_inside_the_block_stops_qemu(tmp_path: Path) -> None:
    pid = None
    with (
        pytest.raises(RuntimeError, match="boom"),
        Machine(profiles.load("linuxtest-amd64"), BootSpec(), tmp_path, ssh_guest_port=None) as vm,
    ):
        pid = vm.process.pid if vm.process else None
        raise RuntimeError("boom")
    assert pid is not None and _wait_gone(pid, 1.0)
    assert vm.shutdown_how is ShutdownHow.QUIT


def test_graceful_poweroff_from_the_guest(tmp_path: Path) -> None:
    with booted("amd64", tmp_path) as guest:
        assert guest.vm.shutdown(guest.adapter.poweroff_command) is ShutdownHow.GUEST_POWEROFF
        assert guest.vm.process is not None and guest.vm.process.returncode == 0
        assert "reboot: Power down" in "\n".join(guest.vm.console.last_lines(10))


def test_system_powerdown_when_the_guest_command_is_not_used(tmp_path: Path) -> None:
    with booted("arm64", tmp_path) as guest:
        # No guest command: QMP system_powerdown → gpio-keys/ACPI power button → busybox acpid → poweroff.
        assert guest.vm.shutdown(None) is ShutdownHow.POWERDOWN
        assert not guest.vm.running


def test_qmp_query_status_and_kvm_report(tmp_path: Path) -> None:
    with Machine(profiles.load("linuxtest-amd64"), BootSpec(), tmp_path, ssh_guest_port=None) as vm:
        status = vm.qmp.command("query-status")
        assert status["running"] is True
        kvm = vm.qmp.command("query-kvm")
        assert kvm["enabled"] is (vm.accel is not None and vm.accel.accel == "kvm")
        assert (tmp_path / "vm.cmdline").read_text().startswith("qemu-system-x86_64 ")
        # Nothing runs in this VM that would answer the power button: straight to QMP quit.
        assert vm.shutdown(None, powerdown_timeout=0) is ShutdownHow.QUIT
    assert os.path.exists(tmp_path / "vm.console.log")


def test_disk_overlay_takes_the_writes_and_the_base_stays_untouched(tmp_path: Path) -> None:
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "8M"], check=True)
    before = base.read_bytes()
    vm, adapter, _key, _guest = machine_for("amd64", tmp_path / "run")
    vm.boot = dataclasses.replace(vm.boot, disks=(Disk(base),))
    with vm:
        adapter.login(vm.console, 120)
        wrote = vm.console.run("echo harness-overlay | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null; sync")
        assert wrote.status == 0
        assert vm.console.run("head -c 16 /dev/vda").output == "harness-overlay"
        vm.shutdown(None, powerdown_timeout=0)
    assert base.read_bytes() == before, "the base image was written"
    overlay = tmp_path / "run" / "linuxtest-amd64.disk0.qcow2"
    info = subprocess.run(["qemu-img", "info", str(overlay)], capture_output=True, text=True, check=True).stdout
    assert str(base) in info, "the overlay's backing file is the base"


def test_numa_nodes_reach_the_guest(tmp_path: Path) -> None:
    profile = dataclasses.replace(
        profiles.load("linuxtest-amd64"), cpus=2, memory_mb=512, numa=(NumaNode("0", 256), NumaNode("1", 256))
    )
    with booted("amd64", tmp_path, profile=profile) as guest:
        nodes = guest.vm.console.run("ls -d /sys/devices/system/node/node*").output.split()
        assert nodes == ["/sys/devices/system/node/node0", "/sys/devices/system/node/node1"]
        assert guest.vm.console.run("cat /sys/devices/system/node/node1/cpulist").output == "1"


def test_qemu_dying_under_an_ssh_session_is_reported_as_such(tmp_path: Path) -> None:
    with booted("amd64", tmp_path) as guest:
        ssh = guest.ssh()
        assert ssh.run("echo up").output.strip() == "up"
        assert guest.vm.process is not None
        guest.vm.process.kill()  # the VM dies under the harness (OOM killer, a user's kill -9)
        guest.vm.wait_exit(10)
        with pytest.raises(VMError, match="QEMU was killed by signal 9"):
            ssh.run("echo still there?", timeout=20)
