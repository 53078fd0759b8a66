"""Run-time probes of a FreeBSD guest: its limits, its tools, its network. What the review could not decide without
a live guest (M1, H4, M6, L5) is decided here, on the guest itself, before anything depends on it; a problem is one
line naming the cause and the fix.

Evidence for each probe (freebsd-facts.md style):

* ``kern.threads.max_threads_per_proc``: ``static int max_threads_per_proc = 1500`` in sys/kern/kern_thr.c
  (sysctl RW); thr_new fails with EPROCLIM (pthread_create: EAGAIN) once a process has that many threads,
  the main thread included. The real 12.1 ``sysctl -a`` shows 1500 (shared/fixtures sysctl-a__12.1-RELEASE).
* ``hw.physmem``, ``hw.pagesize``, ``vm.stats.vm.v_free_count``, ``vm.swap_total`` (bytes, swap_pager.c
  SYSCTL_QUAD): the memory a hog may take before the page daemon's OOM path kills it ("was killed: out of swap
  space", vm_pageout.c vm_pageout_oom) once swap is exhausted. Official images carry a 1 GiB swap partition
  (release/tools/vmimage.subr vm_create_disk ``-p freebsd-swap/swapfs::${SWAPSIZE}``).
* ``cc``/``nm``: part of the base system on 12.x-14.x; 15.x VM images are built from pkgbase packages, where the
  compiler and the binary tools are separate packages (15.0 release announcement; which set the VM images
  install could not be read here), so they are looked for, not assumed.
* the NIC: OpenZFS's CI boots the 13.5 BASIC-CI image with rtl8139 "because FreeBSD 13 has problems with e1000
  and virtio" (scripts/zfs-tests qemu-2-start.sh; libvirt/KVM with a bridge, not user networking); the harness
  uses virtio-net, which other harnesses boot fine. Only when SSH does not come up is ``ifconfig`` read on the
  serial console, to say whether the NIC is the cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import UsageError
from harness.parse.sysctl import parse_sysctl

MIB = 1 << 20
LIMIT_SYSCTLS = (
    "kern.threads.max_threads_per_proc",
    "hw.physmem",
    "hw.pagesize",
    "vm.stats.vm.v_free_count",
    "vm.swap_total",
)
TOOLS = ("cc", "nm")
_TOOL_LINE = re.compile(r"^tool: (?P<name>\S+)$", re.MULTILINE)
#: How much of the swap a swap-pressure hog may fill beyond free RAM: half, so the page daemon swaps idle
#: processes out under a lasting shortage while swap never runs out (review M1).
SWAP_SHARE = 0.5


def probe_command() -> str:
    """One command printing the limits as ``sysctl`` does (``name: value``) and ``tool: <name>`` per tool found."""
    tools = " ".join(TOOLS)
    return (
        f"sysctl {' '.join(LIMIT_SYSCTLS)} 2>/dev/null; "
        f'for t in {tools}; do command -v "$t" >/dev/null 2>&1 && echo "tool: $t"; done; true'
    )


@dataclass(frozen=True)
class GuestLimits:
    max_threads_per_proc: int | None
    physmem: int | None
    page_size: int
    free_pages: int | None
    swap_total: int | None  # bytes
    tools: frozenset[str]

    @property
    def free_bytes(self) -> int | None:
        return None if self.free_pages is None else self.free_pages * self.page_size


def parse_limits(text: str) -> GuestLimits:
    """The probe's output (or any ``sysctl -a`` text plus ``tool:`` lines)."""
    sysctl_lines = "\n".join(line for line in text.splitlines() if not line.startswith("tool: "))
    values = parse_sysctl(sysctl_lines).values if sysctl_lines.strip() else {}

    def number(name: str) -> int | None:
        value = values.get(name)
        return int(value.text.split()[0]) if value is not None and value.text.split()[0].isdigit() else None

    return GuestLimits(
        max_threads_per_proc=number("kern.threads.max_threads_per_proc"),
        physmem=number("hw.physmem"),
        page_size=number("hw.pagesize") or 4096,
        free_pages=number("vm.stats.vm.v_free_count"),
        swap_total=number("vm.swap_total"),
        tools=frozenset(m["name"] for m in _TOOL_LINE.finditer(text)),
    )


