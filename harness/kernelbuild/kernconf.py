"""The kernel configuration file: ``include "GENERIC"`` plus the debug options a run needs, and an ident that
fingerprints the source revision, the patches and the options (so ``uname -i`` proves which kernel booted)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from harness.errors import UsageError
from harness.util import tomlfile

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class KernconfSettings:
    ident_prefix: str
    fingerprint_chars: int
    options: tuple[str, ...]
    kstack_pages_range: tuple[int, int]
    kstack_pages_why: str = ""


def load_settings(path: Path = DATA / "kernconf.toml") -> KernconfSettings:
    data = tomlfile.load(path, hint="reinstall the harness")
    with data.guard():
        low, high = data.array("kstack_pages_range")
        return KernconfSettings(
            ident_prefix=data.string("ident_prefix"),
            fingerprint_chars=data.integer("fingerprint_chars", low=1, high=64),
            options=data.strings("options"),
            kstack_pages_range=(int(low), int(high)),
            kstack_pages_why=data.string("kstack_pages_why", ""),
        )


@dataclass(frozen=True)
class Kernconf:
    ident: str
    text: str
    fingerprint: str

    @property
    def name(self) -> str:
        """The file name under ``sys/<arch>/conf/`` and the ``KERNCONF=`` value: the same as the ident."""
        return self.ident


@dataclass(frozen=True)
class KernconfRequest:
    source_revision: str
    patch_hashes: tuple[tuple[str, str], ...]  # (recipe name, sha256 of its change)
    kstack_pages: int | None = None
    extra_options: tuple[str, ...] = field(default_factory=tuple)
    #: Debug options left out (a patch's recipe asks, e.g. an assertion the patch gets wrong), with the reason.
    without_options: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def fingerprint(request: KernconfRequest, options: tuple[str, ...]) -> str:
    blob = json.dumps(
        {
            "source": request.source_revision,
            "patches": [list(p) for p in request.patch_hashes],
            "options": list(options),
            "kstack_pages": request.kstack_pages,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def check_kstack_pages(pages: int | None, settings: KernconfSettings | None = None) -> None:
    """``--kstack-pages`` within FreeBSD's real range, or a one-line usage error saying the range and why."""
    if pages is None:
        return
    settings = settings or load_settings()
    low, high = settings.kstack_pages_range
    if not low <= pages <= high:
        why = f" ({settings.kstack_pages_why})" if settings.kstack_pages_why else ""
        raise UsageError(f"--kstack-pages {pages}: FreeBSD's KSTACK_PAGES must be in [{low}, {high}]{why}")


def render(request: KernconfRequest, settings: KernconfSettings | None = None) -> Kernconf:
    settings = settings or load_settings()
    check_kstack_pages(request.kstack_pages, settings)
    dropped = {option for option, _ in request.without_options}
    options = settings.options + tuple(o for o in request.extra_options if o not in settings.options)
    options = tuple(o for o in options if o not in dropped)
    digest = fingerprint(request, options)
    ident = f"{settings.ident_prefix}_{digest[: settings.fingerprint_chars].upper()}"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(DATA), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    text = env.get_template("kernconf.j2").render(
        ident=ident,
        source=request.source_revision,
        patches=[f"{name} {sha[:16]}" for name, sha in request.patch_hashes],
        options=options,
        kstack_pages=request.kstack_pages,
        without=list(request.without_options),
    )
    return Kernconf(ident=ident, text=text, fingerprint=digest)


def ident_fingerprint(ident: str, settings: KernconfSettings | None = None) -> str | None:
    """The fingerprint part of a harness ident seen in ``uname -i`` (None for a kernel the harness did not build)."""
    settings = settings or load_settings()
    prefix = settings.ident_prefix + "_"
    if not ident.startswith(prefix):
        return None
    tail = ident[len(prefix) :]
    if len(tail) != settings.fingerprint_chars or any(c not in "0123456789ABCDEF" for c in tail):
        return None
    return tail.lower()
