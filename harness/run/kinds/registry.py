"""The guest kinds the harness knows, by name: tuxrun's ``Device.select``, made explicit and typed.

The pipeline and the CLI look a kind up here and never compare a guest's name themselves. Adding a kind: write
its module next to this one and add it to ``_BUILTIN``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from harness.errors import ConfigError, UsageError
from harness.run.kinds.base import GuestKind
from harness.run.kinds.freebsd import FreeBSD
from harness.run.kinds.linuxtest import LinuxTest

#: ``harness run`` without ``--guest``.
DEFAULT = FreeBSD.name
_BUILTIN: tuple[GuestKind, ...] = (FreeBSD(), LinuxTest())
_KINDS: dict[str, GuestKind] = {kind.name: kind for kind in _BUILTIN}


def names() -> tuple[str, ...]:
    """Every registered kind's name, in registration order (``--guest`` choices)."""
    return tuple(_KINDS)


def select(name: str) -> GuestKind:
    """The kind named ``name`` (a ``--guest`` value): an unknown name is a usage error naming the known ones."""
    try:
        return _KINDS[name]
    except KeyError:
        raise UsageError(f"unknown guest {name!r}", hint=f"known guests: {', '.join(_KINDS)}") from None


def of_run(guest: str, where: str) -> GuestKind:
    """The kind a stored run's metadata names; an unknown one means the run dir is not ours to judge."""
    if guest not in _KINDS:
        raise ConfigError(f"{where}: metadata names an unknown guest {guest!r}")
    return _KINDS[guest]


@contextlib.contextmanager
def registered(kind: GuestKind) -> Iterator[GuestKind]:
    """Register ``kind`` for the block (a kind from outside the package, e.g. a test's)."""
    if kind.name in _KINDS:
        raise ValueError(f"a guest kind named {kind.name!r} is registered already")
    _KINDS[kind.name] = kind
    try:
        yield kind
    finally:
        del _KINDS[kind.name]
