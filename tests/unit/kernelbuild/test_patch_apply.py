"""Patch recipes against real git repositories made here: applies, already upstream, conflict, series order.

The trees are small and our own (a made-up ``sys/vm/stack.c`` and a ``newvers.sh`` in FreeBSD's format); the
recipes point at commits in an "upstream" repository on disk, as the real ones point at freebsd-src.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import PatchConflict, UsageError
from harness.kernelbuild.apply import Applier, ApplyStatus, RecipeConflict
from harness.kernelbuild.recipes import load_catalogue
from harness.kernelbuild.source import open_checkout
from harness.kernelbuild.worktree import detached_worktree

BASE = "".join(f"line {i}: per-stack object\n" for i in range(1, 41))


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


def newvers(revision: str, branch: str) -> str:
    return f'TYPE="FreeBSD"\nREVISION="{revision}"\nBRANCH="{branch}"\n'


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[number - 1] = new + "\n"
    return "".join(lines)


@dataclass
class Upstream:
    repo: Path
    base: str
    first: str  # the "single object" change (G0-uma -> G1)
    second: str  # the "pindex" change on top of it (G1 -> G2)
    first_text: str
    second_text: str


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base = commit_files(repo, {"sys/vm/stack.c": BASE, "sys/conf/newvers.sh": newvers("13.0", "CURRENT")}, "base")
    first_text = replace_line(BASE, 10, "line 10: one global stack object")
    first = commit_files(repo, {"sys/vm/stack.c": first_text}, "single stack object")
    second_text = replace_line(first_text, 10, "line 10: one global stack object, compact pindex")
    second_text = replace_line(second_text, 30, "line 30: stack arena")
    second = commit_files(repo, {"sys/vm/stack.c": second_text}, "compact pindex")
    return Upstream(repo, base, first, second, first_text, second_text)


def write_recipes(root: Path, upstream: Upstream, *, local_patch: str | None = None) -> Path:
    patches = root / "patches"
    for name, commit, before, after in (
        ("one-object", upstream.first, "G0-uma", "G1"),
        ("pindex", upstream.second, "G1", "G2"),
    ):
        (patches / name).mkdir(parents=True)
        (patches / name / "patch.toml").write_text(
            f'name = "{name}"\nsummary = "{name}"\n[origin]\nrepository = "{upstream.repo.as_uri()}"\n'
            f'commit = "{commit}"\nreview = "D1"\n[applies-to]\nbranches = ["main"]\ncontained-since = "14.0"\n'
            f'[generation]\nbefore = "{before}"\nafter = "{after}"\n'
        )
    if local_patch is not None:
        (patches / "local").mkdir()
        (patches / "local" / "change.patch").write_text(local_patch)
        (patches / "local" / "patch.toml").write_text(
            'summary = "local"\n[origin]\nfiles = ["change.patch"]\n[generation]\nbefore = "G2"\nafter = "G2"\n'
        )
    (patches / "series.toml").write_text('[both]\npatches = ["one-object", "pindex"]\n')
    return patches


def checkout(tmp_path: Path, upstream: Upstream, rev: str, *, name: str = "src", full: bool = True) -> Path:
    """A user's checkout at ``rev``; ``full=False`` makes one that lacks every later commit."""
    src = tmp_path / name
    if full:
        subprocess.run(["git", "clone", "-q", str(upstream.repo), str(src)], check=True)
        git(src, "checkout", "-q", "--detach", rev)
    else:
        git(upstream.repo, "branch", "-f", "old", rev)
        subprocess.run(
            ["git", "clone", "-q", "--no-local", "--single-branch", "-b", "old", str(upstream.repo), str(src)],
            check=True,
        )
    return src


