"""Hostile input for `harness selftest`: the review's cases A.13, as a test each (QEMU stand-ins: no guest boots,
the host checks fail before any VM would start)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.cli import assert_no_traceback, assert_one_line_error
from tests.support.hostile_env import data_dir, qemu_stubs, unchanged_outside
from tests.support.inproc import run_in_process

PROFILE = Path("vm_configs") / "linuxtest-amd64.toml"

CASES = [
    # id, new profile text (None: leave it; "": delete it), exit code, mentions (None: a table, not one line)
    ("a13-10-profile-cpu-is-a-string", "cpu-string", 2, "cpu"),
    ("a13-8-profile-syntax", "arch = \n", 2, "syntax"),
    ("new-profile-not-utf8", 'arch = "\xff"\n', 2, "UTF-8"),
    ("a13-9-profile-missing", "", 2, "no VM profile"),
    ("a13-3-stub-qemu-control", None, 2, None),
]


@pytest.mark.parametrize(("profile", "code", "mentions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_selftest_input(
    profile: str | None, code: int, mentions: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = data_dir(tmp_path / "data", "http://127.0.0.1:9/")
    path = data / PROFILE
    if profile == "":
        path.unlink()
    elif profile == "cpu-string":
        text = path.read_text()
        path.write_text(text[: text.index("[cpu]")] + 'cpu = "x"\n')
    elif profile is not None:
        path.write_bytes(profile.encode("latin-1"))
    env = {
        "HARNESS_DATA_DIR": str(data),
        "HARNESS_CACHE_DIR": str(tmp_path / "cache"),
        # Only the QEMU stand-ins: no apt-get either, so the host checks fail at once, as in the review.
        "PATH": qemu_stubs(tmp_path / "bin").split(os.pathsep)[0],
    }
    with unchanged_outside(tmp_path, tmp_path / "cache"):
        result = run_in_process(["selftest"], cwd=tmp_path, env=env, monkeypatch=monkeypatch)
    if mentions is None:
        assert_no_traceback(result, code)
        assert "qemu" in result.stdout.lower()  # the table names the failed host check
    else:
        assert_one_line_error(result, code, mentions=mentions)
