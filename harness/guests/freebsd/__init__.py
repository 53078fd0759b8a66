"""The FreeBSD guest adapter: loader and serial login, first-boot configuration, kernel install with nextboot and
proof, DDB (dialect, availability, on-panic script), and the kernel-stack generation fingerprint."""

from harness.guests.freebsd.adapter import FreeBSDGuest

__all__ = ["FreeBSDGuest"]
