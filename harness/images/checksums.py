"""BSD-format checksum files as FreeBSD publishes them (``CHECKSUM.SHA256`` / ``CHECKSUM.SHA512``).

FreeBSD's ``sha256``/``sha512`` tools write ``SHA256 (name) = hex``; the hash covers the compressed ``.xz`` file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import DownloadError, ParseError

_LINE = re.compile(r"^SHA(?P<bits>256|512) \((?P<name>[^)]+)\) = (?P<hex>[0-9a-fA-F]+)$")
_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Digest:
    """One published digest: the algorithm (``sha256``/``sha512``) and its lowercase hex value."""

    algo: str
    hex: str

    @property
    def key(self) -> str:
        """The content address used by the cache: ``sha512-<hex>``."""
        return f"{self.algo}-{self.hex}"


def parse_bsd_checksums(text: str) -> dict[str, Digest]:
    """Every ``SHAnnn (name) = hex`` line of a checksum file, by file name. Blank lines are skipped."""
    digests: dict[str, Digest] = {}
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _LINE.match(line)
        if match is None:
            raise ParseError("not a BSD-format checksum line (SHAnnn (name) = hex)", line_no=line_no, line=raw)
        algo = f"sha{match['bits']}"
        hexval = match["hex"].lower()
        if len(hexval) != _HEX_LENGTH[algo]:
            raise ParseError(f"{algo} digest has {len(hexval)} hex digits", line_no=line_no, line=raw)
        digests[match["name"]] = Digest(algo, hexval)
    return digests


def digest_for(text: str, name: str, *, source: str) -> Digest:
    """The digest of ``name`` in a checksum file; a missing entry is a download error naming the file."""
    digests = parse_bsd_checksums(text)
    try:
        return digests[name]
    except KeyError:
        raise DownloadError(
            f"{source} has no checksum for {name}",
            hint="the release may publish the file under another name; check the manifest in images/",
        ) from None


def file_digest(path: Path, algo: str) -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    hasher = hashlib.new(algo)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def format_bsd_line(algo: str, name: str, hexval: str) -> str:
    """One line as FreeBSD's sha256(1)/sha512(1) writes it."""
    return f"{algo.upper()} ({name}) = {hexval}"
