"""Hostile input for `harness image` (and the data files it reads): the review's cases A.5, as a test each.

Every case runs the real command in a subprocess against a local mirror that breaks HTTP on purpose
(tests/support/httpd.py) and a data dir whose sites are that mirror: exit code, one ``harness: error:`` line, no
traceback, nothing changed outside the cache. Ids start with the review's case number (``a5-44``); ``new-`` cases
cover the same class beyond the review's instances.
"""

from __future__ import annotations

import hashlib
import lzma
import re
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.images.unpack import decompress_xz
from tests.support.cli import assert_no_traceback, assert_one_line_error, run_harness
from tests.support.hostile_env import data_dir, unchanged_outside
from tests.support.httpd import IMAGE_NAME, SHA256, SHA512, XZ, BadMirror, bad_mirror
from tests.support.inproc import run_in_process

MANIFEST = Path("images") / "freebsd-14.4.toml"
SITES = Path("images") / "sites.toml"


@pytest.fixture(scope="module")
def mirror() -> Iterator[BadMirror]:
    with bad_mirror() as server:
        yield server


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    code: int
    mentions: str | None = None
    #: (data dir, scratch dir) → edits the data files / makes input files for this case.
    prepare: Callable[[Path, Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


def fetch(behaviour: str, *extra: str) -> tuple[str, ...]:
    return ("image", "fetch", "--no-progress", "--mirror", f"{{mirror:{behaviour}}}", *extra)


def edit(relative: Path, old: str, new: str) -> Callable[[Path, Path], None]:
    def prepare(data: Path, scratch: Path) -> None:
        path = data / relative
        text = path.read_text()
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new, 1))

    return prepare


def write(relative: Path, content: bytes) -> Callable[[Path, Path], None]:
    def prepare(data: Path, scratch: Path) -> None:
        (data / relative).write_bytes(content)

    return prepare


def config(content: bytes) -> Callable[[Path, Path], None]:
    def prepare(data: Path, scratch: Path) -> None:
        (scratch / "config.toml").write_bytes(content)

    return prepare


def cache_is_a_file(data: Path, scratch: Path) -> None:
    (scratch / "cache").write_text("a file where the cache should be\n")


def fake_raw(data: Path, scratch: Path) -> None:
    (scratch / "fake.raw").write_bytes(b"\0" * 4096)


def traversal(data: Path, scratch: Path) -> None:
    edit(MANIFEST, 'file = "FreeBSD-14.4-RELEASE-amd64-BASIC-CI-ufs.raw.xz"', 'file = "../../../../escaped.raw.xz"')(
        data, scratch
    )
    (scratch / "escaped.raw.xz").write_bytes(XZ)
    (scratch / "CHECKSUM.SHA512").write_text(f"SHA512 (escaped.raw.xz) = {SHA512}\n")


def defaults_is_a_string(data: Path, scratch: Path) -> None:
    (data / SITES).write_text('defaults = "x"\n' + VALID_SITES)  # top-level keys come before the first table
    fake_raw(data, scratch)


def arch_table_is_an_int(data: Path, scratch: Path) -> None:
    text = (data / MANIFEST).read_text()
    (data / MANIFEST).write_text(text.split("[arch.amd64]")[0] + "[arch]\namd64 = 5\n")


def pin(digest: str) -> Callable[[Path, Path], None]:
    return edit(MANIFEST, 'firmware = "bios"\n', f'firmware = "bios"\npin = "{digest}"\n')


WRONG_SHA512 = "sha512:" + "0" * 128
VALID_SITES = (
    '[sites]\ndownload = "https://x/"\narchive = "https://y/"\n[arch_dirs]\namd64 = "amd64"\narm64 = "aarch64"\n'
)

