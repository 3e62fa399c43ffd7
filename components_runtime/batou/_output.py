"""``batou._output``: the output object and its (terminal) backend class."""

from components_runtime.support import Output, TerminalBackend, output

__all__ = ["Output", "TerminalBackend", "output"]
