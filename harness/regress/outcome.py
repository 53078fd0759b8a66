"""How a bisect step's exit code becomes git bisect's verdict, and what one step leaves in the bisect log."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from harness.errors import ExitCode

#: git bisect run's "cannot test this commit" code; a --step-command may use it as well as the harness's 2.
GIT_SKIP = 125


class Mark(enum.StrEnum):
    GOOD = "good"
    BAD = "bad"
    SKIP = "skip"


def mark_for_exit(code: int) -> Mark | None:
    """harness exit codes → git bisect: 0 good; 1 (check failed) or 3 (crash) bad; 2 (infra: the build failed, the
    patch did not apply, the VM did not boot) skip, as does git's own 125. Any other 1–127 is bad, as under
    ``git bisect run``; a signal or a code above 127 (130: interrupted) stops the bisect (None)."""
    if code == ExitCode.OK:
        return Mark.GOOD
    if code in (ExitCode.INFRA, GIT_SKIP):
        return Mark.SKIP
    if 0 < code < 128:
        return Mark.BAD
    return None


@dataclass
class StepOutcome:
    """What one step found. ``exit_code`` is the harness's (or the step command's) code."""

    exit_code: int
    summary: str
    build_key: str | None = None
    kernel_dir: str | None = None
    run_dir: str | None = None
    output: str | None = None


@dataclass
class StepRecord:
    """One line of the bisect log (``steps.jsonl``)."""

    step: int
    revision: str
    subject: str
    mark: str
    exit_code: int
    summary: str
    seconds: float
    build_key: str | None = None
    kernel_dir: str | None = None
    run_dir: str | None = None
    output: str | None = None
