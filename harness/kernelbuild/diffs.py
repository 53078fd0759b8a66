"""Unified diffs split into files and hunks, and which hunks fail to apply to a tree.

Used to turn "the patch does not apply" into a list of files and hunks. Every hunk is checked on its own with
``git apply --check`` against the tree's HEAD through a scratch index, so a half-applied worktree does not
change the answer and nothing in the worktree is touched.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness.kernelbuild import git


@dataclass(frozen=True)
class Hunk:
    number: int  # 1-based within its file
    header: str  # the @@ line
    body: str  # header line and the lines after it

    @property
    def old_start(self) -> int:
        # "@@ -120,7 +120,9 @@ ..." -> 120
        try:
            return int(self.header.split()[1].lstrip("-").split(",")[0])
        except (IndexError, ValueError):
            return 0


@dataclass(frozen=True)
class FilePatch:
    path: str
    header: str  # everything before the first hunk ("diff --git", index, ---/+++ lines)
    hunks: tuple[Hunk, ...]

    @property
    def binary(self) -> bool:
        return "GIT binary patch" in self.header or "Binary files" in self.header


@dataclass(frozen=True)
class FileConflict:
    path: str
    hunks: tuple[Hunk, ...] = field(default_factory=tuple)
    reason: str = ""

    def summary(self) -> str:
        if not self.hunks:
            return f"{self.path} ({self.reason or 'does not apply'})"
        parts = ", ".join(f"hunk {h.number} at line {h.old_start}" for h in self.hunks)
        return f"{self.path} ({parts})"


def _target_path(header_line: str) -> str:
    # "diff --git a/sys/vm/vm_glue.c b/sys/vm/vm_glue.c" -> "sys/vm/vm_glue.c"
    words = header_line.split()
    last = words[-1] if words else ""
    return last[2:] if last.startswith("b/") else last


def split_diff(diff: str) -> list[FilePatch]:
    files: list[FilePatch] = []
    for chunk in _file_chunks(diff):
        lines = chunk.splitlines(keepends=True)
        header_lines: list[str] = []
        hunks: list[list[str]] = []
        for line in lines:
            if line.startswith("@@"):
                hunks.append([line])
            elif hunks:
                hunks[-1].append(line)
            else:
                header_lines.append(line)
        parsed = tuple(Hunk(i, h[0].rstrip("\n"), "".join(h)) for i, h in enumerate(hunks, start=1))
        files.append(FilePatch(_target_path(lines[0]), "".join(header_lines), parsed))
    return files


def _file_chunks(diff: str) -> list[str]:
    chunks: list[list[str]] = []
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git "):
            chunks.append([line])
        elif chunks:
            chunks[-1].append(line)
    return ["".join(c) for c in chunks]


def _applies(worktree: Path, patch: str, index_env: dict[str, str]) -> bool:
    return git.run_git(worktree, "apply", "--check", "--cached", "-", stdin=patch, env=index_env, check=False).ok


def failing_hunks(worktree: Path, diff: str) -> list[FileConflict]:
    """Every file of ``diff`` with the hunks that do not apply to the worktree's HEAD."""
    fd, index = tempfile.mkstemp(prefix="harness-index-")
    os.close(fd)
    os.unlink(index)  # git wants to create the index itself
    env = {"GIT_INDEX_FILE": index}
    try:
        git.run_git(worktree, "read-tree", "HEAD", env=env)
        conflicts: list[FileConflict] = []
        for file in split_diff(diff):
            if _applies(worktree, file.header + "".join(h.body for h in file.hunks), env):
                continue
            if file.binary or not file.hunks:
                conflicts.append(FileConflict(file.path, reason="file is missing or differs"))
                continue
            bad = tuple(h for h in file.hunks if not _applies(worktree, file.header + h.body, env))
            conflicts.append(FileConflict(file.path, bad, "" if bad else "hunks apply alone but not together"))
        return conflicts
    finally:
        if os.path.exists(index):
            os.unlink(index)
