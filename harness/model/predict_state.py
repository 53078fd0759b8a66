"""Predictions conditional on the ``before`` snapshot's state (issue 12 part 1): thread-hold replayed from
kstack_cache USED/FREE (conditional.py), G0-list's vm.kstacks, the bucket size after the reclaims. A mixin of
predict.py's builder."""

from __future__ import annotations

from harness.model.conditional import thread_hold as hold_from_state
from harness.model.predict_base import OBJ_GENS, BuilderBase


class StatePredictions(BuilderBase):
    def _bucket_size_after_reclaims(self) -> None:
        """``debug.uma_reclaim=1`` then ``=2``: each bucket-cache reclaim lowers uz_bucket_size by one (down to
        bucket_size_min), and DRAIN_CPU's ``cache_shrink`` halves it toward the minimum in between."""
        size_min = 1 if self.mc.bucket_size else 0
        start = self.p.start_bucket_size if self.p.start_bucket_size is not None else self.mc.bucket_size

        def down(size: int) -> int:
            return size - 1 if size > size_min else size

        after = down((size_min + down(down(start))) // 2)
        contention = self.a.ncpu > 1
        self.add(
            "uma.kstack_cache.bucket_size.after_reclaim_drain_cpu",
            "I-8",
            "after",
            "items",
            f"uz_bucket_size {start} − 1 (reclaim=1) − 1, halved toward {size_min} by cache_shrink, − 1 (reclaim=2); "
            + (
                "width: lock contention may grow it back up to bucket_size_max on more than one CPU"
                if contention
                else f"assumes uz_bucket_size was {start} before (bucket_size_max unless observed)"
            ),
            "sysctl vm.uma.kstack_cache.bucket_size after debug.uma_reclaim=2",
            expected=None if contention else after,
            low=after if contention else None,
            high=self.mc.bucket_size if contention else None,
        )

    def _kstacks_after_hold(self) -> None:
        """G0-list: reaping the held threads destroys stacks while vm.kstacks > kstack_cache_size and caches the
        rest (``vm_thread_dispose``'s ``kstacks <= kstack_cache_size``), so vm.kstacks ends at min(plateau, cap)."""
        k0 = self.p.start_kstacks
        if k0 is None:
            return
        N, n = self.p.threads, self.p.noise
        # Each of the N disposals destroys while vm.kstacks > cap and caches otherwise, so from k constructed
        # stacks at the plateau it ends at max(min(k, cap), k − N); k is between max(k0, N) and k0 + N + 1.
        k_low, k_high = max(k0, N), k0 + N + 1
        low = max(min(k_low, self.cap), k_low - N) - n
        high = max(min(k_high, self.cap), k_high - N) + n
        self.add(
            "vm.kstacks",
            "I-8",
            "after",
            "stacks",
            f"from vm.kstacks {k0} before: the plateau holds between max({k0}, N) and {k0}+N+1 constructed stacks "
            f"and the N disposals destroy while vm.kstacks > vm.kstack_cache_size {self.cap}; width: the unknown "
            f"list length before and ±{n} background stacks (noise)",
            "sysctl vm.kstacks",
            low=max(0, low),
            high=high,
        )

    def _hold_from_start(self) -> bool:
        """thread-hold's R and F replayed from the before snapshot's cache state (conditional.py); False when no
        state was given or it cannot be replayed (NUMA, too long), and the unconditional bounds apply."""
        start = self.p.start
        if start is None or self.gen not in OBJ_GENS or self.a.ndomains != 1:
            return False
        out = hold_from_state(self.cap, self.a.ncpu, start, self.p.threads, self.p.noise)
        if out is None:
            return False
        P = self.P
        src_r, src_f = "vmstat -o: RES of kstack_object", "vmstat -z: kstack_cache FREE"
        self.add(
            "kstack_object.resident_pages",
            "I-7",
            "plateau_delta",
            "pages",
            "P_k pages per stack imported in batches of uz_bucket_size while the held threads are created; width: "
            + out.width,
            src_r,
            low=P * out.built_plateau.low,
            high=P * out.built_plateau.high,
        )
        self.add(
            "kstack_cache.free",
            "I-7",
            "plateau",
            "stacks",
            "what the last import left over; width: " + out.width,
            src_f,
            low=max(0, out.free_plateau.low),
            high=min(self.cap, out.free_plateau.high),
        )
        self.add(
            "kstack_object.resident_pages",
            "I-8",
            "delta",
            "pages",
            "after the threads are reaped, full free buckets beyond uz_bucket_max are released; width: " + out.width,
            "vmstat -o: RES of kstack_object (after − before)",
            low=P * out.built_after.low,
            high=P * out.built_after.high,
        )
        self.add(
            "kstack_cache.free",
            "I-8",
            "after",
            "stacks",
            "per-CPU buckets plus domain buckets kept below uz_bucket_max; width: " + out.width,
            src_f,
            low=max(0, out.free_after.low),
            high=min(self.cap, out.free_after.high),
        )
        return True
