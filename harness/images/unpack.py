"""Stream an ``.xz`` blob into a sparse image file in the cache (no full copy in memory, no ``xz`` binary)."""

from __future__ import annotations

import contextlib
import lzma
import os
from pathlib import Path
from typing import BinaryIO

from harness.errors import ConfigError, DownloadError
from harness.images.cache import ImageCache, publish
from harness.images.checksums import Digest
from harness.steps import step

_READ = 1 << 20
_BLOCK = 1 << 16
_ZERO = bytes(_BLOCK)


def _write_sparse(out: BinaryIO, data: bytes) -> None:
    """Write ``data``, seeking over all-zero 64 KiB blocks so the 5 GiB of empty disk costs no space."""
    view = memoryview(data)
    for start in range(0, len(view), _BLOCK):
        block = view[start : start + _BLOCK]
        if len(block) == _BLOCK and block == _ZERO:
            out.seek(_BLOCK, os.SEEK_CUR)
        else:
            out.write(block)


def decompress_xz(source: Path, dest: Path) -> int:
    """Decompress ``source`` into ``dest`` (sparse). Returns the decompressed size. A truncated stream is an error.

    Memory stays bounded whatever the compression ratio: each ``decompress`` call returns at most ``_READ`` bytes
    (an xz of zeros expands a thousandfold; without ``max_length`` one 1 MiB read became a 1 GiB ``bytes``).
    """
    decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    with source.open("rb") as src, dest.open("wb") as out:
        while not decompressor.eof:
            chunk = b"" if not decompressor.needs_input else src.read(_READ)
            if not chunk and decompressor.needs_input:
                break  # input ended before the stream did
            try:
                data = decompressor.decompress(chunk, max_length=_READ)
            except lzma.LZMAError as exc:
                raise DownloadError(f"{source.name} is not a valid xz stream: {exc}") from None
            _write_sparse(out, data)
        if not decompressor.eof:
            raise DownloadError(f"{source.name} ends before the end of its xz stream")
        size = out.tell()
        out.truncate(size)  # materialise a trailing hole
    return size


def unpacked(blob: Path, digest: Digest, name: str, cache: ImageCache | None = None) -> Path:
    """The decompressed image of a verified ``.xz`` blob, made once and shared (same lock discipline as blobs)."""
    if not name.endswith(".xz"):
        return blob
    if Path(name).name != name or name in (".xz", "..xz"):
        raise ConfigError(f"image file name {name!r} is a path", hint="a manifest's `file` is a plain file name")
    cache = cache or ImageCache.default()
    target_dir = cache.unpacked_dir(digest)
    target = target_dir / name.removesuffix(".xz")
    if target.exists():
        return target
    with cache.locked(f"unpack-{digest.key}"):
        if target.exists():
            return target
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = target_dir / f".{target.name}.tmp"
        try:
            with step("decompress", file=name):
                decompress_xz(blob, tmp)
            publish(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return target
