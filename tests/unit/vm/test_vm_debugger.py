"""The debugger driver against a pty peer that behaves like kdb (CR-only Enter, CPU-prefixed prompt, pager) and
like DDB (`--More--`, `set $lines 0`): entry, pager handling, echo removal, resume."""

from __future__ import annotations

import os
import pty
import threading
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.errors import VMError
from harness.guests.linuxtest.adapter import kdb_dialect
from harness.vm.console import Console
from harness.vm.debugger import Debugger
from harness.vm.guest import DeathStrings, DebuggerDialect, EntryKind, EntryMethod
from harness.vm.stream import FdStream

PAGE = [f"line {i}" for i in range(30)]


def kdb_peer(fd: int, log: list[str]) -> Callable[[], None]:
    """Shell until sysrq-g, then kdb: reads CR-terminated commands only, pages after 24 lines."""

    def loop() -> None:
        mode, line = "shell", bytearray()
        pending: list[str] = []
        while True:
            try:
                data = os.read(fd, 1024)
            except OSError:
                return
            for byte in data:
                char = bytes([byte])
                if mode == "pager":
                    log.append(f"pager:{char.decode()}")
                    os.write(fd, ("\r\n".join(pending) + "\r\n[0]kdb> ").encode())
                    mode = "kdb"
                    continue
                if mode == "shell" and char == b"\n":
                    if line.decode() == "echo g > /proc/sysrq-trigger":
                        os.write(fd, b"\r\nEntering kdb (current=0x1, pid 1) due to Keyboard Entry\r\n[0]kdb> ")
                        mode = "kdb"
                    line.clear()
                elif mode == "kdb" and char == b"\r":
                    command = line.decode()
                    log.append(command)
                    os.write(fd, command.encode() + b"\r\n")
                    line.clear()
                    if command == "bt":
                        os.write(fd, ("\r\n".join(PAGE[:24]) + "\r\nmore> ").encode())
                        pending, mode = PAGE[24:], "pager"
                    elif command == "go":
                        os.write(fd, b"\r\n@P@ ")
                        mode = "shell"
                    else:
                        os.write(fd, f"out of {command}\r\n[0]kdb> ".encode())
                elif mode == "kdb" and char == b"\n":
                    log.append("LF ignored")
                else:
                    line += char

    return loop


@pytest.fixture
def kdb(tmp_path: Path) -> Iterator[tuple[Debugger, list[str]]]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    log: list[str] = []
    threading.Thread(target=kdb_peer(slave, log), daemon=True).start()
    console = Console(FdStream(master), death=DeathStrings(debugger=(r"\[\d+\]kdb> ",)), timeout=5)
    console.prompt = r"@P@ "
    try:
        yield Debugger(console, kdb_dialect(), arch="amd64"), log
    finally:
        console.close()
        os.close(slave)


def test_session_enters_pages_and_resumes(kdb: tuple[Debugger, list[str]]) -> None:
    db, log = kdb
    with db.session() as session:
        bt = session.command("bt")
        ps = session.command("ps")
    assert bt.output.splitlines() == PAGE and bt.pages == 2
    assert ps.output == "out of ps"
    assert log == ["bt", "pager: ", "ps", "go"], "commands end with CR only; the pager got one key"
    assert not db.active and db.console.crash is None
    assert [o.command for o in db.transcript] == ["bt", "ps"]


def test_command_outside_the_debugger_is_refused(kdb: tuple[Debugger, list[str]]) -> None:
    db, _ = kdb
    with pytest.raises(VMError, match="not in the debugger"):
        db.command("bt")


def test_nmi_entry_is_offered_only_with_qmp_and_on_its_arches() -> None:
    dialect = DebuggerDialect(
        name="ddb",
        prompt=r"db> ",
        pager=r"--More--",
        pager_answer=" ",
        disable_pager="set $lines 0",
        resume="continue",
        eol="\r",
        entry_methods=(
            EntryMethod(EntryKind.QMP_NMI, arches=("amd64",)),
            EntryMethod(EntryKind.SHELL_COMMAND, "sysctl debug.kdb.enter=1"),
        ),
    )
    console = Console(FdStream(os.open(os.devnull, os.O_RDONLY)), timeout=1)
    try:
        kinds = lambda db: [m.kind for m in db.methods()]  # noqa: E731
        assert kinds(Debugger(console, dialect, arch="amd64", nmi=lambda: None)) == [
            EntryKind.QMP_NMI,
            EntryKind.SHELL_COMMAND,
        ]
        assert kinds(Debugger(console, dialect, arch="amd64")) == [EntryKind.SHELL_COMMAND]
        assert kinds(Debugger(console, dialect, arch="arm64", nmi=lambda: None)) == [EntryKind.SHELL_COMMAND]
    finally:
        console.close()


def test_ddb_style_pager_is_disabled_first(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    received: list[str] = []

    def ddb() -> None:
        line = bytearray()
        while True:
            try:
                data = os.read(slave, 1024)
            except OSError:
                return
            for byte in data:
                if byte in b"\r\n":
                    command = line.decode()
                    line.clear()
                    received.append(command)
                    if command == "sysctl debug.kdb.enter=1":
                        os.write(slave, b"\r\nKDB: enter: sysctl debug.kdb.enter\r\n[ thread pid 1 tid 1 ]\r\ndb> ")
                    elif command:
                        os.write(slave, f"{command}\r\nresult\r\ndb> ".encode())
                else:
                    line.append(byte)

    threading.Thread(target=ddb, daemon=True).start()
    dialect = DebuggerDialect(
        name="ddb",
        prompt=r"db> ",
        pager=r"--More--",
        pager_answer=" ",
        disable_pager="set $lines 0",
        resume="continue",
        eol="\r",
        entry_methods=(EntryMethod(EntryKind.SHELL_COMMAND, "sysctl debug.kdb.enter=1"),),
    )
    console = Console(FdStream(master), timeout=5)
    try:
        db = Debugger(console, dialect, arch="amd64")
        banner = db.enter()
        assert "KDB: enter" in banner
        assert db.command("show pcpu").output == "result"
        assert received[:3] == ["sysctl debug.kdb.enter=1", "set $lines 0", "show pcpu"]
    finally:
        console.close()
        os.close(slave)
