"""The prediction builder's state and ``add`` (predict.py), shared with its mixins (predict_edges.py,
predict_state.py), and the workload parameters the predictions are made for."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from harness.errors import UsageError
from harness.model.arch import ArchConstants
from harness.model.conditional import StartState
from harness.model.prediction import Prediction
from harness.model.uma import maxcache_params

UMA_GENS = ("G0-uma", "G1", "G2", "G3")
OBJ_GENS = ("G1", "G2", "G3")
SWAP_GENS = ("G0-list", "G0-uma", "G1", "G2")


@dataclass(frozen=True)
class WorkloadParams:
    threads: int = 1000  # thread-hold: N; thread-churn: T per round; swap-pressure: threads per process
    rounds: int = 10  # thread-churn R, fork-churn rounds
    concurrency: int = 4  # thread-churn C, fork-churn K
    forks: int = 1000  # fork-churn: total forks
    burst: int = 2000  # burst-and-idle: B
    procs: int = 8  # swap-pressure: M
    noise: int = 8  # background allowance in items
    proc_objects: int = 32  # VM objects one workload process may create (vmspace, anon, …)
    reserv_noise: int = 4  # unrelated reservations that may fill or empty meanwhile
    cache_size: int | None = None  # vm.kstack_cache_size if set by the workload
    # The kstack_cache state of the ``before`` snapshot (vmstat -z USED/FREE, sysctl
    # vm.uma.kstack_cache.bucket_size): with it, thread-hold's predictions are replayed from that state
    # (conditional.py) instead of bounded over every state.
    start_used: int | None = None
    start_free: int | None = None
    start_bucket_size: int | None = None
    start_kstacks: int | None = None  # G0-list: sysctl vm.kstacks before the workload
    # G3 facts the guest probes can establish (upstream is unverified here, model audit §5.2): the kstack
    # objects' type, "sw" (OBJT_SWAP) or "ph" (OBJT_PHYS), and kstack_cache's item size in bytes
    # (kstack_pages·PAGE_SIZE or (kstack_pages + guard)·PAGE_SIZE). None: both are admitted.
    g3_object_type: str | None = None
    g3_kstack_cache_item_size: int | None = None

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, int) and value < 0:
                raise UsageError(f"{name} must not be negative: {value}")
        if self.g3_object_type not in (None, "sw", "ph"):
            raise UsageError(f"g3_object_type must be sw or ph, not {self.g3_object_type!r}")
        if (self.start_used is None) != (self.start_free is None):
            raise UsageError("start_used and start_free go together (kstack_cache USED and FREE before the workload)")

    @property
    def start(self) -> StartState | None:
        if self.start_used is None or self.start_free is None:
            return None
        return StartState(self.start_used, self.start_free, self.start_bucket_size)


class BuilderBase:
    def __init__(self, gen: str, arch: ArchConstants, p: WorkloadParams) -> None:
        self.gen = gen
        self.a = arch
        self.p = p
        self.out: list[Prediction] = []
        self.P = arch.kstack_pages
        if gen == "G0-list":
            self.cap = p.cache_size if p.cache_size is not None else 128
        else:
            self.cap = p.cache_size if p.cache_size is not None else arch.default_kstack_cache_size
        self.mc = maxcache_params(self.cap, arch.ncpu, arch.ndomains)
        self.inputs: dict[str, Any] = {
            "generation": gen,
            "arch": arch.arch,
            "kstack_pages": arch.kstack_pages,
            "ncpu": arch.ncpu,
            "ndomains": arch.ndomains,
            **{k: v for k, v in asdict(p).items() if v is not None},
        }

    def add(
        self,
        name: str,
        invariant: str,
        phase: str,
        unit: str,
        why: str,
        source: str,
        *,
        expected: float | None = None,
        low: float | None = None,
        high: float | None = None,
        tolerance: float = 0.0,
    ) -> None:
        if (expected is None or tolerance) and "width" not in why:
            raise AssertionError(f"prediction {name}@{phase} has a width but its why does not say where it comes from")
        self.out.append(
            Prediction(name, invariant, phase, unit, why, source, expected, low, high, tolerance, dict(self.inputs))
        )

    @property
    def uma(self) -> bool:
        return self.gen in UMA_GENS
