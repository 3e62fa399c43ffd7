"""Cost of isolation: the worker subprocess in the repository's venv, and the venv cache.

1. Worker start overhead: converge a one-component repository (already converged: a no-op)
   through ``daemon.runs.one_shot.run_isolated`` (venv reused, worker subprocess) against the same
   converge in this process (``components_runtime.worker.session.run_request``). Target: at most
   300 ms more. Also as fresh processes: ``python -c run_request(...)`` against the whole
   ``deployd apply`` command.
2. "venv unchanged" detection: ``ensure_venv`` on a repository whose venv exists, without and
   with requirements (20 lines and a local ``-e`` package). No pip runs (tests prove it).
3. Time limits: how long after *limit + grace* a run over its limit is recorded as ``timeout``,
   for a worker that ignores SIGTERM and a grandchild that ignores it too (both must be gone).
   Target: at most 500 ms late.
4. For the record: building a venv with and without its own pip.

    .venv/bin/python benchmarks/bench_worker.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from helpers import make_repo  # noqa: E402
from parity_helpers import deployd_command  # noqa: E402

from components_runtime.protocol import WorkerRequest  # noqa: E402
from daemon.config.limits import Limits  # noqa: E402
from daemon.runs.one_shot import run_isolated  # noqa: E402
from daemon.venvs.cache import READY, ensure_venv, venv_key  # noqa: E402
from daemon.venvs.requirements import read_requirements  # noqa: E402
from daemon.worker.spawn import run_worker  # noqa: E402

TARGET_OVERHEAD = 0.300
TARGET_KILL_LATE = 0.500
COMPONENT = """\
from batou.component import Component
from batou.lib.file import File


class App(Component):
    def configure(self):
        self += File("app.conf", content="port = 8080\\n")
"""


def median_ms(repeat: int, run: Callable[[], object]) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def one_component_repo(base: Path, requirements: str | None = None) -> Path:
    files = {
        ".batou.json": '{"migration": {"version": 2400}}\n',
        "environments/bench/environment.cfg": "[host:localhost]\ncomponents = app\n",
        "components/app/component.py": COMPONENT,
    }
    if requirements is not None:
        files["requirements.txt"] = requirements
    return make_repo(base, files)


def worker_overhead(base: Path, repeat: int) -> tuple[float, float]:
    from components_runtime.worker.session import run_request

    checkout = one_component_repo(base / "repo")
    request = WorkerRequest(
        repository=str(checkout), environment="bench", host="localhost", root=str(base / "root")
    )
    state = base / "state"
    first = run_isolated(request, state)  # builds the venv, converges once
    assert first.outcome == "succeeded", first.errors

    def isolated() -> None:
        done = run_isolated(request, state)
        assert done.venv.outcome == "reused" and done.outcome == "succeeded", done.errors

    def in_process() -> None:
        result = run_request(request, lambda event: None)
        assert result.outcome == "succeeded", result.errors

    in_process()  # warm: imports
    return median_ms(repeat, in_process), median_ms(repeat, isolated)


def cold_processes(base: Path, repeat: int) -> tuple[float, float]:
    """Wall time of fresh processes: one converging in itself vs ``deployd apply`` (CLI, venv
    check, worker in the venv)."""
    checkout = one_component_repo(base / "repo")
    root, state = base / "root", base / "state"
    inline = (
        "from components_runtime.protocol import WorkerRequest\n"
        "from components_runtime.worker.session import run_request\n"
        f"r = run_request(WorkerRequest(repository={str(checkout)!r}, environment='bench',"
        f" host='localhost', root={str(root)!r}), lambda e: None)\n"
        "assert r.outcome == 'succeeded', r.errors\n"
    )
    apply = deployd_command(checkout, "bench", root, state)
    subprocess.run(apply, check=True, capture_output=True)  # build the venv, converge once

    def run(command: list[str]) -> Callable[[], object]:
        return lambda: subprocess.run(command, check=True, capture_output=True)

    return median_ms(repeat, run([sys.executable, "-c", inline])), median_ms(repeat, run(apply))


def unchanged_detection(base: Path, repeat: int) -> tuple[float, float]:
    empty = one_component_repo(base / "empty")
    lines = "".join(f"package{i}>=1.{i}\n" for i in range(20)) + "-e ./mylib\n"
    full = one_component_repo(base / "full", requirements=lines)
    (full / "mylib").mkdir()
    (full / "mylib/pyproject.toml").write_text("[project]\nname = 'mylib'\nversion = '1'\n")
    venvs = base / "venvs"
    ensure_venv(empty, venvs)
    # the "full" venv's packages do not exist: mark a venv for its key as finished by hand
    key = venv_key(read_requirements(full.absolute()), (), False)
    (venvs / key / "bin").mkdir(parents=True)
    (venvs / key / "bin" / "python").symlink_to(sys.executable)
    (venvs / key / READY).write_text("{}")
    assert ensure_venv(full, venvs).outcome == "reused"
    return (
        median_ms(repeat * 20, lambda: ensure_venv(empty, venvs)),
        median_ms(repeat * 20, lambda: ensure_venv(full, venvs)),
    )


STUBBORN = """\
import signal
from batou.component import Component


