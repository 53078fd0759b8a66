"""Which backend can build a given source tree, and which FreeBSD release a builder VM must run for it.

FreeBSD facts this rests on (review freebsd-paths.md C1, H5, L6):

* ``tools/build/make.py`` — the only way to build FreeBSD on Linux — was added to head in r365949 (D16767,
  https://reviews.freebsd.org/rS365949, Sept 2020), "the last commit needed to compile FreeBSD on Linux+macOS".
  The D24473 baseline (head before r360354, April 2020) predates it, and so do its Makefile.inc1 and
  tools/build/cross-build: such a tree can only be built on FreeBSD. Whether the tree has it is read from git
  (``git cat-file -e <rev>:tools/build/make.py``), never assumed from a version number.
* 12.x through make.py on Linux with Debian's clang 18/19 (12.4 ships clang 13) was never tried, so a 12.x tree
  goes to the builder VM unless ``--backend cross`` is asked for explicitly (review L6).
* A builder must run a release that can build the tree: FreeBSD supports building a release from the previous
  major's stable branch upwards (UPDATING: source upgrades go from stable/N-1 to N), never an older tree on a
  much newer host. A -CURRENT/ALPHA tree of major N had no N.x release when it was written, so it is built in the
  newest N-1 release; every other tree in its own major (kernel-toolchain then builds the tree's own compiler).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import UsageError
from harness.kernelbuild import git
from harness.kernelbuild.source import FreeBSDVersion, SourceTree

MAKE_PY = "tools/build/make.py"
PARAM_H = "sys/sys/param.h"
#: r365949: the commit that added make.py (named in every refusal, so the user can check their tree).
MAKE_PY_ADDED = "r365949, D16767, September 2020"
_FREEBSD_VERSION = re.compile(r"^#define[ \t]+__FreeBSD_version[ \t]+(?P<value>\d+)", re.MULTILINE)
#: Trees on a branch whose major had no release yet when they were written.
_UNRELEASED = ("CURRENT", "ALPHA")
#: The first major whose trees are known to carry make.py and its Linux bootstrap (13.0 branched after r365949).
FIRST_CROSS_MAJOR = 13


@dataclass(frozen=True)
class TreeFacts:
    """What the build needs to know about a tree before choosing how to build it."""

    has_make_py: bool | None  # None: not known yet (a release's sources not downloaded in a dry run)
    freebsd_version: int | None  # __FreeBSD_version of sys/sys/param.h
    major: int | None
    branch: str | None  # newvers.sh BRANCH (CURRENT, STABLE, RELEASE-p3, RC1, …)

    @property
    def unreleased(self) -> bool:
        return self.branch is not None and self.branch.startswith(_UNRELEASED)


def parse_freebsd_version(param_h: str) -> int | None:
    """``#define __FreeBSD_version 1300090`` in sys/sys/param.h."""
    found = _FREEBSD_VERSION.search(param_h)
    return int(found["value"]) if found else None


def version_facts(version: FreeBSDVersion | None) -> TreeFacts:
    """What a tree's name alone says (a release not downloaded yet): 13.0 and later releases carry make.py."""
    head = version.revision.split(".")[0] if version else ""
    major = int(head) if head.isdigit() else None
    has = True if major is not None and major >= FIRST_CROSS_MAJOR and version and version.settled else None
    return TreeFacts(has, None, major, version.branch if version else None)


def tree_facts(source: SourceTree) -> TreeFacts:
    """What the tree at ``source.revision`` holds, read from git (a dry run's release tree: from its name)."""
    named = version_facts(source.version)
    if set(source.revision) == {"0"}:
        return named
    has_make_py = git.run_git(source.path, "cat-file", "-e", f"{source.revision}:{MAKE_PY}", check=False).ok
    shown = git.run_git(source.path, "show", f"{source.revision}:{PARAM_H}", check=False)
    version = parse_freebsd_version(shown.stdout) if shown.ok else None
    return TreeFacts(has_make_py, version, named.major, named.branch)


@dataclass(frozen=True)
class Choice:
    backend: str
    reason: str


def choose_backend(requested: str | None, facts: TreeFacts, *, on_freebsd: bool) -> Choice:
    """The backend for this tree: the one asked for if it can build it, else native on FreeBSD, cross on Linux
    for trees with make.py (13.x and later), the FreeBSD builder VM for everything else."""
    if requested == "cross" and facts.has_make_py is False:
        raise UsageError(
            f"--backend cross cannot build this tree: it has no {MAKE_PY} (added in {MAKE_PY_ADDED})",
            hint="use --backend guest (a FreeBSD builder VM), or build on a FreeBSD host with --backend native",
        )
    if requested is not None:
        return Choice(requested, "asked for with --backend")
    if on_freebsd:
        return Choice("native", "this host runs FreeBSD")
    if facts.has_make_py is False:
        return Choice("guest", f"the tree has no {MAKE_PY} (it predates {MAKE_PY_ADDED}): only FreeBSD builds it")
    if facts.major is not None and facts.major < FIRST_CROSS_MAJOR:
        return Choice("guest", f"a {facts.major}.x tree was never tried with make.py and Debian's clang on Linux")
    if facts.has_make_py is None:
        return Choice("guest", f"whether the tree has {MAKE_PY} is unknown until it is downloaded")
    return Choice("cross", f"the tree has {MAKE_PY} and this host is not FreeBSD")


def builder_major(facts: TreeFacts) -> str | None:
    """The FreeBSD major a builder VM runs for this tree (None: unknown, the builder default applies)."""
    if facts.major is None:
        return None
    return str(facts.major - 1) if facts.unreleased else str(facts.major)
