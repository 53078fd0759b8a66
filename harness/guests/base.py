"""The guest contract, re-exported for guest implementations: it is defined by the machinery in
``harness.vm.guest`` (``harness.vm`` never imports ``harness.guests``)."""

from harness.vm.guest import (
    Credentials,
    DeathStrings,
    DebuggerDialect,
    EntryKind,
    EntryMethod,
    GuestAdapter,
    StartHints,
)

__all__ = ["Credentials", "DeathStrings", "DebuggerDialect", "EntryKind", "EntryMethod", "GuestAdapter", "StartHints"]
