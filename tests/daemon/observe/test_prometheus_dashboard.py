"""The Grafana dashboard's structure, checked for what Grafana needs to import and draw it, and
the PromQL/Grafana readers the Prometheus tests rely on (no server needed here;
tests/test_prometheus_e2e.py runs every query against a real Prometheus)."""

from __future__ import annotations

import json
import re
from itertools import combinations
from typing import Any

import pytest

from tests.support.metrics_store import MONITORING
from tests.support.promql import (
    ALL,
    interpolate,
    metric_names,
    panels,
    targets,
    unknown_metrics,
    variable_query,
    variables,
)

DASHBOARD = MONITORING / "dashboard.json"
GRID_COLUMNS = 24


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def datasource_ref(dashboard: dict[str, Any]) -> dict[str, str]:
    """The reference every query must use: the dashboard's one Prometheus datasource variable."""
    sources = [
        var
        for var in variables(dashboard).values()
        if var["type"] == "datasource" and var["query"] == "prometheus"
    ]
    assert len(sources) == 1, "the dashboard needs exactly one Prometheus datasource variable"
    return {"type": "prometheus", "uid": "${" + sources[0]["name"] + "}"}


def test_dashboard_has_what_grafana_needs(dashboard):
    # 36 is the first schema with {type, uid} datasource references (Grafana 9).
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard["title"] and re.fullmatch(r"[\w-]{1,40}", dashboard["uid"])
    ids = [panel.get("id") for panel in panels(dashboard)]
    assert all(isinstance(i, int) for i in ids), ids
    assert len(ids) == len(set(ids)), f"panel ids repeat: {ids}"
    required = {item["id"] for item in dashboard["__requires"] if item["type"] == "panel"}
    used = {panel["type"] for panel in panels(dashboard)}
    assert used <= required, f"__requires lacks panel types {sorted(used - required)}"


def test_table_options_match_the_schema_version(dashboard):
    """``custom.cellOptions`` came with schema 38 (Grafana 10), which migrates the older
    ``custom.displayMode`` on load; below 38 only ``displayMode`` colours cells in Grafana 9."""
    if dashboard["schemaVersion"] >= 38:
        return
    for panel in panels(dashboard):
        config = panel.get("fieldConfig", {})
        assert "cellOptions" not in config.get("defaults", {}).get("custom", {}), panel["title"]
        for override in config.get("overrides", []):
            ids = [prop["id"] for prop in override["properties"]]
            assert "custom.cellOptions" not in ids, (panel["title"], override["matcher"])


def test_import_inputs_are_declared_and_used(dashboard):
    declared = {item["name"] for item in dashboard.get("__inputs", [])}
    used = set(re.findall(r"\$\{(DS_\w+)\}", DASHBOARD.read_text()))
    assert declared == used, f"declared {sorted(declared)}, used {sorted(used)}"


def test_panels_sit_on_the_grid_without_overlapping(dashboard):
    boxes = {}
    for panel in dashboard["panels"]:
        grid = panel.get("gridPos")
        assert grid, f"panel {panel['title']!r} has no gridPos"
        assert all(isinstance(grid.get(key), int) for key in "hwxy"), (panel["title"], grid)
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, (panel["title"], grid)
        boxes[panel["title"]] = grid
    for (one, a), (other, b) in combinations(boxes.items(), 2):
        apart = (
            a["x"] + a["w"] <= b["x"]
            or b["x"] + b["w"] <= a["x"]
            or a["y"] + a["h"] <= b["y"]
            or b["y"] + b["h"] <= a["y"]
        )
        assert apart, f"panels {one!r} and {other!r} overlap"


def test_every_query_uses_the_datasource_variable(dashboard):
    ref = datasource_ref(dashboard)
    for panel in panels(dashboard):
        if panel.get("targets"):
            assert panel.get("datasource") == ref, (panel["title"], panel.get("datasource"))
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), (panel["title"], refs)
    for panel, target in targets(dashboard):
        assert target.get("datasource", ref) == ref, (panel["title"], target["refId"])
        assert target["expr"].strip(), (panel["title"], target["refId"])
    for var in variables(dashboard).values():
        if var["type"] == "query":
            assert var["datasource"] == ref, var["name"]


