"""The metrics of a real ``deployd run``: runs the test causes, a restart, a real Prometheus.

One daemon (module scope) is driven through a succeeded, a failed, a crashed, a timed-out run,
a new commit that converges, and a refused one; after each, its TCP listener is scraped over
HTTP and parsed with prometheus_client's parser. Then a real Prometheus scrapes the daemon and
evaluates the alert rules, and finally the daemon restarts on the same state directory.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from daemon.loop.schedule import splay_offset
from tests.support.daemon_helpers import HOST, Daemon, make_deploy_repo, push_content, run_daemon
from tests.support.helpers import commit, git, wait_for
from tests.support.metrics_store import (
    Samples,
    free_port,
    parse,
    promtool,
    series,
    start_prometheus,
    value,
)

pytestmark = pytest.mark.slow

FAILING = """\
from batou.component import Component


class Hello(Component):
    def verify(self):
        raise RuntimeError("this component is broken on purpose")
"""
CRASHING = """\
import os
import signal

from batou.component import Component


class Hello(Component):
    def verify(self):
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies in the middle of a component
"""
# The good component of daemon_helpers, as committed by make_deploy_repo.
LIMITS = {"component": 2, "grace": 1}
SPLAY = 120.0


@dataclass
class Story:
    """What the test caused, and what the daemon's metrics said after each step."""

    daemon: Daemon
    repo: Path
    url: str
    scrapes: dict[str, Samples] = field(default_factory=dict)
    commits: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)
    alerts: dict[str, str] = field(default_factory=dict)
    rules_health: set[str] = field(default_factory=set)
    socket_body: str = ""


def scrape_when(url: str, check, state_dir: Path | None = None) -> Samples:
    """The first scrape for which ``check(samples)`` holds (the loop publishes after a tick)
    and, given ``state_dir``, whose ``deployd_runs_total`` matches the run records on disk."""

    def attempt() -> Samples | None:
        try:
            samples = parse(httpx.get(url, timeout=5).text)
        except httpx.TransportError:  # a restarted daemon is not listening yet
            return None
        if state_dir is not None and counted(samples) != recorded(state_dir):
            return None
        return samples if check(samples) else None

    return wait_for(attempt, timeout=60)


def counted(samples: Samples) -> dict[tuple[str, str], float]:
    """(outcome, trigger) -> deployd_runs_total, without the zeros."""
    return {
        (dict(labels)["outcome"], dict(labels)["trigger"]): v
        for labels, v in series(samples, "deployd_runs_total").items()
        if v
    }


def recorded(state_dir: Path) -> dict[tuple[str, str], float]:
    """(outcome, trigger) -> number of run records the daemon wrote."""
    counts: Counter[tuple[str, str]] = Counter()
    for path in (state_dir / "runs").glob("*.json"):
        run = json.loads(path.read_text())
        counts[run["outcome"], run["trigger"]] += 1
    return {key: float(n) for key, n in counts.items()}


