"""Commands a build runs, as data: printed by ``--dry-run`` and in the reproducer, executed by the runner."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Command:
    """One step. ``where`` is ``host`` or ``guest``; ``kind`` is ``run``, ``put`` (host → guest) or ``get``."""

    stage: str
    argv: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None
    where: str = "host"
    kind: str = "run"
    local: str | None = None
    remote: str | None = None
    keep_stdin_closed: bool = field(default=True)

    def shell(self) -> str:
        """The command as one ``sh`` line (what a user would type)."""
        if self.kind == "put":
            return f"put {shlex.quote(str(self.local))} {shlex.quote(str(self.remote))}"
        if self.kind == "get":
            return f"get {shlex.quote(str(self.remote))} {shlex.quote(str(self.local))}"
        parts = []
        if self.cwd:
            parts.append(f"cd {shlex.quote(self.cwd)} &&")
        if self.env:
            parts.append("env " + " ".join(shlex.quote(f"{k}={v}") for k, v in self.env))
        parts.append(shlex.join(self.argv))
        return " ".join(parts)

    def display(self) -> str:
        return f"{self.where}$ {self.shell()}"
