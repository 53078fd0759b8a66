"""Boot FreeBSD for a run: the release image (``harness.images``), optionally a kernel built with ``--patch`` or
given with ``--kernel`` (``harness.kernelbuild``, installed by ``harness.guests.freebsd``), first-boot configuration,
login, SSH, DDB readiness and the generation fingerprint; then the raw fingerprint outputs are stored in
``raw/fingerprint/`` so ``harness analyze`` can re-derive the generation offline.

Not exercised on this machine: no FreeBSD image can be downloaded here (see the report of issue 6).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UsageError
from harness.guests.freebsd import probes
from harness.guests.freebsd.probes import GuestLimits
from harness.images import BaseImage, ImageManifest
from harness.run import vmstart
from harness.run.collect import snapshot
from harness.run.profiles import GuestProfile
from harness.run.request import RunRequest
from harness.run.rundir import RunDir
from harness.run.session import GuestSession, hold_for_user
from harness.steps import step
from harness.vm import accel as accelerators
from harness.vm import snapshot as snapshots
from harness.vm.guest import StartHints
from harness.vm.machine import BootSpec, Disk, Machine
from harness.vm.phases import Timeline
from harness.vm.profile import VMProfile
from harness.vm.shell import RemoteShell
from harness.workloads.catalogue import ParamValue, Workload

if TYPE_CHECKING:
    from harness.guests.freebsd.kernel import KernelBuild


def _kernel_dir(request: RunRequest) -> Path | None:
    """``--kernel DIR`` as given, or the kernel dir ``harness build`` makes (or has cached) for ``--patch NAME``."""
    if request.kernel is not None:
        return Path(request.kernel)
    if request.patch is None:
        return None
    from harness.kernelbuild.pipeline import BuildOptions, build

    # backend None: chosen for the release's tree (harness.kernelbuild.choice).
    options = BuildOptions(patches=(request.patch,), arch=request.arch, backend=None, release=request.release_name)
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


def resolve_release(request: RunRequest) -> str:
    """The image release a run boots: ``--release``, else for ``--kernel`` the newest image whose userland is not
    newer than the kernel's source (review M2), else the newest 14.x."""
    from harness.guests.freebsd.kernel import load_build, release_floor
    from harness.images import select
    from harness.images.manifest import load_manifests
    from harness.run.kinds.freebsd import DEFAULT_RELEASE

    manifests = load_manifests()
    if request.release is None and request.kernel is not None:
        osversion = load_build(Path(request.kernel)).freebsd_version
        if osversion is not None:
            fitting = [
                m
                for m in manifests
                if m.arch == request.arch and (floor := release_floor(m.version)) is not None and floor <= osversion
            ]
            if not fitting:
                raise UsageError(
                    f"no image is as old as the kernel's source (__FreeBSD_version {osversion})",
                    hint="add an images/freebsd-<version>.toml of an older release, or pass --release to force one",
                )
            return max(fitting, key=lambda m: release_floor(m.version) or 0).release
    return select(request.release or DEFAULT_RELEASE, request.arch, manifests).release


def prepare(request: RunRequest) -> Prepared:
    """Resolve the image (cache, download or ``--image``) and the kernel (``--kernel`` or a ``--patch`` build).
    Done before the run directory is made: a missing image is one line and exit 2, not a run that never booted."""
    from harness.guests.freebsd.kernel import check_userland, load_build
    from harness.images import FetchOptions, configured_mirror, ensure, from_file, select
    from harness.images.manifest import load_manifests, parse_pin

    manifest = select(request.release_name or request.release or "14", request.arch, load_manifests())
    kernel_dir = _kernel_dir(request)
    build = load_build(kernel_dir) if kernel_dir is not None else None
    if kernel_dir is not None and build is None:  # pragma: no cover - load_build raises on its own
        raise UsageError(f"{kernel_dir} holds no kernel build")
    if build is not None:
        check_userland(build, manifest.version)
    with step("image", release=manifest.release, arch=manifest.arch):
        mirror = configured_mirror(request.mirror)
        options = FetchOptions(offline=request.offline, pin=parse_pin(request.pin) if request.pin else None)
        if request.image is not None:
            base = from_file(manifest, Path(request.image), mirror=mirror, options=options)
        else:
            base = ensure(manifest, mirror=mirror, options=options)
    return Prepared(manifest, base, build)


