"""Apply patch recipes to a worktree: cherry-pick an upstream commit or ``git apply --3way`` local patches.

Before applying, a recipe is checked for being *already contained upstream*: its commit is an ancestor of the
tree, the tree is a release at or past the one that shipped it, or its patch applies in reverse. A patch that
does not apply raises :class:`RecipeConflict` (a ``PatchConflict``) naming every file and hunk that fails.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import BuildError, DownloadError, PatchConflict
from harness.kernelbuild import git
from harness.kernelbuild.diffs import FileConflict, failing_hunks
from harness.kernelbuild.recipes import PatchRecipe, intended_for, release_contains, tree_branch
from harness.kernelbuild.source import SourceTree
from harness.settings import cache_dir
from harness.steps import note, step


class ApplyStatus(enum.Enum):
    APPLIED = "applied"
    ALREADY_UPSTREAM = "already-upstream"
    PLANNED = "planned"  # dry run: would be applied


@dataclass(frozen=True)
class ApplyResult:
    recipe: str
    status: ApplyStatus
    how: str  # cherry-pick, git apply --3way, ancestor, release, reverse-applies
    detail: str
    patch_sha256: str | None = None
    commands: tuple[tuple[str, ...], ...] = ()


class RecipeConflict(PatchConflict):
    """A recipe's patch does not apply; ``conflicts`` lists each file and its failing hunks."""

    def __init__(self, recipe: str, target: str, conflicts: list[FileConflict]) -> None:
        files = "; ".join(c.summary() for c in conflicts) or "no single hunk fails alone; the 3-way merge conflicts"
        super().__init__(
            f"patch {recipe} does not apply to {target}: {files}",
            hint=f"rebase the patch onto this tree, or run `harness patch check {recipe} --src DIR` for the hunks",
        )
        self.recipe = recipe
        self.conflicts = conflicts


@dataclass
class PatchText:
    """The change a recipe makes, and the repository holding its commit (for cherry-pick)."""

    diff: str
    commit_repo: Path | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.diff.encode()).hexdigest()


Echo = Callable[[list[str]], None]


