"""Predictions: for a workload and a generation, the observables the real kernel must show (spec §5, §6.2).

Exact values come from the spec's arithmetic (I-6 maxcache, object size, per-stack KVA). Where the kernel's
behaviour depends on timing (zombie reaping, UMA trimming, which PROC item fork gets, swapout eligibility,
unrelated system activity) the prediction is a bound. ``WorkloadParams.noise`` is the allowance, in items, for
background activity of an idle guest (sshd, cron, the harness's own commands) between two samples.
"""

from __future__ import annotations

import math

from harness.errors import UsageError
from harness.model.arch import ArchConstants
from harness.model.generations import canonical
from harness.model.predict_base import OBJ_GENS, SWAP_GENS, UMA_GENS, WorkloadParams
from harness.model.predict_edges import EdgePredictions
from harness.model.predict_state import StatePredictions
from harness.model.prediction import Prediction

WORKLOADS = ("thread-hold", "thread-churn", "fork-churn", "burst-and-idle", "swap-pressure")
__all__ = ["OBJ_GENS", "SWAP_GENS", "UMA_GENS", "WORKLOADS", "WorkloadParams", "predict"]


def predict(
    generation: str, arch: ArchConstants, workload: str, params: WorkloadParams | None = None
) -> list[Prediction]:
    """The observables ``workload`` must show on a ``generation`` kernel with ``arch``'s constants."""
    gen = canonical(generation)
    if workload not in WORKLOADS:
        raise UsageError(f"unknown workload {workload!r}", hint=f"use one of: {', '.join(WORKLOADS)}")
    p = params or WorkloadParams()
    b = _Builder(gen, arch, p)
    b.common()
    getattr(b, workload.replace("-", "_"))()
    return b.out


