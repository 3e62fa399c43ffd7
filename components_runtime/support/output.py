"""Messages from component code and the runtime, as ``log`` events (batou's ``output``).

One :data:`output` object per worker process. The session points it at the event stream with
:meth:`Output.attach`; until then (e.g. in unit tests) messages go to ``logging``. Components
and libraries use batou's API: ``annotate``, ``line``, ``tabular``, ``warn``, ``error``,
``step``. Warnings are also kept so the run result can list them.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from components_runtime.protocol import make_event

_logger = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]


class Output:
    def __init__(self) -> None:
        self._emit: Emit | None = None
        self.enable_debug = False
        self.host: str | None = None
        self.root: str | None = None
        self.warnings: list[str] = []
        # Lines held back until something is printed (batou's output buffer): the line naming
        # a component waits here while it verifies, so it comes before what verify() prints.
        self._held: list[Callable[[], None]] = []

    def attach(self, emit: Emit | None, debug: bool = False) -> None:
        self._emit = emit
        self.enable_debug = debug
        self.warnings = []
        self._held = []

    def hold(self, announce: Callable[[], None]) -> int:
        """Call ``announce`` before the next message is emitted; returns a mark for
        :meth:`release`."""
        mark = len(self._held)
        self._held.append(announce)
        return mark

    def release(self, mark: int) -> None:
        """Drop what was held since ``mark`` and was not announced yet."""
        del self._held[mark:]

    def announce_held(self) -> None:
        """Announce everything held, oldest first (a component needs update)."""
        held, self._held = self._held, []
        for announce in held:
            announce()

    @contextlib.contextmanager
    def context(self, host: str | None, root: str | None) -> Iterator[None]:
        """Attribute messages in the block to ``host`` / ``root``."""
        previous = self.host, self.root
        self.host, self.root = host, root
        try:
            yield
        finally:
            self.host, self.root = previous

    def log(
        self,
        message: str,
        level: str = "info",
        host: str | None = None,
        root: str | None = None,
    ) -> None:
        if self._held:
            self.announce_held()
        if level == "warning":
            self.warnings.append(message)
        host = host if host is not None else self.host
        root = root if root is not None else self.root
        if self._emit is None:
            _logger.log(logging.getLevelName(level.upper()), "%s: %s", host or "-", message)
            return
        self._emit(make_event("log", level=level, host=host, component=root, message=message))

    # -- batou's API ----------------------------------------------------------------------------

    def line(self, message: str, debug: bool = False, icon: str | None = None, **_: Any) -> None:
        if debug and not self.enable_debug:
            return
        self.log(str(message), "debug" if debug else "info")

    annotate = line

    def tabular(
        self, key: str, value: Any, separator: str = ": ", debug: bool = False, **kw: Any
    ) -> None:
        self.line(f"{str(key).rjust(20)}{separator}{value}", debug=debug, **kw)

    def step(self, context: str, message: str, debug: bool = False, **kw: Any) -> None:
        self.line(f"{context}: {message}", debug=debug, **kw)

    def section(self, title: str, debug: bool = False, **kw: Any) -> None:
        self.line(title, debug=debug, **kw)

    def warn(self, message: str, debug: bool = False, **_: Any) -> None:
        if debug and not self.enable_debug:
            return
        self.log(str(message), "warning")

    def error(self, message: str, exc_info: Any = None, debug: bool = False, **_: Any) -> None:
        if debug and not self.enable_debug:
            return
        text = str(message)
        if exc_info and self.enable_debug:
            text += "\n" + "".join(traceback.format_exception(*exc_info))
        self.log(text, "error")

    # Buffering is a terminal nicety of batou; events are already per component.
    def buffer(self, *args: Any, **kw: Any) -> None:
        pass

    def flush_buffer(self) -> None:
        pass

    def clear_buffer(self) -> None:
        pass

    def sep(self, *args: Any, **kw: Any) -> None:
        pass


class TerminalBackend:
    """batou's terminal backend; deployd renders events in the CLI, so this only forwards."""

    def line(self, message: str, **kw: Any) -> None:
        output.line(message)

    def sep(self, *args: Any, **kw: Any) -> None:
        pass

    def write(self, content: str, **kw: Any) -> None:
        output.line(content.rstrip("\n"))


output = Output()

# Module-level functions: ``from components_runtime import output; output.annotate(...)``.
annotate = output.annotate
line = output.line
tabular = output.tabular
step = output.step
section = output.section
warn = output.warn
error = output.error
sep = output.sep
buffer = output.buffer
flush_buffer = output.flush_buffer
clear_buffer = output.clear_buffer


def log(
    message: str, host: str | None = None, root: str | None = None, level: str = "info"
) -> None:
    output.log(message, level, host, root)


__all__ = [
    "Output",
    "TerminalBackend",
    "annotate",
    "clear_buffer",
    "error",
    "flush_buffer",
    "line",
    "log",
    "output",
    "section",
    "sep",
    "step",
    "tabular",
    "warn",
]
