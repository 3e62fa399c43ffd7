"""A real Prometheus server scrapes a real exporter and evaluates the real alert rules.

The exporter serves a state directory written through the real StateStore; the test changes
that state and watches Prometheus's own view (``/api/v1/query``, ``/api/v1/alerts``) follow.
The rules that compare timestamps with ``time()`` fire at their first evaluation, so the test
sees them fire and resolve within seconds; rules with a ``for:`` show up as pending.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import wait_for
from test_metrics_support import (
    MONITORING,
    Prometheus,
    StoreProvider,
    commit_info,
    record_run,
    scalar,
    start_exporter,
    start_prometheus,
    update_state,
)

from daemon.exporter import MetricsExporter
from daemon.records import ComponentRecord, DebuggerInfo
from daemon.state import StateStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("prometheus"), reason="Debian's prometheus package"),
]


# One Prometheus for the module (it takes a few seconds to start); the tests only add state.
@pytest.fixture(scope="module")
def tmp_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prometheus")


@pytest.fixture(scope="module")
def store(tmp_dir) -> StateStore:
    store = StateStore(tmp_dir / "state")
    store.ensure()
    return store


@pytest.fixture(scope="module")
def provider(store) -> StoreProvider:
    return StoreProvider(store)


@pytest.fixture(scope="module")
def exporter(provider) -> Iterator[MetricsExporter]:
    exporter = start_exporter(provider)
    yield exporter
    exporter.stop()


@pytest.fixture(scope="module")
def prometheus(tmp_dir, exporter) -> Iterator[Prometheus]:
    with start_prometheus(tmp_dir, [exporter.address]) as server:
        yield server


def test_prometheus_scrapes_the_exporter_and_the_alerts_follow_the_state(
    prometheus, store, provider
):
    now = time.time()
    good, new = commit_info("e5", now - 7200), commit_info("f6", now - 600)
    record_run(store, "succeeded", good, components=(ComponentRecord("nginx", "changed", 1.5),))
    record_run(store, "failed", new, components=(ComponentRecord("nginx", "failed", 0.5),))
    update_state(
        store,
        upstream=new,
        refused_commit="0" * 40,
        suspended_reason="maintenance",
        suspended_at=now - 5 * 3600,
        last_fetch_success_at=now,
    )
    debugger = DebuggerInfo(host="127.0.0.1", port=4444, since=now - 20 * 60)
    provider.live = replace(provider.live, debugger=debugger)

    # Prometheus sees the values the test caused.
    wait_for(lambda: prometheus.query('up{job="deployd"} == 1'), timeout=30)
    assert scalar(prometheus, "deployd_behind") == 1
    assert scalar(prometheus, 'deployd_last_run_outcome{outcome="failed"}') == 1
    assert scalar(prometheus, 'sum(deployd_runs_total{outcome="succeeded"})') == 1
    assert scalar(prometheus, "deployd_component_duration_seconds") == 0.5

    expected = {
        "DeploydSuspendedTooLong": "firing",
        "DeploydCommitRefused": "firing",
        "DeploydDebuggerLeftOpen": "firing",
        "DeploydLastRunFailed": "pending",
    }
    # Just started, behind but suspended: DeploydNoRecentSuccess / BehindUpstream stay quiet.
    wait_for(lambda: prometheus.alerts() == expected, timeout=30)

    # Resume, the debugger continues, history moves on: those alerts resolve at once.
    update_state(store, suspended_reason=None, suspended_at=None, refused_commit=None)
    provider.live = replace(provider.live, debugger=None)
    expected = {"DeploydLastRunFailed": "pending", "DeploydBehindUpstream": "pending"}
    wait_for(lambda: prometheus.alerts() == expected, timeout=30)

    # Every rule evaluates without error against real data.
    rules = prometheus.rules()
    assert rules and all(rule["health"] == "ok" for rule in rules), rules


def test_documented_queries_are_valid_promql(prometheus):
    queries = documented_queries((MONITORING.parent / "metrics.md").read_text())
    assert len(queries) >= 8
    for query in queries:
        prometheus.query(query)  # fails on a syntax error


def documented_queries(markdown: str) -> list[str]:
    """The queries of the ```promql blocks: each starts after a comment line."""
    blocks = re.findall(r"```promql\n(.*?)```", markdown, re.S)
    queries: list[str] = []
    for block in blocks:
        for chunk in re.split(r"^#.*$", block, flags=re.M):
            if chunk.strip():
                queries.append(" ".join(chunk.split()))
    return queries


def test_dashboard_queries_run_against_real_data(prometheus, store):
    record_run(store, "succeeded", commit_info("a7", time.time() - 60))
    wait_for(lambda: prometheus.query('deployd_last_run_outcome{outcome="succeeded"} == 1'))
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    fleet, *others = dashboard["panels"]
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$job", ".*").replace("$instance", ".*")
            result = prometheus.query(expr)  # valid PromQL, or the query fails
            if panel is fleet:
                assert result, f"{panel['title']}: {expr} returned nothing"
