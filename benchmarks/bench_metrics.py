"""CPU cost of one Prometheus scrape with a long run history and many components.

A state directory gets 1,000 run records of 200 root components each (and the counters,
histograms and per-component timestamps such a history leaves in ``state.json``). Each scrape
does what the daemon's listener does: read the state through the real ``StateStore`` (the state
file and the newest run record), collect every family and encode the text exposition. CPU time
is ``time.process_time()``, reported as median and 95th percentile per scrape.

    .venv/bin/python benchmarks/bench_metrics.py [--runs 1000] [--components 200] [--scrapes 300]

Target (issue 5): at most 5 ms of CPU per scrape.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from prometheus_client import generate_latest  # noqa: E402

from daemon.observe.exporter import build_registry  # noqa: E402
from daemon.records.model import (  # noqa: E402
    OUTCOMES,
    TRIGGERS,
    CommitInfo,
    ComponentRecord,
    HostState,
    LiveStatus,
    RunRecord,
    StatusSnapshot,
)
from daemon.state.store import StateStore  # noqa: E402

TARGET_MS = 5.0


def fill(store: StateStore, runs: int, components: int) -> None:
    """``runs`` run records and the state they leave behind (written without fsync: setup)."""
    store.ensure()
    state = HostState()
    start = time.time() - runs * 60
    for i in range(runs):
        commit = CommitInfo(sha=f"{i:040x}", subject="change", timestamp=start + i * 60 - 30)
        outcome = OUTCOMES[i % 3]
        run = RunRecord(
            id=f"20260101T000000-{i + 1:06d}",
            trigger=TRIGGERS[i % len(TRIGGERS)],
            outcome=outcome,
            started_at=start + i * 60,
            finished_at=start + i * 60 + 20,
            commit=commit,
            components=tuple(
                ComponentRecord(f"component{c:03d}", ("changed", "unchanged")[(c + i) % 2], 0.1)
                for c in range(components)
            ),
        )
        (store.runs_dir / f"{run.id}.json").write_text(json.dumps(run.to_dict()))
        state = state.count("runs_total", outcome=outcome, trigger=run.trigger)
        state = state.observe("run_duration_seconds", run.duration).note_changed_components(run)
        state = state.count("fetch_total", outcome="fetched").observe("fetch_duration_seconds", 0.1)
        if outcome == "succeeded":
            state = state.observe("push_to_converged_seconds", 50.0)
    store.save(replace(state, last_run=run.id, upstream=commit))


def provider_for(store: StateStore):
    live = LiveStatus(daemon_started_at=time.time())

    def snapshot() -> StatusSnapshot:
        state = store.load()
        return StatusSnapshot(
            host="web1",
            environment="production",
            repository="",
            branch="main",
            platform=None,
            state=state,
            live=live,
            last_run=store.get_run(state.last_run) if state.last_run else None,
        )

    return snapshot


def measure(store: StateStore, scrapes: int) -> tuple[list[float], int]:
    registry = build_registry(provider_for(store), converge_interval=1800, poll_interval=60)
    body = generate_latest(registry)  # warm up
    costs = []
    for _ in range(scrapes):
        started = time.process_time()
        generate_latest(registry)
        costs.append((time.process_time() - started) * 1000)
    return costs, len(body.splitlines())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--components", type=int, default=200)
    parser.add_argument("--scrapes", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore(Path(tmp), keep_runs=args.runs)
        fill(store, args.runs, args.components)
        costs, lines = measure(store, args.scrapes)
    median = statistics.median(costs)
    p95 = statistics.quantiles(costs, n=20)[-1]
    verdict = "ok" if median <= TARGET_MS else "MISSED"
    print(
        f"scrape CPU with {args.runs} runs x {args.components} components: "
        f"median {median:.2f} ms, p95 {p95:.2f} ms, {lines} lines "
        f"(target <= {TARGET_MS} ms: {verdict})"
    )
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
