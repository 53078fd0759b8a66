"""The nightly matrix: a TOML file of axes, expanded into cells.

::

    [matrix]
    guest = ["linuxtest"]                      # freebsd, linuxtest
    release = ["14"]                           # FreeBSD releases (the Linux test guest has none)
    arch = ["amd64", "arm64"]
    kernel = ["stock"]                         # stock, a patch recipe name, or a kernel directory (FreeBSD)
    workload = ["thread-hold", { name = "thread-churn", params = { rounds = 2 } }]
    repeat = 1

    [model]                                    # optional: --model overrides for the cells a pattern names
    "linuxtest-amd64-stock-thread-hold" = { thread_size_kib = 16 }

The file is untrusted input: bad UTF-8, a syntax error, an unknown axis or a wrongly typed value is a one-line
``ConfigError`` (exit 2) naming the file, the key and the fix.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.run.kinds import registry
from harness.util import tomlfile

AXES = ("guest", "release", "arch", "kernel", "workload", "repeat")
ARCHES = ("amd64", "arm64")
STOCK = "stock"
MAX_CELLS = 5000
MAX_REPEAT = 100
#: What a cell id, a workload label and a kernel label may contain: they name directories.
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,79}$")


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    params: tuple[tuple[str, int | str], ...] = ()
    label: str = ""

    @property
    def shown(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Cell:
    """One combination of the axes; run ``repeats`` times."""

    guest: str
    release: str | None
    arch: str
    kernel: str
    workload: WorkloadSpec
    model: tuple[tuple[str, int], ...] = ()
    repeats: int = 1

    @property
    def id(self) -> str:
        return cell_id(self.guest, self.release, self.arch, kernel_label(self.kernel), self.workload.shown)

    def axes(self) -> dict[str, Any]:
        return {
            "cell": self.id,
            "guest": self.guest,
            "release": self.release,
            "arch": self.arch,
            "kernel": self.kernel,
            "workload": self.workload.name,
            "params": dict(self.workload.params),
            "model": dict(self.model),
            "repeats": self.repeats,
        }


@dataclass(frozen=True)
class Matrix:
    path: Path
    cells: tuple[Cell, ...]
    repeat: int = 1
    axes: dict[str, tuple[str, ...]] = field(default_factory=dict)


def cell_id(guest: str, release: str | None, arch: str, kernel: str, workload: str) -> str:
    parts = [guest, *([release] if release else []), arch, kernel, workload]
    return "-".join(parts)


def kernel_label(kernel: str) -> str:
    """``stock``, a patch name, or a kernel directory's name (``/a/b/kernel-x`` → ``kernel-x``)."""
    return Path(kernel).name if is_kernel_dir(kernel) else kernel


def is_kernel_dir(kernel: str) -> bool:
    return "/" in kernel


def matches(pattern: str, cell: str) -> bool:
    """Shell-style pattern of a cell id (``linuxtest-*-thread-hold``), as the known-failures list uses it."""
    return fnmatch.fnmatchcase(cell, pattern)