CASES = [
    # --- HTTP that breaks the protocol (F7) ---------------------------------------------------------------------
    Case("a5-20-mirror-unclosed-ipv6", ("image", "fetch", "--no-progress", "--mirror", "http://[::1"), 2, "mirror"),
    Case("a5-26-mirror-with-newline", (*fetch("good")[:-1], "{mirror:good}x\n/"), 2, "mirror"),
    Case("a5-44-no-http-at-all", fetch("garbage-http"), 2, "HTTP"),
    Case("a5-45-no-http-for-the-image", fetch("garbage-http-image"), 2, "HTTP"),
    Case("new-empty-reply", fetch("empty-reply"), 2),
    Case("a5-46-content-length-abc", fetch("badlen"), 2, "Content-Length"),
    Case("new-content-length-negative", fetch("neglen"), 2, "Content-Length"),
    Case("new-content-length-huge", fetch("hugelen"), 2, "Content-Length"),
    Case("a5-36-truncated-body", fetch("short"), 2, "ended early"),
    Case("a5-47-chunked-broken", fetch("chunked-broken"), 2, "broke off"),
    Case("a5-48-redirect-to-file", fetch("redirect-file"), 2, "redirect"),
    Case("new-redirect-to-ftp", fetch("redirect-ftp"), 2, "redirect"),
    Case("a5-49-redirect-loop-one-line", fetch("redirect-loop"), 2, "redirect"),
    Case("a5-39-checksum-list-binary", fetch("checksum-binary"), 2, "checksum line"),
    Case("a5-37-all-404", fetch("notfound"), 2, "not found"),
    Case("a5-16-ftp-mirror", ("image", "fetch", "--mirror", "ftp://example.org/"), 2, "not a mirror URL"),
    Case("a5-34-good-control", fetch("good"), 0),
    # --- pinned checksums (S6) -------------------------------------------------------------------------------
    Case("s6-manifest-pin-mismatch", fetch("good"), 2, "pinned", prepare=pin(WRONG_SHA512)),
    Case("s6-manifest-pin-match", fetch("good"), 0, prepare=pin(f"sha512:{SHA512}")),
    Case("s6-cli-pin-mismatch", fetch("good", "--pin", WRONG_SHA512), 2, "pinned"),
    Case("s6-cli-pin-sha256-match", fetch("good", "--pin", f"sha256:{SHA256.upper()}"), 0),
    Case("s6-cli-pin-not-a-digest", fetch("good", "--pin", "sha512:xyz"), 2, "not a digest pin"),
    # --- unusable cache dir (F12) ----------------------------------------------------------------------------
    Case("a5-66-path-cache-is-a-file", ("image", "path"), 2, "cache directory", prepare=cache_is_a_file),
    Case("a5-65-list-cache-is-a-file", ("image", "list"), 2, "cache directory", prepare=cache_is_a_file),
    Case("a5-64-fetch-cache-is-a-file", fetch("good"), 2, "cache directory", prepare=cache_is_a_file),
    Case(
        "new-cache-under-a-file",
        ("image", "path"),
        2,
        "a file is in the way",
        prepare=cache_is_a_file,
        env={"HARNESS_CACHE_DIR": "{tmp}/cache/sub"},
    ),
    # --- malformed config, sites and manifests (F13) -------------------------------------------------------------
    Case(
        "a5-29-config-images-is-an-int", ("image", "fetch", "--offline"), 2, "images", prepare=config(b"images = 5\n")
    ),
    Case(
        "a5-31-config-not-utf8", ("image", "fetch", "--offline"), 2, "UTF-8", prepare=config(b'[images]\nm = "\xff"\n')
    ),
    Case(
        "a5-30-config-mirror-int",
        ("image", "fetch", "--offline"),
        2,
        "mirror",
        prepare=config(b"[images]\nmirror = 1\n"),
    ),
    Case("a5-74-sites-syntax", ("image", "list"), 2, "sites.toml", prepare=write(SITES, b"[sites\n")),
    Case(
        "a5-75-sites-not-utf8", ("image", "list"), 2, "UTF-8", prepare=write(SITES, b'[sites]\ndownload = "\xff\xfe"\n')
    ),
    Case("a5-76-sites-binary", ("image", "list"), 2, "sites.toml", prepare=write(SITES, bytes(range(256)) * 8)),
    Case(
        "a5-78-sites-root-int",
        ("image", "list"),
        2,
        "sites.download",
        prepare=write(SITES, VALID_SITES.replace('"https://x/"', "5").encode()),
    ),
    Case("a5-79-arch-dirs-lacks-amd64", ("image", "list"), 2, "amd64", prepare=edit(SITES, 'amd64 = "amd64"\n', "")),
    Case(
        "a5-96-defaults-is-a-string",
        ("image", "fetch", "--from", "{tmp}/fake.raw"),
        2,
        "defaults",
        prepare=defaults_is_a_string,
    ),
    Case("new-sites-too-big", ("image", "list"), 2, "larger than", prepare=write(SITES, b"#" * (5 << 20))),
    Case("a5-82-version-not-a-number", ("image", "list"), 2, "version", prepare=edit(MANIFEST, '"14.4"', '"14.x"')),
    Case(
        "a5-84-checksums-with-an-int",
        ("image", "list"),
        2,
        "checksums",
        prepare=edit(MANIFEST, '["CHECKSUM.SHA512", "CHECKSUM.SHA256"]', "[5]"),
    ),
    Case(
        "a5-85-checksums-empty",
        ("image", "list"),
        2,
        "must not be empty",
        prepare=edit(MANIFEST, '["CHECKSUM.SHA512", "CHECKSUM.SHA256"]', "[]"),
    ),
    Case("a5-86-sites-empty", ("image", "list"), 2, "sites", prepare=edit(MANIFEST, '["download", "archive"]', "[]")),
    Case(
        "a5-89-arch-table-is-an-int",
        ("image", "list"),
        2,
        "arch.amd64",
        prepare=arch_table_is_an_int,
    ),
    Case(
        "a5-92-serial-console-string",
        ("image", "list"),
        2,
        "serial_console",
        prepare=edit(MANIFEST, "serial_console = true", 'serial_console = "yes"'),
    ),
    Case("a5-83-version-int-control", ("image", "list"), 2, "version", prepare=edit(MANIFEST, '"14.4"', "14")),
    Case(
        "a5-95-s8-file-traversal",
        ("image", "fetch", "--offline", "--from", "{tmp}/escaped.raw.xz"),
        2,
        "plain file name",
        prepare=traversal,
    ),
    Case("a5-3-list-control", ("image", "list"), 0),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_image_input(case: Case, mirror: BadMirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = data_dir(tmp_path / "data", mirror.url("good"), mirror.url("notfound"))
    if case.prepare is not None:
        case.prepare(data, tmp_path)

    def fill(text: str) -> str:
        text = re.sub(r"\{mirror:([a-z0-9-]+)\}", lambda found: mirror.url(found[1]), text)
        return text.replace("{tmp}", str(tmp_path))

    env = {
        "HARNESS_DATA_DIR": str(data),
        "HARNESS_CACHE_DIR": str(tmp_path / "cache"),
        "HARNESS_CONFIG": str(tmp_path / "config.toml"),
        **{k: fill(v) for k, v in case.env.items()},
    }
    with unchanged_outside(tmp_path, tmp_path / "cache"):
        result = run_in_process([fill(a) for a in case.argv], cwd=tmp_path, env=env, monkeypatch=monkeypatch)
    if case.code == 0:
        assert_no_traceback(result, 0)
        return
    assert_one_line_error(result, case.code, mentions=case.mentions)
    assert not list(tmp_path.rglob("escaped.raw")), "a manifest's file name wrote outside the cache"


def test_a_plain_http_mirror_is_named_in_a_warning(mirror: BadMirror, tmp_path: Path) -> None:
    """In a real process (as every case above is in-process): the warning, then the image, exit 0."""
    env = {
        "HARNESS_DATA_DIR": str(data_dir(tmp_path / "data", mirror.url("good"), mirror.url("notfound"))),
        "HARNESS_CACHE_DIR": str(tmp_path / "cache"),
        "HARNESS_CONFIG": str(tmp_path / "none.toml"),
    }
    result = run_harness((*fetch("good")[:-1], mirror.url("good")), cwd=tmp_path, env=env)
    assert_no_traceback(result, 0)
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert any(mirror.url("good") in line and "plain http://" in line for line in warnings), result
    assert Path(result.stdout.strip()).read_bytes() == lzma.decompress(XZ)
    assert IMAGE_NAME.removesuffix(".xz") in result.stdout


def test_a_mirror_that_speaks_no_http_in_a_real_process(mirror: BadMirror, tmp_path: Path) -> None:
    env = {
        "HARNESS_DATA_DIR": str(data_dir(tmp_path / "data", mirror.url("good"), mirror.url("notfound"))),
        "HARNESS_CACHE_DIR": str(tmp_path / "cache"),
        "HARNESS_CONFIG": str(tmp_path / "none.toml"),
    }
    with unchanged_outside(tmp_path, tmp_path / "cache"):
        result = run_harness((*fetch("garbage-http")[:-1], mirror.url("garbage-http")), cwd=tmp_path, env=env)
    assert_one_line_error(result, 2, mentions="did not answer in HTTP")


def test_xz_decompression_memory_is_bounded_for_a_bomb(tmp_path: Path) -> None:
    """F10: 64 MiB of zeros in a ~10 KB .xz decompress with a peak far below the output size.

    The peak is the decompressor's dictionary (set by the stream; 256 KiB at preset 0, so the bomb is quick to make)
    plus one input and one output chunk of 1 MiB; before the fix one 1 MiB read held the whole 64 MiB."""
    size = 64 << 20
    bomb = tmp_path / "bomb.raw.xz"
    compressor = lzma.LZMACompressor(format=lzma.FORMAT_XZ, preset=0)
    with bomb.open("wb") as out:
        block = bytes(1 << 20)
        for _ in range(size >> 20):
            out.write(compressor.compress(block))
        out.write(compressor.flush())
    assert bomb.stat().st_size < size // 1000
    tracemalloc.start()
    try:
        written = decompress_xz(bomb, tmp_path / "bomb.raw")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == size == (tmp_path / "bomb.raw").stat().st_size
    assert peak < 8 << 20, f"peak {peak} bytes while decompressing {size} bytes"
    with (tmp_path / "bomb.raw").open("rb") as produced:
        assert hashlib.sha256(produced.read()).digest() == hashlib.sha256(bytes(size)).digest()


def test_an_https_to_http_redirect_is_named_in_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    """S6: urllib follows https → http silently; the harness's redirect handler names the downgrade."""
    import urllib.request

    from harness.images.http import _CheckedRedirects

    request = urllib.request.Request("https://mirror.example/CI-IMAGES/x.raw.xz")
    followed = _CheckedRedirects().redirect_request(request, None, 302, "Found", {}, "http://evil.example/x.raw.xz")
    assert followed is not None and followed.full_url == "http://evil.example/x.raw.xz"
    err = capsys.readouterr().err
    assert "warning" in err and "https://mirror.example/CI-IMAGES/x.raw.xz" in err and "http://evil.example" in err
