"""Hostile input at the top level (`harness` with no verb, unknown verbs and options, odd arguments and
environment): the review's cases A.1, as a test each. The ones about the interpreter's start (no verb, arguments
that are not UTF-8) run in real processes, the others in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import assert_no_traceback, assert_one_line_error, run_harness
from tests.support.inproc import run_in_process

CASES = [
    # id, argv, extra env, exit code, mentions (None: no one-line error expected); ids with "-real-" run in a process
    ("a1-1-real-no-verb", (), {}, 2, None),
    ("a1-2-version", ("--version",), {}, 0, None),
    ("a1-4-unknown-verb", ("frobnicate",), {}, 2, "invalid choice"),
    ("a1-5-unknown-option", ("--frob",), {}, 2, "unrecognized"),
    ("a1-7-real-argument-not-utf8", ("parse", "console", "\udcff\udcfe"), {}, 2, "cannot read"),
    ("a1-8-argument-100kb", ("parse", "console", "a" * 100_000), {}, 2, "cannot read"),
    ("a1-10-data-dir-missing", ("image", "list"), {"HARNESS_DATA_DIR": "{tmp}/nonexistent"}, 2, "cannot read"),
    ("new-cache-dir-is-a-file", ("image", "list"), {"HARNESS_CACHE_DIR": "{tmp}/file"}, 2, "cache directory"),
    ("new-xdg-cache-is-a-file", ("image", "list"), {"XDG_CACHE_HOME": "{tmp}/file"}, 2, "cache directory"),
    ("new-config-not-utf8", ("image", "fetch", "--offline"), {"HARNESS_CONFIG": "{tmp}/bad.toml"}, 2, "UTF-8"),
]


@pytest.mark.parametrize(("case", "argv", "env", "code", "mentions"), CASES, ids=[c[0] for c in CASES])
def test_hostile_top_level_input(
    case: str,
    argv: tuple[str, ...],
    env: dict[str, str],
    code: int,
    mentions: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "file").write_text("a file\n")
    (tmp_path / "bad.toml").write_bytes(b'[images]\nmirror = "\xff"\n')
    full_env = {k: v.replace("{tmp}", str(tmp_path)) for k, v in env.items()}
    if "XDG_CACHE_HOME" in full_env:
        full_env["HARNESS_CACHE_DIR"] = ""  # only the XDG location
    if "-real-" in case:
        result = run_harness(list(argv), cwd=tmp_path, env=full_env)
    else:
        result = run_in_process(argv, cwd=tmp_path, env=full_env, monkeypatch=monkeypatch)
    if mentions is None:
        assert_no_traceback(result, code)
        assert result.stdout.strip() or result.stderr.strip()
    else:
        assert_one_line_error(result, code, mentions=mentions)


def test_a_disk_that_fills_up_mid_way_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """F12: ENOSPC (or any OSError) met after the directories were checked is exit 2 in one line, not a traceback."""
    import errno

    import harness.cli.image as image_cli

    def full(args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "cache" / "images" / "blob.part"))

    monkeypatch.setattr(image_cli, "_list", full)
    result = run_in_process(("image", "list"), cwd=tmp_path, monkeypatch=monkeypatch)
    assert_one_line_error(result, 2, mentions="no space left on the device")
    assert "blob.part" in result.stderr
