"""``vmstat -z``, ``-m``, ``-o``, ``-s`` and interval ``vmstat N`` output (usr.bin/vmstat/vmstat.c).

Formats, from vmstat.c's ``xo_emit`` strings:

* ``-z`` (domemstat_zone): header ``ITEM SIZE LIMIT USED FREE REQ FAIL SLEEP [XDOMAIN]`` (``%-20s %6s %6s %8s %8s
  %8s %8s %4s %4s``, so FAIL and SLEEP run together), rows ``%-20s`` of ``name:`` then ``%6ju, %6ju,%8ju,%8ju,%8ju,
  %4ju,%4ju,%4ju``. Wide numbers eat the padding and touch the comma before (``2105,10295,``). Zone names hold
  spaces (``UMA Kegs``) and may be only a number (``16``). Before XDOMAIN existed (≤ 12) a row has 7 numbers.
  ``--libxo json`` gives ``{"memory-zone-statistics": {"zone": [{"name", "size", "limit", "used", "free",
  "requests", "fail", "sleep", "xdomain"}]}}``.
* ``-m`` (domemstat_malloc): ``%13s %5ju %5juK %8ju  sizes`` (older releases add a HighUse column, ``-``).
* ``-o`` (doobjstat): ``%5ju %5ju %5ju %3d %3d %-3s %-2s %s`` = RES ACT INACT REF SHD CM TP PATH.
* ``-s`` (dosum): ``%9u <description>`` per counter.
* ``vmstat [-H] wait [count]`` (dovmstat): two header lines, then one row per interval.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from harness.errors import ParseError
from harness.parse.text import float_to_int, nonblank_lines, to_int
from harness.util import tomlfile

# --- vmstat -z ---------------------------------------------------------------------------------------------------

_Z_HEADER = re.compile(r"^ITEM\s+SIZE\s+LIMIT\s+USED\s+FREE\s+REQ\s+FAIL\s*SLEEP(?P<xdomain>\s+XDOMAIN)?\s*$")
_Z_ROW = re.compile(
    r"^(?P<name>.+?):\s*(?P<size>\d+),\s*(?P<limit>\d+),\s*(?P<used>\d+),\s*(?P<free>\d+),\s*(?P<requests>\d+),"
    r"\s*(?P<fail>\d+),\s*(?P<sleep>\d+)(?:,\s*(?P<xdomain>\d+))?\s*$"
)


@dataclass(frozen=True)
class ZoneRow:
    """One UMA zone. ``xdomain`` is ``None`` in the older 7-number form."""

    name: str
    size: int
    limit: int
    used: int
    free: int
    requests: int
    fail: int
    sleep: int
    xdomain: int | None
    line_no: int | None = None


@dataclass(frozen=True)
class ZoneTable:
    rows: tuple[ZoneRow, ...]
    has_header: bool
    has_xdomain: bool

    def by_name(self) -> dict[str, ZoneRow]:
        """Rows by zone name (the first of duplicate names, e.g. the several ``malloc-65536`` zones)."""
        result: dict[str, ZoneRow] = {}
        for row in self.rows:
            result.setdefault(row.name, row)
        return result

    def get(self, name: str) -> ZoneRow | None:
        return self.by_name().get(name)


def _zone_from_json(text: str) -> ZoneTable:
    try:
        document = json.loads(text)
        zones = document["memory-zone-statistics"]["zone"]
        rows = tuple(
            ZoneRow(
                name=str(z["name"]),
                size=to_int(z["size"]),
                limit=to_int(z["limit"]),
                used=to_int(z["used"]),
                free=to_int(z["free"]),
                requests=to_int(z["requests"]),
                fail=to_int(z["fail"]),
                sleep=to_int(z["sleep"]),
                xdomain=to_int(z["xdomain"]) if "xdomain" in z else None,
            )
            for z in zones
        )
    except json.JSONDecodeError as exc:
        raise ParseError(f"vmstat -z JSON is malformed: {exc.msg}", line_no=exc.lineno) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(f"vmstat -z JSON lacks the zone statistics ({exc})", line_no=1) from None
    return ZoneTable(rows, has_header=True, has_xdomain=all(r.xdomain is not None for r in rows))


def parse_vmstat_z(text: str) -> ZoneTable:
    """``vmstat -z`` text (with or without its header) or ``vmstat -z --libxo json``."""
    if text.lstrip().startswith("{"):
        return _zone_from_json(text)
    rows: list[ZoneRow] = []
    has_header = False
    widths: set[bool] = set()
    for line_no, line in nonblank_lines(text):
        if _Z_HEADER.match(line):
            has_header = True
            continue
        match = _Z_ROW.match(line)
        if not match:
            raise ParseError(
                "not a vmstat -z row (NAME: SIZE, LIMIT, USED, FREE, REQ, FAIL, SLEEP[, XDOMAIN])",
                line_no=line_no,
                line=line,
            )
        values = {k: to_int(v) for k, v in match.groupdict().items() if k != "name" and v is not None}
        widths.add("xdomain" in values)
        rows.append(
            ZoneRow(name=match.group("name").strip(), xdomain=values.pop("xdomain", None), line_no=line_no, **values)
        )
    if not rows:
        raise ParseError("no vmstat -z rows", line_no=1, line=text.split("\n", 1)[0] if text else "")
    if len(widths) > 1:
        odd = next(r for r in rows if (r.xdomain is not None) != (rows[0].xdomain is not None))
        raise ParseError("vmstat -z rows mix the 7- and 8-number forms", line_no=odd.line_no)
    return ZoneTable(tuple(rows), has_header, has_xdomain=widths == {True})


# --- vmstat -m ---------------------------------------------------------------------------------------------------

_M_HEADER = re.compile(r"^\s*Type\s+InUse\s+MemUse\s+(?:HighUse\s+)?Requests\s+Size\(s\)\s*$")
_M_ROW = re.compile(
    r"^\s*(?P<type>.+?)\s+(?P<inuse>\d+)\s+(?P<memuse>\d+)K\s+(?:(?P<highuse>-|\d+K)\s+)?(?P<requests>\d+)"
    r"(?:\s+(?P<sizes>\d+(?:,\d+)*))?\s*$"
)


@dataclass(frozen=True)
class MallocRow:
    """One malloc(9) type; ``memuse_kib`` is KiB rounded up, ``sizes`` the malloc zones it used."""

    type: str
    in_use: int
    memuse_kib: int
    requests: int
    sizes: tuple[int, ...]
    line_no: int


def parse_vmstat_m(text: str) -> list[MallocRow]:
    """``vmstat -m`` (header optional). Type names longer than the 13-character column are kept whole."""
    rows: list[MallocRow] = []
    for line_no, line in nonblank_lines(text):
        if _M_HEADER.match(line):
            continue
        match = _M_ROW.match(line)
        if not match:
            raise ParseError("not a vmstat -m row (TYPE INUSE MEMUSE K REQUESTS SIZES)", line_no=line_no, line=line)
        sizes = tuple(to_int(s) for s in match.group("sizes").split(",")) if match.group("sizes") else ()
        rows.append(
            MallocRow(
                match.group("type").strip(),
                to_int(match.group("inuse")),
                to_int(match.group("memuse")),
                to_int(match.group("requests")),
                sizes,
                line_no,
            )
        )
    if not rows:
        raise ParseError("no vmstat -m rows", line_no=1)
    return rows


# --- vmstat -o ---------------------------------------------------------------------------------------------------

_O_HEADER = re.compile(r"^\s*RES\s+ACT\s+INACT\s+REF\s+SHD\s+CM\s+TP\s+PATH\s*$")
_O_ROW = re.compile(
    r"^\s*(?P<res>\d+)\s+(?P<act>\d+)\s+(?P<inact>\d+)\s+(?P<ref>-?\d+)\s+(?P<shd>-?\d+)\s+"
    r"(?P<cm>[A-Z?-]{1,3})\s+(?P<tp>--|\?\?|df|vn|sw|dv|ph|dd|sg|md)(?:\s(?P<path>.*))?$"
)
#: The type letters of vmstat.c display_object().
OBJECT_TYPES = {
    "--": "none",
    "df": "default",
    "vn": "vnode",
    "sw": "swap",
    "dv": "device",
    "ph": "phys",
    "dd": "dead",
    "sg": "sg",
    "md": "mgtdevice",
    "??": "unknown",
}


@dataclass(frozen=True)
class ObjectRow:
    """One VM object of ``vmstat -o``: page counts, ref/shadow counts, memory attribute and type letters."""

    resident: int
    active: int
    inactive: int
    ref_count: int
    shadow_count: int
    memattr: str
    type: str
    path: str
    line_no: int

    @property
    def type_name(self) -> str:
        return OBJECT_TYPES[self.type]


def parse_vmstat_o(text: str) -> list[ObjectRow]:
    """``vmstat -o`` (header optional). A missing path is the empty string."""
    rows: list[ObjectRow] = []
    for line_no, line in nonblank_lines(text):
        if _O_HEADER.match(line):
            continue
        match = _O_ROW.match(line)
        if not match:
            raise ParseError("not a vmstat -o row (RES ACT INACT REF SHD CM TP PATH)", line_no=line_no, line=line)
        rows.append(
            ObjectRow(
                resident=to_int(match.group("res")),
                active=to_int(match.group("act")),
                inactive=to_int(match.group("inact")),
                ref_count=to_int(match.group("ref")),
                shadow_count=to_int(match.group("shd")),
                memattr=match.group("cm"),
                type=match.group("tp"),
                path=(match.group("path") or "").strip(),
                line_no=line_no,
            )
        )
    if not rows:
        raise ParseError("no vmstat -o rows", line_no=1)
    return rows


# --- vmstat -s ---------------------------------------------------------------------------------------------------

_S_ROW = re.compile(r"^\s*(?P<value>\d+) +(?P<text>\S.*?)\s*$")
#: crashinfo(8) prints a dashed rule and the command before each section; both are skipped.
_S_DECORATION = re.compile(r"^(?:-{10,}|vmstat -s)\s*$")
#: The two name-cache lines of dosum() carry percentages, not a leading count.
_S_CACHE_HITS = re.compile(
    r"^\s+cache hits \((?P<pos>\d+)% pos \+ (?P<neg>\d+)% neg\) system (?P<pass2>\d+)% per-directory"
)
_S_CACHE_MISC = re.compile(r"^\s+deletions (?P<del>\d+)%, falsehits (?P<false>\d+)%, toolong (?P<long>\d+)%")


def _sum_names() -> dict[str, str]:
    return tomlfile.load_resource("harness.parse", "vmstat_s.toml").string_map("counters")


@dataclass(frozen=True)
class SumStats:
    """``vmstat -s``: every counter by its description, and by ``vm.stats`` name where vmstat.c takes it from."""

    by_text: dict[str, int]
    by_name: dict[str, int]


def parse_vmstat_s(text: str) -> SumStats:
    names = _sum_names()
    by_text: dict[str, int] = {}
    for line_no, line in nonblank_lines(text):
        if _S_DECORATION.match(line):
            continue
        if cache := _S_CACHE_HITS.match(line):
            by_text.update(
                {
                    "cache hits positive %": to_int(cache["pos"]),
                    "cache hits negative %": to_int(cache["neg"]),
                    "cache hits per-directory %": to_int(cache["pass2"]),
                }
            )
            continue
        if cache := _S_CACHE_MISC.match(line):
            by_text.update(
                {
                    "cache deletions %": to_int(cache["del"]),
                    "cache falsehits %": to_int(cache["false"]),
                    "cache toolong %": to_int(cache["long"]),
                }
            )
            continue
        match = _S_ROW.match(line)
        if not match:
            raise ParseError("not a vmstat -s line (COUNT description)", line_no=line_no, line=line)
        by_text[" ".join(match.group("text").split())] = to_int(match.group("value"))
    if not by_text:
        raise ParseError("no vmstat -s counters", line_no=1)
    by_name = {names[t]: v for t, v in by_text.items() if t in names}
    return SumStats(by_text, by_name)


# --- vmstat wait [count] -----------------------------------------------------------------------------------------

_INTERVAL_GROUPS = re.compile(r"^\s*procs\s+memory\s+page\s+")
_HUMAN = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>[KMGTPE]?)$")
_SCALE = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}


@dataclass(frozen=True)
class IntervalRow:
    """One ``vmstat N`` sample: the columns by name (the CPU ``sy`` is ``cpu_sy``), disks by device name."""

    values: dict[str, int]
    disks: dict[str, int]
    line_no: int


def _column_names(line_no: int, line: str) -> list[str]:
    names = line.split()
    if names[:3] != ["r", "b", "w"] or names[-3:] != ["us", "sy", "id"]:
        raise ParseError("vmstat column header must run 'r b w … us sy id'", line_no=line_no, line=line)
    names[-2] = "cpu_sy"
    return names


def _human(token: str, line_no: int, line: str) -> int:
    match = _HUMAN.match(token)
    if not match:
        raise ParseError(f"not a vmstat number ({token!r})", line_no=line_no, line=line)
    return float_to_int(float(match.group("number")) * _SCALE[match.group("unit")])


def parse_vmstat_interval(text: str) -> list[IntervalRow]:
    """Interval output. Header lines repeat every 20 rows on a terminal; each repetition is accepted. The command
    line echoed before the output (``$ vmstat -H 1 2``) is skipped."""
    names: list[str] | None = None
    rows: list[IntervalRow] = []
    for line_no, line in nonblank_lines(text):
        stripped = line.strip()
        if stripped.startswith(("$ ", "# ", "% ")) or _INTERVAL_GROUPS.match(line):
            continue
        if stripped.startswith("r "):
            names = _column_names(line_no, line)
            continue
        if names is None:
            raise ParseError("vmstat row before the column header", line_no=line_no, line=line)
        tokens = stripped.split()
        if len(tokens) != len(names):
            raise ParseError(
                f"vmstat row has {len(tokens)} columns, header has {len(names)}", line_no=line_no, line=line
            )
        values = {n: _human(t, line_no, line) for n, t in zip(names, tokens, strict=True)}
        first_disk, after_disk = names.index("sr") + 1, names.index("in")
        disks = {n: values.pop(n) for n in names[first_disk:after_disk]}
        rows.append(IntervalRow(values, disks, line_no))
    if not rows:
        raise ParseError("no vmstat samples", line_no=1)
    return rows
