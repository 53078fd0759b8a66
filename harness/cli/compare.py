"""`harness compare RUN_A RUN_B`: what changed from run A (the reference) to run B, regressions first."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import add_json_flag, positive_int, print_json

VERB_ORDER = 45
EPILOG = """\
checks are matched by (workload, invariant, observable, phase); crashes by their signature.
exit codes: 0 no regression, 1 B regressed against A (a check A did not fail fails in B),
            2 bad input (not a run directory, unreadable results.json) or B errored (its checks were not judged:
              never "no regression"), 3 B crashed where A did not
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two run directories: regressions, fixes, new crashes, moved values, metadata",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="the reference run directory (e.g. the good kernel)")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="the run directory judged against it")
    parser.add_argument("--rows", type=positive_int, default=20, metavar="N", help="table rows shown (default 20)")
    add_json_flag(parser)
    parser.set_defaults(func=compare)


def compare(args: argparse.Namespace) -> int:
    from harness.regress.compare import compare as compare_runs
    from harness.regress.compare import to_json
    from harness.regress.render import print_comparison
    from harness.regress.runs import load

    a = load(args.run_a)
    b = load(args.run_b)
    comparison = compare_runs(a, b)
    if args.json:
        print_json(to_json(comparison, a, b))
    else:
        print_comparison(comparison, rows=args.rows)
    return int(comparison.exit_code)
