"""`harness nightly plan|run|merge`: the nightly job over a matrix of cells, in parallel on Dask."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.common import add_json_flag, positive_int, print_json
from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.nightly.job import NightOptions, NightResult

VERB_ORDER = 48
EPILOG = """\
examples:
  harness nightly plan nightly.toml --format github      a CI matrix include-list (the CI is the engine)
  harness nightly run nightly.toml --out nights/$(date +%F)              embedded local Dask cluster
  harness nightly run nightly.toml --out DIR --scheduler tcp://HOST:8786 workers: dask worker --resources vm=N
  harness nightly merge --out DIR cell-runs/*/*                           run dirs made by CI jobs
exit codes: 0 no new failure (known failures and flaky checks are reported), 1 a new failure,
            2 infrastructure (a cell could not run at all, or bad input), 3 a new crash
"""


def _history_default() -> Path:
    from harness.settings import data_home

    return data_home("nightly.sqlite")


def _add_outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="the night's output (fresh directory)")
    parser.add_argument(
        "--history", type=Path, metavar="PATH", help="the SQLite history (default $XDG_DATA_HOME/.../nightly.sqlite)"
    )
    parser.add_argument("--known", type=Path, metavar="FILE", help="known failures TOML (default: beside the matrix)")
    parser.add_argument("--night", metavar="NAME", help="this night's name in the history (default: UTC time)")
    parser.add_argument("--window", type=positive_int, default=10, metavar="N", help="nights for rates/trends (10)")
    add_json_flag(parser)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "nightly",
        help="the nightly job: plan, run (Dask) or merge a matrix of cells; history and known failures",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="nightly_verb", metavar="ACTION", required=True)
    plan = sub.add_parser("plan", help="print the cells of a matrix (or a CI include-list)")
    plan.add_argument("matrix", type=Path, metavar="MATRIX", help="the matrix TOML file")
    plan.add_argument("--format", choices=("text", "github"), default="text", help="github: a CI matrix include-list")
    add_json_flag(plan)
    plan.set_defaults(func=plan_verb)

    run = sub.add_parser("run", help="run every cell of a matrix in parallel and write the night's reports")
    run.add_argument("matrix", type=Path, metavar="MATRIX", help="the matrix TOML file")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="an existing Dask cluster (workers with vm slots)")
    run.add_argument("--slots", type=positive_int, metavar="N", help="VM slots of the local cluster (default: sized)")
    run.add_argument("--serial", action="store_true", help="no Dask: run the cells one after another here")
    _add_outputs(run)
    run.set_defaults(func=run_verb)

    merge = sub.add_parser("merge", help="merge run directories made elsewhere (CI jobs) into one night")
    merge.add_argument("cell_dirs", type=Path, nargs="+", metavar="CELL_DIR", help="harness run directories")
    _add_outputs(merge)
    merge.set_defaults(func=merge_verb)


def plan_verb(args: argparse.Namespace) -> int:
    from harness.nightly import matrix, plan

    loaded = matrix.load(args.matrix)
    if args.format == "github":
        print(plan.github_include(loaded))
    elif args.json:
        print_json(plan.as_json(loaded))
    else:
        print(plan.text(loaded))
    return 0


def _options(args: argparse.Namespace, matrix_path: Path | None) -> NightOptions:
    from harness.nightly import known
    from harness.nightly.job import NightOptions

    known_file = args.known
    if known_file is not None and not known_file.is_file():
        raise UsageError(f"--known {known_file}: no such file", hint="pass a known-failures TOML file")
    if known_file is None and matrix_path is not None:
        known_file = known.default_path(matrix_path)
    return NightOptions(
        out=args.out,
        history=args.history or _history_default(),
        known=known_file,
        night=args.night,
        matrix=str(matrix_path or ""),
        window=args.window,
    )


def _report(args: argparse.Namespace, result: NightResult) -> int:
    from harness.nightly.report import night_json

    if args.json:
        print_json({"out": str(args.out), **night_json(result)})
    else:
        for cell in result.cells:
            print(f"{cell.status:13} {cell.cell}: {cell.summary.describe()}")
            for entry in cell.known_passing:
                print(f"{'':13} known failure passed ({entry.reason}): fixed? remove the entry")
        for life in result.lifecycle:
            if life.state in ("new", "fixed"):
                print(f"changed: {life.cell}: {life.check}: {life.describe()}")
        counts = ", ".join(f"{n} {s}" for s, n in result.counts().items() if n)
        print(f"night {result.night}: {counts}; exit {result.exit_code}")
        print(f"report: {result.paths['html']}  (also {result.paths['json'].name}, {result.paths['junit'].name})")
    return result.exit_code


def run_verb(args: argparse.Namespace) -> int:
    from harness.nightly import job, kernels, matrix, plan
    from harness.nightly.engine import DaskRunner, SerialRunner, vm_need

    loaded = matrix.load(args.matrix)
    options = _options(args, args.matrix)
    if args.serial and (args.scheduler or args.slots):
        raise UsageError("--serial runs no Dask cluster", hint="drop --scheduler/--slots")
    echo = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    shipped = kernels.prepare(plan.kernels(loaded), echo)
    vm = vm_need([(c.guest, c.arch) for c in loaded.cells])
    runner = SerialRunner() if args.serial else DaskRunner(args.scheduler, args.slots, vm)
    try:
        result = job.run_night(loaded, options, runner, shipped)
    except KeyboardInterrupt:
        job.remove_partial(args.out)
        raise
    return _report(args, result)


def merge_verb(args: argparse.Namespace) -> int:
    from harness.nightly import job

    result = job.merge_dirs(args.cell_dirs, _options(args, None))
    return _report(args, result)
