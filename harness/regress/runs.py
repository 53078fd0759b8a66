"""A stored run as compare sees it: its checks keyed stably, its crash by signature, the metadata that explains it.

Reads only what ``harness run``/``harness analyze`` wrote (metadata.json, results.json). Anything that is not such
a run directory, or whose results.json is unreadable or not the shape the report writer makes, is a UsageError
of one line (exit 2): compare never guesses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from harness.errors import UsageError
from harness.parse.panic import parse_panics, signature
from harness.report.write import RESULTS_JSON
from harness.run.metadata import RunMetadata
from harness.run.rundir import METADATA, RunDir

_STATUSES = frozenset({"pass", "fail", "inconclusive"})


class CheckKey(NamedTuple):
    """What makes two checks of two runs the same check: not the run's order, not the expected value."""

    workload: str
    invariant: str
    observable: str
    phase: str

    def label(self) -> str:
        where = f" ({self.workload})" if self.workload else ""
        return f"{self.invariant} {self.observable}@{self.phase}{where}"


@dataclass(frozen=True)
class Check:
    key: CheckKey
    status: str
    expected: str
    observed: float | None
    unit: str
    tolerance: float
    why: str


@dataclass(frozen=True)
class CrashInfo:
    title: str
    signature: str
    workload: str | None
    kind: str


@dataclass
class StoredRun:
    path: Path
    run_id: str
    outcome: str
    exit_code: int
    error: str | None
    checks: dict[CheckKey, Check]
    crash: CrashInfo | None
    facts: dict[str, Any] = field(default_factory=dict)


def _garbled(path: Path, what: str) -> UsageError:
    return UsageError(f"{path} is garbled: {what}", hint="re-judge the run with `harness analyze RUN_DIR`")


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{path.parent} has no {path.name}", hint="the run did not finish; `harness analyze RUN_DIR` judges it"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested past any real report, 5000 digits
        raise _garbled(path, f"not JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(data, dict):
        raise _garbled(path, f"a JSON {type(data).__name__}, not an object")
    return data


def _number(value: Any, path: Path, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _garbled(path, f"{what} is {str(value)[:80]!r}, not a number")
    try:
        return float(value)
    except OverflowError:
        raise _garbled(path, f"{what} is a {len(str(value))}-digit number, beyond any count a kernel keeps") from None


def _check(raw: Any, path: Path, index: int) -> Check:
    if not isinstance(raw, dict):
        raise _garbled(path, f"verdict {index} is not an object")
    try:
        status = str(raw["status"])
        key = CheckKey(str(raw.get("workload") or ""), str(raw["invariant"]), str(raw["name"]), str(raw["phase"]))
    except KeyError as exc:
        raise _garbled(path, f"verdict {index} has no {exc.args[0]!r}") from None
    if status not in _STATUSES:
        raise _garbled(path, f"verdict {index} has status {status!r}")
    return Check(
        key=key,
        status=status,
        expected=str(raw.get("expected", "")),
        observed=_number(raw.get("observed"), path, f"verdict {index} observed"),
        unit=str(raw.get("unit", "")),
        tolerance=_number(raw.get("tolerance"), path, f"verdict {index} tolerance") or 0.0,
        why=str(raw.get("why", "")),
    )


def crash_signature(crash: dict[str, Any]) -> str:
    """The crash's dedup signature: the stored one, else re-derived from its excerpt as ``harness triage`` does
    (title + first non-machinery frames), else from the title alone (the Linux test guest's panics)."""
    stored = crash.get("signature")
    if isinstance(stored, str) and stored:
        return stored
    excerpt = crash.get("excerpt") or []
    if isinstance(excerpt, list) and excerpt:
        reports = parse_panics("\n".join(str(line) for line in excerpt))
        if reports:
            return reports[0].signature
    return signature(str(crash.get("title", "")), None)


def _crash(raw: Any, path: Path) -> CrashInfo | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("title"), str):
        raise _garbled(path, "crash has no title")
    return CrashInfo(raw["title"], crash_signature(raw), raw.get("workload"), str(raw.get("kind", "panic")))


def kernel_ident(meta: RunMetadata) -> str | None:
    """The booted kernel's ident (FreeBSD: ``kern.ident``), else the guest's ``uname`` (the Linux test guest)."""
    facts = meta.guest_facts or {}
    kernel = facts.get("kernel")
    if isinstance(kernel, dict) and kernel.get("ident"):
        return str(kernel["ident"])
    if isinstance(kernel, str):
        return kernel  # shown as recorded: compare does not guess at what a text means
    return str(facts["uname"]) if facts.get("uname") else None


def _build_key(meta: RunMetadata) -> str | None:
    """The build key ``harness build`` wrote next to the kernel the run booted (None when not readable)."""
    if not meta.kernel:
        return None
    try:
        data = json.loads((Path(meta.kernel) / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(data["build_key"]) if isinstance(data, dict) and data.get("build_key") else None


def facts(meta: RunMetadata, results: dict[str, Any]) -> dict[str, Any]:
    """What a reader needs to see differ between two runs, flat and comparable."""
    out: dict[str, Any] = {
        "guest": meta.guest or None,
        "arch": meta.arch or None,
        "release": meta.release or results.get("release"),
        "generation": results.get("generation") or meta.generation,
        "kernel ident": kernel_ident(meta),
        "kernel dir": meta.kernel,
        "build key": _build_key(meta),
        "patch": meta.patch,
        "model": dict(meta.model),
        "harness": meta.harness_version,
    }
    for entry in meta.workloads:
        out[f"workload {entry.name}"] = dict(entry.params)
    return out


def load(path: Path) -> StoredRun:
    """Read a run directory; every way it can be wrong is a one-line UsageError."""
    if not path.is_dir():
        raise UsageError(f"{path} is not a run directory", hint="pass a directory under runs/")
    if not (path / METADATA).is_file():
        raise UsageError(f"{path} is not a run directory (no {METADATA})", hint="pass a directory under runs/")
    meta = RunDir(path).metadata()
    results_path = path / RESULTS_JSON
    results = _read_json_object(results_path)
    verdicts = results.get("verdicts")
    if not isinstance(verdicts, list):
        raise _garbled(results_path, "no list of verdicts")
    checks: dict[CheckKey, Check] = {}
    for index, raw in enumerate(verdicts):
        check = _check(raw, results_path, index)
        checks[check.key] = check  # the writer never repeats a key; if it did, the last one is the one reported
    code = results.get("exit_code", 0)
    return StoredRun(
        path=path,
        run_id=str(results.get("run_id") or meta.run_id or path.name),
        outcome=str(results.get("outcome", "")),
        exit_code=code if isinstance(code, int) else 2,
        error=results.get("error") if isinstance(results.get("error"), str) else None,
        checks=checks,
        crash=_crash(results.get("crash"), results_path),
        facts=facts(meta, results),
    )
