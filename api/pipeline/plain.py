"""The pipeline's hand-written JSON converter, kept as one unit.

:func:`to_plain` turns the core's results (dataclasses, numpy scalars, enums) into JSON-ready
values for storage and the live messages. It is due to be replaced by typed payload models
(issue 14, "untyped where the science is"); until then every stage calls it from here.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from typing import Any

__all__ = ["to_plain"]


def to_plain(obj: Any) -> Any:
    """A JSON-friendly copy of a result: dataclasses to dicts, NaN/inf to ``None``, enums to str."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):  # numpy scalar
        return to_plain(obj.item())
    if hasattr(obj, "tolist"):  # numpy array
        return to_plain(obj.tolist())
    if hasattr(obj, "value"):  # enum
        return to_plain(obj.value)
    if isinstance(obj, datetime.time):
        return obj.isoformat(timespec="minutes")
    return str(obj)
