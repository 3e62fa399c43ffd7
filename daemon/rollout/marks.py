"""What a finished run means for the rollout, folded into the host state (a pure transition).

* A run whose health check failed (``rolled-back``, ``rollback-failed``, or ``failed`` with
  reason ``health-check``) marks its commit, unless it is the deployed commit itself: the gate
  holds it until a newer commit arrives.
* ``rollback-failed`` suspends converging: a rollback is never retried by itself, and a host
  whose last good commit fails its own checks needs a person (``deployd resume``).
* A succeeded run of the marked commit (``deployd converge --now``) lifts the mark.
* Every health check counts in ``health_checks_total`` (by result).
"""

from __future__ import annotations

import time
from dataclasses import replace

from daemon.records import HostState, RunRecord

HEALTH_REASON = "health-check"


def apply_rollout_record(state: HostState, record: RunRecord) -> HostState:
    for check in record.health:
        state = state.count("health_checks_total", result="passed" if check.passed else "failed")
    commit = record.commit.sha if record.commit else None
    deployed = state.last_good.sha if state.last_good else None
    if record.reason == HEALTH_REASON and commit and commit != deployed:
        # (the deployed commit failing its checks at a drift converge is a failed run, not a
        # new commit to keep away: there is nothing older to hold on to)
        state = replace(state, rolled_back_commit=commit)
    elif record.outcome == "succeeded" and commit and commit == state.rolled_back_commit:
        state = replace(state, rolled_back_commit=None)
    if record.outcome == "rollback-failed":
        back = record.rolled_back_to.sha[:12] if record.rolled_back_to else "the last good commit"
        reason = (
            f"rollback of {(commit or '')[:12]} to {back} failed (run {record.id}): "
            "repair the host, then `deployd resume`"
        )
        since = record.finished_at or time.time()
        state = replace(state, suspended_reason=reason, suspended_at=since)
    return state
