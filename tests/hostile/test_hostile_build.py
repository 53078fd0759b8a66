"""Hostile input for `harness build`: the review's cases A.8, as a test each (dry runs: nothing is built)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import assert_no_traceback, assert_one_line_error, run_harness
from tests.support.hostile_env import data_dir, freebsd_checkout, unchanged_outside
from tests.support.inproc import run_in_process

SRC = ("--src", "{tmp}/src", "--dry-run")

CASES = [
    # id, argv after `build`, cache is a file, exit code, mentions
    ("a8-25-cache-is-a-file", SRC, True, 2, "cache directory"),
    ("a8-5-jobs-zero", (*SRC, "-j", "0"), False, 2, "-j"),
    ("a8-11-kstack-pages-9999", (*SRC, "--kstack-pages", "9999"), False, 2, "KSTACK_PAGES"),
    ("a8-12-kstack-pages-fraction", (*SRC, "--kstack-pages", "1.5"), False, 2, "--kstack-pages"),
    ("a8-18-release-injection", ("--release", "14.1-RELEASE;rm -rf /", "--dry-run"), False, 2, "not a release name"),
    ("a8-19-release-traversal", ("--release", "../../14.1-RELEASE", "--dry-run"), False, 2, "not a release name"),
    ("a8-3-backend-bogus", (*SRC, "--backend", "bogus"), False, 2, "unknown backend"),
    ("a8-24-src-not-git", ("--src", "{tmp}/data", "--dry-run"), False, 2, "not a git checkout"),
    ("a8-1-dry-run-control", SRC, False, 0, None),
]


def _world(tmp_path: Path, cache_is_a_file: bool) -> dict[str, str]:
    data = data_dir(tmp_path / "data", "http://127.0.0.1:9/")
    freebsd_checkout(tmp_path / "src")
    if cache_is_a_file:
        (tmp_path / "cache").write_text("a file where the cache should be\n")
    return {"HARNESS_DATA_DIR": str(data), "HARNESS_CACHE_DIR": str(tmp_path / "cache")}


@pytest.mark.parametrize(("argv", "cache_file", "code", "mentions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_build_input(
    argv: tuple[str, ...],
    cache_file: bool,
    code: int,
    mentions: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _world(tmp_path, cache_file)
    full = ["build", *(a.replace("{tmp}", str(tmp_path)) for a in argv)]
    with unchanged_outside(tmp_path, tmp_path / "cache"):
        result = run_in_process(full, cwd=tmp_path, env=env, monkeypatch=monkeypatch)
    if code == 0:
        assert_no_traceback(result, 0)
    else:
        assert_one_line_error(result, code, mentions=mentions)


def test_an_unusable_cache_in_a_real_process(tmp_path: Path) -> None:
    env = _world(tmp_path, cache_is_a_file=True)
    with unchanged_outside(tmp_path, tmp_path / "cache"):
        result = run_harness(["build", "--src", str(tmp_path / "src"), "--dry-run"], cwd=tmp_path, env=env)
    assert_one_line_error(result, 2, mentions="set HARNESS_CACHE_DIR")
