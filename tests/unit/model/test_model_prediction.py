"""The Prediction contract: what admits an observation, and how a value reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.model.arch import ArchConstants
from harness.model.predict import WorkloadParams, predict
from harness.model.prediction import Prediction, number
from harness.validate.observed import Observations
from harness.validate.verdicts import Status, judge
from tests.support.model_scenarios import thread_hold_observations


def _p(**kw: float) -> Prediction:
    return Prediction(name="x", invariant="I-1", phase="plateau", unit="pages", why="w", source="s", **kw)


def test_integers_read_in_full_not_in_exponent_notation() -> None:
    assert _p(expected=134217728).describe() == "= 134217728"
    assert _p(low=-25165824, high=0).describe() == "in [-25165824, 0]"
    assert _p(expected=4144, tolerance=64).describe() == "= 4144 ± 64"
    assert _p(high=2032).describe() == "≤ 2032"
    assert number(0.5) == "0.5"


@pytest.mark.parametrize(
    ("prediction", "inside", "outside"),
    [(_p(expected=10, tolerance=2), [8, 12], [7.9, 12.1]), (_p(low=0, high=5), [0, 5], [-1, 6]), (_p(low=3), [3], [2])],
)
def test_admits_is_inclusive(prediction: Prediction, inside: list[float], outside: list[float]) -> None:
    assert all(prediction.admits(v) for v in inside)
    assert not any(prediction.admits(v) for v in outside)


def test_a_prediction_needs_a_value_or_a_bound() -> None:
    with pytest.raises(ValueError, match="neither a value nor a bound"):
        _p()


@pytest.mark.parametrize(
    ("cache_size", "bsize", "clamp"), [(3, 1, "forced to 1"), (128, 32, ""), (10**5, 254, "capped")]
)
def test_bucket_size_why_states_the_clamp_that_gives_the_value(cache_size: int, bsize: int, clamp: str) -> None:
    from harness.model.arch import ArchConstants
    from harness.model.predict import WorkloadParams, predict

    preds = predict("G1", ArchConstants.load("amd64"), "thread-hold", WorkloadParams(cache_size=cache_size))
    p = next(p for p in preds if p.name == "uma.kstack_cache.bucket_size_max")
    assert p.expected == bsize
    assert f"{cache_size}/2/2 = {cache_size // 4}" in p.why
    assert clamp in p.why if clamp else ("forced" not in p.why and "capped" not in p.why)


@pytest.mark.parametrize("generation", ["G0-uma", "G1", "G2"])
def test_thread_hold_held_stacks_are_judged_at_the_plateau_not_after_release(generation: str) -> None:
    """thread-hold snapshots before, at the plateau (N threads held) and after release: what the held threads
    own must be predicted against plateau − before; after − before is ≈ 0 once they have exited."""
    from harness.model.arch import ArchConstants
    from harness.model.generations import make_kernel
    from harness.model.predict import WorkloadParams, predict
    from harness.validate.observed import Observations

    arch = ArchConstants.load("amd64")
    k = make_kernel(generation, arch)
    pid = k.fork(0)
    assert pid is not None
    obs = Observations()

    def snapshot(phase: str) -> None:
        obs.put("kstack_cache.used", phase, k.cache_used())
        obs.put("thread.used", phase, k.thread_structs)

    snapshot("before")
    tids = [k.thread_create(pid, 0) for _ in range(1000)]
    snapshot("plateau")
    for tid in tids:
        assert tid is not None
        k.thread_exit(tid)
    k.reap(0, 0)
    snapshot("after")
    judged = 0
    for p in predict(generation, arch, "thread-hold", WorkloadParams(threads=1000)):
        if p.name in ("kstack_cache.used", "thread.used"):
            observed = obs.get(p.name, p.phase)
            assert observed is not None and p.admits(observed), (p.name, p.phase, observed, p.describe())
            judged += 1
    assert judged == 2


# --- predictions conditional on the before snapshot (issue 12 part 1) ------------------------------------------


def _hold(generation: str, ncpu: int, threads: int, warm: int) -> tuple[list[Prediction], Observations]:
    arch = ArchConstants.load("amd64", ncpu=ncpu)
    obs = thread_hold_observations(generation, arch, threads, warm=warm)
    used, free = obs.get("kstack_cache.used", "before"), obs.get("kstack_cache.free", "before")
    assert used is not None and free is not None
    params = WorkloadParams(threads=threads, noise=0, start_used=int(used), start_free=int(free))
    return predict(generation, arch, "thread-hold", params), obs


def test_thread_hold_from_the_before_state_is_sharp() -> None:
    """The acceptance case: 100 threads on one CPU from USED 1 / FREE 31 grow R by exactly 3 imports of 32."""
    preds = predict(
        "G1",
        ArchConstants.load("amd64", ncpu=1),
        "thread-hold",
        WorkloadParams(threads=100, start_used=1, start_free=31),
    )
    (r,) = [p for p in preds if p.name == "kstack_object.resident_pages" and p.phase == "plateau_delta"]
    assert r.admits(384) and r.low is not None and r.high is not None and r.high - r.low <= 256
    assert not r.admits(4 * 69)  # one import per miss (no batching) is outside
    assert "width:" in r.why and "placement" in r.why and "noise" in r.why


@settings(max_examples=25, deadline=None)
@given(
    generation=st.sampled_from(["G1", "G2", "G3"]),
    ncpu=st.sampled_from([1, 2, 4]),
    threads=st.integers(1, 300),
    warm=st.integers(1, 80),
)
def test_the_model_passes_its_own_replayed_predictions(generation: str, ncpu: int, threads: int, warm: int) -> None:
    preds, obs = _hold(generation, ncpu, threads, warm)
    failed = [v for v in judge(preds, obs) if v.status is Status.FAIL]
    assert failed == [], [v.why for v in failed]


def test_g3_item_size_and_object_type_admit_both_until_given() -> None:
    arch = ArchConstants.load("arm64", "G3")
    (size,) = [p for p in predict("G3", arch, "thread-hold") if p.name == "kstack_cache.size"]
    assert size.admits(16384) and size.admits(20480) and "width" in size.why
    given = WorkloadParams(g3_kstack_cache_item_size=20480, g3_object_type="ph")
    preds = predict("G3", arch, "thread-hold", given)
    (size,) = [p for p in preds if p.name == "kstack_cache.size"]
    assert size.admits(20480) and not size.admits(16384)
    (count,) = [p for p in preds if p.name == "kstack_objects.count"]
    assert count.expected == 0


def test_arm64_g3_has_two_reservation_levels_but_a_2mib_kstack_quantum() -> None:
    g2, g3 = ArchConstants.load("arm64", "G2"), ArchConstants.load("arm64", "G3")
    assert (g2.reservation_pages, g3.reservation_pages) == (512, 16)
    assert g2.kva_quantum == g3.kva_quantum == 2 << 20
    assert g3.slots_per_import == 511


@pytest.mark.parametrize("generation", ["G0-list", "G0-uma", "G1", "G2", "G3"])
@pytest.mark.parametrize("workload", ["thread-hold", "thread-churn", "fork-churn", "burst-and-idle", "swap-pressure"])
def test_every_width_names_its_source(generation: str, workload: str) -> None:
    for ncpu, ndomains in ((1, 1), (4, 2)):
        arch = ArchConstants.load("amd64", generation, ncpu=ncpu, ndomains=ndomains)
        for params in (WorkloadParams(), WorkloadParams(start_used=2, start_free=30, start_kstacks=3)):
            for p in predict(generation, arch, workload, params):
                if p.expected is None or p.tolerance:
                    assert "width" in p.why, (p.name, p.phase, p.why)
