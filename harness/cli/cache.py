"""`harness cache`: what the harness keeps in its XDG cache beyond images; today the VM snapshots that let runs
restore a booted guest instead of booting it (``harness.vm.snapshot``)."""

from __future__ import annotations

import argparse

from harness.cli.common import add_json_flag, non_negative_int, print_json
from harness.errors import ExitCode, UsageError

VERB_ORDER = 21


def _rows() -> list[dict[str, object]]:
    from harness.vm.snapshot import SnapshotStore

    store = SnapshotStore()
    return [
        {
            "id": s.key.id,
            "guest": s.key.guest,
            "arch": s.key.arch,
            "size_bytes": s.size,
            "created": s.meta.get("created"),
            "boot_seconds": s.meta.get("boot_seconds"),
            "kernel_digest": s.key.kernel_digest[:12],
            "image_digest": s.key.image_digest[:12],
            "harness_version": s.key.harness_version,
            "path": str(s.path),
        }
        for s in store.all()
    ]


def _list(args: argparse.Namespace) -> int:
    rows = _rows()
    if args.json:
        print_json(rows)
        return int(ExitCode.OK)
    total = sum(int(str(r["size_bytes"])) for r in rows)
    for r in rows:
        size = int(str(r["size_bytes"])) / 2**20
        print(
            f"{r['id']}  {r['guest']:<9} {r['arch']:<5} {size:7.0f} MiB  kernel {r['kernel_digest']}  "
            f"image {r['image_digest']}  boot {r['boot_seconds']} s  {r['created']}"
        )
    print(f"{len(rows)} VM snapshot{'s' if len(rows) != 1 else ''}, {total / 2**20:.0f} MiB")
    return int(ExitCode.OK)


def _prune(args: argparse.Namespace) -> int:
    from harness.vm.snapshot import SnapshotStore

    if not (args.all or args.stale or args.keep is not None):
        raise UsageError("harness cache prune: say what to remove", hint="--all, --stale or --keep N")
    removed = SnapshotStore().prune(keep=args.keep, stale=args.stale, everything=args.all)
    if args.json:
        print_json([str(p) for p in removed])
    else:
        for path in removed:
            print(f"removed {path}")
        print(f"{len(removed)} removed")
    return int(ExitCode.OK)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("cache", help="show and prune the VM snapshots in the cache")
    verbs = parser.add_subparsers(dest="cache_verb", metavar="ACTION", required=True)
    listing = verbs.add_parser(
        "list",
        help="the VM snapshots: id, guest, arch, size, the kernel and image they were booted from",
        description="One row per VM snapshot (a booted, SSH-ready guest saved by `harness run`), most recently "
        "used first, then the count and total size.",
    )
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    prune = verbs.add_parser(
        "prune",
        help="remove VM snapshots (--all, --stale, or all but the --keep N most recently used)",
        description="--stale removes snapshots of another harness version, those whose base image is gone, and "
        "half-written or foreign directories. A run that finds no snapshot boots cold and saves a new one.",
    )
    prune.add_argument("--all", action="store_true", help="remove every snapshot")
    prune.add_argument("--stale", action="store_true", help="remove snapshots that can never be restored again")
    prune.add_argument("--keep", type=non_negative_int, metavar="N", help="keep only the N most recently used")
    add_json_flag(prune)
    prune.set_defaults(func=_prune)
