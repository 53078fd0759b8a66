"""xz streaming into sparse images, and per-run qcow2 overlays grown before first boot (real qemu-img)."""

from __future__ import annotations

import hashlib
import lzma
import shutil
from pathlib import Path

import pytest

from harness.errors import DownloadError, UsageError
from harness.images import ImageCache
from harness.images.checksums import Digest
from harness.images.overlay import create_overlay, parse_size, virtual_size
from harness.images.unpack import decompress_xz, unpacked

needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img not installed")


def _disk_like(size: int) -> bytes:
    # Mostly zeros with data islands, like a fresh FreeBSD disk image.
    data = bytearray(size)
    for offset in range(0, size, 1 << 20):
        data[offset : offset + 4096] = hashlib.sha512(offset.to_bytes(8, "little")).digest() * 64
    data[-10:] = b"END-OF-IMG"
    return bytes(data)


def test_decompression_is_exact_and_sparse(tmp_path: Path) -> None:
    raw = _disk_like(16 << 20)
    src = tmp_path / "img.raw.xz"
    src.write_bytes(lzma.compress(raw, format=lzma.FORMAT_XZ, preset=0))
    dest = tmp_path / "img.raw"
    assert decompress_xz(src, dest) == len(raw)
    assert dest.read_bytes() == raw
    assert dest.stat().st_blocks * 512 < len(raw) // 2, "zero blocks should be holes"


def test_trailing_zeros_keep_the_full_size(tmp_path: Path) -> None:
    raw = b"x" * 1000 + bytes(1 << 20)
    src = tmp_path / "z.raw.xz"
    src.write_bytes(lzma.compress(raw))
    assert decompress_xz(src, tmp_path / "z.raw") == len(raw)
    assert (tmp_path / "z.raw").read_bytes() == raw


def test_truncated_xz_stream_is_refused_and_not_published(tmp_path: Path) -> None:
    blob_data = lzma.compress(_disk_like(4 << 20))[:-200]
    cache = ImageCache(tmp_path / "images")
    digest = Digest("sha256", hashlib.sha256(blob_data).hexdigest())
    blob = cache.blob(digest)
    blob.write_bytes(blob_data)
    with pytest.raises(DownloadError, match="ends before the end of its xz stream"):
        unpacked(blob, digest, "img.raw.xz", cache)
    assert list(cache.unpacked_dir(digest).iterdir()) == []


def test_unpacked_is_made_once(tmp_path: Path) -> None:
    raw = _disk_like(2 << 20)
    blob_data = lzma.compress(raw)
    cache = ImageCache(tmp_path / "images")
    digest = Digest("sha256", hashlib.sha256(blob_data).hexdigest())
    cache.blob(digest).write_bytes(blob_data)
    first = unpacked(cache.blob(digest), digest, "FreeBSD-x.raw.xz", cache)
    mtime = first.stat().st_mtime_ns
    assert first.name == "FreeBSD-x.raw" and first.read_bytes() == raw
    assert unpacked(cache.blob(digest), digest, "FreeBSD-x.raw.xz", cache).stat().st_mtime_ns == mtime


@pytest.mark.parametrize(("text", "size"), [("16G", 16 << 30), ("512M", 512 << 20), ("1.5g", 3 << 29), ("4096", 4096)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0"])
def test_parse_size_rejects_nonsense(text: str) -> None:
    with pytest.raises(UsageError):
        parse_size(text)


@needs_qemu_img
@pytest.mark.parametrize("base_format", ["raw", "qcow2"])
def test_overlay_is_backed_by_the_base_and_grown(tmp_path: Path, base_format: str) -> None:
    raw = tmp_path / "base.raw"
    raw.write_bytes(_disk_like(8 << 20))
    base = raw
    if base_format == "qcow2":
        import subprocess

        base = tmp_path / "base.qcow2"
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(base)], check=True)
    before = base.read_bytes()
    overlay = create_overlay(base, base_format, tmp_path / "run" / "disk.qcow2", 64 << 20)
    assert overlay.size == 64 << 20
    assert virtual_size(overlay.path, "qcow2") == 64 << 20
    assert base.read_bytes() == before, "the base image is never written"
    info = __import__("json").loads(
        __import__("subprocess")
        .run(["qemu-img", "info", "--output=json", str(overlay.path)], capture_output=True, text=True, check=True)
        .stdout
    )
    assert info["backing-filename"] == str(base.resolve())
    assert info["backing-filename-format"] == base_format


@needs_qemu_img
def test_overlay_never_shrinks(tmp_path: Path) -> None:
    base = tmp_path / "base.raw"
    base.write_bytes(bytes(8 << 20))
    overlay = create_overlay(base, "raw", tmp_path / "disk.qcow2", 1 << 20)
    assert overlay.size == 8 << 20
