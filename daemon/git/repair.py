"""A damaged mirror repairs itself: it is moved aside and cloned anew.

The bare mirror under the state dir is a cache of the remote: everything in it can be fetched
again. A garbage ``HEAD`` or ``config``, a torn ``packed-refs``, a corrupt or missing object
would otherwise fail every poll forever. What the mirror holds of our own, the ratchet ref, is
also in ``state.json``; the run before the next converge sets it again.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)

# git's words for a local repository it cannot read (lines of the remote's are not ours).
_DAMAGE = re.compile(
    r"unexpected line in .*packed-refs|inflate: data stream error|unable to unpack|"
    r"bad object|is corrupt|corrupt loose|missing (blob|tree|commit) |invalid object|"
    r"bad config|unable to parse .*config|did not send all necessary objects|"
    r"fatal: bad numeric config|bad signature 0x|index file corrupt|unknown repository format|"
    r"not a git repository \(or any",  # run in the mirror, git no longer sees a repository
    re.IGNORECASE,
)


# ... and its words for a pack it is being sent: bad data from the server or a bundle.
_INCOMING = re.compile(r"index-pack|pack has bad object|fetch-pack", re.IGNORECASE)


def damage_in(stderr: str, path: Path) -> str | None:
    """The line of ``stderr`` that says the repository at ``path`` is damaged, if one does."""
    if _INCOMING.search(stderr):
        return None
    for line in stderr.splitlines():
        line = line.strip()
        if line.lower().startswith("remote:"):
            continue
        if _DAMAGE.search(line) or f"not a git repository: '{path}'" in line:
            return line.removeprefix("fatal: ").removeprefix("error: ")
    return None


def move_aside(path: Path, why: str) -> Path:
    """Rename the damaged repository (one earlier damaged copy is kept for a post-mortem,
    older ones removed) and say so at warning level; return where it went."""
    for older in sorted(path.parent.glob(f"{path.name}.damaged-*"))[:-1]:
        shutil.rmtree(older, ignore_errors=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    number = 1
    while aside.exists():  # damaged twice in one second
        number += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{number}")
    os.replace(path, aside)
    log.warning("fetch: the mirror %s is damaged (%s): moved aside to %s, cloned anew", path, why,
                aside.name)  # fmt: skip
    return aside
