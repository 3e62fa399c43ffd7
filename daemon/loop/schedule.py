"""When the loop asks git next: the pacing of ``daemon.loop.owner``'s polls.

After a poll that worked, the next comes one poll interval later; after a failure,
``retry_delay`` decides (capped exponential backoff with jitter when the failure is
transient). Times count from the end of a poll, so a slow git server does not make the next
poll due at once. And within one tick of the loop, git is asked at most once when it is slow:
once this tick's polls took longer than ``POLL_BUDGET_PER_TICK``, further triggers in the same
tick do not poll. The watchdog is fed between ticks, so N queued triggers against a hung
server must not block a tick for N fetch limits.
"""

from __future__ import annotations

import hashlib
import math
import random
import time

from daemon.git import FetchError

POLL_BUDGET_PER_TICK = 1.0  # seconds of git per tick before triggers stop asking again


class PollSchedule:
    def __init__(self, poll_interval: float, retry_max: float) -> None:
        self.poll_interval = poll_interval
        self.retry_max = retry_max
        self.next_at = 0.0  # epoch seconds; 0: at once
        self.polled_at = 0.0  # epoch seconds: when the last poll ended
        self.failures = 0  # failed polls in a row
        self.spent_this_tick = 0.0  # seconds this tick's polls took
        # Seconds into each poll interval at which this host polls (None: one interval after
        # the last poll). A fleet given evenly spread phases (daemon.rollout.pacing) never
        # polls its git server all at once, however the daemons were started.
        self.phase: float | None = None

    def new_tick(self) -> None:
        self.spent_this_tick = 0.0

    def may_poll(self) -> bool:
        return self.spent_this_tick <= POLL_BUDGET_PER_TICK

    def polled(self, began: float, now: float, error: FetchError | None) -> float:
        """Note a poll that began at ``began`` (monotonic) in a tick at ``now`` (epoch);
        return the seconds until the next one."""
        self.spent_this_tick += time.monotonic() - began
        self.polled_at = max(now, time.time())
        if error is None:
            self.failures = 0
            delay = self.poll_interval
            if self.phase is not None:
                delay = phased_delay(self.polled_at, self.poll_interval, self.phase)
        else:
            self.failures += 1
            jitter = random.uniform(0.5, 1.0)
            delay = retry_delay(
                self.failures, error.transient, self.poll_interval, self.retry_max, jitter
            )
        self.next_at = self.polled_at + delay
        return delay


def phased_delay(now: float, interval: float, phase: float) -> float:
    """Seconds from ``now`` to the next time ``phase`` seconds into an interval (counted
    from the epoch), at least half an interval away: on average one interval apart."""
    wanted = now + interval / 2
    start = math.ceil((wanted - phase) / interval) * interval + phase
    return start - now


def splay_offset(host: str, splay: float) -> float:
    """A fixed fraction of ``splay`` for this host (the same after every restart)."""
    digest = hashlib.sha256(host.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 * splay


def retry_delay(
    failures: int, transient: bool, poll_interval: float, retry_max: float, jitter: float
) -> float:
    """Seconds until the next poll after ``failures`` failed polls in a row.

    A transient failure (server away, timeout, 5xx) backs off exponentially (2, 4, 8 … s),
    capped by ``retry_max`` and by the poll interval, scaled by ``jitter`` (0.5-1.0, random)
    so a fleet does not come back at once; any other failure waits one poll interval."""
    if not transient:
        return poll_interval
    backoff = min(retry_max, 2.0 ** min(failures, 20))
    return min(poll_interval, backoff * jitter)
