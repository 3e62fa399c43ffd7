"""Every time limit deployd enforces, with its default, in one place.

Layers, later wins::

    Limits()                      the defaults below
    .overlay(settings)            the daemon's settings ([limits] in deployd.toml, config.settings)
    .overlay(environment)         the repository's [deployd] section in environment.cfg
    deployd_timeout = 300         a component class's own limit (component limit only)

``overlay`` takes a plain mapping of *key → value* where a key is a field name (``run``) or the
same name with ``_timeout`` (``run_timeout``, as written in ``environment.cfg``); values are
seconds, or a number with ``s``, ``m`` or ``h``. Unknown keys and bad values raise
:class:`LimitsError` naming the key, so a typo never silently keeps a default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from daemon.config.checks import MAX_SECONDS

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNIT = {None: 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
# environment.cfg spelling of each field, besides the field name itself
_ALIASES = {
    "venv_build_timeout": "venv_build",
    "fetch_timeout": "fetch",
    "run_timeout": "run",
    "component_timeout": "component",
    "grace_period": "grace",
    "debug_timeout": "debug",
}


# Keys of [deployd] that are not time limits: the rollout policy (health checks, change windows,
# waves; daemon.rollout reads them, docs/fleet.md). The limits skip them.
ROLLOUT_KEYS = ("windows", "freezes", "drift_outside_windows")
ROLLOUT_PREFIXES = ("check.", "wave.")


def is_rollout_key(key: str) -> bool:
    return key in ROLLOUT_KEYS or key.startswith(ROLLOUT_PREFIXES)


class LimitsError(ValueError):
    """A limit key or value is wrong. ``key`` names it, ``source`` says where it came from."""

    def __init__(self, message: str, *, key: str, source: str) -> None:
        super().__init__(f"{source}: {key}: {message}")
        self.key = key
        self.source = source


@dataclass(frozen=True)
class Limits:
    """Seconds. See docs/timeouts.md."""

    venv_build: float = 900.0  # creating the venv and running pip
    fetch: float = 120.0  # one git fetch / ls-remote (daemon.git.mirror)
    run: float = 3600.0  # the whole worker run: load, configure, converge
    component: float = 1800.0  # one root component's verify/update
    grace: float = 10.0  # between SIGTERM and SIGKILL of the worker's process group
    debug: float = 3600.0  # how long a breakpoint may pause the run and component clocks

    def overlay(self, values: Mapping[str, object], source: str = "limits") -> Limits:
        """A copy with ``values`` applied (see the module docstring for keys and units)."""
        changes: dict[str, float] = {}
        names = {f.name for f in fields(self)}
        for key, raw in values.items():
            name = _ALIASES.get(key, key)
            if name not in names:
                known = ", ".join(sorted(names | set(_ALIASES)))
                raise LimitsError(f"unknown time limit (known: {known})", key=key, source=source)
            changes[name] = parse_duration(raw, key=key, source=source)
        return replace(self, **changes)

    def overlay_environment(self, section: Mapping[str, object]) -> Limits:
        """A copy with an environment's ``[deployd]`` section applied. Values are the runtime's
        ``ConfigValue`` (``.text``, ``.origin``) or plain strings; a bad key or value raises
        :class:`LimitsError` whose ``source`` is the file, line and section it came from."""
        result = self
        for key, value in section.items():
            if is_rollout_key(key):
                continue
            text = getattr(value, "text", value)
            origin = str(getattr(value, "origin", None) or "[deployd]")
            if _ALIASES.get(key, key) == "fetch":  # would be silently ignored otherwise
                raise LimitsError(
                    "the fetch limit cannot be set per environment (the daemon fetches before "
                    "it reads a commit); set fetch in [limits] of the daemon's settings",
                    key=key,
                    source=origin,
                )
            result = result.overlay({key: text}, source=origin)
        return result

    def component_limit(self, declared: float | None) -> float:
        """The limit for one component: its class's own ``deployd_timeout``, else the default."""
        return float(declared) if declared else self.component


def parse_duration(raw: object, *, key: str = "value", source: str = "limits") -> float:
    """``30``, ``30s``, ``2.5m``, ``1h`` → seconds. Zero and negative values are refused."""
    if isinstance(raw, bool):
        raise LimitsError("expected seconds, got a boolean", key=key, source=source)
    if isinstance(raw, int | float):
        seconds = float(raw)
    else:
        match = _DURATION.match(str(raw))
        if not match:
            raise LimitsError(
                f"{raw!r} is not a duration (write seconds, or e.g. 90s, 15m, 2h)",
                key=key,
                source=source,
            )
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if seconds <= 0:
        raise LimitsError(f"{raw!r}: a time limit must be positive", key=key, source=source)
    if not seconds <= MAX_SECONDS:  # also NaN and infinity
        message = f"{raw!r}: a time limit is at most 30 days ({MAX_SECONDS:g} seconds)"
        raise LimitsError(message, key=key, source=source)
    return seconds


DEFAULT_LIMITS = Limits()

__all__ = ["DEFAULT_LIMITS", "Limits", "LimitsError", "parse_duration"]
