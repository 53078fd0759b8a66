"""Every kind of FreeBSD output the harness reads, by the name ``harness parse KIND`` takes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.parse import ddb, ddb_vm, panic, procstat, scanner, sysctl, uname, vmstat
from harness.parse.text import numbered_lines


def _lines(text: str) -> ddb_vm.Lines:
    lines = list(numbered_lines(text))
    while lines and not lines[-1][1].strip():
        lines.pop()
    return lines


def _boot(text: str) -> list[scanner.Boot]:
    return scanner.boots(scanner.scan_console(text))


def _render_events(events: list[Any]) -> list[str]:
    if not events:
        return ["no console event found"]
    return [
        f"{e.line_no:>7} {e.kind.value:<22} {'' if e.time is None else f'{e.time:.3f} '}"
        + " ".join(f"{k}={v}" for k, v in e.fields.items())
        for e in events
    ]


def _render_boots(boots: list[scanner.Boot]) -> list[str]:
    if not boots:
        return ["no boot found"]
    out = []
    for number, boot in enumerate(boots, start=1):
        banner = boot.banner.fields if boot.banner else {}
        version = " ".join(
            f"{k}={banner[k]}" for k in ("release", "branch", "revision", "ident", "arch") if k in banner
        )
        out.append(f"boot {number}: {'reached login' if boot.complete else 'no login seen'} {version}".rstrip())
        for phase in boot.phases:
            took = "" if phase.duration is None else f" {phase.duration:.1f} s"
            out.append(f"  {phase.name:<9} lines {phase.start_line}-{phase.end_line}{took}")
    return out


def _render_panics(reports: list[panic.PanicReport]) -> list[str]:
    if not reports:
        return ["no crash found"]
    return [f"{r.first_line}-{r.last_line} {r.signature} {r.title}" for r in reports]


@dataclass(frozen=True)
class Kind:
    name: str
    what: str
    parse: Callable[[str], Any]
    render: Callable[[Any], list[str]] | None = None


def _ddb(command: str) -> Callable[[str], Any]:
    parser = ddb.PARSERS[command]
    return lambda text: parser(_lines(text))


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("console", "console events (loader, boot, login, panic, KDB, db>)", scanner.scan_console, _render_events),
        Kind("boot", "boots in a console log and their phases (loader, kernel, userland)", _boot, _render_boots),
        Kind(
            "panic", "crash reports: title, signature, trap, frames, thread, cpuid", panic.parse_panics, _render_panics
        ),
        Kind("vmstat-z", "vmstat -z (text, 7 or 8 numbers per row, or --libxo json)", vmstat.parse_vmstat_z),
        Kind("vmstat-m", "vmstat -m", vmstat.parse_vmstat_m),
        Kind("vmstat-o", "vmstat -o", vmstat.parse_vmstat_o),
        Kind("vmstat-s", "vmstat -s", vmstat.parse_vmstat_s),
        Kind("vmstat-interval", "vmstat [-H] wait [count]", vmstat.parse_vmstat_interval),
        Kind("sysctl", "sysctl -a / sysctl name ... (-o opaque values)", sysctl.parse_sysctl),
        Kind("sysctl-d", "sysctl -d (descriptions)", lambda text: sysctl.parse_sysctl(text, descriptions=True)),
        Kind("uname", "uname -a lines (release, branch, revision, ident, arch)", uname.parse_uname_all),
        Kind("procstat-kk", "procstat -kk kernel stacks", procstat.parse_procstat_kstack),
        Kind("swapinfo", "swapinfo -k", procstat.parse_swapinfo),
        Kind("ddb", "a DDB session: every 'db> command' and its parsed output", ddb.parse_ddb_session),
        Kind("ddb-show-object", "DDB show object (with its page list)", _ddb("show object")),
        Kind("ddb-show-pginfo", "DDB show pginfo", _ddb("show pginfo")),
        Kind("ddb-show-thread", "DDB show thread", _ddb("show thread")),
        Kind("ddb-show-proc", "DDB show proc", _ddb("show proc")),
        Kind("ddb-show-vmem", "DDB show vmem / show all vmem", _ddb("show vmem")),
        Kind("ddb-show-page", "DDB show page", _ddb("show page")),
        Kind("ddb-show-pageq", "DDB show pageq", _ddb("show pageq")),
        Kind("ddb-show-uma", "DDB show uma", _ddb("show uma")),
        Kind("ddb-show-malloc", "DDB show malloc", _ddb("show malloc")),
        Kind("ddb-show-registers", "DDB show registers", _ddb("show registers")),
        Kind("ddb-ps", "DDB ps", _ddb("ps")),
        Kind("ddb-bt", "DDB bt / trace", _ddb("bt")),
    )
}
