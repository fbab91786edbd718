"""Plain JSON values from results: the one conversion every result's ``to_dict()`` uses."""

from __future__ import annotations

import math
from typing import Any


def plain(x: Any) -> Any:
    """Dicts, lists and tuples recursively, with non-finite floats as None (JSON has no NaN)."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
