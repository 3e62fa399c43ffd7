"""The rollout's metrics (docs/fleet.md): health checks, rollbacks, holds, and the newest run's
commit for the waves' Prometheus gate. Computed at scrape time from the snapshot, like the rest
of ``daemon.observe.metrics``."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from daemon.records import HOLD_REASONS, OUTCOMES, StatusSnapshot

CHECK_RESULTS = ("passed", "failed")


def rollout_families(snap: StatusSnapshot) -> Iterator[Metric]:
    state, live, last = snap.state, snap.live, snap.last_run
    last_commit = GaugeMetricFamily(
        "deployd_last_run_commit_info",
        "Always 1; the commit and outcome of the newest finished run (absent before one). "
        "The waves' gate asks Prometheus for it.",
        labels=("commit", "outcome"),
    )
    if last is not None and last.commit is not None:
        outcome = last.outcome if last.outcome in OUTCOMES else "other"
        last_commit.add_metric((last.commit.sha, outcome), 1)
    yield last_commit
    marked = GaugeMetricFamily(
        "deployd_rolled_back_commit_info",
        "Always 1 while a commit that failed its health check is held (until a newer one).",
        labels=("commit",),
    )
    if state.rolled_back_commit:
        marked.add_metric((state.rolled_back_commit,), 1)
    yield marked
    held = GaugeMetricFamily(
        "deployd_rollout_held",
        "1 for the reason the upstream head waits (window, freeze, wave-delay, wave-gate, "
        "rolled-back, bad-policy); all 0 when it does not.",
        labels=("reason",),
    )
    reason = live.hold.reason if live.hold else None
    for value in HOLD_REASONS:
        held.add_metric((value,), int(value == reason))
    yield held
    if live.hold is not None and live.hold.until:
        yield GaugeMetricFamily(
            "deployd_rollout_hold_until_timestamp_seconds",
            "When the hold ends by itself (a window opens, a wave's delay is over); only then.",
            value=live.hold.until,
        )
