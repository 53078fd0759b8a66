"""DDB sessions on the serial console: split at each ``db> command`` and read each command's output.

Process and thread commands follow sys/ddb/db_ps.c:

* ``ps``: header ``  pid  ppid  pgrp   uid  state   wmesg   wchan               cmd`` (wchan is 18 wide on 64-bit
  kernels, 10 on 32-bit); a process line is ``%5d %5d %5d %5d `` + `` %-6.6s `` (state) and then either
  `` (threaded)`` and the command, or the thread columns; a thread line of a threaded process is ``%6d`` and 18
  spaces, then the same state and thread columns: ``%c%-7.7s `` (``*`` when blocked on a lock, wmesg or
  ``CPU n``), the wchan (``%p`` or blanks), two spaces, the name (``[name]`` for kernel processes).
* ``show thread``: ``Thread %d at %p:``, `` proc (pid %d): %p``, `` name: %s``, `` pcb: %p``, `` stack: %p-%p``,
  `` flags: %#x  pflags: %#x``, `` state: …`` (``INHIBITED: {SLEEPING, SWAPPED}``), then wmesg/priority lines.
* ``show proc``: ``Process %d (%s) at %p:`` then `` key: value`` lines and the thread lines.
* ``bt`` / ``trace``: ``Tracing pid %d tid %ld td %p`` then a backtrace (:mod:`harness.parse.backtrace`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import ParseError
from harness.parse.backtrace import Backtrace, parse_backtrace
from harness.parse.console import DB_PROMPT, MORE_PROMPT
from harness.parse.ddb_vm import (
    Lines,
    parse_show_malloc,
    parse_show_object,
    parse_show_page,
    parse_show_pageq,
    parse_show_pginfo,
    parse_show_uma,
    parse_show_vmem,
)
from harness.parse.text import numbered_lines, to_int

# --- ps -------------------------------------------------------------------------------------------------------

_PS_HEADER = re.compile(r"^\s*pid\s+ppid\s+pgrp\s+uid\s+state\s+wmesg\s+wchan(?P<pad>\s+)cmd\s*$")
_PS_PROCESS = re.compile(r"^\s*(?P<pid>\d+) +(?P<ppid>\d+) +(?P<pgrp>\d+) +(?P<uid>\d+) ")
_PS_THREAD = re.compile(r"^\s*(?P<tid>\d+) {18}")


@dataclass(frozen=True)
class PsThread:
    tid: int | None
    state: str
    wmesg: str
    on_lock: bool
    wchan: int | None
    name: str
    line_no: int

    @property
    def swapped(self) -> bool:
        """``W`` in a thread state: the thread's stack is swapped out (before stack swapping was removed)."""
        return "W" in self.state


@dataclass(frozen=True)
class PsProcess:
    pid: int
    ppid: int
    pgrp: int
    uid: int
    state: str
    command: str
    system: bool
    threads: tuple[PsThread, ...]
    line_no: int

    @property
    def swapped(self) -> bool:
        """``W`` after the first letter of a process state: not in memory (``P_INMEM`` clear)."""
        return "W" in self.state[1:]


def _thread_columns(rest: str, wchan_width: int, tid: int | None, line_no: int, line: str) -> PsThread:
    """`` %-6.6s %c%-7.7s <wchan>  <name>`` as the thread columns that follow the first 24 characters."""
    if len(rest) < 8 + 9 + wchan_width + 2:
        raise ParseError("ps line is cut inside its thread columns", line_no=line_no, line=line)
    state = rest[1:7].strip()
    marker, wmesg = rest[8], rest[9:16].strip()
    wchan_text = rest[17 : 17 + wchan_width].strip()
    name = rest[17 + wchan_width + 2 :].strip()
    try:
        wchan = to_int(wchan_text, 16) if wchan_text else None
    except ValueError:
        raise ParseError(f"ps wchan is not an address ({wchan_text!r})", line_no=line_no, line=line) from None
    return PsThread(tid, state, wmesg, marker == "*", wchan, name, line_no)


