"""Patch recipes (``patches/<name>/patch.toml``) and series files (``patches/series.toml``).

A recipe says what a patch is, where it comes from (an upstream commit, a Phabricator review, local ``.patch``
files next to the recipe), which branches and releases it is meant for, and which model generation a kernel
has before and after it. A series orders several recipes; the generations must chain (G0-uma → G1 → G2).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError, UsageError
from harness.settings import data_dir
from harness.util import tomlfile

RECIPE_FILE = "patch.toml"
RECIPE_HINT = "see the other recipes in patches/"
SERIES_FILE = "series.toml"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REVIEW = re.compile(r"^D[0-9]+$")
_RELEASE = re.compile(r"^(?P<major>[0-9]+)\.(?P<minor>[0-9]+)$")


@dataclass(frozen=True)
class Origin:
    """Where the change comes from. ``commit`` in ``repository``, or ``files`` (paths relative to the recipe)."""

    repository: str | None = None
    commit: str | None = None
    review: str | None = None
    files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class AppliesTo:
    branches: tuple[str, ...] = ()
    releases: tuple[str, ...] = ()
    #: First release whose sources already contain the change (``"13.0"``); None if no release has it.
    contained_since: str | None = None


@dataclass(frozen=True)
class PatchRecipe:
    name: str
    summary: str
    directory: Path
    origin: Origin
    applies_to: AppliesTo
    generation_before: str
    generation_after: str
    notes: str = ""
    #: Harness debug options a kernel with this patch applied must not have, and why (``[kernconf] without``).
    without_options: tuple[str, ...] = ()
    without_why: str = ""

    @property
    def review_url(self) -> str | None:
        return f"https://reviews.freebsd.org/{self.origin.review}" if self.origin.review else None

    def file_hashes(self) -> dict[str, str]:
        """sha256 of each local ``.patch`` file, by name (part of the build key)."""
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in self.origin.files}


@dataclass(frozen=True)
class Series:
    name: str
    summary: str
    patches: tuple[str, ...]


@dataclass(frozen=True)
class PatchCatalogue:
    """Every recipe and series under a ``patches/`` directory."""

    root: Path
    recipes: dict[str, PatchRecipe] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)

    def resolve(self, names: list[str]) -> list[PatchRecipe]:
        """Recipe or series names → the recipes in order; unknown names are a usage error."""
        resolved: list[PatchRecipe] = []
        for name in names:
            if name in self.recipes:
                resolved.append(self.recipes[name])
            elif name in self.series:
                resolved.extend(self.recipes[p] for p in self.series[name].patches)
            else:
                known = ", ".join(sorted([*self.recipes, *self.series])) or "none"
                raise UsageError(f"unknown patch {name!r} (known: {known})")
        check_generation_chain(resolved)
        return resolved


def check_generation_chain(recipes: list[PatchRecipe]) -> None:
    """Each patch must start from the generation the previous one ends in, or the order is wrong."""
    for prev, nxt in itertools.pairwise(recipes):
        if prev.generation_after != nxt.generation_before:
            raise UsageError(
                f"patch order: {nxt.name} expects generation {nxt.generation_before} but {prev.name} "
                f"leaves {prev.generation_after}; apply {nxt.name} before {prev.name} or drop one"
            )
    if len({r.name for r in recipes}) != len(recipes):
        raise UsageError("a patch is named twice in the series")


def tree_branches(revision: str, branch: str) -> tuple[str, ...]:
    """The git branches a newvers.sh version can come from (review L2), most likely first.

    sys/conf/newvers.sh BRANCH by branch: main says CURRENT; stable/X says STABLE, and PRERELEASE in the weeks
    before a point release; ALPHA builds come from main before stable/X is branched and from stable/X after it
    (which of the two a tree is cannot be told from the name); BETA builds come from stable/X before releng/X.Y
    is branched and from releng/X.Y after; RC and RELEASE(-pN) from releng/X.Y."""
    major = revision.split(".")[0]
    if branch.startswith("CURRENT"):
        return ("main",)
    if branch.startswith(("STABLE", "PRERELEASE")):
        return (f"stable/{major}",)
    if branch.startswith("ALPHA"):
        return ("main", f"stable/{major}")
    if branch.startswith("BETA"):
        return (f"releng/{revision}", f"stable/{major}")
    return (f"releng/{revision}",)


def tree_branch(revision: str, branch: str) -> str:
    """The branch for messages: ``stable/14``, or ``main or stable/15`` when the name allows both."""
    return " or ".join(tree_branches(revision, branch))


def intended_for(applies: AppliesTo, revision: str, branch: str) -> bool:
    """Whether the recipe lists this tree (by release ``14.1`` or branch ``main``/``stable/14``/``releng/14.1``)."""
    if not applies.branches and not applies.releases:
        return True
    return revision in applies.releases or any(b in applies.branches for b in tree_branches(revision, branch))


def release_contains(applies: AppliesTo, revision: str) -> bool:
    """True when a FreeBSD release/branch revision (``"14.1"``) is at or past ``contained_since``."""
    if applies.contained_since is None:
        return False
    have, since = _RELEASE.match(revision), _RELEASE.match(applies.contained_since)
    if have is None or since is None:
        return False
    return (int(have["major"]), int(have["minor"])) >= (int(since["major"]), int(since["minor"]))


def _load_origin(table: tomlfile.Table, directory: Path) -> Origin:
    commit = table.string("commit", None)
    if commit is not None and not _COMMIT.match(commit):
        table.fail(f"must be a full 40-digit lowercase git hash, got {commit!r}", "commit")
    review = table.string("review", None)
    if review is not None and not _REVIEW.match(review):
        table.fail(f"must look like D24473, got {review!r}", "review")
    names = table.strings("files", ())
    for name in names:
        if Path(name).name != name or name in (".", ".."):
            table.fail(f"{name!r} is not a file name in the recipe's directory", "files")
    files = tuple(directory / name for name in names)
    for path in files:
        if not path.is_file():
            table.fail(f"patch file {path.name} is missing", "files")
    repository = table.string("repository", None)
    if commit is None and not files:
        table.fail("origin needs a commit or local patch files")
    if commit is not None and repository is None:
        table.fail("origin.commit needs origin.repository (where to fetch it from)")
    return Origin(repository=repository, commit=commit, review=review, files=files)


def load_recipe(directory: Path) -> PatchRecipe:
    where = directory / RECIPE_FILE
    if not where.is_file():
        raise ConfigError(f"{where} does not exist")
    data = tomlfile.load(where, hint=RECIPE_HINT)
    name = data.string("name", directory.name)
    if name != directory.name:
        data.fail(f"{name!r} differs from its directory {directory.name!r}", "name")
    generation = data.table("generation", {})
    if not isinstance(generation.raw("before", None), str) or not isinstance(generation.raw("after", None), str):
        data.fail("[generation] needs before and after (strings)", "generation")
    applies = data.table("applies-to", {})
    kernconf = data.table("kernconf", {})
    return PatchRecipe(
        name=name,
        summary=data.string("summary", ""),
        directory=directory,
        origin=_load_origin(data.table("origin", {}), directory),
        applies_to=AppliesTo(
            branches=applies.strings("branches", ()),
            releases=applies.strings("releases", ()),
            contained_since=applies.string("contained-since", None),
        ),
        generation_before=generation.string("before"),
        generation_after=generation.string("after"),
        notes=data.string("notes", ""),
        without_options=kernconf.strings("without", ()),
        without_why=kernconf.string("why", ""),
    )


def _load_series(root: Path, recipes: dict[str, PatchRecipe]) -> dict[str, Series]:
    where = root / SERIES_FILE
    if not where.is_file():
        return {}
    data = tomlfile.load(where, hint=RECIPE_HINT)
    series: dict[str, Series] = {}
    for name, table in data.subtables().items():
        if name in recipes:
            data.fail(f"series {name!r} has the name of a patch", name)
        patches = table.strings("patches", ())
        for patch in patches:
            if patch not in recipes:
                table.fail(f"series {name!r} names unknown patch {patch!r}", "patches")
        series[name] = Series(name=name, summary=table.string("summary", ""), patches=patches)
    return series


def load_catalogue(root: Path | None = None) -> PatchCatalogue:
    """All recipes under ``root`` (default: the project's ``patches/``, or ``$HARNESS_DATA_DIR/patches``)."""
    root = root if root is not None else data_dir("patches")
    if not root.is_dir():
        raise ConfigError(f"patch directory {root} does not exist", hint="set HARNESS_DATA_DIR to a tree with patches/")
    recipes = {d.name: load_recipe(d) for d in sorted(root.iterdir()) if (d / RECIPE_FILE).is_file()}
    catalogue = PatchCatalogue(root=root, recipes=recipes, series=_load_series(root, recipes))
    for s in catalogue.series.values():
        check_generation_chain([recipes[p] for p in s.patches])
    return catalogue
