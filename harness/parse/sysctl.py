"""``sysctl -a``, ``sysctl name ...``, ``sysctl -d`` and ``sysctl -o`` output (sbin/sysctl/sysctl.c).

sysctl prints ``name: value`` per OID (``name=value`` with ``-e``). A value may span several lines (``kern.conftxt``,
``kern.sched.topology_spec``, ``vm.vmtotal``, ``vm.phys_free``), so a line only starts a new entry when it begins
with a name under one of the MIB's top-level nodes; anything else continues the value before it. Names may contain
spaces (``kern.eventtimer.et.ARM MPCore Eventtimer.flags``). ``sysctl -o`` shows opaque values as ``Format:S,…
Length:N Dump:0x…``. A name the kernel lacks yields ``sysctl: unknown oid 'vm.kstacks'`` on stderr, which is kept
as a missing name (the G0-list fingerprint depends on it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.errors import ParseError
from harness.parse.text import numbered_lines, to_int

#: The top-level nodes of FreeBSD's sysctl MIB (sys/sys/sysctl.h CTL_* plus the later dynamic roots).
TOP_LEVEL = frozenset(
    {
        "sysctl",
        "kern",
        "vm",
        "vfs",
        "net",
        "debug",
        "hw",
        "machdep",
        "user",
        "p1003_1b",
        "compat",
        "security",
        "dev",
        "kstat",
        "regression",
    }
)
_ENTRY = re.compile(r"^(?P<name>(?P<root>[a-z_0-9]+)(?:\.[^:=\n]*?)?)(?P<sep>: |:$|=)(?P<value>.*)$")
_UNKNOWN = re.compile(r"^sysctl: unknown oid '(?P<name>[^']+)'")
_STRUCT = re.compile(r"^\{ (?P<body>.*?) \}(?: (?P<rest>.*))?$")
_OPAQUE = re.compile(r"^Format:(?P<format>\S+) Length:(?P<length>\d+) Dump:(?P<dump>0x[0-9a-f]*)")


@dataclass(frozen=True)
class SysctlValue:
    """One OID: its text value (continuation lines joined with ``\\n``) and where it was read."""

    name: str
    text: str
    line_no: int

    def as_int(self) -> int:
        """The value as an integer; ParseError if it is not one."""
        try:
            return to_int(self.text.strip(), 0) if self.text.strip().startswith("0x") else to_int(self.text.strip())
        except ValueError:
            raise ParseError(f"{self.name} is not an integer", line_no=self.line_no, line=self.text) from None

    def as_ints(self) -> list[int]:
        """A space-separated list of integers (``kern.cp_time``, ``vm.swap_info``-style counters)."""
        try:
            return [to_int(t) for t in self.text.split()]
        except ValueError:
            raise ParseError(f"{self.name} is not a list of integers", line_no=self.line_no, line=self.text) from None

    def as_struct(self) -> dict[str, str]:
        """``{ hz = 1000, tick = 1000 }`` (kern.clockrate; kern.boottime adds the date after the braces, which is
        dropped) as a dict of strings."""
        match = _STRUCT.match(self.text.strip())
        if not match:
            raise ParseError(f"{self.name} is not a {{ key = value }} struct", line_no=self.line_no, line=self.text)
        pairs = [p.split("=", 1) for p in match.group("body").split(", ")]
        if any(len(p) != 2 for p in pairs):
            raise ParseError(f"{self.name} has a malformed struct member", line_no=self.line_no, line=self.text)
        return {k.strip(): v.strip() for k, v in pairs}

    def opaque(self) -> tuple[str, int, bytes] | None:
        """``(format, length, bytes)`` for an opaque value printed by ``sysctl -o``, else ``None``."""
        match = _OPAQUE.match(self.text)
        if not match:
            return None
        return match.group("format"), to_int(match.group("length")), bytes.fromhex(match.group("dump")[2:])


@dataclass(frozen=True)
class SysctlOutput:
    values: dict[str, SysctlValue]
    unknown: tuple[str, ...] = ()
    descriptions: bool = False
    order: tuple[str, ...] = field(default=())

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else value.text

    def int(self, name: str) -> int | None:
        value = self.values.get(name)
        return None if value is None else value.as_int()

    def subtree(self, prefix: str) -> dict[str, SysctlValue]:
        """Every OID under ``prefix`` (``vm.uma.kstack_cache``), by full name."""
        dotted = prefix.rstrip(".") + "."
        return {n: v for n, v in self.values.items() if n.startswith(dotted) or n == prefix}


def parse_sysctl(text: str, *, descriptions: bool = False) -> SysctlOutput:
    """``sysctl`` output. With ``descriptions`` (``sysctl -d``) the texts are descriptions, not values.

    Shell prompt lines (``# sysctl kern.ident``, ``root@host:~ # …``) are skipped so transcripts can be read.
    """
    values: dict[str, SysctlValue] = {}
    order: list[str] = []  # first appearance of each name; `values` (a dict) answers "seen?" in O(1)
    unknown: list[str] = []
    current: tuple[str, int, list[str]] | None = None

    def close() -> None:
        if current is not None:
            name, line_no, parts = current
            if name not in values:
                order.append(name)
            values[name] = SysctlValue(name, "\n".join(parts).rstrip("\n"), line_no)

    for line_no, line in numbered_lines(text):
        if (missing := _UNKNOWN.match(line)) is not None:
            close()
            current = None
            unknown.append(missing.group("name"))
            continue
        if _is_prompt(line):
            close()
            current = None
            continue
        entry = _ENTRY.match(line)
        if entry and entry.group("root") in TOP_LEVEL:
            close()
            current = (entry.group("name"), line_no, [entry.group("value")])
            continue
        if current is None:
            if not line.strip():
                continue
            raise ParseError("not a sysctl line (name: value)", line_no=line_no, line=line)
        current[2].append(line)
    close()
    if not values and not unknown:
        raise ParseError("no sysctl values", line_no=1)
    return SysctlOutput(values, tuple(unknown), descriptions, tuple(order))


def _is_prompt(line: str) -> bool:
    """Shell prompts that transcripts put before commands: ``# cmd``, ``$ cmd``, ``root@host:~ # cmd``."""
    return bool(re.match(r"^(?:[#$%] |\S+@\S+:\S* [#$%] )", line))
