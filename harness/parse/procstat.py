"""``procstat -kk`` (kernel stacks) and ``swapinfo -k`` output.

procstat (usr.bin/procstat/procstat_kstack.c) prints ``%5d %6d %-19s %-19s %s``: PID, TID, COMM and TDNAME cut to
19 characters (so a thread name may hold spaces: ``solthread 0xfffffff``), then the frames ``func+0xoff`` (``-kk``)
or ``func`` (``-k``) separated by spaces. ``-`` stands for a stack that could not be read (a swapped-out thread).

swapinfo (usr.sbin/pstat/pstat.c) prints ``Device 1K-blocks Used Avail Capacity`` and one ``%-15s %*jd %8jd %8jd
%5.0f%%`` row per device, plus a ``Total`` row when there are several.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import ParseError
from harness.parse.text import nonblank_lines, to_int

_KSTACK_HEADER = re.compile(r"^\s*PID\s+TID\s+COMM\s+TDNAME\s+KSTACK\s*$")
_KSTACK_IDS = re.compile(r"^\s*(?P<pid>\d+)\s+(?P<tid>\d+) ")
_FRAME = re.compile(r"^(?P<function>[\w.$]+)(?:\+(?P<offset>0x[0-9a-fA-F]+))?$")
_NAME_WIDTH = 19


@dataclass(frozen=True)
class KernelStack:
    pid: int
    tid: int
    command: str
    thread_name: str
    frames: tuple[tuple[str, int | None], ...]
    line_no: int

    @property
    def functions(self) -> list[str]:
        return [f for f, _ in self.frames]


def parse_procstat_kstack(text: str) -> list[KernelStack]:
    stacks: list[KernelStack] = []
    for line_no, line in nonblank_lines(text):
        if _KSTACK_HEADER.match(line):
            continue
        ids = _KSTACK_IDS.match(line)
        if not ids:
            raise ParseError("not a procstat -kk row (PID TID COMM TDNAME KSTACK)", line_no=line_no, line=line)
        rest = line[ids.end() :]
        command = rest[:_NAME_WIDTH].rstrip()
        thread_name = rest[_NAME_WIDTH + 1 : 2 * _NAME_WIDTH + 1].rstrip()
        stack = rest[2 * _NAME_WIDTH + 2 :].split()
        if len(rest) <= 2 * _NAME_WIDTH + 1 or not command:
            raise ParseError("procstat -kk row is cut before its stack", line_no=line_no, line=line)
        frames: list[tuple[str, int | None]] = []
        for token in stack:
            if token == "-":
                continue
            frame = _FRAME.match(token)
            if not frame:
                raise ParseError(f"not a stack frame ({token!r})", line_no=line_no, line=line)
            offset = frame.group("offset")
            frames.append((frame.group("function"), to_int(offset, 16) if offset else None))
        stacks.append(KernelStack(to_int(ids["pid"]), to_int(ids["tid"]), command, thread_name, tuple(frames), line_no))
    if not stacks:
        raise ParseError("no procstat -kk rows", line_no=1)
    return stacks


_SWAP_HEADER = re.compile(r"^Device\s+(?P<unit>1K|\d+[KMG]?|[KMG])-blocks\s+Used\s+Avail\s+Capacity\s*$")
_SWAP_ROW = re.compile(r"^(?P<device>\S+)\s+(?P<blocks>\d+)\s+(?P<used>\d+)\s+(?P<avail>\d+)\s+(?P<capacity>\d+)%\s*$")


@dataclass(frozen=True)
class SwapDevice:
    """One swap device (or the ``Total`` row); sizes in KiB when read with ``-k``."""

    device: str
    blocks: int
    used: int
    avail: int
    capacity_percent: int
    line_no: int


@dataclass(frozen=True)
class SwapInfo:
    devices: tuple[SwapDevice, ...]
    total: SwapDevice | None
    block_unit: str

    @property
    def used_kib(self) -> int:
        return self.total.used if self.total else sum(d.used for d in self.devices)


def parse_swapinfo(text: str) -> SwapInfo:
    devices: list[SwapDevice] = []
    total: SwapDevice | None = None
    unit = ""
    for line_no, line in nonblank_lines(text):
        header = _SWAP_HEADER.match(line.strip())
        if header:
            unit = header.group("unit")
            continue
        row = _SWAP_ROW.match(line.strip())
        if not row:
            raise ParseError("not a swapinfo row (Device 1K-blocks Used Avail Capacity)", line_no=line_no, line=line)
        device = SwapDevice(
            row["device"],
            to_int(row["blocks"]),
            to_int(row["used"]),
            to_int(row["avail"]),
            to_int(row["capacity"]),
            line_no,
        )
        if device.device == "Total":
            total = device
        else:
            devices.append(device)
    if not unit:
        raise ParseError("swapinfo header (Device 1K-blocks …) missing", line_no=1)
    return SwapInfo(tuple(devices), total, unit)
