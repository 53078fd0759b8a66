"""`harness bisect` with hostile options (docs/reviews/hostile-input.md, appendix A.12).

The tree is a small git checkout made in the test; the step command is ``test ! -e BAD_MARK`` (no kernel is
built). Bad options are one line (exit 2) that leave the checkout as it was; a found bisect keeps exit 0 when
its reader went away.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli import (
    assert_no_traceback,
    assert_one_line_error,
    outside_state,
    run_harness_reader_gone,
)
from tests.support.hostile import git_tree
from tests.support.inproc import Harness

JUDGE = "test ! -e BAD_MARK"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    return git_tree(tmp_path / "fsrc")


def _head(tree: Path) -> str:
    return subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True).stdout


CASES = {
    "A12-03 --good nonexistent ref": (
        ["--good", "nope", "--bad", "bad0", "--dry-run", "--step-command", "true"],
        "nope",
    ),
    "A12-04 --good == --bad": (["--good", "bad0", "--bad", "bad0", "--dry-run", "--step-command", "true"], "same"),
    "A12-05 --good after --bad": (["--good", "bad0", "--bad", "good0", "--dry-run", "--step-command", "true"], None),
    "A12-06 --step-command ''": (["--good", "good0", "--bad", "bad0", "--step-command", ""], "empty"),
    "A12-07 --step-command '   '": (["--good", "good0", "--bad", "bad0", "--step-command", "   "], "empty"),
    "A12-16 --param bad syntax": (["--good", "good0", "--bad", "bad0", "--param", "nocolon", "--dry-run"], "--param"),
    "A12-17 --model bad": (["--good", "good0", "--bad", "bad0", "--model", "x", "--dry-run"], "--model"),
}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_bad_options(case_id: str, tree: Path, tmp_path: Path, harness: Harness) -> None:
    argv, mentions = CASES[case_id]
    head, before = _head(tree), outside_state(tmp_path, tmp_path / "cache")
    assert_one_line_error(harness(["bisect", "--src", str(tree), *argv]), 2, mentions=mentions)
    assert _head(tree) == head
    assert outside_state(tmp_path, tmp_path / "cache") == before


def test_A12_09_src_nonexistent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, harness: Harness) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    argv = ["bisect", "--src", str(tmp_path / "nonexistent"), "--good", "a", "--bad", "b", "--dry-run"]
    assert_one_line_error(harness([*argv, "--step-command", "true"]), 2, mentions="does not exist")


def test_A12_10_F_log_dir_is_a_file(tree: Path, tmp_path: Path, harness: Harness) -> None:
    log = tmp_path / "empty.txt"
    log.write_text("")
    argv = ["bisect", "--src", str(tree), "--good", "good0", "--bad", "bad0", "--step-command", JUDGE]
    assert_one_line_error(harness([*argv, "--log-dir", str(log)]), 2, mentions=str(log))
    assert log.read_text() == ""


def test_A12_12_a_real_bisect_with_markup_in_its_subject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, harness: Harness
) -> None:
    """Control, and F1: the first bad commit's subject (printed by rich) is data, not markup."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    tree = git_tree(tmp_path / "fsrc", bad_subject="mutex [/giant] not owned [bold]x")
    argv = ["bisect", "--src", str(tree), "--good", "good0", "--bad", "bad0", "--step-command", JUDGE]
    result = harness([*argv, "--log-dir", str(tmp_path / "log")])
    assert_no_traceback(result, 0)
    assert "first bad commit:" in result.stdout and "mutex [/giant] not owned [bold]x" in result.stdout


def test_A12_20_F_exit_code_survives_a_closed_pipe(tree: Path, tmp_path: Path) -> None:
    """`harness bisect … | true` on a found bisect keeps 0 (rich's broken-pipe handler exited 1, silently)."""
    argv = ["bisect", "--src", str(tree), "--good", "good0", "--bad", "bad0", "--step-command", JUDGE]
    result = run_harness_reader_gone([*argv, "--log-dir", str(tmp_path / "log")], cwd=tmp_path)
    assert_no_traceback(result, 0)
    assert (tmp_path / "log" / "result.json").is_file()
