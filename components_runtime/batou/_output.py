"""``batou._output``: the output object and its (terminal) backend class."""

from components_runtime.support.output import Output, TerminalBackend, output

__all__ = ["Output", "TerminalBackend", "output"]
