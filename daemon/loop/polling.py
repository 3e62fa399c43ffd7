"""One poll of the deployment repository: ask the remote for the branch head, fetch when it moved.

The loop's only git traffic besides checkouts; ``schedule`` decides when it is due.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from daemon.git import FetchError, Mirror
from daemon.records import HostState

log = logging.getLogger(__name__)


def poll(state: HostState, mirror: Mirror) -> tuple[HostState, bool, FetchError | None]:
    """Ask the remote for the branch head; fetch only when it moved.
    Returns the new state, whether the upstream head changed, and the error if any."""
    started = time.monotonic()
    now = time.time()
    try:
        remote = mirror.remote_head()
        outcome = "unchanged"
        if remote != mirror.local_head():
            mirror.fetch()
            outcome = "fetched"
        upstream = state.upstream
        if upstream is None or upstream.sha != remote:
            # A remote behind what we know (a bundle brought newer commits) does not take the
            # newer head away: the bundle's head stays the candidate.
            if upstream is None or not mirror.is_ancestor(remote, upstream.sha):
                upstream = mirror.commit_info(remote)
            else:
                log.debug("fetch: remote %s is behind %s: keeping it", remote[:12], upstream.sha)
    except FetchError as error:
        if mirror.stopping:  # ended by our own shutdown: not a failure of the git server
            log.info("fetch: %s", error)
            return state, False, None
        state = replace(state, last_fetch_at=now, last_fetch_error=str(error))
        return state.count("fetch_total", outcome="failed"), False, error
    moved = state.upstream is None or state.upstream.sha != upstream.sha
    if moved:
        log.info("fetch: %s at %s (%s)", mirror.branch, upstream.sha[:12], upstream.subject)
    state = replace(
        state,
        upstream=upstream,
        last_fetch_at=now,
        last_fetch_success_at=now,
        last_fetch_error=None,
        # a refusal is about the head it judged: once the branch points elsewhere (put back on
        # the deployed commit, say) it no longer holds; a new head is judged by the next run
        refused_commit=state.refused_commit if upstream.sha == state.refused_commit else None,
        refusal=state.refusal if upstream.sha == state.refused_commit else None,
    )
    state = state.count("fetch_total", outcome=outcome)
    return state.observe("fetch_duration_seconds", time.monotonic() - started), moved, None
