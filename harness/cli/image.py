"""`harness image list | fetch | path`: the FreeBSD VM images the harness boots."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import add_json_flag, print_json
from harness.errors import DownloadError, ExitCode
from harness.images import FetchOptions, cached_path, configured_mirror, ensure, from_file, load_manifests, select
from harness.images.manifest import ARCHES, load_sites, parse_pin

VERB_ORDER = 20


def add_image_selection(parser: argparse.ArgumentParser) -> None:
    """``--release``/``--arch``/``--mirror``/``--offline``: shared with ``harness boot``."""
    parser.add_argument("--release", default="14", help="FreeBSD release: a major (14 = newest 14.x) or 14.4")
    parser.add_argument("--arch", default="amd64", choices=ARCHES, help="guest architecture (default amd64)")
    parser.add_argument(
        "--mirror",
        metavar="URL",
        help="root that replaces https://download.freebsd.org/releases/ (also HARNESS_FREEBSD_MIRROR or "
        "[images] mirror in the config file)",
    )
    parser.add_argument(
        "--pin",
        metavar="ALGO:HEX",
        help="known-good digest of the image's .xz (sha512:<hex> from the signed release announcement); the "
        "mirror's checksum list must agree with it (overrides `pin` in the image manifest)",
    )
    parser.add_argument("--offline", action="store_true", help="never touch the network; use the cache only")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def fetch_options(args: argparse.Namespace) -> FetchOptions:
    pin = parse_pin(args.pin) if getattr(args, "pin", None) else None
    return FetchOptions(offline=args.offline, progress=False if args.no_progress else None, pin=pin)


def _list(args: argparse.Namespace) -> int:
    sites = load_sites()
    rows = []
    for manifest in load_manifests():
        cached = cached_path(manifest)
        rows.append(
            {
                "release": manifest.release,
                "arch": manifest.arch,
                "variant": manifest.variant,
                "format": manifest.format,
                "firmware": manifest.firmware,
                "generation": manifest.expected_generation,
                "file": manifest.file,
                "url": manifest.sources(sites)[0].url,
                "cached": str(cached) if cached else None,
            }
        )
    if args.json:
        print_json(rows)
        return int(ExitCode.OK)
    for row in rows:
        state = "cached" if row["cached"] else "-"
        print(
            f"{row['release']:<14} {row['arch']:<6} {row['variant']:<9} {row['format']:<6} {row['firmware']:<5} "
            f"{row['generation']:<8} {state:<7} {row['file']}"
        )
    return int(ExitCode.OK)


def _fetch(args: argparse.Namespace) -> int:
    manifest = select(args.release, args.arch, load_manifests())
    mirror = configured_mirror(args.mirror)
    if args.from_file:
        base = from_file(manifest, Path(args.from_file), mirror=mirror, options=fetch_options(args))
    else:
        base = ensure(manifest, mirror=mirror, options=fetch_options(args))
    if args.json:
        print_json({"release": manifest.release, "arch": manifest.arch, "path": base.path, "format": base.format})
    else:
        print(base.path)
    return int(ExitCode.OK)


def _path(args: argparse.Namespace) -> int:
    manifest = select(args.release, args.arch, load_manifests())
    path = cached_path(manifest)
    if path is None:
        raise DownloadError(
            f"FreeBSD {manifest.release} {manifest.arch} is not in the cache",
            hint=f"run `harness image fetch --release {manifest.version} --arch {manifest.arch}`",
        )
    print(path)
    return int(ExitCode.OK)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("image", help="list, download and locate FreeBSD VM images")
    verbs = parser.add_subparsers(dest="image_verb", metavar="ACTION", required=True)

    listing = verbs.add_parser(
        "list",
        help="known images (from images/*.toml) and whether they are cached",
        description="One row per image manifest in images/: release, arch, variant (basic-ci raw or vm qcow2), "
        "format, firmware (bios/uefi), the kstack generation it should show, cached or -, and the file name.",
    )
    add_json_flag(listing)
    listing.set_defaults(func=_list)

    fetch = verbs.add_parser(
        "fetch",
        help="download, verify (CHECKSUM.SHA512) and decompress an image",
        description="Download the release's image with resume and a progress bar, check the .xz against the "
        "published CHECKSUM file before it enters the cache, decompress it, and print its path. Without network: "
        "--from FILE takes an image downloaded elsewhere, --offline uses only the cache.",
    )
    add_image_selection(fetch)
    fetch.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="an image downloaded by other means (.xz is checked against the published checksum)",
    )
    add_json_flag(fetch)
    fetch.set_defaults(func=_fetch)

    path = verbs.add_parser(
        "path",
        help="print the cached image's path (no download)",
        description="Print the decompressed, verified image in the cache; exit 2 with the fetch command to run "
        "when it is not there. Never touches the network.",
    )
    path.add_argument("--release", default="14", help="FreeBSD release: a major (14 = newest 14.x) or 14.4")
    path.add_argument("--arch", default="amd64", choices=ARCHES, help="guest architecture (default amd64)")
    path.set_defaults(func=_path)
