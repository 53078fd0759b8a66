"""Guest-derived text made safe for the operator's terminal, logs, JUnit and one-line errors.

A guest console (or a stored run directory) can hold anything: NUL, BEL, backspaces, OSC escapes that set the
terminal title or write the clipboard, C1 controls, characters XML 1.0 forbids, and lines of megabytes. At every
boundary where such text leaves the harness it is passed through :func:`printable` (control characters shown as
``\\xNN``, an over-long text cut with a note) or :func:`xml_safe`.
"""

from __future__ import annotations

import re

#: Default bound of a message line: long enough for any real error, short enough for a terminal and a CI log.
MAX_MESSAGE = 2000
#: C0 controls but TAB and LF, DEL, C1 controls, lone surrogates (undecodable bytes) and the Unicode line and
#: paragraph separators (which terminals and log viewers treat as line breaks).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_UNPRINTABLE_OR_NL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
#: What XML 1.0 does not allow in a document at all (even escaped), the non-characters U+FFFE/U+FFFF, and the C1
#: and other C0 controls that it allows but that only mean something to a terminal.
_NOT_XML = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def cut(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` bounded to ``limit`` characters, with a note of how much was dropped."""
    if len(text) <= limit:
        return text
    dropped = len(text[limit:].encode("utf-8", "surrogatepass"))
    return f"{text[:limit]}… [cut {dropped} bytes]"


def printable(text: str, limit: int = MAX_MESSAGE, *, keep_newlines: bool = True) -> str:
    """``text`` with control and escape characters shown as ``\\xNN`` (TAB kept; LF kept unless
    ``keep_newlines`` is false), cut to ``limit`` characters with a note."""
    text = cut(str(text), limit)
    pattern = _UNPRINTABLE if keep_newlines else _UNPRINTABLE_OR_NL
    return pattern.sub(_escaped, text)


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` as exactly one printable line (newlines shown as ``\\x0a``)."""
    return printable(text, limit, keep_newlines=False)


def xml_safe(text: str, limit: int | None = None) -> str:
    """``text`` that XML 1.0 accepts: forbidden characters shown as ``\\xNN``; optionally cut."""
    text = str(text)
    if limit is not None:
        text = cut(text, limit)
    return _NOT_XML.sub(_escaped, text)
