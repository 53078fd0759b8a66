"""The FreeBSD analysis path conditions the model's predictions on the ``before`` snapshot's cache state."""

from __future__ import annotations

from harness.model.arch import ArchConstants
from harness.run.freebsd_analysis import predictions_for, start_state, workload_params
from harness.validate.observed import Observations


def _before(**values: float) -> Observations:
    obs = Observations()
    for name, value in values.items():
        obs.put(name.replace("__", "."), "before", value)
    return obs


def test_used_and_free_go_together() -> None:
    assert start_state(_before(kstack_cache__used=1, kstack_cache__free=31)) == {"start_used": 1, "start_free": 31}
    assert start_state(_before(kstack_cache__used=1)) == {}
    obs = _before(kstack_cache__used=3, kstack_cache__free=40, uma__kstack_cache__bucket_size=16)
    assert start_state(obs) == {"start_used": 3, "start_free": 40, "start_bucket_size": 16}
    assert start_state(_before(vm__kstacks=7)) == {"start_kstacks": 7}


def test_the_snapshot_state_narrows_thread_hold() -> None:
    arch = ArchConstants.load("amd64", "G1", ncpu=1)
    start = start_state(_before(kstack_cache__used=1, kstack_cache__free=31))
    cold = workload_params("thread-hold", {"threads": 100}, None, {})
    warm = workload_params("thread-hold", {"threads": 100}, None, {}, start)

    def resident(params: object) -> tuple[float | None, float | None]:
        (p,) = [
            p
            for p in predictions_for("G1", arch, "thread-hold", params)  # type: ignore[arg-type]
            if p.name == "kstack_object.resident_pages" and p.phase == "plateau_delta"
        ]
        return p.low, p.high

    assert resident(warm) == (384, 384)
    low, high = resident(cold)
    assert low is not None and high is not None and high - low > 256


def test_a_probed_g3_fact_is_a_model_override() -> None:
    params = workload_params("thread-hold", {}, None, {"g3_object_type": "ph", "g3_kstack_cache_item_size": 20480})
    assert (params.g3_object_type, params.g3_kstack_cache_item_size) == ("ph", 20480)
