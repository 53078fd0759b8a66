"""The one place a directory the harness writes into is made usable, or refused in one line naming it and the fix."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from harness.errors import InfraError
from harness.util import dirs
from harness.util.dirs import unusable, usable_dir

FIX = "set HARNESS_CACHE_DIR to a writable directory"


def test_a_directory_is_made_with_its_parents(tmp_path: Path) -> None:
    assert usable_dir(tmp_path / "a" / "b", what="the cache directory", fix=FIX).is_dir()


@pytest.mark.parametrize("where", ["file", "file/below"])
def test_a_file_in_the_way(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InfraError) as caught:
        usable_dir(tmp_path / where, what="the cache directory", fix=FIX)
    assert caught.value.one_line() == f"cannot use the cache directory {tmp_path / where}: a file is in the way ({FIX})"


def test_a_directory_this_user_cannot_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root may write anywhere, so the refusal is simulated where the check looks.
    monkeypatch.setattr(dirs.os, "access", lambda path, mode: False)
    with pytest.raises(InfraError, match="not writable by this user"):
        usable_dir(tmp_path, what="the runs directory", fix="pass a writable --runs-dir")


def test_a_failure_met_later_has_the_same_wording() -> None:
    error = unusable(OSError(errno.ENOSPC, "No space left on device", "/c/x.part"), FIX)
    assert error.one_line() == f"cannot use /c/x.part: no space left on the device ({FIX})"
