"""Image manifests (``images/*.toml``): which file of which FreeBSD release to boot on which arch, and from where.

The data lives in TOML next to the project (``harness.settings.data_dir("images")``); this module only reads it.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.images.checksums import Digest
from harness.images.fetch import Source
from harness.settings import data_dir
from harness.util import tomlfile

ARCHES = ("amd64", "arm64")
FORMATS = ("raw", "qcow2")
FIRMWARES = ("bios", "uefi")
VARIANTS = ("basic-ci", "vm", "basic-cloudinit")

_VERSION = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}")
_FILE_NAME = re.compile(r"[A-Za-z0-9._-]{1,200}")
_PIN_HEX = {"sha512": 128, "sha256": 64}


@dataclass(frozen=True)
class Sites:
    """Root URLs by site name, the per-arch directory names, and defaults."""

    roots: dict[str, str]
    arch_dirs: dict[str, str]
    disk_size: str


@dataclass(frozen=True)
class ImageManifest:
    """One FreeBSD image: release × arch, the file, where it is published, and how it boots."""

    version: str
    branch: str
    arch: str
    tree: str
    file: str
    format: str
    variant: str
    firmware: str
    serial_console: bool
    checksums: tuple[str, ...]
    sites: tuple[str, ...]
    expected_generation: str
    nuageinit: bool
    root_shell: str
    #: A known-good digest of ``file`` (from FreeBSD's signed release announcement): the mirror's checksum list
    #: must agree with it, so a mirror that serves a forged image *and* a forged list is caught.
    pin: Digest | None = None

    @property
    def release(self) -> str:
        return f"{self.version}-{self.branch}"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def image_name(self) -> str:
        """The file name after decompression."""
        return self.file.removesuffix(".xz")

    def directory(self, root: str, arch_dir: str) -> str:
        return f"{root.rstrip('/')}/{self.tree}/{self.release}/{arch_dir}/Latest/"

    def sources(self, sites: Sites, mirror: str | None = None, pin: Digest | None = None) -> list[Source]:
        """Every (file, checksum list) location to try, in order: sites as listed, SHA512 before SHA256.

        With a pin (``pin``, else the manifest's), only the checksum lists of the pin's algorithm are used, and
        each must agree with the pin.
        """
        pin = pin or self.pin
        checksums = [c for c in self.checksums if pin is None or c.upper().endswith(pin.algo.upper())]
        if pin is not None and not checksums:
            raise UsageError(
                f"the {pin.algo} pin matches none of the checksum lists {', '.join(self.checksums)}",
                hint="pin the digest of one of them (sha512: for CHECKSUM.SHA512)",
            )
        sources: list[Source] = []
        for site in self.sites:
            root = mirror if (mirror and site == "download") else sites.roots[site]
            directory = self.directory(root, sites.arch_dirs[self.arch])
            sources.extend(Source(directory + self.file, directory + checksum, pin) for checksum in checksums)
        return sources


HINT = "see the other manifests in images/"


def load_sites(directory: Path | None = None) -> Sites:
    path = (directory or data_dir("images")) / "sites.toml"
    data = tomlfile.load(path, hint=HINT)
    roots = data.string_map("sites")
    arch_dirs = data.string_map("arch_dirs")
    defaults = data.table("defaults", {})
    return Sites(roots, arch_dirs, defaults.string("disk_size", "16G"))


def _parse_manifest(path: Path, sites: Sites) -> list[ImageManifest]:
    data = tomlfile.load(path, hint=HINT)
    release = data.table("release")
    arches = data.table("arch")
    site_names = release.strings("sites", non_empty=True)
    unknown = [s for s in site_names if s not in sites.roots]
    if unknown:
        release.fail(f"unknown site(s) {', '.join(unknown)}; sites.toml defines {', '.join(sites.roots)}", "sites")
    version = release.string("version")
    if _VERSION.fullmatch(version) is None:
        release.fail(f"{version!r} is not a release number such as 14.4", "version")
    images = []
    for arch, table in arches.subtables().items():
        if arch not in ARCHES:
            arches.fail(f"unknown arch {arch!r}, expected one of {', '.join(ARCHES)}", arch)
        if arch not in sites.arch_dirs:
            arches.fail(f"sites.toml [arch_dirs] has no directory for {arch}", arch)
        images.append(
            ImageManifest(
                version=version,
                branch=release.string("branch"),
                arch=arch,
                tree=table.string("tree"),
                file=_plain_file_name(table, "file"),
                format=table.choice("format", FORMATS),
                variant=table.choice("variant", VARIANTS),
                firmware=table.choice("firmware", FIRMWARES),
                serial_console=table.boolean("serial_console"),
                checksums=tuple(
                    _plain_file_name(table, "checksums", name) for name in table.strings("checksums", non_empty=True)
                ),
                sites=site_names,
                expected_generation=release.string("expected_generation"),
                nuageinit=release.boolean("nuageinit"),
                root_shell=release.string("root_shell"),
                pin=_manifest_pin(table),
            )
        )
    return images


def _plain_file_name(table: tomlfile.Table, key: str, value: str | None = None) -> str:
    """A file name on the mirror and in the cache: never a path (``../..`` would write outside the cache)."""
    name = table.string(key) if value is None else value
    if not _FILE_NAME.fullmatch(name) or name in (".", ".."):
        table.fail(f"{name!r} is not a plain file name (letters, digits, '.', '_', '-')", key)
    return name


def _manifest_pin(table: tomlfile.Table) -> Digest | None:
    text = table.string("pin", None)
    if text is None:
        return None
    try:
        return parse_pin(text)
    except UsageError as exc:
        table.fail(exc.message, "pin")


def parse_pin(text: str) -> Digest:
    """``sha512:<128 hex>`` or ``sha256:<64 hex>`` (the digest of the ``.xz`` from the release announcement)."""
    algo, _, hexval = text.strip().partition(":")
    algo, hexval = algo.lower(), hexval.lower()
    if _PIN_HEX.get(algo) is None or not re.fullmatch(rf"[0-9a-f]{{{_PIN_HEX[algo]}}}", hexval):
        raise UsageError(
            f"not a digest pin: {text[:80]!r}",
            hint="write sha512:<128 hex digits> or sha256:<64 hex digits>, as in the signed release announcement",
        )
    return Digest(algo, hexval)


def load_manifests(directory: Path | None = None) -> list[ImageManifest]:
    """Every image in ``images/freebsd-*.toml``, sorted by version then arch."""
    directory = directory or data_dir("images")
    sites = load_sites(directory)
    images = [img for path in sorted(directory.glob("freebsd-*.toml")) for img in _parse_manifest(path, sites)]
    return sorted(images, key=lambda m: (_version_key(m.version), m.arch))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def select(release: str, arch: str, manifests: list[ImageManifest]) -> ImageManifest:
    """``--release 14`` → the newest 14.x with a manifest; ``--release 14.4`` → exactly that one."""
    if arch not in ARCHES:
        raise UsageError(f"unknown arch {arch!r}", hint=f"use one of {', '.join(ARCHES)}")
    wanted = release.removesuffix("-RELEASE")
    matches = [m for m in manifests if m.arch == arch and (m.version == wanted or m.version.split(".")[0] == wanted)]
    if not matches:
        known = sorted({m.version for m in manifests}, key=_version_key)
        raise UsageError(
            f"no image manifest for FreeBSD {release} on {arch}",
            hint=f"known releases: {', '.join(known)}; add images/freebsd-<version>.toml for another",
        )
    return max(matches, key=lambda m: _version_key(m.version))


def config_path() -> Path:
    """The user's config file (``HARNESS_CONFIG``, default ``$XDG_CONFIG_HOME/freebsd-kstack-harness/config.toml``)."""
    override = os.environ.get("HARNESS_CONFIG")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "freebsd-kstack-harness" / "config.toml"


def configured_mirror(cli_value: str | None = None) -> str | None:
    """The mirror to use: ``--mirror``, else ``HARNESS_FREEBSD_MIRROR``, else ``[images] mirror`` in the config."""
    if cli_value:
        return _check_mirror(cli_value)
    env = os.environ.get("HARNESS_FREEBSD_MIRROR")
    if env:
        return _check_mirror(env)
    path = config_path()
    if path.is_file():
        value = load_config(path).table("images", {}).string("mirror", None)
        if value is not None:
            return _check_mirror(value)
    return None


def load_config(path: Path | None = None) -> tomlfile.Table:
    """The user's config file (an empty table when there is none)."""
    path = path or config_path()
    if not path.is_file():
        return tomlfile.Table({}, str(path))
    return tomlfile.load(path, hint="fix or remove the config file (HARNESS_CONFIG)")


def _check_mirror(url: str) -> str:
    hint = "give the root that holds VM-IMAGES/ and CI-IMAGES/"
    if not url.startswith(("http://", "https://", "file://")) or any(c.isspace() or ord(c) < 32 for c in url):
        raise UsageError(f"not a mirror URL: {url[:200]!r}", hint=hint)
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UsageError(f"not a mirror URL: {url[:200]!r}: {exc}", hint=hint) from None
    if parts.scheme != "file" and not parts.hostname:
        raise UsageError(f"not a mirror URL: {url[:200]!r}: no host", hint=hint)
    return url if url.endswith("/") else url + "/"


__all__ = ["ImageManifest", "Sites", "configured_mirror", "load_manifests", "load_sites", "parse_pin", "select"]
