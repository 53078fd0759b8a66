"""The guest backend's builder VM, and the narrow protocol the backend needs from it.

The backend needs only a logged-in shell with file transfer — what ``harness.vm.ssh.SSHSession`` offers. The
builder is an official FreeBSD image from ``harness.images``, booted and configured by the FreeBSD guest adapter
(``harness.guests.freebsd.boot.booted``), and stopped when the build is done, whatever happens.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from harness.settings import cache_dir
from harness.steps import step
from harness.util import tomlfile
from harness.vm.shell import RemoteShell

DATA = Path(__file__).parent / "data" / "builder.toml"


BuilderFactory = Callable[[str], AbstractContextManager[RemoteShell]]


@dataclass(frozen=True)
class BuilderSettings:
    default_release: str
    disk_size: str


def load_settings(path: Path = DATA) -> BuilderSettings:
    data = tomlfile.load(path, hint="reinstall the harness")
    return BuilderSettings(data.string("default_release"), data.string("disk_size"))


@contextlib.contextmanager
def builder_session(arch: str, *, release: str, disk_size: str) -> Iterator[RemoteShell]:
    """A booted FreeBSD ``release`` guest for ``arch`` (its image fetched and verified first); SSH into it."""
    from harness.guests.freebsd.boot import booted
    from harness.images import ensure, resolve

    manifest = resolve(release, arch)
    base = ensure(manifest)
    run_dir = Path(tempfile.mkdtemp(prefix=f"builder-{manifest.release}-{arch}-", dir=cache_dir("builders")))
    with (
        step("builder-vm", release=manifest.release, arch=arch),
        booted(manifest, base, run_dir, disk_size=disk_size) as guest,
    ):
        yield guest.ssh


def builder_factory(release: str | None = None) -> BuilderFactory:
    """Boots builders of ``release`` (default from ``data/builder.toml``)."""
    settings = load_settings()
    chosen = release or settings.default_release

    def factory(arch: str) -> AbstractContextManager[RemoteShell]:
        return builder_session(arch, release=chosen, disk_size=settings.disk_size)

    return factory
