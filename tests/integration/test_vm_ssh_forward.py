"""S2: a guest whose stock sshd may accept root with an empty password gets no host forward until it is configured.

Real QEMU with nothing to boot (SeaBIOS keeps looking for a disk) is enough: the forward lives in QEMU's user-mode
network, not in the guest. Absent at launch (command line and ``info usernet``), present after
``open_ssh_forward`` (QMP/HMP ``hostfwd_add``), listening on 127.0.0.1 only.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.errors import VMError
from harness.vm import profile as profiles
from harness.vm.machine import BootSpec, Machine

pytestmark = pytest.mark.integration


def test_the_ssh_forward_exists_only_after_it_is_opened(tmp_path: Path) -> None:
    with Machine(profiles.load("linuxtest-amd64"), BootSpec(), tmp_path, forward_ssh_at_launch=False) as vm:
        assert not any("hostfwd" in arg for arg in vm.command)
        assert vm.ssh_port is None
        with pytest.raises(VMError, match="no host forward"):
            vm.qmp.host_forward_port(22)
        with pytest.raises(VMError, match="no SSH port"):
            vm.ssh(key=None, timeout=1)  # type: ignore[arg-type]

        port = vm.open_ssh_forward()

        assert vm.qmp.host_forward_port(22) == port == vm.ssh_port
        assert vm.open_ssh_forward() == port  # idempotent: one forward, not two
        assert vm.qmp.hmp("info usernet").count("HOST_FORWARD") == 1
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # QEMU's slirp listens on loopback now
        vm.shutdown(None, powerdown_timeout=0, quit_timeout=5)  # nothing booted: no ACPI powerdown to wait for
