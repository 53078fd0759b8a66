"""Helpers shared by verb modules: JSON output, non-negative ints, and the ``--json`` flag."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from harness.errors import UsageError
from harness.util.jsonable import to_jsonable


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")


def print_json(value: Any) -> None:
    json.dump(to_jsonable(value), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def non_negative_int(text: str) -> int:
    """argparse type: a count that must be >= 0 (``argparse`` turns the error into exit 2)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


#: The largest text a verb reads (a console log of days is tens of MB); ``/dev/zero`` or a runaway capture stops
#: here with one line instead of eating the machine's memory.
MAX_INPUT = 256 * 1024 * 1024


def read_input(path: str, limit: int = MAX_INPUT) -> str:
    """Read a file argument; ``-`` is standard input. A missing, unreadable or over-large file is a usage error."""
    try:
        if path == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            data = stdin.read(limit + 1) if stdin is not None else sys.stdin.read(limit + 1).encode("utf-8")
        else:
            with open(path, "rb") as stream:
                data = stream.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise UsageError(
            f"{path} is larger than {limit // (1024 * 1024)} MiB", hint="cut the part to read out of it first"
        )
    return data.decode("utf-8", errors="replace")
