"""The result of one run (or one re-analysis), in plain data: what ``results.json`` holds and reports render."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ExitCode
from harness.util.files import atomic_write_text
from harness.util.jsonable import to_jsonable
from harness.validate.verdicts import Status, Verdict, summary

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Crash:
    """A guest kernel crash seen on the console: its title (syzkaller style), the workload running, an excerpt."""

    title: str
    workload: str | None
    excerpt: list[str] = field(default_factory=list)
    kind: str = "panic"
    #: Stable across runs for dedup (``harness.parse.panic.signature``): what ``harness compare`` matches crashes by.
    signature: str | None = None


@dataclass
class RunResult:
    run_id: str
    guest: str
    arch: str
    release: str | None
    generation: str | None
    workloads: list[str]
    verdicts: list[Verdict] = field(default_factory=list)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    crash: Crash | None = None
    error: str | None = None
    started: str | None = None
    finished: str | None = None
    analyzed_offline: bool = False
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The VM start's phases from steps.jsonl (``harness.report.timeline``): name, kind, start, seconds.
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        """Crash beats failure beats infrastructure error beats pass (the order CI must act on)."""
        if self.crash is not None:
            return ExitCode.KERNEL_CRASH
        if any(v.status is Status.FAIL for v in self.verdicts):
            return ExitCode.CHECK_FAILED
        if self.error is not None:
            return ExitCode.INFRA
        return ExitCode.OK

    @property
    def outcome(self) -> str:
        return {
            ExitCode.OK: "passed",
            ExitCode.CHECK_FAILED: "failed",
            ExitCode.INFRA: "error",
            ExitCode.KERNEL_CRASH: "crashed",
        }.get(self.exit_code, "error")

    def counts(self) -> dict[str, int]:
        return summary(self.verdicts)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        data["schema"] = SCHEMA_VERSION
        data["outcome"] = self.outcome
        data["exit_code"] = int(self.exit_code)
        data["counts"] = self.counts()
        if not self.timeline:
            del data["timeline"]  # a run without recorded VM start phases (before they were recorded) reads as before
        return data


def render_json(result: RunResult) -> str:
    return json.dumps(result.to_json(), indent=2) + "\n"


def write_json(result: RunResult, path: Path) -> None:
    atomic_write_text(path, render_json(result))


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
