"""Verified downloads against a real HTTP server on 127.0.0.1 (stdlib http.server with Range support).

The server serves generated files and BSD-format checksum files, and can be told to cut transfers short, to
serve other bytes than the checksum says, or to go slowly, so resume, mismatch, truncation and concurrent
fetches are exercised over real sockets. The invariant under every test: nothing corrupt enters the cache.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ChecksumMismatch, DownloadError
from harness.images import ImageCache, fetch_verified
from harness.images.checksums import file_digest, format_bsd_line
from harness.images.http import NetworkUnreachable

_RANGE = re.compile(r"bytes=(\d+)-$")


@dataclass
class Behaviour:
    """What the server does to the next requests of the payload file."""

    cut_after: list[int] = field(default_factory=list)  # per request: drop the connection after N body bytes
    corrupt: bool = False  # serve bytes that do not match the checksum
    delay: float = 0.0  # seconds to sleep per 64 KiB chunk
    honour_range: bool = True
    stall_after: list[int] = field(default_factory=list)  # per request: stop sending (but keep the socket) after N


@dataclass
class Served:
    files: dict[str, bytes]
    behaviour: Behaviour
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: Served) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            name = self.path.rsplit("/", 1)[-1]
            with state.lock:
                state.requests.append((name, self.headers.get("Range")))
                cut = state.behaviour.cut_after.pop(0) if name.endswith(".xz") and state.behaviour.cut_after else None
                stall = (
                    state.behaviour.stall_after.pop(0) if name.endswith(".xz") and state.behaviour.stall_after else None
                )
            body = state.files.get(name)
            if body is None:
                self.send_error(404)
                return
            if name.endswith(".xz") and state.behaviour.corrupt:
                body = body[:-1] + bytes([body[-1] ^ 0xFF])
            start = 0
            match = _RANGE.match(self.headers.get("Range", ""))
            if match and state.behaviour.honour_range:
                start = int(match.group(1))
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.send_header("Connection", "close")
            self.end_headers()
            self._send_body(body[start:], cut, stall)

        def _send_body(self, data: bytes, cut: int | None, stall: int | None = None) -> None:
            if stall is not None:
                self.wfile.write(data[:stall])
                self.wfile.flush()
                time.sleep(2.0)  # longer than the client's timeout: it must give up and resume
                self.close_connection = True
                return
            limit = len(data) if cut is None else min(cut, len(data))
            for pos in range(0, limit, 1 << 16):
                self.wfile.write(data[pos : min(pos + (1 << 16), limit)])
                self.wfile.flush()
                if state.behaviour.delay:
                    time.sleep(state.behaviour.delay)
            if cut is not None:
                self.close_connection = True

    return Handler


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ImageCache:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    return ImageCache(tmp_path / "cache" / "images")


def _payload(size: int, seed: int = 7) -> bytes:
    # Deterministic, incompressible-looking bytes: a hash chain.
    out = bytearray()
    block = seed.to_bytes(8, "little")
    while len(out) < size:
        block = hashlib.sha512(block).digest()
        out += block
    return bytes(out[:size])


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    payload = _payload(3 * (1 << 20) + 12345)
    name = "FreeBSD-14.4-RELEASE-amd64-BASIC-CI-ufs.raw.xz"
    checksum = "\n".join(
        [
            format_bsd_line("sha512", "FreeBSD-14.4-RELEASE-amd64-BASIC-CI-ufs.vmdk.xz", "ab" * 64),
            format_bsd_line("sha512", name, hashlib.sha512(payload).hexdigest()),
        ]
    )
    state = Served({name: payload, "CHECKSUM.SHA512": checksum.encode() + b"\n"}, Behaviour())
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/releases/CI-IMAGES/14.4-RELEASE/amd64/Latest/"
    try:
        yield base, state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


NAME = "FreeBSD-14.4-RELEASE-amd64-BASIC-CI-ufs.raw.xz"


def _urls(base: str) -> tuple[str, str]:
    return base + NAME, base + "CHECKSUM.SHA512"


def _blobs(cache: ImageCache) -> list[Path]:
    blobs = cache.root / "blobs"
    return sorted(blobs.iterdir()) if blobs.exists() else []


def _payload_requests(state: Served) -> list[str | None]:
    return [rng for name, rng in state.requests if name == NAME]


def test_download_publishes_a_verified_content_addressed_blob(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    path = fetch_verified(*_urls(base), progress=False, cache=cache)
    expected = hashlib.sha512(state.files[NAME]).hexdigest()
    assert path.name == f"sha512-{expected}"
    assert path.read_bytes() == state.files[NAME]
    assert _blobs(cache) == [path]
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # published read-only


def test_second_fetch_uses_the_cache_without_downloading(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    first = fetch_verified(*_urls(base), progress=False, cache=cache)
    second = fetch_verified(*_urls(base), progress=False, cache=cache)
    assert first == second
    assert len(_payload_requests(state)) == 1


def test_broken_transfer_resumes_with_a_range_request(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    state.behaviour.cut_after = [1 << 20, 1 << 20]
    path = fetch_verified(*_urls(base), progress=False, cache=cache)
    assert path.read_bytes() == state.files[NAME]
    ranges = _payload_requests(state)
    assert ranges[0] is None
    assert ranges[1] == f"bytes={1 << 20}-"
    assert ranges[2] == f"bytes={2 << 20}-"


def test_a_partial_file_left_by_an_earlier_run_is_resumed(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    state.behaviour.cut_after = [500_000, 0, 0, 0]  # every attempt of this run breaks: the run fails
    with pytest.raises(DownloadError, match="ended early at 500000"):
        fetch_verified(*_urls(base), progress=False, cache=cache)
    assert _blobs(cache) == []
    parts = list((cache.root / "partial").iterdir())
    assert len(parts) == 1 and parts[0].stat().st_size == 500_000
    state.requests.clear()
    path = fetch_verified(*_urls(base), progress=False, cache=cache)  # the next run picks up where it stopped
    assert path.read_bytes() == state.files[NAME]
    assert _payload_requests(state) == ["bytes=500000-"]


def test_server_that_ignores_range_restarts_from_zero(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    state.behaviour.cut_after = [1 << 20]
    state.behaviour.honour_range = False
    path = fetch_verified(*_urls(base), progress=False, cache=cache)
    assert path.read_bytes() == state.files[NAME]


def test_checksum_mismatch_is_an_error_and_nothing_is_cached(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    state.behaviour.corrupt = True
    with pytest.raises(ChecksumMismatch, match="nothing was cached"):
        fetch_verified(*_urls(base), progress=False, cache=cache)
    assert _blobs(cache) == []
    assert list((cache.root / "partial").iterdir()) == []


def test_corrupt_resumed_download_is_refetched_from_scratch(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    digest = hashlib.sha512(state.files[NAME]).hexdigest()
    part = cache.root / "partial" / f"sha512-{digest}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\x00" * 4096)  # garbage from some earlier crash
    path = fetch_verified(*_urls(base), progress=False, cache=cache)
    assert file_digest(path, "sha512") == digest
    assert _payload_requests(state) == ["bytes=4096-", None]


def test_truncated_file_that_the_server_calls_complete_never_enters_the_cache(
    server: tuple[str, Served], cache: ImageCache
) -> None:
    base, state = server
    state.files[NAME] = state.files[NAME][:-1000]  # the mirror holds a truncated copy; headers agree with it
    with pytest.raises(ChecksumMismatch):
        fetch_verified(*_urls(base), progress=False, cache=cache)
    assert _blobs(cache) == []


def test_checksum_list_without_the_file_is_refused(server: tuple[str, Served], cache: ImageCache) -> None:
    base, _ = server
    with pytest.raises(DownloadError, match=r"no checksum for other\.raw\.xz"):
        fetch_verified(base + "other.raw.xz", base + "CHECKSUM.SHA512", progress=False, cache=cache)


def test_missing_file_is_not_found(server: tuple[str, Served], cache: ImageCache) -> None:
    base, _ = server
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_verified(base + NAME, base + "CHECKSUM.SHA256", progress=False, cache=cache)


def test_unreachable_network_says_how_to_use_an_image_file(cache: ImageCache) -> None:
    with pytest.raises(NetworkUnreachable) as info:
        fetch_verified("http://127.0.0.1:9/x.raw.xz", "http://127.0.0.1:9/CHECKSUM.SHA512", progress=False, cache=cache)
    assert "--image FILE" in info.value.one_line()


def test_offline_uses_the_cache_and_fails_clearly_without_it(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    with pytest.raises(DownloadError, match="--offline"):
        fetch_verified(*_urls(base), offline=True, progress=False, cache=cache)
    online = fetch_verified(*_urls(base), progress=False, cache=cache)
    state.requests.clear()
    assert fetch_verified(*_urls(base), offline=True, progress=False, cache=cache) == online
    assert state.requests == []


def test_unreachable_after_an_earlier_fetch_falls_back_to_the_verified_blob(
    server: tuple[str, Served], cache: ImageCache
) -> None:
    base, _ = server
    path = fetch_verified(*_urls(base), progress=False, cache=cache)
    # Same URLs, but the server is gone: the cached checksum list still maps the name to the blob.
    dead = cache.checksum_copy(_urls(base)[1])
    assert dead.exists()
    port = base.split(":")[2].split("/")[0]
    dead_base = base.replace(port, "9")
    dead_copy = cache.checksum_copy(dead_base + "CHECKSUM.SHA512")
    dead_copy.write_text(dead.read_text())
    assert fetch_verified(dead_base + NAME, dead_base + "CHECKSUM.SHA512", progress=False, cache=cache) == path


def test_concurrent_fetches_in_threads_download_once(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    state.behaviour.delay = 0.002
    results: list[Path] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(fetch_verified(*_urls(base), progress=False, cache=cache))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert len(_payload_requests(state)) == 1
    assert results[0].read_bytes() == state.files[NAME]


def test_concurrent_fetches_in_processes_download_once(
    server: tuple[str, Served], cache: ImageCache, tmp_path: Path
) -> None:
    base, state = server
    state.behaviour.delay = 0.002
    code = (
        "import sys; from harness.images import fetch_verified; "
        "print(fetch_verified(sys.argv[1], sys.argv[2], progress=False))"
    )
    env = {**os.environ, "HARNESS_CACHE_DIR": str(cache.root.parent)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, *_urls(base)], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=120)[0].strip() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0]
    assert len(set(outputs)) == 1
    assert Path(outputs[0]).read_bytes() == state.files[NAME]
    assert len(_payload_requests(state)) == 1


def test_fetch_first_skips_missing_and_unreachable_locations(server: tuple[str, Served], cache: ImageCache) -> None:
    from harness.images import FetchOptions, Source, fetch_first

    base, state = server
    sources = [
        Source("http://127.0.0.1:9/gone/" + NAME, "http://127.0.0.1:9/gone/CHECKSUM.SHA512"),  # unreachable
        Source(base + NAME, base + "CHECKSUM.SHA256"),  # 404: this site publishes only SHA512
        Source(base + NAME, base + "CHECKSUM.SHA512"),
    ]
    path = fetch_first(sources, options=FetchOptions(progress=False), cache=cache)
    assert path.read_bytes() == state.files[NAME]
    # Offline afterwards: the first two were never fetched, the third is found in the cache.
    assert fetch_first(sources, options=FetchOptions(offline=True, progress=False), cache=cache) == path


def test_fetch_first_reports_unreachable_with_the_image_file_hint(cache: ImageCache) -> None:
    from harness.images import FetchOptions, Source, fetch_first

    sources = [Source(f"http://127.0.0.1:9/{i}/x.raw.xz", f"http://127.0.0.1:9/{i}/CHECKSUM.SHA512") for i in (1, 2)]
    with pytest.raises(NetworkUnreachable) as info:
        fetch_first(sources, options=FetchOptions(progress=False), cache=cache)
    assert "--image FILE" in (info.value.hint or "")


def test_cli_fetch_through_a_mirror_then_path_and_list(
    server: tuple[str, Served], cache: ImageCache, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import lzma

    from harness.cli.main import main

    base, state = server
    disk = b"FreeBSD disk" + bytes(1 << 20) + b"tail"
    state.files[NAME] = lzma.compress(disk)
    state.files["CHECKSUM.SHA512"] = (
        format_bsd_line("sha512", NAME, hashlib.sha512(state.files[NAME]).hexdigest()) + "\n"
    ).encode()
    monkeypatch.delenv("HARNESS_FREEBSD_MIRROR", raising=False)
    monkeypatch.setenv("HARNESS_CONFIG", str(cache.root / "no-config.toml"))
    mirror = base.split("CI-IMAGES/")[0]
    assert main(["image", "path", "--release", "14"]) == 2
    assert "harness image fetch --release 14.4 --arch amd64" in capsys.readouterr().err
    assert main(["image", "fetch", "--release", "14", "--mirror", mirror, "--no-progress", "--json"]) == 0
    fetched = json.loads(capsys.readouterr().out)
    image = Path(fetched["path"])
    assert image.name == NAME.removesuffix(".xz") and image.read_bytes() == disk and fetched["format"] == "raw"
    assert main(["image", "path", "--release", "14.4"]) == 0
    assert capsys.readouterr().out.strip() == str(image)
    assert main(["image", "list", "--json"]) == 0
    rows = {(r["release"], r["arch"]): r for r in json.loads(capsys.readouterr().out)}
    assert rows[("14.4-RELEASE", "amd64")]["cached"] == str(image)
    assert rows[("13.5-RELEASE", "amd64")]["cached"] is None


def test_cli_fetch_from_a_local_file_checks_it(
    server: tuple[str, Served],
    cache: ImageCache,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lzma

    from harness.cli.main import main

    base, state = server
    state.files[NAME] = lzma.compress(b"good image")
    state.files["CHECKSUM.SHA512"] = (
        format_bsd_line("sha512", NAME, hashlib.sha512(state.files[NAME]).hexdigest()) + "\n"
    ).encode()
    monkeypatch.setenv("HARNESS_CONFIG", str(tmp_path / "none.toml"))
    mirror = base.split("CI-IMAGES/")[0]
    bad = tmp_path / NAME
    bad.write_bytes(lzma.compress(b"other image"))
    assert main(["image", "fetch", "--release", "14", "--mirror", mirror, "--from", str(bad)]) == 2
    assert "does not match the published" in capsys.readouterr().err
    assert _blobs(cache) == []
    bad.write_bytes(state.files[NAME])
    assert main(["image", "fetch", "--release", "14", "--mirror", mirror, "--from", str(bad)]) == 0
    assert Path(capsys.readouterr().out.strip()).read_bytes() == b"good image"
    assert _payload_requests(state) == [], "the image itself was never downloaded"


def test_stalled_transfer_times_out_and_resumes(server: tuple[str, Served], cache: ImageCache) -> None:
    base, state = server
    state.behaviour.stall_after = [700_000]
    path = fetch_verified(*_urls(base), progress=False, timeout=0.5, cache=cache)
    assert path.read_bytes() == state.files[NAME]
    assert _payload_requests(state) == [None, "bytes=700000-"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=0, max_value=3 * (1 << 20)), max_size=3))
def test_any_sequence_of_broken_transfers_ends_in_the_exact_file(
    server: tuple[str, Served], tmp_path_factory: pytest.TempPathFactory, cuts: list[int]
) -> None:
    base, state = server
    state.behaviour.cut_after = list(cuts)
    cache = ImageCache(tmp_path_factory.mktemp("cache"))
    path = fetch_verified(*_urls(base), progress=False, cache=cache)
    assert path.read_bytes() == state.files[NAME]
    assert [p.name for p in _blobs(cache)] == [path.name]


def test_concurrent_unpacking_makes_one_image(tmp_path: Path) -> None:
    import lzma

    from harness.images.checksums import Digest
    from harness.images.unpack import unpacked

    raw = _payload(1 << 20) + bytes(4 << 20)
    data = lzma.compress(raw, preset=0)
    cache = ImageCache(tmp_path / "images")
    digest = Digest("sha256", hashlib.sha256(data).hexdigest())
    cache.blob(digest).write_bytes(data)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(unpacked(cache.blob(digest), digest, "x.raw.xz", cache)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and results[0].read_bytes() == raw
    assert sorted(p.name for p in cache.unpacked_dir(digest).iterdir()) == ["x.raw"]


def test_offline_image_file_is_checked_against_the_checksum_file_beside_it(
    cache: ImageCache, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import lzma

    from harness.cli.main import main

    monkeypatch.setenv("HARNESS_CONFIG", str(tmp_path / "none.toml"))
    folder = tmp_path / "downloads"
    folder.mkdir()
    image = folder / NAME
    image.write_bytes(lzma.compress(b"good image"))
    fetch = ["image", "fetch", "--release", "14", "--offline", "--from", str(image)]
    assert main(fetch) == 2
    err = capsys.readouterr().err
    assert "cannot check" in err and f"{folder / 'CHECKSUM.SHA512'}" in err
    assert "--image" not in err and "--checksum-file" not in err  # options that would not help (or do not exist)
    beside = folder / "CHECKSUM.SHA512"
    beside.write_text(format_bsd_line("sha512", NAME, hashlib.sha512(b"another file").hexdigest()) + "\n")
    assert main(fetch) == 2
    assert "does not match the published" in capsys.readouterr().err
    assert _blobs(cache) == []
    beside.write_text(format_bsd_line("sha512", NAME, hashlib.sha512(image.read_bytes()).hexdigest()) + "\n")
    assert main(fetch) == 0
    assert Path(capsys.readouterr().out.strip()).read_bytes() == b"good image"
