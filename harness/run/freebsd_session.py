"""Boot FreeBSD for a run: the release image (``harness.images``), optionally a kernel built with ``--patch`` or
given with ``--kernel`` (``harness.build``, installed by ``harness.guests.freebsd``), first-boot configuration,
login, SSH, DDB readiness and the generation fingerprint; then the raw fingerprint outputs are stored in
``raw/fingerprint/`` so ``harness analyze`` can re-derive the generation offline.

Not exercised on this machine: no FreeBSD image can be downloaded here (see the report of issue 6).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UsageError
from harness.images import BaseImage, ImageManifest
from harness.run.collect import snapshot
from harness.run.profiles import GuestProfile
from harness.run.request import RunRequest
from harness.run.rundir import RunDir
from harness.run.session import GuestSession, hold_for_user
from harness.steps import step

if TYPE_CHECKING:
    from harness.guests.freebsd.kernel import KernelBuild


def _kernel_dir(request: RunRequest) -> Path | None:
    """``--kernel DIR`` as given, or the kernel dir ``harness build`` makes (or has cached) for ``--patch NAME``."""
    if request.kernel is not None:
        return Path(request.kernel)
    if request.patch is None:
        return None
    from harness.build.backends import default_backend
    from harness.build.pipeline import BuildOptions, build

    options = BuildOptions(
        patches=(request.patch,), arch=request.arch, backend=default_backend(), release=request.release_name
    )
    with step("build kernel", patch=request.patch, arch=request.arch):
        return build(options, echo=lambda _line: None).kernel_dir


@dataclass(frozen=True)
class Prepared:
    """What a FreeBSD run boots, made ready before its run directory exists: the image's manifest, the verified
    base image, and the kernel build to install (None: the release's own kernel)."""

    manifest: ImageManifest
    base: BaseImage
    build: KernelBuild | None

    def session(
        self, run: RunDir, profile: GuestProfile, request: RunRequest
    ) -> contextlib.AbstractContextManager[GuestSession]:
        return freebsd(run, profile, request, self, keep_vm=request.keep_vm)


def prepare(request: RunRequest) -> Prepared:
    """Resolve the image (cache, download or ``--image``) and the kernel (``--kernel`` or a ``--patch`` build).
    Done before the run directory is made: a missing image is one line and exit 2, not a run that never booted."""
    from harness.guests.freebsd.kernel import load_build
    from harness.images import FetchOptions, configured_mirror, ensure, from_file, select
    from harness.images.manifest import load_manifests, parse_pin

    manifest = select(request.release_name or request.release or "14", request.arch, load_manifests())
    kernel_dir = _kernel_dir(request)
    build = load_build(kernel_dir) if kernel_dir is not None else None
    if kernel_dir is not None and build is None:  # pragma: no cover - load_build raises on its own
        raise UsageError(f"{kernel_dir} holds no kernel build")
    with step("image", release=manifest.release, arch=manifest.arch):
        mirror = configured_mirror(request.mirror)
        options = FetchOptions(offline=request.offline, pin=parse_pin(request.pin) if request.pin else None)
        if request.image is not None:
            base = from_file(manifest, Path(request.image), mirror=mirror, options=options)
        else:
            base = ensure(manifest, mirror=mirror, options=options)
    return Prepared(manifest, base, build)


@contextlib.contextmanager
def freebsd(
    run: RunDir, profile: GuestProfile, request: RunRequest, prepared: Prepared, *, keep_vm: bool = False
) -> Iterator[GuestSession]:
    from harness.guests.freebsd.boot import booted

    manifest, base, build = prepared.manifest, prepared.base, prepared.build
    run.update_metadata(release=manifest.release, image=manifest.file, expected_generation=manifest.expected_generation)
    with booted(manifest, base, run.path, kernel=build) as guest:
        facts: dict[str, object] = {
            "arch": request.arch,
            "release": manifest.release,
            "generation": guest.result.generation,
            "generation_reason": guest.result.generation_reason,
            # A JSON object (bootfile, ident, uname_v), so compare and reports read fields, not a repr.
            "kernel": dataclasses.asdict(guest.result.kernel),
            "ddb_ready": guest.result.ddb_ready,
            "accel": guest.result.accel,
        }
        if request.ddb and not guest.result.ddb_ready:
            raise UsageError(
                "--ddb needs a kernel with DDB, and this one has none",
                hint="build one with `options DDB` (harness build) and pass --kernel DIR",
            )
        snapshot(guest.ssh, run, profile, "fingerprint", commands=profile.fingerprint)
        yield GuestSession(guest.machine, guest.ssh, guest.adapter, profile, guest.key, facts)
        if keep_vm:
            hold_for_user(guest.machine, guest.key)
