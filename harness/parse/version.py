"""FreeBSD's version string: the kernel banner line, ``kern.version`` and the tail of ``uname -a``.

sys/conf/newvers.sh builds ``version[]`` as ``FreeBSD <release> #<n> <vcs>: <date>\\n    <user>@<host>:<objdir>``
where ``<vcs>`` is ``r354233`` (svn), ``releng/13.0-n244733-ea31abc261f`` / ``main-n262122-2ef2c26f3f13`` (git,
``-dirty`` when modified), or absent. Release builds made with ``-R`` print the short form
``FreeBSD 12.2-RELEASE r366954 GENERIC`` (no ``#n``, no date), with the ident at the end instead of the objdir.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.parse.text import to_int

#: newvers.sh ``${REVISION}-${BRANCH}``: BRANCH carries the number of pre-releases (``15.1-RC1``, ``14.4-BETA2``,
#: ``15.0-ALPHA3``) and the patch level of releases (``13.2-RELEASE-p4``) (review L3).
_RELEASE = r"(?P<release>\d+\.\d+-[A-Z]+\d*(?:-p\d+)?)"
_VCS = r"(?P<vcs>r\d+|[\w./-]+-n\d+-[0-9a-f]+(?:-dirty)?)"
#: Long form: ``FreeBSD 13.0-RELEASE #0 releng/13.0-n244733-ea31abc261f: Fri Apr  9 04:24:09 UTC 2021``.
_LONG = re.compile(rf"^FreeBSD {_RELEASE} #(?P<build>\d+)(?: {_VCS})?: (?P<date>[^\n]*?\d{{4}})(?P<rest>.*)$")
#: Short form: ``FreeBSD 12.2-RELEASE r366954 GENERIC`` / ``FreeBSD 13.2-RELEASE releng/13.2-n254617-525e GENERIC``.
_SHORT = re.compile(rf"^FreeBSD {_RELEASE}(?: {_VCS})?(?: (?P<ident>[A-Za-z0-9_.-]+))?(?:\s+(?P<arch>\w+))?\s*$")
#: The builder line of the long form: ``root@host:/usr/obj/usr/src/amd64.amd64/sys/GENERIC amd64``.
_BUILDER = re.compile(r"^\s*(?P<builder>\S+@\S+?):(?P<objdir>\S*/(?P<ident>[A-Za-z0-9_.-]+))(?:\s+(?P<arch>\w+))?\s*$")
#: ``releng/13.0`` / ``stable/14`` / ``main`` in a git vcs string.
_BRANCH = re.compile(r"^(?P<branch>[\w./-]+?)-n(?P<count>\d+)-(?P<hash>[0-9a-f]+)")

#: Machine names FreeBSD reports (``uname -m``) and the processor names (``uname -p``).
ARCHES = frozenset({"amd64", "arm64", "i386", "riscv", "powerpc", "arm", "aarch64", "riscv64", "powerpc64"})


@dataclass(frozen=True)
class KernelVersion:
    """What a version string says about the kernel. Fields the form lacks are ``None``."""

    release: str
    branch: str | None = None
    revision: str | None = None
    build: int | None = None
    date: str | None = None
    builder: str | None = None
    ident: str | None = None
    arch: str | None = None

    @property
    def major(self) -> int:
        return to_int(self.release.split(".", 1)[0])


def _vcs_fields(vcs: str | None) -> tuple[str | None, str | None]:
    """(branch, revision) from ``r354233`` or ``releng/13.0-n244733-ea31abc261f``."""
    if not vcs:
        return None, None
    if vcs.startswith("r") and vcs[1:].isdigit():
        return None, vcs
    match = _BRANCH.match(vcs)
    if match:
        return match.group("branch"), vcs
    return None, vcs


def parse_version_line(line: str, builder_line: str | None = None) -> KernelVersion | None:
    """Decode a version line (plus the builder line that follows the long form), or ``None`` if it is not one."""
    line = line.strip()
    long = _LONG.match(line)
    if long:
        branch, revision = _vcs_fields(long.group("vcs"))
        ident = arch = builder = None
        tail = long.group("rest").strip() or (builder_line or "")
        built = _BUILDER.match(tail) if tail else None
        if built:
            builder, ident, arch = built.group("builder"), built.group("ident"), built.group("arch")
        return KernelVersion(
            release=long.group("release"),
            branch=branch,
            revision=revision,
            build=to_int(long.group("build")),
            date=" ".join(long.group("date").split()),
            builder=builder,
            ident=ident,
            arch=arch,
        )
    short = _SHORT.match(line)
    if short:
        branch, revision = _vcs_fields(short.group("vcs"))
        ident, arch = short.group("ident"), short.group("arch")
        if arch is None and ident in ARCHES:
            ident, arch = None, ident
        return KernelVersion(release=short.group("release"), branch=branch, revision=revision, ident=ident, arch=arch)
    return None


def is_builder_line(line: str) -> bool:
    """True for the ``user@host:/objdir/IDENT arch`` continuation of a long version string."""
    return _BUILDER.match(line) is not None