def runs(samples: Samples, outcome: str) -> float:
    return sum(
        v for k, v in series(samples, "deployd_runs_total").items() if (("outcome", outcome) in k)
    )


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Iterator[Story]:
    base = tmp_path_factory.mktemp("metrics-daemon")
    repo = make_deploy_repo(base / "repo")
    block = base / "block"
    listen = f"127.0.0.1:{free_port()}"
    options = dict(metrics_listen=listen, poll_interval=0.3, limits=LIMITS, splay=SPLAY)
    env = {"DEPLOYD_TEST_BLOCK": str(block)}
    with run_daemon(base / "daemon", repo, env=env, **options) as daemon:
        told = Story(daemon, repo, f"http://{listen}/metrics")
        state = daemon.state_dir
        told.commits["succeeded"] = git("rev-parse", "HEAD", cwd=repo)
        told.scrapes["succeeded"] = scrape_when(
            told.url, lambda s: runs(s, "succeeded") == 1, state
        )
        told.bodies["succeeded"] = httpx.get(told.url).text

        told.commits["failed"] = commit(repo, {"components/hello/component.py": FAILING})
        told.scrapes["failed"] = scrape_when(told.url, lambda s: runs(s, "failed") >= 1, state)

        told.commits["crashed"] = commit(repo, {"components/hello/component.py": CRASHING})
        told.scrapes["crashed"] = scrape_when(told.url, lambda s: runs(s, "crashed") >= 1, state)

        block.touch()  # the good component's verify() waits while this file exists
        git("checkout", told.commits["succeeded"], "--", "components", cwd=repo)
        told.commits["timeout"] = push_content(repo, "version 3")
        told.scrapes["timeout"] = scrape_when(told.url, lambda s: runs(s, "timeout") >= 1, state)
        block.unlink()

        told.commits["recovered"] = push_content(repo, "version 4")
        told.scrapes["recovered"] = scrape_when(
            told.url, lambda s: runs(s, "succeeded") >= 2, state
        )

        rewritten = git("commit-tree", "HEAD^{tree}", "-m", "history rewritten", cwd=repo)
        git("update-ref", "refs/heads/main", rewritten, cwd=repo)
        told.commits["refused"] = rewritten
        told.scrapes["refused"] = scrape_when(told.url, lambda s: runs(s, "refused") >= 1, state)
        told.bodies["refused"] = httpx.get(told.url).text
        told.socket_body = _get_over_socket(daemon.socket, "/metrics")
        _watch_with_prometheus(told, base, listen)

        # the operator puts the branch back on the deployed commit: nothing is refused any more
        restored = told.commits["recovered"]
        git("update-ref", "refs/heads/main", restored, cwd=repo)
        told.scrapes["restored"] = scrape_when(
            told.url, lambda s: ("deployd_upstream_commit_info", (("commit", restored),)) in s
        )

        # suspended, so that the restarted daemon's start-up run changes nothing
        daemon.cli("suspend", "--reason", "restart test", check=True)
        told.scrapes["stopped"] = scrape_when(
            told.url, lambda s: value(s, "deployd_suspended") == 1, state
        )

    restart = dict(options, state_dir=daemon.state_dir)
    with run_daemon(base / "again", repo, env=env, **restart):
        told.scrapes["restarted"] = scrape_when(
            told.url, lambda s: value(s, "deployd_suspended") == 1, daemon.state_dir
        )
    yield told
    shutil.rmtree(base, ignore_errors=True)


def _watch_with_prometheus(told: Story, base: Path, listen: str) -> None:
    expected = {"DeploydCommitRefused": "firing", "DeploydBehindUpstream": "pending"}
    with start_prometheus(base, [listen]) as prometheus:
        wait_for(lambda: prometheus.alerts() == expected, timeout=30)
        told.alerts = prometheus.alerts()
        told.rules_health = {rule["health"] for rule in prometheus.rules()}


def test_a_succeeded_run(story):
    samples = story.scrapes["succeeded"]
    promtool("check", "metrics", stdin=story.bodies["succeeded"])
    assert value(samples, "deployd_runs_total", outcome="succeeded", trigger="startup") == 1
    assert value(samples, "deployd_last_run_outcome", outcome="succeeded") == 1
    sha = story.commits["succeeded"]
    assert value(samples, "deployd_deployed_commit_info", commit=sha, branch="main") == 1
    assert value(samples, "deployd_upstream_commit_info", commit=sha) == 1
    assert value(samples, "deployd_behind") == 0
    assert value(samples, "deployd_components", state="changed") == 1
    assert series(samples, "deployd_component_last_changed_timestamp_seconds")
    last_success = value(samples, "deployd_last_success_timestamp_seconds")
    assert last_success == value(samples, "deployd_last_run_timestamp_seconds") > 0
    assert value(samples, "deployd_push_to_converged_seconds_count") == 1
    assert value(samples, "deployd_venv_builds_total", outcome="built") == 1
    assert value(samples, "deployd_fetch_total", outcome="fetched") >= 1
    assert value(samples, "deployd_last_fetch_success_timestamp_seconds") > 0
    # the host's own schedule: converge_interval (default 1800) plus its share of the splay
    interval = 1800 + splay_offset(HOST, SPLAY)
    assert value(samples, "deployd_converge_interval_seconds") == pytest.approx(interval)
    # the next drift correction: one interval after the run ended
    next_run = value(samples, "deployd_next_run_timestamp_seconds")
    assert next_run - last_success == pytest.approx(interval, abs=5)


