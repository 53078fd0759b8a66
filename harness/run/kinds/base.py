"""The guest-kind contract: what the run pipeline, ``harness analyze`` and the CLI need from a kind of guest.

A kind is consulted in this order by ``harness run``: ``check_options`` (before anything happens), ``resolve``
(defaults such as the release, before the reproducer is written), ``prepare`` (images and kernels, before the run
directory exists), ``PreparedGuest.session`` (boot, log in, SSH; the VM ends with the block); then, by ``harness
run`` and ``harness analyze`` alike, ``find_crash`` and ``analyze`` on the stored run directory alone.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.report.results import Crash
    from harness.run.metadata import RunMetadata
    from harness.run.profiles import GuestProfile
    from harness.run.request import ModelOverrides, RunRequest
    from harness.run.rundir import RunDir
    from harness.run.session import GuestSession
    from harness.validate.verdicts import Verdict


@dataclass
class GuestAnalysis:
    """A guest kind's judgement of a stored run: the generation it found, verdicts, time series, notes."""

    generation: str | None
    verdicts: list[Verdict] = field(default_factory=list)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class PreparedGuest(Protocol):
    """What ``GuestKind.prepare`` made ready (image, kernel, cached guest); boots it for one run."""

    def session(
        self, run: RunDir, profile: GuestProfile, request: RunRequest
    ) -> AbstractContextManager[GuestSession]: ...


class GuestKind(Protocol):
    """One kind of guest (``freebsd``, ``linuxtest``), registered in ``harness.run.kinds.registry``."""

    #: The ``--guest`` value; also names the kind in run ids, metadata.json and profiles.toml.
    name: str
    #: For ``--model`` help: what the keys of this kind's model are.
    model_help: str
    #: Whether the guest boots a chosen release (``--release``; a nightly matrix's ``release`` axis).
    has_releases: bool
    #: Whether the guest boots a built or patched kernel (``--kernel``, ``--patch``; the ``kernel`` axis).
    takes_kernels: bool

    @property
    def model_keys(self) -> frozenset[str]:
        """What ``--model KEY=VALUE`` may override (each a non-negative integer)."""
        ...

    def check_options(self, request: RunRequest) -> None:
        """Refuse ``harness run`` options that do not apply to this kind (UsageError, before anything happens)."""
        ...

    def resolve(self, request: RunRequest) -> None:
        """Fill in what the options leave open (the release a major number means), before the run dir exists."""
        ...

    def prepare(self, request: RunRequest) -> PreparedGuest:
        """Make ready what the guest boots: a problem here is one line and no run directory."""
        ...

    def find_crash(self, console_text: str) -> Crash | None:
        """The first kernel crash in a stored console log, attributed to the workload that was running."""
        ...

    def analyze(self, run: RunDir, meta: RunMetadata, overrides: ModelOverrides) -> GuestAnalysis:
        """Stored raw outputs → observations → the model's predictions → verdicts (no VM)."""
        ...


def check_model_overrides(kind: GuestKind, overrides: ModelOverrides) -> None:
    """Refuse ``--model`` keys the kind's model does not have (they would be ignored, and the run judged by the
    unchanged model) and values that are not non-negative integers (they would break the model mid-analysis)."""
    known = kind.model_keys
    for key, value in overrides.items():
        if key not in known:
            raise UsageError(
                f"--model {key}: the {kind.name} model has no constant {key!r}",
                hint=f"known: {', '.join(sorted(known))}",
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UsageError(f"--model {key}={value}: must be a non-negative integer")
