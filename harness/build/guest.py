"""The narrow protocol the guest backend needs from a FreeBSD builder VM.

The FreeBSD guest adapter (``harness.guests.freebsd``) boots the builder on the VM machinery of ``harness.vm``.
The guest backend only needs a logged-in shell with file transfer — exactly what ``harness.vm.ssh.SSHSession``
offers — handed out by a context manager that owns the VM:

    harness.guests.freebsd.builder_session(arch: str) -> ContextManager[GuestShell]

Until that function exists, the guest backend can plan (``--dry-run``) but not build, and says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, cast

from harness.errors import HostError

#: The attribute of the FreeBSD guest adapter module the guest backend looks for.
ADAPTER_MODULE = "harness.guests.freebsd"
ADAPTER_FUNCTION = "builder_session"


class GuestResult(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def output(self) -> str: ...
    @property
    def stderr(self) -> str: ...


class GuestShell(Protocol):
    """A shell on the builder VM (``SSHSession`` satisfies it)."""

    def run(self, command: str, timeout: float = ..., *, check: bool = False) -> GuestResult: ...
    def put(self, local: Path, remote: str) -> None: ...
    def get(self, remote: str, local: Path) -> None: ...


BuilderFactory = Callable[[str], AbstractContextManager[GuestShell]]


def builder_factory() -> BuilderFactory:
    """``builder_session`` of the FreeBSD guest adapter; a ``HostError`` naming what is missing otherwise."""
    try:
        module = importlib.import_module(ADAPTER_MODULE)
    except ImportError:
        module = None
    factory = getattr(module, ADAPTER_FUNCTION, None) if module is not None else None
    if factory is None:
        raise HostError(
            f"the guest backend needs a FreeBSD builder VM, and {ADAPTER_MODULE}.{ADAPTER_FUNCTION} is not available",
            hint="use --backend cross on Linux or --backend native on FreeBSD; --dry-run shows the guest commands",
        )
    return cast(BuilderFactory, factory)
