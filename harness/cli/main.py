"""`harness` entry point: discovers the verb modules, parses, dispatches, maps errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import pkgutil
import signal
import sys
import traceback
from collections.abc import Sequence
from types import FrameType, ModuleType
from typing import Any, TextIO

from harness import __version__
from harness.errors import ExitCode, HarnessError, InfraError
from harness.util.dirs import unusable
from harness.util.text import one_line

DESCRIPTION = """\
Build a FreeBSD kernel with a patch (first of all the kstack_object change, D24473/D38852), boot it under QEMU
on amd64 or arm64, drive a kernel-stack workload, and judge what the kernel did against a reference model.

exit codes: 0 all checks passed, 1 a check failed (kernel disagrees with the model),
            2 infrastructure or usage error, 3 the guest kernel crashed
HARNESS_DEBUG=1: an error also prints its traceback and every cause behind it
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with one line (argparse's own code is 2 as well)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(int(ExitCode.INFRA), f"harness: error: {message}\n")


def _verb_names() -> list[str]:
    import harness.cli as pkg

    return [
        info.name
        for info in pkgutil.iter_modules(pkg.__path__)
        if info.name not in {"main", "common"} and not info.name.startswith("_")
    ]


def _verb_modules(only: str | None = None) -> list[ModuleType]:
    """The verb modules, in ``--help`` order. ``only`` imports just that verb's module: a verb's module may pull in
    paramiko, QEMU machinery and more, which ``harness model ...`` should not pay for at every start."""
    names = _verb_names()
    if only in names:
        names = [only]
    modules = [importlib.import_module(f"harness.cli.{name}") for name in names]
    modules = [m for m in modules if hasattr(m, "register")]
    return sorted(modules, key=lambda m: (getattr(m, "VERB_ORDER", 100), m.__name__))


def _requested_verb(argv: Sequence[str]) -> str | None:
    """The verb on the command line (the first word that is not an option), if any."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="harness",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for module in _verb_modules(_requested_verb(argv)):
        module.register(sub)
    return parser


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what led to it, innermost first: causes (``from exc``) and contexts, also the ones a
    ``from None`` keeps out of the user's one line."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain[::-1]


def _debug_report(exc: BaseException) -> str:
    parts = ["".join(traceback.format_exception(type(e), e, e.__traceback__, chain=False)) for e in _causes(exc)]
    return "\nwhich led to:\n\n".join(parts)


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every context manager (QEMU, SSH) unwinds and cleans up.
    raise KeyboardInterrupt(f"signal {signum}")


class PipeSafeStdout:
    """Standard output for every verb (print, json.dump and rich all write through it): the one place a reader
    that went away (``harness analyze DIR | head -1``) is handled. The rest of the output is dropped and the verb
    carries on, so its exit code (0/1/3) is the one the caller sees; rich's own handler would exit 1 instead.
    Any other write error (``> /dev/full``) is an InfraError of one line."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_gone = False

    def _drop_rest(self) -> None:
        self.reader_gone = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def _guarded(self, action: str, *args: Any) -> Any:
        if self.reader_gone:
            return len(args[0]) if args else None
        try:
            return getattr(self._stream, action)(*args)
        except BrokenPipeError:
            self._drop_rest()
            return len(args[0]) if args else None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                self._drop_rest()
                return len(args[0]) if args else None
            self._drop_rest()
            raise InfraError(f"cannot write to standard output: {exc.strerror or exc}") from None

    def write(self, text: str) -> int:
        written: int = self._guarded("write", text)
        return written

    def flush(self) -> None:
        self._guarded("flush")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _dispatch(func: Any, args: argparse.Namespace) -> int:
    try:
        code = int(func(args))
        sys.stdout.flush()  # a write error surfacing only at exit would escape as a traceback
        return code
    except HarnessError as exc:
        if os.environ.get("HARNESS_DEBUG") == "1":
            print(_debug_report(exc), file=sys.stderr)
        print(f"harness: error: {one_line(exc.one_line())}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # A pipe written past PipeSafeStdout (a verb's own stream): the reader went away, not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except OSError as exc:
        # Last resort for a host problem met mid-way (disk full, a directory made read-only under us): one line.
        error = unusable(exc, "check free space and permissions, or point HARNESS_CACHE_DIR elsewhere")
        print(f"harness: error: {one_line(error.one_line())}", file=sys.stderr)
        return int(error.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return int(ExitCode.INFRA)
    stdout = sys.stdout
    if not isinstance(stdout, PipeSafeStdout):
        sys.stdout = PipeSafeStdout(stdout)
    try:
        return _dispatch(func, args)
    finally:
        if sys.stdout is not stdout and not isinstance(stdout, PipeSafeStdout):
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            sys.stdout = stdout


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
