"""Plain JSON values out of the harness's records: the one conversion every JSON writer uses.

``to_jsonable`` turns dataclasses, enums, paths, tuples and sets into dicts, values, strings and lists;
``dumps`` is ``json.dumps`` on top of it. A value it does not know stays as it is (``strict``: json refuses it,
TypeError) or becomes its ``str`` (``strict=False``, for free-form fields such as step-event extras).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, paths, tuples and sets into plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def dumps(value: Any, *, indent: int | None = None, strict: bool = True) -> str:
    """``json.dumps(to_jsonable(value))``; with ``strict=False`` an unknown value is written as its ``str``."""
    return json.dumps(to_jsonable(value), indent=indent, default=None if strict else str)
