"""The one TOML loader: every data file (config, manifests, VM profiles, recipes, catalogue, packaged tables).

A data file may come from a site (``HARNESS_DATA_DIR``) or a user's config, so it is untrusted: it is read with a
size bound, decoded as UTF-8, parsed with ``tomllib`` and then read through typed accessors. Every problem — not
readable, too big, not UTF-8, a syntax error, a missing key, a value of the wrong type — is a ``ConfigError`` with
one wording: ``<file>: <key>: <what is wrong> (<fix>)``.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from harness.errors import ConfigError

#: No data file of the harness is near this; a bigger one is a mistake (or /dev/zero), not data.
MAX_BYTES = 4 * 1024 * 1024

_MISSING: Any = object()
_T = TypeVar("_T")
_D = TypeVar("_D")

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _kind(value: Any) -> str:
    for kind, name in _TYPE_NAMES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


@dataclass(frozen=True)
class Table:
    """A TOML table with accessors that check the type and name ``file: key`` when it is wrong.

    ``source`` is the file shown in messages, ``prefix`` the dotted key of this table within it, ``hint`` the fix.
    """

    data: dict[str, Any]
    source: str
    prefix: str = ""
    hint: str = "fix the file"

    # --- errors ---------------------------------------------------------------------------------------------

    def key_name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, message: str, key: str | None = None) -> NoReturn:
        """Raise the one ConfigError wording for this file (and key)."""
        where = f"{self.source}: {self.key_name(key)}" if key is not None else self.source
        raise ConfigError(f"{where}: {message}", hint=self.hint)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Turn KeyError/TypeError/ValueError raised while building objects from this table into a ConfigError."""
        try:
            yield
        except KeyError as exc:
            self.fail(f"missing key {exc.args[0]!r}" if exc.args else "missing key")
        except (TypeError, ValueError, AttributeError) as exc:
            self.fail(f"malformed: {exc}")

    # --- raw access -----------------------------------------------------------------------------------------

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            self.fail("missing", key)
        return default

    # --- typed access ---------------------------------------------------------------------------------------

    def _typed(self, key: str, kind: type[Any], default: Any) -> Any:
        value = self.raw(key, default)
        if key not in self.data:
            return value
        # bool is an int in Python; TOML keeps them apart, and so do we.
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            self.fail(f"must be {_TYPE_NAMES.get(kind, kind.__name__)}, got {_kind(value)} {_shown(value)}", key)
        return value

    def string(self, key: str, default: _D | str = _MISSING) -> str | _D:
        value: str | _D = self._typed(key, str, default)
        return value

    def boolean(self, key: str, default: _D | bool = _MISSING) -> bool | _D:
        value: bool | _D = self._typed(key, bool, default)
        return value

    def integer(
        self, key: str, default: _D | int = _MISSING, *, low: int | None = None, high: int | None = None
    ) -> int | _D:
        value: int | _D = self._typed(key, int, default)
        if not isinstance(value, int):
            return value
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low if low is not None else '…'}..{high if high is not None else '…'}"
            self.fail(f"{value} is out of range {bounds}", key)
        return value

    def number(self, key: str, default: _D | float = _MISSING) -> float | _D:
        value: float | _D = self._typed(key, float, default)
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: _D | str = _MISSING) -> str | _D:
        value = self.string(key, default)
        if key in self.data and value not in allowed:
            self.fail(f"is {_shown(value)}, expected one of {', '.join(allowed)}", key)
        return value

    def array(self, key: str, default: _D | list[Any] = _MISSING) -> list[Any] | _D:
        value: list[Any] | _D = self._typed(key, list, default)
        return value

    def strings(self, key: str, default: Any = _MISSING, *, non_empty: bool = False) -> tuple[str, ...]:
        """An array of strings (``non_empty``: at least one)."""
        values = self.array(key, default)
        if values is None:
            return ()
        for index, item in enumerate(values):
            if not isinstance(item, str):
                self.fail(f"must be an array of strings, item {index} is {_kind(item)} {_shown(item)}", key)
        if non_empty and not values:
            self.fail("must not be empty", key)
        return tuple(values)

    def table(self, key: str, default: Any = _MISSING) -> Table:
        value = self._typed(key, dict, default)
        return Table(value if value is not None else {}, self.source, self.key_name(key), self.hint)

    def tables(self, key: str, default: Any = _MISSING) -> list[Table]:
        """An array of tables (``[[key]]``)."""
        values = self.array(key, default)
        out = []
        for index, item in enumerate(values or []):
            if not isinstance(item, dict):
                self.fail(f"must be an array of tables, item {index} is {_kind(item)} {_shown(item)}", key)
            out.append(Table(item, self.source, f"{self.key_name(key)}[{index}]", self.hint))
        return out

    def subtables(self) -> dict[str, Table]:
        """Every value of this table, each required to be a table (``[arch.amd64]``, ``[workload.x]`` ...)."""
        return {key: self.table(key) for key in self.data}

    def string_map(self, key: str | None = None, default: Any = _MISSING) -> dict[str, str]:
        """A table whose values are all strings (this table itself when ``key`` is None)."""
        table = self if key is None else self.table(key, default)
        for name, value in table.data.items():
            if not isinstance(value, str):
                table.fail(f"must be a string, got {_kind(value)} {_shown(value)}", name)
        return dict(table.data)


def parse(data: bytes | str, source: str, *, hint: str = "fix the file") -> Table:
    """Parse TOML text already in memory (``source`` names it in messages)."""
    where = Table({}, source, hint=hint)
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            where.fail(f"is larger than {MAX_BYTES // (1024 * 1024)} MiB, not a data file")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            where.fail(f"not UTF-8 text (bad byte at offset {exc.start})")
    if "\x00" in data:
        where.fail("contains a NUL character, not a text file")
    try:
        parsed = tomllib.loads(data)
    except tomllib.TOMLDecodeError as exc:
        where.fail(f"TOML syntax error: {exc}")
    return Table(parsed, source, hint=hint)


def load(path: Path, *, hint: str = "fix the file") -> Table:
    """Read and parse a TOML file on disk: bounded, UTF-8, one ConfigError wording for every problem."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}", hint=hint) from None
    return parse(data, str(path), hint=hint)


def load_resource(package: str, *parts: str, hint: str = "reinstall the harness") -> Table:
    """A TOML file shipped inside the package (``load_resource("harness.model", "arch.toml")``)."""
    node = resources.files(package)
    for part in parts:
        node = node.joinpath(part)
    source = "/".join([package.replace(".", "/"), *parts])
    try:
        data = node.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror or exc}", hint=hint) from None
    return parse(data, source, hint=hint)


__all__ = ["MAX_BYTES", "Table", "load", "load_resource", "parse"]
