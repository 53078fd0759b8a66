"""Image manifests, verified downloads, the content-addressed cache, per-run overlays.

Public API (stable; other packages import from here):

* ``fetch_verified(url, checksum_url, *, offline=False, progress=None, timeout=60.0, cache=None) -> Path``:
  a checksum-verified file in the cache (used for images and for ``src.txz``).
* ``resolve(release, arch) -> ImageManifest``, ``ensure(manifest, mirror=..., options=...) -> BaseImage``,
  ``from_file(manifest, path) -> BaseImage``, ``run_overlay(base, run_dir, size=None) -> Overlay``.
"""

from harness.images.cache import ImageCache
from harness.images.fetch import FetchOptions, Source, fetch_first, fetch_verified
from harness.images.manifest import ImageManifest, configured_mirror, load_manifests, select
from harness.images.overlay import Overlay, create_overlay
from harness.images.store import BaseImage, cached_path, ensure, from_file, resolve, run_overlay

__all__ = [
    "BaseImage",
    "FetchOptions",
    "ImageCache",
    "ImageManifest",
    "Overlay",
    "Source",
    "cached_path",
    "configured_mirror",
    "create_overlay",
    "ensure",
    "fetch_first",
    "fetch_verified",
    "from_file",
    "load_manifests",
    "resolve",
    "run_overlay",
    "select",
]
