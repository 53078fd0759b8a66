"""Byte streams a Console can sit on: a unix socket to QEMU's serial chardev, or any file descriptor (a pty master).

The pump in ``harness.vm.console`` reads a stream all the time (QEMU's socket chardev stalls the guest, and on
arm64 the whole VM, when nobody reads), so ``read`` blocks and returns ``b""`` only at end of stream.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
from typing import Protocol


class ByteStream(Protocol):
    def read(self, size: int) -> bytes:
        """Block until some bytes arrive; ``b""`` means the peer is gone."""
        ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class SocketStream:
    """A connected socket (QEMU ``-chardev socket,...`` on a unix path)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def read(self, size: int) -> bytes:
        try:
            return self.sock.recv(size)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class FdStream:
    """A file descriptor: a pty master whose peer replays a transcript, a pipe, a serial device."""

    def __init__(self, fd: int, *, close_fd: bool = True) -> None:
        self.fd = fd
        self.close_fd = close_fd
        self._closed = False

    def read(self, size: int) -> bytes:
        # Poll so that close() from another thread ends a blocked read (closing an fd does not wake read()).
        while not self._closed:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.2)
            except (OSError, ValueError):
                return b""
            if ready:
                break
        if self._closed:
            return b""
        try:
            return os.read(self.fd, size)
        except OSError as exc:
            # A pty master reads EIO once the slave side is closed: that is end of stream, not an error.
            if exc.errno in (errno.EIO, errno.EBADF):
                return b""
            raise

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.close_fd:
            with contextlib.suppress(OSError):
                os.close(self.fd)
