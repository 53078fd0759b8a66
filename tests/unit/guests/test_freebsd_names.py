"""FreeBSD version names (review L2, L3, L7): pre-release names parse and resolve to the branch they are built
from; recipes list the releases of the images the harness ships.

Version strings here are written from sys/conf/newvers.sh's format (``FreeBSD ${REVISION}-${BRANCH} ...`` with
BRANCH = CURRENT / STABLE / PRERELEASE / ALPHAn / BETAn / RCn / RELEASE-pN); no real pre-release transcript
exists in ../shared/fixtures (the release ones are parsed by tests/golden)."""

from __future__ import annotations

import pytest

from harness.images.manifest import load_manifests
from harness.kernelbuild.recipes import intended_for, load_catalogue, tree_branch, tree_branches
from harness.parse.version import parse_version_line


@pytest.mark.parametrize(
    ("line", "release"),
    [
        ("FreeBSD 15.1-RC1 releng/15.1-n280001-0a1b2c3d4e5f GENERIC amd64", "15.1-RC1"),
        ("FreeBSD 14.4-BETA2 releng/14.4-n272001-0a1b2c3d4e5f GENERIC", "14.4-BETA2"),
        ("FreeBSD 15.0-ALPHA3 stable/15-n279001-0a1b2c3d4e5f GENERIC arm64", "15.0-ALPHA3"),
        ("FreeBSD 13.2-RELEASE-p4 GENERIC", "13.2-RELEASE-p4"),
    ],
)
def test_pre_release_names_parse(line: str, release: str) -> None:
    """L3: newvers.sh puts the number into BRANCH (RC1, BETA2, ALPHA3)."""
    parsed = parse_version_line(line)
    assert parsed is not None and parsed.release == release


@pytest.mark.parametrize(
    ("revision", "branch", "branches"),
    [
        ("15.0", "CURRENT", ("main",)),
        ("14.4", "PRERELEASE", ("stable/14",)),
        ("14.3", "STABLE", ("stable/14",)),
        ("15.0", "ALPHA3", ("main", "stable/15")),
        ("15.1", "BETA2", ("releng/15.1", "stable/15")),
        ("15.1", "RC1", ("releng/15.1",)),
        ("14.4", "RELEASE-p2", ("releng/14.4",)),
    ],
)
def test_branch_names_resolve_to_where_they_are_built(revision: str, branch: str, branches: tuple[str, ...]) -> None:
    """L2: PRERELEASE comes from stable/X, not main; ALPHA and BETA admit both possible branches."""
    assert tree_branches(revision, branch) == branches
    assert tree_branch(revision, branch) == " or ".join(branches)


def test_a_prerelease_of_stable_14_is_meant_for_kstack_pindex() -> None:
    recipe = load_catalogue().recipes["kstack-pindex"]
    assert intended_for(recipe.applies_to, "14.4", "PRERELEASE")  # stable/14 is listed; main would not matter
    assert not intended_for(load_catalogue().recipes["kstack-object"].applies_to, "14.4", "PRERELEASE")


def test_recipes_list_the_shipped_releases_they_start_from() -> None:
    """L7: every shipped image of a recipe's starting generation, on a branch the recipe lists, is a release the
    recipe is meant for (14.4 for kstack-pindex): no "not meant for 14.4-RELEASE" on every build."""
    recipes = load_catalogue().recipes.values()
    for manifest in load_manifests():
        for recipe in recipes:
            stable = f"stable/{manifest.version.split('.')[0]}"
            if manifest.expected_generation == recipe.generation_before and stable in recipe.applies_to.branches:
                assert manifest.version in recipe.applies_to.releases, (recipe.name, manifest.version)
                assert intended_for(recipe.applies_to, manifest.version, "RELEASE")
