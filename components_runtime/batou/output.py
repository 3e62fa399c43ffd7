"""``batou.output``: ``output.annotate/line/tabular/step/warn/error`` (re-exports)."""

from components_runtime.support import (
    annotate,
    clear_buffer,
    error,
    flush_buffer,
    line,
    section,
    sep,
    step,
    tabular,
    warn,
)

__all__ = [
    "annotate",
    "clear_buffer",
    "error",
    "flush_buffer",
    "line",
    "section",
    "sep",
    "step",
    "tabular",
    "warn",
]
