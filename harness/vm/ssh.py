"""SSH to the guest with paramiko: a per-run ed25519 key, connect with retries and reasons, run with a timeout and
keepalives, SFTP put/get, and abort of a running command when the console watcher sees a crash."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import paramiko

from harness.errors import SSHError
from harness.util.procs import leave_stop_signals_to_main_thread
from harness.vm.console import CommandResult

#: Builds the exception to raise in the thread running the command (e.g. the console's KernelPanic).
AbortError = Callable[[], BaseException | None]

_CHANNEL_RACE = ("Channel closed", "Unable to open channel", "Channel is not open")
#: Seconds an SFTP request may wait for the guest's reply before the transfer fails (never forever).
SFTP_REPLY_TIMEOUT = 120.0


class _Transport(paramiko.Transport):
    """paramiko's transport, whose reader thread leaves Ctrl-C and SIGTERM to the main thread (util.procs)."""

    def run(self) -> None:
        leave_stop_signals_to_main_thread()
        super().run()


def _transport_factory(sock: Any, /, **options: Any) -> paramiko.Transport:
    """``SSHClient.connect``'s transport factory: ours, with the options paramiko passes (its own or the stubs')."""
    return _Transport(sock, disabled_algorithms=options.get("disabled_algorithms"))


class SSHKey:
    """An ed25519 key pair made for one run: private key file mode 0600, public key in OpenSSH format."""

    def __init__(self, path: Path, key: paramiko.Ed25519Key) -> None:
        self.path = path
        self.key = key

    @classmethod
    def generate(cls, directory: Path, name: str = "id_ed25519") -> SSHKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        directory.mkdir(parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.chmod(path, 0o600)  # also when the file existed with other bits
        key = paramiko.Ed25519Key.from_private_key_file(str(path))
        (directory / f"{name}.pub").write_text(cls._public_line(key) + "\n")
        return cls(path, key)

    @classmethod
    def load(cls, path: Path) -> SSHKey:
        """A key made earlier by ``generate`` (e.g. the one a saved VM state's guest authorises)."""
        try:
            return cls(path, paramiko.Ed25519Key.from_private_key_file(str(path)))
        except (OSError, paramiko.SSHException) as exc:
            raise SSHError(f"cannot read the SSH key {path}: {exc}") from exc

    @staticmethod
    def _public_line(key: paramiko.PKey) -> str:
        return f"{key.get_name()} {key.get_base64()} harness"

    @property
    def public_line(self) -> str:
        return self._public_line(self.key)


class SSHSession:
    """One SSH connection to the guest (``127.0.0.1:<forwarded port>``)."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        key: SSHKey,
        *,
        keepalive: int = 5,
        alive: Callable[[], BaseException | None] | None = None,
    ) -> None:
        self.host, self.port, self.user, self.key = host, port, user, key
        self.keepalive = keepalive
        #: Says why the guest is gone (QEMU exited, the kernel crashed), or None: the cause a dead link reports.
        self._alive = alive
        self._client: paramiko.SSHClient | None = None
        self._sftp_client: paramiko.SFTPClient | None = None
        self._abort = threading.Event()
        self._abort_error: AbortError | None = None
        self.attempts: list[str] = []

    def __enter__(self) -> SSHSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    # --- connect -----------------------------------------------------------------------------------------------

    def connect(self, timeout: float = 120.0, *, alive: Callable[[], BaseException | None] | None = None) -> None:
        """Connect, retrying while the guest is not ready. ``alive`` returns an error to stop retrying early
        (QEMU exited, the guest crashed)."""
        self._alive = alive or self._alive
        deadline = time.monotonic() + timeout
        while True:
            if self._alive is not None and (stop := self._alive()) is not None:
                raise stop
            reason = self._try_connect(min(10.0, max(1.0, deadline - time.monotonic())))
            if reason is None:
                return
            self.attempts.append(reason)
            if reason.startswith("auth") or time.monotonic() > deadline:
                raise SSHError(
                    f"SSH to {self.where} failed after {len(self.attempts)} attempts in {timeout:.0f} s: {reason}",
                    hint="the guest's sshd is not up or rejects the run key; see the console log",
                )
            time.sleep(0.3)

    def _try_connect(self, timeout: float) -> str | None:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # a fresh guest has a fresh host key
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.user,
                pkey=self.key.key,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                allow_agent=False,
                look_for_keys=False,
                transport_factory=_transport_factory,
            )
        except paramiko.AuthenticationException as exc:
            client.close()
            return f"auth: {exc}"
        except (ConnectionRefusedError, paramiko.ssh_exception.NoValidConnectionsError):
            client.close()
            return "refused: nothing listens on the forwarded port yet"
        except TimeoutError:
            client.close()
            return "timeout: no answer"
        except (paramiko.SSHException, EOFError, OSError) as exc:
            client.close()
            return f"not ready: {type(exc).__name__}: {exc}"
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(self.keepalive)
        self._client = client
        return None

    def _transport(self) -> paramiko.Transport:
        transport = self._client.get_transport() if self._client else None
        if transport is None or not transport.is_active():
            self._raise_if_guest_gone()
            raise SSHError(f"SSH to {self.where} is not connected", hint="the guest may have died; see the console log")
        return transport

    def _raise_if_guest_gone(self) -> None:
        """A link that died with its guest reports the guest's fate (QEMU exited, a panic), not its own."""
        if self._alive is not None and (gone := self._alive()) is not None:
            raise gone

    # --- abort ---------------------------------------------------------------------------------------------------

    def abort(self, error: AbortError) -> None:
        """Stop whatever runs now (called from the console pump when the guest crashed); ``error()`` is raised
        in the thread that ran the command."""
        self._abort_error = error
        self._abort.set()

    def _raise_if_aborted(self) -> None:
        if self._abort.is_set():
            error = self._abort_error() if self._abort_error else None
            raise error or SSHError(f"SSH command to {self.where} aborted")

    # --- run -----------------------------------------------------------------------------------------------------

    def run(self, command: str, timeout: float = 60.0, *, check: bool = False) -> CommandResult:
        """Run ``command``; output, stderr and exit status. Raises SSHError on timeout (the command is killed by
        closing its channel) and the console's crash error if the guest crashes meanwhile."""
        self._raise_if_aborted()
        started = time.monotonic()
        channel = self._open_channel()
        try:
            channel.settimeout(0.0)
            channel.exec_command(command)
            out, err = self._collect(channel, command, started + timeout, timeout)
            status = channel.recv_exit_status()
        finally:
            channel.close()
        result = CommandResult(command, out, status, stderr=err, duration=time.monotonic() - started)
        if check and status != 0:
            raise SSHError(f"`{command}` exited {status} on the guest: {(err or out).strip()[-200:]}")
        return result

    def _open_channel(self) -> paramiko.Channel:
        for attempt in range(4):
            try:
                return self._transport().open_session(timeout=10)
            except paramiko.SSHException as exc:
                # paramiko loses a race when a channel opens right after one closed (e.g. after sftp.close()).
                if attempt == 3 or not any(text in str(exc) for text in _CHANNEL_RACE):
                    raise SSHError(f"SSH to {self.where}: cannot open a channel: {exc}") from exc
                time.sleep(0.3 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _collect(self, channel: paramiko.Channel, command: str, deadline: float, timeout: float) -> tuple[str, str]:
        out, err = bytearray(), bytearray()
        while True:
            self._raise_if_aborted()
            got = False
            if channel.recv_ready():
                out += channel.recv(65536)
                got = True
            if channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
                got = True
            if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
                return out.decode(errors="replace"), err.decode(errors="replace")
            transport = self._client.get_transport() if self._client else None
            if transport is None or not transport.is_active():
                self._raise_if_guest_gone()
                raise SSHError(f"SSH connection to {self.where} dropped while running {command!r}")
            if time.monotonic() > deadline:
                raise SSHError(f"`{command}` on {self.where} did not finish within {timeout:.0f} s")
            if not got:
                self._abort.wait(0.05)

    # --- files ---------------------------------------------------------------------------------------------------

    def put(self, local: Path, remote: str) -> None:
        with self._sftp() as sftp:
            sftp.put(str(local), remote)

    def get(self, remote: str, local: Path) -> None:
        with self._sftp() as sftp:
            sftp.get(remote, str(local))

    @contextlib.contextmanager
    def _sftp(self) -> Iterator[paramiko.SFTPClient]:
        """One SFTP channel per session, reused: reopening channels back to back loses a paramiko race."""
        self._raise_if_aborted()
        if self._sftp_client is None:
            for attempt in range(4):
                try:
                    self._sftp_client = paramiko.SFTPClient.from_transport(self._transport())
                    break
                except paramiko.SSHException as exc:
                    if attempt == 3 or not any(text in str(exc) for text in _CHANNEL_RACE):
                        raise SSHError(
                            f"SFTP to {self.where} failed: {exc}", hint="the guest needs an sftp-server"
                        ) from exc
                    time.sleep(0.3 * (attempt + 1))
        if self._sftp_client is None:
            raise SSHError(f"SFTP to {self.where} failed: no channel")
        # A reply that never comes (a wedged guest) ends as a timeout, not a harness waiting forever.
        channel = self._sftp_client.get_channel()
        if channel is not None:
            channel.settimeout(SFTP_REPLY_TIMEOUT)
        try:
            yield self._sftp_client
        except OSError as exc:
            self._raise_if_aborted()
            raise SSHError(f"SFTP on {self.where} failed: {exc}") from exc

    def close(self) -> None:
        sftp, self._sftp_client = self._sftp_client, None
        if sftp is not None:
            with contextlib.suppress(Exception):
                sftp.close()
        client, self._client = self._client, None
        if client is not None:
            client.close()