def test_a_failed_run(story):
    samples = story.scrapes["failed"]
    assert value(samples, "deployd_last_run_outcome", outcome="failed") == 1
    # the poll and the push watcher may both converge the new commit: compare with the records
    assert runs(samples, "failed") >= 1
    assert value(samples, "deployd_components", state="failed") == 1
    assert value(samples, "deployd_components", state="changed") == 0
    assert value(samples, "deployd_upstream_commit_info", commit=story.commits["failed"]) == 1
    deployed = story.commits["succeeded"]
    assert value(samples, "deployd_deployed_commit_info", commit=deployed, branch="main") == 1
    assert value(samples, "deployd_behind") == 1
    before = story.scrapes["succeeded"]["deployd_last_success_timestamp_seconds", ()]
    assert value(samples, "deployd_last_success_timestamp_seconds") == before


def test_a_crashed_run(story):
    samples = story.scrapes["crashed"]
    assert value(samples, "deployd_last_run_outcome", outcome="crashed") == 1
    assert runs(samples, "crashed") >= 1
    # the component the worker died in counts as failed
    assert value(samples, "deployd_components", state="failed") == 1
    assert sum(series(samples, "deployd_components").values()) == 1
    assert series(samples, "deployd_component_duration_seconds").keys() == {
        (("component", "hello"),)
    }
    assert value(samples, "deployd_behind") == 1
    assert value(samples, "deployd_upstream_commit_info", commit=story.commits["crashed"]) == 1


def test_a_timed_out_run(story):
    samples = story.scrapes["timeout"]
    assert value(samples, "deployd_last_run_outcome", outcome="timeout") == 1
    assert runs(samples, "timeout") >= 1
    assert value(samples, "deployd_behind") == 1
    assert value(samples, "deployd_last_run_duration_seconds") >= LIMITS["component"]
    # the component that overran its limit is the newest run's failed one, with its time
    assert value(samples, "deployd_components", state="failed") == 1
    assert sum(series(samples, "deployd_components").values()) == 1
    hello = value(samples, "deployd_component_duration_seconds", component="hello")
    assert hello >= LIMITS["component"]
    total = sum(series(samples, "deployd_runs_total").values())
    assert value(samples, "deployd_run_duration_seconds_count") == total >= 4


def test_a_new_commit_converged_after_failures(story):
    samples, before = story.scrapes["recovered"], story.scrapes["succeeded"]
    sha = story.commits["recovered"]
    assert value(samples, "deployd_last_run_outcome", outcome="succeeded") == 1
    assert value(samples, "deployd_behind") == 0
    assert value(samples, "deployd_deployed_commit_info", commit=sha, branch="main") == 1
    assert len(series(samples, "deployd_deployed_commit_info")) == 1
    assert value(samples, "deployd_upstream_commit_info", commit=sha) == 1
    # the commit's own (committer) time, and push-to-converged measured from it
    committed = float(git("log", "-1", "--format=%ct", sha, cwd=story.repo))
    assert value(samples, "deployd_deployed_commit_timestamp_seconds") == committed
    converged = value(samples, "deployd_last_success_timestamp_seconds")
    assert value(samples, "deployd_push_to_converged_seconds_count") == 2
    delay = (
        samples["deployd_push_to_converged_seconds_sum", ()]
        - (before["deployd_push_to_converged_seconds_sum", ()])
    )
    assert delay == pytest.approx(converged - committed, abs=1e-3)
    assert value(samples, "deployd_components", state="changed") == 1


