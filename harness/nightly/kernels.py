"""Each distinct kernel of the night, made once on the coordinator and shipped to the workers as bytes.

``stock`` needs nothing; a patch recipe is built by the build pipeline (cached by build key, so a second night
reuses it); a kernel directory is taken as it is. Each is packed once; the engine hands it to the workers once
(Dask ``scatter``), and every cell on that kernel unpacks it in its own scratch directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import UsageError
from harness.nightly import pack
from harness.nightly.matrix import is_kernel_dir
from harness.nightly.plan import KernelSpec

#: A FreeBSD kernel directory (kernel + modules) is tens to hundreds of MiB.
KERNEL_LIMIT = 1 << 30


def _build(spec: KernelSpec, echo: Callable[[str], None]) -> Path:
    from harness.images import load_manifests, select
    from harness.kernelbuild.pipeline import BuildOptions, build

    release = select(spec.release or "14", spec.arch, load_manifests()).release
    # backend None: chosen for the release's tree (kernelbuild/choice.py: cross for 13.x+, the builder VM for 12.x).
    options = BuildOptions(patches=(spec.kernel,), arch=spec.arch, backend=None, release=release)
    return build(options, echo=echo).kernel_dir


def prepare(specs: Sequence[KernelSpec], echo: Callable[[str], None]) -> dict[str, bytes]:
    """Key → packed kernel directory, for every non-stock kernel."""
    packed: dict[str, bytes] = {}
    for spec in specs:
        key = spec.key
        if key is None:
            continue
        if is_kernel_dir(spec.kernel):
            directory = Path(spec.kernel)
            if not directory.is_dir():
                raise UsageError(f"kernel {spec.kernel}: not a directory", hint="pass the output dir of harness build")
        else:
            echo(f"nightly: building kernel {key} (once, shared by its cells)")
            directory = _build(spec, echo)
        packed[key] = pack.pack(directory, limit=KERNEL_LIMIT)
    return packed
