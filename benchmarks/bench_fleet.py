"""Fleet simulation (issue 14): N real ``deployd run`` daemons, one git server, a real Prometheus.

    .venv/bin/python benchmarks/bench_fleet.py [--hosts 50] [--poll 6] [--idle 360]

Each daemon has its own host name (``host-000`` ...), state dir, deployment root, API socket and
metrics port, and pulls over smart HTTP from one ``git http-backend`` server on 127.0.0.1 (its own
process, so its CPU is measured apart; each host clones its own alias of the repository, so the
server's request log names the host). Prometheus scrapes every daemon every ``poll/6`` seconds
(a real 10 s, compressed like the polls); the hosts have it as ``prometheus_url``. The
repository declares a health check and three waves: ``host-000`` (canary), 10 %, the rest.

Time is compressed: ``--poll`` seconds stand for the default 60 (10x with the default 6), and
converge interval and splay shrink by the same factor. Phases:

1. start-up: every host converges the first commit (through the waves);
2. push a good commit: push -> converged on every host (p50, p99, max), waves included;
3. idle "hour": 60 poll intervals with nothing new; the git server's requests per second and
   CPU, and the most hosts polling within one (compressed) second: at most 5 % of the fleet;
   the fleet's total RSS;
4. push a bad commit (its health check fails): the canary rolls it back, and no host of a later
   wave converges it while their gate says why.

The exit status is non-zero when a target is missed: more than 5 % of the hosts polling in one
second, or a bad commit leaving the canary wave.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from daemon.rollout.waves import poll_phase  # noqa: E402
from tests.support.daemon_helpers import Daemon, run_daemon  # noqa: E402
from tests.support.helpers import commit, make_repo, wait_for  # noqa: E402
from tests.support.metrics_store import start_prometheus  # noqa: E402

COMPONENT = """\
from batou.component import Component
from batou.lib.file import File


class Hello(Component):
    def configure(self):
        self += File("hello.txt", content=open(self.defdir + "/content.txt").read())
"""
POLICY = """
[deployd]
check.app.command = ! grep -q bad $DEPLOYD_ROOT/work/hello/hello.txt
check.app.retries = 0
wave.canary = host-000
wave.early = 10%
wave.rest = *
"""
MISSED: list[str] = []


def host_names(count: int) -> list[str]:
    return [f"host-{n:03d}" for n in range(count)]


def make_repository(path: Path, hosts: list[str]) -> Path:
    environment = "[environment]\n\n" + "".join(
        f"[host:{host}]\ncomponents = hello\n\n" for host in hosts
    )
    files = {
        "environments/test/environment.cfg": environment + POLICY,
        "components/hello/component.py": COMPONENT,
        "components/hello/content.txt": "version 1\n",
    }
    return make_repo(path, files)


def push(repo: Path, content: str) -> tuple[str, float]:
    sha = commit(repo, {"components/hello/content.txt": f"{content}\n"}, f"set {content}")
    return sha, time.time()


def deployed(daemon: Daemon) -> tuple[str | None, float]:
    """(sha, last_good_at) from the host's state.json (the daemon writes it atomically)."""
    try:
        state = json.loads((daemon.state_dir / "state.json").read_text())
    except (OSError, ValueError):
        return None, 0.0
    good = state.get("last_good") or {}
    return good.get("sha"), float(state.get("last_good_at") or 0.0)


def runs_on(daemon: Daemon, sha: str) -> list[dict[str, Any]]:
    found = []
    for path in (daemon.state_dir / "runs").glob("*.json"):
        try:
            run = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (run.get("commit") or {}).get("sha") == sha:
            found.append(run)
    return found


def status(daemon: Daemon) -> dict[str, Any]:
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(transport=transport, base_url="http://deployd", timeout=10) as client:
        return dict(client.get("/status").json())


def brief(status: dict[str, Any]) -> str:
    state, live = status["state"], status["live"]
    upstream = (state.get("upstream") or {}).get("sha", "")[:7]
    deployed = (state.get("last_good") or {}).get("sha", "")[:7]
    return (
        f"upstream {upstream}, deployed {deployed}, fetch error {state.get('last_fetch_error')}, "
        f"pending {live.get('pending_trigger')}, running {live.get('running_run_id')}"
    )


def proc_cpu(pid: int, children: bool = True) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    ticks = sum(int(fields[i]) for i in ((11, 12, 13, 14) if children else (11, 12)))
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return statistics.median(ordered), p99, ordered[-1]


def wait_all(fleet: dict[str, Daemon], sha: str, timeout: float) -> dict[str, float]:
    """Host -> last_good_at once every host deployed ``sha``."""

    def done() -> dict[str, float] | None:
        stamps = {}
        for host, daemon in fleet.items():
            good, at = deployed(daemon)
            if good != sha:
                return None
            stamps[host] = at
        return stamps

    return wait_for(done, timeout=timeout, interval=0.5)


def read_log(log: Path, since: float, until: float) -> list[tuple[float, str]]:
    requests = []
    for line in log.read_text().splitlines():
        stamp, _, path = line.partition(" ")
        if since <= float(stamp) < until:
            requests.append((float(stamp), path.strip("/").split("/")[0]))
    return requests