class App(Component):
    def verify(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.cmd("(trap '' TERM; sleep 1000 & echo $! > {pidfile}; wait); true")
"""


def kill_lateness(base: Path, repeat: int) -> float:
    """Median seconds between *limit + grace* and the end of the run (``timeout``)."""
    limits = Limits(run=1.0, grace=1.0)
    logging.getLogger("daemon.worker.spawn").setLevel(
        logging.ERROR
    )  # the expected overrun warnings
    samples = []
    for number in range(repeat):
        pidfile = base / f"grandchild{number}.pid"
        checkout = make_repo(
            base / f"repo{number}",
            {
                ".batou.json": '{"migration": {"version": 2400}}\n',
                "environments/bench/environment.cfg": "[host:localhost]\ncomponents = app\n",
                "components/app/component.py": STUBBORN.format(pidfile=pidfile),
            },
        )
        request = WorkerRequest(
            repository=str(checkout), environment="bench", host="localhost", root=str(base)
        )
        started = time.perf_counter()
        done = run_worker(request, limits=limits)
        samples.append(time.perf_counter() - started - limits.run - limits.grace)
        assert (done.outcome, done.timed_out_component) == ("timeout", "app"), done.errors
        grandchild = int(pidfile.read_text())
        assert not _alive(grandchild), "the grandchild survived the SIGKILL"
    return statistics.median(samples)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    if state in ("Z", "X"):
        return False
    os.kill(pid, 9)  # do not leave it behind
    return True


def venv_creation(base: Path) -> tuple[float, float]:
    def create(*flags: str) -> Callable[[], object]:
        counter = iter(range(1000))
        return lambda: subprocess.run(
            [sys.executable, "-m", "venv", *flags, str(base / f"v{flags}{next(counter)}")],
            check=True,
            capture_output=True,
        )

    return median_ms(3, create("--without-pip")), median_ms(3, create())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        base = Path(tmp)
        inline, isolated = worker_overhead(base / "overhead", args.repeat)
        overhead = (isolated - inline) / 1000
        verdict = "ok" if overhead <= TARGET_OVERHEAD else "MISSED"
        print(
            f"no-op apply, one component: in-process {inline:.1f} ms, "
            f"worker in venv {isolated:.1f} ms, overhead {overhead * 1000:.1f} ms "
            f"(target <= {TARGET_OVERHEAD * 1000:.0f} ms: {verdict})"
        )
        alone, cli = cold_processes(base / "cold", args.repeat)
        print(
            f"fresh processes: converge in one process {alone:.0f} ms, deployd apply "
            f"(CLI + venv check + worker) {cli:.0f} ms, difference {cli - alone:.0f} ms"
        )
        empty, full = unchanged_detection(base / "detect", args.repeat)
        print(
            f"venv unchanged detected: no requirements {empty:.3f} ms, "
            f"20 requirements + a local package {full:.3f} ms"
        )
        late = kill_lateness(base / "kill", max(3, args.repeat // 5))
        kill_verdict = "ok" if late <= TARGET_KILL_LATE else "MISSED"
        print(
            f"run over its limit (1 s, grace 1 s; SIGTERM ignored by worker and grandchild): "
            f"timeout recorded {late * 1000:.0f} ms after limit + grace "
            f"(target <= {TARGET_KILL_LATE * 1000:.0f} ms: {kill_verdict})"
        )
        without_pip, with_pip = venv_creation(base / "create")
        print(f"venv creation: --without-pip {without_pip:.0f} ms, with pip {with_pip:.0f} ms")
    return 0 if verdict == kill_verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
