"""``uname -a`` (and ``-ap``, ``-snrmp``) output: host, release, branch, revision, ident, arch.

usr.bin/uname prints ``sysname nodename release version machine [processor]``; ``version`` is kern.version with
its newlines turned into spaces, in either of the forms described in :mod:`harness.parse.version`:

* ``FreeBSD freebsd 12.1-RELEASE FreeBSD 12.1-RELEASE r354233 GENERIC  amd64``
* ``FreeBSD h 14.0-CURRENT FreeBSD 14.0-CURRENT #0 main-n262122-2ef2c26f3f13: Thu Apr 13 08:06:35 UTC 2023
  root@releng1.nyi.freebsd.org:/usr/obj/usr/src/amd64.amd64/sys/GENERIC amd64``
* ``FreeBSD generic 12.2-RELEASE arm64 aarch64`` (``uname -snrmp``: no version field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import ParseError
from harness.parse.text import numbered_lines
from harness.parse.version import ARCHES, KernelVersion, parse_version_line

_ARCH = "|".join(sorted(ARCHES))
_FULL = re.compile(
    rf"^FreeBSD (?P<host>\S+) (?P<release>\d+\.\d+-\S+) (?P<version>FreeBSD .*?)\s+(?P<machine>{_ARCH})"
    rf"(?:\s+(?P<processor>{_ARCH}))?\s*$"
)
_SHORT = re.compile(
    rf"^FreeBSD (?P<host>\S+) (?P<release>\d+\.\d+-\S+) (?P<machine>{_ARCH})(?: (?P<processor>\w+))?\s*$"
)
_LOOKS_LIKE = re.compile(r"^FreeBSD \S+ \d+\.\d+-")


@dataclass(frozen=True)
class Uname:
    host: str
    release: str
    machine: str
    processor: str | None
    version: KernelVersion | None
    line_no: int

    @property
    def ident(self) -> str | None:
        return self.version.ident if self.version else None

    @property
    def branch(self) -> str | None:
        return self.version.branch if self.version else None

    @property
    def revision(self) -> str | None:
        return self.version.revision if self.version else None


def _one(line_no: int, line: str) -> Uname:
    full = _FULL.match(line)
    if full:
        version = parse_version_line(full.group("version"))
        if version is None:
            raise ParseError("uname version field is not a FreeBSD version string", line_no=line_no, line=line)
        return Uname(full["host"], full["release"], full["machine"], full["processor"], version, line_no)
    short = _SHORT.match(line)
    if short:
        return Uname(short["host"], short["release"], short["machine"], short["processor"], None, line_no)
    raise ParseError("uname line is cut or garbled (no machine name at its end)", line_no=line_no, line=line)


def parse_uname_all(text: str) -> list[Uname]:
    """Every ``uname`` line in a text (prompts and other commands' output are skipped)."""
    found = [_one(n, line.strip()) for n, line in numbered_lines(text) if _LOOKS_LIKE.match(line.strip())]
    if not found:
        raise ParseError("no 'FreeBSD host release …' uname line", line_no=1)
    return found


def parse_uname(text: str) -> Uname:
    """The last ``uname`` line in a text (the most recent when a transcript shows several)."""
    return parse_uname_all(text)[-1]
