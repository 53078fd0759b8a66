"""A regular (non-editable) install carries everything the harness reads at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness import settings

ROOT = settings.PROJECT_ROOT


def _tracked_data_files() -> list[str]:
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if line.startswith("harness/") and not line.endswith(".py")]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools leaves build/ and *.egg-info in the tree it builds.
    src = tmp_path_factory.mktemp("src") / "tree"
    junk = shutil.ignore_patterns(".git", ".tox", "*.egg-info", "__pycache__")

    def ignore(folder: str, names: list[str]) -> set[str]:
        # The checkout's own build/ and runs/ (setuptools' and the harness's output) stay out of the copy.
        top = {"build", "runs"} if Path(folder) == ROOT else set()
        return set(junk(folder, names)) | top

    shutil.copytree(ROOT, src, ignore=ignore)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    return zipfile.ZipFile(next(out.glob("*.whl")))


def test_wheel_has_every_data_file_of_the_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    missing = [f for f in _tracked_data_files() if f not in names]
    assert not missing, f"package-data patterns miss: {missing}"


def test_wheel_installs_the_top_level_data_dirs(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    for top in ("images", "vm_configs", "patches"):
        prefix = f"share/freebsd-kstack-harness/{top}/"
        shipped = {n.split(prefix, 1)[1] for n in names if prefix in n}
        in_tree = {str(p.relative_to(ROOT / top)) for p in (ROOT / top).rglob("*") if p.is_file()}
        assert shipped == in_tree, top


def test_data_dir_prefers_override_then_checkout_then_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    assert settings.data_dir("images") == tmp_path / "images"
    monkeypatch.delenv("HARNESS_DATA_DIR")
    assert settings.data_dir("images") == ROOT / "images"
    monkeypatch.setattr(settings, "PROJECT_ROOT", tmp_path)  # as in site-packages: no pyproject.toml beside it
    assert settings.data_dir("patches") == settings.INSTALLED_DATA / "patches"