def parse_ps(lines: Lines) -> list[PsProcess]:
    """DDB ``ps``: processes with their threads (a single-threaded process carries its one thread's columns)."""
    processes: list[PsProcess] = []
    wchan_width = 18
    current: dict[str, Any] | None = None

    def close() -> None:
        if current is not None:
            processes.append(PsProcess(threads=tuple(current.pop("threads")), **current))

    for line_no, line in lines:
        if not line.strip():
            continue
        if header := _PS_HEADER.match(line):
            wchan_width = 10 if len(header["pad"]) < 12 else 18
            continue
        if (process := _PS_PROCESS.match(line)) and len(line) > process.end():
            close()
            rest = line[process.end() :]
            state = rest[1:7].strip()
            threaded = rest[8:].lstrip().startswith("(threaded)")
            ids = {k: to_int(v) for k, v in process.groupdict().items()}
            if threaded:
                command = rest[8:].strip()[len("(threaded)") :].strip()
                threads: list[PsThread] = []
            else:
                thread = _thread_columns(rest, wchan_width, None, line_no, line)
                command, threads = thread.name, [thread]
            system = command.startswith("[") and command.endswith("]")
            current = dict(
                ids,
                state=state,
                command=command.strip("[]") if system else command,
                system=system,
                threads=threads,
                line_no=line_no,
            )
            continue
        if (thread_match := _PS_THREAD.match(line)) and current is not None:
            rest = line[thread_match.end() :]
            thread = _thread_columns(rest, wchan_width, to_int(thread_match["tid"]), line_no, line)
            name = thread.name.strip("[]") if current["system"] else thread.name
            current["threads"].append(
                PsThread(thread.tid, thread.state, thread.wmesg, thread.on_lock, thread.wchan, name, line_no)
            )
            continue
        raise ParseError("not a DDB ps line", line_no=line_no, line=line)
    close()
    if not processes:
        raise ParseError("no process in ps output", line_no=lines[0][0] if lines else None)
    return processes


# --- show thread / show proc ----------------------------------------------------------------------------------

_THREAD_HEAD = re.compile(r"^Thread (?P<tid>\d+) at (?P<addr>0x[0-9a-f]+):\s*$")
_THREAD_PROC = re.compile(r"^ proc \(pid (?P<pid>\d+)\): (?P<proc>0x[0-9a-f]+)\s*$")
_THREAD_STACK = re.compile(r"^ stack: (?P<low>0x[0-9a-f]+)-(?P<high>0x[0-9a-f]+)\s*$")
_THREAD_FLAGS = re.compile(r"^ flags: (?P<flags>0x[0-9a-f]+|0)\s+pflags: (?P<pflags>0x[0-9a-f]+|0)\s*$")
_THREAD_STATE = re.compile(r"^ state: (?P<state>.*?)\s*$")
_KEY_VALUE = re.compile(r"^ (?P<key>[A-Za-z][\w .]*?): (?P<value>.*?)\s*$")


@dataclass(frozen=True)
class ThreadInfo:
    """``show thread``: ``stack_low``..``stack_high`` is td_kstack .. td_kstack + pages*PAGE_SIZE - 1."""

    tid: int
    address: int
    pid: int
    proc: int
    name: str | None
    pcb: int | None
    stack_low: int
    stack_high: int
    flags: int
    pflags: int
    state: str
    inhibitors: tuple[str, ...]
    extra: dict[str, str]
    line_no: int

    @property
    def stack_pages(self) -> int:
        return (self.stack_high + 1 - self.stack_low) // 4096

    @property
    def swapped(self) -> bool:
        return "SWAPPED" in self.inhibitors


def _hexint(text: str) -> int:
    return to_int(text, 16)


