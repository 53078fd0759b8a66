"""Observations a model kernel produces for a workload, as a guest would show them (for the mutation suite).

``thread_hold_observations`` boots a model kernel (through ``make_kernel``, the factory the simulator uses, with
whatever ``ModelParams`` — and so whatever cache policy — it is given), warms the cache the way a fresh guest does
(one process, one thread), then holds ``threads`` threads created round-robin over the CPUs and reaps them,
sampling what ``vmstat -z``, ``vmstat -o`` and the sysctls would show before, at the plateau and after.
"""

from __future__ import annotations

from harness.model.arch import ArchConstants
from harness.model.generations import make_kernel
from harness.model.kernel import Kernel, ModelParams
from harness.model.uma_backend import UmaCacheKernel
from harness.validate.observed import Observations


def snapshot(k: Kernel) -> dict[str, float]:
    values: dict[str, float] = {
        "kern.kstack_pages": k.P,
        "vm.kstack_cache_size": k.cache_size,
        "thread.used": k.thread_structs,
    }
    objs = k.stack_objects()
    if k.generation in ("G1", "G2", "G3"):
        values["kstack_object.resident_pages"] = objs[0].resident
    if isinstance(k, UmaCacheKernel):
        z = k.zone
        values.update(
            {
                "kstack_cache.used": z.used,
                "kstack_cache.free": z.nfree,
                "kstack_cache.req": z.allocs,
                "kstack_cache.fail": 0,
                "uma.kstack_cache.bucket_size_max": z.bucket_size_max,
                "uma.kstack_cache.bucket_size": z.bucket_size,
                "uma.kstack_cache.limit.bucket_max": z.bucket_max,
            }
        )
    else:
        values["vm.kstacks"] = getattr(k, "kstacks", 0)
    return values


def thread_hold_observations(
    generation: str, arch: ArchConstants, threads: int, params: ModelParams | None = None, *, warm: int = 1
) -> Observations:
    """before / plateau / after of thread-hold on a model kernel; ``warm`` threads are created and reaped first
    (a guest that already ran something), so the cache is not cold."""
    k = make_kernel(generation, arch, params or ModelParams(phys_pages_per_domain=1 << 16, swap_pages=1 << 16))
    init = k.fork(0)
    assert init is not None
    warmed = [k.thread_create(init, i % k.ncpu) for i in range(warm - 1)]
    for tid in warmed:
        assert tid is not None
        k.thread_exit(tid)
    k.reap()
    obs = Observations()
    for name, value in snapshot(k).items():
        obs.put(name, "before", value)
    tids = [k.thread_create(init, i % k.ncpu) for i in range(threads)]
    for name, value in snapshot(k).items():
        obs.put(name, "plateau", value)
    for tid in tids:
        assert tid is not None
        k.thread_exit(tid)
    k.reap(cpu=0)
    for name, value in snapshot(k).items():
        obs.put(name, "after", value)
    return obs


def burst_reclaim_observations(
    generation: str, arch: ArchConstants, burst: int, params: ModelParams | None = None
) -> Observations:
    """burst-and-idle's reclaim moments: a burst of threads reaped, then ``debug.uma_reclaim=1`` and ``=2``."""
    k = make_kernel(generation, arch, params or ModelParams(phys_pages_per_domain=1 << 16, swap_pages=1 << 16))
    init = k.fork(0)
    assert init is not None
    obs = Observations()
    for name, value in snapshot(k).items():
        obs.put(name, "before", value)
    tids = [k.thread_create(init, i % k.ncpu) for i in range(burst)]
    for tid in tids:
        assert tid is not None
        k.thread_exit(tid)
    k.reap(cpu=0)
    k.uma_reclaim(1)
    k.uma_reclaim(2)
    for name, value in snapshot(k).items():
        obs.put(f"{name}.after_reclaim_drain_cpu", "after", value)
    return obs
