"""``harness bisect``: find the first bad commit between a good and a bad revision of a FreeBSD source tree.

git bisect runs in a detached worktree of its own (``harness.kernelbuild.worktree``), never in the user's checkout;
each revision git checks out there is judged by a step (build + run, or ``--step-command``) whose exit code maps
to git bisect's verdict (:func:`harness.regress.outcome.mark_for_exit`). Every step is appended to the bisect log
as it ends, so an interrupted bisect still says what it learnt. Whatever happens — the first bad commit found,
an error, Ctrl-C or SIGTERM — ``git bisect reset`` runs in the worktree and the worktree is removed.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InfraError, UsageError
from harness.kernelbuild import git
from harness.kernelbuild.source import SourceTree, open_checkout
from harness.kernelbuild.worktree import detached_worktree, worktree_add_argv
from harness.regress.outcome import Mark, StepRecord, mark_for_exit
from harness.regress.steps import WORKTREE, Step
from harness.settings import cache_dir
from harness.steps import note, step
from harness.util.dirs import usable_dir
from harness.util.files import atomic_write_text

Echo = Callable[[str], None]

STEPS_LOG = "steps.jsonl"
GIT_BISECT_LOG = "git-bisect.log"
RESULT = "result.json"
_FIRST_BAD = re.compile(r"^(?P<sha>[0-9a-f]{40}) is the first bad commit", re.MULTILINE)
_ONLY_SKIPPED = "only 'skip'ped commits left"
_SHA_LINE = re.compile(r"^(?P<sha>[0-9a-f]{40})\b", re.MULTILINE)


@dataclass(frozen=True)
class Range:
    repo: Path
    good: str
    bad: str

    @property
    def label(self) -> str:
        return f"{self.good[:12]}..{self.bad[:12]}"


@dataclass
class BisectResult:
    status: str  # "found" | "ambiguous" | "running" | "interrupted" | "error"
    good: str
    bad: str
    first_bad: str | None = None
    subject: str | None = None
    candidates: list[str] = field(default_factory=list)
    shown_by: StepRecord | None = None
    steps: list[StepRecord] = field(default_factory=list)
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "found" else 2


def _commit(repo: Path, rev: str, option: str) -> str:
    found = git.run_git(repo, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
    if not found.ok:
        raise UsageError(f"{option} {rev} is not a commit of {repo}", hint="give a revision `git log` shows")
    return found.stdout.strip()


def resolve_range(src: Path, good: str, bad: str) -> Range:
    """The checkout and the two commits; usage errors for anything git bisect would stumble over later."""
    repo = open_checkout(src).path
    good_sha, bad_sha = _commit(repo, good, "--good"), _commit(repo, bad, "--bad")
    if good_sha == bad_sha:
        raise UsageError(f"--good and --bad are the same commit {good_sha[:12]}")
    if not git.is_ancestor(repo, good_sha, bad_sha):
        raise UsageError(
            f"--good {good} is not an ancestor of --bad {bad}",
            hint="bisect looks for the first bad commit after a good one: swap them, or pick an older good revision",
        )
    return Range(repo, good_sha, bad_sha)


def _subject(repo: Path, rev: str) -> str:
    return git.run_git(repo, "log", "-1", "--format=%s", rev, check=False).stdout.strip()


def _candidates(repo: Path, span: Range) -> int:
    return int(git.run_git(repo, "rev-list", "--count", f"{span.good}..{span.bad}").stdout.strip() or 0)


def print_plan(span: Range, runner: Step, log_dir: Path, echo: Echo) -> None:
    """What a bisect would do, changing nothing: the worktree, git bisect, each step's commands, the cleanup."""
    count = _candidates(span.repo, span)
    first = git.run_git(span.repo, "rev-list", "--bisect", span.bad, f"^{span.good}", check=False).stdout.strip()
    echo(f"# bisect {span.label} in {span.repo}: {count} commits, about {math.ceil(math.log2(count + 1))} steps")
    wt = str(cache_dir("worktrees") / "wt-BISECT")
    source = SourceTree(span.repo, span.bad, "git", None)
    echo("host$ " + shlex.join(worktree_add_argv(source, Path(wt))))
    echo("host$ " + shlex.join(git.git_argv(Path(wt), "bisect", "start", span.bad, span.good)))
    if first:
        echo(f"# the first step judges {first[:12]} {_subject(span.repo, first)}")
    echo(f"# each step, in {WORKTREE} = {wt} at the revision git bisect checked out:")
    for line in runner.plan(wt, log_dir / "runs"):
        echo("host$ " + line)
    echo("# step exit 0 → good, 1 (check failed) or 3 (crash) → bad, 2 (build/boot failed) or 125 → skip;")
    echo("# a signal or an exit above 127 stops the bisect")
    echo("host$ " + shlex.join(git.git_argv(Path(wt), "bisect", "good|bad|skip")))
    echo(f"# each step is appended to {log_dir / STEPS_LOG}; at the end:")
    echo("host$ " + shlex.join(git.git_argv(Path(wt), "bisect", "log")) + f" > {log_dir / GIT_BISECT_LOG}")
    echo("host$ " + shlex.join(git.git_argv(Path(wt), "bisect", "reset")))
    echo("host$ " + shlex.join(git.git_argv(span.repo, "worktree", "remove", "--force", wt)))