class _Reader:
    """Typed access to the TOML document; every problem is named by file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {problem}", hint=fix)

    def strings(self, table: dict[str, Any], key: str, default: list[str]) -> list[str]:
        value = table.get(key, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"matrix.{key}", "must be a non-empty list of strings", f'write {key} = ["…"]')
        return list(dict.fromkeys(value))

    def safe(self, key: str, value: str, what: str) -> str:
        if not _SAFE.match(value):
            raise self.fail(key, f"{what} {value!r} is not a plain name", "use letters, digits, '.', '_', '+', '-'")
        return value


def _decode(path: Path) -> dict[str, Any]:
    """Bounded, UTF-8, parsed by the one TOML loader; the axes are then read with the checks below."""
    return tomlfile.load(path, hint="see harness nightly --help for the matrix format").data


def _workloads(reader: _Reader, raw: Any) -> list[WorkloadSpec]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise reader.fail("matrix.workload", "must be a non-empty list", 'write workload = ["thread-hold"]')
    specs: list[WorkloadSpec] = []
    for i, item in enumerate(raw):
        key = f"matrix.workload[{i}]"
        if isinstance(item, str):
            specs.append(WorkloadSpec(item))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise reader.fail(key, "must be a name or { name = …, params = { … } }", 'e.g. { name = "thread-hold" }')
        if extra := set(item) - {"name", "params", "label"}:
            raise reader.fail(key, f"unknown key {sorted(extra)[0]!r}", "known: name, params, label")
        params = item.get("params", {})
        if not isinstance(params, dict) or not all(
            isinstance(v, int | str) and not isinstance(v, bool) for v in params.values()
        ):
            raise reader.fail(f"{key}.params", "must be a table of integers or strings", "e.g. { threads = 64 }")
        label = item.get("label", "")
        if not isinstance(label, str):
            raise reader.fail(f"{key}.label", "must be a string", 'e.g. label = "thread-hold-64"')
        specs.append(WorkloadSpec(item["name"], tuple(sorted(params.items())), label))
    for spec in specs:
        reader.safe("matrix.workload", spec.shown, "workload label")
    return specs


def _model(reader: _Reader, raw: Any) -> dict[str, dict[str, int]]:
    if not isinstance(raw, dict):
        raise reader.fail("model", "must be a table of cell patterns", '"CELL-PATTERN" = { KEY = VALUE }')
    out: dict[str, dict[str, int]] = {}
    for pattern, values in raw.items():
        if not isinstance(values, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values.values()
        ):
            raise reader.fail(
                f"model.{pattern}", "must be a table of non-negative integers", "e.g. thread_size_kib = 16"
            )
        out[pattern] = dict(values)
    return out


def _check_workload(reader: _Reader, guest: str, spec: WorkloadSpec) -> None:
    from harness.errors import UsageError
    from harness.workloads.catalogue import load_catalogue

    try:
        workload = load_catalogue().get(spec.name)
        workload.with_params(dict(spec.params))
    except UsageError as exc:
        raise reader.fail("matrix.workload", exc.message, exc.hint or "see harness run --help") from None
    if guest not in workload.guests:
        raise reader.fail("matrix.workload", f"{spec.name} does not run on {guest}", f"it runs on {workload.guests}")


def parse(data: dict[str, Any], path: Path) -> Matrix:
    reader = _Reader(path)
    if extra := set(data) - {"matrix", "model"}:
        raise reader.fail(sorted(extra)[0], "unknown table", "a matrix file has [matrix] and optionally [model]")
    table = data.get("matrix")
    if not isinstance(table, dict):
        raise reader.fail("matrix", "missing", "start the file with [matrix]")
    if extra := set(table) - set(AXES):
        raise reader.fail(f"matrix.{sorted(extra)[0]}", "unknown axis", f"axes: {', '.join(AXES)}")
    guests = reader.strings(table, "guest", [registry.DEFAULT])
    for guest in guests:
        if guest not in registry.names():
            raise reader.fail("matrix.guest", f"unknown guest {guest!r}", f"guests: {', '.join(registry.names())}")
    releases = [reader.safe("matrix.release", r, "release") for r in reader.strings(table, "release", ["14"])]
    arches = reader.strings(table, "arch", ["amd64"])
    for arch in arches:
        if arch not in ARCHES:
            raise reader.fail("matrix.arch", f"unknown arch {arch!r}", f"arches: {', '.join(ARCHES)}")
    kernels = reader.strings(table, "kernel", [STOCK])
    for kernel in kernels:
        reader.safe("matrix.kernel", kernel_label(kernel), "kernel")
    workloads = _workloads(reader, table.get("workload", ["thread-hold", "thread-churn"]))
    repeat = table.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise reader.fail("matrix.repeat", f"must be an integer from 1 to {MAX_REPEAT}", "e.g. repeat = 3")
    model = _model(reader, data.get("model", {}))
    cells = _expand(reader, guests, releases, arches, kernels, workloads, repeat, model)
    axes = {"guest": tuple(guests), "release": tuple(releases), "arch": tuple(arches), "kernel": tuple(kernels)}
    return Matrix(path, tuple(cells), repeat, {**axes, "workload": tuple(w.shown for w in workloads)})


def _expand(
    reader: _Reader,
    guests: list[str],
    releases: list[str],
    arches: list[str],
    kernels: list[str],
    workloads: list[WorkloadSpec],
    repeat: int,
    model: dict[str, dict[str, int]],
) -> list[Cell]:
    cells: dict[str, Cell] = {}
    for guest in guests:
        kind = registry.select(guest)
        if not kind.takes_kernels and kernels != [STOCK] and STOCK not in kernels:
            raise reader.fail("matrix.kernel", f"the {guest} guest has no kernel to build", 'add "stock"')
        guest_releases: list[str | None] = list(releases) if kind.has_releases else [None]
        guest_kernels = kernels if kind.takes_kernels else [STOCK]
        for release, arch, kernel, spec in itertools.product(guest_releases, arches, guest_kernels, workloads):
            _check_workload(reader, guest, spec)
            cell = Cell(guest, release, arch, kernel, spec, repeats=repeat)
            overrides = {
                k: v for pattern, values in model.items() if matches(pattern, cell.id) for k, v in values.items()
            }
            cell = Cell(guest, release, arch, kernel, spec, tuple(sorted(overrides.items())), repeat)
            if cell.id in cells:
                raise reader.fail("matrix.workload", f"two cells are named {cell.id}", "give one a label")
            cells[cell.id] = cell
            if len(cells) > MAX_CELLS:
                raise reader.fail("matrix", f"more than {MAX_CELLS} cells", "split the matrix")
    return list(cells.values())


def load(path: Path) -> Matrix:
    return parse(_decode(path), path)
