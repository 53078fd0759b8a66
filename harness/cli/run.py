"""`harness run`: boot a guest, run kernel-stack workloads, collect, judge against the model, write reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.common import add_json_flag, print_json
from harness.cli.image import add_image_selection
from harness.errors import UsageError
from harness.run.kinds import registry
from harness.steps import StderrProgress, listening

VERB_ORDER = 40

EPILOG = """\
defaults: newest FreeBSD 14.x, amd64, the stock kernel, workloads thread-hold and thread-churn.
examples:
  harness run                                       the default job
  harness run --guest linuxtest --arch arm64        prove the pipeline on the Linux test guest
  harness run --patch kstack-object --workload thread-hold --param thread-hold:threads=1024 --ddb
  harness run --guest linuxtest --workload thread-hold --repeat 3   one cold boot, then two restores
exit codes: 0 all checks passed, 1 a check failed, 2 infrastructure/usage error, 3 the guest kernel crashed
"""


def parse_params(items: list[str]) -> dict[str, dict[str, int | str]]:
    """``--param WORKLOAD:NAME=VALUE`` → {workload: {name: value}} (typed later against the catalogue)."""
    params: dict[str, dict[str, int | str]] = {}
    for item in items:
        workload, sep, assignment = item.partition(":")
        name, eq, value = assignment.partition("=")
        if not sep or not eq or not workload or not name:
            raise UsageError(f"bad --param {item!r}", hint="write WORKLOAD:NAME=VALUE, e.g. thread-hold:threads=512")
        params.setdefault(workload, {})[name] = value
    return params


def parse_model(items: list[str]) -> dict[str, int | float | str]:
    """``--model KEY=VALUE`` overrides of the model's constants (e.g. thread_size_kib=8 for the Linux model)."""
    out: dict[str, int | float | str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UsageError(f"bad --model {item!r}", hint="write KEY=VALUE, e.g. thread_size_kib=16")
        try:
            out[key] = int(value, 0)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


def add_model_flag(parser: argparse.ArgumentParser, *, recorded: bool) -> None:
    where = "recorded in metadata.json" if recorded else "for this re-judgement and its reports; metadata.json is kept"
    keys = "; ".join(f"on {name} {registry.select(name).model_help}" for name in registry.names())
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a model constant ({where}): {keys}; an unknown key is refused with the list",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="boot a guest, run workloads, judge the kernel against the model, write reports",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--guest",
        choices=registry.names(),
        default=registry.DEFAULT,
        help=f"guest profile (default {registry.DEFAULT})",
    )
    add_image_selection(parser)
    parser.add_argument(
        "--image",
        type=Path,
        metavar="FILE",
        help="use this FreeBSD image file (an .xz is verified against the release's checksums) instead of downloading",
    )
    parser.add_argument("--kernel", type=Path, metavar="DIR", help="install this built kernel (harness build output)")
    parser.add_argument("--patch", metavar="NAME", help="build a kernel with this patch recipe first (patches/NAME)")
    parser.add_argument(
        "--workload",
        action="append",
        default=[],
        metavar="NAME",
        help="workload to run (repeatable; default: the guest's defaults, thread-hold and thread-churn)",
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="WORKLOAD:NAME=VALUE", help="workload parameter"
    )
    add_model_flag(parser, recorded=True)
    parser.add_argument(
        "--ddb",
        action="store_true",
        help="capture debugger output at the plateau (FreeBSD DDB; kdb on the Linux test guest)",
    )
    parser.add_argument("--keep-vm", action="store_true", help="keep the VM up after the workloads (Ctrl-C ends)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the workloads N times, each on a fresh VM (restored from the VM snapshot after the first boot), "
        "one run directory each, then the flaky-aware verdict over them",
    )
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="always boot cold: neither restore nor save a VM snapshot (harness cache list shows them)",
    )
    parser.add_argument(
        "--runs-dir", type=Path, default=Path("runs"), metavar="DIR", help="where run directories go (./runs)"
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.report.table import print_summary
    from harness.run.pipeline import execute
    from harness.run.profiles import profile
    from harness.run.request import RunRequest

    kind = registry.select(args.guest)
    if not 1 <= args.repeat <= 100:
        raise UsageError(f"--repeat {args.repeat}: must be 1 to 100", hint="e.g. --repeat 3")
    if args.repeat > 1 and args.keep_vm:
        raise UsageError("--keep-vm keeps one VM up, --repeat runs several", hint="give one of them")
    request = RunRequest(
        guest=args.guest,
        arch=args.arch,
        workloads=list(args.workload),
        params=dict(parse_params(args.param)),
        release=args.release,
        kernel=args.kernel,
        patch=args.patch,
        ddb=args.ddb,
        keep_vm=args.keep_vm,
        runs_root=args.runs_dir,
        model=parse_model(args.model),
        mirror=args.mirror,
        offline=args.offline,
        pin=args.pin,
        image=args.image,
        snapshot=not args.no_snapshot,
        argv=["harness", *sys.argv[1:]] if sys.argv and sys.argv[0].endswith("harness") else ["harness", "run"],
    )
    kind.check_options(request)
    if args.kernel and args.patch:
        raise UsageError("--kernel and --patch both name the kernel to boot", hint="give one of them")
    if args.image and not args.image.is_file():
        raise UsageError(
            f"--image {args.image}: no such file", hint="pass an official FreeBSD VM image (.xz or unpacked)"
        )
    if args.kernel and not args.kernel.is_dir():
        raise UsageError(f"--kernel {args.kernel} is not a directory", hint="pass the output dir of `harness build`")
    request.workloads = request.workloads or list(profile(args.guest).default_workloads)
    if args.repeat > 1:
        return _repeat(request, args)
    with listening(StderrProgress()):
        outcome = execute(request)
    if args.json:
        print_json({"run_dir": str(outcome.run.path), **outcome.result.to_json()})
    else:
        print_summary(outcome.result, outcome.run.path, outcome.reports)
    return int(outcome.result.exit_code)


def _repeat(request: Any, args: argparse.Namespace) -> int:
    from harness.report.table import print_summary
    from harness.run.repeat import SUMMARY, execute_repeats

    with listening(StderrProgress()):
        outcome = execute_repeats(request, args.repeat)
    if args.json:
        print_json(
            {
                "cell": str(outcome.cell),
                "verdict": outcome.summary.verdict.value,
                "exit_code": int(outcome.exit_code),
                "runs": [{"run_dir": str(o.run.path), **o.result.to_json()} for o in outcome.runs],
            }
        )
        return int(outcome.exit_code)
    for run in outcome.runs:
        print_summary(run.result, run.run.path, run.reports)
    print(f"repeats: {outcome.summary.describe()} (exit {int(outcome.exit_code)})")
    print(f"summary: {outcome.cell / SUMMARY}")
    return int(outcome.exit_code)
