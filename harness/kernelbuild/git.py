"""A small owner for ``git`` processes: every call waits for git, captures its output and maps failures to errors."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BuildError, HostError

# Fixed identity and dates so that commits the harness makes (cherry-picks, imported release trees) do not
# depend on the user's git configuration and are reproducible.
HARNESS_IDENTITY = ("-c", "user.name=harness", "-c", "user.email=harness@localhost", "-c", "commit.gpgsign=false")
FIXED_DATE = "2000-01-01T00:00:00Z"


@dataclass(frozen=True)
class GitResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def git_argv(repo: Path, *args: str) -> list[str]:
    """The full command line of one git call in ``repo`` (also what a dry run prints)."""
    return ["git", "-C", str(repo), *args]


def run_git(
    repo: Path, *args: str, stdin: str | None = None, check: bool = True, env: dict[str, str] | None = None
) -> GitResult:
    """Run git in ``repo`` and wait for it. ``check`` turns a non-zero exit into a BuildError naming the call."""
    argv = git_argv(repo, *args)
    full_env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C", **(env or {}))
    full_env.setdefault("GIT_AUTHOR_DATE", FIXED_DATE)
    full_env.setdefault("GIT_COMMITTER_DATE", FIXED_DATE)
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            env=full_env,
            check=False,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise HostError("git is not installed", hint="apt-get install git") from None
    result = GitResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    if check and not result.ok:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        last = detail[-1] if detail else f"exit {proc.returncode}"
        raise BuildError(f"git {' '.join(args[:2])} failed in {repo}: {last}")
    return result


def is_git_checkout(path: Path) -> bool:
    return run_git(path, "rev-parse", "--is-inside-work-tree", check=False).stdout.strip() == "true"


def head_revision(repo: Path) -> str:
    return run_git(repo, "rev-parse", "HEAD").stdout.strip()


def has_commit(repo: Path, commit: str) -> bool:
    return run_git(repo, "cat-file", "-e", f"{commit}^{{commit}}", check=False).ok


def is_ancestor(repo: Path, commit: str, rev: str = "HEAD") -> bool:
    return run_git(repo, "merge-base", "--is-ancestor", commit, rev, check=False).ok


def is_shallow(repo: Path) -> bool:
    return run_git(repo, "rev-parse", "--is-shallow-repository", check=False).stdout.strip() == "true"


def is_dirty(repo: Path) -> bool:
    """True when tracked files have uncommitted changes (they are not part of what the harness builds)."""
    return bool(run_git(repo, "status", "--porcelain", "--untracked-files=no").stdout.strip())


def commit_diff(repo: Path, commit: str) -> str:
    """The change a commit makes, as a patch ``git apply`` understands (binary-safe, full index)."""
    return run_git(repo, "diff", "--binary", "--full-index", f"{commit}^", commit).stdout
