"""Source trees to build from: a user's git checkout (``--src``) or a release's ``src.txz`` imported into git.

The harness never changes the user's checkout: it reads its HEAD and builds in a separate worktree
(:mod:`harness.kernelbuild.worktree`). Uncommitted changes in the checkout are not part of the build, and say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.kernelbuild import git
from harness.steps import note

NEWVERS = Path("sys/conf/newvers.sh")
_NEWVERS_VAR = re.compile(r'^(?P<key>TYPE|REVISION|BRANCH)="(?P<value>[^"]*)"', re.MULTILINE)
# Branch kinds whose REVISION says which release's code the tree holds. CURRENT/PRERELEASE/ALPHA trees carry
# the *next* release's number long before that release's changes land, so nothing is inferred from them.
_SETTLED_BRANCHES = ("RELEASE", "RC", "BETA", "STABLE")


@dataclass(frozen=True)
class FreeBSDVersion:
    """``TYPE``/``REVISION``/``BRANCH`` from ``sys/conf/newvers.sh`` (e.g. FreeBSD, 14.1, RELEASE-p3)."""

    type: str
    revision: str
    branch: str

    @property
    def release(self) -> str:
        return f"{self.revision}-{self.branch}"

    @property
    def settled(self) -> bool:
        return self.branch.startswith(_SETTLED_BRANCHES)


@dataclass(frozen=True)
class SourceTree:
    """A FreeBSD source tree in git: ``path`` is the repository, ``revision`` the commit that is built."""

    path: Path
    revision: str
    kind: str  # "git" (the user's checkout) or "release" (an imported src.txz)
    version: FreeBSDVersion | None
    dirty: bool = False
    origin: str = ""  # for releases: the src.txz URL and digest

    @property
    def describe(self) -> str:
        rel = f" {self.version.release}" if self.version else ""
        extra = " (uncommitted changes not included)" if self.dirty else ""
        return f"{self.kind}{rel} {self.revision[:12]}{extra}"


def parse_newvers(text: str) -> FreeBSDVersion | None:
    found = {m["key"]: m["value"] for m in _NEWVERS_VAR.finditer(text)}
    if "REVISION" not in found or "BRANCH" not in found:
        return None
    return FreeBSDVersion(found.get("TYPE", "FreeBSD"), found["REVISION"], found["BRANCH"])


def read_version(repo: Path, revision: str) -> FreeBSDVersion | None:
    """The version recorded at ``revision`` (read from git, so uncommitted edits do not count)."""
    shown = git.run_git(repo, "show", f"{revision}:{NEWVERS.as_posix()}", check=False)
    return parse_newvers(shown.stdout) if shown.ok else None


def open_checkout(path: Path) -> SourceTree:
    """The user's checkout given with ``--src``; a missing directory or a non-git tree is a usage error."""
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise UsageError(f"source tree {path} {what}", hint="pass --src with a FreeBSD git checkout")
    if not git.is_git_checkout(path):
        raise UsageError(
            f"source tree {path} is not a git checkout",
            hint="clone https://git.freebsd.org/src.git, or use --release to build from a release's src.txz",
        )
    repo = Path(git.run_git(path, "rev-parse", "--show-toplevel").stdout.strip())
    if not git.run_git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False).ok:
        raise UsageError(f"source tree {repo} has no commits")
    revision = git.head_revision(repo)
    dirty = git.is_dirty(repo)
    if dirty:
        note("source", f"{repo} has uncommitted changes; building HEAD {revision[:12]} without them")
    return SourceTree(path=repo, revision=revision, kind="git", version=read_version(repo, revision), dirty=dirty)
