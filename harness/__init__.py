"""FreeBSD kernel-stack patch harness: build, boot, stress and judge kernels against a reference model."""

__version__ = "0.1.0"
