"""`harness bisect`: find the first bad commit of a FreeBSD source tree between a good and a bad revision.

Each step builds the kernel at the revision git bisect checked out (+ --patch) and runs it with the `harness run`
pipeline; the run's exit code judges the revision. Or --step-command CMD judges it, as `git bisect run CMD` would.
The bisect runs in a separate git worktree: your checkout is never touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli.common import add_json_flag, positive_int, print_json
from harness.cli.image import add_image_selection
from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.regress.steps import Step

VERB_ORDER = 46
#: Options of the build + run step that a --step-command makes meaningless.
STEP_ONLY = ("patch", "workload", "param", "model", "backend", "cross_bindir", "jobs", "kstack_pages")
EPILOG = """\
step exit codes: 0 good, 1 (a check failed) or 3 (the kernel crashed) bad, 2 (build or boot failed) or 125 skip;
                 a signal or a code above 127 stops the bisect. A --step-command runs in the worktree with
                 HARNESS_BISECT_STEP and HARNESS_BISECT_LOG_DIR set; its output goes to LOG_DIR/steps/.
examples:
  harness bisect --src ~/freebsd-src --good releng/14.0 --bad main --patch kstack-object --workload thread-hold
  harness bisect --src ~/freebsd-src --good v1 --bad v2 --step-command 'make -C sys/modules/foo'
  harness bisect --src ~/freebsd-src --good v1 --bad v2 --dry-run
exit codes: 0 the first bad commit was found, 2 it could not be (only skipped commits left, or an error),
            130 interrupted (the worktree is removed and the bisect reset either way)
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bisect",
        help="find the first bad commit: build + run each revision (or --step-command) in a separate worktree",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--src", required=True, type=Path, metavar="DIR", help="a FreeBSD git checkout (never modified)"
    )
    parser.add_argument("--good", required=True, metavar="REV", help="a revision without the regression")
    parser.add_argument("--bad", required=True, metavar="REV", help="a later revision with it")
    parser.add_argument("--step-command", metavar="CMD", help="judge each revision with CMD (sh -c, in the worktree)")
    parser.add_argument("--patch", action="append", metavar="NAME", help="patch applied at every revision (repeat)")
    add_image_selection(parser)
    parser.add_argument("--workload", action="append", default=[], metavar="NAME", help="workload to run (repeat)")
    parser.add_argument(
        "--param", action="append", default=[], metavar="WORKLOAD:NAME=VALUE", help="workload parameter"
    )
    parser.add_argument("--model", action="append", default=[], metavar="KEY=VALUE", help="model constant override")
    parser.add_argument(
        "--backend",
        help="build backend: native, cross or guest (default: chosen per revision: native on FreeBSD, else cross "
        "for trees with tools/build/make.py, the FreeBSD builder VM for older ones)",
    )
    parser.add_argument("--cross-bindir", type=Path, metavar="DIR", help="clang/lld dir of the cross backend")
    parser.add_argument("-j", "--jobs", type=positive_int, default=None, help="make -j (default: CPU count)")
    parser.add_argument("--kstack-pages", type=positive_int, metavar="N", help="options KSTACK_PAGES=N in every build")
    parser.add_argument("--log-dir", type=Path, metavar="DIR", help="the bisect log (default runs/bisect-<time>)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and every command, change nothing")
    add_json_flag(parser)
    parser.set_defaults(func=bisect)


def _default_log_dir() -> Path:
    return Path("runs") / f"bisect-{dt.datetime.now(dt.UTC).strftime('%Y%m%d-%H%M%S')}"


def _step(args: argparse.Namespace) -> Step:
    from harness.cli.run import parse_model, parse_params
    from harness.regress.steps import CommandStep, HarnessChoices, harness_step

    if args.step_command is not None:
        given = [f"--{name.replace('_', '-')}" for name in STEP_ONLY if getattr(args, name)]
        if given:
            raise UsageError(
                f"--step-command judges each revision itself; {', '.join(given)} would not be used",
                hint="drop them, or drop --step-command to build and run each revision",
            )
        if not args.step_command.strip():
            raise UsageError("--step-command is empty")
        return CommandStep(args.step_command)
    choices = HarnessChoices(
        patches=tuple(args.patch or ()),
        arch=args.arch,
        backend=args.backend,
        release=args.release,
        workloads=list(args.workload),
        params=dict(parse_params(args.param)),
        model=parse_model(args.model),
        jobs=args.jobs,
        kstack_pages=args.kstack_pages,
        cross_bindir=args.cross_bindir,
        mirror=args.mirror,
        offline=args.offline,
        pin=args.pin,
    )
    return harness_step(choices)


def bisect(args: argparse.Namespace) -> int:
    from harness.regress.bisect import bisect as run_bisect
    from harness.regress.bisect import print_plan, resolve_range
    from harness.regress.render import print_bisect, result_json
    from harness.steps import StderrProgress, listening

    runner = _step(args)
    span = resolve_range(args.src, args.good, args.bad)
    log_dir = args.log_dir or _default_log_dir()
    if args.dry_run:
        print_plan(span, runner, log_dir, echo=print)
        return 0
    runner.preflight()
    argv = ["harness", *sys.argv[1:]] if sys.argv and sys.argv[0].endswith("harness") else ["harness", "bisect"]
    with listening(StderrProgress()):
        result = run_bisect(span, runner, log_dir, extra={"argv": argv})
    if args.json:
        print_json({"log_dir": str(log_dir), **result_json(result)})
    else:
        print_bisect(result, log_dir)
    return result.exit_code
