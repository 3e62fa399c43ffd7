"""The daemon's own health: a tick that failed is logged once with what went wrong, and shown."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from daemon.records import LiveStatus
from daemon.state import StateError

log = logging.getLogger("daemon.loop.owner")


def tick_failed(live: LiveStatus, error: Exception, failures: int) -> tuple[LiveStatus, float]:
    """Log a failed tick and say how long to back off. A state dir that cannot be written is
    named in one line; anything else is a bug: its traceback once, then one line. The returned
    live status carries the failure, for ``deployd status``."""
    delay = min(60.0, 2.0 ** min(failures, 6))
    if failures == 1 and not isinstance(error, StateError):
        log.exception("loop: %s (retrying in %.0fs)", error, delay)
    elif failures == 1:
        log.error("loop: %s (retrying in %.0fs)", error, delay)
    else:
        log.error("loop: still failing (%d times): %s; retry in %.0fs", failures, error, delay)
    since = live.loop_failing_since or time.time()
    text = str(error) or type(error).__name__
    return replace(live, loop_error=text, loop_failing_since=since), delay
