"""Reading PromQL and a Grafana dashboard the way Prometheus and Grafana do (this module holds
no tests).

* :func:`metric_names` finds the metric names an expression selects, by lexing it: plain names
  and ``{__name__=...}`` matchers, never a function, keyword, label or string.
* :func:`interpolate` replaces a dashboard's template variables as Grafana's Prometheus data
  source does: a multi-value or "All" variable becomes a regex (values escaped, joined with
  ``|``), "All" with a custom all-value becomes that value unescaped, built-ins such as
  ``$__rate_interval`` become the durations the test picks.
* :func:`variable_query` splits a query variable into Grafana's forms (``label_values(...)``, ...).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.metrics_store import Prometheus

ALL = "$__all"
# Grafana's own values depend on the panel width and the data source's scrape interval; these
# are what a 24 h dashboard on a 15 s scrape gets, close enough to prove the queries run.
BUILTINS = {
    "__interval": "1m",
    "__interval_ms": "60000",
    "__rate_interval": "4m",
    "__range": "86400s",
    "__range_s": "86400",
    "__range_ms": "86400000",
}

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>\#[^\n]*)
      | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
      | (?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
      | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
      | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@:])""",
    re.X,
)
# Words that are not metric names where a name could stand (PromQL is case-insensitive here).
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"} | {
    # aggregations, which may take their ``by (...)`` before the parentheses
    *("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"),
    *("bottomk", "topk", "quantile", "limitk", "limit_ratio"),
}
# Words followed by a parenthesised list of label names.
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def lex(expr: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise ValueError(f"cannot read PromQL at {expr[position : position + 20]!r}: {expr}")
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, match.group()))
        position = match.end()
    return tokens


def unquote(token: Token) -> str:
    if token.text.startswith("`"):
        return token.text[1:-1]
    if token.text.startswith("'"):
        return unquote(Token("string", '"' + token.text[1:-1].replace('"', '\\"') + '"'))
    return str(json.loads(token.text))


@dataclass(frozen=True)
class Selection:
    """What an expression selects: plain metric names and ``__name__`` matchers (op, value)."""

    names: frozenset[str]
    name_matchers: tuple[tuple[str, str], ...]


def metric_names(expr: str) -> Selection:
    tokens = lex(expr)
    names: set[str] = set()
    matchers: list[tuple[str, str]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if token.text == "{":
            index = _read_matchers(tokens, index + 1, matchers)
        elif token.text == "[":
            index = _skip_to(tokens, index, "]")  # a range or subquery: durations only
        elif token.kind != "ident":
            index += 1
        elif token.text.lower() in _LABEL_LISTS:
            index = _skip_to(tokens, index + 1, ")") if following == "(" else index + 1
        elif following == "(" or token.text.lower() in _KEYWORDS:
            index += 1  # a function, an aggregation or a keyword
        else:
            names.add(token.text)
            index += 1
    return Selection(frozenset(names), tuple(matchers))


def _read_matchers(tokens: list[Token], index: int, found: list[tuple[str, str]]) -> int:
    """Collect the ``__name__`` matchers of one ``{...}``; return the index after ``}``."""
    while tokens[index].text != "}":
        if tokens[index].text == "__name__" and tokens[index + 2].kind == "string":
            found.append((tokens[index + 1].text, unquote(tokens[index + 2])))
        index += 1
    return index + 1


def _skip_to(tokens: list[Token], index: int, closing: str) -> int:
    while tokens[index].text != closing:
        index += 1
    return index + 1


def unknown_metrics(expr: str, exported: set[str]) -> list[str]:
    """The names (or ``__name__`` regexes) in ``expr`` that select nothing ``exported``."""
    selection = metric_names(expr)
    missing = sorted(selection.names - exported)
    for op, value in selection.name_matchers:
        if op == "=" and value not in exported:
            missing.append(value)
        elif op == "=~":
            alternatives = value.split("|")
            if all(re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", alt) for alt in alternatives):
                missing.extend(alt for alt in alternatives if alt not in exported)
            elif not any(re.fullmatch(value, name) for name in exported):
                missing.append(f"=~{value}")
    return missing


# ---- Grafana -------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]")
_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>[A-Za-z_]\w*)\)\s*$")
_OTHER_FORMS = {
    "label_names": re.compile(r"^label_names\(\)\s*$"),
    "metrics": re.compile(r"^metrics\((?P<regex>.+)\)\s*$"),
    "query_result": re.compile(r"^query_result\((?P<query>.+)\)\s*$"),
}


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, the ones inside collapsed rows too."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def targets(dashboard: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def variables(dashboard: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {var["name"]: var for var in dashboard.get("templating", {}).get("list", [])}


