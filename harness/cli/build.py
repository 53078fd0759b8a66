"""`harness build`: a kernel with patches, from a checkout or a release's sources, by one of three backends."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import add_json_flag, positive_int, print_json
from harness.errors import ExitCode
from harness.kernelbuild.backends import BACKENDS
from harness.kernelbuild.pipeline import BuildOptions, build
from harness.steps import StderrProgress, listening

VERB_ORDER = 31


def _options(args: argparse.Namespace) -> BuildOptions:
    return BuildOptions(
        patches=tuple(args.patch or ()),
        arch=args.arch,
        backend=args.backend,  # None: chosen for the tree (harness.kernelbuild.choice)
        src=Path(args.src) if args.src else None,
        release=args.release,
        jobs=args.jobs or BuildOptions.default_jobs(),
        modules=not args.no_modules,
        kstack_pages=args.kstack_pages,
        cross_bindir=Path(args.cross_bindir) if args.cross_bindir else None,
        dry_run=args.dry_run,
        allow_fetch=not args.no_fetch,
        keep=args.keep,
        force=args.force,
    )


def _build(args: argparse.Namespace) -> int:
    options = _options(args)
    with listening(StderrProgress()):
        result = build(options)
    if args.json:
        print_json(
            {
                "build_dir": result.build_dir,
                "kernel_dir": result.kernel_dir,
                "ident": result.ident,
                "cached": result.cached,
                "dry_run": result.dry_run,
                "patches": result.patches,
                "commands": [c.display() for c in result.commands],
            }
        )
    elif not result.dry_run:
        state = "cached" if result.cached else "built"
        print(f"{state}: {result.kernel_dir} (ident {result.ident}; metadata {result.build_dir / 'metadata.json'})")
    return int(ExitCode.OK)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "build",
        help="build a FreeBSD kernel with patches (native, cross from Linux, or in a FreeBSD builder VM)",
        description="Applies the patches in a separate worktree, writes KERNCONF (GENERIC + debug options, ident "
        "with a fingerprint), metadata.json and reproducer.sh, then builds. Builds are cached by their key.",
    )
    parser.add_argument("--patch", action="append", metavar="NAME", help="patch or series (repeat to add more)")
    parser.add_argument("--src", metavar="DIR", help="a FreeBSD git checkout (never modified)")
    parser.add_argument("--release", metavar="X.Y-RELEASE", help="build from that release's verified src.txz")
    parser.add_argument("--arch", default="amd64", help="target arch: amd64 or arm64 (default amd64)")
    parser.add_argument(
        "--backend",
        help=f"one of {', '.join(BACKENDS)} (default: native on FreeBSD; elsewhere cross for a tree with "
        "tools/build/make.py, else guest, a FreeBSD builder VM)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print every command, run nothing")
    parser.add_argument("-j", "--jobs", type=positive_int, default=None, help="make -j (default: CPU count)")
    parser.add_argument("--kstack-pages", type=positive_int, metavar="N", help="options KSTACK_PAGES=N")
    parser.add_argument("--no-modules", action="store_true", help="NO_MODULES=yes (kernel only)")
    parser.add_argument("--cross-bindir", metavar="DIR", help="clang/lld directory (default: newest /usr/lib/llvm-N)")
    parser.add_argument("--no-fetch", action="store_true", help="never fetch a missing upstream commit")
    parser.add_argument("--keep", action="store_true", help="keep the worktree and object directory")
    parser.add_argument("--force", action="store_true", help="rebuild even when the cache has this build")
    add_json_flag(parser)
    parser.set_defaults(func=_build)
