"""The workload catalogue: load it, look workloads up, and render one into a shell script plus its C sources.

The rendered script compiles the program with the guest's own ``cc`` (FreeBSD) or runs a binary built on the host
(:mod:`harness.workloads.hostbuild`, for guests without a compiler), writes start and end markers to
``/dev/console``, and, for workloads with a plateau, waits for the host to remove the hold (``release`` file).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

import jinja2

from harness.errors import ConfigError, UsageError
from harness.util import tomlfile

#: The header every program includes; shipped next to the program.
COMMON_HEADER = "harness_common.h"
#: Seconds to let the kernel settle after a debug.uma_reclaim before the next sample.
SETTLE_SECONDS = 5

ParamValue = int | str


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    template: str
    program: str | None
    args: str
    plateau: bool
    guests: tuple[str, ...]
    invariants: tuple[str, ...]
    timeout_seconds: int
    params: dict[str, ParamValue]
    extra: dict[str, Any] = field(default_factory=dict)
    #: Per guest, what its script needs that another guest's does not (``[workload.<name>.on.<guest>]``).
    on: dict[str, dict[str, Any]] = field(default_factory=dict)

    def on_guest(self, guest: str) -> dict[str, Any]:
        return dict(self.on.get(guest, {}))

    def with_params(self, overrides: dict[str, ParamValue]) -> dict[str, ParamValue]:
        """The defaults with ``overrides`` applied; unknown names and wrongly typed values are usage errors."""
        merged = dict(self.params)
        for key, value in overrides.items():
            if key not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                raise UsageError(f"workload {self.name} has no parameter {key!r}", hint=f"parameters: {known}")
            default = self.params[key]
            if isinstance(default, int) and isinstance(value, str):
                try:
                    value = int(value, 0)
                except ValueError:
                    raise UsageError(f"workload {self.name}: {key} must be an integer, got {value!r}") from None
            if isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int)):
                raise UsageError(f"workload {self.name}: {key} must be an integer, got {str(value)[:40]!r}")
            if isinstance(value, int) and value < 0:
                raise UsageError(f"workload {self.name}: {key} must not be negative, got {value}")
            if isinstance(value, int) and value > MAX_INT_PARAM:
                raise UsageError(f"workload {self.name}: {key} must be at most {MAX_INT_PARAM}, got {value}")
            if isinstance(default, str) and not isinstance(value, str):
                raise UsageError(f"workload {self.name}: {key} must be a string, got {str(value)[:40]!r}")
            merged[key] = value
        return merged


@dataclass(frozen=True)
class RenderedWorkload:
    """Everything needed to run one workload in a guest: the script, the files to upload, where it signals."""

    name: str
    script: str
    files: dict[str, bytes]
    workdir: str
    script_path: str
    binary: str
    ready_path: str | None
    release_path: str | None
    params: dict[str, ParamValue]
    timeout_seconds: int
    compile_in_guest: bool
    moments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    workloads: dict[str, Workload]
    host_cc: dict[str, str]

    def get(self, name: str) -> Workload:
        try:
            return self.workloads[name]
        except KeyError:
            known = ", ".join(sorted(self.workloads))
            raise UsageError(f"unknown workload {name!r}", hint=f"known workloads: {known}") from None

    def for_guest(self, guest_os: str) -> list[str]:
        return [name for name, w in self.workloads.items() if guest_os in w.guests]


def _data_text(*parts: str) -> str:
    return resources.files("harness.workloads").joinpath(*parts).read_text(encoding="utf-8")


#: What a plateau program prints when its threads are all up (harness_common.h's "harness: key=value" lines).
#: (A count of more digits than any thread count is not one: guest output, bounded.)
_PLATEAU_LINE = re.compile(r"^harness: plateau threads=(?P<threads>\d{1,10})(?!\d)", re.MULTILINE)


def plateau_threads(stdout: str | None) -> int | None:
    """How many threads the program really created at its plateau (it may have hit a limit below the asked N)."""
    found = _PLATEAU_LINE.search(stdout or "")
    return int(found["threads"]) if found else None


def program_source(name: str) -> str:
    """The text of a C program (or the common header) shipped in ``harness/workloads/programs``."""
    return _data_text("programs", name)


def load_catalogue(text: str | None = None) -> Catalogue:
    """Parse the catalogue (the shipped ``catalogue.toml`` unless ``text`` is given)."""
    if text is None:
        data = tomlfile.load_resource("harness.workloads", "catalogue.toml")
    else:
        data = tomlfile.parse(text, "workload catalogue", hint="see harness/workloads/catalogue.toml")
    workloads = {}
    for name, entry in data.table("workload", {}).subtables().items():
        with entry.guard():
            workloads[name] = _workload(name, dict(entry.data))
    return Catalogue(workloads=workloads, host_cc=data.string_map("host_cc", {}))


_KNOWN_KEYS = {"description", "template", "program", "args", "plateau", "guests", "invariants", "timeout_seconds", "on"}


def _per_guest(name: str, table: object) -> dict[str, dict[str, Any]]:
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ConfigError(f"workload {name} in the catalogue: 'on' must hold one table per guest")
    return {str(guest): dict(values) for guest, values in table.items()}


def _workload(name: str, entry: dict[str, Any]) -> Workload:
    try:
        program = entry.get("program")
        template = entry.get("template", "workload.sh.j2")
        if program is None and template == "workload.sh.j2":
            raise ConfigError(f"workload {name} has neither a program nor its own template")
        params = dict(entry.pop("params", {}))
        return Workload(
            name=name,
            description=str(entry["description"]),
            template=str(template),
            program=program,
            args=str(entry.get("args", "")),
            plateau=bool(entry.get("plateau", False)),
            guests=tuple(entry["guests"]),
            invariants=tuple(entry.get("invariants", ())),
            timeout_seconds=int(entry.get("timeout_seconds", 600)),
            params=params,
            extra={k: v for k, v in entry.items() if k not in _KNOWN_KEYS},
            on=_per_guest(name, entry.get("on", {})),
        )
    except KeyError as exc:
        raise ConfigError(f"workload {name} in the catalogue lacks {exc.args[0]!r}") from None


def parse_param_overrides(items: list[str]) -> dict[str, ParamValue]:
    """``["threads=512", "hold_seconds=30"]`` → ``{"threads": "512", ...}`` (typed later against the defaults)."""
    overrides: dict[str, ParamValue] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad workload parameter {item!r}", hint="write NAME=VALUE, e.g. threads=512")
        overrides[key.strip()] = value.strip()
    return overrides


#: Names pasted into the guest script's comments and marker lines (run ids, workload names): nothing a shell reads.
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")

#: Workload integer parameters are C ``int`` arguments of the guest programs.
MAX_INT_PARAM = 2**31 - 1


def _one_printable_line(text: str) -> str:
    """Control characters (newline, escape ...) replaced by ``?``: marker lines are parsed from the console."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.workloads", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # shell text, not HTML
    )
    env.filters["sh"] = lambda value: shlex.quote(str(value))
    env.filters["sh_words"] = lambda value: " ".join(shlex.quote(word) for word in str(value).split())
    return env


