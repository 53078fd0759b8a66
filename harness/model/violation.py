"""The exception a broken invariant raises. Kept in a module of its own so the optional mypyc-compiled build
(README.md) can leave it an ordinary Python class: mypyc cannot compile a subclass of AssertionError."""

from __future__ import annotations


class InvariantViolation(AssertionError):
    def __init__(self, invariant: str, message: str) -> None:
        super().__init__(f"{invariant}: {message}")
        self.invariant = invariant
