"""venv + worker in one call, for ``deployd apply`` / ``check`` (the daemon's pipeline composes
``daemon.venvs.cache`` and ``daemon.worker.spawn`` itself, with its own bookkeeping).

``run_isolated(request, state_dir, on_event)`` prepares the repository's venv under
``STATE_DIR/venvs/`` and runs the worker in it. Both steps report failures as data. The venv
is held (``daemon.venvs.cache.lock_in_use``) while the worker runs, so a daemon sharing the state
directory never garbage-collects it mid-run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components_runtime.protocol import ErrorInfo, WorkerRequest
from daemon.config import DEBUG_HOST, DEBUG_PORT, DEFAULT_LIMITS, Limits
from daemon.venvs import InUse, Requirements, VenvResult, ensure_venv, lock_in_use
from daemon.worker import WorkerRun, run_worker


@dataclass(frozen=True)
class IsolatedRun:
    venv: VenvResult
    run: WorkerRun | None  # None when the venv could not be prepared

    @property
    def outcome(self) -> str:
        return self.run.outcome if self.run else "failed"

    @property
    def errors(self) -> tuple[ErrorInfo, ...]:
        if self.run is None:
            return (self.venv.error,) if self.venv.error else ()
        return self.run.errors


def run_isolated(
    request: WorkerRequest,
    state_dir: Path,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
    *,
    limits: Limits = DEFAULT_LIMITS,
    wheelhouse: Path | None = None,
    no_index: bool = False,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
    on_stderr: Callable[[str], None] | None = None,
    abort: threading.Event | None = None,
    on_build: Callable[[Path, Requirements], None] | None = None,
    on_venv_progress: Callable[[str], None] | None = None,
) -> IsolatedRun:
    venvs_dir = state_dir / "venvs"

    def prepare() -> VenvResult:
        return ensure_venv(
            Path(request.repository),
            venvs_dir,
            wheelhouse=wheelhouse,
            no_index=no_index,
            timeout=limits.venv_build,
            on_build=on_build,
            on_progress=on_venv_progress,
        )

    venv, held = _held_venv(prepare)
    if venv.python is None or held is None:
        return IsolatedRun(venv=venv, run=None)
    try:
        run = run_worker(
            request,
            on_event,
            python=venv.python,
            limits=limits,
            cancel=cancel,
            env=env,
            on_stderr=on_stderr,
            abort=abort,
        )
    finally:
        held.release()
    return IsolatedRun(venv=venv, run=run)


def _held_venv(prepare: Callable[[], VenvResult]) -> tuple[VenvResult, InUse | None]:
    """The venv, held against the daemon's garbage collection for the whole run.

    The daemon may collect a reused venv between ``ensure_venv``'s look and our lock; then
    the lock finds it gone and one more ``ensure_venv`` rebuilds it (a second loss in a row
    would need a collection racing a fresh build: reported as a failure, not retried).
    """
    for _attempt in range(2):
        venv = prepare()
        if venv.path is None:
            return venv, None
        held = lock_in_use(venv.path)
        if held is not None:
            return venv, held
    gone = ErrorInfo(
        kind="VenvBuildError",
        message=f"venv {venv.key} was removed by the daemon's garbage collection twice",
        hint="run the command again",
    )
    return VenvResult(None, venv.key, "failed", venv.duration, gone, venv.notices), None


def attach_instructions(event: Mapping[str, Any], ssh_host: str | None = None) -> str:
    """What ``apply --debug`` prints when a ``debugger-waiting`` event arrives."""
    host, port = event.get("host", DEBUG_HOST), event.get("port", DEBUG_PORT)
    where = f"{event.get('file')}:{event.get('line')}" if event.get("file") else "a breakpoint()"
    target = ssh_host or os.uname().nodename
    return (
        f"breakpoint() at {where}: remote-pdb is waiting on {host}:{port}\n"
        f"  on this host:     nc -C {host} {port}\n"
        f"  from your laptop: ssh -L {port}:localhost:{port} {target}\n"
        f"                    then: nc -C 127.0.0.1 {port}\n"
        "  `c` continues the run, `q` aborts it; the run's time limit is paused meanwhile."
    )


__all__ = ["IsolatedRun", "attach_instructions", "run_isolated"]
