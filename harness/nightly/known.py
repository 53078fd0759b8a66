"""Known failures: a TOML list (default ``known-failures.toml`` beside the matrix) of cell/check patterns with a
reason, a link and an optional expiry::

    [[known]]
    cell = "freebsd-14-arm64-*"            # shell-style pattern of cell ids
    check = "LX-2 *"                       # pattern of check names; "crash" names a crash; default "*"
    reason = "arm64 reservations hold one more page"
    link = "https://bugs.freebsd.org/123456"
    expires = 2027-03-31                   # optional: after this day the failure fails the night again

A known failure is reported but does not fail the night; an entry whose checks all passed is flagged ("fixed?
remove the entry"); an expired entry no longer excuses anything and is reported as expired. Untrusted like every
TOML file: bad UTF-8, wrong types or unknown keys are one-line ``ConfigError``s.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.util import tomlfile

FILE_NAME = "known-failures.toml"
CRASH = "crash"
_KEYS = {"cell", "check", "reason", "link", "expires"}


@dataclass(frozen=True)
class KnownEntry:
    cell: str
    check: str
    reason: str
    link: str = ""
    expires: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires

    def matches(self, cell: str, check: str) -> bool:
        return fnmatch.fnmatchcase(cell, self.cell) and fnmatch.fnmatchcase(check, self.check)

    def to_json(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "check": self.check,
            "reason": self.reason,
            "link": self.link,
            "expires": self.expires.isoformat() if self.expires else None,
        }


def _date(path: Path, key: str, value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{path}: {key}: not a date: {str(value)[:40]!r}", hint="write expires = 2027-03-31")


def _entry(path: Path, index: int, raw: Any) -> KnownEntry:
    key = f"known[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {key}: must be a table", hint="write [[known]] with cell, check, reason")
    if extra := set(raw) - _KEYS:
        raise ConfigError(f"{path}: {key}.{sorted(extra)[0]}: unknown key", hint=f"keys: {', '.join(sorted(_KEYS))}")
    for name in ("cell", "check", "reason", "link"):
        if name in raw and not isinstance(raw[name], str):
            raise ConfigError(f"{path}: {key}.{name}: must be a string", hint=f'write {name} = "…"')
    if not raw.get("cell") or not raw.get("reason"):
        raise ConfigError(f"{path}: {key}: needs cell and reason", hint='e.g. cell = "linuxtest-*", reason = "…"')
    return KnownEntry(
        cell=raw["cell"],
        check=raw.get("check") or "*",
        reason=raw["reason"],
        link=raw.get("link", ""),
        expires=_date(path, f"{key}.expires", raw.get("expires")),
    )


def load(path: Path | None) -> list[KnownEntry]:
    """The entries of ``path``; None (no file given and none beside the matrix) is an empty list."""
    if path is None:
        return []
    doc = tomlfile.load(path, hint="see the known-failures format in README (harness nightly)").data
    if extra := set(doc) - {"known"}:
        raise ConfigError(f"{path}: {sorted(extra)[0]}: unknown table", hint="entries are [[known]] tables")
    entries = doc.get("known", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: known: must be an array of tables", hint="write [[known]]")
    return [_entry(path, i, raw) for i, raw in enumerate(entries)]


def default_path(matrix: Path) -> Path | None:
    candidate = matrix.parent / FILE_NAME
    return candidate if candidate.is_file() else None


@dataclass(frozen=True)
class KnownList:
    entries: tuple[KnownEntry, ...]
    today: dt.date

    def excuse(self, cell: str, check: str) -> KnownEntry | None:
        """The unexpired entry that makes this failure known, if any."""
        return next((e for e in self.entries if not e.expired(self.today) and e.matches(cell, check)), None)

    def expired_for(self, cell: str, check: str) -> KnownEntry | None:
        return next((e for e in self.entries if e.expired(self.today) and e.matches(cell, check)), None)
