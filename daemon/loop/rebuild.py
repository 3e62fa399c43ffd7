"""Start-up without ``state.json``: rebuild what the state dir still holds, and say so.

``state.json`` may be gone (deleted by hand, moved away because it was damaged, an empty file
left by a full disk) while the rest of the state dir survived. Starting fresh then would forget
the ratchet, and a branch rewound on the server would deploy an older commit. What is left is
enough to rebuild the facts that guard a host:

* the ratchet, from ``refs/deployd/ratchet`` in the mirror (moved with it at every run start and
  every ``deployd trust``), else from the newest run record that converged a commit;
* the last run and the last good deployment, from ``runs/``.

Counters and histograms start again from zero (Prometheus reads that as a counter reset); the
suspension, if any, is lost. :func:`rebuild` is pure: the loop passes it the ratchet ref and
the stored run records; :func:`rebuild_if_lost` logs what it rebuilt at warning level and
stores the note in the state, where ``deployd status`` shows it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from daemon.git import Mirror
from daemon.records import HostState, RunRecord
from daemon.state import StateStore

log = logging.getLogger(__name__)

# Outcomes whose record holds the commit the run started with (the ratchet at that moment); a
# refused record holds the head it refused instead.
_CONVERGED = ("succeeded", "failed", "timeout", "crashed", "cancelled")


def rebuild_if_lost(state: HostState, store: StateStore, mirror: Mirror) -> HostState:
    """At start-up: ``state`` as loaded, or rebuilt (and stored) when it lacks what the state
    dir's leftovers still know."""
    if state.ratchet is not None and state.last_run is not None:
        return state
    runs = store.list_runs()
    ratchet = mirror.stored_ratchet() if state.ratchet is None else None
    if not needs_rebuild(state, ratchet, runs):
        return state
    state, note = rebuild(state, ratchet, runs)
    log.warning("state: %s", note)
    store.save(state)
    return state


def needs_rebuild(state: HostState, ratchet_ref: str | None, runs: Sequence[RunRecord]) -> bool:
    """A state without a ratchet, or without a last run, while the leftovers say otherwise."""
    lost_ratchet = ratchet_ref is not None or _converged(runs) is not None
    return (state.ratchet is None and lost_ratchet) or (state.last_run is None and bool(runs))


def rebuild(
    state: HostState, ratchet_ref: str | None, runs: Sequence[RunRecord], now: float | None = None
) -> tuple[HostState, str]:
    """``state`` completed from the leftovers, and one sentence saying what was rebuilt.
    ``runs`` are the stored records, newest first."""
    said = []
    if state.ratchet is None:
        converged = _converged(runs)
        if ratchet_ref is not None:
            state = replace(state, ratchet=ratchet_ref)
            said.append(f"ratchet {ratchet_ref[:12]} from refs/deployd/ratchet")
        elif converged is not None and converged.commit is not None:
            state = replace(state, ratchet=converged.commit.sha)
            said.append(f"ratchet {converged.commit.sha[:12]} from run {converged.id}")
    if state.last_run is None and runs:
        state = replace(state, last_run=runs[0].id)
        said.append(f"last run {runs[0].id}")
    if state.last_good is None:
        good = next((r for r in runs if r.outcome == "succeeded" and r.commit), None)
        if good is not None and good.commit is not None:
            state = replace(
                state, last_good=good.commit, last_good_run=good.id, last_good_at=good.finished_at
            )
            said.append(f"last good deployment {good.commit.sha[:12]} from run {good.id}")
    note = "state.json was missing or empty: rebuilt " + ", ".join(said)
    note += "; counters and any suspension start afresh"
    when = time.time() if now is None else now
    return replace(state, rebuilt_note=note, rebuilt_at=when), note


def _converged(runs: Sequence[RunRecord]) -> RunRecord | None:
    return next((r for r in runs if r.outcome in _CONVERGED and r.commit), None)
