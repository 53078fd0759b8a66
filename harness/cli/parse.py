"""`harness parse KIND FILE [--json]`: read one kind of FreeBSD output into records (``-`` reads stdin)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from harness.cli.common import add_json_flag, print_json, read_input
from harness.errors import ExitCode
from harness.parse.kinds import KINDS
from harness.util.jsonable import to_jsonable
from harness.util.text import printable

VERB_ORDER = 60
#: A printed line of parsed guest text is bounded (``--json`` carries everything, escaped).
SHOWN_LINE = 65536


def _emit(text: object = "") -> None:
    """One line of guest-derived text on stdout: controls escaped, bounded."""
    print(printable(str(text), SHOWN_LINE))


def _scalar_fields(record: Any) -> str:
    """``name=value`` for the scalar fields of a record (collections shown by their length)."""
    plain = to_jsonable(record)
    if not isinstance(plain, dict):
        return str(plain)
    parts = []
    for key, value in plain.items():
        if isinstance(value, list | dict):
            parts.append(f"{key}=[{len(value)}]")
        elif value is not None:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def _print_text(result: Any) -> None:
    if isinstance(result, list):
        for record in result:
            _emit(_scalar_fields(record))
        return
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        for field in dataclasses.fields(result):
            value = getattr(result, field.name)
            if isinstance(value, dict) and len(value) > 3:
                for key, item in value.items():
                    _emit(f"{key}: {_scalar_fields(item)}")
            elif isinstance(value, list | tuple) and value and not isinstance(value[0], str | int):
                for item in value:
                    _emit(_scalar_fields(item))
            else:
                _emit(f"{field.name}: {to_jsonable(value)}")
        return
    if isinstance(result, dict):
        for key, value in result.items():
            _emit(f"{key}: {_scalar_fields(value)}")
        return
    _emit(result)


def _run(args: argparse.Namespace) -> int:
    kind = KINDS[args.kind]
    result = kind.parse(read_input(args.file))
    if args.json:
        print_json(result)
    elif kind.render is not None:
        for line in kind.render(result):
            _emit(line)
    else:
        _print_text(result)
    return int(ExitCode.OK)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kinds = "\n".join(f"  {k.name:<20} {k.what}" for k in KINDS.values())
    parser = subparsers.add_parser(
        "parse",
        help="read FreeBSD output (console, vmstat, sysctl, uname, procstat, DDB, panics) into records",
        description=f"Parse one kind of FreeBSD output. Kinds:\n{kinds}\n\nMalformed input exits 2 naming the line.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=sorted(KINDS), metavar="KIND", help="what the file holds (see above)")
    parser.add_argument("file", metavar="FILE", help="the text to read; '-' reads standard input")
    add_json_flag(parser)
    parser.set_defaults(func=_run)
