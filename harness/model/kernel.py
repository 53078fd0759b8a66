"""The part of the kernel every generation shares: threads, processes, the PROC zone's parked first threads,
zombie reaping, physical memory, the laundry and swap counters (spec §1.1, §1.4, I-2, I-3, I-9, I-10, I-14).

A generation subclass supplies the stack backend (``_vm_thread_new``, ``_vm_thread_dispose``, ``_swapout_stack``,
``_swapin_stack``, ``pindex``) — see g0_list.py, g0_uma.py, g1.py, g2.py, g3.py. Events are plain method calls;
each leaves the model in a state the invariants (invariants.py) hold for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from harness.errors import UsageError
from harness.model.arch import ArchConstants
from harness.model.physmem import PhysMem
from harness.model.uma import UMA_14, CachePolicy
from harness.model.vmem import KernelMap, Vmem

# Page states of a stack page (§1.4).
RES = 0  # wired once, xbusy, valid, clean, PQ_NONE, mapped
RES_DIRTY = 1  # as RES but still dirty: re-grabbed by swapin before the laundry wrote it
LAUNDRY = 2  # swapped out: unwired, unbusied, dirty, PQ_LAUNDRY, unmapped
INACT = 3  # laundered: clean, PQ_INACTIVE, unmapped
ABSENT = 4  # freed by the page daemon; the data is on swap

PQ_INACTIVE, PQ_ACTIVE, PQ_LAUNDRY, PQ_NONE = 0, 1, 2, 255


class ModelError(UsageError):
    """An event that cannot happen in this state (no such thread, exit of a thread twice, …)."""


@dataclass(slots=True)
class ModelParams:
    """Knobs of the model that are not arch constants. Defaults describe a small idle QEMU guest."""

    phys_pages_per_domain: int = 1 << 20  # 4 GiB per domain
    swap_pages: int = 1 << 18  # 1 GiB of swap
    kva_start_offset: int = 0  # where the kernel map's free space starts, from VM_MIN_KERNEL_ADDRESS
    kstack_cache_size: int | None = None  # None: imax(128, 4 * ncpu)
    g3_object_type: str = "sw"  # [R] CHERI-derived trees use OBJT_PHYS ("ph"): unmanaged, not COLORED
    numa_import_quantum: bool = True  # vmd_kernel_arena imports KVA_QUANTUM*128 when ndomains > 1
    policy: CachePolicy = UMA_14  # the cache-policy era (uma.UMA_13 for 13.x); the mutation suite's seam


class VmObject:
    """A VM object holding stack pages. ``pages`` maps pindex to physical frame; ``rcount`` counts resident
    pages per reservation index (for the reservation test)."""

    __slots__ = ("colored", "flags", "inactive", "name", "oid", "pages", "rcount", "ref", "shadow", "size", "type")

    def __init__(self, oid: int, otype: str, size: int, *, colored: bool, flags: int, name: str = "") -> None:
        self.oid = oid
        self.type = otype
        self.size = size
        self.ref = 1
        self.shadow = 0
        self.flags = flags
        self.colored = colored
        self.name = name
        self.pages: dict[int, int] = {}
        self.rcount: dict[int, int] = {}
        self.inactive = 0

    @property
    def resident(self) -> int:
        return len(self.pages)


class Stack:
    """One kernel stack: KVA ``ks`` (lowest mapped address), its object and first pindex, per-page state."""

    __slots__ = ("domain", "ks", "npages", "obj", "pdom", "phys", "pindex", "pst", "swapped")

    def __init__(self, ks: int, npages: int, obj: VmObject, pindex: int) -> None:
        self.ks = ks
        self.npages = npages
        self.obj = obj
        self.pindex = pindex
        self.pst = [RES] * npages
        self.phys = [0] * npages
        self.pdom = [0] * npages
        self.domain = 0
        self.swapped = False


class Thread:
    __slots__ = ("cpu", "domain", "proc", "stack", "state", "tid")

    def __init__(
        self,
        tid: int,
        cpu: int,
        domain: int,
        stack: Stack | None = None,
        proc: Proc | None = None,
        state: str = "new",
    ) -> None:
        self.tid = tid
        self.cpu = cpu
        self.domain = domain
        self.stack = stack
        self.proc = proc
        self.state = state  # new, live, zombie, parked


class Proc:
    __slots__ = ("pid", "state", "swapped", "threads")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.threads: list[Thread] = []
        self.state = "live"  # live, zombie
        self.swapped = False


@dataclass(slots=True)
class Counters:
    """vmmeter counters restricted to what stacks do (the model's share of ``vmstat -s``).

    Slotted: a plain dataclass keeps each default as a class attribute, which the interpreter cannot specialise
    attribute reads past, and the simulator reads and bumps these counters on every step."""

    v_forks: int = 0
    v_swapout: int = 0
    v_swappgsout: int = 0
    v_swapin: int = 0
    v_swappgsin: int = 0
    wired: int = 0  # stack pages wired (share of v_wire_count)
    laundry: int = 0  # stack pages in PQ_LAUNDRY (share of v_laundry_count)
    inactive: int = 0  # stack pages in PQ_INACTIVE
    absent: int = 0  # S: pages of swapped-out stacks laundered and freed
    absent_alt: int = 0  # the part of ``absent`` that belongs to non-default stacks
    swap_used: int = 0  # swap blocks holding stack pages (swapinfo Used, in pages)
    swapouts: int = 0  # process swapouts (ru_nswap increments)
    swapins: int = 0
    enomem: int = 0  # thread/fork creations that failed (ENOMEM / EAGAIN)
    stalls: int = 0  # G1: creations that slept for pages (VM_ALLOC_WAITFAIL loop)
    swapin_spins: int = 0  # G2: swapins that spun waiting for the stack's own domain
    kva_fail: int = 0
    vm_object_used: int = 0  # VM OBJECT zone items held by stacks
    vm_object_req: int = 0  # VM OBJECT zone allocations made for stacks
    threads_created: int = 0
    created: int = 0  # stacks constructed (vm_thread_stack_create successes)
    destroyed: int = 0


class Kernel:
    """Shared kernel state. Subclasses: one per generation."""

    generation = "?"
    swapping = True
    has_uma_cache = True

    def __init__(self, arch: ArchConstants, params: ModelParams | None = None) -> None:
        self.arch = arch
        self.params = params or ModelParams()
        a = arch
        self.P = a.kstack_pages
        self.G = a.kstack_guard_pages
        self.ncpu = a.ncpu
        self.ndomains = a.ndomains
        self.cpu_domain = [c * a.ndomains // a.ncpu for c in range(a.ncpu)]
        self._domain_orders = [(pref, *[d for d in range(a.ndomains) if d != pref]) for pref in range(a.ndomains)]
        self.c = Counters()
        self.phys = PhysMem(a.ndomains, self.params.phys_pages_per_domain, a.reserv_order)
        self.kernel_map = KernelMap(
            a.vm_min_kernel_address,
            a.vm_max_kernel_address,
            a.vm_min_kernel_address + self.params.kva_start_offset,
            a.kva_quantum,
        )
        self.kernel_arena = Vmem(
            "kernel arena",
            a.page_size,
            import_fn=lambda size, align: self.kernel_map.alloc(size, a.kva_quantum),
            import_quantum=a.kva_quantum,
        )
        self.threads: dict[int, Thread] = {}
        self.procs: dict[int, Proc] = {}
        self.zombies: list[list[Thread]] = [[] for _ in range(a.ndomains)]
        self.proc_free: list[Thread | None] = []  # free PROC items: parked first thread or None (never used)
        self.proc_items = 0  # PROC zone USED + FREE
        self.thread_structs = 0  # THREAD zone USED
        self.alt_stacks = 0  # N_alt: live non-default stacks
        self.alt_pages = 0
        self.laundry_q: dict[tuple[VmObject, int], Stack] = {}
        self.inactive_q: dict[tuple[VmObject, int], Stack] = {}
        self.swblk: dict[tuple[int, int], int] = {}
        self._next_swblk = 0
        self._next_tid = 100000
        self._next_pid = 1000
        self.other_kva: dict[int, int] = {}
        self.other_kva_pages = 0
        self.n_zombies = 0
        self.n_parked = 0
        self.cache_size = self.params.kstack_cache_size or a.default_kstack_cache_size
        self.stacks: dict[int, Stack] = {}  # every constructed stack by ks: in use, cached or parked
        self._init_backend()

    # --- generation hooks ----------------------------------------------------------------------------------------

    def _init_backend(self) -> None:
        raise NotImplementedError

    def _vm_thread_new(self, pages: int, cpu: int) -> Stack | None:
        raise NotImplementedError

    def _vm_thread_dispose(self, stack: Stack, cpu: int) -> None:
        raise NotImplementedError

    def _swapout_stack(self, stack: Stack) -> None:
        raise NotImplementedError

    def _swapin_stack(self, stack: Stack, cpu: int) -> None:
        raise NotImplementedError

    def pindex(self, ks: int, pages: int) -> int:
        raise NotImplementedError

    def attach_reference(self) -> bool:
        """Attach the lockstep cache-policy reference (policy_ref.py) to a fresh kernel; False if none applies."""
        return False

    def stack_objects(self) -> list[VmObject]:
        """The VM objects that hold stack pages, in ``vm_object_list`` order."""
        raise NotImplementedError

    def set_cache_size(self, n: int) -> None:
        """``sysctl vm.kstack_cache_size=n``."""
        raise NotImplementedError

    def cache_used(self) -> int:
        """U: default stacks handed out by the cache layer (G0-list: stacks not in the list)."""
        raise NotImplementedError

    def cache_free(self) -> int:
        """F: constructed default stacks sitting in the cache."""
        raise NotImplementedError

    def uma_reclaim(self, kind: int) -> None:
        raise NotImplementedError

    def uma_timeout(self) -> None:
        raise NotImplementedError

    def lowmem(self) -> None:
        """The ``vm_lowmem`` event."""
        raise NotImplementedError

    def live_stacks(self) -> Iterator[Stack]:
        raise NotImplementedError

    # --- physical pages ------------------------------------------------------------------------------------------

    def domain_order(self, pref: int) -> tuple[int, ...]:
        """DOMAINSET_PREF(pref): the preferred domain first, then the others in order."""
        return self._domain_orders[pref]

    def phys_available(self, domain: int, pages: int = 1) -> bool:
        d = self.phys.domains[domain]
        return d.free_pages - d.hog >= pages

    def _page_in(self, stack: Stack, i: int, domain: int) -> None:
        self._page_in_run(stack, i, 1, domain)

    def _page_in_run(self, stack: Stack, i: int, n: int, domain: int) -> None:
        """Pages ``i`` … ``i+n-1`` of ``stack`` become resident, from ``domain``."""
        obj = stack.obj
        p = stack.pindex + i
        pfns = self.phys.alloc_run(obj.oid, p, n, domain, obj.rcount if obj.colored else None)
        obj.pages.update(zip(range(p, p + n), pfns, strict=True))
        stack.phys[i : i + n] = pfns
        stack.pdom[i : i + n] = [domain] * n

    def _page_in_whole(self, stack: Stack, domain: int) -> None:
        """``_page_in_run(stack, 0, npages, domain)`` for a new stack, the simulator's commonest page-in: the
        frames list alloc_run returns (a fresh list) becomes ``stack.phys`` instead of being copied into it."""
        obj = stack.obj
        p = stack.pindex
        n = stack.npages
        pfns = self.phys.alloc_run(obj.oid, p, n, domain, obj.rcount if obj.colored else None)
        obj.pages.update(zip(range(p, p + n), pfns, strict=True))
        stack.phys = pfns
        stack.pdom = [domain] * n

    def _page_in_stack(self, stack: Stack, order: Sequence[int]) -> bool:
        """Every page of a new stack, each from the first domain in ``order`` with a free page (DOMAINSET_PREF),
        else from ``order[0]`` after a wait. Returns True if some page had to wait (a shortage)."""
        n = stack.npages
        d = self.phys.domains[order[0]]
        if d.free_pages - d.hog >= n:  # the usual case, in one run: each page finds the preferred domain
            self._page_in_whole(stack, order[0])
            return False
        if len(order) == 1:  # one domain: every page comes from it, and some page found it short
            self._page_in_run(stack, 0, n, order[0])
            return True
        # Pick each page's domain as the page-by-page grab would (taking a page lowers only its own domain's
        # count), then page in each run of pages that picked the same domain at once.
        doms = self.phys.domains
        avail = [doms[d].free_pages - doms[d].hog for d in order]
        picks = []
        stalled = False
        for _ in range(n):
            j = next((j for j, a in enumerate(avail) if a >= 1), None)
            if j is None:
                j = 0
                stalled = True
            avail[j] -= 1
            picks.append(order[j])
        i = 0
        while i < n:
            j = i + 1
            while j < n and picks[j] == picks[i]:
                j += 1
            self._page_in_run(stack, i, j - i, picks[i])
            i = j
        return stalled

    def _page_out(self, stack: Stack, i: int) -> None:
        obj = stack.obj
        p = stack.pindex + i
        pfn = obj.pages.pop(p)
        self.phys.free_run(obj.oid, p, [pfn], [stack.pdom[i]], obj.rcount if obj.colored else None)

    def _page_out_stack(self, stack: Stack) -> None:
        """Every page of a stack being destroyed leaves its object (all are resident: a swapped-out stack is
        never disposed)."""
        obj = stack.obj
        p = stack.pindex
        pfns = list(map(obj.pages.pop, range(p, p + stack.npages)))
        self.phys.free_run(obj.oid, p, pfns, stack.pdom, obj.rcount if obj.colored else None)

    def set_memory_pressure(self, domain: int, free_pages: int) -> None:
        """Leave only ``free_pages`` free in ``domain`` (a memory hog); a large value ends the pressure."""
        d = self.phys.domains[domain]
        d.hog = max(0, d.free_pages - max(0, free_pages))

    # --- threads -------------------------------------------------------------------------------------------------

    def _thread_alloc(self, pages: int, cpu: int) -> Thread | None:
        """``thread_alloc(pages)``: reap this domain's zombies, take a THREAD item, give it a stack."""
        dom = self.cpu_domain[cpu]
        if self.zombies[dom]:
            self.reap(dom, cpu)
        td = Thread(self._next_tid, cpu, dom)
        self._next_tid += 1
        self.thread_structs += 1
        # _new_stack, inlined: a thread creation is a third of the simulator's events.
        P = self.P
        pages = P if pages <= 1 else min(pages, self.arch.kstack_max_pages)
        stack = self._vm_thread_new(pages, cpu)
        if stack is None:
            self.thread_structs -= 1
            return None
        if pages != P:
            self.alt_stacks += 1
            self.alt_pages += pages
        td.stack = stack
        return td

    def _bounded_pages(self, pages: int) -> int:
        if pages <= 1:
            return self.P
        return min(pages, self.arch.kstack_max_pages)

    def _new_stack(self, pages: int, cpu: int) -> Stack | None:
        pages = self.P if pages <= 1 else min(pages, self.arch.kstack_max_pages)
        stack = self._vm_thread_new(pages, cpu)
        if stack is None:
            return None
        if pages != self.P:
            self.alt_stacks += 1
            self.alt_pages += pages
        return stack

    def _dispose_stack(self, stack: Stack, cpu: int) -> None:
        if stack.swapped:
            raise ModelError("disposing a swapped-out stack (the kernel panics: kstack already missing?)")
        if stack.npages != self.P:
            self.alt_stacks -= 1
            self.alt_pages -= stack.npages
        self._vm_thread_dispose(stack, cpu)

    def _check_cpu(self, cpu: int) -> int:
        if not 0 <= cpu < self.ncpu:
            raise ModelError(f"no cpu {cpu} (ncpu {self.ncpu})")
        return cpu

    def thread_create(self, pid: int, cpu: int = 0, pages: int = 0) -> int | None:
        """``thr_new``/``kthread_add`` in process ``pid``: the new tid, or None on ENOMEM (EAGAIN)."""
        if not 0 <= cpu < self.ncpu:
            raise ModelError(f"no cpu {cpu} (ncpu {self.ncpu})")
        p = self.procs.get(pid)
        if p is None or p.state != "live":
            raise ModelError(f"no live process {pid}")
        if p.swapped:
            self.swapin(pid, cpu)
        # _thread_alloc, inlined (a thread creation is a third of the simulator's events): the Thread is built
        # once its stack exists, already live and in ``p``.
        dom = self.cpu_domain[cpu]
        if self.zombies[dom]:
            self._reap_domain(dom, cpu)
        tid = self._next_tid
        self._next_tid = tid + 1
        self.thread_structs += 1
        P = self.P
        pages = P if pages <= 1 else min(pages, self.arch.kstack_max_pages)
        stack = self._vm_thread_new(pages, cpu)
        c = self.c
        if stack is None:
            self.thread_structs -= 1
            c.enomem += 1
            return None
        if pages != P:
            self.alt_stacks += 1
            self.alt_pages += pages
        td = Thread(tid, cpu, dom, stack, p, "live")
        p.threads.append(td)
        self.threads[tid] = td
        c.threads_created += 1
        return tid

    def thread_exit(self, tid: int) -> None:
        """``thread_exit``: the thread becomes a zombie; its stack stays in use until it is reaped (I-10)."""
        td = self.threads.get(tid)
        if td is None or td.state != "live":
            raise ModelError(f"no live thread {tid}")
        p = td.proc
        assert p is not None
        if len(p.threads) == 1:
            raise ModelError(f"thread {tid} is the last thread of process {p.pid}: use proc_exit")
        if p.swapped:
            self.swapin(p.pid, td.cpu)
        p.threads.remove(td)
        del self.threads[tid]
        td.state = "zombie"
        td.proc = None
        self.zombies[td.domain].append(td)
        self.n_zombies += 1

    def reap(self, domain: int | None = None, cpu: int | None = None) -> int:
        """``thread_reap_domain``: free the zombies of ``domain`` (all if None); stacks go back on ``cpu``."""
        if domain is not None and cpu is not None:
            return self._reap_domain(domain, cpu)
        doms = range(self.ndomains) if domain is None else [domain]
        n = 0
        for d in doms:
            zl = self.zombies[d]
            while zl:
                td = zl.pop()
                st = td.stack
                if st is not None:
                    # _dispose_stack, inlined: every created thread is reaped.
                    if st.swapped:
                        raise ModelError("disposing a swapped-out stack (the kernel panics: kstack already missing?)")
                    if st.npages != self.P:
                        self.alt_stacks -= 1
                        self.alt_pages -= st.npages
                    self._vm_thread_dispose(st, cpu if cpu is not None else td.cpu)
                    td.stack = None
                self.thread_structs -= 1
                n += 1
        self.n_zombies -= n
        return n

    def _reap_domain(self, domain: int, cpu: int) -> int:
        """``reap(domain, cpu)``: the form every thread creation and the simulator's reap event use."""
        zl = self.zombies[domain]
        n = 0
        P = self.P
        dispose = self._vm_thread_dispose
        while zl:
            td = zl.pop()
            st = td.stack
            if st is not None:
                if st.swapped:
                    raise ModelError("disposing a swapped-out stack (the kernel panics: kstack already missing?)")
                if st.npages != P:
                    self.alt_stacks -= 1
                    self.alt_pages -= st.npages
                dispose(st, cpu)
                td.stack = None
            self.thread_structs -= 1
            n += 1
        self.n_zombies -= n
        return n

    # --- processes -----------------------------------------------------------------------------------------------

    def _proc(self, pid: int) -> Proc:
        p = self.procs.get(pid)
        if p is None:
            raise ModelError(f"no process {pid}")
        return p

    def fork(self, cpu: int = 0) -> int | None:
        """``fork1``: a PROC item (LIFO) whose parked first thread and stack are reused when the size fits (I-9)."""
        self._check_cpu(cpu)
        dom = self.cpu_domain[cpu]
        if self.proc_free:
            td = self.proc_free.pop()
            if td is not None:
                self.n_parked -= 1
        else:
            td = None
            self.proc_items += 1
        if td is None:
            td = self._thread_alloc(0, cpu)
            if td is None:
                self.proc_free.append(None)
                self.c.enomem += 1
                return None
        else:
            td.cpu, td.domain = cpu, dom
            if td.stack is None or td.stack.npages != self.P:
                if td.stack is not None:
                    self._dispose_stack(td.stack, cpu)
                    td.stack = None
                stack = self._new_stack(0, cpu)
                if stack is None:
                    self.proc_free.append(td)
                    self.n_parked += 1
                    self.c.enomem += 1
                    return None
                td.stack = stack
        p = Proc(self._next_pid)
        self._next_pid += 1
        td.state = "live"
        td.proc = p
        p.threads.append(td)
        self.procs[p.pid] = p
        self.threads[td.tid] = td
        self.c.v_forks += 1
        return p.pid

    def proc_exit(self, pid: int, cpu: int = 0) -> None:
        """``exit1``: every thread but the first becomes a zombie; the process waits to be reaped."""
        p = self._proc(pid)
        if p.state != "live":
            raise ModelError(f"process {pid} already exited")
        if p.swapped:
            self.swapin(pid, cpu)
        first, *others = p.threads
        for td in others:
            del self.threads[td.tid]
            td.state = "zombie"
            td.proc = None
            self.zombies[td.domain].append(td)
        self.n_zombies += len(others)
        p.threads = [first]
        p.state = "zombie"

    def proc_reap(self, pid: int, cpu: int = 0) -> None:
        """``wait``: the PROC item goes back to the zone with its first thread and stack parked (I-3)."""
        p = self._proc(pid)
        if p.state != "zombie":
            raise ModelError(f"process {pid} has not exited")
        (td,) = p.threads
        del self.threads[td.tid]
        del self.procs[pid]
        td.state = "parked"
        td.proc = None
        self.proc_free.append(td)
        self.n_parked += 1
        dom = self.cpu_domain[cpu]
        if self.zombies[dom]:
            self.reap(dom, cpu)

    # --- swapping ------------------------------------------------------------------------------------------------

    def swapout(self, pid: int) -> bool:
        """``swapout(p)``: every thread's stack is unmapped, unwired, dirtied and put in the laundry (I-14)."""
        p = self._proc(pid)
        if not self.swapping:
            return False
        if p.swapped or p.state != "live":
            return False
        for td in p.threads:
            assert td.stack is not None
            self._swapout_stack(td.stack)
        p.swapped = True
        self.c.swapouts += 1
        return True

    def swapin(self, pid: int, cpu: int = 0) -> bool:
        """``faultin(p)``: every stack is re-grabbed; absent pages are read back (I-16)."""
        p = self._proc(pid)
        if not p.swapped:
            return False
        for td in p.threads:
            assert td.stack is not None
            self._swapin_stack(td.stack, cpu)
        p.swapped = False
        self.c.swapins += 1
        return True

    def _swapout_pages(self, stack: Stack) -> None:
        """The page transitions of ``vm_thread_swapout`` (common to G0, G1, G2)."""
        obj = stack.obj
        c = self.c
        pst = stack.pst
        for i in range(stack.npages):
            pst[i] = LAUNDRY
            self.laundry_q[(obj, stack.pindex + i)] = stack
        c.wired -= stack.npages
        c.laundry += stack.npages
        stack.swapped = True

    def _swapin_pages(self, stack: Stack, domain_for_absent: Sequence[int]) -> None:
        """The page transitions of ``vm_thread_swapin``: re-grab resident pages, read absent runs back."""
        obj = stack.obj
        c = self.c
        pst = stack.pst
        n = stack.npages
        i = 0
        while i < n:
            s = pst[i]
            key = (obj, stack.pindex + i)
            if s == LAUNDRY:
                del self.laundry_q[key]
                c.laundry -= 1
                pst[i] = RES_DIRTY
            elif s == INACT:
                del self.inactive_q[key]
                c.inactive -= 1
                obj.inactive -= 1
                pst[i] = RES
            elif s == ABSENT:
                j = i
                while j < n and pst[j] == ABSENT:
                    j += 1
                if len(domain_for_absent) == 1:
                    # One domain to read into (one NUMA domain, or G2's own): every page of the run lands there
                    # (_pick_domain falls back to it), and alloc_run places a run as it places page after page.
                    self._page_in_run(stack, i, j - i, domain_for_absent[0])
                    pst[i:j] = [RES] * (j - i)
                    c.absent -= j - i
                    if n != self.P:
                        c.absent_alt -= j - i
                else:
                    for k in range(i, j):
                        dom = self._pick_domain(domain_for_absent)
                        self._page_in(stack, k, dom)
                        pst[k] = RES
                        c.absent -= 1
                        if stack.npages != self.P:
                            c.absent_alt -= 1
                k = i
                while k < j:  # one get_pages per run of swap-contiguous blocks
                    blk = self.swblk.get((obj.oid, stack.pindex + k))
                    after = 0
                    while (
                        k + after + 1 < j
                        and blk is not None
                        and self.swblk.get((obj.oid, stack.pindex + k + after + 1)) == blk + after + 1
                    ):
                        after += 1
                    count = min(after + 1, j - k)
                    c.v_swapin += 1
                    c.v_swappgsin += count
                    k += count
                i = j
                continue
            i += 1
        c.wired += n
        stack.swapped = False

    def _pick_domain(self, order: Sequence[int]) -> int:
        for d in order:
            if self.phys_available(d):
                return d
        return order[0]

    def launder(self, npages: int) -> int:
        """The laundry thread: write up to ``npages`` laundry pages to swap in clusters (``vm_pageout_cluster``)."""
        done = 0
        c = self.c
        maxc = self.arch.vm_pageout_page_count
        while done < npages and self.laundry_q:
            (obj, p), _first = next(iter(self.laundry_q.items()))
            cluster = self._cluster(obj, p, maxc)
            if c.swap_used + len(cluster) > self.params.swap_pages:
                break  # swap full: pages stay in the laundry
            blk = self._next_swblk
            self._next_swblk += len(cluster)
            for k, (q, st) in enumerate(cluster):
                key = (obj, q)
                del self.laundry_q[key]
                st.pst[q - st.pindex] = INACT
                self.inactive_q[key] = st
                old = self.swblk.get((obj.oid, q))
                if old is None:
                    c.swap_used += 1
                self.swblk[(obj.oid, q)] = blk + k
            obj.inactive += len(cluster)
            if obj.type == "df":
                obj.type = "sw"  # a default object converts to swap on its first pageout
            c.laundry -= len(cluster)
            c.inactive += len(cluster)
            c.v_swapout += 1
            c.v_swappgsout += len(cluster)
            done += len(cluster)
        return done

    def _stack_at(self, obj: VmObject, p: int) -> Stack | None:
        st = self.laundry_q.get((obj, p))
        return st

    def _cluster(self, obj: VmObject, pindex: int, maxc: int) -> list[tuple[int, Stack]]:
        """``vm_pageout_cluster``: reverse scan to an alignment boundary, forward scan, then reverse again."""
        first = self.laundry_q[(obj, pindex)]
        lo = [(pindex, first)]
        hi: list[tuple[int, Stack]] = []
        count = 1
        ib = 1
        is_ = 1
        while True:
            while ib and count < maxc:
                if ib > pindex:
                    ib = 0
                    break
                st = self._stack_at(obj, pindex - ib)
                if st is None:
                    ib = 0
                    break
                lo.append((pindex - ib, st))
                count += 1
                ib += 1
                if (pindex - (ib - 1)) % maxc == 0:
                    break
            while count < maxc and pindex + is_ < obj.size:
                st = self._stack_at(obj, pindex + is_)
                if st is None:
                    break
                hi.append((pindex + is_, st))
                count += 1
                is_ += 1
            if ib and count < maxc:
                continue
            break
        lo.reverse()
        return lo + hi

    def pagedaemon_free(self, npages: int) -> int:
        """The page daemon frees up to ``npages`` clean inactive stack pages, oldest first (R −= n, S += n)."""
        done = 0
        c = self.c
        while done < npages and self.inactive_q:
            (obj, p), st = next(iter(self.inactive_q.items()))
            del self.inactive_q[(obj, p)]
            i = p - st.pindex
            self._page_out(st, i)
            st.pst[i] = ABSENT
            obj.inactive -= 1
            c.inactive -= 1
            c.absent += 1
            if st.npages != self.P:
                c.absent_alt += 1
            done += 1
        return done

    # --- other KVA users -----------------------------------------------------------------------------------------

    def kva_other_alloc(self, pages: int) -> int | None:
        """A non-stack ``kva_alloc`` (pbufs, sf_bufs, …) sharing the kernel arena with G0/G1 stacks."""
        addr = self.kernel_arena.alloc(self.arch.ptoa(pages))
        if addr is not None:
            self.other_kva[addr] = pages
            self.other_kva_pages += pages
        return addr

    def kva_other_free(self, addr: int) -> None:
        pages = self.other_kva.pop(addr, None)
        if pages is None:
            raise ModelError(f"no other KVA allocation at {addr:#x}")
        self.other_kva_pages -= pages
        self.kernel_arena.free(addr)

    # --- observables ---------------------------------------------------------------------------------------------

    @property
    def kvm_free(self) -> int:
        return self.kernel_map.kvm_free

    def zombie_count(self) -> int:
        return self.n_zombies

    def parked_count(self) -> int:
        return self.n_parked

    def resident_default(self) -> int:
        """R of the object holding default stacks (G1: including alt pages, which share it)."""
        objs = self.stack_objects()
        return objs[0].resident if objs else 0
