"""The two ways a bisect step judges the revision checked out in the bisect worktree.

* :class:`HarnessStep` (the default): ``harness build`` the kernel at that revision (+ ``--patch``), then the
  ``harness run`` pipeline boots it (``--kernel``) and judges it; the run's exit code is the step's.
* :class:`CommandStep` (``--step-command CMD``): any shell command run in the worktree, as ``git bisect run`` does.

Both describe themselves as the command lines a dry run prints, from the same objects the real step uses.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from harness.errors import HarnessError, HostError, UsageError
from harness.kernelbuild.pipeline import BuildOptions
from harness.regress.outcome import StepOutcome
from harness.run.pipeline import reproducer_argv
from harness.run.request import RunRequest
from harness.steps import step
from harness.util.procs import owned_group
from harness.workloads.catalogue import ParamValue, load_catalogue

#: How long a step command gets to end after SIGTERM before it is killed.
TERM_GRACE_SECONDS = 5.0
#: Placeholders in the printed plan for what only exists once a step runs.
WORKTREE = "<worktree>"
KERNEL_DIR = "<kernel dir of that build>"


class Step(Protocol):
    def preflight(self) -> None: ...

    def plan(self, worktree: str, runs_dir: Path) -> list[str]: ...

    def __call__(self, worktree: Path, index: int, log_dir: Path) -> StepOutcome: ...


# --- the default step: build + run ----------------------------------------------------------------------------


def typed_workloads(
    names: list[str], params: dict[str, dict[str, ParamValue]], guest: str
) -> dict[str, dict[str, ParamValue]]:
    """Every workload exists and runs on ``guest``; its parameters typed (usage errors before the first step)."""
    catalogue = load_catalogue()
    typed: dict[str, dict[str, ParamValue]] = {}
    for name in names:
        workload = catalogue.get(name)
        if guest not in workload.guests:
            raise UsageError(f"workload {name} does not run on {guest} guests", hint=f"it runs on: {workload.guests}")
        typed[name] = workload.with_params(params.get(name, {}))
    if unknown := set(params) - set(names):
        raise UsageError(f"parameters given for workloads not run: {', '.join(sorted(unknown))}")
    return typed


@dataclass(frozen=True)
class HarnessChoices:
    """What ``harness bisect`` was asked to build and run at every revision."""

    patches: tuple[str, ...]
    arch: str
    backend: str | None
    release: str
    workloads: list[str]
    params: dict[str, dict[str, ParamValue]]
    model: dict[str, int | float | str]
    jobs: int | None = None
    kstack_pages: int | None = None
    cross_bindir: Path | None = None
    mirror: str | None = None
    offline: bool = False
    pin: str | None = None


def harness_step(choices: HarnessChoices) -> HarnessStep:
    """The build + run step, every choice checked before the first revision is touched (usage errors, exit 2)."""
    from harness.images import load_manifests, select
    from harness.kernelbuild.arches import get_arch
    from harness.kernelbuild.backends import make_backend
    from harness.kernelbuild.recipes import load_catalogue as load_recipes
    from harness.run.profiles import profile

    get_arch(choices.arch)
    load_recipes().resolve(list(choices.patches))
    # None: each revision's tree chooses (harness.kernelbuild.choice): a bisect over 2020 head needs the builder VM.
    backend = choices.backend
    if backend is not None:
        make_backend(backend, cross_bindir=choices.cross_bindir)
    release = select(choices.release, choices.arch, load_manifests()).release
    workloads = choices.workloads or list(profile("freebsd").default_workloads)
    build = BuildOptions(
        patches=choices.patches,
        arch=choices.arch,
        backend=backend,
        src=Path(WORKTREE),
        jobs=choices.jobs or BuildOptions.default_jobs(),
        kstack_pages=choices.kstack_pages,
        cross_bindir=choices.cross_bindir,
    )
    run = RunRequest(
        guest="freebsd",
        arch=choices.arch,
        workloads=workloads,
        params=choices.params,
        release=choices.release,
        release_name=release,
        # No --patch here: the kernel is given with --kernel (its build metadata names the patches).
        model=dict(choices.model),
        mirror=choices.mirror,
        offline=choices.offline,
        pin=choices.pin,
    )
    return HarnessStep(build, run, typed_workloads(workloads, choices.params, "freebsd"))


@dataclass
class HarnessStep:
    """Build at the worktree's revision, then run and judge that kernel on a FreeBSD guest."""

    build: BuildOptions
    run: RunRequest
    typed: dict[str, dict[str, ParamValue]] = field(default_factory=dict)

    def preflight(self) -> None:
        """The build host has what every step needs (a toolchain), said once before the bisect starts."""
        from harness.kernelbuild.backends import make_backend

        if self.build.backend is not None:
            make_backend(self.build.backend, cross_bindir=self.build.cross_bindir).preflight()

    def build_options(self, worktree: Path) -> BuildOptions:
        return replace(self.build, src=worktree)

    def run_request(self, kernel_dir: Path, runs_dir: Path) -> RunRequest:
        request = replace(self.run, kernel=kernel_dir, runs_root=runs_dir)
        request.argv = reproducer_argv(request, self.typed)
        return request

    def plan(self, worktree: str, runs_dir: Path) -> list[str]:
        build_argv = self.build_options(Path(worktree)).cli()
        run_argv = reproducer_argv(replace(self.run, kernel=None, runs_root=runs_dir), self.typed)
        run_argv[run_argv.index("--arch") + 2 : run_argv.index("--arch") + 2] = ["--kernel", KERNEL_DIR]
        return [shlex.join(build_argv).replace(shlex.quote(worktree), worktree), shlex.join(run_argv)]

    def __call__(self, worktree: Path, index: int, log_dir: Path) -> StepOutcome:
        from harness.kernelbuild.pipeline import build
        from harness.run.pipeline import execute

        log = log_dir / "steps" / f"{index:02d}-build.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log.open("w", encoding="utf-8") as out, step("bisect build", step=index):
                built = build(self.build_options(worktree), echo=lambda line: print(line, file=out, flush=True))
        except HostError:
            raise  # the host lacks something: no revision can be judged, so stop instead of skipping them all
        except HarnessError as exc:
            return StepOutcome(int(exc.exit_code), f"build failed: {exc.one_line()}", output=str(log))
        found = StepOutcome(0, "", build_key=built.build_dir.name, kernel_dir=str(built.kernel_dir), output=str(log))
        try:
            with step("bisect run", step=index, kernel=built.ident):
                outcome = execute(self.run_request(built.kernel_dir, log_dir / "runs"))
        except HostError:
            raise
        except HarnessError as exc:
            return replace(found, exit_code=int(exc.exit_code), summary=f"run failed: {exc.one_line()}")
        result = outcome.result
        counts = result.counts()
        summary = f"{result.outcome}: {counts['pass']} passed, {counts['fail']} failed"
        if result.crash is not None:
            summary += f"; crashed: {result.crash.title}"
        if result.error:
            summary += f"; error: {result.error}"
        return replace(found, exit_code=int(result.exit_code), summary=summary, run_dir=str(outcome.run.path))


