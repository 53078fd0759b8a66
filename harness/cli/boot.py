"""`harness boot`: a FreeBSD release under QEMU, logged in, with SSH, optionally running a test kernel."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from harness.cli.common import add_json_flag, print_json
from harness.cli.image import add_image_selection, fetch_options
from harness.errors import ExitCode
from harness.guests.freebsd.boot import booted
from harness.guests.freebsd.interact import hand_over
from harness.guests.freebsd.kernel import load_build
from harness.images import configured_mirror, ensure, from_file, load_manifests, select
from harness.images.overlay import parse_size
from harness.settings import cache_dir
from harness.steps import StderrProgress, listening
from harness.util.dirs import usable_dir
from harness.util.files import owner_only

VERB_ORDER = 30


def _run_dir(args: argparse.Namespace) -> Path:
    if args.run_dir:
        path = usable_dir(Path(args.run_dir), what="the run directory", fix="pass a writable --run-dir")
        path.chmod(0o700)  # the guest's console, disk and keys land here: the owner's alone
        return path
    return Path(tempfile.mkdtemp(prefix="boot-", dir=cache_dir("boots")))


def _boot(args: argparse.Namespace) -> int:
    if args.disk_size is not None:
        parse_size(args.disk_size)  # a bad size is a usage error before anything is made
    manifest = select(args.release, args.arch, load_manifests())
    mirror = configured_mirror(args.mirror)
    kernel = load_build(Path(args.kernel), args.kernel_name) if args.kernel else None
    run_dir = _run_dir(args)
    with listening(StderrProgress()), owner_only():
        if args.image:
            base = from_file(manifest, Path(args.image), mirror=mirror, options=fetch_options(args))
        else:
            base = ensure(manifest, mirror=mirror, options=fetch_options(args))
        with booted(manifest, base, run_dir, kernel=kernel, accel=args.accel, disk_size=args.disk_size) as guest:
            if args.json:
                print_json({"run_dir": run_dir, **_as_dict(guest.result)})
            else:
                result = guest.result
                print(f"FreeBSD {result.release} {result.arch} up ({result.accel}), ssh port {result.ssh_port}")
                print(f"kernel: {result.kernel.bootfile} ident {result.kernel.ident}: {result.kernel.uname_v}")
                ddb_state = "ready" if result.ddb_ready else "absent (build the kernel with `options DDB`)"
                print(f"ddb: {ddb_state}; generation: {result.generation} ({result.generation_reason})")
                print(f"run directory: {run_dir}  (ssh -i {guest.key.path} -p {result.ssh_port} root@127.0.0.1)")
            if args.console:
                hand_over(guest.machine.console)
    return int(ExitCode.OK)


def _as_dict(result: object) -> dict[str, object]:
    from dataclasses import asdict, is_dataclass

    return asdict(result) if is_dataclass(result) and not isinstance(result, type) else {}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "boot",
        help="boot a FreeBSD image under QEMU (login, sshd, optional test kernel via nextboot, DDB check)",
        description="Boot an official FreeBSD image to a logged-in guest with SSH; with --kernel, install that "
        "kernel as /boot/<name>/, nextboot into it and prove it booted; report DDB and the kstack generation.",
    )
    add_image_selection(parser)
    parser.add_argument("--image", metavar="FILE", help="use this image file (.xz is verified) instead of downloading")
    parser.add_argument("--kernel", metavar="DIR", help="a built kernel directory to install and boot")
    parser.add_argument("--kernel-name", metavar="NAME", help="install as /boot/NAME/ (default: metadata or harness)")
    parser.add_argument("--console", action="store_true", help="hand the serial console to you once the guest is up")
    parser.add_argument("--accel", choices=("kvm", "tcg"), help="force an accelerator (default: probe)")
    parser.add_argument("--disk-size", metavar="SIZE", help="grow the per-run disk to SIZE before first boot (16G)")
    parser.add_argument("--run-dir", metavar="DIR", help="where logs and the disk overlay go (default: the cache)")
    add_json_flag(parser)
    parser.set_defaults(func=_boot)
