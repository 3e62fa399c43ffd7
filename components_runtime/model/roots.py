"""``RootComponent``: one component name assigned to one host.

A root owns the resources its component tree provides, the configure-time log buffer, the
``[component:NAME]`` overrides and where they were written (so override errors point at the
config file), and the workdir ``ROOT/work/<name>``. ``prepare()`` builds a fresh component
instance every configure round, as batou does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components_runtime.errors import DeploydError
from components_runtime.support import log


class RootComponent:
    """A root component of one host (batou's constructor signature, plus locations)."""

    ignore = False

    def __init__(
        self,
        name: str,
        environment: Any,
        host: Any,
        features: list[str] | tuple[str, ...],
        ignore: bool,
        factory: Callable[[], Any],
        defdir: str,
        workdir: str,
        overrides: dict[str, Any] | None = None,
        *,
        filename: str | None = None,
        order: int = 0,
        override_locations: dict[str, tuple[str | None, int | None]] | None = None,
    ) -> None:
        self.name = name
        self.environment = environment
        self.host = host
        self.features = list(features)
        self.ignore = ignore
        self.factory = factory
        self.defdir = defdir
        self.workdir = workdir
        self.overrides = dict(overrides or {})
        self.filename = filename
        self.order = order  # position in the environment's config order (ties in ordering)
        self.override_locations = dict(override_locations or {})
        # overrides for this root only: a host-scoped secrets file (components_runtime.secrets)
        self.host_overrides: dict[str, str] = {}
        self.component: Any = None
        self._logs: list[tuple[str, tuple[Any, ...]]] | None = None

    def prepare(self) -> None:
        self._logs = []
        self.component = self.factory()
        if self.features:
            self.component.features = self.features
        self.component.prepare(self)

    def log(self, message: str, *args: Any) -> None:
        """Buffered while configuring (only the last pass is shown), immediate otherwise."""
        text = _format_log(message, args)  # here, so that a bad format names the log() line
        if self._logs is None:
            log(text, host=self.host.name, root=self.name)
        else:
            self._logs.append((message, args))

    def configure_logs(self) -> list[str]:
        return [_format_log(message, args, strict=False) for message, args in self._logs or ()]

    def finish_configure(self) -> None:
        self._logs = None

    def locate_override_error(self, error: DeploydError, key: str) -> None:
        """Point an override error at the line of ``[component:NAME]`` that caused it."""
        file, line = self.override_locations.get(key, (None, None))
        error.file = error.file or file
        error.line = error.line or line
        error.section = error.section or f"component:{self.name}"
        error.component = error.component or self.name
        # No host: the same override fails identically on every host and is reported once.

    @property
    def _breadcrumbs(self) -> str:
        name: str = self.host.name
        return name

    def __repr__(self) -> str:
        return f'<RootComponent "{self.name}" on {getattr(self.host, "name", "?")}>'


def _format_log(message: Any, args: tuple[Any, ...], strict: bool = True) -> str:
    """``message % args`` as batou does; a format that does not fit its arguments is the
    caller's error (raised at the ``log()`` call), or, when ``strict`` is off, shown as is."""
    if not args:
        return str(message)
    try:
        return str(message) % args
    except (TypeError, ValueError, KeyError) as error:
        if not strict:
            return f"{message} {args!r}"
        mismatch = ValueError(
            f"log message {message!r} does not fit its {len(args)} argument(s): {error}"
        )
        mismatch.deployd_hint = (  # type: ignore[attr-defined]
            "self.log() formats as message % args: make the %-placeholders match the arguments"
        )
        raise mismatch from None


__all__ = ["RootComponent"]
