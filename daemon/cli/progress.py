"""Progress of ``deployd apply`` / ``check`` while nothing else is printed.

On a terminal, one status line is rewritten in place: which requirement pip is at while the
repository's venv is built, then which component is converging. Any other output clears it
first, so it never mixes with the run's own lines. Elsewhere (a CI log, a pipe) the venv build
prints plain lines, one per requirement, and components print only their own lines.
"""

from __future__ import annotations

import shutil
import sys
import threading
from typing import TextIO

CLEAR = "\r\x1b[K"  # back to the start of the line, erase it


class StatusLine:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream  # None: whatever sys.stdout is when something is shown
        self.shown = False
        self.lock = threading.Lock()  # pip's progress arrives from a reader thread

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    @property
    def terminal(self) -> bool:
        try:
            return self.stream.isatty()
        except ValueError:  # closed
            return False

    def venv(self, line: str) -> None:
        """One of pip's progress lines (``Collecting jinja2``)."""
        if self.terminal:
            self._show(f"venv: {line}")
        else:
            self._write(f"venv: {line}\n")

    def component(self, host: str, component: str) -> None:
        if self.terminal:
            self._show(f"{host}: {component}: converging ...")

    def clear(self) -> None:
        with self.lock:
            if self.shown:
                self.shown = False
                self._put(CLEAR)

    def _show(self, text: str) -> None:
        width = shutil.get_terminal_size((80, 24)).columns - 1
        with self.lock:
            self.shown = self._put(CLEAR + text[:width])

    def _write(self, text: str) -> None:
        with self.lock:
            self._put(text)

    def _put(self, text: str) -> bool:
        try:
            self.stream.write(text)
            self.stream.flush()
            return True
        except (BrokenPipeError, ValueError):
            return False  # the reader went away; the run goes on


__all__ = ["StatusLine"]
