"""Where the file library's messages go: the runtime's output module when present, else logging.

batou prints diffs with ``batou.output.annotate``; the runtime's ``output`` module offers the
same names. The lookup is lazy so the library works before the output module is configured.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

logger = logging.getLogger(__name__)


def _output() -> Any:
    try:
        module = importlib.import_module("components_runtime.support.output")
    except ImportError:
        return None
    return getattr(module, "output", None)


def annotate(message: str, **style: bool) -> None:
    """One annotated message (batou: ``output.annotate``); ``debug=True`` ones only in debug."""
    sink = _output()
    if sink is not None and hasattr(sink, "annotate"):
        sink.annotate(message, **style)
        return
    logger.log(logging.DEBUG if style.get("debug") else logging.INFO, "%s", message)


def line(message: str, **style: bool) -> None:
    """One plain message line (batou: ``output.line``)."""
    sink = _output()
    if sink is not None and hasattr(sink, "line"):
        sink.line(message, **style)
        return
    logger.info("%s", message)
