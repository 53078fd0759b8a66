"""HTTP(S) downloads with resume (``Range``), a progress bar, and errors that say what to do instead.

Only the standard library speaks HTTP here; ``rich`` draws the progress bar when asked to.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.client import HTTPResponse
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from harness import __version__
from harness.errors import DownloadError
from harness.steps import warn

_CHUNK = 1 << 18
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
OFFLINE_HINT = (
    "no network: download the file elsewhere and pass it with --image FILE (or `harness image fetch --from FILE`), "
    "point --mirror at a reachable mirror, or use --offline with a filled cache"
)

#: Called with (bytes so far, total bytes or None) as data arrives.
ProgressCallback = Callable[[int, int | None], None]


class NetworkUnreachable(DownloadError):
    """The host could not be reached at all (DNS, refused, no route, timeout)."""


class NotFound(DownloadError):
    """The server answered 404/410: the file is not (or no longer) there."""


@dataclass(frozen=True)
class Fetched:
    """What one transfer did: bytes now on disk, whether it resumed, and the size the server announced."""

    size: int
    resumed_from: int
    total: int | None


#: Everything a server that does not speak HTTP (or breaks off mid-reply) makes http.client/urllib raise.
_PROTOCOL_ERRORS = (http.client.HTTPException, ValueError)

#: Schemes a download may be redirected to; anything else (file:, ftp:, data:) is refused.
_REDIRECT_SCHEMES = ("http", "https")

#: Content-Length beyond this is nonsense for any FreeBSD file (1 TiB): the mirror is broken.
_MAX_LENGTH = 1 << 40


def _one_line(value: object) -> str:
    """urllib's reasons may span lines (the redirect-loop message does); an error message is one line."""
    return " ".join(str(value).split())


def warn_plain_http(url: str, what: str) -> None:
    """Images are checked against a checksum list from the same place; over http:// both can be forged."""
    if url.lower().startswith("http://"):
        warn(
            "download",
            f"{what} {url} is plain http://: the image and its checksum list can be altered in transit "
            "(use https://, or pin the digest with --pin or `pin` in the image manifest)",
        )


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only, and name a downgrade from https to http in a warning."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> urllib.request.Request | None:
        try:
            scheme = urllib.parse.urlsplit(newurl).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme not in _REDIRECT_SCHEMES:
            raise DownloadError(
                f"{_one_line(req.full_url)}: the server redirected to {_one_line(newurl)[:200]!r}, which is not "
                "http(s); refused",
                hint="the mirror is misconfigured; use another --mirror",
            )
        if req.full_url.lower().startswith("https://") and scheme == "http":
            warn_plain_http(newurl, f"https {req.full_url} redirected to")
        return super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]


_OPENER = urllib.request.build_opener(_CheckedRedirects)


def _request(url: str, offset: int) -> urllib.request.Request:
    headers = {"User-Agent": f"freebsd-kstack-harness/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.Request(url, headers=headers)


def _open(url: str, offset: int, timeout: float) -> HTTPResponse:
    try:
        response: HTTPResponse = _OPENER.open(_request(url, offset), timeout=timeout)
        return response
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            raise NotFound(f"{url}: HTTP {exc.code}", hint="the release may have moved; check the manifest") from None
        if exc.code == 416 and offset:
            raise
        raise DownloadError(
            f"{url}: HTTP {exc.code} {_one_line(exc.reason)}", hint="retry later or use --mirror URL"
        ) from None
    except urllib.error.URLError as exc:
        raise NetworkUnreachable(f"cannot reach {url}: {_one_line(exc.reason)}", hint=OFFLINE_HINT) from None
    except (TimeoutError, ConnectionError) as exc:
        raise NetworkUnreachable(f"cannot reach {url}: {_one_line(exc)}", hint=OFFLINE_HINT) from None
    except _PROTOCOL_ERRORS as exc:
        raise DownloadError(
            f"download failed: {_one_line(url)[:300]} did not answer in HTTP: {type(exc).__name__}: "
            f"{_one_line(exc)[:200]}",
            hint="a proxy or captive portal may be in the way; check the URL or use another --mirror",
        ) from None


def fetch_text(url: str, *, timeout: float = 30.0, limit: int = 1 << 20) -> str:
    """A small text file (a checksum list) in one request."""
    with contextlib.closing(_open(url, 0, timeout)) as response:
        try:
            data = response.read(limit + 1)
        except (TimeoutError, OSError) as exc:
            raise NetworkUnreachable(f"reading {url} failed: {_one_line(exc)}", hint=OFFLINE_HINT) from None
        except _PROTOCOL_ERRORS as exc:
            raise DownloadError(
                f"download failed: reading {url} broke the HTTP protocol: {type(exc).__name__}: {_one_line(exc)[:200]}",
                hint="retry later or use another --mirror",
            ) from None
    if len(data) > limit:
        raise DownloadError(f"{url} is larger than {limit} bytes; not a checksum file")
    return data.decode("utf-8", errors="replace")


def _resume_offset(response: HTTPResponse, asked: int) -> int:
    """Where the body of this response starts in the file (0 when the server ignored the Range)."""
    if response.status != 206:
        return 0
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is None or int(match.group(1)) != asked:
        raise DownloadError(f"server answered a range request with {response.headers.get('Content-Range')!r}")
    return asked


def _total(response: HTTPResponse, start: int) -> int | None:
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match and match.group(3) != "*":
        return int(match.group(3))
    length = response.headers.get("Content-Length")
    if length is None:
        return None
    if not length.strip().isdigit() or int(length) > _MAX_LENGTH:
        raise DownloadError(
            f"download failed: the server sent a malformed Content-Length {length[:40]!r}",
            hint="the mirror or a proxy is broken; use another --mirror",
        )
    return start + int(length)


def download_to(url: str, part: Path, *, timeout: float = 60.0, on_progress: ProgressCallback | None = None) -> Fetched:
    """Download ``url`` into ``part``, continuing from its current size when the server supports ranges.

    A short read (the connection dropped) leaves the bytes received in ``part`` so the next call resumes; it raises
    ``DownloadError``. A complete transfer returns normally. Nothing here decides whether the content is right:
    the caller verifies the checksum.
    """
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as exc:  # 416: nothing left to send, the part file is already whole
        if exc.code == 416 and offset:
            return Fetched(offset, offset, offset)
        raise DownloadError(f"{url}: HTTP {exc.code}") from None
    with contextlib.closing(response):
        start = _resume_offset(response, offset)
        total = _total(response, start)
        done = start
        with part.open("r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            if on_progress:
                on_progress(done, total)
            # read1: whatever has arrived, so a stall loses no received bytes (read(n) would drop a partial chunk).
            read = getattr(response, "read1", response.read)
            try:
                while chunk := read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if on_progress:
                        on_progress(done, total)
            except (TimeoutError, OSError, *_PROTOCOL_ERRORS) as exc:
                raise DownloadError(
                    f"transfer of {url} broke off at {done} bytes: {_one_line(exc)[:200]}",
                    hint="run the command again to resume",
                ) from None
    if total is not None and done < total:
        raise DownloadError(
            f"transfer of {url} ended early at {done} of {total} bytes", hint="run the command again to resume"
        )
    return Fetched(done, start, total)


@contextlib.contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr for one file, or nothing when ``enabled`` is false."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update