def render(
    workload: Workload,
    *,
    guest_os: str,
    run_id: str,
    workdir: str,
    overrides: dict[str, ParamValue] | None = None,
    compile_in_guest: bool = True,
    cc: str = "cc",
    console: str = "/dev/console",
    snapshot: dict[str, str] | None = None,
) -> RenderedWorkload:
    """Render ``workload`` for a guest: the script text and the files that must sit next to it in ``workdir``.

    ``snapshot`` (file name → shell command) is what a workload with moments runs in the guest at each moment,
    into ``<workdir>/moments/<moment>/<file>``."""
    if guest_os not in workload.guests:
        raise UsageError(
            f"workload {workload.name} does not run on {guest_os} guests",
            hint=f"it runs on: {', '.join(workload.guests)}",
        )
    for what, value in (("run id", run_id), ("workload name", workload.name)):
        if not _PLAIN_WORD.fullmatch(value):
            raise UsageError(f"{what} {value[:80]!r} is not a plain word", hint="use letters, digits, '.', '_', '-'")
    params = workload.with_params(overrides or {})
    base = PurePosixPath(workdir)
    slug = workload.name.replace("-", "_")
    ready = str(base / f"{slug}.ready") if workload.plateau else None
    release = str(base / f"{slug}.release") if workload.plateau else None
    binary = slug
    files: dict[str, bytes] = {}
    if workload.program is not None:
        files[workload.program] = program_source(workload.program).encode()
        files[COMMON_HEADER] = program_source(COMMON_HEADER).encode()
    context: dict[str, Any] = {
        **workload.extra,
        "name": workload.name,
        "run_id": run_id,
        "os": guest_os,
        # What differs per guest: package data ([workload.<name>.on.<guest>] in catalogue.toml), not guest names
        # compared in templates.
        "guest": workload.on_guest(guest_os),
        "workdir": shlex.quote(workdir),
        "ready": shlex.quote(ready or "/dev/null/none"),
        "release": shlex.quote(release or "/dev/null/none"),
        "compile": compile_in_guest and workload.program is not None,
        "cc": cc,
        "program": workload.program or "",
        "binary": binary,
        "params": params,
        # Shown on the console marker line: one line (a newline would forge marker lines), quoted by the template.
        "params_text": _one_printable_line(",".join(f"{k}={v}" for k, v in params.items())),
        "settle_seconds": SETTLE_SECONDS,
        "plateau": workload.plateau,
        "snapshot": snapshot or {},
        "console": shlex.quote(console),
    }
    env = _environment()
    context["args"] = env.from_string(workload.args).render(
        **{k: shlex.quote(str(v)) for k, v in params.items()}, ready=context["ready"], release=context["release"]
    )
    try:
        script = env.get_template(workload.template).render(**context)
    except jinja2.TemplateError as exc:
        raise ConfigError(f"workload template {workload.template} for {workload.name} failed: {exc}") from None
    return RenderedWorkload(
        name=workload.name,
        script=script,
        files=files,
        workdir=workdir,
        script_path=str(base / f"run_{slug}.sh"),
        binary=str(base / binary),
        ready_path=ready,
        release_path=release,
        params=params,
        timeout_seconds=workload.timeout_seconds,
        compile_in_guest=compile_in_guest,
        moments=tuple(workload.extra.get("moments", ())),
    )