def parse_show_thread(lines: Lines) -> ThreadInfo:
    content = [(n, line) for n, line in lines if line.strip()]
    if not content or not (head := _THREAD_HEAD.match(content[0][1])):
        where = content[0] if content else (None, None)
        raise ParseError("expected 'Thread N at 0x…:' from show thread", line_no=where[0], line=where[1])
    found: dict[str, Any] = {"name": None, "pcb": None}
    extra: dict[str, str] = {}
    for line_no, line in content[1:]:
        if m := _THREAD_PROC.match(line):
            found.update(pid=to_int(m["pid"]), proc=_hexint(m["proc"]))
        elif m := _THREAD_STACK.match(line):
            found.update(stack_low=_hexint(m["low"]), stack_high=_hexint(m["high"]))
        elif m := _THREAD_FLAGS.match(line):
            found.update(flags=to_int(m["flags"], 0), pflags=to_int(m["pflags"], 0))
        elif m := _THREAD_STATE.match(line):
            found["state"] = m["state"]
        elif m := _KEY_VALUE.match(line):
            key, value = m["key"], m["value"]
            if key == "name":
                found["name"] = value
            elif key == "pcb":
                found["pcb"] = to_int(value, 16, line_no=line_no, line=line) if value.startswith("0x") else None
            else:
                extra[key] = value
        else:
            raise ParseError("not a show thread line", line_no=line_no, line=line)
    missing = [k for k in ("pid", "stack_low", "flags", "state") if k not in found]
    if missing:
        raise ParseError(
            f"show thread output lacks {', '.join(missing)} (cut?)", line_no=content[-1][0], line=content[-1][1]
        )
    state = found["state"]
    inhibitors = tuple(s.strip() for s in state.partition("{")[2].rstrip("}").split(",") if s.strip())
    return ThreadInfo(
        tid=to_int(head["tid"]),
        address=_hexint(head["addr"]),
        inhibitors=inhibitors,
        extra=extra,
        line_no=content[0][0],
        **found,
    )


_PROC_HEAD = re.compile(r"^Process (?P<pid>\d+) \((?P<comm>.*)\) at (?P<addr>0x[0-9a-f]+):\s*$")


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    command: str
    address: int
    fields: dict[str, str]
    threads: tuple[PsThread, ...]
    line_no: int


def parse_show_proc(lines: Lines) -> ProcInfo:
    content = [(n, line) for n, line in lines if line.strip()]
    if not content or not (head := _PROC_HEAD.match(content[0][1])):
        where = content[0] if content else (None, None)
        raise ParseError("expected 'Process N (comm) at 0x…:' from show proc", line_no=where[0], line=where[1])
    fields: dict[str, str] = {}
    threads: list[PsThread] = []
    wchan_width = 18
    for line_no, line in content[1:]:
        if thread := _PS_THREAD.match(line):
            rest = line[thread.end() :]
            threads.append(_thread_columns(rest, wchan_width, to_int(thread["tid"]), line_no, line))
        elif line.startswith("   (") and line.rstrip().endswith(")"):
            key, _, value = line.strip().strip("()").partition(" ")
            fields[key] = value
        elif m := _KEY_VALUE.match(line):
            fields[m["key"]] = m["value"]
            if m["key"] == "vmspace" and len(m["value"]) <= 10:
                wchan_width = 10
        else:
            raise ParseError("not a show proc line", line_no=line_no, line=line)
    return ProcInfo(to_int(head["pid"]), head["comm"], _hexint(head["addr"]), fields, tuple(threads), content[0][0])


# --- bt / show registers --------------------------------------------------------------------------------------

_TRACING = re.compile(r"^Tracing (?:pid (?P<pid>\d+) tid (?P<tid>\d+) td (?P<td>0x[0-9a-f]+)|command .*)\s*$")
_REGISTER = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\s+(?P<value>0x[0-9a-f]+|-?\d+)(?:\s+(?P<symbol>\S.*?))?\s*$")


@dataclass(frozen=True)
class DdbTrace:
    pid: int | None
    tid: int | None
    backtrace: Backtrace


def parse_bt(lines: Lines) -> DdbTrace:
    content = list(lines)
    pid = tid = None
    while content and not content[0][1].strip():
        content = content[1:]
    if content and (m := _TRACING.match(content[0][1])):
        pid = to_int(m["pid"]) if m["pid"] else None
        tid = to_int(m["tid"]) if m["tid"] else None
        content = content[1:]
    return DdbTrace(pid, tid, parse_backtrace(content))


