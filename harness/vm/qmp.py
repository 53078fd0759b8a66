"""QMP through the ``qemu.qmp`` package (its synchronous ``legacy`` client), thread-safe, errors typed."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from pathlib import Path
from typing import Any

from qemu.qmp.legacy import QEMUMonitorProtocol

from harness.errors import VMError

_USERNET_FWD = re.compile(r"TCP\[HOST_FORWARD\]\s+\d+\s+(\S+)\s+(\d+)\s+\S+\s+(\d+)")


class QMP:
    """One QMP connection; ``command`` may be called from any thread (the console pump's callbacks included)."""

    def __init__(self, path: Path, command_timeout: float = 15.0) -> None:
        self.path = path
        self.command_timeout = command_timeout
        self._lock = threading.Lock()
        self._monitor: QEMUMonitorProtocol | None = None
        self.events: list[dict[str, Any]] = []

    def connect(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.path.exists():
            if time.monotonic() > deadline:
                raise VMError(f"QMP socket {self.path} did not appear within {timeout:.0f} s")
            time.sleep(0.02)
        while True:
            monitor = QEMUMonitorProtocol(str(self.path))
            try:
                monitor.connect()
                break
            except Exception as exc:  # qemu.qmp raises several unrelated types here
                # QEMU binds the socket a moment before it listens: a refusal then is not yet an answer.
                refused = isinstance(exc.__cause__ or exc, ConnectionRefusedError) or "Connection refused" in str(exc)
                if not refused or time.monotonic() > deadline:
                    raise VMError(f"QMP connect to {self.path} failed: {exc}") from exc
                time.sleep(0.05)
        monitor.settimeout(self.command_timeout)
        self._monitor = monitor

    @property
    def connected(self) -> bool:
        return self._monitor is not None

    def command(self, name: str, **arguments: Any) -> Any:
        if self._monitor is None:
            raise VMError(f"QMP {name}: not connected")
        with self._lock:
            try:
                result = self._monitor.cmd_raw(name, arguments or None)
            except Exception as exc:
                raise VMError(f"QMP {name} failed: {type(exc).__name__}: {exc}") from exc
            self.events.extend(self._monitor.get_events(wait=False))
        if isinstance(result, dict) and "error" in result:
            error = result["error"]
            raise VMError(f"QMP {name}: {error.get('class')}: {error.get('desc')}")
        return result.get("return") if isinstance(result, dict) else result

    def send_fd(self, name: str, fd: int) -> None:
        """Pass ``fd`` to QEMU (SCM_RIGHTS on the QMP socket) under ``name``, for a URI like ``fd:<name>``."""
        if self._monitor is None:
            raise VMError(f"QMP getfd {name}: not connected")
        with self._lock:
            try:
                self._monitor.send_fd_scm(fd)
            except Exception as exc:  # qemu.qmp raises its own types, OSError underneath
                raise VMError(f"QMP: cannot pass a file descriptor to QEMU: {exc}") from exc
        self.command("getfd", fdname=name)

    def hmp(self, command_line: str) -> str:
        return str(self.command("human-monitor-command", **{"command-line": command_line}))

    def poll_events(self) -> list[dict[str, Any]]:
        """Events received so far (including those that arrived between commands)."""
        if self._monitor is not None and self._lock.acquire(timeout=1):
            try:
                with contextlib.suppress(Exception):
                    self.events.extend(self._monitor.get_events(wait=False))
            finally:
                self._lock.release()
        return list(self.events)

    def host_forward_port(self, guest_port: int) -> int:
        """The host port QEMU picked for ``hostfwd=tcp:127.0.0.1:0-:<guest_port>`` (from ``info usernet``)."""
        text = self.hmp("info usernet")
        for found in _USERNET_FWD.finditer(text):
            if int(found.group(3)) == guest_port:
                return int(found.group(2))
        raise VMError(f"no host forward to guest port {guest_port} in `info usernet`: {text.strip()!r}")

    def close(self) -> None:
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            with contextlib.suppress(Exception):  # after `quit` the peer is gone: EOFError is normal
                monitor.close()
