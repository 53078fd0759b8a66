"""SSH: the per-run key, connect failures with a reason, abort of a running command."""

from __future__ import annotations

import socket
import stat
import threading
import time
from pathlib import Path

import paramiko
import pytest

from harness.errors import KernelPanic, SSHError, VMError
from harness.vm.ssh import SSHKey, SSHSession


def test_generated_key_is_private_ed25519_and_reloads(tmp_path: Path) -> None:
    key = SSHKey.generate(tmp_path / "keys")
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    reloaded = paramiko.Ed25519Key.from_private_key_file(str(key.path))
    assert reloaded.get_base64() == key.key.get_base64()
    kind, blob, _comment = key.public_line.split()
    assert kind == "ssh-ed25519" and blob == key.key.get_base64()
    assert (tmp_path / "keys" / "id_ed25519.pub").read_text().strip() == key.public_line
    assert SSHKey.generate(tmp_path / "keys").key.get_base64() != key.key.get_base64(), "a new key per run"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connection_gives_up_with_the_reason(tmp_path: Path) -> None:
    session = SSHSession("127.0.0.1", _free_port(), "root", SSHKey.generate(tmp_path))
    started = time.monotonic()
    with pytest.raises(SSHError) as caught:
        session.connect(timeout=1.0)
    assert time.monotonic() - started < 10
    assert "refused" in caught.value.message
    assert len(session.attempts) >= 2, "it retried"


def test_silent_server_is_not_ready(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)  # accepts TCP, never speaks SSH
    try:
        session = SSHSession("127.0.0.1", server.getsockname()[1], "root", SSHKey.generate(tmp_path))
        with pytest.raises(SSHError) as caught:
            session.connect(timeout=1.0)
        assert "not ready" in caught.value.message or "timeout" in caught.value.message
    finally:
        server.close()


def test_connect_stops_early_when_told_the_guest_is_gone(tmp_path: Path) -> None:
    session = SSHSession("127.0.0.1", _free_port(), "root", SSHKey.generate(tmp_path))
    with pytest.raises(KernelPanic):
        session.connect(timeout=60, alive=lambda: KernelPanic("guest kernel crashed: panic: x"))


def test_abort_raises_the_crash_in_the_running_thread(tmp_path: Path) -> None:
    session = SSHSession("127.0.0.1", 1, "root", SSHKey.generate(tmp_path))
    threading.Timer(0.1, lambda: session.abort(lambda: KernelPanic("guest kernel crashed: panic: y"))).start()
    time.sleep(0.3)
    with pytest.raises(KernelPanic, match="panic: y"):
        session.run("sleep 100")


def test_run_without_connection_is_an_ssh_error(tmp_path: Path) -> None:
    session = SSHSession("127.0.0.1", 1, "root", SSHKey.generate(tmp_path))
    with pytest.raises(SSHError, match="not connected"):
        session.run("true")


def test_a_dead_link_reports_why_the_guest_is_gone(tmp_path: Path) -> None:
    # The VM layer tells the session when QEMU has exited; that, not "not connected", is the cause to report.
    session = SSHSession(
        "127.0.0.1", 1, "root", SSHKey.generate(tmp_path), alive=lambda: VMError("vm: QEMU was killed by signal 9")
    )
    with pytest.raises(VMError, match="killed by signal 9"):
        session.run("true")
    with pytest.raises(VMError, match="killed by signal 9"):
        session.put(tmp_path / "id_ed25519", "/tmp/x")
