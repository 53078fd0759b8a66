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
from typing import Any

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


def tree_branch(revision: str, branch: str) -> str:
    """The git branch a newvers.sh version comes from: CURRENT → main, X.Y-STABLE → stable/X, else releng/X.Y."""
    if branch.startswith(("CURRENT", "PRERELEASE", "ALPHA")):
        return "main"
    if branch.startswith("STABLE"):
        return f"stable/{revision.split('.')[0]}"
    return f"releng/{revision}"


def intended_for(applies: AppliesTo, revision: str, branch: str) -> bool:
    """Whether the recipe lists this tree (by release ``14.1`` or branch ``main``/``stable/14``/``releng/14.1``)."""
    if not applies.branches and not applies.releases:
        return True
    return revision in applies.releases or tree_branch(revision, branch) in applies.branches


def release_contains(applies: AppliesTo, revision: str) -> bool:
    """True when a FreeBSD release/branch revision (``"14.1"``) is at or past ``contained_since``."""
    if applies.contained_since is None:
        return False
    have, since = _RELEASE.match(revision), _RELEASE.match(applies.contained_since)
    if have is None or since is None:
        return False
    return (int(have["major"]), int(have["minor"])) >= (int(since["major"]), int(since["minor"]))


def _table(data: dict[str, Any], key: str, where: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _strings(table: dict[str, Any], key: str, where: Path) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _optional_str(table: dict[str, Any], key: str, where: Path) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    return value


def _load_origin(table: dict[str, Any], directory: Path, where: Path) -> Origin:
    commit = _optional_str(table, "commit", where)
    if commit is not None and not _COMMIT.match(commit):
        raise ConfigError(f"{where}: origin.commit must be a full 40-digit lowercase git hash, got {commit!r}")
    review = _optional_str(table, "review", where)
    if review is not None and not _REVIEW.match(review):
        raise ConfigError(f"{where}: origin.review must look like D24473, got {review!r}")
    files = tuple(directory / name for name in _strings(table, "files", where))
    for path in files:
        if not path.is_file():
            raise ConfigError(f"{where}: patch file {path.name} is missing")
    repository = _optional_str(table, "repository", where)
    if commit is None and not files:
        raise ConfigError(f"{where}: origin needs a commit or local patch files")
    if commit is not None and repository is None:
        raise ConfigError(f"{where}: origin.commit needs origin.repository (where to fetch it from)")
    return Origin(repository=repository, commit=commit, review=review, files=files)


def load_recipe(directory: Path) -> PatchRecipe:
    where = directory / RECIPE_FILE
    if not where.is_file():
        raise ConfigError(f"{where} does not exist")
    data = tomlfile.load(where, hint=RECIPE_HINT).data
    name = data.get("name", directory.name)
    if name != directory.name:
        raise ConfigError(f"{where}: name {name!r} differs from its directory {directory.name!r}")
    generation = _table(data, "generation", where)
    before, after = generation.get("before"), generation.get("after")
    if not isinstance(before, str) or not isinstance(after, str):
        raise ConfigError(f"{where}: [generation] needs before and after")
    applies = _table(data, "applies-to", where)
    return PatchRecipe(
        name=name,
        summary=str(data.get("summary", "")),
        directory=directory,
        origin=_load_origin(_table(data, "origin", where), directory, where),
        applies_to=AppliesTo(
            branches=_strings(applies, "branches", where),
            releases=_strings(applies, "releases", where),
            contained_since=_optional_str(applies, "contained-since", where),
        ),
        generation_before=before,
        generation_after=after,
        notes=str(data.get("notes", "")),
    )


def _load_series(root: Path, recipes: dict[str, PatchRecipe]) -> dict[str, Series]:
    where = root / SERIES_FILE
    if not where.is_file():
        return {}
    data = tomlfile.load(where, hint=RECIPE_HINT).data
    series: dict[str, Series] = {}
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        if name in recipes:
            raise ConfigError(f"{where}: series {name!r} has the name of a patch")
        patches = _strings(table, "patches", where)
        for patch in patches:
            if patch not in recipes:
                raise ConfigError(f"{where}: series {name!r} names unknown patch {patch!r}")
        series[name] = Series(name=name, summary=str(table.get("summary", "")), patches=patches)
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
