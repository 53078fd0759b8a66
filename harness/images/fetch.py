"""Verified downloads into the content-addressed cache: the API other packages use.

``fetch_verified(url, checksum_url)`` returns the path of a cached file whose digest matches the published
BSD-format checksum list. A file that fails the check is deleted, never published.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ChecksumMismatch, DownloadError
from harness.images.cache import ImageCache, publish, write_atomic
from harness.images.checksums import Digest, digest_for, file_digest
from harness.images.http import (
    OFFLINE_HINT,
    NetworkUnreachable,
    NotFound,
    download_to,
    fetch_text,
    progress_bar,
    warn_plain_http,
)
from harness.steps import note, step

#: Transfers that break off are resumed this many times before giving up.
RESUME_ATTEMPTS = 4


@dataclass(frozen=True)
class Source:
    """Where one file and the checksum list that covers it can be downloaded."""

    url: str
    checksum_url: str
    #: A known-good digest the checksum list must agree with (manifest ``pin`` or ``--pin``).
    pin: Digest | None = None

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class FetchOptions:
    offline: bool = False
    progress: bool | None = None  # None: a bar when stderr is a terminal
    timeout: float = 60.0
    #: ``--pin``: a known-good digest of the image, which replaces the manifest's ``pin``.
    pin: Digest | None = None

    def show_progress(self) -> bool:
        return sys.stderr.isatty() if self.progress is None else self.progress


def _checksum_text(source: Source, cache: ImageCache, options: FetchOptions) -> str:
    """The checksum list: fresh from the network, or the cached copy when offline."""
    copy = cache.checksum_copy(source.checksum_url)
    if options.offline:
        if not copy.exists():
            raise DownloadError(
                f"--offline, and {source.checksum_url} was never downloaded",
                hint="run once with network (`harness image fetch`), or pass --image FILE",
            )
        return copy.read_text(encoding="utf-8")
    text = fetch_text(source.checksum_url, timeout=options.timeout)
    _pinned(source, digest_for(text, source.name, source=source.checksum_url))  # refuse to cache a bad list
    write_atomic(copy, text)
    return text


def _pinned(source: Source, digest: Digest) -> Digest:
    """``digest`` if it agrees with the source's pin (or there is none); a disagreement is a one-line error."""
    if source.pin is not None and source.pin != digest:
        raise ChecksumMismatch(
            f"{source.checksum_url} lists {digest.algo} {digest.hex[:16]}… for {source.name}, but the pinned digest "
            f"is {source.pin.algo} {source.pin.hex[:16]}…; nothing was downloaded or cached",
            hint="the mirror's checksum list is forged or for another build; use another --mirror, or fix the pin",
        )
    return digest


def _cached_digest(source: Source, cache: ImageCache) -> Digest | None:
    copy = cache.checksum_copy(source.checksum_url)
    if not copy.exists():
        return None
    return _pinned(source, digest_for(copy.read_text(encoding="utf-8"), source.name, source=str(copy)))


def _transfer(source: Source, part: Path, options: FetchOptions) -> int:
    """Download into ``part``, resuming after breaks; returns the offset the first transfer resumed from."""
    first_resume: int | None = None
    with progress_bar(source.name, options.show_progress()) as on_progress:
        for attempt in range(1, RESUME_ATTEMPTS + 1):
            try:
                fetched = download_to(source.url, part, timeout=options.timeout, on_progress=on_progress)
            except (NotFound, NetworkUnreachable):
                raise
            except DownloadError as exc:
                if attempt == RESUME_ATTEMPTS:
                    raise
                note("download", f"{exc.message}; resuming (attempt {attempt + 1})")
                continue
            if first_resume is None:
                first_resume = fetched.resumed_from
            return first_resume
    raise AssertionError("unreachable")  # pragma: no cover


def _download_verified(source: Source, digest: Digest, cache: ImageCache, options: FetchOptions) -> Path:
    """Download, verify, publish. Called with the digest's lock held."""
    part = cache.partial(digest)
    blob = cache.blob(digest)
    for from_scratch in (False, True):
        if from_scratch:
            part.unlink(missing_ok=True)
        resumed_from = _transfer(source, part, options)
        actual = file_digest(part, digest.algo)
        if actual == digest.hex:
            publish(part, blob)
            return blob
        part.unlink(missing_ok=True)
        if resumed_from and not from_scratch:
            note("download", f"{source.name}: resumed file does not match its checksum; downloading again")
            continue
        break
    raise ChecksumMismatch(
        f"{source.name}: {digest.algo} {actual[:16]}… does not match the published {digest.hex[:16]}… "
        f"({source.checksum_url}); the file was deleted, nothing was cached",
        hint="run again; if it repeats the mirror is corrupt or stale, try another --mirror",
    )