def idle_report(
    requests: list[tuple[float, str]], hosts: int, seconds: float, bucket: float
) -> dict[str, float]:
    """Requests per second, and the most distinct hosts polling within one bucket (a
    compressed second: ``poll/60`` real seconds) and within one real second."""
    per_bucket: dict[int, set[str]] = {}
    per_second: dict[int, set[str]] = {}
    for stamp, host in requests:
        per_bucket.setdefault(int(stamp / bucket), set()).add(host)
        per_second.setdefault(int(stamp), set()).add(host)
    busiest = max((len(h) for h in per_bucket.values()), default=0)
    busiest_real = max((len(h) for h in per_second.values()), default=0)
    occupancy = Counter(len(h) for h in per_bucket.values())
    return {
        "buckets_by_hosts": {str(k): v for k, v in sorted(occupancy.items())},
        "buckets_over_5_percent": sum(v for k, v in occupancy.items() if k > 0.05 * hosts),
        "buckets": int(seconds / bucket),
        "requests_per_s": len(requests) / seconds,
        "polls": len({(h, int(s / bucket)) for s, h in requests}),
        "busiest_bucket_hosts": busiest,
        "busiest_bucket_share": busiest / hosts,
        "busiest_real_second_hosts": busiest_real,
        "requests_per_poll": len(requests) / max(1, len(Counter((h, int(s)) for s, h in requests))),
    }


def lateness(requests: list[tuple[float, str]], hosts: list[str], poll: float) -> list[float]:
    """How late each poll reached the server after its host's phase (seconds)."""
    phases = {host: poll_phase(host, tuple(hosts), poll) for host in hosts}
    first: dict[tuple[str, int], float] = {}
    for stamp, host in requests:
        if host in phases:
            key = (host, round((stamp - phases[host]) / poll))
            first[key] = min(first.get(key, stamp), stamp)
    late = []
    for (host, _), stamp in first.items():
        offset = (stamp - phases[host]) % poll
        late.append(offset - poll if offset > poll / 2 else offset)
    return late


