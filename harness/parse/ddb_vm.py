"""DDB's VM commands: ``show object``, ``show pginfo``, ``show page``, ``show pageq``, ``show vmem`` /
``show all vmem``, ``show uma``, ``show malloc``.

Formats, from the ``db_printf`` strings of FreeBSD's source:

* sys/vm/vm_object.c ``DB_SHOW_COMMAND(object)``: ``Object %p: type=%d, size=0x%jx, res=%d, ref=%d, flags=0x%x
  ruid %d charge %jx`` (older kernels stop after ``flags``), `` sref=%d, backing_object(%d)=(%p)+0x%jx``, and when
  an address was given the page list: ``memory:=`` then ``(off=0x%jx,page=0x%jx)`` entries, comma-separated, six
  per line, each further line starting `` ...``; all indented by ``db_indent`` (2). Lines are read as printed:
  FreeBSD's DDB never wraps output by itself (sys/ddb/db_output.c ``db_putchar`` only moves its column counter;
  ``db_max_width`` is consulted by ``db_end_line(field_width)``, which only column printers such as ``x`` call),
  so a line of exactly 80 characters is a whole line (review L1).
* sys/vm/vm_page.c: ``page %p obj %p pidx 0x%jx phys 0x%jx q %d ref %u`` (``ref 0x%x`` in newer trees) and
  ``  af 0x%x of 0x%x f 0x%x act %d busy %x valid 0x%x dirty 0x%x`` (pginfo); ``vm_cnt.<name>: %d`` lines (page);
  ``pq_free %d`` and ``dom %d page_cnt %d free %d pq_act %d pq_inact %d pq_laund %d pq_unsw %d`` (pageq).
* sys/kern/subr_vmem.c ``DB_SHOW_COMMAND(vmem)``: ``vmem %p '%s'``, tab-separated ``quantum``, ``size``, ``inuse``,
  ``free``, ``busy tags``, ``free tags`` lines, a heading, then ``\\t%-15zu %zu\\t%-15zu %zu\\t%-16zu`` rows (order
  size, busy count, busy bytes, free count, free bytes).
* sys/vm/uma_core.c ``show uma`` and sys/kern/kern_malloc.c ``show malloc``: right-aligned names, then numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import ParseError
from harness.parse.text import to_int

Lines = list[tuple[int, str]]

# --- show object -------------------------------------------------------------------------------------------------

_OBJECT = re.compile(
    r"^\s*Object (?P<addr>0x[0-9a-f]+): type=(?P<type>-?\d+), size=0x(?P<size>[0-9a-f]+), res=(?P<res>-?\d+), "
    r"ref=(?P<ref>-?\d+), flags=0x(?P<flags>[0-9a-f]+)(?: ruid (?P<ruid>-?\d+) charge (?P<charge>[0-9a-f]+))?\s*$"
)
_SHADOW = re.compile(
    r"^\s*sref=(?P<sref>-?\d+), backing_object\((?P<bref>-?\d+)\)=\((?P<backing>0x[0-9a-f]+|0|\(nil\))\)"
    r"\+0x(?P<offset>[0-9a-f]+)\s*$"
)
_PAGE_ENTRY = re.compile(r"\(off=0x(?P<pindex>[0-9a-f]+),page=0x(?P<phys>[0-9a-f]+)\)")


@dataclass(frozen=True)
class ObjectPage:
    pindex: int
    phys: int


@dataclass(frozen=True)
class VmObject:
    """``show object``: the header fields and, when an address was given, the pages in memq order."""

    address: int
    type: int
    size_pages: int
    resident: int
    ref_count: int
    flags: int
    ruid: int | None
    charge: int | None
    shadow_count: int
    backing_object: int
    backing_offset: int
    pages: tuple[ObjectPage, ...]
    line_no: int

    @property
    def pindexes(self) -> list[int]:
        return [p.pindex for p in self.pages]


_PAGE_LIST_TOKEN = re.compile(_PAGE_ENTRY.pattern + r"|memory:=|\.\.\.|,|\s+")


def _object_pages(lines: Lines) -> tuple[ObjectPage, ...]:
    """The ``(off=…,page=…)`` entries of the page list, joined across lines; anything else names its line."""
    starts: list[tuple[int, int, str]] = []
    text = ""
    for line_no, line in lines:
        starts.append((len(text), line_no, line))
        text += line.strip()
    pages: list[ObjectPage] = []
    position = 0
    for token in _PAGE_LIST_TOKEN.finditer(text):
        if token.start() != position:
            break
        position = token.end()
        if token.group("pindex") is not None:
            pages.append(ObjectPage(to_int(token["pindex"], 16), to_int(token["phys"], 16)))
    if position != len(text):
        _, line_no, line = next(entry for entry in reversed(starts) if entry[0] <= position)
        raise ParseError(
            f"show object page list has text that is not a page entry ({text[position:][:40]!r})",
            line_no=line_no,
            line=line,
        )
    return tuple(pages)


def parse_show_object(lines: Lines) -> list[VmObject]:
    """Every object printed (``show object`` prints one; ``show vmochk``-style callers may print more)."""
    objects: list[VmObject] = []
    index = 0
    while index < len(lines):
        line_no, line = lines[index]
        header = _OBJECT.match(line)
        if not header:
            if line.strip():
                raise ParseError("expected 'Object 0x…: type=…' from show object", line_no=line_no, line=line)
            index += 1
            continue
        if index + 1 >= len(lines):
            raise ParseError("show object output is cut after its first line", line_no=line_no, line=line)
        shadow = _SHADOW.match(lines[index + 1][1])
        if not shadow:
            raise ParseError(
                "expected ' sref=…, backing_object(…)' after the object line",
                line_no=lines[index + 1][0],
                line=lines[index + 1][1],
            )
        end = index + 2
        while end < len(lines) and not _OBJECT.match(lines[end][1]):
            end += 1
        page_lines = [(n, text) for n, text in lines[index + 2 : end] if text.strip()]
        backing = shadow["backing"]
        objects.append(
            VmObject(
                address=to_int(header["addr"], 16),
                type=to_int(header["type"]),
                size_pages=to_int(header["size"], 16),
                resident=to_int(header["res"]),
                ref_count=to_int(header["ref"]),
                flags=to_int(header["flags"], 16),
                ruid=to_int(header["ruid"]) if header["ruid"] is not None else None,
                charge=to_int(header["charge"], 16) if header["charge"] is not None else None,
                shadow_count=to_int(shadow["sref"]),
                backing_object=to_int(backing, 16) if backing.startswith("0x") else 0,
                backing_offset=to_int(shadow["offset"], 16),
                pages=_object_pages(page_lines) if page_lines else (),
                line_no=line_no,
            )
        )
        index = end
    if not objects:
        raise ParseError("no object in show object output", line_no=lines[0][0] if lines else None)
    return objects


# --- show pginfo ----------------------------------------------------------------------------------------------

_PGINFO_1 = re.compile(
    r"^page (?P<page>0x[0-9a-f]+) obj (?P<obj>0x[0-9a-f]+|0) pidx 0x(?P<pidx>[0-9a-f]+) phys 0x(?P<phys>[0-9a-f]+) "
    r"q (?P<q>-?\d+) ref (?P<ref>0x[0-9a-f]+|\d+)\s*$"
)
_PGINFO_2 = re.compile(
    r"^\s+a?f 0x(?P<af>[0-9a-f]+) of 0x(?P<of>[0-9a-f]+) f 0x(?P<f>[0-9a-f]+) act (?P<act>-?\d+) "
    r"busy (?P<busy>[0-9a-f]+) valid 0x(?P<valid>[0-9a-f]+) dirty 0x(?P<dirty>[0-9a-f]+)\s*$"
)


@dataclass(frozen=True)
class PageInfo:
    page: int
    object: int
    pindex: int
    phys: int
    queue: int
    ref_count: int
    aflags: int
    oflags: int
    flags: int
    act_count: int
    busy_lock: int
    valid: int
    dirty: int
    line_no: int


def parse_show_pginfo(lines: Lines) -> list[PageInfo]:
    content = [(n, line) for n, line in lines if line.strip()]
    result: list[PageInfo] = []
    for index in range(0, len(content), 2):
        n1, first = content[index]
        m1 = _PGINFO_1.match(first)
        if not m1:
            raise ParseError("expected 'page 0x… obj 0x… pidx …' from show pginfo", line_no=n1, line=first)
        if index + 1 >= len(content):
            raise ParseError("show pginfo output is cut after its first line", line_no=n1, line=first)
        n2, second = content[index + 1]
        m2 = _PGINFO_2.match(second)
        if not m2:
            raise ParseError("expected '  af 0x… of 0x… f 0x… act …' from show pginfo", line_no=n2, line=second)
        ref = m1["ref"]
        result.append(
            PageInfo(
                page=to_int(m1["page"], 16),
                object=to_int(m1["obj"], 16),
                pindex=to_int(m1["pidx"], 16),
                phys=to_int(m1["phys"], 16),
                queue=to_int(m1["q"]),
                ref_count=to_int(ref, 16) if ref.startswith("0x") else to_int(ref),
                aflags=to_int(m2["af"], 16),
                oflags=to_int(m2["of"], 16),
                flags=to_int(m2["f"], 16),
                act_count=to_int(m2["act"]),
                busy_lock=to_int(m2["busy"], 16),
                valid=to_int(m2["valid"], 16),
                dirty=to_int(m2["dirty"], 16),
                line_no=n1,
            )
        )
    if not result:
        raise ParseError("no page in show pginfo output", line_no=lines[0][0] if lines else None)
    return result


# --- show page / show pageq -----------------------------------------------------------------------------------

_VM_CNT = re.compile(r"^vm_cnt\.(?P<name>v_\w+): (?P<value>-?\d+)\s*$")
_PQ_FREE = re.compile(r"^pq_free (?P<free>-?\d+)\s*$")
_PQ_DOMAIN = re.compile(
    r"^dom (?P<dom>\d+) page_cnt (?P<page_cnt>-?\d+) free (?P<free>-?\d+) pq_act (?P<pq_act>-?\d+) "
    r"pq_inact (?P<pq_inact>-?\d+) pq_laund (?P<pq_laund>-?\d+) pq_unsw (?P<pq_unsw>-?\d+)\s*$"
)


def parse_show_page(lines: Lines) -> dict[str, int]:
    """``show page``: the vm_cnt counters by name (``v_free_count`` …)."""
    counters: dict[str, int] = {}
    for line_no, line in lines:
        if not line.strip():
            continue
        match = _VM_CNT.match(line)
        if not match:
            raise ParseError("expected 'vm_cnt.<name>: <n>' from show page", line_no=line_no, line=line)
        counters[match["name"]] = to_int(match["value"])
    if not counters:
        raise ParseError("no counters in show page output", line_no=lines[0][0] if lines else None)
    return counters


@dataclass(frozen=True)
class PageQueues:
    free: int | None
    domains: dict[int, dict[str, int]]


def parse_show_pageq(lines: Lines) -> PageQueues:
    free: int | None = None
    domains: dict[int, dict[str, int]] = {}
    for line_no, line in lines:
        if not line.strip():
            continue
        if m := _PQ_FREE.match(line):
            free = to_int(m["free"])
        elif m := _PQ_DOMAIN.match(line):
            domains[to_int(m["dom"])] = {k: to_int(v) for k, v in m.groupdict().items() if k != "dom"}
        else:
            raise ParseError("expected 'pq_free N' or 'dom N page_cnt …' from show pageq", line_no=line_no, line=line)
    if not domains:
        raise ParseError("no domain in show pageq output", line_no=lines[0][0] if lines else None)
    return PageQueues(free, domains)


# --- show vmem / show all vmem --------------------------------------------------------------------------------

_VMEM_HEAD = re.compile(r"^vmem (?P<addr>0x[0-9a-f]+) '(?P<name>[^']*)'\s*$")
_VMEM_FIELD = re.compile(r"^\t(?P<key>quantum|size|inuse|free|busy tags|free tags):\t(?P<value>\d+)\s*$")
_VMEM_TABLE_HEAD = re.compile(r"^\t\t\tinuse\tsize\t\tfree\tsize\s*$")
_VMEM_ROW = re.compile(r"^\t(?P<order>\d+)\s+(?P<ut>\d+)\t(?P<us>\d+)\s+(?P<ft>\d+)\t(?P<fs>\d+)\s*$")
_VMEM_FIELDS = ("quantum", "size", "inuse", "free", "busy tags", "free tags")


@dataclass(frozen=True)
class VmemOrder:
    size: int
    busy_count: int
    busy_bytes: int
    free_count: int
    free_bytes: int


@dataclass(frozen=True)
class VmemArena:
    address: int
    name: str
    quantum: int
    size: int
    inuse: int
    free: int
    busy_tags: int
    free_tags: int
    orders: tuple[VmemOrder, ...]
    line_no: int


def _close_arena(head: tuple[int, str, str], fields: dict[str, int], orders: list[VmemOrder]) -> VmemArena:
    line_no, addr, name = head
    missing = [f for f in _VMEM_FIELDS if f not in fields]
    if missing:
        raise ParseError(f"vmem '{name}' lacks {', '.join(missing)}", line_no=line_no)
    return VmemArena(
        to_int(addr, 16),
        name,
        fields["quantum"],
        fields["size"],
        fields["inuse"],
        fields["free"],
        fields["busy tags"],
        fields["free tags"],
        tuple(orders),
        line_no,
    )


def parse_show_vmem(lines: Lines) -> list[VmemArena]:
    """``show vmem <addr>`` (one arena) or ``show all vmem`` (every arena, e.g. the G2 ``kstack arena`` ones)."""
    arenas: list[VmemArena] = []
    head: tuple[int, str, str] | None = None
    fields: dict[str, int] = {}
    orders: list[VmemOrder] = []
    for line_no, line in lines:
        if not line.strip():
            continue
        if m := _VMEM_HEAD.match(line):
            if head is not None:
                arenas.append(_close_arena(head, fields, orders))
            head, fields, orders = (line_no, m["addr"], m["name"]), {}, []
        elif head is None:
            raise ParseError("expected \"vmem 0x… '<name>'\" from show vmem", line_no=line_no, line=line)
        elif m := _VMEM_FIELD.match(line):
            fields[m["key"]] = to_int(m["value"])
        elif _VMEM_TABLE_HEAD.match(line):
            continue
        elif m := _VMEM_ROW.match(line):
            orders.append(
                VmemOrder(to_int(m["order"]), to_int(m["ut"]), to_int(m["us"]), to_int(m["ft"]), to_int(m["fs"]))
            )
        else:
            raise ParseError("not a show vmem line", line_no=line_no, line=line)
    if head is not None:
        arenas.append(_close_arena(head, fields, orders))
    if not arenas:
        raise ParseError("no arena in show vmem output", line_no=lines[0][0] if lines else None)
    return arenas


# --- show uma / show malloc -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedRow:
    """A row of a right-aligned DDB table: the name and the numbers by column title."""

    name: str
    values: dict[str, int]
    line_no: int


def _header_columns(line: str, first: str) -> list[str] | None:
    tokens = line.split()
    if not tokens or tokens[0] != first:
        return None
    columns: list[str] = []
    for token in tokens[1:]:
        if token == "Mem" and columns and columns[-1] == "Total":
            columns[-1] = "Total Mem"
        else:
            columns.append(token)
    return columns


def _named_table(lines: Lines, first: str, what: str) -> list[NamedRow]:
    columns: list[str] | None = None
    rows: list[NamedRow] = []
    for line_no, line in lines:
        if not line.strip():
            continue
        if columns is None:
            columns = _header_columns(line, first)
            if columns is None:
                raise ParseError(
                    f"{what} output does not start with its '{first} …' header", line_no=line_no, line=line
                )
            continue
        row = re.match(r"^\s*(?P<name>\S.*?)" + r"\s+(\S+)" * len(columns) + r"\s*$", line)
        if not row:
            raise ParseError(
                f"{what} row has fewer fields than its {len(columns)} columns and a name", line_no=line_no, line=line
            )
        name = row["name"]
        try:
            values = [to_int(t.rstrip("K")) * (1024 if t.endswith("K") else 1) for t in row.groups()[1:]]
        except ValueError:
            raise ParseError(
                f"{what} row has a non-number where a number belongs", line_no=line_no, line=line
            ) from None
        rows.append(NamedRow(name, dict(zip(columns, values, strict=True)), line_no))
    if columns is None:
        raise ParseError(f"no {what} header", line_no=lines[0][0] if lines else None)
    return rows


def parse_show_uma(lines: Lines) -> list[NamedRow]:
    """``show uma``: Zone, Size, Used, Free, Requests, Sleeps, Bucket, Total Mem[, XFree] (zone names may hold
    spaces and may be longer than their column)."""
    return _named_table(lines, "Zone", "show uma")


def parse_show_malloc(lines: Lines) -> list[NamedRow]:
    """``show malloc``: Type, InUse, MemUse (bytes, from the printed KiB), Requests."""
    return _named_table(lines, "Type", "show malloc")
