"""`harness patch list | check NAME --src DIR`: the patch recipes, and whether they apply to a source tree."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.common import add_json_flag, print_json
from harness.errors import ExitCode
from harness.kernelbuild.apply import Applier, RecipeConflict
from harness.kernelbuild.recipes import load_catalogue
from harness.kernelbuild.source import open_checkout
from harness.kernelbuild.worktree import detached_worktree
from harness.settings import cache_dir

VERB_ORDER = 30


def _list(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    rows: list[dict[str, Any]] = [
        {
            "name": r.name,
            "kind": "patch",
            "generation": f"{r.generation_before} -> {r.generation_after}",
            "commit": r.origin.commit,
            "review": r.origin.review,
            "files": [p.name for p in r.origin.files],
            "contained_since": r.applies_to.contained_since,
            "applies_to": list(r.applies_to.branches + r.applies_to.releases),
            "summary": r.summary,
        }
        for r in catalogue.recipes.values()
    ]
    rows += [
        {"name": s.name, "kind": "series", "patches": list(s.patches), "summary": s.summary}
        for s in catalogue.series.values()
    ]
    if args.json:
        print_json(rows)
        return int(ExitCode.OK)
    for row in rows:
        if row["kind"] == "series":
            print(f"{row['name']:<16} series   {' -> '.join(row['patches'])}: {row['summary']}")
            continue
        origin = " ".join(x for x in (row["review"], (row["commit"] or "")[:12]) if x) or ", ".join(row["files"])
        print(f"{row['name']:<16} {row['generation']:<14} {origin:<22} {row['summary']}")
    return int(ExitCode.OK)


def _check(args: argparse.Namespace) -> int:
    recipes = load_catalogue().resolve(list(args.names))
    source = open_checkout(Path(args.src))
    with detached_worktree(source, cache_dir("worktrees")) as worktree:
        applier = Applier(source, worktree, allow_fetch=not args.no_fetch)
        try:
            results = applier.apply_all(recipes)
        except RecipeConflict as conflict:
            if not args.json:
                for done in applier.results:
                    print(f"{done.recipe}: {done.status.value} ({done.how}) {done.detail}")
                print(f"{conflict.recipe}: CONFLICT")
                for file in conflict.conflicts:
                    print(f"  {file.path}: {file.reason}" if not file.hunks else f"  {file.path}")
                    for hunk in file.hunks:
                        print(f"    hunk {hunk.number}: {hunk.header}")
            raise
    if args.json:
        print_json({"source": source.describe, "results": results})
        return int(ExitCode.OK)
    print(f"source: {source.describe}")
    for result in results:
        print(f"{result.recipe}: {result.status.value} ({result.how}) {result.detail}")
    return int(ExitCode.OK)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("patch", help="list patch recipes, check that they apply to a source tree")
    sub = parser.add_subparsers(dest="patch_command", metavar="COMMAND", required=True)
    listing = sub.add_parser(
        "list",
        help="the patch recipes and series under patches/",
        description="One row per recipe (patches/<name>/patch.toml): name, model generation before -> after, "
        "Phabricator review and upstream commit, title; then each series (patches/series.toml) and its order.",
    )
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    check = sub.add_parser(
        "check",
        help="apply patches to a worktree of a checkout (never the checkout itself) and report each",
        description="Exit 0 when every patch applies or is already contained upstream; 2 with the failing files "
        "and hunks when one conflicts.",
    )
    check.add_argument("names", nargs="+", metavar="NAME", help="patch or series names, applied in order")
    check.add_argument("--src", required=True, metavar="DIR", help="a FreeBSD git checkout")
    check.add_argument("--no-fetch", action="store_true", help="never fetch a missing upstream commit")
    add_json_flag(check)
    check.set_defaults(func=_check)
