"""Messages name batou's concepts, never deployd's module paths.

Jinja2 describes an object by its class's module (``'components_runtime.model.environment.Host
object' has no attribute 'x'``), and so do reprs and our own messages that show a class. A user
knows these classes by their batou names (``batou.host.Host``), so :func:`batou_names` rewrites
every ``components_runtime.<module>.<Name>`` in a text: to the ``batou.*`` module that serves the
same object when one does (looked up among the ``batou`` alias modules already imported, so
nothing is imported here), else to the bare name.
"""

from __future__ import annotations

import re
import sys

_PREFIX = "components_runtime."
_ALIASES = _PREFIX + "batou"
_INTERNAL = re.compile(r"\bcomponents_runtime(?:\.[A-Za-z_]\w*)+")


def batou_names(text: str) -> str:
    """``text`` with each internal dotted name replaced by the name a batou user knows."""
    if _PREFIX not in text:
        return text
    return _INTERNAL.sub(lambda match: _public(match.group(0)), text)


def _public(dotted: str) -> str:
    if dotted == _ALIASES or dotted.startswith(_ALIASES + "."):
        return dotted[len(_PREFIX) :]  # an alias module itself: batou.utils
    module_name, _, name = dotted.rpartition(".")
    module = sys.modules.get(module_name)
    value = getattr(module, name, None) if module is not None else None
    if value is not None:
        for alias_name in sorted(n for n in list(sys.modules) if n.startswith(_ALIASES)):
            if alias_name.startswith(_ALIASES + ".c."):
                continue  # batou.c.<dir>: the user's own component modules
            if getattr(sys.modules[alias_name], name, None) is value:
                return f"{alias_name[len(_PREFIX) :]}.{name}"
    return name


__all__ = ["batou_names"]
