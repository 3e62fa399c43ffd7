"""The alert rules and the dashboard: promtool checks them, and every metric they name exists."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from daemon.records import SignatureRefusal, TrustOverride
from daemon.records.model import ComponentRecord, DebuggerInfo, HoldInfo
from daemon.state.store import StateStore
from tests.support.metrics_store import (
    StoreProvider,
    commit_info,
    parse,
    promtool,
    record_run,
    scrape,
    start_exporter,
    update_state,
)
from tests.support.paths import REPO_ROOT
from tests.support.promql import ALL, interpolate, targets, unknown_metrics, variables

MONITORING = REPO_ROOT / "docs" / "monitoring"
RULES = MONITORING / "alerts.yml"
RULE_TESTS = MONITORING / "tests" / "alerts_test.yml"
DASHBOARD = MONITORING / "dashboard.json"


def alert_names() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def test_rules_are_valid():
    output = promtool("check", "rules", str(RULES))
    assert f"SUCCESS: {len(alert_names())} rules found" in output


def test_rule_unit_tests_pass():
    output = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert "SUCCESS" in output


def test_every_alert_is_tested_firing_and_not_firing():
    cases = [
        case
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    for name in alert_names():
        mine = [case for case in cases if case["alertname"] == name]
        assert any(case["exp_alerts"] for case in mine), f"{name}: no case where it fires"
        assert any(not case["exp_alerts"] for case in mine), f"{name}: no case where it is quiet"
    assert len(alert_names()) >= 9


def test_rule_thresholds_are_documented():
    text = (MONITORING / "README.md").read_text()
    for name in alert_names():
        assert name in text, f"{name} is not described in docs/monitoring/README.md"


@pytest.fixture(scope="module")
def busy_body(tmp_path_factory) -> str:
    """A scrape where every optional series is present."""
    store = StateStore(tmp_path_factory.mktemp("state"))
    store.ensure()
    old, new = commit_info("c3", 1_700_000_000.0), commit_info("d4", 1_700_000_100.0)
    record_run(store, "succeeded", old, components=(ComponentRecord("nginx", "changed", 1.0),))
    record_run(store, "refused", new, reason="not-fast-forward")
    record_run(store, "failed", new, components=(ComponentRecord("nginx", "failed", 2.0),))
    refusal = SignatureRefusal("path-not-allowed", new.sha, new.sha, "anton", "SHA256:x", "a/b")
    update_state(
        store,
        upstream=new,
        refused_commit=new.sha,
        suspended_reason="x",
        suspended_at=1.0,
        rolled_back_commit=new.sha,
        refusal=refusal,
        trusted=TrustOverride(old.sha, "root (uid 0, pid 1)", 1.0, 0),
    )
    provider = StoreProvider(store)
    debugger = DebuggerInfo(host="127.0.0.1", port=4444, since=time.time())
    hold = HoldInfo("window", "waiting for the window", new.sha, 1.0, until=time.time() + 60)
    provider.live = replace(provider.live, debugger=debugger, hold=hold)
    exporter = start_exporter(provider)
    try:
        body = scrape(exporter)
    finally:
        exporter.stop()
    promtool("check", "metrics", stdin=body)  # clean with every optional series present
    return body


@pytest.fixture(scope="module")
def busy_scrape(busy_body) -> set[str]:
    """Sample names of a scrape where every optional series is present."""
    return {name for name, _ in parse(busy_body)}


def test_alerts_name_only_exported_metrics(busy_scrape):
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for rule in (rule for group in groups for rule in group["rules"]):
        missing = unknown_metrics(rule["expr"], busy_scrape | {"up"})
        assert not missing, f"{rule['alert']}: {missing} not in a scrape"


def test_dashboard_names_only_exported_metrics(busy_scrape):
    dashboard = json.loads(DASHBOARD.read_text())
    everything = {name: [ALL] for name in variables(dashboard)}
    for panel, target in targets(dashboard):
        expr = interpolate(target["expr"], dashboard, everything)
        missing = unknown_metrics(expr, busy_scrape)
        assert not missing, f"{panel['title']} {target['refId']}: {missing} not in a scrape"
    assert dashboard["panels"][0]["type"] == "table"  # the fleet: one row per host


def test_every_exported_metric_is_documented(busy_scrape):
    text = (MONITORING.parent / "metrics.md").read_text()
    families = {re.sub(r"_(bucket|count|sum)$", "", n) for n in busy_scrape if "deployd_" in n}
    families = {n for n in families if n.startswith("deployd_")}
    missing = sorted(n for n in families if n not in text)
    assert not missing, f"not in docs/metrics.md: {missing}"


def test_the_docs_show_every_metric_in_an_example_scrape(busy_body):
    """docs/metrics.md's example scrapes: valid expositions that show a sample of every family
    deployd exports, with the help text and type the daemon really gives it."""
    text = (MONITORING.parent / "metrics.md").read_text()
    blocks = [b for b in re.findall(r"```text\n(.*?)```", text, re.S) if b.startswith("# HELP")]
    assert len(blocks) == 2
    shown: dict[str, tuple[str, str]] = {}
    for block in blocks:
        promtool("check", "metrics", stdin=block)
        for family in text_string_to_metric_families(block):
            if family.samples:
                shown[family.name] = (family.documentation, family.type)
    exported = {
        family.name: (family.documentation, family.type)
        for family in text_string_to_metric_families(busy_body)
        if family.name.startswith("deployd_")
    }
    assert sorted(exported.keys() - shown.keys()) == [], "no example in docs/metrics.md"
    for name, (help_text, kind) in exported.items():
        assert shown[name] == (help_text, kind), f"{name}: docs/metrics.md shows another HELP/TYPE"


def test_alerts_and_docs_name_only_real_commands():
    from daemon.cli.main import build_parser

    parser = build_parser()
    commands = set(next(a for a in parser._actions if a.dest == "command").choices)
    for path in (
        RULES,
        MONITORING / "README.md",
        REPO_ROOT / "docs" / "metrics.md",
    ):
        for word in re.findall(r"`deployd ([a-z-]+)", path.read_text()):
            assert word in commands, f"{path.name}: `deployd {word}` is not a command"