# --- --step-command -------------------------------------------------------------------------------------------


def _last_line(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return lines[-1][:200] if lines else ""


@dataclass
class CommandStep:
    """``sh -c CMD`` in the worktree; its exit code judges the revision (0 good, 1/3 bad, 2 or 125 skip)."""

    command: str

    def preflight(self) -> None:
        """Nothing to check: the command is the user's."""

    def plan(self, worktree: str, runs_dir: Path) -> list[str]:
        return [f"(cd {worktree} && sh -c {shlex.quote(self.command)})"]

    def __call__(self, worktree: Path, index: int, log_dir: Path) -> StepOutcome:
        log = log_dir / "steps" / f"{index:02d}-command.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, HARNESS_BISECT_STEP=str(index), HARNESS_BISECT_LOG_DIR=str(log_dir))
        with log.open("wb") as out:
            # A session of its own: the terminal's Ctrl-C reaches the harness, which ends the command's whole group.
            process = subprocess.Popen(
                ["sh", "-c", self.command],
                cwd=worktree,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            with owned_group(process, TERM_GRACE_SECONDS):
                code = process.wait()
        if code < 0:
            return StepOutcome(128 - code, f"killed by signal {-code}", output=str(log))
        last = _last_line(log)
        return StepOutcome(code, f"exit {code}" + (f": {last}" if last else ""), output=str(log))
