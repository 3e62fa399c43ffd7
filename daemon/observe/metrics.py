"""deployd's Prometheus metrics, computed at scrape time from the persisted state.

Nothing here keeps a value of its own. Every scrape asks a *snapshot provider* for the current
:class:`~daemon.records.model.StatusSnapshot` (``state.json``, the newest run record and the loop's
:class:`~daemon.records.model.LiveStatus`) and turns it into metric families. So:

* a restart loses nothing: counters and histograms are the monotonic ones in ``HostState``;
* no boolean sticks: ``deployd_behind`` compares the upstream head with the last good commit
  at scrape time, ``deployd_debugger_waiting`` reads the live status;
* a scrape never reads the run history: the newest run comes with the snapshot and the
  per-component "last changed" times live in ``HostState.component_last_changed``.

Label values are bounded: outcomes, triggers and reasons come from the fixed sets in
:mod:`daemon.records.model`; a value outside them is exported as ``other``. Every series of a
counter's fixed label set is exported from the start (at 0), so ``increase()`` sees the first
event. Timestamps are Unix seconds; ``0`` means "never". ``docs/metrics.md`` lists them all.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from itertools import accumulate, product
from typing import cast

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString as _untyped_float_to_go

from daemon.observe.rollout_metrics import rollout_families
from daemon.observe.trust_metrics import trust_families
from daemon.records import (
    FETCH_OUTCOMES,
    OUTCOMES,
    REFUSAL_REASONS,
    TRIGGERS,
    VENV_OUTCOMES,
    Histogram,
    HostState,
    LiveStatus,
    RunRecord,
    StatusSnapshot,
    empty_histogram,
    parse_labels,
)

log = logging.getLogger(__name__)
# prometheus_client's label formatting for bucket bounds ("+Inf", "0.5"); the library is untyped.
float_to_go = cast(Callable[[float], str], _untyped_float_to_go)

SnapshotProvider = Callable[[], StatusSnapshot]
COMPONENT_STATES = ("changed", "unchanged", "failed", "skipped", "not-attempted")
FAILED_OUTCOMES = ("failed", "timeout", "crashed")
OTHER = "other"

# name in HostState.counters -> (help, labels, the fixed value set of each label)
COUNTERS: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "runs_total": (
        "Runs finished, by outcome and by what triggered them.",
        ("outcome", "trigger"),
        (OUTCOMES, TRIGGERS),
    ),
    "fetch_total": (
        "Fetches of the deployment repository, by outcome (fetched: new commits).",
        ("outcome",),
        (FETCH_OUTCOMES,),
    ),
    "refused_total": (
        "Runs refused before converging, by reason (not-fast-forward, host-missing, ...).",
        ("reason",),
        (REFUSAL_REASONS,),
    ),
    "health_checks_total": (
        "Health checks run after converges (docs/fleet.md), by result.",
        ("result",),
        (("passed", "failed"),),
    ),
    "venv_builds_total": (
        "Virtualenv preparations for requirements.txt, by outcome (reused, built, failed).",
        ("outcome",),
        (VENV_OUTCOMES,),
    ),
}
HISTOGRAMS: dict[str, str] = {
    "run_duration_seconds": "Duration of finished runs, from start to record.",
    "push_to_converged_seconds": (
        "Time from a commit's own timestamp to the end of the run that converged it."
    ),
    "fetch_duration_seconds": "Duration of fetches of the deployment repository.",
    "venv_build_duration_seconds": "Duration of virtualenv builds (cache misses only).",
}


def package_version() -> str:
    try:
        return metadata.version("deployd")
    except metadata.PackageNotFoundError:
        return "unknown"


class DeploydCollector(Collector):
    """A custom collector: ``collect()`` builds every family from one fresh snapshot."""

    def __init__(
        self,
        snapshot: SnapshotProvider,
        converge_interval: float,
        poll_interval: float,
    ) -> None:
        self._snapshot = snapshot
        self._intervals = (converge_interval, poll_interval)
        self._version = package_version()

    def describe(self) -> Iterable[Metric]:
        # Empty on purpose: registering must not call the provider.
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            snap = self._snapshot()
        except Exception as error:  # a corrupt state file must not break the endpoint
            log.warning("metrics: cannot read the daemon state: %s", error)
            yield from self._build_info(None)
            yield _gauge("state_readable", "1 when the daemon state could be read.", 0)
            return
        yield from self._build_info(snap)
        yield _gauge("state_readable", "1 when the daemon state could be read.", 1)
        yield from self._config()
        yield from deployment_families(snap)
        yield from run_families(snap.state, snap.last_run)
        yield from component_families(snap.state, snap.last_run)
        yield from fetch_families(snap.state)
        yield from live_families(snap.state, snap.live)
        yield from rollout_families(snap)
        for name, (text, labels, allowed) in COUNTERS.items():
            yield counter_family(snap.state, name, text, labels, allowed)
        for name, text in HISTOGRAMS.items():
            yield histogram_family(name, text, snap.state.histograms.get(name))

    def _build_info(self, snap: StatusSnapshot | None) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "deployd_build_info",
            "Always 1; the deployd version and the Python running it.",
            labels=("version", "python"),
        )
        version = (snap.version if snap else "") or self._version
        info.add_metric((version, platform.python_version()), 1)
        yield info
        if snap is not None:
            host = GaugeMetricFamily(
                "deployd_host_info",
                "Always 1; the host name and environment this daemon converges.",
                labels=("host", "environment", "platform"),
            )
            host.add_metric((snap.host, snap.environment, snap.platform or ""), 1)
            yield host

    def _config(self) -> Iterator[Metric]:
        converge, poll = self._intervals
        yield _gauge(
            "converge_interval_seconds",
            "Time between scheduled converges: converge_interval plus this host's splay share.",
            converge,
        )
        yield _gauge("poll_interval_seconds", "Configured interval between polls.", poll)


def deployment_families(snap: StatusSnapshot) -> Iterator[Metric]:
    state = snap.state
    good, upstream = state.last_good, state.upstream
    deployed = GaugeMetricFamily(
        "deployd_deployed_commit_info",
        "Always 1; the commit of the last successful run and its branch (absent before one).",
        labels=("commit", "branch"),
    )
    if good is not None:
        deployed.add_metric((good.sha, good.branch or snap.branch), 1)
    yield deployed
    yield _gauge(
        "deployed_commit_timestamp_seconds",
        "The deployed commit's own (committer) time; 0 before the first success.",
        good.timestamp if good else 0,
    )
    upstream_info = GaugeMetricFamily(
        "deployd_upstream_commit_info",
        "Always 1; the head of the remote branch at the last successful poll.",
        labels=("commit",),
    )
    if upstream is not None:
        upstream_info.add_metric((upstream.sha,), 1)
    yield upstream_info
    yield _gauge(
        "upstream_commit_timestamp_seconds",
        "The upstream head's own (committer) time; 0 before the first successful poll.",
        upstream.timestamp if upstream else 0,
    )
    yield _gauge(
        "behind",
        "1 while the remote head is known and not the last successfully converged commit.",
        is_behind(state),
    )


def is_behind(state: HostState) -> int:
    """Computed, never stored: an unknown upstream is not "behind" (fetch alerts cover it)."""
    if state.upstream is None:
        return 0
    return int(state.last_good is None or state.last_good.sha != state.upstream.sha)


def run_families(state: HostState, last: RunRecord | None) -> Iterator[Metric]:
    yield _gauge(
        "last_run_timestamp_seconds",
        "End of the newest finished run (any outcome); 0 before the first.",
        last.finished_at if last else 0,
    )
    yield _gauge(
        "last_run_duration_seconds",
        "Duration of the newest finished run; 0 before the first.",
        last.duration if last else 0,
    )
    yield _gauge(
        "last_success_timestamp_seconds",
        "End of the newest succeeded run; 0 before the first.",
        state.last_good_at or 0,
    )
    outcome = GaugeMetricFamily(
        "deployd_last_run_outcome",
        "1 for the outcome of the newest finished run, 0 for the others.",
        labels=("outcome",),
    )
    current = bounded(last.outcome, OUTCOMES) if last else None
    for value in _with_other(OUTCOMES, current):
        outcome.add_metric((value,), int(value == current))
    yield outcome


def component_families(state: HostState, last: RunRecord | None) -> Iterator[Metric]:
    components = last.components if last else ()
    by_state = GaugeMetricFamily(
        "deployd_components",
        "Root components of the newest run, by what happened to them.",
        labels=("state",),
    )
    tally = dict.fromkeys(COMPONENT_STATES, 0)
    for component in components:
        key = bounded(component.outcome, COMPONENT_STATES)
        tally[key] = tally.get(key, 0) + 1
    for key, count in tally.items():
        by_state.add_metric((key,), count)
    yield by_state
    durations = GaugeMetricFamily(
        "deployd_component_duration_seconds",
        "How long each root component took in the newest run.",
        labels=("component",),
    )
    for component in components:
        durations.add_metric((component.component,), component.duration)
    yield durations
    changed = GaugeMetricFamily(
        "deployd_component_last_changed_timestamp_seconds",
        "End of the newest run in which the component changed something.",
        labels=("component",),
    )
    for name, stamp in sorted(state.component_last_changed.items()):
        changed.add_metric((name,), stamp)
    yield changed


def fetch_families(state: HostState) -> Iterator[Metric]:
    yield _gauge(
        "last_fetch_timestamp_seconds",
        "Time of the newest fetch attempt; 0 before the first.",
        state.last_fetch_at or 0,
    )
    yield _gauge(
        "last_fetch_success_timestamp_seconds",
        "Time of the newest successful fetch; 0 before the first.",
        state.last_fetch_success_at or 0,
    )
    refused = GaugeMetricFamily(
        "deployd_refused_commit_info",
        "Always 1 while a commit is refused (rewritten history) until the branch moves on.",
        labels=("commit",),
    )
    if state.refused_commit:
        refused.add_metric((state.refused_commit,), 1)
    yield refused
    yield from trust_families(state)


def live_families(state: HostState, live: LiveStatus) -> Iterator[Metric]:
    suspended = state.suspended_reason is not None or state.suspended_at is not None
    yield _gauge("suspended", "1 while converging is suspended by an operator.", int(suspended))
    if suspended:
        yield _gauge(
            "suspended_since_timestamp_seconds",
            "When converging was suspended (only while suspended).",
            state.suspended_at or 0,
        )
    yield _gauge(
        "debugger_waiting",
        "1 while a component's breakpoint waits for a debugger client.",
        int(live.debugger is not None),
    )
    if live.debugger is not None:
        yield _gauge(
            "debugger_waiting_since_timestamp_seconds",
            "When the waiting debugger session opened (only while one waits).",
            live.debugger.since,
        )
    yield _gauge(
        "run_in_progress", "1 while a run is in flight.", int(live.running_run_id is not None)
    )
    # While suspended no converge will start, whatever the loop's timer says (it stays at the
    # due time the suspension overtook): a past "next run" would read as an overdue one.
    yield _gauge(
        "next_run_timestamp_seconds",
        "When the next scheduled converge is due; 0 when none is scheduled (or suspended).",
        0 if suspended else live.next_converge_at or 0,
    )
    yield _gauge(
        "next_poll_timestamp_seconds",
        "When the next poll of the remote is due; 0 when none is scheduled.",
        live.next_poll_at or 0,
    )
    yield _gauge(
        "daemon_start_timestamp_seconds",
        "When the running daemon started.",
        live.daemon_started_at,
    )


def counter_family(
    state: HostState,
    name: str,
    text: str,
    labels: tuple[str, ...],
    allowed: tuple[tuple[str, ...], ...],
) -> CounterMetricFamily:
    """A counter from ``HostState.counters[name]``, every fixed label combination present."""
    values: dict[tuple[str, ...], float] = dict.fromkeys(product(*allowed), 0.0)
    for key, value in state.counters.get(name, {}).items():
        parsed = parse_labels(key)
        pairs = zip(labels, allowed, strict=True)
        combo = tuple(bounded(parsed.get(label, ""), fixed) for label, fixed in pairs)
        values[combo] = values.get(combo, 0.0) + value
    family = CounterMetricFamily(f"deployd_{name}", text, labels=labels)
    for combo, value in values.items():
        family.add_metric(combo, value)
    return family


def histogram_family(name: str, text: str, hist: Histogram | None) -> HistogramMetricFamily:
    """Per-bucket counts from ``HostState`` made cumulative, with the ``+Inf`` bucket."""
    hist = hist or empty_histogram(name)
    cumulative = list(accumulate(hist.counts))
    total = max(hist.count, cumulative[-1] if cumulative else 0)
    pairs = zip(hist.buckets, cumulative, strict=False)
    buckets = [(float_to_go(le), float(c)) for le, c in pairs]
    buckets.append(("+Inf", float(total)))
    return HistogramMetricFamily(f"deployd_{name}", text, buckets=buckets, sum_value=hist.sum)


def bounded(value: str, fixed: tuple[str, ...]) -> str:
    return value if value in fixed else OTHER


def _with_other(fixed: tuple[str, ...], current: str | None) -> tuple[str, ...]:
    return (*fixed, OTHER) if current == OTHER else fixed


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"deployd_{name}", text, value=value)
