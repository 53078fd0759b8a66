"""The Console over a pty whose peer plays a guest: output and status, timeouts with the last lines, the watcher
(death strings across read boundaries, expected debugger, callbacks), end of stream, pacing, draining."""

from __future__ import annotations

import itertools
import os
import pty
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import ConsoleClosed, ConsoleTimeout, KernelPanic, UnexpectedDebugger
from harness.vm.console import Console
from harness.vm.guest import DeathStrings
from harness.vm.stream import FdStream
from harness.vm.watcher import Crash, Watcher

DEATH = DeathStrings(panic=(r"Kernel panic - not syncing", r"^panic: "), debugger=(r"\[\d+\]kdb> ", r"^db> "))
PROMPT = r"@P@ "


class Peer:
    """The guest side of a pty: records what the Console sent, answers lines with a handler."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.received = bytearray()
        self.arrivals: list[float] = []

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def serve(self, answer: Callable[[str], bytes | None]) -> None:
        def loop() -> None:
            line = bytearray()
            while True:
                try:
                    data = os.read(self.fd, 1024)
                except OSError:
                    return
                if not data:
                    return
                self.received += data
                self.arrivals.extend(time.monotonic() for _ in data)
                for byte in data:
                    if byte in b"\r\n":
                        reply = answer(line.decode())
                        if reply:
                            os.write(self.fd, reply)
                        line.clear()
                    else:
                        line.append(byte)

        threading.Thread(target=loop, daemon=True).start()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Console, Peer]]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    console = Console(FdStream(master), death=DEATH, log_dir=tmp_path, timeout=5)
    try:
        yield console, Peer(slave)
    finally:
        console.close()
        os.close(slave)


def shell(line: str) -> bytes | None:
    """A shell that echoes and runs `echo`-like commands, printing the status marker the Console asked for."""
    if "; echo __HRC_$?__" not in line:
        return None
    command = line.split("; echo __HRC_$?__")[0]
    output = command.removeprefix("say ") + "\r\n" if command.startswith("say ") else ""
    status = 0 if command.startswith("say ") else 127
    return (line + "\r\n" + output + f"__HRC_{status}__\r\n@P@ ").encode()


def test_run_returns_output_without_echo_and_the_exit_status(pair: tuple[Console, Peer]) -> None:
    console, peer = pair
    peer.serve(shell)
    console.prompt = PROMPT
    ok = console.run("say hello there")
    assert (ok.output, ok.status) == ("hello there", 0)
    missing = console.run("nosuchcommand")
    assert (missing.output, missing.status) == ("", 127)


def test_timeout_names_what_was_awaited_and_the_last_lines(pair: tuple[Console, Peer]) -> None:
    console, peer = pair
    peer.write(b"line one\r\nline two\r\nlogin")
    with pytest.raises(ConsoleTimeout) as caught:
        console.expect(r"login: ", timeout=0.5, what="the login prompt")
    assert "the login prompt not seen within 0 s" in caught.value.message or "within 1 s" in caught.value.message
    assert caught.value.last_lines[-3:] == ["line one", "line two", "login"]
    assert "line two | login" in caught.value.message


def test_panic_is_raised_with_its_excerpt_even_while_waiting_for_something_else(pair: tuple[Console, Peer]) -> None:
    console, peer = pair
    peer.write(b"ok\r\n[ 1.2] Kernel panic - not syncing: boom\r\n trace a\r\n trace b\r\n")
    with pytest.raises(KernelPanic) as caught:
        console.expect(r"never", timeout=5)
    assert caught.value.title == "[ 1.2] Kernel panic - not syncing: boom"
    assert caught.value.excerpt[:4] == ["ok", "[ 1.2] Kernel panic - not syncing: boom", " trace a", " trace b"]
    assert caught.value.exit_code == 3


def test_debugger_prompt_is_a_crash_unless_expected(pair: tuple[Console, Peer]) -> None:
    console, peer = pair
    with console.expecting_debugger():
        peer.write(b"Entering kdb\r\n[0]kdb> ")
        assert console.expect(r"\[0\]kdb> ", timeout=5) == 0
        peer.write(b"go\r\n")  # the prompt line completes after the harness asked for it: still not a crash
        console.expect(r"go\r?\n", timeout=5)
    assert console.crash is None
    peer.write(b"\r\n[1]kdb> ")
    with pytest.raises(UnexpectedDebugger):
        console.expect(r"never", timeout=5)


def test_panic_inside_expected_debugger_is_still_a_panic(pair: tuple[Console, Peer]) -> None:
    console, peer = pair
    with console.expecting_debugger(), pytest.raises(KernelPanic):
        peer.write(b"panic: page fault\r\ndb> ")
        console.expect(r"db> ", timeout=5)


def test_crash_callback_runs_without_anyone_reading(pair: tuple[Console, Peer]) -> None:
    console, peer = pair
    seen: list[Crash] = []
    fired = threading.Event()
    console.on_crash(lambda crash: (seen.append(crash), fired.set()))
    peer.write(b"Kernel panic - not syncing: x\r\n")
    assert fired.wait(5)
    assert seen[0].kind == "panic"


def test_acknowledged_crash_does_not_raise_again(pair: tuple[Console, Peer]) -> None:
    console, peer = pair
    peer.write(b"panic: one\r\n")
    with pytest.raises(KernelPanic):
        console.expect("never", timeout=5)
    console.acknowledge_crash()
    peer.write(b"after\r\n")
    console.expect("after", timeout=5)
    peer.write(b"panic: two\r\n")
    with pytest.raises(KernelPanic) as caught:
        console.expect("never", timeout=5)
    assert caught.value.title == "panic: two"


def test_end_of_stream_is_console_closed_with_last_lines(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    console = Console(FdStream(master), death=DEATH)
    os.write(slave, b"last words\r\n")
    time.sleep(0.2)
    os.close(slave)
    with pytest.raises(ConsoleClosed) as caught:
        console.expect("never", timeout=5)
    assert "last words" in caught.value.last_lines
    console.close()


def test_paced_input_arrives_one_character_at_a_time(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    console = Console(FdStream(master), pace=0.02)
    peer = Peer(slave)
    peer.serve(lambda line: None)
    console.sendline("abcdef")
    deadline = time.monotonic() + 5
    while len(peer.received) < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bytes(peer.received) == b"abcdef\n"
    assert peer.arrivals[-1] - peer.arrivals[0] >= 0.1
    console.close()
    os.close(slave)


def test_pump_drains_megabytes_while_nobody_expects(pair: tuple[Console, Peer], tmp_path: Path) -> None:
    _console, peer = pair
    chunk = b"x" * 1023 + b"\n"
    writer = threading.Thread(target=lambda: [peer.write(chunk) for _ in range(4096)], daemon=True)
    started = time.monotonic()
    writer.start()
    writer.join(timeout=30)
    assert not writer.is_alive(), "the writer blocked: the console stopped draining"
    assert time.monotonic() - started < 30
    raw = tmp_path / "console.raw"
    deadline = time.monotonic() + 10
    while raw.stat().st_size < 4096 * 1024 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert raw.stat().st_size == 4096 * 1024
    stamped = (tmp_path / "console.log").read_text().splitlines()
    assert stamped[1].startswith("[") and stamped[1].endswith("x" * 10)


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(st.text(alphabet="abc xyz:.[]0123456789", max_size=30), max_size=5),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_watcher_finds_a_panic_however_the_stream_is_cut(before: list[str], cuts: list[int]) -> None:
    text = "\r\n".join([*before, "[ 3.0] Kernel panic - not syncing: Attempted to kill init!", "tail"]) + "\r\n"
    data = text.encode()
    watcher = Watcher(DEATH)
    fired: list[Crash] = []
    watcher.on_crash(fired.append)
    edges = sorted({c for c in cuts if c < len(data)} | {0, len(data)})
    for start, end in itertools.pairwise(edges):
        watcher.feed(data[start:end])
    assert len(fired) == 1
    assert watcher.crash is not None and watcher.crash.line_index == len(before)
    error = watcher.error_for(watcher.crash)
    assert error.title == "[ 3.0] Kernel panic - not syncing: Attempted to kill init!"
