"""Hostile input for `harness patch` (and the recipes it reads): the review's cases A.7, as a test each."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import assert_no_traceback, assert_one_line_error
from tests.support.hostile_env import data_dir, freebsd_checkout, unchanged_outside
from tests.support.inproc import run_in_process

RECIPE = Path("patches") / "kstack-object" / "patch.toml"

CASES = [
    # id, argv, what to break ("cache" | "recipe:<bytes>" | ""), exit code, mentions
    (
        "a7-15-cache-is-a-file",
        ("check", "kstack-object", "--src", "{tmp}/src", "--no-fetch"),
        "cache",
        2,
        "cache directory",
    ),
    ("a7-5-unknown-patch", ("check", "nosuch", "--src", "{tmp}/src"), "", 2, "unknown patch"),
    ("a7-6-src-missing", ("check", "kstack-object", "--src", "/nonexistent"), "", 2, "does not exist"),
    ("a7-7-src-is-a-file", ("check", "kstack-object", "--src", "{tmp}/config.toml"), "", 2, "not a directory"),
    (
        "a7-13-wrong-order",
        ("check", "kstack-pindex", "kstack-object", "--src", "{tmp}/src", "--no-fetch"),
        "",
        2,
        "order",
    ),
    ("new-recipe-not-utf8", ("list",), 'recipe:summary = "\xff"\n', 2, "UTF-8"),
    ("new-recipe-syntax", ("list",), "recipe:[generation\n", 2, "syntax"),
    ("new-recipe-generation-int", ("list",), "recipe:generation = 5\n", 2, "generation"),
    ("a7-10-check-control", ("check", "kstack-object", "--src", "{tmp}/src", "--no-fetch"), "", 0, None),
    ("a7-2-list-control", ("list",), "", 0, None),
]


@pytest.mark.parametrize(("argv", "breakage", "code", "mentions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_patch_input(
    argv: tuple[str, ...],
    breakage: str,
    code: int,
    mentions: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = data_dir(tmp_path / "data", "http://127.0.0.1:9/")
    freebsd_checkout(tmp_path / "src")
    (tmp_path / "config.toml").write_text("")
    if breakage == "cache":
        (tmp_path / "cache").write_text("a file where the cache should be\n")
    elif breakage.startswith("recipe:"):
        (data / RECIPE).write_bytes(breakage.removeprefix("recipe:").encode("latin-1"))
    env = {"HARNESS_DATA_DIR": str(data), "HARNESS_CACHE_DIR": str(tmp_path / "cache")}
    with unchanged_outside(tmp_path, tmp_path / "cache"):
        result = run_in_process(
            ["patch", *(a.replace("{tmp}", str(tmp_path)) for a in argv)],
            cwd=tmp_path,
            env=env,
            monkeypatch=monkeypatch,
        )
    if code == 0:
        assert_no_traceback(result, 0)
    else:
        assert_one_line_error(result, code, mentions=mentions)