def ports_below_ephemeral(count: int) -> list[int]:
    """Metrics ports picked before the daemons start, below the kernel's range for outgoing
    connections: a port from ``free_port()`` may be taken by one of the fleet's own git or
    HTTP clients before its daemon binds it (seen at 200 hosts)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports, candidate = [], 20000
    while len(ports) < count and candidate < low:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
                ports.append(candidate)
            except OSError:
                pass
        candidate += 1
    if len(ports) < count:
        raise SystemExit(f"not enough free ports between 20000 and {low}")
    return ports


def start_git_server(base: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    port_file, log = base / "git-port", base / "git-requests.log"
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fleet_git_server.py"),
            str(base / "served"),
            str(port_file),
            str(log),
        ],
    )
    wait_for(lambda: port_file.exists() and port_file.read_text(), timeout=30)
    return process, int(port_file.read_text()), log


def run(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    hosts = host_names(args.hosts)
    compression = 60.0 / args.poll
    repo = make_repository(base / "served" / "deploy", hosts)
    for host in hosts:  # one alias per host: the server's log then names the host
        (base / "served" / host).symlink_to(repo)
    server, port, log = start_git_server(base)
    results: dict[str, Any] = {"hosts": args.hosts, "poll": args.poll}
    ports = dict(zip(hosts, ports_below_ephemeral(len(hosts)), strict=True))
    prometheus_dir = base / "prometheus"
    prometheus_dir.mkdir()
    targets = [f"127.0.0.1:{p}" for p in ports.values()]
    try:
        with ExitStack() as stack:
            scrape = args.scrape or args.poll / 6  # 10 s at the real 60 s poll
            results["scrape"] = scrape
            prometheus = stack.enter_context(start_prometheus(prometheus_dir, targets, scrape))
            started = time.time()
            fleet = {
                host: stack.enter_context(
                    run_daemon(
                        base / "hosts" / host,
                        f"http://127.0.0.1:{port}/{host}",
                        host=host,
                        metrics_listen=f"127.0.0.1:{ports[host]}",
                        poll_interval=args.poll,
                        converge_interval=1800 / compression,
                        splay=300 / compression,
                        rollout={"prometheus_url": prometheus.url},
                    )
                )
                for host in hosts
            }
            results["start_seconds"] = time.time() - started
            first = repo_head(repo)
            stamps = wait_all(fleet, first, timeout=120 + 3 * args.hosts)
            results["startup_converged_seconds"] = max(stamps.values()) - started
            print(
                f"start-up: {args.hosts} daemons converged in "
                f"{results['startup_converged_seconds']:.0f}s",
                flush=True,
            )

            good, pushed = push(repo, "version 2")
            stamps = wait_all(fleet, good, timeout=600)
            latencies = [at - pushed for at in stamps.values()]
            p50, p99, most = percentiles(latencies)
            canary = stamps["host-000"] - pushed
            results["push_to_converged"] = {"p50": p50, "p99": p99, "max": most, "canary": canary}
            print(
                f"push -> converged: p50 {p50:.1f}s, p99 {p99:.1f}s, max {most:.1f}s "
                f"(canary {canary:.1f}s)",
                flush=True,
            )

            # let the start-up and the push settle into the phases, then the idle "hour"
            time.sleep(2 * args.poll)
            cpu0, t0 = proc_cpu(server.pid), time.time()
            time.sleep(args.idle)
            cpu1, t1 = proc_cpu(server.pid), time.time()
            rss = sum(rss_mb(d.process.pid) for d in fleet.values())
            requests = read_log(log, t0, t1)
            report = idle_report(requests, args.hosts, t1 - t0, args.poll / 60)
            report["server_cpu_percent"] = 100 * (cpu1 - cpu0) / (t1 - t0)
            report["server_cpu_ms_per_poll"] = 1000 * (cpu1 - cpu0) / max(1, report["polls"])
            late = lateness(requests, hosts, args.poll)
            report["lateness_ms"] = dict(
                zip(("p50", "p99", "max"), (1000 * v for v in percentiles(late)), strict=True)
            )
            report["fleet_rss_mb"] = rss
            report["rss_per_host_mb"] = rss / args.hosts
            report["seconds"] = t1 - t0
            results["idle"] = report
            share = report["busiest_bucket_share"]
            verdict = "ok" if share <= 0.05 else "MISSED"
            if share > 0.05:
                MISSED.append("polls per second")
            print(
                f"idle {t1 - t0:.0f}s (= {(t1 - t0) * compression / 60:.0f} min at 60s polls): "
                f"{report['requests_per_s']:.2f} requests/s, server CPU "
                f"{report['server_cpu_percent']:.2f} %, at most "
                f"{report['busiest_bucket_hosts']} hosts ({100 * share:.1f} %) polling in one "
                f"second (target <= 5 %: {verdict}; {report['buckets_over_5_percent']} of "
                f"{report['buckets']} seconds over); polls reach the server "
                f"{report['lateness_ms']['p50']:.0f} ms (p50), {report['lateness_ms']['p99']:.0f} "
                f"ms (p99) after their phase; {report['server_cpu_ms_per_poll']:.1f} ms server "
                f"CPU a poll; fleet RSS {rss:.0f} MB ({rss / args.hosts:.1f} MB a host)",
                flush=True,
            )
            results["bad_commit"] = bad_commit(fleet, repo, args)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return results


def bad_commit(fleet: dict[str, Daemon], repo: Path, args: argparse.Namespace) -> dict[str, Any]:
    bad, pushed = push(repo, "bad")
    canary = fleet["host-000"]
    rolled = wait_for(
        lambda: [r for r in runs_on(canary, bad) if r["outcome"] == "rolled-back"],
        timeout=300,
        interval=0.5,
    )[0]
    # Every later host must have seen the commit and judged it (no run in flight, so a drift
    # converge under way is over), then a few more poll intervals and scrapes: none of them
    # may converge it meanwhile.
    later = {host: d for host, d in fleet.items() if host != "host-000"}

    def judged() -> bool:
        for daemon in later.values():
            state = status(daemon)
            upstream = (state["state"].get("upstream") or {}).get("sha")
            if upstream != bad or state["live"].get("running_run_id"):
                return False
        return True

    wait_for(judged, timeout=300, interval=1.0)
    time.sleep(max(3 * args.poll, 10))
    touched = [host for host, d in later.items() if runs_on(d, bad)]
    statuses = {host: status(d) for host, d in later.items()}
    holds = Counter((s["live"].get("hold") or {}).get("reason", "none") for s in statuses.values())
    for host, state in statuses.items():
        if not state["live"].get("hold"):
            print(f"  {host}: no hold: {brief(state)}", flush=True)
    untouched = len(later) - len(touched)
    contained = not touched and holds.get("wave-gate", 0) == len(later)
    if not contained:
        MISSED.append("bad commit left the canary wave")
    print(
        f"bad commit: canary rolled back {rolled['finished_at'] - pushed:.1f}s after the push; "
        f"{untouched} of {len(later)} later hosts untouched, holds {dict(holds)} "
        f"({'contained' if contained else 'MISSED'})",
        flush=True,
    )
    return {
        "canary_rolled_back_seconds": rolled["finished_at"] - pushed,
        "later_untouched": untouched,
        "later_hosts": len(later),
        "holds": dict(holds),
    }


def repo_head(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--poll", type=float, default=6.0, help="poll interval (stands for 60 s)")
    parser.add_argument("--idle", type=float, default=360.0, help="idle seconds to measure")
    parser.add_argument(
        "--scrape", type=float, help="Prometheus scrape interval (default: poll/6, a real 10 s)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the fleet, Prometheus and the git server are stopped
    # (the default action would leave N daemons running)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    base = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    try:
        results = run(args, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if MISSED:
        print(f"missed: {', '.join(MISSED)}")
    return 1 if MISSED else 0


if __name__ == "__main__":
    sys.exit(main())