class BisectLog:
    """The bisect's directory: ``steps.jsonl`` (a line per step, written as it ends), ``git-bisect.log``, and
    ``result.json`` (rewritten after every step, so an interrupted bisect says how far it got)."""

    def __init__(self, directory: Path) -> None:
        if (directory / STEPS_LOG).exists():
            raise UsageError(f"{directory} already holds a bisect log", hint="pass another --log-dir")
        self.directory = usable_dir(directory, what="the bisect log directory", fix="pass a writable --log-dir")

    def append(self, record: StepRecord) -> None:
        with (self.directory / STEPS_LOG).open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(record)) + "\n")

    def write_result(self, result: BisectResult, extra: dict[str, Any]) -> None:
        atomic_write_text(self.directory / RESULT, json.dumps({**asdict(result), **extra}, indent=2) + "\n")


def _finished(output: str, result: BisectResult, repo: Path) -> bool:
    """Read what git bisect said after a mark: done (first bad commit / only skipped left) or go on."""
    if found := _FIRST_BAD.search(output):
        result.status, result.first_bad = "found", found["sha"]
        result.subject = _subject(repo, found["sha"])
        result.shown_by = next((s for s in result.steps if s.revision == found["sha"]), None)
        return True
    if _ONLY_SKIPPED in output:
        result.status = "ambiguous"
        result.candidates = [m["sha"] for m in _SHA_LINE.finditer(output.split(_ONLY_SKIPPED, 1)[1])]
        return True
    return False


def _bisect_git(worktree: Path, *args: str) -> str:
    done = git.run_git(worktree, "bisect", *args, check=False)
    output = done.stdout + done.stderr
    if not done.ok and _ONLY_SKIPPED not in output:
        last = (output.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise InfraError(f"git bisect {' '.join(args)} failed in {worktree}: {last}")
    return output


def _judge(worktree: Path, index: int, runner: Step, log: BisectLog) -> StepRecord:
    revision = git.head_revision(worktree)
    started = time.monotonic()
    with step("bisect", step=index, revision=revision[:12]):
        outcome = runner(worktree, index, log.directory)
    mark = mark_for_exit(outcome.exit_code)
    return StepRecord(
        step=index,
        revision=revision,
        subject=_subject(worktree, revision),
        mark=mark.value if mark else "abort",
        exit_code=outcome.exit_code,
        summary=outcome.summary,
        seconds=round(time.monotonic() - started, 1),
        build_key=outcome.build_key,
        kernel_dir=outcome.kernel_dir,
        run_dir=outcome.run_dir,
        output=outcome.output,
    )


def _loop(
    worktree: Path, span: Range, runner: Step, log: BisectLog, result: BisectResult, extra: dict[str, Any]
) -> None:
    output = _bisect_git(worktree, "start", span.bad, span.good)
    index = 0
    while not _finished(output, result, span.repo):
        index += 1
        record = _judge(worktree, index, runner, log)
        result.steps.append(record)
        log.append(record)
        log.write_result(result, extra)
        note("bisect", f"step {index}: {record.revision[:12]} {record.mark} ({record.summary})")
        if record.mark == "abort":
            raise InfraError(
                f"step {index} at {record.revision[:12]} ended with {record.exit_code} ({record.summary})",
                hint="a step exits 0 good, 1 or 3 bad, 2 or 125 skip; a signal or a code above 127 stops the bisect",
            )
        output = _bisect_git(worktree, Mark(record.mark).value)


def bisect(span: Range, runner: Step, log_dir: Path, extra: dict[str, Any] | None = None) -> BisectResult:
    """Run the bisect to its end. The worktree is reset and removed on every way out, including Ctrl-C."""
    extra = {"repo": str(span.repo), **(extra or {})}
    log = BisectLog(log_dir.absolute())  # absolute: step commands run in the worktree, not in our directory
    result = BisectResult(status="running", good=span.good, bad=span.bad)
    log.write_result(result, extra)
    source = SourceTree(span.repo, span.bad, "git", None)
    try:
        with detached_worktree(source, cache_dir("worktrees")) as worktree:
            try:
                _loop(worktree, span, runner, log, result, extra)
            finally:
                bisect_log = git.run_git(worktree, "bisect", "log", check=False)
                if bisect_log.ok:
                    atomic_write_text(log.directory / GIT_BISECT_LOG, bisect_log.stdout)
                git.run_git(worktree, "bisect", "reset", check=False)
    except KeyboardInterrupt:
        result.status, result.error = "interrupted", "interrupted by the user"
        log.write_result(result, extra)
        raise
    except Exception as exc:
        result.status, result.error = "error", str(exc)
        log.write_result(result, extra)
        raise
    log.write_result(result, extra)
    return result
