"""Kernel backtraces as FreeBSD prints them (``KDB: stack backtrace:``, DDB ``bt`` / ``trace``).

Three layouts are real (see the fixtures):

* DDB on amd64 (sys/amd64/amd64/db_trace.c): ``vpanic() at vpanic+0x1e0/frame 0xfffffe0016abb580``; i386 adds the
  arguments: ``vpanic(150acba,ffc0dd60,...) at vpanic+0xf4/frame 0xffc0dd40``; a frame without a symbol reads
  ``calltrap() at 0xffc031ef/frame 0xffc0df60``. Trap and syscall frames are separator lines
  ``--- trap 0xc, rip = 0x…, rsp = 0x…, rbp = 0x… ---`` / ``--- syscall (198, FreeBSD ELF64, nosys), rip = … ---``.
* DDB on arm64 (sys/arm64/arm64/db_trace.c): ``vpanic() at kassert_panic+0x164`` then indented
  ``pc = 0x…  lr = 0x…`` and ``sp = 0x…  fp = 0x…`` lines and a blank line; the ``at`` names the return address.
* Without DDB (stack(9), sys/kern/subr_stack.c ``stack_sbuf_print``): ``#7 0xffffffff810302fc at atrtc_settime+0xc``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import ParseError
from harness.parse.text import to_int

_DDB_FRAME = re.compile(
    r"^(?P<function>[\w.$]+|\(null\))\((?P<args>[^)]*)\) at "
    r"(?:(?P<symbol>[\w.$]+)\+(?P<offset>0x[0-9a-fA-F]+)|(?P<address>0x[0-9a-fA-F]+))"
    r"(?:/frame (?P<frame>0x[0-9a-fA-F]+))?\s*$"
)
_NUMBERED_FRAME = re.compile(
    r"^#(?P<index>\d+) (?P<address>0x[0-9a-fA-F]+) at (?:(?P<symbol>[\w.$]+)\+(?P<offset>0x[0-9a-fA-F]+)|\?\?)\s*$"
)
_ARM64_REGS = re.compile(r"^\s+(?:pc|sp) = 0x[0-9a-fA-F]+\s+(?:lr|fp) = 0x[0-9a-fA-F]+\s*$")
_SEPARATOR = re.compile(r"^--- (?P<what>trap|syscall|interrupt|exception)\b(?P<detail>.*?)\s*---\s*$")


@dataclass(frozen=True)
class Frame:
    """One frame of a backtrace.

    ``function`` is the function the frame belongs to (the name before ``()`` in DDB form, the symbol in ``#N``
    form); ``offset`` is the offset in ``symbol``; ``args`` are i386 DDB arguments.
    """

    function: str
    line_no: int
    symbol: str | None = None
    offset: int | None = None
    address: int | None = None
    frame_pointer: int | None = None
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrapMarker:
    """A ``--- trap 0xc, rip = … ---`` or ``--- syscall (…) ---`` line between frames; ``after_frame`` is the
    number of frames printed before it."""

    what: str
    detail: str
    line_no: int
    after_frame: int


@dataclass(frozen=True)
class Backtrace:
    style: str  # "ddb" | "numbered" | "arm64"
    frames: tuple[Frame, ...]
    markers: tuple[TrapMarker, ...]
    first_line: int
    last_line: int

    @property
    def functions(self) -> list[str]:
        return [f.function for f in self.frames]

    def frames_after_first_trap(self) -> tuple[Frame, ...] | None:
        """The frames printed after the first ``--- trap`` marker, or ``None`` if there is none."""
        for marker in self.markers:
            if marker.what == "trap":
                return self.frames[marker.after_frame :]
        return None


def _hex(text: str | None) -> int | None:
    return to_int(text, 16) if text else None


def frame_from_line(line: str, line_no: int) -> Frame | None:
    """A frame if the line is one (any layout), else ``None``."""
    match = _DDB_FRAME.match(line)
    if match:
        args = tuple(a for a in match.group("args").split(",") if a) if match.group("args") else ()
        return Frame(
            function=match.group("function"),
            line_no=line_no,
            symbol=match.group("symbol"),
            offset=_hex(match.group("offset")),
            address=_hex(match.group("address")),
            frame_pointer=_hex(match.group("frame")),
            args=args,
        )
    match = _NUMBERED_FRAME.match(line)
    if match:
        symbol = match.group("symbol")
        return Frame(
            function=symbol or "??",
            line_no=line_no,
            symbol=symbol,
            offset=_hex(match.group("offset")),
            address=_hex(match.group("address")),
        )
    return None


def parse_backtrace(lines: list[tuple[int, str]]) -> Backtrace:
    """The backtrace at the start of ``lines`` (numbered, after ``KDB: stack backtrace:`` or a ``bt`` command).

    Reading stops at the first line that is neither a frame, a separator, nor an arm64 register line. An empty
    backtrace, or one whose first line looks like a frame but is cut, raises ParseError naming that line.
    """
    frames: list[Frame] = []
    markers: list[TrapMarker] = []
    style = ""
    last = lines[0][0] if lines else 0
    for line_no, line in lines:
        frame = frame_from_line(line, line_no)
        if frame is not None:
            frames.append(frame)
            style = style or ("numbered" if line.startswith("#") else "ddb")
            last = line_no
            continue
        separator = _SEPARATOR.match(line)
        if separator:
            markers.append(TrapMarker(separator.group("what"), separator.group("detail").strip(), line_no, len(frames)))
            last = line_no
            continue
        if _ARM64_REGS.match(line) or (not line.strip() and style == "arm64"):
            style = "arm64"
            last = line_no
            continue
        break
    if not frames:
        where, text = lines[0] if lines else (None, None)
        raise ParseError("backtrace has no frames", line_no=where, line=text)
    first = frames[0].line_no
    return Backtrace(style or "ddb", tuple(frames), tuple(markers), first, last)