@dataclass
class Applier:
    """Applies recipes, in order, to ``worktree`` (a checkout of ``source.revision``)."""

    source: SourceTree
    worktree: Path
    allow_fetch: bool = True
    dry_run: bool = False
    echo: Echo | None = None
    upstream_cache: Path | None = None
    results: list[ApplyResult] = field(default_factory=list)

    def apply_all(self, recipes: list[PatchRecipe]) -> list[ApplyResult]:
        for recipe in recipes:
            with step("patch", patch=recipe.name):
                result = self.apply(recipe)
            note("patch", f"{recipe.name}: {result.status.value} ({result.how}) {result.detail}")
            self.results.append(result)
        return self.results

    # -- one recipe ---------------------------------------------------------------------------------------------

    def apply(self, recipe: PatchRecipe) -> ApplyResult:
        upstream = self._contained_by_history_or_release(recipe)
        if upstream is not None:
            return upstream
        version = self.source.version
        if version is not None and not intended_for(recipe.applies_to, version.revision, version.branch):
            branch = tree_branch(version.revision, version.branch)
            note("patch", f"{recipe.name} is not meant for {version.release} ({branch}); trying anyway")
        if self.dry_run:
            return self._plan(recipe)
        text = self._patch_text(recipe)
        if git.run_git(self.worktree, "apply", "--check", "--reverse", "-", stdin=text.diff, check=False).ok:
            return ApplyResult(
                recipe.name,
                ApplyStatus.ALREADY_UPSTREAM,
                "reverse-applies",
                "the tree already holds this change (its patch applies in reverse)",
                text.sha256,
            )
        if text.commit_repo == self.source.path and recipe.origin.commit:
            return self._cherry_pick(recipe, text)
        return self._apply_3way(recipe, text)

    def _contained_by_history_or_release(self, recipe: PatchRecipe) -> ApplyResult | None:
        commit = recipe.origin.commit
        if commit and not git.has_commit(self.source.path, commit) and git.is_shallow(self.source.path):
            note(
                "patch",
                f"{self.source.path} is a shallow clone: whether it contains {commit[:12]} can only be guessed "
                "from its content (git fetch --unshallow gives an exact answer)",
            )
        if (
            commit
            and git.has_commit(self.source.path, commit)
            and git.is_ancestor(self.source.path, commit, self.source.revision)
        ):
            return ApplyResult(
                recipe.name,
                ApplyStatus.ALREADY_UPSTREAM,
                "ancestor",
                f"commit {commit[:12]} is an ancestor of the tree",
            )
        version = self.source.version
        if version is not None and version.settled and release_contains(recipe.applies_to, version.revision):
            return ApplyResult(
                recipe.name,
                ApplyStatus.ALREADY_UPSTREAM,
                "release",
                f"{version.release} is at or past {recipe.applies_to.contained_since}, which shipped it",
            )
        return None

    def _plan(self, recipe: PatchRecipe) -> ApplyResult:
        commit = recipe.origin.commit
        commands: list[list[str]] = []
        if recipe.origin.files:
            for path in recipe.origin.files:
                commands.append(git.git_argv(self.worktree, "apply", "--3way", "--index", str(path)))
            commands.append(git.git_argv(self.worktree, *git.HARNESS_IDENTITY, "commit", "-q", "-m", recipe.name))
            how = "git apply --3way"
        elif commit and git.has_commit(self.source.path, commit):
            commands.append(git.git_argv(self.worktree, *git.HARNESS_IDENTITY, "cherry-pick", "-x", commit))
            how = "cherry-pick"
        else:
            cache = self._upstream_repo_path()
            commands.append(
                git.git_argv(cache, "fetch", "--no-tags", "--depth=2", str(recipe.origin.repository), str(commit))
            )
            commands.append(git.git_argv(self.worktree, "apply", "--3way", "--index", "<diff of the fetched commit>"))
            commands.append(git.git_argv(self.worktree, *git.HARNESS_IDENTITY, "commit", "-q", "-m", recipe.name))
            how = "fetch + git apply --3way"
        for argv in commands:
            if self.echo:
                self.echo(argv)
        return ApplyResult(recipe.name, ApplyStatus.PLANNED, how, "dry run", None, tuple(tuple(c) for c in commands))

    # -- where the change comes from ----------------------------------------------------------------------------

    def _patch_text(self, recipe: PatchRecipe) -> PatchText:
        if recipe.origin.files:
            return PatchText("".join(p.read_text(encoding="utf-8") for p in recipe.origin.files))
        commit = str(recipe.origin.commit)
        if git.has_commit(self.source.path, commit):
            return PatchText(git.commit_diff(self.source.path, commit), commit_repo=self.source.path)
        if not self.allow_fetch:
            raise BuildError(
                f"commit {commit[:12]} of {recipe.name} is not in {self.source.path}",
                hint=f"fetch it (git fetch {recipe.origin.repository} {commit}) or drop --no-fetch",
            )
        repo = self._fetch_upstream(recipe)
        return PatchText(git.commit_diff(repo, commit), commit_repo=repo)

    def _upstream_repo_path(self) -> Path:
        return self.upstream_cache if self.upstream_cache is not None else cache_dir("upstream") / "objects.git"

    def _fetch_upstream(self, recipe: PatchRecipe) -> Path:
        """Fetch the commit (and its parent, for the diff) into the harness's own bare cache repository.

        The user's repository is never fetched into. git checks every object against its hash, so the commit
        id in the recipe is the verification.
        """
        repo = self._upstream_repo_path()
        commit = str(recipe.origin.commit)
        if not (repo / "HEAD").exists():
            repo.mkdir(parents=True, exist_ok=True)
            git.run_git(repo, "init", "-q", "--bare")
        if git.has_commit(repo, commit) and git.run_git(repo, "cat-file", "-e", f"{commit}^", check=False).ok:
            return repo
        with step("fetch", commit=commit[:12], repository=str(recipe.origin.repository)):
            fetched = git.run_git(
                repo, "fetch", "--no-tags", "--depth=2", str(recipe.origin.repository), commit, check=False
            )
        if not fetched.ok:
            last = (fetched.stderr.strip().splitlines() or ["no output"])[-1]
            raise DownloadError(
                f"cannot fetch {recipe.name} commit {commit[:12]} from {recipe.origin.repository}: {last}",
                hint="check the network, or use a --src checkout that contains the commit",
            )
        return repo

    # -- applying -----------------------------------------------------------------------------------------------

    def _cherry_pick(self, recipe: PatchRecipe, text: PatchText) -> ApplyResult:
        commit = str(recipe.origin.commit)
        picked = git.run_git(self.worktree, *git.HARNESS_IDENTITY, "cherry-pick", "-x", commit, check=False)
        if picked.ok:
            return ApplyResult(recipe.name, ApplyStatus.APPLIED, "cherry-pick", f"picked {commit[:12]}", text.sha256)
        output = picked.stdout + picked.stderr
        git.run_git(self.worktree, "cherry-pick", "--abort", check=False)
        if "now empty" in output or "nothing to commit" in output:
            return ApplyResult(
                recipe.name,
                ApplyStatus.ALREADY_UPSTREAM,
                "empty cherry-pick",
                "picking the commit changes nothing: the tree already holds it",
                text.sha256,
            )
        raise self._conflict(recipe, text)

    def _apply_3way(self, recipe: PatchRecipe, text: PatchText) -> ApplyResult:
        applied = git.run_git(self.worktree, "apply", "--3way", "--index", "-", stdin=text.diff, check=False)
        if not applied.ok:
            raise self._conflict(recipe, text)
        message = f"{recipe.name}: {recipe.summary}\n\nApplied by harness from {self._origin_words(recipe)}."
        git.run_git(self.worktree, *git.HARNESS_IDENTITY, "commit", "-q", "--allow-empty", "-m", message)
        return ApplyResult(
            recipe.name, ApplyStatus.APPLIED, "git apply --3way", self._origin_words(recipe), text.sha256
        )

    @staticmethod
    def _origin_words(recipe: PatchRecipe) -> str:
        if recipe.origin.files:
            return ", ".join(p.name for p in recipe.origin.files)
        return f"commit {str(recipe.origin.commit)[:12]}"

    def _conflict(self, recipe: PatchRecipe, text: PatchText) -> RecipeConflict:
        target = self.source.version.release if self.source.version else self.source.revision[:12]
        head = git.head_revision(self.worktree)
        conflicts = failing_hunks(self.worktree, text.diff)
        return RecipeConflict(recipe.name, f"{target} ({head[:12]})", conflicts)
