"""``breakpoint()`` inside the worker: remote-pdb in debug mode, a warning otherwise.

The worker installs :class:`BreakpointHook` as ``sys.breakpointhook`` (``PYTHONBREAKPOINT`` is
not consulted: the request decides).

* **Debug mode** (``request.debug``): the hook opens a listening socket on
  ``request.debug_host:request.debug_port`` (default ``127.0.0.1:4444``, filled by
  ``deployd apply --debug`` from ``REMOTE_PDB_HOST`` / ``REMOTE_PDB_PORT``), emits a
  ``debugger-waiting`` event with the real port (so port 0 works), and blocks until a client
  attaches, e.g. ``nc -C 127.0.0.1 4444``. ``continue`` or ``quit`` emits ``debugger-done``.
  ``quit`` ends the run: the component fails with ``BdbQuit``, every later breakpoint raises
  ``BdbQuit`` at once (configure retries a failed root, which would reach it again) and no
  further root starts.
  The parent pauses the run's time limits between the two events, up to the debug limit.
  A host that is not a loopback address is refused unless ``request.debug_allow_remote``.
  Configure runs the roots of every host of the environment; a breakpoint reached while
  another host's root is configured is skipped with a warning (only this host's components,
  and what they run, may wait for a debugger).
* **Otherwise** the breakpoint is skipped: a ``log`` warning names the file and line and says how
  to debug, and the run continues. A forgotten ``breakpoint()`` never hangs a fleet.

The debugger itself (``worker.debug_session``: pdb, remote-pdb) is imported only when
a breakpoint is reached in debug mode, which keeps every worker's start-up lighter.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from components_runtime.engine import FOREIGN_HOST
from components_runtime.errors import DeploymentError
from components_runtime.protocol import WorkerRequest, is_loopback, make_event

Emit = Callable[[dict[str, Any]], None]
DEBUG_HINT = (
    "to stop here, turn debug mode on (`deployd apply --debug`, or `debug = true` in the "
    "daemon's settings) and attach with `nc -C 127.0.0.1 4444` (see docs/debugging.md)"
)


def install_breakpoint_hook(request: WorkerRequest, emit: Emit) -> BreakpointHook:
    hook = BreakpointHook(request, emit)
    sys.breakpointhook = hook
    return hook


class BreakpointHook:
    """The ``sys.breakpointhook`` of a worker (see the module docstring)."""

    def __init__(self, request: WorkerRequest, emit: Emit) -> None:
        self.request = request
        self.emit = emit
        self.skipped: list[str] = []  # the warnings, for the run's result (and its record)
        self.quit = False  # `q` in the debugger: the run ends (worker.entry's should_stop)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        frame = sys._getframe(1)
        where = f"{self._display(frame.f_code.co_filename)}:{frame.f_lineno}"
        request = self.request
        if self.quit:  # configure retries a failed root: it fails again, no debugger reopens
            import bdb

            raise bdb.BdbQuit
        if not request.debug:
            self._warn(f"breakpoint() at {where} skipped: not in debug mode; {DEBUG_HINT}")
            return
        foreign = FOREIGN_HOST.get()
        if foreign is not None:
            self._warn(
                f"breakpoint() at {where} skipped: it was reached while configuring host "
                f"{foreign}, not this host; only this host's components stop in the debugger "
                f"(debug on {foreign} itself, see docs/debugging.md)"
            )
            return
        if not (is_loopback(request.debug_host) or request.debug_allow_remote):
            self._warn(
                f"breakpoint() at {where} skipped: REMOTE_PDB_HOST={request.debug_host} is not a "
                "loopback address; debug through `ssh -L` instead (or allow it explicitly: "
                "`debug_allow_remote = true` in the daemon's settings, `--debug-allow-remote` "
                "for deployd apply; see docs/debugging.md)"
            )
            return
        self._debug(frame)

    def _debug(self, frame: FrameType) -> None:
        import socket

        listener = socket.socket(
            socket.AF_INET6 if ":" in self.request.debug_host else socket.AF_INET,
            socket.SOCK_STREAM,
        )
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
        try:
            listener.bind((self.request.debug_host, self.request.debug_port))
            listener.listen(1)
        except OSError as error:
            listener.close()
            where = f"{self._display(frame.f_code.co_filename)}:{frame.f_lineno}"
            raise DeploymentError(
                f"breakpoint() at {where}: remote-pdb cannot listen on "
                f"{self.request.debug_host}:{self.request.debug_port}: {error.strerror}",
                hint="another program (or debugger session) uses that port: set "
                "REMOTE_PDB_PORT to a free port, or 0 to pick one",
            ) from error
        port = listener.getsockname()[1]
        waiting = make_event(
            "debugger-waiting",
            host=self.request.debug_host,
            port=port,
            file=self._display(frame.f_code.co_filename),
            line=frame.f_lineno,
        )
        self.emit(waiting)
        print(
            f"deployd: breakpoint waiting for remote-pdb on {self.request.debug_host}:{port}",
            file=sys.stderr,
            flush=True,
        )
        from components_runtime.worker.debug_session import SessionPdb  # pdb: only when debugging

        debugger = SessionPdb(listener, lambda: self.emit(waiting), self._done, self._quit)
        debugger.set_trace(frame)

    def _quit(self) -> None:
        self.quit = True

    def _done(self) -> None:
        self.emit(make_event("debugger-done"))

    def _warn(self, message: str) -> None:
        self.skipped.append(message)
        self.emit(
            make_event(
                "log", level="warning", host=self.request.host, component=None, message=message
            )
        )

    def _display(self, filename: str) -> str:
        try:
            return str(Path(filename).relative_to(self.request.repository))
        except ValueError:
            return filename


__all__ = ["BreakpointHook", "install_breakpoint_hook"]
