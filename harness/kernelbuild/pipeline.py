"""One kernel build: source tree → worktree → patches → KERNCONF → metadata + reproducer → backend → kernel dir."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.errors import BuildError, HostError, UsageError
from harness.kernelbuild.apply import Applier, ApplyResult, ApplyStatus
from harness.kernelbuild.arches import Arch, get_arch
from harness.kernelbuild.backends import Backend, BuildSpec, CrossBackend, GuestBackend, make_backend
from harness.kernelbuild.choice import Choice, TreeFacts, builder_major, choose_backend, tree_facts, version_facts
from harness.kernelbuild.commands import Command
from harness.kernelbuild.kernconf import Kernconf, KernconfRequest, check_kstack_pages, render
from harness.kernelbuild.metadata import (
    STATUS_BUILDING,
    BuildRecord,
    build_key,
    build_lock,
    finish,
    is_complete,
    write_json_atomic,
    write_record,
    write_reproducer,
)
from harness.kernelbuild.recipes import PatchRecipe, load_catalogue
from harness.kernelbuild.runner import Runner
from harness.kernelbuild.source import FreeBSDVersion, SourceTree, open_checkout
from harness.kernelbuild.worktree import detached_worktree, worktree_add_argv
from harness.settings import cache_dir
from harness.steps import note, step

Echo = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    patches: tuple[str, ...]
    arch: str
    #: None: chosen for the tree (harness.kernelbuild.choice); the reproducer then names the backend chosen.
    backend: str | None
    src: Path | None = None
    release: str | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    modules: bool = True
    kstack_pages: int | None = None
    cross_bindir: Path | None = None
    dry_run: bool = False
    allow_fetch: bool = True
    keep: bool = False
    force: bool = False

    @staticmethod
    def default_jobs() -> int:
        return os.cpu_count() or 1

    def cli(self) -> list[str]:
        """The ``harness build`` command line that reproduces this build."""
        argv = ["harness", "build"]
        for name in self.patches:
            argv += ["--patch", name]
        if self.src is not None:
            argv += ["--src", str(self.src.resolve())]
        if self.release is not None:
            argv += ["--release", self.release]
        argv += ["--arch", self.arch]
        argv += ["--backend", self.backend] if self.backend else []
        if self.kstack_pages is not None:
            argv += ["--kstack-pages", str(self.kstack_pages)]
        if not self.modules:
            argv.append("--no-modules")
        if self.cross_bindir is not None:
            argv += ["--cross-bindir", str(self.cross_bindir)]
        return argv


@dataclass
class BuildResult:
    build_dir: Path
    kernel_dir: Path
    ident: str
    cached: bool
    dry_run: bool
    patches: list[ApplyResult]
    commands: list[Command]


def _local_source(options: BuildOptions) -> SourceTree | None:
    """The --src checkout, or None for --release (whose name is checked here, its download comes later)."""
    if options.src is not None and options.release is not None:
        raise UsageError("give either --src or --release, not both")
    if options.src is not None:
        return open_checkout(options.src)
    if options.release is not None:
        from harness.kernelbuild.release_source import parse_release

        parse_release(options.release)
        return None
    raise UsageError("no source tree: pass --src DIR (a FreeBSD git checkout) or --release X.Y-RELEASE")


def _release_source(options: BuildOptions) -> SourceTree:
    from harness.kernelbuild.release_source import release_source

    return release_source(str(options.release), dry_run=options.dry_run)


def _kernconf(
    source: SourceTree, results: list[ApplyResult], options: BuildOptions, recipes: list[PatchRecipe]
) -> Kernconf:
    hashes = tuple((r.recipe, r.patch_sha256 or r.status.value) for r in results)
    by_name = {r.name: r for r in recipes}
    # Only a patch the harness applied asks for options to be left out: a tree that already contains it upstream
    # also contains upstream's later fixes.
    without = tuple(
        (option, f"{r.recipe}: {by_name[r.recipe].without_why}")
        for r in results
        if r.status is not ApplyStatus.ALREADY_UPSTREAM
        for option in by_name[r.recipe].without_options
    )
    return render(KernconfRequest(source.revision, hashes, options.kstack_pages, without_options=without))


def _record(
    key: str, source: SourceTree, results: list[ApplyResult], recipes: list[PatchRecipe], kernconf: Kernconf,
    backend: Backend, toolchain: str, arch: Arch, options: BuildOptions, commands: list[Command],
) -> BuildRecord:  # fmt: skip
    by_name = {r.name: r for r in recipes}
    return BuildRecord(
        key=key,
        status=STATUS_BUILDING,
        source={
            "kind": source.kind,
            "path": str(source.path),
            "revision": source.revision,
            "release": source.version.release if source.version else None,
            "dirty": source.dirty,
            "origin": source.origin,
        },
        patches=[
            {
                "name": r.recipe,
                "status": r.status.value,
                "how": r.how,
                "detail": r.detail,
                "sha256": r.patch_sha256,
                "commit": by_name[r.recipe].origin.commit,
                "review": by_name[r.recipe].origin.review,
                "files": by_name[r.recipe].file_hashes(),
                "generation": [by_name[r.recipe].generation_before, by_name[r.recipe].generation_after],
            }
            for r in results
        ],
        kernconf={
            "name": kernconf.name,
            "ident": kernconf.ident,
            "fingerprint": kernconf.fingerprint,
            "text": kernconf.text,
        },
        toolchain=toolchain,
        arch=arch.name,
        target=arch.target,
        target_arch=arch.target_arch,
        backend=backend.name,
        modules=options.modules,
        reproducer=shlex.join(options.cli()),
        commands=[c.display() for c in commands],
        started=time.time(),
    )


def _spec(arch: Arch, kernconf: Kernconf, options: BuildOptions, worktree: Path, build_dir: Path) -> BuildSpec:
    return BuildSpec(
        arch=arch,
        kernconf=kernconf.name,
        jobs=options.jobs,
        modules=options.modules,
        src=worktree,
        objdir=build_dir / "obj",
        stage=build_dir / "stage",
    )


def _show_preflight(backend: Backend, echo: Echo) -> None:
    try:
        backend.preflight()
    except HostError as exc:  # in a dry run a missing tool is reported, not fatal
        echo(f"# preflight: {exc.one_line()}")
    else:
        echo(f"# preflight: ok ({backend.name})")
    if isinstance(backend, CrossBackend) and not backend.checks.ok:
        for req in backend.checks.missing:
            echo(f"#   missing {req.path}: {req.what} -> Debian package {req.package}")


def _resolve(options: BuildOptions) -> tuple[Arch, list[PatchRecipe], SourceTree | None]:
    """The arch, recipes and --src checkout ``options`` name: every usage error, before any work."""
    arch = get_arch(options.arch)
    recipes = load_catalogue().resolve(list(options.patches))
    if options.backend is not None:
        make_backend(options.backend, cross_bindir=options.cross_bindir)  # an unknown name is a usage error
    check_kstack_pages(options.kstack_pages)
    return arch, recipes, _local_source(options)


def _choose(options: BuildOptions, facts: TreeFacts) -> tuple[Backend, Choice]:
    """The backend for the tree ``facts`` describe; the guest backend with a builder release able to build it."""
    choice = choose_backend(options.backend, facts, on_freebsd=platform.system() == "FreeBSD")
    backend = make_backend(choice.backend, cross_bindir=options.cross_bindir)
    if isinstance(backend, GuestBackend):  # the builder VM runs a release that can build the tree
        backend = backend.for_source(builder_major(facts))
    return backend, choice


def _with_source(options: BuildOptions, local: SourceTree | None) -> tuple[Backend, Choice, SourceTree, TreeFacts]:
    """The source tree (a release's is downloaded here) and the backend chosen for it."""
    if local is None and not options.dry_run:
        # A missing toolchain is said before a release's sources are downloaded (the choice by its name).
        _choose(options, version_facts(_release_version(options)))[0].preflight()
    source = local or _release_source(options)
    facts = tree_facts(source)
    backend, choice = _choose(options, facts)
    return backend, choice, source, facts


def _release_version(options: BuildOptions) -> FreeBSDVersion:
    from harness.kernelbuild.release_source import parse_release

    return parse_release(str(options.release))


def _show_choice(backend: Backend, choice: Choice, facts: TreeFacts, echo: Echo) -> None:
    echo(f"# backend: {backend.name} ({choice.reason})")
    if isinstance(backend, GuestBackend):
        echo(f"# builder: {backend.toolchain()}")
    if facts.freebsd_version is not None:
        echo(f"# tree: __FreeBSD_version {facts.freebsd_version}")


def dry_run(options: BuildOptions, echo: Echo = print) -> BuildResult:
    """Print every command the build would run, change nothing (cheribuild's pretend mode)."""
    arch, recipes, local = _resolve(options)
    backend, choice, source, facts = _with_source(options, local)
    options = replace(options, backend=backend.name)
    _show_choice(backend, choice, facts, echo)
    if options.release is not None:
        from harness.kernelbuild.release_source import planned_urls

        for url in planned_urls(options.release):
            echo(f"# fetch {url}")
    _show_preflight(backend, echo)
    echo(f"# source: {source.describe}")
    worktree = cache_dir("worktrees") / "wt-DRYRUN"
    echo("host$ " + shlex.join(worktree_add_argv(source, worktree)))
    applier = Applier(
        source, worktree, allow_fetch=options.allow_fetch, dry_run=True, echo=lambda a: echo("host$ " + shlex.join(a))
    )
    results = []
    for recipe in recipes:
        results.append(applier.apply(recipe))
        if results[-1].status is ApplyStatus.ALREADY_UPSTREAM:
            echo(f"# {recipe.name}: already contained upstream ({results[-1].how}: {results[-1].detail})")
    kernconf = _kernconf(source, results, options, recipes)
    build_dir = cache_dir("kernels") / "DRYRUN"
    echo(f"# write {worktree}/sys/{arch.target}/conf/{kernconf.name} (ident {kernconf.ident})")
    echo(f"# write {build_dir}/metadata.json and reproducer.sh (before the build starts)")
    commands = backend.plan(_spec(arch, kernconf, options, worktree, build_dir))
    Runner(build_dir / "build.log", dry_run=True, echo=echo).run_all(commands)
    echo("host$ " + shlex.join(["git", "-C", str(source.path), "worktree", "remove", "--force", str(worktree)]))
    return BuildResult(build_dir, build_dir / "stage/boot/kernel", kernconf.ident, False, True, results, commands)


def build(options: BuildOptions, echo: Echo = print) -> BuildResult:
    """Build (or find in the cache) the kernel ``options`` describe. Returns where it is."""
    if options.dry_run:
        return dry_run(options, echo)
    arch, recipes, local = _resolve(options)
    backend, choice, source, facts = _with_source(options, local)
    options = replace(options, backend=backend.name)
    backend.preflight()
    note("build", f"backend {backend.name}: {choice.reason}")
    toolchain = backend.toolchain()
    with ExitStack() as stack:
        worktree = stack.enter_context(detached_worktree(source, cache_dir("worktrees"), keep=options.keep))
        results = Applier(source, worktree, allow_fetch=options.allow_fetch).apply_all(recipes)
        kernconf = _kernconf(source, results, options, recipes)
        key = build_key(
            {
                "source": source.revision,
                "patches": [[r.recipe, r.status.value, r.patch_sha256] for r in results],
                "kernconf": kernconf.text,
                "arch": arch.name,
                "backend": backend.name,
                "toolchain": toolchain,
                "modules": options.modules,
            }
        )
        build_dir = cache_dir("kernels", key)
        stack.enter_context(build_lock(build_dir))
        spec = _spec(arch, kernconf, options, worktree, build_dir)
        commands = backend.plan(spec)
        if is_complete(build_dir) and not options.force:
            note("build", f"cached: {build_dir}")
            return BuildResult(build_dir, spec.kernel_dir, kernconf.ident, True, False, results, commands)
        record = _record(key, source, results, recipes, kernconf, backend, toolchain, arch, options, commands)
        record.source["freebsd_version"] = facts.freebsd_version
        write_record(build_dir, record)
        write_reproducer(build_dir, options.cli(), commands)
        (build_dir / "KERNCONF").write_text(kernconf.text, encoding="utf-8")
        conf = worktree / "sys" / arch.target / "conf" / kernconf.name
        conf.write_text(kernconf.text, encoding="utf-8")
        shutil.rmtree(spec.stage, ignore_errors=True)
        (build_dir / "build.log").unlink(missing_ok=True)
        echo(f"building {kernconf.ident} in {build_dir} (log: {build_dir / 'build.log'})")
        try:
            guest = None
            if isinstance(backend, GuestBackend):
                from harness.kernelbuild.guest import builder_factory

                guest = stack.enter_context(builder_factory(backend.guest_release)(backend.builder_arch))
            with step("build", ident=kernconf.ident, backend=backend.name, arch=arch.name):
                Runner(build_dir / "build.log", guest=guest).run_all(commands)
            if not (spec.kernel_dir / "kernel").is_file():
                raise BuildError(f"the build finished but {spec.kernel_dir / 'kernel'} is missing")
        except BaseException as exc:
            finish(build_dir, record, error=f"{type(exc).__name__}: {exc}")
            raise
        # What harness.guests.freebsd.kernel.load_build reads next to the kernel: the ident to prove after boot.
        write_json_atomic(
            spec.kernel_dir / "metadata.json",
            {
                "ident": kernconf.ident,
                "build_key": key,
                "build_metadata": str(build_dir / "metadata.json"),
                # What the run checks the image's userland against (review M2).
                "freebsd_version": facts.freebsd_version,
                "source_release": source.version.release if source.version else None,
            },
        )
        finish(build_dir, record)
        if not options.keep:
            shutil.rmtree(spec.objdir, ignore_errors=True)
        return BuildResult(build_dir, spec.kernel_dir, kernconf.ident, False, False, results, commands)
    raise AssertionError("unreachable")  # pragma: no cover
