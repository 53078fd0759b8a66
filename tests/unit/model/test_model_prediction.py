"""The Prediction contract: what admits an observation, and how a value reads."""

from __future__ import annotations

import pytest

from harness.model.prediction import Prediction, number


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
