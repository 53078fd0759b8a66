"""`harness triage CONSOLE_LOG [--json]`: every crash in a console log with its title, signature and lines."""

from __future__ import annotations

import argparse

from harness.cli.common import add_json_flag, print_json, read_input
from harness.errors import ExitCode
from harness.parse.panic import parse_panics
from harness.util.text import printable

VERB_ORDER = 61


def _exit_code(found: int) -> int:
    # The log shows a crashed kernel: exit 3, as every verb does, so a CI step can gate on it.
    return int(ExitCode.KERNEL_CRASH if found else ExitCode.OK)


def _run(args: argparse.Namespace) -> int:
    reports = parse_panics(read_input(args.console_log))
    if args.json:
        print_json(
            [
                {
                    "title": r.title,
                    "signature": r.signature,
                    "kind": r.kind,
                    "first_line": r.first_line,
                    "last_line": r.last_line,
                    "faulting_function": r.faulting_function,
                    "panic_message": r.panic_message,
                    "thread": r.thread,
                    "cpuid": r.cpuid,
                    "lines": list(r.lines),
                }
                for r in reports
            ]
        )
        return _exit_code(len(reports))
    if not reports:
        print("no crash found")
    for number, report in enumerate(reports, start=1):
        print(f"crash {number}: {printable(report.title)}")
        print(f"  signature {report.signature}, lines {report.first_line}-{report.last_line}")
        for line in report.lines:
            print(f"  | {printable(line, 65536, keep_newlines=False)}")
    return _exit_code(len(reports))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "triage",
        help="list the kernel crashes in a console log (syzkaller-style titles, dedup signatures)",
        description="List each panic / fatal trap in a console log: its title (syzkaller's FreeBSD rules), a "
        "signature stable across runs for dedup, and the lines it came from. '-' reads standard input. "
        "Exit 0 when the log shows no crash, 3 when it shows at least one.",
    )
    parser.add_argument("console_log", metavar="CONSOLE_LOG", help="a serial console log; '-' reads stdin")
    add_json_flag(parser)
    parser.set_defaults(func=_run)