def fetch_source(source: Source, *, options: FetchOptions | None = None, cache: ImageCache | None = None) -> Path:
    """The cached, verified copy of ``source.url``, downloading it if needed. Safe to call from many processes."""
    options = options or FetchOptions()
    cache = cache or ImageCache.default()
    try:
        digest = _pinned(
            source, digest_for(_checksum_text(source, cache, options), source.name, source=source.checksum_url)
        )
    except NetworkUnreachable:
        cached = _cached_digest(source, cache)
        if cached is None or not cache.blob(cached).exists():
            raise
        note("download", f"network unreachable; using the cached {source.name} verified earlier")
        return cache.blob(cached)
    blob = cache.blob(digest)
    if blob.exists():
        return blob
    if options.offline:
        raise DownloadError(f"--offline, and {source.name} is not in the cache", hint=OFFLINE_HINT)
    with cache.locked(digest.key):
        if blob.exists():  # another process finished it while we waited for the lock
            return blob
        with step("download", file=source.name):
            return _download_verified(source, digest, cache, options)


def fetch_verified(
    url: str,
    checksum_url: str,
    *,
    offline: bool = False,
    progress: bool | None = None,
    timeout: float = 60.0,
    cache: ImageCache | None = None,
) -> Path:
    """Download ``url`` once, verify it against the BSD-format list at ``checksum_url``, return the cached path.

    Used for VM images and for ``src.txz``. Raises ``ChecksumMismatch`` (nothing cached), ``DownloadError``
    (unreachable, 404, broken transfer after retries), or ``DownloadError`` when ``offline`` and not cached.
    """
    return fetch_source(Source(url, checksum_url), options=FetchOptions(offline, progress, timeout), cache=cache)


def warn_plain_roots(sources: Sequence[Source]) -> None:
    """One warning per plain-http:// directory the sources would be fetched from (the mirror, usually)."""
    for directory in dict.fromkeys(s.checksum_url.rsplit("/", 1)[0] + "/" for s in sources):
        warn_plain_http(directory, "the mirror directory")


def fetch_first(
    sources: Sequence[Source], *, options: FetchOptions | None = None, cache: ImageCache | None = None
) -> Path:
    """The first of several locations that has the file (download.freebsd.org, then archive.freebsd.org).

    A location that answers 404, that is unreachable, or (``--offline``) that was never fetched, passes to the
    next; a checksum mismatch or a broken transfer stops at once. If none works, the most telling error is raised:
    unreachable (with the "use an image file" hint) before offline-and-not-cached before not-found.
    """
    if not (options and options.offline):
        warn_plain_roots(sources)
    missing: list[str] = []
    unreachable: NetworkUnreachable | None = None
    not_cached: DownloadError | None = None
    for source in sources:
        try:
            return fetch_source(source, options=options, cache=cache)
        except NotFound as exc:
            missing.append(exc.message)
        except NetworkUnreachable as exc:
            unreachable = unreachable or exc
        except DownloadError as exc:
            if not (options and options.offline):
                raise
            not_cached = not_cached or exc
    if unreachable is not None:
        raise unreachable
    if not_cached is not None:
        raise not_cached
    raise DownloadError(
        "not found at any location: " + "; ".join(missing),
        hint="the release may have moved to archive.freebsd.org or been renamed; check the manifest in images/",
    )


def import_file(
    path: Path, source: Source, *, options: FetchOptions | None = None, cache: ImageCache | None = None
) -> Path:
    """Put a file downloaded by other means into the cache, after checking it against the published checksum:
    downloaded now, cached from an earlier run, or (offline) the release's CHECKSUM file lying next to ``path``."""
    options = options or FetchOptions()
    cache = cache or ImageCache.default()
    digest: Digest | None = None
    if not options.offline:
        warn_plain_roots([source])
    if not options.offline or cache.checksum_copy(source.checksum_url).exists():
        try:
            digest = _pinned(
                source, digest_for(_checksum_text(source, cache, options), source.name, source=source.checksum_url)
            )
        except NetworkUnreachable:
            digest = _cached_digest(source, cache)
    beside = path.parent / source.checksum_url.rsplit("/", 1)[-1]
    if digest is None and beside.is_file():
        note("download", f"checking {path.name} against {beside}")
        digest = _pinned(
            source, digest_for(beside.read_text(encoding="utf-8", errors="replace"), source.name, source=str(beside))
        )
    if digest is None and source.pin is not None:
        digest = source.pin  # the pin alone is enough to check a file the user brought
    if digest is None:
        why = "not cached (--offline)" if options.offline else "unreachable and not cached"
        raise DownloadError(
            f"cannot check {path}: {source.checksum_url} is {why}",
            hint=f"put the release's {beside.name} at {beside}, or decompress the image yourself (xz -dk) and "
            "pass the decompressed file, which is used unchecked",
        )
    return import_verified(path, digest, cache)


def import_verified(path: Path, digest: Digest, cache: ImageCache) -> Path:
    """Copy ``path`` into the cache if its content has ``digest``; otherwise raise ``ChecksumMismatch``."""
    actual = file_digest(path, digest.algo)
    if actual != digest.hex:
        raise ChecksumMismatch(
            f"{path}: {digest.algo} {actual[:16]}… does not match the published {digest.hex[:16]}…",
            hint="the file is damaged or is another release's image",
        )
    blob = cache.blob(digest)
    with cache.locked(digest.key):
        if not blob.exists():
            part = cache.partial(digest)
            shutil.copyfile(path, part)
            if file_digest(part, digest.algo) != digest.hex:  # changed while we copied
                part.unlink(missing_ok=True)
                raise ChecksumMismatch(f"{path} changed while it was copied into the cache")
            publish(part, blob)
    return blob
