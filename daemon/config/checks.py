"""Values that parse but cannot be meant: refused at start-up with what to write instead.

Each check returns the problem as a sentence, or None. ``settings`` calls them with the file
and line at hand; they import nothing of deployd (config is a leaf).
"""

from __future__ import annotations

import difflib
import os
import re
from urllib.parse import urlsplit

# The longest time limit or interval we take: 30 days. Longer cannot be meant, and a huge
# number (1e308) overflows the timers of git and threads instead.
MAX_SECONDS = 30 * 24 * 3600.0
# The shortest poll interval: every poll is a round trip to the git server.
MIN_POLL_INTERVAL = 0.1
_URL_SCHEMES = ("http", "https", "ssh", "git", "file")
# git check-ref-format's rules for one branch name (see `git help check-ref-format`).
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock(/|$)|^[/.]|[/.]$|^@$")


def duration_problem(key: str, seconds: float) -> str | None:
    """A duration above :data:`MAX_SECONDS`, or a poll interval below the minimum."""
    if seconds > MAX_SECONDS:
        return f"{seconds:g} seconds is more than 30 days ({MAX_SECONDS:g}): cannot be meant"
    if key == "poll_interval" and seconds < MIN_POLL_INTERVAL:
        return f"{seconds:g} seconds would poll the git server {1 / seconds:.0f} times a second"
    return None


def branch_problem(name: str) -> str | None:
    """A branch name git would refuse (or read as something else: ``main:x`` is a refspec)."""
    if not name or name.startswith("-") or _BAD_REF.search(name):
        return f"not a valid branch name: {name!r} (see `git check-ref-format --branch`)"
    return None


def directory_problem(key: str, value: str) -> str | None:
    """The file system root as deployd's own directory: it would own, watch or clean ``/``."""
    if value and os.path.normpath(value) in ("/", "//"):
        return f"{value!r} is the file system root: name a directory of deployd's own"
    return None


def url_problem(url: str) -> str | None:
    """A repository URL git cannot use (the URL itself is not echoed: it may hold a token)."""
    if "://" in url:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:  # the caller names what Python's parser says
            return None
        if any(c.isspace() for c in parts.netloc):
            return "the host part of the URL holds a space"
        scheme = parts.scheme.lower()
        if scheme not in _URL_SCHEMES:
            return f"git cannot fetch {scheme}:// URLs ({', '.join(_URL_SCHEMES)} work)"
        if scheme != "file" and not host:
            return f"a {scheme}:// URL needs a host"
        return None
    misspelt = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):/", url)
    if misspelt and "." not in misspelt.group(1):
        close = difflib.get_close_matches(misspelt.group(1).lower(), _URL_SCHEMES, n=1)
        if close:
            return f"{misspelt.group(1)}:/ looks like a misspelt URL: did you mean {close[0]}://?"
    return None
