"""Helpers shared by the metrics, alerts and Prometheus tests (this module holds no tests).

A :class:`StoreProvider` builds the snapshot the way the daemon does: ``state.json`` through the
real :class:`~daemon.state.store.StateStore`, the newest run by id, and a live status the test sets.
:func:`record_run` books a finished run into the store the way the loop does, so a test can
cause succeeded, failed, timed-out and refused runs without a worker.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from daemon.loop.transitions import apply_record
from daemon.observe.exporter import MetricsExporter, build_registry
from daemon.records.model import (
    CommitInfo,
    ComponentRecord,
    HostState,
    LiveStatus,
    RunRecord,
    StatusSnapshot,
)
from daemon.state.store import StateStore
from tests.support.helpers import wait_for
from tests.support.paths import REPO_ROOT

MONITORING = REPO_ROOT / "docs" / "monitoring"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class StoreProvider:
    """Snapshot provider over a real state directory; ``live`` is what the loop would know."""

    store: StateStore
    live: LiveStatus = field(default_factory=lambda: LiveStatus(daemon_started_at=time.time()))
    calls: int = 0

    def __call__(self) -> StatusSnapshot:
        self.calls += 1
        state = self.store.load()
        last = self.store.get_run(state.last_run) if state.last_run else None
        return StatusSnapshot(
            host="web1",
            environment="production",
            repository="https://git.example.invalid/deploy.git",
            branch="main",
            platform="debian",
            state=state,
            live=self.live,
            last_run=last,
            version="",
        )


def commit_info(sha: str, timestamp: float) -> CommitInfo:
    return CommitInfo(
        sha=sha * (40 // len(sha)), subject="change", timestamp=timestamp, branch="main"
    )


def record_run(
    store: StateStore,
    outcome: str,
    commit: CommitInfo,
    trigger: str = "poll",
    reason: str | None = None,
    components: tuple[ComponentRecord, ...] = (),
    duration: float = 3.0,
    finished_at: float | None = None,
) -> RunRecord:
    """Write a run record and book it into ``state.json`` with the loop's own transition."""
    finished = time.time() if finished_at is None else finished_at
    run = RunRecord(
        id=store.new_run_id(finished),
        trigger=trigger,
        outcome=outcome,
        started_at=finished - duration,
        finished_at=finished,
        commit=commit,
        environment="production",
        host="web1",
        reason=reason,
        components=components,
    )
    store.write_run(run)
    state = apply_record(store.load(), run)  # the loop's own bookkeeping
    store.save(state)
    return run


def update_state(store: StateStore, **changes: object) -> HostState:
    state = replace(store.load(), **changes)  # type: ignore[arg-type]
    store.save(state)
    return state


def start_exporter(provider: StoreProvider, listen: str = "127.0.0.1:0") -> MetricsExporter:
    registry = build_registry(provider, converge_interval=1800.0, poll_interval=60.0)
    exporter = MetricsExporter.start(listen, registry)
    assert exporter is not None
    return exporter


def scrape(exporter: MetricsExporter) -> str:
    response = httpx.get(f"http://{exporter.address}/metrics", timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def parse(body: str) -> Samples:
    """Every sample of a text exposition, keyed by (sample name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def series(samples: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def promtool(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["promtool", *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60
    )
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@dataclass
class Prometheus:
    """A real Prometheus server and the bits of its HTTP API the tests read."""

    url: str
    process: subprocess.Popen[bytes]

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        body = response.json()
        assert body["status"] == "success", (expr, body)
        return list(body["data"]["result"])

    def alerts(self) -> dict[str, str]:
        """alertname -> state (pending / firing) of the active alerts."""
        body = httpx.get(f"{self.url}/api/v1/alerts", timeout=5).json()
        return {a["labels"]["alertname"]: a["state"] for a in body["data"]["alerts"]}

    def rules(self) -> list[dict[str, Any]]:
        body = httpx.get(f"{self.url}/api/v1/rules", timeout=5).json()
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]

    def ready(self) -> bool:
        assert self.process.poll() is None, "prometheus exited; see prometheus.log"
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False


@contextmanager
def start_prometheus(
    directory: Path, targets: list[str], interval: float = 1.0
) -> Iterator[Prometheus]:
    """Prometheus on 127.0.0.1 scraping ``targets`` (job ``deployd``) and evaluating the real
    ``docs/monitoring/alerts.yml`` every ``interval`` seconds."""
    every = f"{round(interval * 1000)}ms"
    config = {
        "global": {"scrape_interval": every, "evaluation_interval": every},
        "rule_files": [str(MONITORING / "alerts.yml")],
        "scrape_configs": [{"job_name": "deployd", "static_configs": [{"targets": targets}]}],
    }
    config_file = directory / "prometheus.yml"
    config_file.write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    with (directory / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config_file}",
                f"--storage.tsdb.path={directory / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Prometheus(f"http://127.0.0.1:{port}", process)
        try:
            wait_for(server.ready, timeout=30)
            yield server
        finally:
            process.terminate()
            process.wait(timeout=30)


def scalar(server: Prometheus, expr: str) -> float:
    result = server.query(expr)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
