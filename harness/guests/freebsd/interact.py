"""Hand the serial console to the user (``harness boot --console``) until they type Ctrl-].

The console's pump keeps draining QEMU's socket (and keeps the raw log); the user sees the raw log as it grows,
and what they type goes to the console. The terminal is put in raw mode and always restored.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.vm.console import Console

ESCAPE = b"\x1d"  # Ctrl-]


@contextlib.contextmanager
def _raw_terminal(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def hand_over(console: Console, *, stdin_fd: int | None = None, stdout_fd: int | None = None) -> None:
    """Bridge the terminal and the guest's serial console; returns when the user types Ctrl-]."""
    log: Path | None = console.raw_log
    if log is None:
        raise UsageError("the console has no raw log to show", hint="start the machine with a run directory")
    in_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    out_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    os.write(out_fd, b"\r\n[harness] serial console attached; Ctrl-] detaches and shuts the guest down\r\n")
    raw_mode = _raw_terminal(in_fd) if os.isatty(in_fd) else contextlib.nullcontext()
    with raw_mode, log.open("rb") as shown:
        shown.seek(0, os.SEEK_END)
        while not console.closed:
            ready, _, _ = select.select([in_fd], [], [], 0.05)
            if chunk := shown.read():
                os.write(out_fd, chunk)
            if not ready:
                continue
            typed = os.read(in_fd, 1024)
            if not typed or ESCAPE in typed:
                head = typed.split(ESCAPE, 1)[0]
                if head:
                    console.send(head.decode("utf-8", errors="replace"))
                break
            console.send(typed.decode("utf-8", errors="replace"))
    os.write(out_fd, b"\r\n[harness] console detached\r\n")
