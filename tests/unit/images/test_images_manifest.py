"""The manifests in images/ follow freebsd-facts §A, and release/arch/mirror selection behaves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import ConfigError, ParseError, UsageError
from harness.images import configured_mirror, load_manifests, select
from harness.images.checksums import format_bsd_line, parse_bsd_checksums
from harness.images.manifest import load_sites

# §A.2: ${OSRELEASE}-${FS}.${FMT}.xz with OSRELEASE = FreeBSD-<rev>-RELEASE-<TARGET>[-<TARGET_ARCH>]
_NAME = re.compile(
    r"^FreeBSD-(?P<ver>\d+\.\d+)-RELEASE-(?:amd64|arm64-aarch64)(?:-BASIC-CI)?(?:-(?:ufs|zfs))?\.(?:raw|qcow2)\.xz$"
)


def test_every_release_and_arch_has_a_manifest() -> None:
    manifests = load_manifests()
    majors = {(m.major, m.arch) for m in manifests}
    assert majors == {(major, arch) for major in (12, 13, 14, 15) for arch in ("amd64", "arm64")}
    assert select("12", "amd64", manifests).version == "12.4"


@pytest.mark.parametrize("manifest", load_manifests(), ids=lambda m: f"{m.version}-{m.arch}")
def test_manifest_follows_the_published_layout(manifest) -> None:  # type: ignore[no-untyped-def]
    match = _NAME.match(manifest.file)
    assert match, manifest.file
    assert match["ver"] == manifest.version
    assert ("arm64-aarch64" in manifest.file) == (manifest.arch == "arm64")
    if manifest.arch == "arm64":
        assert manifest.firmware == "uefi", "arm64 images have only an ESP"
        assert manifest.tree == "VM-IMAGES" and manifest.format == "qcow2"
    if manifest.variant == "basic-ci":
        assert manifest.tree == "CI-IMAGES" and manifest.format == "raw" and manifest.serial_console
    if manifest.major < 14:
        assert "-ufs" not in manifest.file and "-zfs" not in manifest.file, "no FS suffix before 14.0"
        assert manifest.root_shell == "/bin/csh"
    if manifest.major >= 15:
        assert "-ufs" in manifest.file
    if manifest.variant == "vm" and manifest.arch == "amd64":
        # Plain amd64 images send the kernel console to VGA under BIOS: they boot through UEFI (BIOS is refused, L4).
        assert manifest.firmware == "uefi" or not manifest.serial_console
    assert manifest.checksums[0] == "CHECKSUM.SHA512"


def test_urls_follow_the_mirror_layout_and_arm64_directory_is_aarch64() -> None:
    manifest = select("14", "arm64", load_manifests())
    first = manifest.sources(load_sites())[0]
    assert first.url == (
        "https://download.freebsd.org/releases/VM-IMAGES/14.4-RELEASE/aarch64/Latest/"
        "FreeBSD-14.4-RELEASE-arm64-aarch64-ufs.qcow2.xz"
    )
    assert first.checksum_url.endswith("/14.4-RELEASE/aarch64/Latest/CHECKSUM.SHA512")


def test_end_of_life_release_tries_the_archive_first() -> None:
    manifest = select("12.4", "amd64", load_manifests())
    urls = [s.url for s in manifest.sources(load_sites())]
    assert urls[0].startswith("https://archive.freebsd.org/old-releases/VM-IMAGES/12.4-RELEASE/amd64/Latest/")
    assert any(u.startswith("https://download.freebsd.org/") for u in urls)


def test_mirror_replaces_download_freebsd_org_only() -> None:
    manifest = select("13", "amd64", load_manifests())
    urls = [s.url for s in manifest.sources(load_sites(), "http://mirror.local/freebsd/")]
    assert urls[0].startswith("http://mirror.local/freebsd/CI-IMAGES/13.5-RELEASE/amd64/Latest/")
    assert not any("download.freebsd.org" in u for u in urls)
    assert any(u.startswith("https://archive.freebsd.org/") for u in urls)


def test_mirror_from_flag_env_and_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[images]\nmirror = "http://cfg.example/pub"\n')
    monkeypatch.setenv("HARNESS_CONFIG", str(config))
    monkeypatch.delenv("HARNESS_FREEBSD_MIRROR", raising=False)
    assert configured_mirror() == "http://cfg.example/pub/"
    monkeypatch.setenv("HARNESS_FREEBSD_MIRROR", "http://env.example/")
    assert configured_mirror() == "http://env.example/"
    assert configured_mirror("https://flag.example") == "https://flag.example/"
    with pytest.raises(UsageError):
        configured_mirror("ftp.example.org")


def test_unknown_release_or_arch_is_a_usage_error() -> None:
    manifests = load_manifests()
    with pytest.raises(UsageError, match="FreeBSD 11 on amd64") as info:
        select("11", "amd64", manifests)
    assert "known releases: 12.4, 13.5, 14.4, 15.1" in info.value.one_line()
    with pytest.raises(UsageError, match="unknown arch"):
        select("14", "riscv64", manifests)


def test_malformed_manifest_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "sites.toml").write_text('[sites]\ndownload = "https://x/"\n[arch_dirs]\namd64 = "amd64"\n')
    (tmp_path / "freebsd-14.4.toml").write_text(
        '[release]\nversion = "14.4"\nbranch = "RELEASE"\nsites = ["download"]\nexpected_generation = "G1"\n'
        'nuageinit = true\nroot_shell = "/bin/sh"\n[arch.amd64]\ntree = "CI-IMAGES"\nfile = "x.raw.xz"\n'
        'format = "vmdk"\nvariant = "basic-ci"\nfirmware = "bios"\nserial_console = true\nchecksums = []\n'
    )
    with pytest.raises(ConfigError, match=r"arch\.amd64\.format: is 'vmdk'"):
        load_manifests(tmp_path)


def test_bsd_checksum_lines_parse_and_gnu_lines_do_not() -> None:
    text = (
        "SHA512 (FreeBSD-14.4-RELEASE-amd64-BASIC-CI-ufs.raw.xz) = " + "A" * 128 + "\n\n"
        "SHA256 (FreeBSD-14.4-RELEASE-amd64-BASIC-CI.raw.xz) = " + "0f" * 32 + "\n"
    )
    parsed = parse_bsd_checksums(text)
    assert parsed["FreeBSD-14.4-RELEASE-amd64-BASIC-CI-ufs.raw.xz"].hex == "a" * 128
    assert parsed["FreeBSD-14.4-RELEASE-amd64-BASIC-CI.raw.xz"].algo == "sha256"
    with pytest.raises(ParseError, match="line 1"):
        parse_bsd_checksums("0f" * 32 + "  FreeBSD-14.4-RELEASE-amd64.raw.xz\n")
    with pytest.raises(ParseError, match="63 hex digits"):
        parse_bsd_checksums("SHA256 (x) = " + "0" * 63)


@given(
    name=st.from_regex(r"[A-Za-z0-9._-]{1,60}", fullmatch=True),
    algo=st.sampled_from(["sha256", "sha512"]),
    data=st.binary(max_size=64),
)
def test_checksum_format_round_trips(name: str, algo: str, data: bytes) -> None:
    import hashlib

    hexval = hashlib.new(algo, data).hexdigest()
    parsed = parse_bsd_checksums(format_bsd_line(algo, name, hexval))
    assert parsed[name].algo == algo and parsed[name].hex == hexval
