"""Git bundles dropped into the inbox directory: for hosts that cannot reach the git server.

A file ``*.bundle`` appearing in the inbox is verified (``git bundle verify``), its branch is
fetched into the mirror, and the file moves to ``processed/`` (or ``failed/`` when it is not a
valid bundle of the branch). The bundle's head then becomes the upstream candidate when it is
newer than what the mirror knows; the ratchet still decides whether it may be converged.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from pathlib import Path

from daemon.git.mirror import FetchError, Mirror
from daemon.records import HostState

log = logging.getLogger(__name__)


def import_bundle(
    state: HostState, mirror: Mirror, path: str, state_dir: Path
) -> tuple[HostState, str | None]:
    """Fetch one bundle into the mirror; return the new state and an error message or None."""
    bundle = Path(path)
    if not bundle.is_file():
        return state, None  # already handled (a duplicate event)
    upstream = state.upstream
    try:
        sha = mirror.fetch_bundle(bundle)
        if upstream is None or (sha != upstream.sha and mirror.is_ancestor(upstream.sha, sha)):
            info = mirror.commit_info(sha)
            mirror.set_upstream(sha)
            state = replace(state, upstream=info, last_fetch_at=time.time())
            log.info("inbox: %s brings %s (%s)", bundle.name, sha[:12], info.subject)
        elif sha != upstream.sha and not mirror.is_ancestor(sha, upstream.sha):
            state = replace(state, upstream=mirror.commit_info(sha))  # the ratchet judges it
    except FetchError as error:  # filed where its refusal says it is
        _move(bundle, "failed")
        log.error("inbox: %s refused: %s", bundle.name, error)
        return state, f"bundle {bundle.name}: {error}" if bundle.name not in str(error) else str(
            error
        )
    _move(bundle, "processed")
    return state, None


def _move(bundle: Path, folder: str) -> None:
    """File the bundle away; if that fails it stays (importing it again is harmless)."""
    target = bundle.parent / folder
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    try:
        target.mkdir(exist_ok=True)
        os.replace(bundle, target / f"{stamp}-{bundle.name}")
    except OSError as error:
        log.error("inbox: cannot move %s into %s/: %s", bundle.name, folder, error)


def pending_bundles(inbox: Path) -> list[Path]:
    """Bundles already waiting in the inbox (at start-up), oldest first."""
    if not inbox.is_dir():
        return []
    return sorted(
        (p for p in inbox.glob("*.bundle") if p.is_file()), key=lambda p: p.stat().st_mtime
    )