class _Builder(EdgePredictions, StatePredictions):
    """Every prediction of one generation and workload (the version edges and the replayed ones are mixins)."""

    # --- every workload ----------------------------------------------------------------------------------------

    def common(self) -> None:
        a, gen, n = self.a, self.gen, self.p.noise
        self.add(
            "kern.kstack_pages",
            "I-1",
            "before",
            "pages",
            "P_k, the default stack size",
            "sysctl kern.kstack_pages",
            expected=a.kstack_pages,
        )
        self.add(
            "vm.kstack_cache_size",
            "I-6",
            "before",
            "stacks",
            "imax(128, 4·ncpu) from kstack_cache_init (G0-list: 128)"
            if self.p.cache_size is None
            else "set by the workload",
            "sysctl vm.kstack_cache_size",
            expected=self.cap,
        )
        if gen == "G0-list":
            return
        if gen == "G0-uma":
            self._g0_uma_maxcache()
        else:
            self._maxcache()
        self._item_size()
        self.add(
            "kstack_cache.limit",
            "I-6",
            "plateau",
            "items",
            "a cache zone has no item limit",
            "vmstat -z: kstack_cache LIMIT",
            expected=0,
        )
        self.add(
            "kstack_cache.sleep",
            "I-6",
            "plateau",
            "count",
            "vm_thread_new allocates with M_NOWAIT",
            "vmstat -z: kstack_cache SLEEP",
            expected=0,
        )
        self.add(
            "kstack_cache.free",
            "I-6",
            "plateau",
            "stacks",
            "per-CPU buckets plus a domain cache kept below bucket_max never exceed vm.kstack_cache_size; width: the "
            "cache state is not replayed here (any F the I-6 bound admits)",
            "vmstat -z: kstack_cache FREE",
            low=0,
            high=self.cap + self._numa_slack(),
        )
        self.add(
            "thread.used_minus_kstack_cache.used",
            "I-2",
            "delta",
            "items",
            f"every THREAD item owns one stack; the non-default ones (N_alt) do not change; width: ±{n} background "
            "non-default stacks and samples taken a moment apart (noise)",
            "vmstat -z: THREAD USED − kstack_cache USED",
            expected=0,
            tolerance=n,
        )
        if gen in OBJ_GENS:
            self.add(
                "kstack_object.size_pages",
                "I-20",
                "plateau",
                "pages",
                "atop(VM_MAX_KERNEL_ADDRESS − VM_MIN_KERNEL_ADDRESS), never changes",
                "DDB show object *kstack_object: size=, or sysctl vm.objects kvo_size/PAGE_SIZE",
                expected=a.kstack_object_size,
            )
            self.add(
                "kstack_object.ref",
                "I-20",
                "plateau",
                "refs",
                "kstack_object is never shared or freed",
                "vmstat -o: REF of the kstack_object row",
                expected=1,
            )
            self.add(
                "kstack_object.shadow",
                "I-20",
                "plateau",
                "count",
                "no shadow objects",
                "vmstat -o: SHD of the kstack_object row",
                expected=0,
            )
            if gen == "G3" and self.p.g3_object_type is not None:
                self.add(
                    "kstack_objects.count",
                    "I-11",
                    "plateau",
                    "objects",
                    f"two objects of type {self.p.g3_object_type} (given): "
                    + ("both are swap objects" if self.p.g3_object_type == "sw" else "OBJT_PHYS: no swap object"),
                    "sysctl vm.objects: swap objects with kvo_size == vm.kvm_size",
                    expected=2 if self.p.g3_object_type == "sw" else 0,
                )
            elif gen == "G3":
                self.add(
                    "kstack_objects.count",
                    "I-11",
                    "plateau",
                    "objects",
                    "two objects whose type is unverified upstream: width from admitting both OBJT_SWAP (2 swap "
                    "objects, as G2) and OBJT_PHYS (0; every post-removal vm_glue.c available, e.g. "
                    "CHERI-Alliance/freebsd-src @50b6cd94) until a guest probe names it (--model g3_object_type=)",
                    "sysctl vm.objects: swap objects with kvo_size == vm.kvm_size",
                    low=0,
                    high=2,
                )
            else:
                self.add(
                    "kstack_objects.count",
                    "I-11",
                    "plateau",
                    "objects",
                    "G1: kstack_object; G2: kstack_object and kstack_alt_object",
                    "sysctl vm.objects: swap objects with kvo_size == vm.kvm_size",
                    expected=1 if gen == "G1" else 2,
                )
            if gen in ("G2", "G3"):
                self.add(
                    "kstack_object.resident_minus_pk_cache",
                    "I-1",
                    "plateau",
                    "pages",
                    "R = P_k·(U+F) at quiescence: alt stacks live in kstack_alt_object; width: P_k·noise pages "
                    "(background "
                    "stacks between the two samples)",
                    "vmstat -o: RES of kstack_object − P_k·(kstack_cache USED+FREE)",
                    expected=0,
                    tolerance=self.P * n,
                )
            else:
                self.add(
                    "kstack_object.resident_minus_pk_cache",
                    "I-1",
                    "delta",
                    "pages",
                    "R − P_k·(U+F) = pages of non-default stacks, which the workload does not change; width: "
                    "P_k·noise pages "
                    "(background stacks between the two samples)",
                    "vmstat -o: RES of kstack_object − P_k·(kstack_cache USED+FREE)",
                    expected=0,
                    tolerance=self.P * n,
                )

    def _numa_slack(self) -> int:
        """Cross-domain buckets, and bucket_max per further domain (zone_put_bucket checks per domain)."""
        nd = self.a.ndomains
        return self.a.ncpu * self.mc.bucket_size + (nd - 1) * self.mc.bucket_max if nd > 1 else 0

    def _kva_low(self, stacks: int) -> float:
        a = self.a
        if self.gen in ("G2", "G3"):
            chunk = a.kva_quantum * (128 if a.ndomains > 1 else 8)
            return -(math.ceil(stacks / a.slots_per_import) + 1) * chunk * a.ndomains
        return -(math.ceil(stacks * a.ptoa(a.stack_slot_pages) / a.kva_quantum) + 2) * a.kva_quantum

    # --- workloads -----------------------------------------------------------------------------------------------

    def thread_hold(self) -> None:
        N, n, P, gen = self.p.threads, self.p.noise, self.P, self.gen
        src_u = "vmstat -z: kstack_cache USED"
        if self.uma:
            self.add(
                "kstack_cache.used",
                "I-2",
                "plateau_delta",
                "stacks",
                f"each held thread owns a stack; width: +1 if fork took a never-used PROC item, ±{n} background "
                "stacks (noise)",
                src_u,
                low=N - n,
                high=N + 1 + n,
            )
            self.add(
                "kstack_cache.req",
                "I-7",
                "delta",
                "allocs",
                f"one uma_zalloc per thr_new; width: fork's first stack (+1) and up to {n} background allocations "
                "(noise)",
                "vmstat -z: kstack_cache REQ",
                low=N,
                high=N + 1 + n,
            )
            self.add(
                "kstack_cache.fail",
                "I-18",
                "delta",
                "count",
                "no shortage: every import succeeds",
                "vmstat -z: kstack_cache FAIL",
                expected=0,
            )
        else:
            self._kstacks_after_hold()
            self.add(
                "vm.kstacks",
                "I-2",
                "plateau_delta",
                "stacks",
                f"vm.kstacks counts constructed stacks; up to {self.cap} cached ones are reused first; width: how "
                f"many are cached before (0…{self.cap}), fork's first stack (+1) and ±{n} background stacks (noise)",
                "sysctl vm.kstacks",
                low=max(0, N - self.cap) - n,
                high=N + 1 + n,
            )
        self.add(
            "thread.used",
            "I-2",
            "plateau_delta",
            "items",
            f"one THREAD item per held thread; width: fork's first thread (+1) and ±{n} background threads (noise)",
            "vmstat -z: THREAD USED",
            low=N - n,
            high=N + 1 + n,
        )
        if gen.startswith("G0"):
            self.add(
                "vm_object.used",
                "I-11",
                "plateau_delta",
                "objects",
                f"G0: one VM object per constructed stack (cached stacks are reused first); width: 0…{self.cap} "
                f"cached stacks before, ±{n} background (noise) and up to {self.p.proc_objects} objects of the "
                "workload process",
                "vmstat -z: VM OBJECT USED",
                low=max(0, N - self.cap) - n,
                high=N + 1 + n + self.p.proc_objects,
            )
        else:
            self.add(
                "vm_object.used",
                "I-11",
                "plateau_delta",
                "objects",
                f"G1+: stacks live in kstack_object, no VM object per stack; width: up to {self.p.proc_objects} "
                f"objects of the workload process and ±{n} background (noise)",
                "vmstat -z: VM OBJECT USED",
                low=-n,
                high=self.p.proc_objects + n,
            )
        if gen in OBJ_GENS and not self._hold_from_start():
            self.add(
                "kstack_object.resident_pages",
                "I-1",
                "plateau_delta",
                "pages",
                "P_k pages per stack constructed; cached stacks already count; width: the unknown cache state "
                f"before the workload (0…cap = {self.cap} cached stacks) and ±{n} background stacks (noise); give "
                "--start-used/--start-free to replay from the observed state",
                "vmstat -o: RES of kstack_object",
                low=P * (max(0, N - self.cap) - n),
                high=P * (N + 1 + n + self.cap),
            )
        self.add(
            "vm.kvm_free",
            "I-12",
            "delta",
            "bytes",
            "kvm_free = VM_MAX_KERNEL_ADDRESS − kernel_vm_end: it only shrinks, in 2 MiB steps, and only "
            "when the kernel map grows (pmap_growkernel); it never recovers on release; width: whether the "
            "stacks needed new KVA at all (0) up to every stack's slot rounded to whole KVA quanta",
            "sysctl vm.kvm_free",
            low=self._kva_low(N + n),
            high=0,
        )
        if gen in ("G2", "G3"):
            self.add(
                "vmem.kstack_arena.inuse_minus_cache",
                "I-12",
                "plateau",
                "bytes",
                "20480 B of kstack arena per default stack, cached or in use; width: one slot per background stack "
                "(noise)",
                "DDB show all vmem: Σ 'kstack arena' inuse − (P_k+1)·4096·(kstack_cache USED+FREE)",
                expected=0,
                tolerance=self.a.ptoa(self.a.stack_slot_pages) * n,
            )
            self.add(
                "vmem.kstack_arena.busy_tags_minus_cache",
                "I-12",
                "plateau",
                "tags",
                "one busy tag per default stack; width: one per background stack (noise)",
                "DDB show all vmem: Σ 'kstack arena' busy tags − (USED+FREE)",
                expected=0,
                tolerance=n,
            )
            high, why = self._fullpop_high(N)
            self.add(
                "vm.reserv.fullpop",
                "I-13",
                "plateau_delta",
                "reservations",
                why + f"; width: ±{self.p.reserv_noise} unrelated reservations (reserv_noise)",
                "sysctl vm.reserv.fullpop",
                low=-self.p.reserv_noise,
                high=high,
            )
        elif gen == "G1":
            self.add(
                "vm.reserv.fullpop",
                "I-13",
                "plateau_delta",
                "reservations",
                "guard-page holes cap a stack reservation at 4/5 full: stacks never raise fullpop; width: "
                "±reserv_noise "
                "unrelated reservations",
                "sysctl vm.reserv.fullpop",
                low=-self.p.reserv_noise,
                high=self.p.reserv_noise,
            )

    def thread_churn(self) -> None:
        T, R, C, n = self.p.threads, self.p.rounds, self.p.concurrency, self.p.noise
        total = T * R
        if self.uma:
            self.add(
                "kstack_cache.req",
                "I-9",
                "delta",
                "allocs",
                "one uma_zalloc per pthread_create; width: fork's first stack (+1) and the noise allowance per round",
                "vmstat -z: kstack_cache REQ",
                low=total,
                high=total + 1 + n * max(1, R),
            )
            self.add(
                "kstack_cache.used",
                "I-10",
                "after",
                "stacks",
                f"after the zombies are reaped (≤ 5 s) U returns to its baseline; width: ±{n} background stacks "
                "(noise)",
                "vmstat -z: kstack_cache USED (after − before)",
                expected=0,
                tolerance=n,
            )
            self.add(
                "kstack_cache.free",
                "I-6",
                "after",
                "stacks",
                "the cache never holds more than its cap; width: the unreplayed cache state (any F the I-6 bound "
                "admits)",
                "vmstat -z: kstack_cache FREE",
                low=0,
                high=self.cap + self._numa_slack(),
            )
            self.add(
                "kstack_cache.fail", "I-18", "delta", "count", "no shortage", "vmstat -z: kstack_cache FAIL", expected=0
            )
        if self.gen.startswith("G0"):
            self.add(
                "vm_object.req",
                "I-11",
                "delta",
                "allocs",
                "G0: an object per stack built; at least the concurrency beyond the cache must be built; width: a "
                "lower bound only (how many more are built depends on reaping timing)",
                "vmstat -z: VM OBJECT REQ",
                low=max(0, C * T - self.cap - n) if R else 0,
            )
        else:
            self.add(
                "vm_object.req",
                "I-11",
                "delta",
                "allocs",
                "G1+: building a stack allocates no VM object; width: the workload process's own objects and the noise "
                "allowance per round",
                "vmstat -z: VM OBJECT REQ",
                low=0,
                high=self.p.proc_objects + n * max(1, R),
            )
        if self.gen in OBJ_GENS:
            self.add(
                "kstack_object.resident_pages",
                "I-8",
                "after",
                "pages",
                "R moves only with F once U is back at baseline: by at most P_k·cap; width: the unreplayed cache state "
                "(F anywhere in 0…cap before and after) and the noise allowance",
                "vmstat -o: RES of kstack_object (after − before)",
                low=-self.P * (self.cap + n),
                high=self.P * (self.cap + n),
            )

    def fork_churn(self) -> None:
        F, K, n = self.p.forks, self.p.concurrency, self.p.noise
        self.add(
            "v_forks",
            "I-9",
            "delta",
            "forks",
            f"one fork() per child; width: ±{n} background forks per round (noise: the harness's own commands)",
            "vmstat -s: fork() calls",
            low=F,
            high=F + n * max(1, self.p.rounds),
        )
        if self.uma:
            self.add(
                "kstack_cache.req",
                "I-9",
                "delta",
                "allocs",
                "fork1 reuses the stack parked with the PROC item's first thread; only never-used PROC "
                "items (at most the concurrency) need a new one; width: 0…concurrency+1 never-used PROC items "
                "and the noise allowance",
                "vmstat -z: kstack_cache REQ",
                low=0,
                high=K + 1 + n,
            )
            self.add(
                "kstack_cache.used",
                "I-3",
                "after",
                "stacks",
                f"parked first threads keep their stacks: U does not return below baseline; width: 0…{K}+1 "
                f"never-used PROC items and ±{n} background stacks (noise)",
                "vmstat -z: kstack_cache USED (after − before)",
                low=-n,
                high=K + 1 + n,
            )
        self.add(
            "thread.used",
            "I-3",
            "after",
            "items",
            f"a PROC item keeps its first thread after wait(); width: up to the concurrency {K} (+1) never-used PROC "
            f"items and ±{n} background (noise)",
            "vmstat -z: THREAD USED (after − before)",
            low=-n,
            high=K + 1 + n,
        )
        self.add(
            "proc.used_plus_free",
            "I-3",
            "after",
            "items",
            f"PROC is NOFREE: items are never returned; width: 0…{K}+1 new items, depending on how many were free "
            f"before, and ±{n} background (noise)",
            "vmstat -z: PROC USED+FREE (after − before)",
            low=0,
            high=K + 1 + n,
        )

    def burst_and_idle(self) -> None:
        B, n = self.p.burst, self.p.noise
        if not self.uma:
            self.add(
                "vm.kstacks",
                "I-8",
                "after",
                "stacks",
                "G0-list keeps a freed stack only while vm.kstacks ≤ vm.kstack_cache_size; width: how many were "
                f"cached before (0…cap) and ±{n} background stacks (noise)",
                "sysctl vm.kstacks",
                low=0,
                high=self.cap + 1 + n,
            )
            return
        self.add(
            "kstack_cache.used",
            "I-10",
            "plateau_delta",
            "stacks",
            f"one stack per live thread of the burst; width: fork's first stack (+1) and ±{n} background stacks "
            "(noise)",
            "vmstat -z: kstack_cache USED (plateau − before)",
            low=B - n,
            high=B + 1 + n,
        )
        self.add(
            "kstack_cache.used.after_exit",
            "I-10",
            "after",
            "stacks",
            f"the zombies are reaped within seconds; width: ±{n} background stacks (noise)",
            "vmstat -z: kstack_cache USED (after exit − before)",
            expected=0,
            tolerance=n,
        )
        self.add(
            "kstack_cache.free.after_exit",
            "I-8",
            "after",
            "stacks",
            "stacks beyond the cap are released at once (bucket cache over bucket_max); width: the placement of the "
            "freed stacks between per-CPU buckets and the domain cache (0…cap)",
            "vmstat -z: kstack_cache FREE",
            low=0,
            high=self.cap + self._numa_slack(),
        )
        self.add(
            "kstack_cache.free.after_idle",
            "I-8",
            "after",
            "stacks",
            "zone_timeout runs every 20 s; 14.x+ UMA trims only items unused for ~15 min and 13.x's timeout "
            "never trims (it only updates the working-set estimate); width: that era and timing, 0…cap",
            "vmstat -z: kstack_cache FREE after 60 s idle",
            low=0,
            high=self.cap + self._numa_slack(),
        )
        percpu = self.a.ncpu * self.mc.bpcpu * self.mc.bucket_size
        self.add(
            "kstack_cache.free.after_reclaim_drain",
            "I-8",
            "after",
            "stacks",
            "debug.uma_reclaim=1 empties the domain bucket caches; per-CPU buckets remain; width: how full the "
            f"per-CPU buckets are (0…{percpu}) and ±{n} background stacks (noise)",
            "vmstat -z: kstack_cache FREE after sysctl debug.uma_reclaim=1",
            low=0,
            high=percpu + n,
        )
        self._bucket_size_after_reclaims()
        self.add(
            "kstack_cache.free.after_reclaim_drain_cpu",
            "I-8",
            "after",
            "stacks",
            f"debug.uma_reclaim=2 also drains the per-CPU buckets; width: ±{n} background frees after the drain "
            "(noise)",
            "vmstat -z: kstack_cache FREE after sysctl debug.uma_reclaim=2",
            expected=0,
            tolerance=n,
        )
        if self.gen in ("G2", "G3"):
            self.add(
                "kstack_object.resident_minus_pk_cache.after_reclaim",
                "I-1",
                "after",
                "pages",
                "every released stack takes its P_k pages out of kstack_object; width: P_k·noise pages (background)",
                "vmstat -o: RES of kstack_object − P_k·(kstack_cache USED+FREE) after debug.uma_reclaim=2",
                expected=0,
                tolerance=self.P * n,
            )

    def swap_pressure(self) -> None:
        M, T, n, P = self.p.procs, self.p.threads, self.p.noise, self.P
        stacks = M * (T + 1)
        if self.gen == "G3":
            self.add(
                "ps.swapped_procs",
                "I-19",
                "plateau",
                "procs",
                "G3 has no process swapout",
                "ps -axo stat: processes with W",
                expected=0,
            )
            self.add(
                "kstack_object.resident_minus_pk_cache.pressure",
                "I-19",
                "plateau",
                "pages",
                "stack pages never leave kstack_object under pressure; width: P_k·noise pages (background)",
                "vmstat -o: RES of kstack_object − P_k·(kstack_cache USED+FREE)",
                expected=0,
                tolerance=P * n,
            )
            return
        self.add(
            "ps.swapped_procs",
            "I-14",
            "plateau",
            "procs",
            "eligibility (sleep time, locks, pressure) decides which of the M processes swap out; width: that "
            f"eligibility (timing-bound, 0…{M}) and ±{n} other processes (noise)",
            "ps -axo stat: processes with W",
            low=0,
            high=M + n,
        )
        if self.uma:
            self.add(
                "kstack_cache.used.pressure",
                "I-14",
                "delta",
                "stacks",
                f"swapout keeps td_kstack: U does not change; width: ±{n} background stacks (noise)",
                "vmstat -z: kstack_cache USED (pressure − plateau)",
                expected=0,
                tolerance=n,
            )
        if self.gen in ("G1", "G2"):
            alt = "" if self.gen == "G2" else " (G1: plus unchanged alt pages)"
            self.add(
                "kstack_object.resident_minus_pk_cache.pressure",
                "I-14",
                "delta",
                "pages",
                "laundered-and-freed stack pages leave R; at most all pages of the swapped threads"
                + alt
                + "; width: how many pages the laundry and page daemon freed (timing-bound) and P_k·noise",
                "vmstat -o: RES of kstack_object − P_k·(USED+FREE) (pressure − plateau)",
                low=-P * (stacks + n),
                high=P * n,
            )
            self.add(
                "kstack_object.resident_minus_pk_cache.after_wake",
                "I-16",
                "delta",
                "pages",
                "faultin re-grabs or reads back every page: R = P_k·(U+F) again; width: P_k·noise pages (background)",
                "vmstat -o: RES of kstack_object − P_k·(USED+FREE) (after wake − plateau)",
                expected=0,
                tolerance=P * n,
            )
        self.add(
            "v_swappgsin",
            "I-16",
            "delta",
            "pages",
            "absent stack pages are read back (user pages may add more); width: a lower bound only",
            "vmstat -s: swap pager pages paged in",
            low=0,
        )
        self.add(
            "swap.used_after_exit",
            "I-14",
            "after",
            "pages",
            "open question (a): swap blocks of disposed stacks may stay allocated until the pindex is reused; "
            "width: none to all of the workload's stack pages stay on swap, ±noise",
            "swapinfo -k: Used (after − before) / 4",
            low=-n,
            high=P * stacks + n,
        )
