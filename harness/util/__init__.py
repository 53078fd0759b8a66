"""Cross-cutting helpers (one of each): JSON conversion, process groups, file locks, atomic files, TOML loading.

Imports nothing from ``harness`` but ``harness.errors``, so every package may use it.
"""
