"""The trust metrics: the standing signature refusal, and the last ``deployd trust`` by hand.

Computed at scrape time from the host state, like every other family (``observe.metrics``).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from daemon.records import HostState


def trust_families(state: HostState) -> Iterator[Metric]:
    """The standing signature refusal (one series at most), and the hand-made exceptions."""
    refusal = GaugeMetricFamily(
        "deployd_trust_refusal_info",
        "Always 1 while the branch head is refused by the signature policy: the reason, the "
        "commit that failed, its signer (identity and key) and the path it may not change.",
        labels=("reason", "commit", "head", "signer", "key", "path"),
    )
    why = state.refusal
    if why is not None and state.refused_commit:
        labels = (why.reason, why.commit, why.head, why.signer, why.key, why.path)
        refusal.add_metric(labels, 1)
    yield refusal
    trusted = state.trusted
    yield GaugeMetricFamily(
        "deployd_trusted_by_hand_timestamp_seconds",
        "When `deployd trust` last moved the ratchet by hand; 0 if never.",
        value=trusted.at if trusted else 0,
    )
