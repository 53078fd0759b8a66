"""The mutation suite (issue 12, model audit §6.2): six behavioural bugs in the stack caches' policy, each
injected through the model's factory (``ModelParams(policy=...)`` → ``make_kernel``; no monkeypatching, so the
mypyc-compiled build runs it too). Each mutant must be caught by ``simulate`` (the lockstep policy reference) and
must fail at least one ``validate`` check on observations it produces itself, judged against the true model's
predictions; the true model's own observations must pass every check."""

from __future__ import annotations

import dataclasses
import operator

import pytest

from harness.model.arch import ArchConstants
from harness.model.invariants import InvariantViolation
from harness.model.kernel import ModelParams
from harness.model.predict import WorkloadParams, predict
from harness.model.simulate import simulate
from harness.model.uma import UMA_14, CachePolicy, MaxcacheParams, maxcache_params
from harness.validate.observed import Observations
from harness.validate.verdicts import Status, judge
from tests.support.model_scenarios import burst_reclaim_observations, thread_hold_observations


def _no_halving(nitems: int, ncpu: int, ndomains: int, firsttouch: bool) -> MaxcacheParams:
    """M2: ``bsize = nitems/nb`` — the ``/2`` dropped."""
    p = maxcache_params(nitems, ncpu, ndomains, firsttouch)
    size = min(nitems // p.nb, 254)
    return dataclasses.replace(p, bucket_size=size, bucket_max=nitems - p.nb * size)


def _bucket_max_plus_one(nitems: int, ncpu: int, ndomains: int, firsttouch: bool) -> MaxcacheParams:
    """``uz_bucket_max = nitems − nb·bsize + 1``: the limit arithmetic off by one."""
    p = maxcache_params(nitems, ncpu, ndomains, firsttouch)
    return dataclasses.replace(p, bucket_max=p.bucket_max + 1)


def _one_per_miss(bucket_size: int, entries: int) -> int:
    """M3: a miss imports one stack, not a bucket (I-7 batching lost)."""
    return 1


def _no_shrink(size_min: int, size: int) -> int:
    """M12: ``uma_reclaim(UMA_RECLAIM_DRAIN_CPU)`` skips ``cache_shrink``."""
    return size


#: name → (generation, the buggy policy, the scenario whose observations show it, a simulate seed whose first
#: 6,000 events reach the state the bug changes: kstacks == cache size for G0-list, a domain cache landing
#: exactly on uz_bucket_max for the zone_put_bucket comparison; the other four show at the first miss/reclaim).
MUTANTS: dict[str, tuple[str, CachePolicy, str, int]] = {
    "import-batching-lost": ("G1", dataclasses.replace(UMA_14, import_count=_one_per_miss), "hold", 0),
    "g0-list-lt": ("G0-list", dataclasses.replace(UMA_14, list_keeps=operator.lt), "hold", 1),
    "reclaim-skips-cache-shrink": ("G2", dataclasses.replace(UMA_14, shrink=_no_shrink), "reclaim", 0),
    "bucket-max-off-by-one": ("G3", dataclasses.replace(UMA_14, maxcache=_bucket_max_plus_one), "hold", 0),
    "bucket-size-without-halving": ("G0-uma", dataclasses.replace(UMA_14, maxcache=_no_halving), "hold", 0),
    "put-bucket-keeps-at-bucket-max": ("G1", dataclasses.replace(UMA_14, keeps=operator.le), "hold", 0),
}

ARCH = ArchConstants.load("amd64", ncpu=1)
SIM_PARAMS = {"phys_pages_per_domain": 1 << 16, "swap_pages": 1 << 16}


def _observe(generation: str, scenario: str, policy: CachePolicy) -> tuple[Observations, str, WorkloadParams]:
    params = ModelParams(policy=policy, **SIM_PARAMS)  # type: ignore[arg-type]
    if scenario == "reclaim":
        obs = burst_reclaim_observations(generation, ARCH, 300, params)
        return obs, "burst-and-idle", WorkloadParams(burst=300, noise=0)
    threads = 200
    obs = thread_hold_observations(generation, ARCH, threads, params)
    start = {
        "start_used": obs.get("kstack_cache.used", "before"),
        "start_free": obs.get("kstack_cache.free", "before"),
        "start_kstacks": obs.get("vm.kstacks", "before"),
    }
    given = {k: int(v) for k, v in start.items() if v is not None}
    # The model kernel has no background activity: noise 0 makes the predictions as sharp as the policy.
    return obs, "thread-hold", WorkloadParams(threads=threads, noise=0, **given)


def _failed_checks(generation: str, scenario: str, policy: CachePolicy) -> list[str]:
    obs, workload, wp = _observe(generation, scenario, policy)
    verdicts = judge(predict(generation, ARCH, workload, wp), obs, workload=workload)
    return [v.check for v in verdicts if v.status is Status.FAIL]


@pytest.mark.parametrize("name", list(MUTANTS))
def test_simulate_catches_the_mutant(name: str) -> None:
    generation, policy, _, seed = MUTANTS[name]
    with pytest.raises(InvariantViolation) as info:
        simulate(generation, ARCH, 6000, seed=seed, params=ModelParams(policy=policy, **SIM_PARAMS))  # type: ignore[arg-type]
    assert "cache policy" in str(info.value)


@pytest.mark.parametrize("name", list(MUTANTS))
def test_validate_fails_the_mutants_own_observations(name: str) -> None:
    generation, policy, scenario, _ = MUTANTS[name]
    assert _failed_checks(generation, scenario, policy), f"{name}: every check passed on the mutant's observations"


@pytest.mark.parametrize(("generation", "scenario"), sorted({(g, s) for g, _, s, _ in MUTANTS.values()}))
def test_the_true_model_passes_its_own_observations(generation: str, scenario: str) -> None:
    assert _failed_checks(generation, scenario, UMA_14) == []


@pytest.mark.parametrize("generation", ["G0-list", "G0-uma", "G1", "G2", "G3"])
def test_simulate_with_the_true_policy_agrees_with_the_reference(generation: str) -> None:
    result = simulate(generation, ARCH, 6000, seed=1, params=ModelParams(**SIM_PARAMS))  # type: ignore[arg-type]
    assert "policy" in result.invariants
