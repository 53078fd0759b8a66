"""Which backend builds which tree (review C1, L6, H5, M4): a tree without tools/build/make.py never goes to the
Linux cross backend; the builder VM runs a release that can build the tree; --kstack-pages within FreeBSD's range.

The trees are small git repositories carrying the two files the choice reads, written in FreeBSD's formats:
sys/conf/newvers.sh (``REVISION="13.0"`` / ``BRANCH="CURRENT"``) and sys/sys/param.h
(``#define __FreeBSD_version 1300090``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.errors import UsageError
from harness.kernelbuild.choice import TreeFacts, builder_major, choose_backend, parse_freebsd_version, version_facts
from harness.kernelbuild.source import FreeBSDVersion


def make_tree(root: Path, *, revision: str, branch: str, osversion: int, make_py: bool) -> Path:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    (root / "sys/conf").mkdir(parents=True)
    (root / "sys/sys").mkdir(parents=True)
    (root / "sys/conf/newvers.sh").write_text(f'TYPE="FreeBSD"\nREVISION="{revision}"\nBRANCH="{branch}"\n')
    (root / "sys/sys/param.h").write_text(f"#define __FreeBSD_version {osversion}\t/* Master, propagated */\n")
    if make_py:
        (root / "tools/build").mkdir(parents=True)
        (root / "tools/build/make.py").write_text("# bootstraps bmake\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "tree"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)
    return root


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_a_tree_without_make_py_is_planned_in_a_builder_vm_of_the_previous_major(
    cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """C1: the D24473 baseline (13.0-CURRENT of April 2020, no make.py) → guest backend, a 12.x builder, and
    kernel-toolchain before buildkernel (H5)."""
    tree = make_tree(cache / "src", revision="13.0", branch="CURRENT", osversion=1300090, make_py=False)
    assert main(["build", "--src", str(tree), "--arch", "amd64", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "make.py" not in out.replace("# backend: guest (the tree has no tools/build/make.py", "")
    assert "# backend: guest (the tree has no tools/build/make.py" in out
    assert "FreeBSD 12 builder" in out
    assert "# tree: __FreeBSD_version 1300090" in out
    assert out.index("kernel-toolchain") < out.index(" buildkernel")


def test_cross_on_a_tree_without_make_py_is_one_line_exit_2(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(cache / "src", revision="13.0", branch="CURRENT", osversion=1300090, make_py=False)
    assert main(["build", "--src", str(tree), "--backend", "cross", "--dry-run"]) == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("harness: error:")
    assert "tools/build/make.py" in errors[0] and "--backend guest" in errors[0]
    assert "make.py --cross-bindir" not in captured.out


def test_a_tree_with_make_py_goes_to_cross_on_linux(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(cache / "src", revision="14.4", branch="RELEASE", osversion=1404000, make_py=True)
    assert main(["build", "--src", str(tree), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "# backend: cross (the tree has tools/build/make.py" in out
    assert out.count("tools/build/make.py --cross-bindir=") == 3


def test_twelve_x_defaults_to_its_own_builder_even_with_make_py() -> None:
    """L6: 12.x through make.py with Debian's clang was never tried; the 12.x builder VM is the default."""
    facts = TreeFacts(has_make_py=True, freebsd_version=1204000, major=12, branch="RELEASE")
    assert choose_backend(None, facts, on_freebsd=False).backend == "guest"
    assert builder_major(facts) == "12"
    assert choose_backend("cross", facts, on_freebsd=False).backend == "cross"  # asked for: allowed


@pytest.mark.parametrize(
    ("revision", "branch", "builder"),
    [("13.0", "CURRENT", "12"), ("15.0", "ALPHA3", "14"), ("14.4", "RELEASE-p2", "14"), ("14.4", "PRERELEASE", "14"),
     ("13.5", "STABLE", "13"), ("15.1", "RC1", "15")],
)  # fmt: skip
def test_builder_release_can_build_the_tree(revision: str, branch: str, builder: str) -> None:
    assert builder_major(version_facts(FreeBSDVersion("FreeBSD", revision, branch))) == builder


def test_choice_refuses_cross_only_when_make_py_is_known_missing() -> None:
    missing = TreeFacts(False, 1300090, 13, "CURRENT")
    with pytest.raises(UsageError, match=r"no tools/build/make.py \(added in r365949"):
        choose_backend("cross", missing, on_freebsd=False)
    assert choose_backend(None, missing, on_freebsd=True).backend == "native"


def test_freebsd_version_from_param_h() -> None:
    text = "#undef __FreeBSD_version\n#define __FreeBSD_version 1500031\t/* Master, propagated to newvers */\n"
    assert parse_freebsd_version(text) == 1500031
    assert parse_freebsd_version("#define __FreeBSD_kernel__\n") is None


@pytest.mark.parametrize("pages", [64, 33, 3, 1])
def test_kstack_pages_outside_freebsd_range_is_one_line(
    cache: Path, capsys: pytest.CaptureFixture[str], pages: int
) -> None:
    """M4: [4, 32] — the amd64/arm64 default and KSTACK_MAX_PAGES — with the reason in the one line."""
    tree = make_tree(cache / "src", revision="14.4", branch="RELEASE", osversion=1404000, make_py=True)
    assert main(["build", "--src", str(tree), "--kstack-pages", str(pages), "--dry-run"]) == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.strip()]
    assert len(errors) == 1 and "[4, 32]" in errors[0] and "KSTACK_MAX_PAGES" in errors[0]
    assert "worktree add" not in captured.out  # refused before any work


def test_a_cherry_picked_kstack_pindex_kernel_has_no_invariants() -> None:
    """M3: 7a79d066's alignment KASSERT is over-broad (narrowed upstream later, commit not identified here): the
    kernel with the patch applied is built without INVARIANTS and says why in its KERNCONF; a tree that already
    contains the change upstream keeps INVARIANTS."""
    from harness.kernelbuild.apply import ApplyResult, ApplyStatus
    from harness.kernelbuild.pipeline import BuildOptions, _kernconf
    from harness.kernelbuild.recipes import load_catalogue
    from harness.kernelbuild.source import SourceTree

    recipes = load_catalogue().resolve(["kstack-g2"])
    source = SourceTree(Path("/nonexistent"), "a" * 40, "git", FreeBSDVersion("FreeBSD", "13.0", "CURRENT"))
    options = BuildOptions(("kstack-g2",), "amd64", None)
    applied = [ApplyResult(r.name, ApplyStatus.APPLIED, "cherry-pick", "", "f" * 64) for r in recipes]
    lines = _kernconf(source, applied, options, recipes).text.splitlines()
    assert "options INVARIANTS" not in lines and "options INVARIANT_SUPPORT" in lines and "options WITNESS" in lines
    assert any(line.startswith("# INVARIANTS left out: kstack-pindex: 7a79d066") for line in lines)
    upstream = [ApplyResult(r.name, ApplyStatus.ALREADY_UPSTREAM, "ancestor", "", None) for r in recipes]
    assert "options INVARIANTS" in _kernconf(source, upstream, options, recipes).text.splitlines()