def variable_query(variable: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(form, parts) of a query variable: ``label_values`` with ``selector`` and ``label``, ..."""
    query = variable["query"]
    text = query["query"] if isinstance(query, dict) else query
    if match := _LABEL_VALUES.match(text):
        return "label_values", {k: v for k, v in match.groupdict().items() if v is not None}
    for form, pattern in _OTHER_FORMS.items():
        if match := pattern.match(text):
            return form, match.groupdict()
    raise ValueError(f"variable {variable['name']}: {text!r} is no Grafana Prometheus query form")


def interpolate(text: str, dashboard: Mapping[str, Any], selected: Mapping[str, list[str]]) -> str:
    """``text`` with every variable replaced; ``selected`` maps a name to its chosen values
    (``[ALL]`` for "All"). An unknown variable raises KeyError naming it."""
    defined = variables(dashboard)

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        form = match.group(3) or match.group(5)
        if name.isdigit():
            return match.group()  # a regex back-reference such as label_replace's "$1"
        if name in BUILTINS:
            return BUILTINS[name]
        if name not in defined:
            raise KeyError(f"${name} is not a template variable of the dashboard: {text}")
        return _format(defined[name], selected[name], form)

    return _VARIABLE.sub(replace, text)


def _format(variable: Mapping[str, Any], values: list[str], form: str | None) -> str:
    if values == [ALL]:
        if variable.get("allValue") is None:
            raise KeyError(f"variable {variable['name']}: 'All' needs an allValue here")
        return str(variable["allValue"])  # Grafana uses a custom all-value unescaped
    if form == "raw":
        return ",".join(values)
    if form not in (None, "regex"):
        raise KeyError(f"variable {variable['name']}: format {form!r} is not handled")
    if form is None and not variable.get("multi") and not variable.get("includeAll"):
        return values[0].replace("\\", "\\\\").replace("'", "\\\\'")
    escaped = [_regex_escape(value) for value in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _regex_escape(value: str) -> str:
    """Grafana's prometheusSpecialRegexEscape: two backslashes before each special character,
    so the PromQL string literal holds one."""
    value = value.replace("\\", "\\\\\\\\")
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m.group(), value)


# ---- Prometheus's HTTP API, the calls Grafana makes -----------------------------------------


def api(server: Prometheus, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}/api/v1/{path}", params=params, timeout=5)
    body = response.json()
    assert body["status"] == "success", (path, params, body)
    return body["data"]


def query_range(server: Prometheus, expr: str, seconds: float = 600, step: float = 15) -> Any:
    end = time.time()
    return api(server, "query_range", query=expr, start=end - seconds, end=end, step=step)["result"]


def variable_values(server: Prometheus, form: str, parts: Mapping[str, str]) -> set[str]:
    """The values Grafana offers for a query variable (its selector already interpolated)."""
    if form == "label_values" and "selector" in parts:
        found = api(server, "series", **{"match[]": parts["selector"]})
        return {labels[parts["label"]] for labels in found if parts["label"] in labels}
    if form == "label_values":
        return set(api(server, f"label/{parts['label']}/values"))
    if form == "label_names":
        return set(api(server, "labels"))
    if form == "metrics":
        names = api(server, "label/__name__/values")
        return {name for name in names if re.search(parts["regex"], name)}
    results = api(server, "query", query=parts["query"])["result"]
    return {json.dumps(result["metric"], sort_keys=True) for result in results}
