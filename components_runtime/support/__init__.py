"""Helpers for component code: output, templates, shell commands, tracebacks."""

from components_runtime.support.batou_library import (
    batou_package_dir,
    forget_batou_distribution,
    is_served_module,
    library_prefixes,
    missing_batou_module_hint,
    served_module_spec,
)
from components_runtime.support.output import (
    Output,
    TerminalBackend,
    annotate,
    clear_buffer,
    error,
    flush_buffer,
    line,
    log,
    output,
    section,
    sep,
    step,
    tabular,
    warn,
)
from components_runtime.support.public_names import batou_names
from components_runtime.support.shell import cmd
from components_runtime.support.template import expand, generated_header, render_file
from components_runtime.support.tracebacks import (
    frame_in_file,
    import_chain,
    is_installed_code,
    relative,
    user_frame,
    user_traceback_lines,
)
from components_runtime.support.utilities import (
    Timer,
    call_with_optional_args,
    dict_merge,
    format_duration,
    hash,
)

__all__ = [
    "annotate",
    "batou_names",
    "batou_package_dir",
    "forget_batou_distribution",
    "is_installed_code",
    "is_served_module",
    "library_prefixes",
    "missing_batou_module_hint",
    "served_module_spec",
    "call_with_optional_args",
    "clear_buffer",
    "cmd",
    "dict_merge",
    "error",
    "expand",
    "flush_buffer",
    "format_duration",
    "frame_in_file",
    "generated_header",
    "import_chain",
    "hash",
    "line",
    "log",
    "Output",
    "output",
    "relative",
    "render_file",
    "section",
    "sep",
    "step",
    "tabular",
    "TerminalBackend",
    "Timer",
    "user_frame",
    "user_traceback_lines",
    "warn",
]
