"""The earlier waves, as the fleet's Prometheus sees them (its HTTP API, with httpx).

Two instant queries, both joined with ``deployd_host_info`` for the host and environment labels
(every host exports it; the join keeps ``job`` and ``instance`` out of the question):

* which hosts of the environment report the commit as deployed
  (``deployd_deployed_commit_info{commit=...}``);
* which hosts failed it or rolled it back: the newest run on that commit ended badly
  (``deployd_last_run_commit_info``), or the host marks it rolled back
  (``deployd_rolled_back_commit_info``).

A later wave may start only when every host of the earlier waves is in the first answer and none
is in the second. Prometheus not answering holds the wave too: the gate fails closed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

BAD_OUTCOMES = "failed|timeout|crashed|refused|rolled-back|rollback-failed"
SHOWN = 3  # host names named in a message before "and N more"


@dataclass(frozen=True)
class FleetAnswer:
    ready: bool
    why: str  # what holds the wave ("" when ready)
    final: bool = False  # a failure on the commit: it will not become ready by waiting


class FleetViewError(Exception):
    """Prometheus did not give an answer we can use."""


def _joined(selector: str, environment: str) -> str:
    info = f'deployd_host_info{{environment="{_quote(environment)}"}}'
    return f"max by (host) ({selector} * on (job, instance) group_left (host) {info})"


def queries(environment: str, commit: str) -> tuple[str, str]:
    """The two PromQL queries (deployed, failed) for ``commit`` in ``environment``."""
    sha = _quote(commit)
    deployed = _joined(f'deployd_deployed_commit_info{{commit="{sha}"}}', environment)
    failed_run = f'deployd_last_run_commit_info{{commit="{sha}",outcome=~"{BAD_OUTCOMES}"}}'
    marked = f'deployd_rolled_back_commit_info{{commit="{sha}"}}'
    failed = f"{_joined(failed_run, environment)} or {_joined(marked, environment)}"
    return deployed, failed


def judge(
    deployed: set[str], failed: set[str], earlier: tuple[str, ...], commit: str
) -> FleetAnswer:
    """Whether the earlier waves' hosts are all on ``commit`` and none failed it. Pure."""
    bad = [host for host in earlier if host in failed]
    if bad:
        return FleetAnswer(False, f"{_names(bad)} failed or rolled back {commit[:7]}", True)
    missing = [host for host in earlier if host not in deployed]
    if missing:
        return FleetAnswer(False, f"waiting for {_names(missing)} to deploy {commit[:7]}")
    return FleetAnswer(True, "")


def ask(
    url: str, environment: str, commit: str, earlier: tuple[str, ...], timeout: float = 5.0
) -> FleetAnswer:
    """Query Prometheus at ``url`` and judge; an unusable answer holds (fails closed)."""
    deployed_query, failed_query = queries(environment, commit)
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as client:
            deployed = _hosts(client, deployed_query)
            failed = _hosts(client, failed_query)
    except (httpx.HTTPError, FleetViewError) as error:
        return FleetAnswer(False, f"Prometheus at {url} gave no answer ({error}); holding")
    return judge(deployed, failed, earlier, commit)


def _hosts(client: httpx.Client, query: str) -> set[str]:
    response = client.get("/api/v1/query", params={"query": query})
    try:
        body = response.json()
    except json.JSONDecodeError:
        raise FleetViewError(f"HTTP {response.status_code}, not JSON") from None
    if response.status_code != 200 or body.get("status") != "success":
        raise FleetViewError(f"HTTP {response.status_code}: {body.get('error', body)}")
    data = body.get("data") or {}
    if data.get("resultType") != "vector":
        raise FleetViewError(f"unexpected result type {data.get('resultType')!r}")
    return {
        str(item["metric"].get("host", ""))
        for item in data.get("result") or ()
        if float(item["value"][1]) > 0
    }


def _names(hosts: list[str]) -> str:
    shown = ", ".join(hosts[:SHOWN])
    more = len(hosts) - SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
