"""`harness analyze RUN_DIR`: re-parse, re-predict and re-judge a stored run offline (no VM), rewrite its reports."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import add_json_flag, print_json
from harness.cli.run import add_model_flag, parse_model

VERB_ORDER = 41


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="re-judge a stored run directory offline (after a model change, say)",
        description=__doc__,
        epilog="exit codes: 0 all checks passed, 1 a check failed, 2 bad run dir, 3 the stored run saw a crash",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a directory under runs/")
    add_model_flag(parser, recorded=False)
    add_json_flag(parser)
    parser.set_defaults(func=analyze)


def analyze(args: argparse.Namespace) -> int:
    from harness.report.table import print_summary
    from harness.report.write import write_all
    from harness.run.analysis import analyze as judge_run
    from harness.run.rundir import RunDir

    run = RunDir.open(args.run_dir)
    result = judge_run(run, offline=True, model_overrides=parse_model(args.model))
    reports = write_all(result, run.path)
    if args.json:
        print_json({"run_dir": str(run.path), **result.to_json()})
    else:
        print_summary(result, run.path, reports)
    return int(result.exit_code)
