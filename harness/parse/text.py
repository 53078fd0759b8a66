"""Cleaning what a serial console really delivers, and the line helpers every parser shares.

A FreeBSD serial console is not clean text:

* line ends are ``\\r\\n`` from the kernel and getty, ``\\n`` from some captures, sometimes ``\\n\\r``;
* the Lua loader draws its menu with ANSI cursor moves (``ESC[row;colH``), clears (``ESC[2J``), colours
  (``ESC[1m``); the countdown is redrawn in place, so a raw capture has many screens on one "line";
* DDB's pager prints ``--More--\\r`` and then erases it with eight spaces and ``\\r`` (sys/ddb/db_output.c);
* root's login runs ``resizewin`` whose ``ESC[6n`` query leaves ``ESC[24;80R``-style replies;
* a lone ``\\r`` means "back to column 0": what follows overwrites the line.

:func:`clean_console` turns that into plain ``\\n``-separated lines, keeping the text a person would have seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from harness.errors import ParseError

#: CSI sequences that move the cursor to an absolute place or clear the screen: the start of a new visual line.
_CSI_NEWLINE = re.compile(r"\x1b\[[0-9;]*[HfJ]")
#: Every other escape: CSI (colours, erase-line, cursor save/restore, cursor-position replies), OSC, charset
#: selection and two-byte escapes.
_ESCAPE = re.compile(
    r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[()][0-9A-Za-z]|\x1b[@-Z\\-_]"
)
#: DDB's pager prompt and the erase that follows it once a key was pressed (``--More--\r`` + 8 spaces + ``\r``);
#: logs that dropped every CR keep ``--More--`` and the 8 spaces in front of the next line.
_PAGER = re.compile(r"--More--\r(?:[ \t]*\r)?")
_PAGER_NO_CR = re.compile(r"--More-- {8}")
#: The harness's own timestamped console log (harness.vm.console): ``[   12.345] `` before each line read.
STAMP = re.compile(r"^\[ *(?P<seconds>\d+\.\d+)\] ", re.MULTILINE)
_STAMPED_PROBE = 4
#: Control characters with no place in text (NUL, BEL, backspace, ...), keeping TAB, LF and CR.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")
#: The same characters one by one: ``c in text`` is a memchr, far cheaper than a regex scan of a 100 MB log.
_CONTROL_CHARS = tuple(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F))


def _overlay(line: str) -> str:
    """Apply lone carriage returns the way a terminal does: each segment overwrites from column 0."""
    segments = line.split("\r")
    shown = segments[0]
    for segment in segments[1:]:
        shown = segment + shown[len(segment) :]
    return shown.rstrip(" ") if len(segments) > 1 else shown


def is_stamped(text: str) -> bool:
    """True for the harness's timestamped console log: its first lines (after ``#`` comments) carry stamps."""
    lines = [line for line in text[:4096].split("\n")[:-1] if line and not line.startswith("# ")]
    probe = lines[:_STAMPED_PROBE]
    return bool(probe) and all(STAMP.match(line) for line in probe)


def clean_console(text: str) -> str:
    """Plain ``\\n``-separated text from raw console output (see the module docstring for what is undone).

    A timestamped harness console log loses its stamps (read them first with :func:`stamped_chunks`)."""
    if text.startswith(("[", "# ")) and is_stamped(text):
        text = STAMP.sub("", text)
    if "\x1b" in text:
        text = _CSI_NEWLINE.sub("\n", text)
        text = _ESCAPE.sub("", text)
        text = text.replace("\x1b", "")
    if "\r" in text:
        if "--More--\r" in text:
            text = _PAGER.sub("--More--\n", text)
        text = text.replace("\r\n", "\n")
        if "\n\r" in text:
            text = text.replace("\n\r", "\n")
        if "\r" in text:
            text = "\n".join(_overlay(line) if "\r" in line else line for line in text.split("\n"))
    if "--More--  " in text:
        text = _PAGER_NO_CR.sub("--More--\n", text)
    if any(c in text for c in _CONTROL_CHARS):
        text = _CONTROL.sub("", text)
    return text


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line_no, line)`` for each line of cleaned text, 1-based."""
    yield from enumerate(clean_console(text).split("\n"), start=1)


def nonblank_lines(text: str) -> list[tuple[int, str]]:
    """The numbered lines that are not blank."""
    return [(n, line) for n, line in numbered_lines(text) if line.strip()]


def stamped_chunks(text: str) -> list[tuple[float | None, str]]:
    """A timestamped console log as ``(seconds, text)`` pieces in read order, stamps removed; the log's own ``#``
    comment lines become empty lines. Lines without a stamp continue the line before (one line read in two parts).
    """
    chunks: list[tuple[float | None, str]] = []
    time: float | None = None
    pieces: list[str] = []
    lines = text.split("\n")
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        if line.startswith("# ") and not STAMP.match(line):
            line = ""  # the log's own comment: keep the line (numbers match the file), not its text
        match = STAMP.match(line)
        if match:
            seconds = float(match.group("seconds"))
            if pieces and seconds != time:
                chunks.append((time, "".join(pieces)))
                pieces = []
            time, line = seconds, line[match.end() :]
        pieces.append(line if last else line + "\n")
    if pieces and "".join(pieces):
        chunks.append((time, "".join(pieces)))
    return chunks


class NotANumber(ParseError, ValueError):
    """Guest text stands where a number belongs and is not one (``pcb: 0x``, 5000 digits). A ParseError (exit 2,
    naming the line) for callers, and still a ValueError for the few that treat a bad number as "corrupted"."""


def to_int(text: str | int, base: int = 10, *, line_no: int | None = None, line: str | None = None) -> int:
    """``int(text, base)`` for text read from a guest (or a number from its libxo JSON): the one place parsers turn
    guest output into integers. A kernel prints 64-bit values; anything wider is not one of its numbers (and would
    overflow float arithmetic)."""
    try:
        value = text if isinstance(text, int) and not isinstance(text, bool) else int(text, base)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        shown = repr(text[:40]) if isinstance(text, str) else type(text).__name__
        raise NotANumber(f"not a base-{base} number: {shown}", line_no=line_no, line=line) from None
    if not -(2**63) <= value < 2**64:
        raise NotANumber(f"{str(text)[:40]!r} is beyond 64 bits", line_no=line_no, line=line)
    return value


def float_to_int(value: float, *, line_no: int | None = None, line: str | None = None) -> int:
    """``int(value)`` of a float parsed from guest text (``1e400`` is infinite, ``nan`` is no number)."""
    try:
        return int(value)
    except (ValueError, OverflowError):
        raise NotANumber(f"not a finite number: {value!r}", line_no=line_no, line=line) from None
