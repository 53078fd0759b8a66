"""The serial console: a pump that drains the stream, pexpect on top, and the watcher on every read.

Build one over any byte stream (``SocketStream`` to QEMU's serial chardev, ``FdStream`` over a pty master whose
peer replays a transcript)::

    with Console(SocketStream(sock), death=adapter.death_strings, log_dir=run_dir) as con:
        con.expect(r"login: ", timeout=300)
        con.sendline("root")
        result = con.run("uname -a")      # -> CommandResult(output, status)

``expect`` raises ``ConsoleTimeout``/``ConsoleClosed`` with the last console lines, and a ``GuestCrashed``
subclass (``KernelPanic``, ``UnexpectedDebugger``) as soon as the watcher sees the guest's death strings.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import pexpect
from pexpect.spawnbase import SpawnBase

from harness.errors import ConsoleClosed, ConsoleTimeout, GuestCrashed
from harness.util.procs import leave_stop_signals_to_main_thread
from harness.util.text import one_line
from harness.vm.guest import DeathStrings
from harness.vm.stream import ByteStream
from harness.vm.watcher import Crash, Watcher

#: Marker printed after a console command with its exit status; the echoed command line shows ``$?`` instead
#: of digits, so only the real output matches.
_STATUS = r"__HRC_(\d+)__"
_STATUS_SUFFIX = "; echo __HRC_$?__"


@dataclass(frozen=True)
class CommandResult:
    """A command run on the console or over SSH: what ran, what it printed, how it exited."""

    command: str
    output: str
    status: int
    stderr: str = ""
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 0


class _Inbox:
    """Bytes read by the pump and not yet consumed by pexpect. Unbounded by design (bounded by ``limit``), so a
    slow consumer never makes the pump stop draining the stream."""

    def __init__(self, limit: int = 64 << 20) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._limit = limit
        self._eof = False
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, data: bytes) -> None:
        with self._cond:
            self._chunks.append(data)
            self._size += len(data)
            while self._size > self._limit and len(self._chunks) > 1:
                old = self._chunks.pop(0)
                self._size -= len(old)
                self.dropped += len(old)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def take(self, size: int, timeout: float | None) -> bytes | None:
        """Up to ``size`` bytes; ``None`` on timeout; ``b""`` at end of stream."""
        with self._cond:
            if not self._chunks and not self._eof:
                self._cond.wait(timeout)
            if not self._chunks:
                return b"" if self._eof else None
            data = b"".join(self._chunks)
            head, rest = data[:size], data[size:]
            self._chunks = [rest] if rest else []
            self._size = len(rest)
            return head

    def discard(self) -> None:
        with self._cond:
            self._chunks, self._size = [], 0


class _InboxSpawn(SpawnBase):  # type: ignore[misc]
    """pexpect reading from the pump's inbox and writing straight to the stream."""

    def __init__(self, inbox: _Inbox, write: Callable[[bytes], None], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._inbox = inbox
        self._write = write
        self.closed = False

    def read_nonblocking(self, size: int = 1, timeout: float | None = -1) -> str | bytes:
        if timeout == -1:
            timeout = self.timeout
        data = self._inbox.take(size, timeout)
        if data is None:
            raise pexpect.TIMEOUT("no console data within timeout")
        if data == b"":
            self.flag_eof = True
            raise pexpect.EOF("console stream closed")
        text = self._decoder.decode(data, final=False)
        self._log(data, "read")
        return text  # type: ignore[no-any-return]

    def send(self, s: str | bytes) -> int:
        data = s.encode("utf-8") if isinstance(s, str) else s
        self._log(data, "send")
        self._write(data)
        return len(data)


class Console:
    """Pexpect-driven serial console with a continuous drain pump, logs and a crash watcher."""

    def __init__(
        self,
        stream: ByteStream,
        *,
        death: DeathStrings | None = None,
        log_dir: Path | None = None,
        pace: float = 0.0,
        eol: str = "\n",
        timeout: float = 60.0,
        name: str = "console",
    ) -> None:
        self.stream = stream
        self.watcher = Watcher(death or DeathStrings())
        self.pace = pace
        self.eol = eol
        self.timeout = timeout
        self.name = name
        self.prompt: str | None = None
        self.raw_log = log_dir / f"{name}.raw" if log_dir else None
        self.log = log_dir / f"{name}.log" if log_dir else None
        self._inbox = _Inbox()
        self._spawn = _InboxSpawn(self._inbox, self._write, timeout=timeout, encoding="utf-8", codec_errors="replace")
        self._write_lock = threading.Lock()
        self._started = time.monotonic()
        self._pump = threading.Thread(target=self._drain, name=f"{name}-pump", daemon=True)
        self._pump.start()

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def __enter__(self) -> Console:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.stream.close()
        self._pump.join(timeout=5)

    @property
    def opened_at(self) -> float:
        """Monotonic time the console opened: the log's ``[   1.234]`` stamps count from here."""
        return self._started

    @property
    def closed(self) -> bool:
        return not self._pump.is_alive()

    def _drain(self) -> None:
        """The pump: read the stream all the time, log it (raw and timestamped), watch it, queue it for pexpect."""
        leave_stop_signals_to_main_thread()
        with contextlib.ExitStack() as stack:
            raw = stack.enter_context(self.raw_log.open("ab")) if self.raw_log else None
            stamped = stack.enter_context(self.log.open("a", encoding="utf-8")) if self.log else None
            if stamped:
                stamped.write(f"# {self.name} opened {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
            at_line_start = True
            while True:
                data = self.stream.read(65536)
                if not data:
                    break
                if raw:
                    raw.write(data)
                    raw.flush()
                if stamped:
                    at_line_start = self._stamp(stamped, data, at_line_start)
                self.watcher.feed(data)
                self._inbox.put(data)
        self._inbox.close()

    def _stamp(self, out: IO[str], data: bytes, at_line_start: bool) -> bool:
        text = data.decode("utf-8", errors="replace").replace("\r", "")
        stamp = f"[{time.monotonic() - self._started:9.3f}] "
        for piece in text.splitlines(keepends=True):
            out.write((stamp if at_line_start else "") + piece)
            at_line_start = piece.endswith("\n")
        out.flush()
        return at_line_start

    # --- writing -----------------------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            if self.pace <= 0:
                self.stream.write(data)
                return
            for i in range(len(data)):
                self.stream.write(data[i : i + 1])
                time.sleep(self.pace)

    def send(self, text: str) -> None:
        """Send text as is (paced by ``pace`` seconds per character)."""
        self._spawn.send(text)

    def sendline(self, text: str = "", eol: str | None = None) -> None:
        self.send(text + (self.eol if eol is None else eol))

    # --- reading -----------------------------------------------------------------------------------------------

    @property
    def before(self) -> str:
        return str(self._spawn.before or "")

    @property
    def match(self) -> re.Match[str] | None:
        found = self._spawn.match
        return found if isinstance(found, re.Match) else None

    def expect(self, patterns: str | Sequence[str], timeout: float | None = None, *, what: str | None = None) -> int:
        """Wait for one of ``patterns`` (regexes); returns its index. Raises on crash, timeout or end of stream."""
        wanted = [patterns] if isinstance(patterns, str) else list(patterns)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        compiled = [*wanted, pexpect.TIMEOUT, pexpect.EOF]
        while True:
            self._raise_if_crashed()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout(what or " or ".join(repr(p) for p in wanted), limit)
            index = self._spawn.expect(compiled, timeout=min(0.25, remaining))
            if index < len(wanted):
                self._raise_if_crashed()
                return int(index)
            if index == len(wanted) + 1:
                self._raise_if_crashed()
                last = self.last_lines()
                raise ConsoleClosed(
                    f"{self.name} closed while waiting for {what or wanted}{_tail(last)}",
                    last_lines=last,
                    hint=self._log_hint(),
                )

    def discard_pending(self) -> None:
        """Drop console output not yet consumed (it stays in the logs and the watcher saw it)."""
        with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
            while True:
                self._spawn.read_nonblocking(1 << 20, timeout=0)
        self._spawn.buffer = ""
        self._spawn.before = ""

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        """Run a shell command at the prompt; its output (without the echo) and exit status."""
        if self.prompt is None:
            raise ConsoleTimeout(f"{self.name}: no shell prompt known", hint="log in first (adapter.login)")
        started = time.monotonic()
        self.discard_pending()
        self.sendline(command + _STATUS_SUFFIX)
        self.expect(_STATUS, timeout, what=f"the end of {command!r}")
        found = self.match
        status = int(found.group(1)) if found else -1
        output = _strip_echo(self.before)
        self.expect(self.prompt, timeout, what="the shell prompt")
        return CommandResult(command, output, status, duration=time.monotonic() - started)

    def last_lines(self, count: int = 20) -> list[str]:
        return self.watcher.last_lines(count)

    # --- crashes -----------------------------------------------------------------------------------------------

    def on_crash(self, callback: Callable[[Crash], None]) -> None:
        """Call ``callback`` (from the pump thread) as soon as a crash is seen; at once if one was seen already."""
        self.watcher.on_crash(callback)

    @contextlib.contextmanager
    def expecting_debugger(self) -> Iterator[None]:
        """The harness enters the debugger on purpose: its prompt is not a crash inside this block."""
        self.watcher.expect_debugger(True)
        try:
            yield
        finally:
            self.watcher.expect_debugger(False)

    @property
    def crash(self) -> Crash | None:
        return self.watcher.crash

    def crash_error(self, *, settle: bool = True) -> GuestCrashed | None:
        """The exception for the crash seen, with its console excerpt (waits for the backtrace to finish)."""
        crash = self.watcher.crash
        if crash is None:
            return None
        if settle:
            self.watcher.settle()
        return self.watcher.error_for(crash, log_hint=self._log_hint())

    def acknowledge_crash(self) -> Crash | None:
        """The caller handled the crash; later output is judged afresh."""
        return self.watcher.acknowledge()

    def _raise_if_crashed(self) -> None:
        error = self.crash_error()
        if error is not None:
            raise error

    def _timeout(self, what: str, limit: float) -> ConsoleTimeout:
        last = self.last_lines()
        return ConsoleTimeout(
            f"{self.name}: {what} not seen within {limit:.0f} s{_tail(last)}", last_lines=last, hint=self._log_hint()
        )

    def _log_hint(self) -> str | None:
        return f"console log: {self.log}" if self.log else None


def _tail(lines: list[str], count: int = 3) -> str:
    # Guest text going into an error message (then metadata.json, JUnit, the terminal): no controls, bounded.
    shown = [one_line(line.strip(), 300) for line in lines if line.strip()][-count:]
    return "; last console lines: " + " | ".join(shown) if shown else "; the console printed nothing"


def _strip_echo(before: str) -> str:
    """The text between the echoed command line and the status marker."""
    text = before.replace("\r\n", "\n").replace("\r", "")
    _, _, rest = text.partition("\n")
    return rest.rstrip("\n")
