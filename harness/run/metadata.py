"""``metadata.json``: the typed, versioned record of one run, with its one reader and its one writer.

It is the contract between ``harness run`` (which writes it first and updates it as the run goes), ``analyze``,
``compare`` and ``bisect``. ``RunMetadata.from_json`` reads every version written so far (version 0 is the file
of the harness before the field ``schema_version`` existed: the same keys, untyped); ``to_json`` writes the current
version. Keys this version does not know are kept as they were read (``extra``) and written back.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UsageError
from harness.run.request import ModelOverrides, ModelValue
from harness.util.files import PLAIN_NAME
from harness.util.jsonable import to_jsonable

if TYPE_CHECKING:
    from harness.workloads.catalogue import ParamValue

#: 1: ``schema_version`` written; statuses are the enums below. 0: the same record before it was versioned.
SCHEMA_VERSION = 1


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    CRASHED = "crashed"


class WorkloadStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    #: How the workload program ended (``harness.run.collect.WorkloadRun.status``).
    DONE = "done"
    FAILED = "failed"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"
    #: Ended by the run: an infrastructure error, Ctrl-C/SIGTERM, or a guest crash while it ran.
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"


@dataclass
class WorkloadEntry:
    name: str
    params: dict[str, ParamValue] = field(default_factory=dict)
    status: WorkloadStatus = WorkloadStatus.PENDING
    exit_status: int | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class CrashRecord:
    """A crash the run saw while it was live (the console watcher's), attributed to a workload."""

    title: str
    workload: str | None
    excerpt: tuple[str, ...] = ()
    kind: str = "panic"
    signature: str | None = None


@dataclass
class RunMetadata:
    run_id: str
    guest: str
    arch: str
    created: str | None = None
    harness_version: str | None = None
    argv: list[str] = field(default_factory=list)
    host: dict[str, str] = field(default_factory=dict)
    status: RunStatus = RunStatus.RUNNING
    release: str | None = None
    kernel: str | None = None
    patch: str | None = None
    ddb: bool = False
    model: ModelOverrides = field(default_factory=dict)
    workdir: str | None = None
    workloads: list[WorkloadEntry] = field(default_factory=list)
    # --- found while the run goes (absent from the file until known) -------------------------------------------
    current_workload: str | None = None
    #: What the guest kind's session found out (JSON values: uname, kernel ident, generation, …).
    guest_facts: dict[str, object] | None = None
    generation: str | None = None
    expected_generation: str | None = None
    image: str | None = None
    crash: CrashRecord | None = None
    error: str | None = None
    finished: str | None = None
    schema_version: int = SCHEMA_VERSION
    #: Keys this version does not know, kept as read.
    extra: dict[str, object] = field(default_factory=dict)

    def shown(self) -> dict[str, object]:
        """What reports show of how the run was made (``RunResult.metadata``)."""
        return {"kernel": self.kernel, "patch": self.patch, "argv": list(self.argv)}

    def workload(self, name: str) -> WorkloadEntry | None:
        return next((entry for entry in self.workloads if entry.name == name), None)

    @classmethod
    def from_json(cls, raw: object, where: Path) -> RunMetadata:
        """The one reader: ``raw`` as ``json.load`` made it from ``where``; a wrong shape is one UsageError."""
        try:
            return _read(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(
                f"{where} is not a run's metadata: {_what(exc)}", hint="pass a run directory `harness run` wrote"
            ) from exc

    def to_json(self) -> dict[str, object]:
        """The one writer: the current version; fields found later are left out until they are known."""
        data = _known(self, _LATER)
        data.pop("extra")
        data["workloads"] = [_known(entry, {"exit_status", "seconds"}) for entry in self.workloads]
        if self.crash is not None:
            data["crash"] = _known(self.crash, {"signature"})
        data.update(self.extra)
        return data


_FIELDS = frozenset(f.name for f in dataclasses.fields(RunMetadata)) - {"extra"}
_LATER = frozenset(
    {"current_workload", "guest_facts", "generation", "expected_generation", "image", "crash", "error", "finished"}
)


def _known(record: RunMetadata | WorkloadEntry | CrashRecord, later: frozenset[str] | set[str]) -> dict[str, object]:
    """The record's fields as JSON values, without those of ``later`` that are still None (not known yet)."""
    return {
        f.name: to_jsonable(getattr(record, f.name))
        for f in dataclasses.fields(record)
        if not (f.name in later and getattr(record, f.name) is None)
    }


def _what(exc: Exception) -> str:
    return f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)


def _object(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} is a {type(value).__name__}, not an object")
    return {str(k): v for k, v in value.items()}


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} is {value!r}, not an integer")
    return value


