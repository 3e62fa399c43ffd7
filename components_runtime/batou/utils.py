"""``batou.utils``: addresses, ``cmd`` and small helpers (re-exports)."""

from components_runtime.errors import CmdExecutionError, CycleError
from components_runtime.model import Address, BagOfAttributes, NetLoc, resolve, resolve_v6
from components_runtime.support import (
    Timer,
    call_with_optional_args,
    cmd,
    dict_merge,
    format_duration,
    hash,
)

__all__ = [
    "Address",
    "BagOfAttributes",
    "CmdExecutionError",
    "CycleError",
    "NetLoc",
    "Timer",
    "call_with_optional_args",
    "cmd",
    "dict_merge",
    "format_duration",
    "hash",
    "resolve",
    "resolve_v6",
]
