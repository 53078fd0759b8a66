"""A separate git worktree for patching and building, so the user's checkout is never touched."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness.kernelbuild import git
from harness.kernelbuild.source import SourceTree
from harness.steps import step


def worktree_add_argv(source: SourceTree, path: Path) -> list[str]:
    return git.git_argv(source.path, "worktree", "add", "--detach", str(path), source.revision)


@contextlib.contextmanager
def detached_worktree(source: SourceTree, parent: Path, *, keep: bool = False) -> Iterator[Path]:
    """A worktree of ``source.revision`` in a fresh directory under ``parent``; removed again on exit.

    ``keep`` leaves it in place (for debugging a failed build); git's bookkeeping still knows it.
    """
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="wt-", dir=parent))
    with step("worktree", revision=source.revision[:12]):
        git.run_git(source.path, "worktree", "add", "--detach", str(path), source.revision)
    try:
        yield path
    finally:
        if not keep:
            remove_worktree(source.path, path)


def remove_worktree(repo: Path, path: Path) -> None:
    """Remove a worktree even when a patch left it conflicted; then let git forget it."""
    git.run_git(repo, "worktree", "remove", "--force", "--force", str(path), check=False)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    git.run_git(repo, "worktree", "prune", check=False)
