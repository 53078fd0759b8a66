"""`harness` entry point: discovers the verb modules, parses, dispatches, maps errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import signal
import sys
from collections.abc import Sequence
from types import FrameType, ModuleType

from harness import __version__
from harness.errors import ExitCode, HarnessError

DESCRIPTION = """\
Build a FreeBSD kernel with a patch (first of all the kstack_object change, D24473/D38852), boot it under QEMU
on amd64 or arm64, drive a kernel-stack workload, and judge what the kernel did against a reference model.

exit codes: 0 all checks passed, 1 a check failed (kernel disagrees with the model),
            2 infrastructure or usage error, 3 the guest kernel crashed
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with one line (argparse's own code is 2 as well)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(int(ExitCode.INFRA), f"harness: error: {message}\n")


def _verb_modules() -> list[ModuleType]:
    import harness.cli as pkg

    modules = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name in {"main", "common"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"harness.cli.{info.name}")
        if hasattr(module, "register"):
            modules.append(module)
    return sorted(modules, key=lambda m: (getattr(m, "VERB_ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="harness",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for module in _verb_modules():
        module.register(sub)
    return parser


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every context manager (QEMU, SSH) unwinds and cleans up.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return int(ExitCode.INFRA)
    try:
        return int(func(args))
    except HarnessError as exc:
        print(f"harness: error: {exc.one_line()}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # `harness parse ... | head`: the reader went away; that is not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
