"""Predictions at the edges of the version matrix (model audit §5): G0-uma's UMA era, G3's kstack_cache item
size and object type, reservations per generation and arch. A mixin of predict.py's builder."""

from __future__ import annotations

import math

from harness.errors import UsageError
from harness.model.predict_base import BuilderBase
from harness.model.uma import BUCKET_MAX, g0_uma_maxcache_range


class EdgePredictions(BuilderBase):
    def _maxcache(self) -> None:
        self.add(
            "uma.kstack_cache.bucket_size_max",
            "I-6",
            "before",
            "items",
            self._bsize_why(),
            "sysctl vm.uma.kstack_cache.bucket_size_max",
            expected=self.mc.bucket_size,
        )
        self.add(
            "uma.kstack_cache.limit.bucket_max",
            "I-6",
            "before",
            "items",
            f"nitems − nb·bsize = {self.cap} − {self.mc.nb}·{self.mc.bucket_size}",
            "sysctl vm.uma.kstack_cache.limit.bucket_max",
            expected=self.mc.bucket_max,
        )

    def _g0_uma_maxcache(self) -> None:
        """G0-uma kernels carry pre-mid-2020 UMA, whose maxcache arithmetic differs (model audit §5.3): bound it."""
        (slo, shi), (mlo, mhi) = g0_uma_maxcache_range(self.cap, self.a.ncpu, self.a.ndomains)
        width = (
            "width: the UMA era is not pinned — 14-era uma_zone_set_maxcache (the model's simulation), the G0-uma "
            "anchor tree jwroberson/freebsd @327f5f8c (bpcpu 3, largest bucket zone with entries·bpcpu·ncpu ≤ "
            "nitems) and upstream Jan 2020 @175219a4 (bpcpu 2, 24-byte bucket header)"
        )
        self.add(
            "uma.kstack_cache.bucket_size_max",
            "I-6",
            "before",
            "items",
            f"bucket size for vm.kstack_cache_size {self.cap}; " + width,
            "sysctl vm.uma.kstack_cache.bucket_size_max",
            low=slo,
            high=shi,
        )
        self.add(
            "uma.kstack_cache.limit.bucket_max",
            "I-6",
            "before",
            "items",
            "what is left of the cap after the per-CPU buckets; " + width,
            "sysctl vm.uma.kstack_cache.limit.bucket_max",
            low=mlo,
            high=mhi,
        )

    def _item_size(self) -> None:
        a, src = self.a, "vmstat -z: kstack_cache SIZE"
        stack, slot = a.ptoa(a.kstack_pages), a.ptoa(a.stack_slot_pages)
        given = self.p.g3_kstack_cache_item_size
        if self.gen != "G3":
            self.add("kstack_cache.size", "I-1", "plateau", "bytes", "kstack_pages·PAGE_SIZE", src, expected=stack)
        elif given is not None:
            if given not in (stack, slot):
                raise UsageError(
                    f"g3_kstack_cache_item_size {given} is neither {stack} nor {slot}",
                    hint="give the kstack_cache SIZE the guest showed",
                )
            self.add(
                "kstack_cache.size",
                "I-1",
                "plateau",
                "bytes",
                f"{given} B, as given (a probed fact)",
                src,
                expected=given,
            )
        else:
            self.add(
                "kstack_cache.size",
                "I-1",
                "plateau",
                "bytes",
                f"G3 admits both {stack} (kstack_pages·PAGE_SIZE, as G1/G2) and {slot} ((kstack_pages + "
                "KSTACK_GUARD_PAGES)·PAGE_SIZE, as every post-removal vm_glue.c available: CHERI-Alliance/"
                "freebsd-src @50b6cd94, jrtc27/freebsd-src @360282d5): upstream 15.0 was not readable here, so the "
                "width is that open assumption; --model g3_kstack_cache_item_size= narrows it",
                src,
                low=stack,
                high=slot,
            )

    def _fullpop_high(self, stacks: int) -> tuple[float, str]:
        """Upper bound of vm.reserv.fullpop growth for ``stacks`` packed G2/G3 stacks, and why."""
        per_resv = max(1, self.a.reservation_pages // self.P)
        colored = f"{per_resv} consecutive slots from one domain can fill a {self.a.reservation_pages}-page reservation"
        high = math.ceil(stacks / per_resv) + 1 + self.p.reserv_noise
        if self.gen != "G3":
            return high, colored + "; fragmentation may prevent it"
        if self.p.g3_object_type == "ph":
            return self.p.reserv_noise, "OBJT_PHYS kstack objects are not colored: no reservations"
        if self.p.g3_object_type == "sw":
            return high, colored
        return high, colored + " if the objects are OBJT_SWAP; none if OBJT_PHYS (type unverified): union bound"

    def _bsize_why(self) -> str:
        """The I-6 bucket size arithmetic, naming the clamp when one applied (so the sentence equals the value)."""
        cap, nb = self.cap, self.mc.nb
        why = f"uma_zone_set_maxcache: bsize = {cap}/{nb}/2 = {cap // nb // 2}"
        if cap // nb // 2 > BUCKET_MAX:
            why += f", capped at BUCKET_MAX {BUCKET_MAX}"
        elif cap // nb // 2 == 0 and cap // nb > 0:
            why += f", forced to 1 because {cap}/{nb} > 0"
        return why + " (nb = bpcpu·ncpu + bpdom·ndom)"
