"""A local mirror on 127.0.0.1 that can break HTTP in every way a captive portal, proxy or broken mirror does.

Raw sockets, so the replies can be anything (no status line, a bad ``Content-Length``, a chunked body that breaks
off). The first path segment picks the behaviour for the image; checksum lists are served correctly unless the
behaviour is about them. Used by the hostile-input suite (tests/hostile/test_hostile_image.py).
"""

from __future__ import annotations

import hashlib
import lzma
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

IMAGE_NAME = "FreeBSD-14.4-RELEASE-amd64-BASIC-CI-ufs.raw.xz"
#: A small disk image that does not compress (64 KiB of hash output), so a body cut short really is short.
RAW = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(2048))
XZ = lzma.compress(RAW, format=lzma.FORMAT_XZ, preset=0)
SHA512 = hashlib.sha512(XZ).hexdigest()
SHA256 = hashlib.sha256(XZ).hexdigest()

Reply = Callable[[str], bytes]


def _http(status: str, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", "Connection: close", *headers]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _checksums(path: str) -> bytes | None:
    """The release's checksum lists, as FreeBSD writes them (BSD format, over the .xz)."""
    if path.endswith("CHECKSUM.SHA512"):
        return _http("200 OK", f"SHA512 ({IMAGE_NAME}) = {SHA512}\n".encode())
    if path.endswith("CHECKSUM.SHA256"):
        return _http("200 OK", f"SHA256 ({IMAGE_NAME}) = {SHA256}\n".encode())
    return None


def _image(reply: Callable[[str], bytes]) -> Reply:
    """Checksum lists served right, the image by ``reply``."""

    def handle(path: str) -> bytes:
        return _checksums(path) or reply(path)

    return handle


def _everything(reply: Callable[[str], bytes]) -> Reply:
    return reply


def _chunked_broken(path: str) -> bytes:
    # One good chunk, then a chunk that promises 4096 bytes and delivers 10 before the connection closes.
    return _http("200 OK", b"10\r\n" + XZ[:16] + b"\r\n1000\r\n" + XZ[16:26], "Transfer-Encoding: chunked")


BEHAVIOURS: dict[str, Reply] = {
    "good": _image(lambda path: _http("200 OK", XZ)),
    "notfound": _everything(lambda path: _http("404 Not Found", b"no\n")),
    "garbage-http": _everything(lambda path: b"HELLO NOT HTTP\r\n\r\n"),
    "garbage-http-image": _image(lambda path: b"HELLO NOT HTTP\r\n\r\n"),
    "empty-reply": _image(lambda path: b""),
    "badlen": _image(lambda path: _http("200 OK", XZ, "Content-Length: abc")),
    "neglen": _image(lambda path: _http("200 OK", XZ, "Content-Length: -5")),
    "hugelen": _image(lambda path: _http("200 OK", XZ, "Content-Length: " + "9" * 40)),
    "short": _image(lambda path: _http("200 OK", XZ[:1000], f"Content-Length: {len(XZ)}")),
    "chunked-broken": _image(_chunked_broken),
    "redirect-file": _image(lambda path: _http("302 Found", b"", "Location: file:///etc/passwd", "Content-Length: 0")),
    "redirect-ftp": _image(lambda path: _http("302 Found", b"", "Location: ftp://127.0.0.1/x", "Content-Length: 0")),
    "redirect-loop": _image(lambda path: _http("302 Found", b"", f"Location: {path}", "Content-Length: 0")),
    "checksum-binary": _everything(lambda path: _http("200 OK", bytes(range(256)) * 4)),
}


@dataclass
class BadMirror:
    """The running server: ``url(behaviour)`` is a ``--mirror`` root; ``requests`` lists the paths asked for."""

    port: int
    requests: list[str] = field(default_factory=list)

    def url(self, behaviour: str) -> str:
        assert behaviour in BEHAVIOURS, behaviour
        return f"http://127.0.0.1:{self.port}/{behaviour}/"


def _read_request(conn: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return parts[1] if len(parts) >= 2 else "/"


def _serve(listener: socket.socket, mirror: BadMirror, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                path = _read_request(conn)
                mirror.requests.append(path)
                behaviour = path.strip("/").split("/", 1)[0]
                conn.sendall(BEHAVIOURS.get(behaviour, BEHAVIOURS["notfound"])(path))
            except OSError:
                pass


@contextmanager
def bad_mirror() -> Iterator[BadMirror]:
    """Serve on an ephemeral port of 127.0.0.1 until the block ends (the thread is joined, the socket closed)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    mirror = BadMirror(listener.getsockname()[1])
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(listener, mirror, stop), daemon=True)
    thread.start()
    try:
        yield mirror
    finally:
        stop.set()
        thread.join(5)
        listener.close()
