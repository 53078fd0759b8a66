"""A release's src.txz: MANIFEST digest, verified download through harness.images (file:// mirror), git import."""

from __future__ import annotations

import hashlib
import io
import shutil
import socket
import tarfile
import threading
from pathlib import Path

import pytest

from harness.errors import ChecksumMismatch, DownloadError, UsageError
from harness.kernelbuild.release_source import fetch_src_txz, manifest_digest, parse_release, release_source

NEWVERS = 'TYPE="FreeBSD"\nREVISION="14.1"\nBRANCH="RELEASE-p3"\n'


def make_src_txz(path: Path, files: dict[str, str]) -> str:
    with tarfile.open(path, "w:xz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"usr/src/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        outside = tarfile.TarInfo("usr/other")  # not under usr/src/: must not be imported
        tar.addfile(outside, io.BytesIO(b""))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    directory = tmp_path / "mirror" / "amd64" / "14.1-RELEASE"
    directory.mkdir(parents=True)
    digest = make_src_txz(
        directory / "src.txz", {"sys/conf/newvers.sh": NEWVERS, "sys/vm/stack.c": "stack\n", "Makefile": "all:\n"}
    )
    (directory / "MANIFEST").write_text(
        f'base.txz\t{"0" * 64}\t100\tbase\t"Base system"\ton\nsrc.txz\t{digest}\t3\tsrc\t"System source tree"\toff\n'
    )
    monkeypatch.setenv("HARNESS_FREEBSD_MIRROR", (tmp_path / "mirror").as_uri())
    return directory, digest


def test_manifest_digest() -> None:
    text = f'kernel.txz\t{"a" * 64}\t1\tkernel\t"Kernel"\ton\nsrc.txz\t{"B" * 64}\t9\tsrc\t"Source"\toff\n'
    assert manifest_digest(text, "src.txz", source="M").hex == "b" * 64
    with pytest.raises(DownloadError, match=r"no entry for tests\.txz"):
        manifest_digest(text, "tests.txz", source="M")
    with pytest.raises(DownloadError, match="no sha256"):
        manifest_digest("src.txz\tnothex\n", "src.txz", source="M")


def test_release_names() -> None:
    assert parse_release("14.1-RELEASE").revision == "14.1"
    with pytest.raises(UsageError, match="not a release name"):
        parse_release("14.1")


def test_verified_download_and_reproducible_git_import(mirror: tuple[Path, str]) -> None:
    _, digest = mirror
    path, got, url = fetch_src_txz("14.1-RELEASE")
    assert got.hex == digest and url.endswith("/amd64/14.1-RELEASE/src.txz")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    source = release_source("14.1-RELEASE")
    assert source.kind == "release"
    assert source.version is not None and source.version.release == "14.1-RELEASE-p3"
    assert (source.path / "sys/vm/stack.c").read_text() == "stack\n"
    assert not (source.path / "other").exists() and not (source.path.parent / "other").exists()
    assert digest in source.origin
    again = release_source("14.1-RELEASE")
    assert again.revision == source.revision  # the import is cached
    # A fresh import gives the same commit: fixed identity and date.
    shutil.rmtree(source.path.parent)
    assert release_source("14.1-RELEASE").revision == source.revision


def test_tampered_src_txz_is_refused(mirror: tuple[Path, str]) -> None:
    directory, _ = mirror
    with (directory / "src.txz").open("ab") as out:
        out.write(b"tampered")
    with pytest.raises(ChecksumMismatch):
        fetch_src_txz("14.1-RELEASE")


def test_two_builds_importing_one_release_at_once_share_one_tree(mirror: tuple[Path, str]) -> None:
    fetch_src_txz("14.1-RELEASE")  # downloaded once; the race under test is the unpack and git import
    start = threading.Barrier(3)
    results: list[str] = []
    errors: list[BaseException] = []

    def one_build() -> None:
        start.wait()
        try:
            results.append(release_source("14.1-RELEASE").revision)
        except BaseException as exc:  # reported below: the race must not fail either build
            errors.append(exc)

    workers = [threading.Thread(target=one_build) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(results) == 3 and len(set(results)) == 1


def test_unreachable_mirror_says_how_to_build_without_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    with socket.socket() as probe:  # a port on this machine that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HARNESS_FREEBSD_MIRROR", f"http://127.0.0.1:{port}/")
    with pytest.raises(DownloadError) as caught:
        fetch_src_txz("14.1-RELEASE")
    line = caught.value.one_line()
    assert "cannot reach" in line and "--src DIR" in line and "--image" not in line


@pytest.mark.parametrize(
    "hostile",
    [
        tarfile.TarInfo("usr/src/../../escaped.txt"),  # traversal
        tarfile.TarInfo("usr/src/abs-link"),  # a symlink to an absolute path
    ],
    ids=["traversal", "absolute-symlink"],
)
def test_an_unsafe_src_txz_is_one_line_and_leaves_no_tree(tmp_path: Path, hostile: tarfile.TarInfo) -> None:
    """S11: tarfile's ``data`` filter refuses the member; that is a BuildError naming the archive, and the tree
    extracted so far (into a scratch dir beside the final place) is gone, not left for the next run to use."""
    from harness.errors import BuildError
    from harness.images.checksums import Digest
    from harness.kernelbuild.release_source import import_tree

    archive = tmp_path / "src.txz"
    with tarfile.open(archive, "w:xz") as tar:
        good = tarfile.TarInfo("usr/src/sys/conf/newvers.sh")
        good.size = len(NEWVERS)
        tar.addfile(good, io.BytesIO(NEWVERS.encode()))
        if hostile.name.endswith("abs-link"):
            hostile.type, hostile.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(hostile, io.BytesIO(b""))
    digest = Digest("sha256", hashlib.sha256(archive.read_bytes()).hexdigest())
    cache = tmp_path / "cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HARNESS_CACHE_DIR", str(cache))
        with pytest.raises(BuildError, match=r"src\.txz: refused an unsafe member") as caught:
            import_tree(archive, digest, "14.1-RELEASE", "test")
    assert "\n" not in caught.value.one_line()
    root = cache / "sources" / f"14.1-RELEASE-{digest.hex[:16]}"
    assert not (root / "src").exists() and not list(root.glob(".src-*")), list(root.iterdir())
    assert not (tmp_path / "escaped.txt").exists()
