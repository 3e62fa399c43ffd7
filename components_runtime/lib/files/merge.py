"""Deep merge of override data into loaded data (batou's ``batou.utils.dict_merge``)."""

from __future__ import annotations

import copy
from typing import Any


def dict_merge(base: Any, override: Any) -> Any:
    """Return ``base`` with ``override`` merged in, leaving both inputs untouched.

    Nested dicts merge key by key, lists are concatenated (base items first), anything else
    in ``override`` replaces the base value. A non-dict ``override`` replaces ``base`` whole.
    """
    if not isinstance(override, dict):
        return override
    merged = copy.deepcopy(base)
    for key, value in override.items():
        current = merged.get(key) if isinstance(merged, dict) else None
        if key in merged and isinstance(current, dict):
            merged[key] = dict_merge(current, value)
        elif key in merged and isinstance(current, list):
            merged[key] = current[:] + list(value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
