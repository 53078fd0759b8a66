"""`harness selftest`: what a user runs first on a new host (QEMU, KVM, firmware, then a real test guest)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import add_json_flag, print_json
from harness.errors import ExitCode
from harness.guests.linuxtest.selftest import SelftestReport, run_selftest
from harness.util.jsonable import to_jsonable

VERB_ORDER = 5

_MARK = {"pass": "ok", "fail": "FAIL", "skip": "skip", "warn": "warn"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "selftest",
        help="check the host and prove console, SSH, SFTP, debugger and crash detection on a Linux test guest",
        description="Checks the host (QEMU binary, a KVM that really runs guests, firmware), then builds (once, "
        "cached) and boots the Debian-based Linux test guest and exercises console, SSH, SFTP, the kernel "
        "debugger and crash detection. Exit 0 when nothing failed, 2 otherwise.",
    )
    parser.add_argument("--arch", choices=["amd64", "arm64"], default="amd64", help="guest architecture")
    parser.add_argument(
        "--kdb",
        choices=["auto", "yes", "no"],
        default="auto",
        help="debugger check on the self-built kdb kernel: auto = if cached, yes = build it (about 5 min once)",
    )
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep console logs and QEMU files in DIR")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = run_selftest(args.arch, kdb=args.kdb, keep_dir=args.keep)
    if args.json:
        print_json({**to_jsonable(report), "ok": report.ok})  # the verdict too, not only the rows
    else:
        print_table(report)
    return int(ExitCode.OK if report.ok else ExitCode.INFRA)


def print_table(report: SelftestReport) -> None:
    width = max(len(c.name) for c in report.checks)
    print(f"harness selftest ({report.arch})")
    for check in report.checks:
        seconds = f"{check.seconds:6.1f} s" if check.seconds else " " * 8
        print(f"  {_MARK[check.status]:<4}  {check.name:<{width}}  {seconds}  {check.detail}")
    print("result: " + ("all checks passed" if report.ok else "FAILED"))
