"""From "FreeBSD 14 on arm64" to a verified, decompressed base image and a per-run overlay."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.images.cache import ImageCache
from harness.images.checksums import Digest
from harness.images.fetch import FetchOptions, fetch_first, import_file
from harness.images.manifest import ImageManifest, load_manifests, load_sites, select
from harness.images.overlay import Overlay, create_overlay, parse_size
from harness.images.unpack import unpacked


@dataclass(frozen=True)
class BaseImage:
    """A bootable base image on disk (never written to: runs boot an overlay of it)."""

    manifest: ImageManifest
    path: Path
    format: str


def _digest_of_blob(blob: Path) -> Digest:
    algo, _, hexval = blob.name.partition("-")
    return Digest(algo, hexval)


def resolve(release: str, arch: str, images_dir: Path | None = None) -> ImageManifest:
    return select(release, arch, load_manifests(images_dir))


def ensure(
    manifest: ImageManifest,
    *,
    mirror: str | None = None,
    options: FetchOptions | None = None,
    cache: ImageCache | None = None,
) -> BaseImage:
    """Download (or find in the cache) and decompress the manifest's image."""
    cache = cache or ImageCache.default()
    sources = manifest.sources(load_sites(), mirror, options.pin if options else None)
    blob = fetch_first(sources, options=options, cache=cache)
    path = unpacked(blob, _digest_of_blob(blob), manifest.file, cache)
    return BaseImage(manifest, path, manifest.format)


def from_file(
    manifest: ImageManifest,
    path: Path,
    *,
    mirror: str | None = None,
    options: FetchOptions | None = None,
    cache: ImageCache | None = None,
) -> BaseImage:
    """A base image from a file the user downloaded: an ``.xz`` is checked against the published checksum,
    imported and decompressed; an already decompressed image is used as it is (its format from the manifest)."""
    if not path.is_file():
        raise UsageError(f"image file not found: {path}")
    cache = cache or ImageCache.default()
    if path.name.endswith(".xz"):
        source = manifest.sources(load_sites(), mirror, options.pin if options else None)[0]
        blob = import_file(path, source, options=options, cache=cache)
        return BaseImage(manifest, unpacked(blob, _digest_of_blob(blob), manifest.file, cache), manifest.format)
    return BaseImage(manifest, path.resolve(), _sniff_format(path, manifest.format))


def _sniff_format(path: Path, default: str) -> str:
    """qcow2 files start with ``QFI\\xfb``; anything else is taken as raw unless the manifest says otherwise."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == b"QFI\xfb":
        return "qcow2"
    return "raw" if path.suffix == ".raw" else default


def run_overlay(base: BaseImage, run_dir: Path, size: str | None = None) -> Overlay:
    """The per-run qcow2 overlay ``run_dir/disk.qcow2``, grown to ``size`` (default from images/sites.toml)."""
    wanted = parse_size(size or load_sites().disk_size)
    return create_overlay(base.path, base.format, run_dir / "disk.qcow2", wanted)


def cached_path(manifest: ImageManifest, cache: ImageCache | None = None) -> Path | None:
    """The decompressed image of a manifest if the cache holds it (no network), else ``None``."""
    cache = cache or ImageCache.default()
    for blob in cache.entries():
        candidate = cache.unpacked_dir(_digest_of_blob(blob)) / manifest.image_name
        if candidate.exists():
            return candidate
    return None


__all__ = ["BaseImage", "cached_path", "ensure", "from_file", "resolve", "run_overlay"]
