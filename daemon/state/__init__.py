"""The state dir: atomic ``state.json`` and ``runs/``, the run lock and the daemon lock."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.state.locks import LockBusy, host_lock
    from daemon.state.root_ratchet import (
        RootRatchet,
        read_root_ratchet,
        root_ratchet_path,
        write_root_ratchet,
    )
    from daemon.state.store import StateError, StateStore, is_run_id

__all__ = [
    "host_lock",
    "is_run_id",
    "LockBusy",
    "read_root_ratchet",
    "RootRatchet",
    "root_ratchet_path",
    "StateError",
    "StateStore",
    "write_root_ratchet",
]

__getattr__ = lazy_exports(__name__, __file__)
