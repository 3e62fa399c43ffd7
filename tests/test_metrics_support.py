"""Helpers shared by the metrics, alerts and Prometheus tests (this module holds no tests).

A :class:`StoreProvider` builds the snapshot the way the daemon does: ``state.json`` through the
real :class:`~daemon.state.StateStore`, the newest run by id, and a live status the test sets.
:func:`record_run` books a finished run into the store the way the loop does, so a test can
cause succeeded, failed, timed-out and refused runs without a worker.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from daemon.exporter import MetricsExporter, build_registry
from daemon.records import (
    CommitInfo,
    ComponentRecord,
    HostState,
    LiveStatus,
    RunRecord,
    StatusSnapshot,
)
from daemon.state import StateStore

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
    """Write a run record and book it into ``state.json`` as the daemon loop does."""
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
    state = store.load().count("runs_total", outcome=outcome, trigger=trigger)
    state = state.observe("run_duration_seconds", run.duration)
    state = replace(state.note_changed_components(run), last_run=run.id)
    if outcome == "refused":
        state = state.count("refused_total", reason=reason or "")
    if outcome == "succeeded":
        state = state.observe("push_to_converged_seconds", finished - commit.timestamp)
        state = replace(
            state, last_good=commit, last_good_run=run.id, last_good_at=finished, ratchet=commit.sha
        )
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
