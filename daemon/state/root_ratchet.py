"""A second copy of the ratchet, kept in the deployment root: ``ROOT/.deployd-ratchet.json``.

The state directory may be lost (a re-provisioned ``/var``, a wiped disk, an operator's
``rm -rf``) while what was deployed stays under the deployment root. A daemon that then started
with no state would take whatever the branch says, even a git server rolled back to an old,
vulnerable commit. With this copy it knows the commit that was deployed here, and only its
descendants converge (or what ``deployd trust`` names).

The file is written atomically whenever the ratchet moves and read at start-up when the state
has no ratchet. A damaged file is reported and ignored: it can only make the daemon stricter
(``not-fast-forward``) or leave it as without a copy, never admit a commit.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from daemon.state.store import atomic_write

log = logging.getLogger(__name__)

FILE_NAME = ".deployd-ratchet.json"
_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")


@dataclass(frozen=True)
class RootRatchet:
    commit: str
    repository: str = ""
    branch: str = ""
    written_at: float = 0.0


def root_ratchet_path(root: Path) -> Path:
    return root / FILE_NAME


def write_root_ratchet(root: Path, commit: str, repository: str, branch: str) -> None:
    """Record ``commit`` beside what it deployed; a failure is logged, never fatal (the state
    dir keeps the ratchet), so a read-only root does not stop deployments."""
    data = {"commit": commit, "repository": repository, "branch": branch, "at": time.time()}
    try:
        atomic_write(root_ratchet_path(root), (json.dumps(data, indent=1) + "\n").encode(), 0o644)
    except OSError as error:
        log.warning("ratchet: cannot keep a copy in %s: %s", root, error.strerror or error)


def read_root_ratchet(root: Path) -> RootRatchet | None:
    path = root_ratchet_path(root)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.error("ratchet: %s is unreadable (%s); ignored", path, error)
        return None
    commit = data.get("commit") if isinstance(data, dict) else None
    if not isinstance(commit, str) or not _SHA.match(commit):
        log.error("ratchet: %s names no commit; ignored", path)
        return None
    at = data.get("at")
    return RootRatchet(
        commit=commit,
        repository=str(data.get("repository") or ""),
        branch=str(data.get("branch") or ""),
        written_at=float(at) if isinstance(at, int | float) else 0.0,
    )
