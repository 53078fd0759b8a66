"""`harness history`: each check's lifecycle across recorded nightlies (new, still failing, fixed, flaky, known)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import add_json_flag, positive_int, print_json

VERB_ORDER = 49


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "history",
        help="the nightly history: new failures, still failing since night X, fixed, flaky (rate), known",
        description=__doc__,
    )
    parser.add_argument("--history", type=Path, metavar="PATH", help="the SQLite history (default: XDG data dir)")
    parser.add_argument("--window", type=positive_int, default=10, metavar="N", help="nights for rates (10)")
    parser.add_argument("--all", action="store_true", help="list passing checks too")
    add_json_flag(parser)
    parser.set_defaults(func=show)


def show(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.nightly import history
    from harness.settings import data_home

    path = args.history or data_home("nightly.sqlite")
    if not path.is_file():
        raise UsageError(f"no nightly history at {path}", hint="run harness nightly run first, or pass --history")
    nights = history.nights(path, args.window)
    found = [f for f in history.lifecycle(path, args.window) if args.all or f.state != "passing"]
    if args.json:
        print_json(
            {
                "nights": nights,
                "checks": [
                    {
                        "cell": f.cell,
                        "check": f.check,
                        "state": f.state,
                        "describe": f.describe(),
                        "status": f.status,
                        "since": f.since,
                        "rate": f.rate,
                        "window": f.window,
                        "trend": list(f.trend),
                    }
                    for f in found
                ],
            }
        )
        return 0
    last = nights[-1] if nights else None
    if last:
        print(f"{len(nights)} night(s), latest {last['night']} (exit {last['exit_code']})")
    for f in found:
        print(f"{f.state:14} {f.cell}: {f.check}: {f.describe()}  [{' '.join(f.trend)}]")
    if not found:
        print("every check passed in the latest night")
    return 0
