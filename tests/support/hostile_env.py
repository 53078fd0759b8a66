"""Inputs for the hostile-input suite, built in the test: a data dir whose mirrors are local, QEMU stand-ins, a
small FreeBSD-like git checkout, and a check that nothing outside the directory a command was given changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.settings import PROJECT_ROOT
from tests.support.cli import tree_state

#: A QEMU that refuses to start: every verb that launches QEMU is driven up to the launch, never a guest boot.
QEMU_STUB = "#!/bin/sh\necho 'fake qemu: refusing to start' >&2\nexit 1\n"


def data_dir(root: Path, mirror_root: str, archive_root: str = "http://127.0.0.1:9/") -> Path:
    """A copy of the project's images/, vm_configs/ and patches/ whose download site is ``mirror_root`` and archive
    site ``archive_root`` (a local server, or by default the discard port): no test can reach the internet."""
    for name in ("images", "vm_configs", "patches"):
        shutil.copytree(PROJECT_ROOT / name, root / name)
    sites = (root / "images" / "sites.toml").read_text()
    sites = sites.replace("https://download.freebsd.org/releases/", mirror_root)
    sites = sites.replace("https://archive.freebsd.org/old-releases/", archive_root)
    (root / "images" / "sites.toml").write_text(sites)
    return root


def qemu_stubs(bin_dir: Path) -> str:
    """Stand-ins for qemu-system-* in ``bin_dir``; returns a PATH that finds them first (qemu-img stays real)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("qemu-system-x86_64", "qemu-system-aarch64"):
        stub = bin_dir / name
        stub.write_text(QEMU_STUB)
        stub.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"


def freebsd_checkout(repo: Path) -> Path:
    """A small git repository shaped like a FreeBSD source tree (newvers.sh of 14.1-RELEASE, one kernel file)."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x")
    (repo / "sys" / "conf").mkdir(parents=True)
    (repo / "sys" / "vm").mkdir(parents=True)
    (repo / "sys" / "conf" / "newvers.sh").write_text('TYPE="FreeBSD"\nREVISION="14.1"\nBRANCH="RELEASE"\n')
    (repo / "sys" / "vm" / "vm_glue.c").write_text("/* kernel stacks */\n")
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True, env=env)
    return repo


@contextmanager
def unchanged_outside(world: Path, *given: Path) -> Iterator[None]:
    """Assert that the command in the block changed nothing under ``world`` except inside the ``given`` dirs."""

    def outside() -> dict[str, str]:
        skip = [str(p.relative_to(world)) for p in given if p.is_relative_to(world)]
        return {
            rel: kind
            for rel, kind in tree_state(world).items()
            if not any(rel == s or rel.startswith(s + os.sep) for s in skip)
        }

    before = outside()
    yield
    after = outside()
    changed = sorted(set(before.items()) ^ set(after.items()))
    assert not changed, f"changed outside {[str(p) for p in given]}: {changed[:10]}"
