"""A release's ``src.txz``: downloaded and verified through ``harness.images``, unpacked, imported into git.

FreeBSD publishes no BSD-format checksum list for the distribution sets; their ``MANIFEST`` carries the sha256.
The MANIFEST entry is turned into a one-line ``SHA256 (src.txz) = …`` list so the images package's verified,
resumable, content-addressed download (``fetch_verified``) does the download — there is no second downloader.
The unpacked tree becomes a git repository with a fixed identity and date, so its revision is reproducible and
the same worktree/patch machinery applies as for a user's checkout.
"""

from __future__ import annotations

import lzma
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BuildError, DownloadError, UsageError
from harness.images.cache import write_atomic
from harness.images.checksums import Digest, format_bsd_line
from harness.kernelbuild import git
from harness.kernelbuild.metadata import build_lock
from harness.kernelbuild.source import FreeBSDVersion, SourceTree, read_version
from harness.settings import cache_dir
from harness.steps import step
from harness.util import tomlfile

DATA = Path(__file__).parent / "data" / "release-source.toml"
_RELEASE = re.compile(r"^(?P<revision>\d+\.\d+)-(?P<branch>RELEASE)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_STAMP = ".harness-imported"


@dataclass(frozen=True)
class ReleaseLayout:
    directory: str
    file: str
    manifest: str
    strip_prefix: str


def load_layout(path: Path = DATA) -> ReleaseLayout:
    data = tomlfile.load(path, hint="reinstall the harness")
    return ReleaseLayout(
        data.string("directory"), data.string("file"), data.string("manifest"), data.string("strip_prefix")
    )


def parse_release(release: str) -> FreeBSDVersion:
    match = _RELEASE.match(release)
    if match is None:
        raise UsageError(f"not a release name: {release!r} (expected e.g. 14.1-RELEASE)")
    return FreeBSDVersion("FreeBSD", match["revision"], match["branch"])


def manifest_digest(text: str, name: str, *, source: str) -> Digest:
    """The sha256 of ``name`` in a distribution MANIFEST (tab-separated: file, sha256, count, set, ...)."""
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0] == name:
            digest = fields[1].strip().lower()
            if not _SHA256.match(digest):
                raise DownloadError(f"{source}: the {name} entry has no sha256: {line!r}")
            return Digest("sha256", digest)
    raise DownloadError(f"{source} has no entry for {name}", hint="the release may not publish a source set")


#: What to do when the release's sources cannot be downloaded.
SOURCE_OFFLINE_HINT = (
    "build from a FreeBSD git checkout with --src DIR, or set HARNESS_FREEBSD_MIRROR (or [images] mirror in the "
    "config file) to a reachable mirror"
)


def site_roots(mirror: str | None = None) -> list[str]:
    from harness.images.manifest import configured_mirror, load_sites

    roots = dict(load_sites().roots)
    chosen = configured_mirror(mirror)
    if chosen:
        roots["download"] = chosen
    return [roots[k] for k in ("download", "archive") if k in roots]


def fetch_src_txz(release: str, *, mirror: str | None = None, offline: bool = False) -> tuple[Path, Digest, str]:
    """The verified ``src.txz`` of ``release`` in the cache: (path, digest, URL)."""
    from harness.images import fetch_verified
    from harness.images.http import NetworkUnreachable, NotFound, fetch_text

    layout = load_layout()
    checksums = cache_dir("sources", "checksums")
    errors: list[str] = []
    for root in site_roots(mirror):
        directory = layout.directory.format(root=root.rstrip("/") + "/", release=release)
        url, manifest_url = directory + layout.file, directory + layout.manifest
        try:
            digest = manifest_digest(fetch_text(manifest_url), layout.file, source=manifest_url)
            listing = checksums / f"{release}-{layout.file}.SHA256"
            write_atomic(listing, format_bsd_line(digest.algo, layout.file, digest.hex) + "\n")
            return fetch_verified(url, listing.as_uri(), offline=offline), digest, url
        except NotFound as exc:
            errors.append(exc.message)
        except NetworkUnreachable as exc:  # the images hint (--image FILE) means nothing to `harness build`
            raise NetworkUnreachable(exc.message, hint=SOURCE_OFFLINE_HINT) from None
    raise DownloadError(f"no {layout.file} for {release}: " + "; ".join(errors), hint="check the release name")


def planned_urls(release: str, mirror: str | None = None) -> list[str]:
    """The MANIFEST and src.txz of the first site (what a dry run says it would fetch)."""
    layout = load_layout()
    root = site_roots(mirror)[0]
    directory = layout.directory.format(root=root.rstrip("/") + "/", release=release)
    return [directory + layout.manifest, directory + layout.file]


def _members(archive: tarfile.TarFile, prefix: str) -> Iterator[tarfile.TarInfo]:
    for member in archive:
        if member.name.startswith(prefix) and len(member.name) > len(prefix):
            member.name = member.name[len(prefix) :]
            if member.islnk() and member.linkname.startswith(prefix):
                member.linkname = member.linkname[len(prefix) :]
            yield member


def _extract(archive: Path, dest: Path, strip_prefix: str) -> None:
    """Extract with tarfile's ``data`` filter (no traversal, absolute or outside links); a refusal is one line."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(dest, members=_members(tar, strip_prefix), filter="data")
    except tarfile.FilterError as exc:
        raise BuildError(
            f"{archive.name}: refused an unsafe member: {' '.join(str(exc).split())[:200]}",
            hint="the archive is not a FreeBSD release's src.txz; delete it from the cache and fetch it again",
        ) from None
    except (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise BuildError(
            f"{archive.name} is not a readable archive: {' '.join(str(exc).split())[:200]}",
            hint="delete it from the cache and fetch it again",
        ) from None


def import_tree(archive: Path, digest: Digest, release: str, origin: str) -> SourceTree:
    """Unpack ``src.txz`` once into the cache and commit it to a fresh git repository (reproducible revision)."""
    layout = load_layout()
    root = cache_dir("sources", f"{release}-{digest.hex[:16]}")
    tree = root / "src"
    stamp = root / _STAMP
    with build_lock(root):  # builds that need the same release at once import it once; the others wait
        if not stamp.is_file():
            with step("import-source", release=release):
                if tree.exists():
                    shutil.rmtree(tree)
                # Extract and commit beside the final place, then rename: a refused or broken archive (or Ctrl-C)
                # never leaves a half-extracted tree where the next run would take it for the source.
                scratch = Path(tempfile.mkdtemp(prefix=".src-", dir=root))
                try:
                    _extract(archive, scratch, layout.strip_prefix)
                    git.run_git(scratch, "init", "-q")
                    git.run_git(scratch, "add", "-A", ".")
                    message = f"FreeBSD {release} {layout.file} ({digest.algo} {digest.hex})"
                    git.run_git(scratch, *git.HARNESS_IDENTITY, "commit", "-q", "-m", message)
                    scratch.rename(tree)
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
                write_atomic(stamp, git.head_revision(tree) + "\n")
    revision = git.head_revision(tree)
    version = read_version(tree, revision) or parse_release(release)
    return SourceTree(tree, revision, "release", version, origin=f"{origin} sha256:{digest.hex}")


def release_source(release: str, *, dry_run: bool = False, mirror: str | None = None) -> SourceTree:
    version = parse_release(release)
    if dry_run:
        # Nothing is downloaded: the tree is described by name; its revision is known once imported.
        return SourceTree(cache_dir("sources") / f"{release}-DRYRUN" / "src", "0" * 40, "release", version)
    archive, digest, url = fetch_src_txz(release, mirror=mirror)
    return import_tree(archive, digest, release, url)