def test_template_variables_are_grafana_query_forms(dashboard):
    earlier: set[str] = set()
    for name, var in variables(dashboard).items():
        assert var["type"] in ("datasource", "query", "custom", "constant", "interval"), name
        if var["type"] == "query":
            form, parts = variable_query(var)
            text = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            assert var.get("definition", text) == text, f"{name}: definition differs from query"
            assert var["refresh"] in (1, 2), f"{name}: refresh on load (1) or time change (2)"
            used = set(re.findall(r"\$\{?(\w+)", text))
            assert used <= earlier, f"{name} uses {sorted(used - earlier)} before they exist"
            promql = parts.get("selector") or parts.get("query")
            if promql:  # lexes as PromQL once the variables are replaced
                metric_names(interpolate(promql, dashboard, dict.fromkeys(earlier, [ALL])))
        if var.get("includeAll"):
            assert var.get("allValue") == ".*", f"{name}: 'All' must match every value"
        earlier.add(name)


def test_every_variable_in_a_query_is_defined(dashboard):
    everything = {name: [ALL] for name in variables(dashboard)}
    for panel, target in targets(dashboard):
        expr = interpolate(target["expr"], dashboard, everything)  # KeyError names the unknown
        assert "$" not in expr, (panel["title"], expr)


# ---- the readers themselves ----------------------------------------------------------------


def test_metric_names_finds_names_not_functions_labels_or_keywords():
    expr = (
        'sum by (instance, le) (rate(deployd_a_bucket{job=~"x|y", le!="+Inf"}[5m] offset 1h))'
        " / on (instance) group_left (commit) deployd_b > bool 0.5e3"
        ' and {__name__=~"deployd_c|deployd_d"} unless absent(up) or inf < nan'
        ' + label_replace(node:cpu:ratio[1h:5m], "dst", "$1", "src", "(.*)")'
        ' - sum(deployd_e) without (job) + {__name__="deployd_f", job="x"}'
    )
    selection = metric_names(expr)
    assert selection.names == {"deployd_a_bucket", "deployd_b", "up", "node:cpu:ratio", "deployd_e"}
    assert selection.name_matchers == (("=~", "deployd_c|deployd_d"), ("=", "deployd_f"))


def test_unknown_metrics_names_what_is_not_exported():
    exported = {"deployd_a", "deployd_b_total"}
    assert unknown_metrics("rate(deployd_b_total[5m]) * deployd_a", exported) == []
    assert unknown_metrics("deployd_a + deployd_gone", exported) == ["deployd_gone"]
    assert unknown_metrics('{__name__=~"deployd_a|deployd_x"}', exported) == ["deployd_x"]
    assert unknown_metrics('{__name__=~"deployd_b.*"}', exported) == []
    assert unknown_metrics('{__name__=~"node_.*"}', exported) == ["=~node_.*"]
    with pytest.raises(ValueError, match="cannot read PromQL"):
        metric_names("deployd_a ? 1")


def test_interpolate_writes_variables_as_grafana_does(dashboard):
    expr = 'x{job=~"$job", instance=~"${instance}"}[$__rate_interval] $1'
    everything = {"job": [ALL], "instance": [ALL]}
    assert interpolate(expr, dashboard, everything) == 'x{job=~".*", instance=~".*"}[4m] $1'
    one = {"job": ["deployd"], "instance": ["web1.example.org:9477"]}
    assert interpolate(expr, dashboard, one) == (
        r'x{job=~"deployd", instance=~"web1\\.example\\.org:9477"}[4m] $1'
    )
    two = {"job": ["deployd"], "instance": ["a:1", "b:2"]}
    assert 'instance=~"(a:1|b:2)"' in interpolate(expr, dashboard, two)
    with pytest.raises(KeyError, match=r"\$host is not a template variable"):
        interpolate('x{instance="$host"}', dashboard, one)
