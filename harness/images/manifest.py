"""Image manifests (``images/*.toml``): which file of which FreeBSD release to boot on which arch, and from where.

The data lives in TOML next to the project (``harness.settings.data_dir("images")``); this module only reads it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, UsageError
from harness.images.fetch import Source
from harness.settings import data_dir

ARCHES = ("amd64", "arm64")
FORMATS = ("raw", "qcow2")
FIRMWARES = ("bios", "uefi")
VARIANTS = ("basic-ci", "vm", "basic-cloudinit")


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

    def sources(self, sites: Sites, mirror: str | None = None) -> list[Source]:
        """Every (file, checksum list) location to try, in order: sites as listed, SHA512 before SHA256."""
        sources: list[Source] = []
        for site in self.sites:
            root = mirror if (mirror and site == "download") else sites.roots[site]
            directory = self.directory(root, sites.arch_dirs[self.arch])
            sources.extend(Source(directory + self.file, directory + checksum) for checksum in self.checksums)
        return sources


def _require(table: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    value = table.get(key)
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: `{key}` must be a {kind.__name__}", hint="see the other manifests in images/")
    return value


def _choice(table: dict[str, Any], key: str, allowed: tuple[str, ...], where: Path) -> str:
    value: str = _require(table, key, str, where)
    if value not in allowed:
        raise ConfigError(f"{where}: `{key}` is {value!r}, expected one of {', '.join(allowed)}")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_sites(directory: Path | None = None) -> Sites:
    path = (directory or data_dir("images")) / "sites.toml"
    data = _read_toml(path)
    roots = _require(data, "sites", dict, path)
    arch_dirs = _require(data, "arch_dirs", dict, path)
    defaults = data.get("defaults", {})
    return Sites(dict(roots), dict(arch_dirs), str(defaults.get("disk_size", "16G")))


def _parse_manifest(path: Path, sites: Sites) -> list[ImageManifest]:
    data = _read_toml(path)
    release = _require(data, "release", dict, path)
    arches = _require(data, "arch", dict, path)
    site_names = tuple(_require(release, "sites", list, path))
    unknown = [s for s in site_names if s not in sites.roots]
    if unknown:
        raise ConfigError(f"{path}: unknown site(s) {', '.join(unknown)}; sites.toml defines {', '.join(sites.roots)}")
    images = []
    for arch, table in arches.items():
        if arch not in ARCHES:
            raise ConfigError(f"{path}: unknown arch {arch!r}, expected one of {', '.join(ARCHES)}")
        images.append(
            ImageManifest(
                version=_require(release, "version", str, path),
                branch=_require(release, "branch", str, path),
                arch=arch,
                tree=_require(table, "tree", str, path),
                file=_require(table, "file", str, path),
                format=_choice(table, "format", FORMATS, path),
                variant=_choice(table, "variant", VARIANTS, path),
                firmware=_choice(table, "firmware", FIRMWARES, path),
                serial_console=_require(table, "serial_console", bool, path),
                checksums=tuple(_require(table, "checksums", list, path)),
                sites=site_names,
                expected_generation=_require(release, "expected_generation", str, path),
                nuageinit=_require(release, "nuageinit", bool, path),
                root_shell=_require(release, "root_shell", str, path),
            )
        )
    return images


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
        value = _read_toml(path).get("images", {}).get("mirror")
        if value is not None:
            if not isinstance(value, str):
                raise ConfigError(f"{path}: [images] mirror must be a string URL")
            return _check_mirror(value)
    return None


def _check_mirror(url: str) -> str:
    if not url.startswith(("http://", "https://", "file://")):
        raise UsageError(f"not a mirror URL: {url!r}", hint="give the root that holds VM-IMAGES/ and CI-IMAGES/")
    return url if url.endswith("/") else url + "/"


__all__ = ["ImageManifest", "Sites", "configured_mirror", "load_manifests", "load_sites", "select"]