def test_a_refused_commit(story):
    samples = story.scrapes["refused"]
    promtool("check", "metrics", stdin=story.bodies["refused"])
    assert value(samples, "deployd_last_run_outcome", outcome="refused") == 1
    assert value(samples, "deployd_refused_total", reason="not-fast-forward") >= 1
    assert value(samples, "deployd_refused_commit_info", commit=story.commits["refused"]) == 1
    assert value(samples, "deployd_behind") == 1
    # counters only grow
    earlier = story.scrapes["recovered"]
    for key, count in series(earlier, "deployd_runs_total").items():
        assert series(samples, "deployd_runs_total")[key] >= count, key


def test_a_refused_head_put_back_is_no_longer_refused(story):
    samples = story.scrapes["restored"]
    assert series(samples, "deployd_refused_commit_info") == {}
    assert value(samples, "deployd_behind") == 0


def test_the_api_socket_serves_the_same_metrics(story):
    samples = parse(story.socket_body)
    assert value(samples, "deployd_last_run_outcome", outcome="refused") == 1
    assert counted(samples) == counted(story.scrapes["refused"])


def test_prometheus_scrapes_the_daemon_and_evaluates_the_rules(story):
    assert story.alerts == {"DeploydCommitRefused": "firing", "DeploydBehindUpstream": "pending"}
    assert story.rules_health == {"ok"}


# What a restart changes by itself: the process, its start, its timers, and the polls it makes.
VOLATILE = (
    "process_",
    "deployd_daemon_start_",
    "deployd_next_",
    "deployd_last_fetch",
    "deployd_fetch",
)


def test_a_restart_keeps_the_values(story):
    before, after = story.scrapes["stopped"], story.scrapes["restarted"]
    durable = {k: v for k, v in before.items() if not k[0].startswith(VOLATILE)}
    assert {k: after.get(k) for k in durable} == durable
    assert runs(after, "succeeded") >= 2 and runs(after, "crashed") >= 1
    assert value(after, "deployd_suspended_since_timestamp_seconds") > 0
    assert value(after, "deployd_fetch_total", outcome="fetched") >= value(
        before, "deployd_fetch_total", outcome="fetched"
    )
    assert (
        after["deployd_daemon_start_timestamp_seconds", ()]
        > (before["deployd_daemon_start_timestamp_seconds", ()])
    )


def _get_over_socket(path: Path, url_path: str) -> str:
    transport = httpx.HTTPTransport(uds=str(path))
    with httpx.Client(transport=transport, base_url="http://deployd") as client:
        response = client.get(url_path, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


PAUSED = """\
from batou.component import Component


class Hello(Component):
    def verify(self):
        breakpoint()
"""


def test_debugger_waiting_follows_a_real_breakpoint(tmp_path):
    repo = make_deploy_repo(tmp_path / "repo")
    commit(repo, {"components/hello/component.py": PAUSED})
    listen = f"127.0.0.1:{free_port()}"
    url = f"http://{listen}/metrics"
    env = {"REMOTE_PDB_PORT": "0"}  # the daemon takes the debugger port from its environment
    with run_daemon(tmp_path / "daemon", repo, env=env, metrics_listen=listen, debug=True) as d:
        waiting = scrape_when(url, lambda s: value(s, "deployd_debugger_waiting") == 1)
        since = value(waiting, "deployd_debugger_waiting_since_timestamp_seconds")
        assert 0 < since <= time.time()
        assert value(waiting, "deployd_run_in_progress") == 1
        port = d.status()["live"]["debugger"]["port"]
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            _read_until(connection, b"(Pdb) ")
            connection.sendall(b"c\r\n")
            done = scrape_when(url, lambda s: value(s, "deployd_debugger_waiting") == 0)
        assert series(done, "deployd_debugger_waiting_since_timestamp_seconds") == {}
        d.wait_run(outcome="succeeded")


def _read_until(connection: socket.socket, marker: bytes) -> bytes:
    data = b""
    while not data.endswith(marker):
        chunk = connection.recv(4096)
        assert chunk, f"connection closed before {marker!r}; got {data!r}"
        data += chunk
    return data