def parse_show_registers(lines: Lines) -> dict[str, int]:
    """``show registers``: register values by name (the trailing ``func+off: insn`` line is skipped)."""
    registers: dict[str, int] = {}
    for line_no, line in lines:
        if not line.strip() or re.match(r"^[\w.$]+\+0x[0-9a-f]+:", line):
            continue
        match = _REGISTER.match(line)
        if not match:
            raise ParseError("not a 'register value' line", line_no=line_no, line=line)
        registers[match["name"]] = to_int(match["value"], 0)
    if not registers:
        raise ParseError("no registers in show registers output", line_no=lines[0][0] if lines else None)
    return registers


# --- sessions -------------------------------------------------------------------------------------------------

#: Command (normalised: lower case, single spaces, no address/modifier) → output parser.
PARSERS: dict[str, Callable[[Lines], Any]] = {
    "show object": parse_show_object,
    "show pginfo": parse_show_pginfo,
    "show thread": parse_show_thread,
    "show proc": parse_show_proc,
    "show vmem": parse_show_vmem,
    "show all vmem": parse_show_vmem,
    "show page": parse_show_page,
    "show pageq": parse_show_pageq,
    "show uma": parse_show_uma,
    "show malloc": parse_show_malloc,
    "show registers": parse_show_registers,
    "show reg": parse_show_registers,
    "ps": parse_ps,
    "bt": parse_bt,
    "trace": parse_bt,
    "where": parse_bt,
}


def command_key(command: str) -> str:
    """``show pginfo/v 0xfffffe00…`` → ``show pginfo``; ``show all vmem`` stays whole; ``trace 123`` → ``trace``."""
    words = command.strip().lower().split()
    kept: list[str] = []
    for word in words:
        bare = word.split("/", 1)[0]
        if not bare or bare[0].isdigit() or bare.startswith(("*", "$", "0x")):
            break
        kept.append(bare)
    return " ".join(kept)


@dataclass(frozen=True)
class DdbCommand:
    command: str
    line_no: int
    output: tuple[str, ...]
    parsed: Any


@dataclass(frozen=True)
class DdbSession:
    commands: tuple[DdbCommand, ...]

    def find(self, key: str) -> list[DdbCommand]:
        return [c for c in self.commands if command_key(c.command) == key]


def split_session(text: str) -> list[tuple[int, str, Lines]]:
    """``(line_no, command, output lines)`` for each ``db> command`` in a console text; ``--More--`` lines are
    dropped (the pager's prompt is not output)."""
    blocks: list[tuple[int, str, Lines]] = []
    for line_no, line in numbered_lines(text):
        prompt = DB_PROMPT.match(line)
        if prompt:
            blocks.append((line_no, (prompt["command"] or "").strip(), []))
        elif blocks and not MORE_PROMPT.fullmatch(line.strip()):
            blocks[-1][2].append((line_no, line))
    return blocks


def parse_ddb_session(text: str) -> DdbSession:
    """Every command of a DDB session with its output parsed where a parser exists (raw lines otherwise).

    A command whose output is malformed raises ParseError naming the line."""
    commands: list[DdbCommand] = []
    for line_no, command, output in split_session(text):
        if not command:
            continue
        parser = PARSERS.get(command_key(command))
        parsed = parser(output) if parser is not None and any(line.strip() for _, line in output) else None
        commands.append(DdbCommand(command, line_no, tuple(line for _, line in output), parsed))
    if not commands:
        raise ParseError("no 'db> command' in the text", line_no=1)
    return DdbSession(tuple(commands))


def parse_command_output(command: str, text: str) -> Any:
    """The output of one DDB command (without its ``db>`` line), parsed by the command's parser."""
    parser = PARSERS.get(command_key(command))
    if parser is None:
        raise ParseError(f"no parser for DDB command {command!r}")
    lines = [(n, line) for n, line in numbered_lines(text)]
    while lines and not lines[-1][1].strip():
        lines.pop()
    return parser(lines)
