"""Snapshot stores for tests: an isolated store, and snapshot directories written by hand (no QEMU)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from harness.vm.snapshot import KEY_FILE, META_FILE, STATE_FILE, SnapshotKey, SnapshotStore


def key(**changes: str) -> SnapshotKey:
    base = SnapshotKey(
        guest="linuxtest",
        arch="amd64",
        image_digest="i" * 64,
        kernel_digest="k" * 64,
        profile_digest="p" * 64,
    )
    return dataclasses.replace(base, **changes)


def write_snapshot(store: SnapshotStore, snapshot_key: SnapshotKey, **meta: Any) -> Path:
    """A complete snapshot directory as ``harness.vm.snapshot.save`` leaves it (the state is a few bytes)."""
    path = store.root / snapshot_key.id
    path.mkdir(parents=True)
    (path / STATE_FILE).write_bytes(b"QEVM")
    (path / KEY_FILE).write_text(json.dumps(dataclasses.asdict(snapshot_key)))
    (path / META_FILE).write_text(json.dumps({"size_bytes": 4, "console_prompt": "# ", **meta}))
    return path
