"""A real Prometheus server scrapes a real exporter and evaluates the real alert rules.

The exporter serves a state directory written through the real StateStore; the test changes
that state and watches Prometheus's own view (``/api/v1/query``, ``/api/v1/alerts``) follow.
The rules that compare timestamps with ``time()`` fire at their first evaluation, so the test
sees them fire and resolve within seconds; rules with a ``for:`` show up as pending.

Then the Grafana dashboard: every panel query, with its variables written as Grafana writes
them, runs through the same Prometheus (instant and range); the key panels show the scraped
daemon; no query or alert names a metric that the daemon's scrape lacks.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.observe.exporter import MetricsExporter
from daemon.records import SignatureRefusal
from daemon.records.model import ComponentRecord, DebuggerInfo, HoldInfo
from daemon.state.store import StateStore
from tests.support.helpers import wait_for
from tests.support.metrics_store import (
    MONITORING,
    Prometheus,
    StoreProvider,
    commit_info,
    parse,
    record_run,
    scalar,
    scrape,
    start_exporter,
    start_prometheus,
    update_state,
)
from tests.support.promql import (
    ALL,
    interpolate,
    query_range,
    targets,
    unknown_metrics,
    variable_query,
    variable_values,
    variables,
)

DASHBOARD = MONITORING / "dashboard.json"
# (panel id, refId) of what an operator reads first: the fleet table's last outcome, behind and
# last run duration, and the run duration quantiles.
LAST_OUTCOME, BEHIND, LAST_RUN = (1, "A"), (1, "B"), (1, "D")
RUN_DURATION = ((2, "A"), (2, "B"))
OTHER_HOST = "web9.example.org:9477"

# Debian's prometheus package (.ci/install-system): a missing server fails, as promtool does.
pytestmark = pytest.mark.slow


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


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


@pytest.fixture(scope="module")
def exported(prometheus, store, provider, exporter) -> set[str]:
    """A state where every optional series exists, once Prometheus has scraped it: the sample
    names of the exporter's scrape, read with prometheus_client's parser."""
    # A sample before the run and one after: rate() and increase() need both.
    wait_for(lambda: prometheus.query('up{job="deployd"} == 1'), timeout=30)
    now = time.time()
    nginx, app = ComponentRecord("nginx", "changed", 2.5), ComponentRecord("app", "unchanged", 1)
    record_run(
        store, "succeeded", commit_info("b8", now - 900), components=(nginx, app), duration=4
    )
    update_state(
        store,
        upstream=commit_info("c9", now - 60),  # pushed, not converged yet: behind
        refused_commit="1" * 40,
        refusal=SignatureRefusal("unsigned", "3" * 40, "1" * 40),
        suspended_reason="maintenance",
        suspended_at=now - 60,
        last_fetch_success_at=now,
        rolled_back_commit="2" * 40,
    )
    debugger = DebuggerInfo(host="127.0.0.1", port=4444, since=now - 60)
    hold = HoldInfo("window", "waiting for the window", "c9", now, until=now + 60)
    provider.live = replace(provider.live, debugger=debugger, hold=hold)
    seen = "deployd_last_run_duration_seconds == 4 and on () deployd_debugger_waiting == 1"
    wait_for(lambda: prometheus.query(seen), timeout=30)
    return {name for name, _ in parse(scrape(exporter))}


def selections(dashboard, host: str) -> dict[str, dict[str, list[str]]]:
    """Variable choices a user makes: everything, the scraped host, a host that is not there."""
    everything = {name: [ALL] for name in variables(dashboard)}
    return {
        "all": everything,
        "this host": {**everything, "job": ["deployd"], "instance": [host]},
        "other host": {**everything, "instance": [OTHER_HOST, "web10.example.org:9477"]},
    }


@pytest.fixture(scope="module")
def results(prometheus, dashboard, exporter, exported) -> dict[tuple[str, int, str], list]:
    """(selection, panel id, refId) -> the instant result of that panel query."""
    found = {}
    for choice, selected in selections(dashboard, exporter.address).items():
        for panel, target in targets(dashboard):
            expr = interpolate(target["expr"], dashboard, selected)
            found[choice, panel["id"], target["refId"]] = prometheus.query(expr)
            if target.get("range") and choice == "all":
                query_range(prometheus, expr)  # parses and evaluates as a graph does
    return found


def test_dashboard_names_only_metrics_the_daemon_exports(dashboard, exported):
    assert unknown_dashboard_metrics(dashboard, exported) == []
    broken = copy.deepcopy(dashboard)
    broken["panels"][1]["targets"][0]["expr"] += " * deployd_not_exported_seconds"
    title = broken["panels"][1]["title"]
    expected = [(title, "A", "deployd_not_exported_seconds")]
    assert unknown_dashboard_metrics(broken, exported) == expected


def unknown_dashboard_metrics(dashboard, exported: set[str]) -> list[tuple[str, str, str]]:
    everything = {name: [ALL] for name in variables(dashboard)}
    found = [
        (panel["title"], target["refId"], name)
        for panel, target in targets(dashboard)
        for name in unknown_metrics(interpolate(target["expr"], dashboard, everything), exported)
    ]
    for var in variables(dashboard).values():
        if var["type"] == "query":
            promql = variable_query(var)[1].get("selector", "")
            promql = interpolate(promql, dashboard, everything)
            found += [(f"${var['name']}", "", name) for name in unknown_metrics(promql, exported)]
    return found


def test_every_dashboard_query_evaluates_for_the_scraped_daemon(results, exporter):
    mine = {key[1:]: result for key, result in results.items() if key[0] == "this host"}
    empty = sorted(key for key, result in mine.items() if not result)
    assert not empty, f"panel queries with no data for the scraped daemon: {empty}"

    outcome = [(r["metric"]["instance"], r["metric"]["outcome"]) for r in mine[LAST_OUTCOME]]
    assert outcome == [(exporter.address, "succeeded")]
    assert only_value(mine[BEHIND]) == 1
    assert only_value(mine[LAST_RUN]) == 4
    for key in RUN_DURATION:
        assert math.isfinite(only_value(mine[key])) and only_value(mine[key]) > 0, key
    for key in (LAST_OUTCOME, BEHIND, LAST_RUN, *RUN_DURATION):
        assert results[("all", *key)], f"{key}: nothing with every host selected"
        assert results[("other host", *key)] == [], f"{key}: $instance does not filter"


def only_value(result: list[dict[str, Any]]) -> float:
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def test_template_variables_offer_the_scraped_daemon(prometheus, dashboard, exporter):
    offered: dict[str, set[str]] = {}
    for name, var in variables(dashboard).items():
        if var["type"] != "query":
            continue
        form, parts = variable_query(var)
        earlier = {known: [ALL] for known in offered}
        parts = {key: interpolate(text, dashboard, earlier) for key, text in parts.items()}
        offered[name] = variable_values(prometheus, form, parts)
    assert offered == {"job": {"deployd"}, "instance": {exporter.address}}


def test_table_columns_and_overrides_name_real_fields(dashboard, results):
    for panel in dashboard["panels"]:
        if panel["type"] != "table":
            continue
        refs = [target["refId"] for target in panel["targets"]]
        labels = {
            label
            for ref in refs
            for series in results[("this host", panel["id"], ref)]
            for label in series["metric"]
        }
        fields = {"Time", *labels, *(f"Value #{ref}" for ref in refs)}
        for step in panel.get("transformations", []):
            if step["id"] == "organize":
                for option in ("excludeByName", "indexByName", "renameByName"):
                    unknown = set(step["options"].get(option, {})) - fields
                    assert not unknown, f"{panel['title']}: {option} names {sorted(unknown)}"
                fields |= set(step["options"].get("renameByName", {}).values())
        for override in panel["fieldConfig"]["overrides"]:
            matcher = override["matcher"]
            if matcher["id"] == "byName":
                assert matcher["options"] in fields, (panel["title"], matcher)
            elif matcher["id"] == "byRegexp":  # each alternative names a column
                for part in matcher["options"].split("|"):
                    assert any(re.search(part, f) for f in fields), (panel["title"], part)


def test_alert_rules_name_only_metrics_the_daemon_exports(exported):
    rules = [
        rule
        for group in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    ]
    assert len(rules) >= 9
    for rule in rules:
        missing = unknown_metrics(rule["expr"], exported | {"up"})
        assert not missing, f"{rule['alert']} names metrics the daemon lacks: {missing}"