def _opt_float(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} is {value!r}, not a number")
    return float(value)


def _scalar(value: object, what: str) -> ModelValue:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"{what} is {value!r}, not a number or text")
    return value


def _param(value: object, what: str) -> ParamValue:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{what} is {value!r}, not an integer or text")
    return value


def _workload(raw: object, index: int) -> WorkloadEntry:
    entry = _object(raw, f"workload {index}")
    params = _object(entry.get("params") or {}, f"workload {index} params")
    name = entry["name"]
    # The name becomes a path (raw/<name>/, parsed/<name>/): a run directory from elsewhere may say "/etc" or "..".
    if not isinstance(name, str) or not PLAIN_NAME.fullmatch(name):
        raise ValueError(f"workload {index} name {str(name)[:80]!r} is not a plain name")
    return WorkloadEntry(
        name=name,
        params={k: _param(v, f"workload {index} parameter {k}") for k, v in params.items()},
        status=WorkloadStatus(str(entry.get("status") or WorkloadStatus.PENDING)),
        exit_status=_opt_int(entry.get("exit_status"), f"workload {index} exit_status"),
        seconds=_opt_float(entry.get("seconds"), f"workload {index} seconds"),
    )


def _crash(raw: object) -> CrashRecord | None:
    if not raw:
        return None
    crash = _object(raw, "crash")
    excerpt = crash.get("excerpt") or []
    if isinstance(excerpt, str):  # one block of text (a hand-written or older record): its lines
        excerpt = excerpt.splitlines()
    if not isinstance(excerpt, list):
        raise TypeError("crash excerpt is not a list")
    return CrashRecord(
        title=str(crash["title"]),
        workload=_opt_str(crash.get("workload")),
        excerpt=tuple(str(line) for line in excerpt),
        kind=str(crash.get("kind") or "panic"),
        signature=_opt_str(crash.get("signature")),
    )


def _read(raw: object) -> RunMetadata:
    data = _object(raw, "metadata.json")
    version = _opt_int(data.get("schema_version"), "schema_version") or 0
    if version > SCHEMA_VERSION:
        raise ValueError(f"schema_version {version} is newer than this harness reads ({SCHEMA_VERSION})")
    workloads = data.get("workloads") or []
    if not isinstance(workloads, list):
        raise TypeError("workloads is not a list")
    facts = data.get("guest_facts")
    return RunMetadata(
        # Missing identity is judged by the reader (analyze: "names an unknown guest ''"), as before versioning.
        run_id=str(data.get("run_id") or ""),
        guest=str(data.get("guest") or ""),
        arch=str(data.get("arch") or ""),
        created=_opt_str(data.get("created")),
        harness_version=_opt_str(data.get("harness_version")),
        argv=[str(arg) for arg in _list(data.get("argv"), "argv")],
        host={k: str(v) for k, v in _object(data.get("host") or {}, "host").items()},
        status=RunStatus(str(data.get("status") or RunStatus.RUNNING)),
        release=_opt_str(data.get("release")),
        kernel=_opt_str(data.get("kernel")),
        patch=_opt_str(data.get("patch")),
        ddb=bool(data.get("ddb", False)),
        model={k: _scalar(v, f"model {k}") for k, v in _object(data.get("model") or {}, "model").items()},
        workdir=_opt_str(data.get("workdir")),
        workloads=[_workload(entry, index) for index, entry in enumerate(workloads)],
        current_workload=_opt_str(data.get("current_workload")),
        guest_facts=None if facts is None else _object(facts, "guest_facts"),
        generation=_opt_str(data.get("generation")),
        expected_generation=_opt_str(data.get("expected_generation")),
        image=_opt_str(data.get("image")),
        crash=_crash(data.get("crash")),
        error=_opt_str(data.get("error")),
        finished=_opt_str(data.get("finished")),
        extra={k: v for k, v in data.items() if k not in _FIELDS},
    )


def _list(value: object, what: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{what} is not a list")
    return list(value)
