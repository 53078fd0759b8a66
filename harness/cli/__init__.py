"""Command line: argument parsing only. One module per verb group; each calls into the stage packages.

A verb module defines ``VERB_ORDER`` (its place in ``harness --help``) and ``register(subparsers)``, which adds
its parser(s) and sets ``func`` on them. ``func(args) -> int`` returns the exit code; errors are raised as
``harness.errors.HarnessError`` and turned into one line and an exit code by ``main``.
"""
