"""The content-addressed download cache, after QEMU's functional-test asset cache.

Layout under ``cache_dir("images")``::

    blobs/<algo>-<hex>           verified downloads, named by their published digest (never anything else)
    partial/<algo>-<hex>.part    bytes received so far; only ever written while holding the lock
    locks/<algo>-<hex>.lock      fcntl lock: one process downloads, the others wait and then reuse the blob
    checksums/<key>              the last checksum file seen for a URL, so ``--offline`` can find its blob
    unpacked/<algo>-<hex>/<name> the decompressed image of a blob

A blob appears only by ``os.replace`` of a fully written, verified file, so a reader sees a whole file or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.images.checksums import Digest
from harness.settings import cache_dir
from harness.util.dirs import usable_dir
from harness.util.locking import exclusive_lock


@dataclass(frozen=True)
class ImageCache:
    """The cache rooted at ``root`` (default: the harness cache's ``images/``)."""

    root: Path

    @classmethod
    def default(cls) -> ImageCache:
        return cls(cache_dir("images"))

    def _dir(self, name: str) -> Path:
        return usable_dir(
            self.root / name,
            what="the image cache directory",
            fix="set HARNESS_CACHE_DIR (or XDG_CACHE_HOME) to a writable directory",
        )

    def blob(self, digest: Digest) -> Path:
        return self._dir("blobs") / digest.key

    def partial(self, digest: Digest) -> Path:
        return self._dir("partial") / f"{digest.key}.part"

    def unpacked_dir(self, digest: Digest) -> Path:
        return self._dir("unpacked") / digest.key

    def checksum_copy(self, url: str) -> Path:
        key = hashlib.sha256(url.encode()).hexdigest()[:24]
        return self._dir("checksums") / f"{key}-{url.rsplit('/', 1)[-1]}"

    def locked(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Hold the exclusive lock for one content address (blocks while another process holds it)."""
        return exclusive_lock(self._dir("locks") / f"{key}.lock")

    def entries(self) -> list[Path]:
        """Every verified blob in the cache."""
        return sorted(p for p in self._dir("blobs").iterdir() if p.is_file())


def publish(source: Path, dest: Path) -> None:
    """Move a finished file into place atomically (same file system: ``source`` lives in the cache)."""
    source.chmod(0o444)
    os.replace(source, dest)


def write_atomic(dest: Path, text: str) -> None:
    """Write a small text file so that readers never see half of it."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