def apply(src: Path, patches: Path, names: list[str], tmp_path: Path) -> tuple[list[ApplyStatus], list[str], str]:
    source = open_checkout(src)
    recipes = load_catalogue(patches).resolve(names)
    with detached_worktree(source, tmp_path / "wt") as wt:
        applier = Applier(source, wt, upstream_cache=tmp_path / "upstream-cache.git")
        results = applier.apply_all(recipes)
        content = (wt / "sys/vm/stack.c").read_text()
    return [r.status for r in results], [r.how for r in results], content


def test_series_applies_in_order_by_cherry_pick(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    src = checkout(tmp_path, upstream, upstream.base)
    statuses, hows, content = apply(src, patches, ["both"], tmp_path)
    assert statuses == [ApplyStatus.APPLIED, ApplyStatus.APPLIED]
    assert hows == ["cherry-pick", "cherry-pick"]
    assert content == upstream.second_text


def test_missing_commit_is_fetched_into_the_harness_cache_not_the_checkout(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    src = checkout(tmp_path, upstream, upstream.base, full=False)
    statuses, hows, content = apply(src, patches, ["one-object"], tmp_path)
    assert statuses == [ApplyStatus.APPLIED]
    assert hows == ["git apply --3way"]
    assert content == upstream.first_text
    missing = subprocess.run(["git", "-C", str(src), "cat-file", "-e", upstream.first], capture_output=True)
    assert missing.returncode != 0, "the user's repository must not receive fetched objects"


def test_user_checkout_is_left_untouched(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    src = checkout(tmp_path, upstream, upstream.base)
    apply(src, patches, ["both"], tmp_path)
    assert git(src, "rev-parse", "HEAD") == upstream.base
    assert git(src, "status", "--porcelain") == ""
    assert (src / "sys/vm/stack.c").read_text() == BASE
    assert len(git(src, "worktree", "list").splitlines()) == 1


def test_ancestor_commit_is_already_upstream(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    src = checkout(tmp_path, upstream, upstream.first)
    statuses, hows, content = apply(src, patches, ["both"], tmp_path)
    assert statuses == [ApplyStatus.ALREADY_UPSTREAM, ApplyStatus.APPLIED]
    assert hows[0] == "ancestor"
    assert content == upstream.second_text


def test_change_without_shared_history_is_detected_by_reverse_apply(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    src = tmp_path / "exported"
    src.mkdir()
    git(src, "init", "-q")
    commit_files(src, {"sys/vm/stack.c": upstream.first_text, "sys/conf/newvers.sh": newvers("13.0", "CURRENT")}, "x")
    statuses, hows, _ = apply(src, patches, ["one-object"], tmp_path)
    assert statuses == [ApplyStatus.ALREADY_UPSTREAM]
    assert hows == ["reverse-applies"]


def test_release_past_contained_since_is_already_upstream(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    src = tmp_path / "release"
    src.mkdir()
    git(src, "init", "-q")
    commit_files(src, {"sys/vm/stack.c": "other\n", "sys/conf/newvers.sh": newvers("14.1", "RELEASE-p2")}, "x")
    statuses, hows, _ = apply(src, patches, ["one-object"], tmp_path)
    assert (statuses, hows) == ([ApplyStatus.ALREADY_UPSTREAM], ["release"])


def test_current_branch_number_does_not_count_as_contained(tmp_path: Path, upstream: Upstream) -> None:
    # A 14.0-CURRENT tree carries the next release's number before the change lands; only history counts.
    patches = write_recipes(tmp_path, upstream)
    src = tmp_path / "current"
    src.mkdir()
    git(src, "init", "-q")
    commit_files(src, {"sys/vm/stack.c": BASE, "sys/conf/newvers.sh": newvers("14.0", "CURRENT")}, "x")
    statuses, _, content = apply(src, patches, ["one-object"], tmp_path)
    assert statuses == [ApplyStatus.APPLIED]
    assert content == upstream.first_text


def test_conflict_names_file_and_hunk(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    src = checkout(tmp_path, upstream, upstream.base)
    commit_files(src, {"sys/vm/stack.c": replace_line(BASE, 10, "line 10: someone else's change")}, "diverge")
    with pytest.raises(PatchConflict) as caught:
        apply(src, patches, ["one-object"], tmp_path)
    error = caught.value
    assert isinstance(error, RecipeConflict)
    assert [c.path for c in error.conflicts] == ["sys/vm/stack.c"]
    assert [h.number for h in error.conflicts[0].hunks] == [1]
    assert "sys/vm/stack.c (hunk 1 at line 7)" in error.one_line()
    assert git(src, "status", "--porcelain") == ""
    assert len(git(src, "worktree", "list").splitlines()) == 1, "the conflicted worktree must be removed"


def test_conflict_lists_only_the_failing_hunk(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    src = checkout(tmp_path, upstream, upstream.first)
    commit_files(src, {"sys/vm/stack.c": replace_line(upstream.first_text, 30, "line 30: local edit")}, "diverge")
    with pytest.raises(RecipeConflict) as caught:
        apply(src, patches, ["pindex"], tmp_path)
    hunks = caught.value.conflicts[0].hunks
    assert [(h.number, h.old_start) for h in hunks] == [(2, 27)]


def test_series_in_wrong_order_is_refused(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    with pytest.raises(UsageError, match="one-object expects generation G0-uma but pindex leaves G2"):
        load_catalogue(patches).resolve(["pindex", "one-object"])


def test_series_file_in_wrong_order_is_refused(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    (patches / "series.toml").write_text('[both]\npatches = ["pindex", "one-object"]\n')
    with pytest.raises(UsageError, match="patch order"):
        load_catalogue(patches)


def test_second_patch_alone_conflicts_on_the_old_tree(tmp_path: Path, upstream: Upstream) -> None:
    patches = write_recipes(tmp_path, upstream)
    src = checkout(tmp_path, upstream, upstream.base)
    with pytest.raises(RecipeConflict) as caught:
        apply(src, patches, ["pindex"], tmp_path)
    assert [h.number for h in caught.value.conflicts[0].hunks] == [1]


def test_local_patch_files_apply_with_3way(tmp_path: Path, upstream: Upstream) -> None:
    src = checkout(tmp_path, upstream, upstream.second)
    local = subprocess.run(
        ["git", "-C", str(src), "diff", upstream.base, upstream.first, "--", "sys/conf/newvers.sh"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert local == ""  # the first change does not touch newvers.sh, so make a real local change instead
    edited = newvers("15.0", "CURRENT")
    (src / "sys/conf/newvers.sh").write_text(edited)
    local = git(src, "diff") + "\n"
    git(src, "checkout", "-q", "--", "sys/conf/newvers.sh")
    patches = write_recipes(tmp_path, upstream, local_patch=local)
    source = open_checkout(src)
    recipe = load_catalogue(patches).resolve(["local"])
    with detached_worktree(source, tmp_path / "wt") as wt:
        results = Applier(source, wt).apply_all(recipe)
        assert (wt / "sys/conf/newvers.sh").read_text() == edited
    assert results[0].status is ApplyStatus.APPLIED
    assert results[0].how == "git apply --3way"
    assert results[0].patch_sha256 is not None


def test_shallow_clone_fetches_the_commit_and_says_ancestry_is_unknown(tmp_path: Path, upstream: Upstream) -> None:
    from harness.steps import StepEvent, listening

    patches = write_recipes(tmp_path, upstream)
    git(upstream.repo, "branch", "-f", "old", upstream.base)
    src = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", "old", upstream.repo.as_uri(), str(src)], check=True)
    events: list[StepEvent] = []
    with listening(events.append):
        statuses, hows, content = apply(src, patches, ["one-object"], tmp_path)
    assert (statuses, hows) == ([ApplyStatus.APPLIED], ["git apply --3way"])
    assert content == upstream.first_text
    assert any(e.state == "note" and "shallow clone" in str(e.message) for e in events)