def freebsd_key(
    prepared: Prepared, vm_profile: VMProfile, accel: str, extra_args: tuple[str, ...]
) -> snapshots.SnapshotKey:
    """The snapshot key of a FreeBSD boot. The image digest identifies the verified base image by its cache path
    (the cache names it by its checksum), size and mtime: hashing gigabytes per run would cost more than a restore
    saves. The kernel digest is the installed kernel file's (the release's own kernel: the image's)."""
    manifest, base, build = prepared.manifest, prepared.base, prepared.build
    stat = base.path.stat()
    identity = (
        f"{manifest.release}|{manifest.arch}|{manifest.file}|{base.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    )
    kernel = f"{build.name}:{snapshots.file_digest(build.kernel)}" if build is not None else "release kernel"
    return snapshots.SnapshotKey(
        guest="freebsd",
        arch=manifest.arch,
        image_digest=hashlib.sha256(identity.encode()).hexdigest(),
        kernel_digest=hashlib.sha256(kernel.encode()).hexdigest(),
        profile_digest=snapshots.profile_digest(vm_profile, accel, *extra_args),
    )


def probe_limits(ssh: RemoteShell, run: RunDir) -> GuestLimits:
    """The guest's own limits and tools (harness.guests.freebsd.probes), kept as ``raw/fingerprint/limits.txt``."""
    with step("probe-limits"):
        text = ssh.run(probes.probe_command(), timeout=60).output
    run.write_raw(text, "fingerprint", "limits.txt")
    return probes.parse_limits(text)


def fit_params(
    workload: Workload, params: dict[str, ParamValue], *, limits: GuestLimits, release: str, compile_in_guest: bool
) -> dict[str, ParamValue]:
    """A workload's parameters checked against the guest before it starts (review H4, M1, M6): the compiler it
    needs, threads per process within kern.threads.max_threads_per_proc, a memory hog sized from free RAM and swap
    (``0``) or refused when it would outgrow them. Returns the parameters that will run."""
    if compile_in_guest and workload.program:
        probes.require_tool("cc", limits, release=release, why=f"workload {workload.name} is compiled in the guest")
    threads_key = workload.extra.get("per_process_threads")
    if isinstance(threads_key, str) and isinstance(params.get(threads_key), int):
        probes.check_threads(workload.name, threads_key, int(params[threads_key]), limits)
    hog_key = workload.extra.get("memory_hog")
    if isinstance(hog_key, str) and isinstance(params.get(hog_key), int):
        swap_file_mib = int(workload.extra.get("swap_file_mib", 0))
        if params[hog_key] == 0:
            params = {**params, hog_key: probes.swap_hog_mib(limits, swap_file_mib)}
        else:
            probes.check_swap_hog(int(params[hog_key]), limits, swap_file_mib)
    return params


@contextlib.contextmanager
def freebsd(
    run: RunDir, profile: GuestProfile, request: RunRequest, prepared: Prepared, *, keep_vm: bool = False
) -> Iterator[GuestSession]:
    """Restored from the VM snapshot of this image, kernel and profile (after login, sshd, the kernel proof and
    the fingerprint), else booted, configured and saved (``harness.run.vmstart``)."""
    from harness.guests.freebsd.adapter import FreeBSDGuest
    from harness.guests.freebsd.boot import check_serial_console, vm_profile

    manifest = prepared.manifest
    check_serial_console(manifest)  # a plain image under BIOS: one line, before any VM (review L4)
    run.update_metadata(release=manifest.release, image=manifest.file, expected_generation=manifest.expected_generation)
    adapter = FreeBSDGuest()
    machine_profile = vm_profile(manifest, adapter)
    accel = accelerators.choose(machine_profile.qemu, machine_profile.arch, machine_profile.accelerators).accel
    extra: tuple[str, ...] = ()  # no QEMU arguments beyond the profile's (the BIOS graphics=off path is gone)
    chance = vmstart.lookup(request.snapshot, lambda: freebsd_key(prepared, machine_profile, accel, extra))
    with contextlib.ExitStack() as stack:
        started = None
        if chance.snapshot is not None:

            def make_machine(boot: BootSpec, incoming: Path | None) -> Machine:
                timeout = snapshots.settings().restore_timeout
                return Machine.for_guest(
                    adapter,
                    machine_profile,
                    boot,
                    run.path,
                    name="freebsd",
                    accel=accel,
                    incoming=incoming,
                    incoming_timeout=timeout,
                )

            # The disk is the snapshot's (restore_spec gives each run a fresh overlay of it). SSH is forwarded at
            # launch: the saved guest's sshd is already configured (the cold boot opened the forward only then).
            boot = BootSpec(disks=(Disk(chance.snapshot.disk(0), "qcow2"),), extra_args=extra)
            started = vmstart.restore(
                stack,
                chance.snapshot,
                boot,
                make_machine,
                hints=adapter.start_hints,
                key_dir=run.path / "ssh",
                ssh_timeout=adapter.data.timeouts.ssh,
            )
        if started is None:
            started = _cold_boot(stack, run, request, prepared, accel, adapter.start_hints)
            vmstart.save_booted(
                chance, started, prompt=started.machine.console.prompt or "", ssh_timeout=adapter.data.timeouts.ssh
            )
        stack.callback(lambda: started.ssh.close())
        facts = {**started.facts, "vm_start": started.record()}
        if request.ddb and not facts.get("ddb_ready"):
            raise UsageError(
                "--ddb needs a kernel with DDB, and this one has none",
                hint="build one with `options DDB` (harness build) and pass --kernel DIR",
            )
        snapshot(started.ssh, run, profile, "fingerprint", commands=profile.fingerprint)
        limits = probe_limits(started.ssh, run)
        facts["limits"] = dataclasses.asdict(limits) | {"tools": sorted(limits.tools)}
        fit = functools.partial(
            fit_params, limits=limits, release=manifest.release, compile_in_guest=profile.compile_in_guest
        )
        yield GuestSession(started.machine, started.ssh, adapter, profile, started.key, facts, fit_params=fit)
        if keep_vm:
            hold_for_user(started.machine, started.key)


def _cold_boot(
    stack: contextlib.ExitStack, run: RunDir, request: RunRequest, prepared: Prepared, accel: str, hints: StartHints
) -> vmstart.Started:
    """Boot the image (first-boot configuration, kernel install, proof, DDB, fingerprint) under the ``boot`` step,
    with its phases from the console."""
    from harness.guests.freebsd.boot import booted

    manifest, base, build = prepared.manifest, prepared.base, prepared.build
    with step("boot", guest="freebsd", release=manifest.release, arch=manifest.arch):
        guest = stack.enter_context(booted(manifest, base, run.path, kernel=build, accel=accel))
        machine = guest.machine
        timeline = Timeline(machine.launch_started)
        timeline.mark("qemu start", machine.ready_at)
        timeline.console(machine.console, hints.boot_markers)
        timeline.mark("setup and ssh")  # login, first boot, kernel install, proof, DDB, fingerprint
        timeline.emit("boot")
    facts = {
        "arch": request.arch,
        "release": manifest.release,
        "generation": guest.result.generation,
        "generation_reason": guest.result.generation_reason,
        # A JSON object (bootfile, ident, uname_v), so compare and reports read fields, not a repr.
        "kernel": dataclasses.asdict(guest.result.kernel),
        "ddb_ready": guest.result.ddb_ready,
        "accel": guest.result.accel,
    }
    return vmstart.Started(machine, guest.ssh, guest.key, "boot", timeline.total, facts)
