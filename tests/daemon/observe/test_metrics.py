"""The metrics, scraped over real HTTP from state the test wrote through the real StateStore."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)

from daemon.config.addresses import parse_listen
from daemon.observe.exporter import (
    ExporterError,
    MetricsExporter,
    build_registry,
    metrics_route,
)
from daemon.records.model import (
    DURATION_BUCKETS,
    FETCH_BUCKETS,
    OUTCOMES,
    TRIGGERS,
    ComponentRecord,
    DebuggerInfo,
    Histogram,
    HostState,
)
from daemon.state.store import StateStore
from tests.support.metrics_store import (
    StoreProvider,
    commit_info,
    parse,
    promtool,
    record_run,
    scrape,
    series,
    start_exporter,
    update_state,
    value,
)

OLD, NEW = commit_info("a1", 1_700_000_000.0), commit_info("b2", 1_700_000_600.0)


@pytest.fixture
def store(tmp_path) -> StateStore:
    store = StateStore(tmp_path / "state")
    store.ensure()
    return store


@pytest.fixture
def provider(store) -> StoreProvider:
    return StoreProvider(store)


@pytest.fixture
def exporter(provider) -> Iterator[MetricsExporter]:
    exporter = start_exporter(provider)
    yield exporter
    exporter.stop()


def components(*outcomes: str) -> tuple[ComponentRecord, ...]:
    return tuple(
        ComponentRecord(f"c{i}", outcome, duration=0.5 + i) for i, outcome in enumerate(outcomes)
    )


def test_fresh_host_scrape_is_complete_and_promtool_clean(exporter):
    body = scrape(exporter)
    promtool("check", "metrics", stdin=body)
    samples = parse(body)
    assert value(samples, "deployd_state_readable") == 1
    assert value(samples, "deployd_behind") == 0
    assert value(samples, "deployd_last_success_timestamp_seconds") == 0
    assert set(series(samples, "deployd_last_run_outcome").values()) == {0}
    assert series(samples, "deployd_deployed_commit_info") == {}
    # every fixed label combination exists at 0, so increase() sees the first event
    assert len(series(samples, "deployd_runs_total")) == len(OUTCOMES) * len(TRIGGERS)
    assert value(samples, "deployd_refused_total", reason="not-fast-forward") == 0
    assert value(samples, "deployd_run_duration_seconds_count") == 0
    info = series(samples, "deployd_build_info")
    assert len(info) == 1 and dict(next(iter(info)))["version"]


def test_values_follow_the_runs(exporter, store):
    record_run(store, "succeeded", OLD, components=components("changed", "unchanged"))
    record_run(store, "failed", NEW, components=components("unchanged", "failed"))
    record_run(store, "timeout", NEW, trigger="schedule", duration=700.0)
    last = record_run(store, "refused", NEW, reason="not-fast-forward")
    update_state(store, upstream=NEW, refused_commit=NEW.sha)

    body = scrape(exporter)
    promtool("check", "metrics", stdin=body)
    samples = parse(body)
    runs = series(samples, "deployd_runs_total")
    assert sum(runs.values()) == 4
    assert value(samples, "deployd_runs_total", outcome="succeeded", trigger="poll") == 1
    assert value(samples, "deployd_runs_total", outcome="failed", trigger="poll") == 1
    assert value(samples, "deployd_runs_total", outcome="timeout", trigger="schedule") == 1
    assert value(samples, "deployd_runs_total", outcome="refused", trigger="poll") == 1
    assert value(samples, "deployd_refused_total", reason="not-fast-forward") == 1
    assert value(samples, "deployd_refused_commit_info", commit=NEW.sha) == 1
    assert value(samples, "deployd_last_run_outcome", outcome="refused") == 1
    assert sum(series(samples, "deployd_last_run_outcome").values()) == 1
    assert value(samples, "deployd_last_run_timestamp_seconds") == last.finished_at
    assert value(samples, "deployd_last_run_duration_seconds") == last.duration
    assert value(samples, "deployd_deployed_commit_info", commit=OLD.sha, branch="main") == 1
    assert value(samples, "deployd_deployed_commit_timestamp_seconds") == OLD.timestamp
    assert value(samples, "deployd_upstream_commit_info", commit=NEW.sha) == 1
    assert value(samples, "deployd_behind") == 1
    assert value(samples, "deployd_run_duration_seconds_count") == 4
    assert value(samples, "deployd_run_duration_seconds_bucket", le="600.0") == 3
    assert value(samples, "deployd_run_duration_seconds_bucket", le="+Inf") == 4
    assert value(samples, "deployd_run_duration_seconds_sum") == pytest.approx(709.0)
    assert value(samples, "deployd_push_to_converged_seconds_count") == 1


def test_components_of_the_last_run_and_when_each_last_changed(exporter, store):
    first = record_run(store, "succeeded", OLD, components=components("changed", "changed"))
    second = record_run(
        store, "failed", NEW, components=components("unchanged", "changed", "failed")
    )
    samples = parse(scrape(exporter))
    assert series(samples, "deployd_components") == {
        (("state", "changed"),): 1,
        (("state", "unchanged"),): 1,
        (("state", "failed"),): 1,
        (("state", "skipped"),): 0,
        (("state", "not-attempted"),): 0,
    }
    assert value(samples, "deployd_component_duration_seconds", component="c2") == 2.5
    assert len(series(samples, "deployd_component_duration_seconds")) == 3
    changed = series(samples, "deployd_component_last_changed_timestamp_seconds")
    assert changed == {
        (("component", "c0"),): first.finished_at,
        (("component", "c1"),): second.finished_at,
    }


def test_push_to_converged_counts_each_commit_once_from_its_own_time(exporter, store):
    record_run(store, "succeeded", OLD, finished_at=OLD.timestamp + 40)
    record_run(store, "succeeded", OLD, trigger="schedule", finished_at=OLD.timestamp + 1900)
    record_run(store, "failed", NEW, finished_at=NEW.timestamp + 30)
    record_run(store, "succeeded", NEW, trigger="schedule", finished_at=NEW.timestamp + 2000)
    samples = parse(scrape(exporter))
    # the drift correction of OLD is not a push; NEW counts from its commit, failures included
    assert value(samples, "deployd_push_to_converged_seconds_count") == 2
    assert value(samples, "deployd_push_to_converged_seconds_sum") == 40 + 2000
    assert value(samples, "deployd_push_to_converged_seconds_bucket", le="60.0") == 1
    assert value(samples, "deployd_push_to_converged_seconds_bucket", le="1800.0") == 1
    assert value(samples, "deployd_deployed_commit_timestamp_seconds") == NEW.timestamp


def test_a_component_taken_off_the_host_loses_its_last_changed_series(exporter, store):
    first = record_run(store, "succeeded", OLD, components=components("changed", "changed"))
    record_run(store, "failed", NEW, components=components("failed"))  # c1 not reached
    changed = series(parse(scrape(exporter)), "deployd_component_last_changed_timestamp_seconds")
    assert set(changed) == {(("component", "c0"),), (("component", "c1"),)}
    record_run(store, "succeeded", NEW, components=components("unchanged"))  # c1 removed
    changed = series(parse(scrape(exporter)), "deployd_component_last_changed_timestamp_seconds")
    assert changed == {(("component", "c0"),): first.finished_at}


def test_behind_is_computed_at_scrape_time_never_sticky(exporter, store):
    record_run(store, "succeeded", OLD)
    update_state(store, upstream=OLD)
    assert value(parse(scrape(exporter)), "deployd_behind") == 0
    update_state(store, upstream=NEW)
    assert value(parse(scrape(exporter)), "deployd_behind") == 1
    record_run(store, "succeeded", NEW)
    assert value(parse(scrape(exporter)), "deployd_behind") == 0


def test_a_restart_keeps_every_value(store, tmp_path):
    record_run(store, "succeeded", OLD, components=components("changed"))
    record_run(store, "failed", NEW)
    update_state(store, upstream=NEW, last_fetch_success_at=1_700_000_700.0)
    update_state(store, **_fetch_counters(store.load()))
    before = _durable(parse(scrape_once(StoreProvider(store))))
    after = _durable(parse(scrape_once(StoreProvider(StateStore(store.state_dir)))))
    assert before == after
    assert before[("deployd_fetch_total", (("outcome", "failed"),))] == 2
    assert before[("deployd_runs_total", (("outcome", "failed"), ("trigger", "poll")))] == 1


def test_live_status_suspension_debugger_and_schedule(exporter, store, provider):
    now = time.time()
    update_state(store, suspended_reason="maintenance", suspended_at=now - 60)
    provider.live = replace(
        provider.live,
        debugger=DebuggerInfo(host="127.0.0.1", port=4444, file="c.py", line=3, since=now - 5),
        next_converge_at=now + 1800,
        running_run_id="20261124T050000-000009",
    )
    samples = parse(scrape(exporter))
    assert value(samples, "deployd_suspended") == 1
    assert value(samples, "deployd_suspended_since_timestamp_seconds") == now - 60
    assert value(samples, "deployd_debugger_waiting") == 1
    assert value(samples, "deployd_debugger_waiting_since_timestamp_seconds") == now - 5
    # the loop's timer says a converge is due, but none starts while suspended
    assert value(samples, "deployd_next_run_timestamp_seconds") == 0
    assert value(samples, "deployd_run_in_progress") == 1

    update_state(store, suspended_reason=None, suspended_at=None)
    provider.live = replace(provider.live, debugger=None, running_run_id=None)
    samples = parse(scrape(exporter))
    assert value(samples, "deployd_suspended") == 0
    assert value(samples, "deployd_debugger_waiting") == 0
    assert value(samples, "deployd_next_run_timestamp_seconds") == now + 1800
    assert series(samples, "deployd_suspended_since_timestamp_seconds") == {}
    assert series(samples, "deployd_debugger_waiting_since_timestamp_seconds") == {}


def test_unknown_label_values_are_bounded(exporter, store):
    state = HostState().count("runs_total", outcome="exploded", trigger="cosmic-ray")
    store.save(state.count("refused_total", reason="no-reason-at-all"))
    samples = parse(scrape(exporter))
    assert value(samples, "deployd_runs_total", outcome="other", trigger="other") == 1
    assert value(samples, "deployd_refused_total", reason="other") == 1
    labels = {dict(k).get("outcome") for k in series(samples, "deployd_runs_total")}
    assert labels == {*OUTCOMES, "other"}


def test_histogram_buckets_are_cumulative(exporter, store):
    observations = (0.5, 2.0, 7.0, 7.5, 4000.0)
    state = HostState()
    for seconds in observations:
        state = state.observe("venv_build_duration_seconds", seconds)
    store.save(state)
    samples = parse(scrape(exporter))
    buckets = series(samples, "deployd_venv_build_duration_seconds_bucket")
    assert len(buckets) == len(DURATION_BUCKETS) + 1
    for le in DURATION_BUCKETS:
        expected = sum(1 for seconds in observations if seconds <= le)
        assert buckets[(("le", f"{float(le)}"),)] == expected, le
    assert buckets[(("le", "+Inf"),)] == 5
    assert value(samples, "deployd_venv_build_duration_seconds_sum") == sum(observations)


def test_fetch_durations_have_sub_second_buckets(exporter, store):
    le = [f"{float(b)}" for b in FETCH_BUCKETS] + ["+Inf"]
    fresh = series(parse(scrape(exporter)), "deployd_fetch_duration_seconds_bucket")
    assert fresh == {(("le", b),): 0 for b in le}  # the same buckets before the first fetch
    state = HostState()
    for seconds in (0.03, 0.2, 0.7):
        state = state.observe("fetch_duration_seconds", seconds)
    store.save(state)
    buckets = series(parse(scrape(exporter)), "deployd_fetch_duration_seconds_bucket")
    assert [buckets[(("le", b),)] for b in le[:5]] == [1, 1, 2, 2, 3]
    # a state file from before keeps its own buckets: the series never change under a counter
    store.save(HostState(histograms={"fetch_duration_seconds": Histogram().observe(0.2)}))
    buckets = series(parse(scrape(exporter)), "deployd_fetch_duration_seconds_bucket")
    assert buckets[(("le", "1.0"),)] == 1 and len(buckets) == len(DURATION_BUCKETS) + 1


def test_unreadable_state_still_answers(exporter, store):
    store.state_file.write_text("{ not json")
    body = scrape(exporter)
    promtool("check", "metrics", stdin=body)
    samples = parse(body)
    assert value(samples, "deployd_state_readable") == 0
    assert series(samples, "deployd_build_info")


def test_openmetrics_when_asked(exporter, store):
    # Prometheus asks for OpenMetrics first; its parser is stricter than the text one.
    record_run(store, "succeeded", OLD)
    accept = "application/openmetrics-text;version=1.0.0"
    response = httpx.get(f"http://{exporter.address}/metrics", headers={"Accept": accept})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in openmetrics_families(response.text)}
    assert families["deployd_runs"].type == "counter"
    assert families["deployd_run_duration_seconds"].type == "histogram"
    assert families["deployd_build_info"].samples[0].value == 1


def test_each_scrape_reads_the_state_once(exporter, provider):
    scrape(exporter)
    scrape(exporter)
    assert provider.calls == 2


def test_api_socket_route_serves_the_same_exposition(provider, store):
    record_run(store, "succeeded", OLD)
    registry = build_registry(provider, converge_interval=1800.0, poll_interval=60.0)
    status, content_type, body = metrics_route(registry)("/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    samples = parse(body.decode())
    assert value(samples, "deployd_last_run_outcome", outcome="succeeded") == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:9477", ("127.0.0.1", 9477)),
        ("0.0.0.0:9100", ("0.0.0.0", 9100)),
        ("[::1]:9477", ("::1", 9477)),
        ("metrics.example.org:80", ("metrics.example.org", 80)),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_listen(text, expected):
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("9477", "expected HOST:PORT"),
        (":9477", "expected HOST:PORT"),
        ("::1:9477", "IPv6 address in brackets"),
        ("127.0.0.1:http", "port must be a number"),
        ("127.0.0.1:70000", "port must be a number"),
    ],
)
def test_parse_listen_refuses_bad_addresses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_listen(text)
    with pytest.raises(ExporterError, match=message):
        MetricsExporter.start(text, build_registry(lambda: None, 1, 1))  # type: ignore[arg-type]


def test_listener_on_ipv6_loopback_and_disabled(provider):
    exporter = start_exporter(provider, "[::1]:0")
    try:
        assert exporter.address.startswith("[::1]:")
        assert value(parse(scrape(exporter)), "deployd_state_readable") == 1
    finally:
        exporter.stop()
    assert MetricsExporter.start("", build_registry(provider, 1, 1)) is None


def test_port_in_use_is_a_clear_error(provider):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            ExporterError, match=f"cannot listen on 127.0.0.1:{port}.*metrics_listen"
        ):
            start_exporter(provider, f"127.0.0.1:{port}")


def scrape_once(provider: StoreProvider) -> str:
    exporter = start_exporter(provider)
    try:
        return scrape(exporter)
    finally:
        exporter.stop()


def _fetch_counters(state: HostState) -> dict[str, object]:
    state = state.count("fetch_total", outcome="failed").count("fetch_total", outcome="failed")
    state = state.count("fetch_total", outcome="fetched").observe("fetch_duration_seconds", 0.2)
    return {"counters": state.counters, "histograms": state.histograms}


def _durable(samples: dict) -> dict:
    """Everything but what belongs to the running process."""
    volatile = ("process_", "deployd_daemon_start_timestamp_seconds")
    return {k: v for k, v in samples.items() if not k[0].startswith(volatile)}