# -- workload parameters against the guest's limits ---------------------------------------------------------------


def check_threads(workload: str, key: str, threads: int, limits: GuestLimits) -> None:
    """A process with ``threads`` created threads plus its main thread must stay within the guest's limit."""
    limit = limits.max_threads_per_proc
    if limit is not None and threads + 1 > limit:
        raise UsageError(
            f"{workload}: {key}={threads} needs {threads + 1} threads in one process, more than this guest's "
            f"kern.threads.max_threads_per_proc={limit} (thr_new fails with EPROCLIM)",
            hint=f"pass --param {workload}:{key}={limit - 1} or less",
        )


def swap_hog_mib(limits: GuestLimits, swap_file_mib: int) -> int:
    """The swap-pressure hog's size: all free RAM plus a share of the swap the run will have (the image's, or the
    md swap the workload adds when there is none)."""
    if limits.free_bytes is None:
        raise UsageError(
            "swap-pressure: the guest did not report vm.stats.vm.v_free_count, so the hog cannot be sized",
            hint="pass --param swap-pressure:mib=N (MiB) explicitly",
        )
    swap = limits.swap_total or swap_file_mib * MIB
    return int((limits.free_bytes + swap * SWAP_SHARE) // MIB)


def check_swap_hog(mib: int, limits: GuestLimits, swap_file_mib: int) -> None:
    """An explicit hog size must leave room before swap is exhausted (the OOM killer would end it first)."""
    if limits.free_bytes is None:
        return
    swap = limits.swap_total or swap_file_mib * MIB
    ceiling = (limits.free_bytes + swap * 0.9) // MIB
    if mib > ceiling:
        raise UsageError(
            f"swap-pressure: mib={mib} is more than this guest's free RAM plus 90 % of its swap ({ceiling:.0f} MiB): "
            "the OOM killer would end the hog before the plateau",
            hint=f"pass --param swap-pressure:mib={swap_hog_mib(limits, swap_file_mib)} or 0 (sized from the guest)",
        )


def require_tool(tool: str, limits: GuestLimits, *, release: str, why: str) -> None:
    if tool not in limits.tools:
        raise UsageError(
            f"the FreeBSD {release} guest has no {tool} ({why}); pkgbase-built images may leave it out",
            hint="install the base toolchain packages in the image (pkg install FreeBSD-clang FreeBSD-toolchain) "
            "or use a release image that has it",
        )


# -- the network, when SSH does not come up ----------------------------------------------------------------------

_IFACE = re.compile(r"^(?P<name>[a-z][a-z0-9]*\d+): flags=", re.MULTILINE)
_INET = re.compile(r"^\s+inet (?P<addr>\d+\.\d+\.\d+\.\d+) ", re.MULTILINE)


def interfaces_with_ipv4(ifconfig: str) -> dict[str, list[str]]:
    """``ifconfig`` output (sbin/ifconfig: ``<name>: flags=...`` then indented lines): IPv4 addresses per
    interface, loopback excluded."""
    found: dict[str, list[str]] = {}
    starts = list(_IFACE.finditer(ifconfig))
    for index, start in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(ifconfig)
        if start["name"].startswith("lo"):
            continue
        found[start["name"]] = [m["addr"] for m in _INET.finditer(ifconfig, start.end(), end)]
    return found


def network_diagnosis(ifconfig: str, nic: str, profile: str) -> str | None:
    """Why SSH cannot reach the guest, if the NIC is the cause (None: it has an address, look elsewhere)."""
    interfaces = interfaces_with_ipv4(ifconfig)
    if any(interfaces.values()):
        return None
    what = (
        f"interface {', '.join(sorted(interfaces))} has no IPv4 address (DHCP got no lease)"
        if interfaces
        else "no network interface attached"
    )
    return (
        f"the guest's NIC ({nic}) does not work: {what}; OpenZFS's CI reports FreeBSD 13 problems with e1000 and "
        f'virtio and uses rtl8139: set [devices] net = "rtl8139" in vm_configs/{profile}.toml'
    )
