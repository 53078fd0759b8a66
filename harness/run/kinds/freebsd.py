"""The ``freebsd`` guest kind: a FreeBSD release image, optionally with a kernel built with ``--patch`` or given
with ``--kernel``; judged by generation against ``harness.model`` (``--model``: an arch constant or a workload
parameter). Preparing and booting: ``harness.run.freebsd_session``; judging: ``harness.run.freebsd_analysis``;
crashes: FreeBSD panics as ``harness.parse.panic`` reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.run.kinds.base import GuestAnalysis

if TYPE_CHECKING:
    from harness.report.results import Crash
    from harness.run.freebsd_session import Prepared
    from harness.run.metadata import RunMetadata
    from harness.run.request import ModelOverrides, RunRequest
    from harness.run.rundir import RunDir

#: ``--release`` when none is given: the newest 14.x.
DEFAULT_RELEASE = "14"


class FreeBSD:
    name = "freebsd"
    model_help = "an arch constant (kstack_pages, ncpu, …) or a workload parameter (noise, …)"
    has_releases = True
    takes_kernels = True

    @property
    def model_keys(self) -> frozenset[str]:
        from harness.run.freebsd_analysis import MODEL_KEYS

        return MODEL_KEYS

    def check_options(self, request: RunRequest) -> None:
        """Every ``harness run`` option applies to FreeBSD."""

    def resolve(self, request: RunRequest) -> None:
        """``--release``; else for ``--kernel`` the newest image not newer than the kernel's source (review M2)."""
        if request.release_name is None:
            from harness.run.freebsd_session import resolve_release

            request.release_name = resolve_release(request)

    def prepare(self, request: RunRequest) -> Prepared:
        from harness.run.freebsd_session import prepare

        return prepare(request)

    def find_crash(self, console_text: str) -> Crash | None:
        from harness.run.crashes import freebsd_crash

        return freebsd_crash(console_text)

    def analyze(self, run: RunDir, meta: RunMetadata, overrides: ModelOverrides) -> GuestAnalysis:
        from harness.run.freebsd_analysis import analyze

        return analyze(run, meta, overrides)
