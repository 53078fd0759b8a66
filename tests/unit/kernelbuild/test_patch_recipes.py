"""The shipped recipes (patches/) and the recipe format's validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError, UsageError
from harness.kernelbuild.recipes import (
    AppliesTo,
    intended_for,
    load_catalogue,
    load_recipe,
    release_contains,
    tree_branch,
)


def test_shipped_recipes_name_their_upstream_commits_and_generations() -> None:
    catalogue = load_catalogue()
    obj, pindex = catalogue.recipes["kstack-object"], catalogue.recipes["kstack-pindex"]
    assert obj.origin.commit == "f13fa9df054827c00e1ab90d7437fafc25c46001"
    assert obj.origin.review == "D24473" and obj.review_url == "https://reviews.freebsd.org/D24473"
    assert (obj.generation_before, obj.generation_after) == ("G0-uma", "G1")
    assert pindex.origin.commit == "7a79d066976149349ecb90240d02eed0c4268737"
    assert pindex.origin.review == "D38852"
    assert (pindex.generation_before, pindex.generation_after) == ("G1", "G2")
    assert [r.name for r in catalogue.resolve(["kstack-g2"])] == ["kstack-object", "kstack-pindex"]
    with pytest.raises(UsageError):
        catalogue.resolve(["kstack-pindex", "kstack-object"])


@pytest.mark.parametrize(("revision", "contained"), [("12.4", False), ("13.0", True), ("14.1", True), ("9.9", False)])
def test_release_containment(revision: str, contained: bool) -> None:
    assert release_contains(AppliesTo(contained_since="13.0"), revision) is contained
    assert release_contains(AppliesTo(), revision) is False


def _recipe(tmp_path: Path, body: str) -> Path:
    directory = tmp_path / "bad"
    directory.mkdir(exist_ok=True)
    (directory / "patch.toml").write_text(body)
    return directory


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[origin]\ncommit = "abc"\nrepository = "x"\n[generation]\nbefore="G0"\nafter="G1"\n', "40-digit"),
        ('[origin]\nreview = "24473"\nfiles = []\n[generation]\nbefore="G0"\nafter="G1"\n', "D24473"),
        ('[origin]\nfiles = ["missing.patch"]\n[generation]\nbefore="G0"\nafter="G1"\n', "missing.patch is missing"),
        ('[origin]\ncommit = "' + "a" * 40 + '"\n[generation]\nbefore="G0"\nafter="G1"\n', "origin.repository"),
        ("[origin]\nfiles = []\n[generation]\nbefore='G0'\nafter='G1'\n", "needs a commit or local patch files"),
        ('name = "other"\n[origin]\n', "differs from its directory"),
        ("[generation]\nbefore = 'G0'\n", "needs before and after"),
        ("not toml [", "bad/patch.toml"),
    ],
)
def test_malformed_recipes_are_config_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_recipe(_recipe(tmp_path, body))


def test_series_naming_an_unknown_patch_is_refused(tmp_path: Path) -> None:
    (tmp_path / "series.toml").write_text('[s]\npatches = ["nope"]\n')
    with pytest.raises(ConfigError, match="unknown patch 'nope'"):
        load_catalogue(tmp_path)


@pytest.mark.parametrize(
    ("revision", "branch", "expected"),
    [("15.0", "CURRENT", "main"), ("14.2", "STABLE", "stable/14"), ("14.1", "RELEASE-p3", "releng/14.1")],
)
def test_tree_branch_from_newvers(revision: str, branch: str, expected: str) -> None:
    assert tree_branch(revision, branch) == expected


def test_intended_for_uses_branches_and_releases() -> None:
    pindex = load_catalogue().recipes["kstack-pindex"]
    assert intended_for(pindex.applies_to, "15.0", "CURRENT")
    assert intended_for(pindex.applies_to, "14.2", "STABLE")
    assert intended_for(pindex.applies_to, "14.1", "RELEASE")
    assert not intended_for(pindex.applies_to, "13.5", "RELEASE")
    assert intended_for(AppliesTo(), "13.5", "RELEASE")
