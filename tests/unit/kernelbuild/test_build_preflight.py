"""The cross backend's host check: every missing tool named with its Debian package and one apt-get line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.errors import HostError
from harness.kernelbuild.preflight import check_cross_host


def test_this_machine_names_each_missing_package_and_the_apt_line() -> None:
    result = check_cross_host()
    really_missing = [r for r in result.requirements if not r.path.exists()]
    assert list(result.missing) == really_missing
    for req in really_missing:
        assert req.package in result.packages
        assert f" {req.package}" in result.apt_line
    # As root (a fresh Debian machine has no sudo) the line is run as it is; otherwise through sudo.
    assert result.apt_line.startswith(("" if os.geteuid() == 0 else "sudo ") + "apt-get install -y")
    if really_missing:
        with pytest.raises(HostError) as caught:
            result.raise_if_missing()
        line = caught.value.one_line()
        assert "\n" not in line
        for req in really_missing:
            assert req.package in line and str(req.path) in line
    else:
        result.raise_if_missing()


def _touch(root: Path, path: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("")


def test_empty_host_needs_everything_with_the_distribution_default_clang(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    result = check_cross_host(root=tmp_path)
    assert result.llvm == 14
    assert result.packages == ["gcc", "g++", "cpp", "clang-14", "lld-14", "libarchive-dev", "binutils"]
    assert result.apt_line.endswith("gcc g++ cpp clang-14 lld-14 libarchive-dev binutils")


def test_newest_llvm_with_clang_is_chosen_and_only_lld_is_missing(tmp_path: Path) -> None:
    for path in ("/usr/bin/cc", "/usr/bin/c++", "/usr/bin/cpp", "/usr/include/archive.h", "/usr/bin/strip"):
        _touch(tmp_path, path)
    for tool in ("clang", "clang++", "clang-cpp"):
        _touch(tmp_path, f"/usr/lib/llvm-16/bin/{tool}")
    (tmp_path / "usr/lib/llvm-17/bin").mkdir(parents=True)  # newer LLVM without clang: not usable
    result = check_cross_host(root=tmp_path)
    assert result.cross_bindir == Path("/usr/lib/llvm-16/bin")
    assert result.packages == ["lld-16"]
    _touch(tmp_path, "/usr/lib/llvm-16/bin/ld.lld")
    assert check_cross_host(root=tmp_path).ok


def test_explicit_cross_bindir_is_checked_as_given(tmp_path: Path) -> None:
    result = check_cross_host(Path("/usr/lib/llvm-15/bin"), root=tmp_path)
    assert result.llvm == 15
    assert {"clang-15", "lld-15"} <= set(result.packages)
