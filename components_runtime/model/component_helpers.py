"""The helper API component code calls on ``self`` (batou's ``Component`` methods).

A mixin of :class:`components_runtime.model.component.Component`; it relies on ``root``, ``host``,
``environment``, ``workdir``, ``sub_components`` and ``changed`` from there.

``working_directory`` is the only place in the runtime that changes the process's current
directory (configure runs in ``defdir``, verify/update in ``workdir``, ``self.chdir``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

from components_runtime.errors import (
    CmdExecutionError,
    ConfigurationError,
    SilentConfigurationError,
    UpdateNeeded,
)
from components_runtime.support import cmd as run_command
from components_runtime.support import expand as expand_template
from components_runtime.support import generated_header, is_installed_code, library_prefixes
from components_runtime.support import render_file as render_template_file


class AmbiguousResource(ConfigurationError, KeyError):
    """``require_one`` found several values. Also a ``KeyError``, which batou raises here."""

    sort_rank = 4

    def __str__(self) -> str:
        return self.message


# The whole runtime package, as imported: frames carry this path.
_RUNTIME_PREFIX = os.path.dirname(os.path.dirname(__file__)) + os.sep


def calling_site() -> tuple[str, int] | None:
    """(file, line) of the code that called into the runtime: the nearest frame outside this
    package and outside the batou modules served from the pinned distribution (the user's
    ``self.provide(...)``, or ``self += Build(...)`` for the ``Download`` that ``Build`` adds),
    for errors that are found only later.

    Code of an installed package (batou_ext, from the venv's site-packages) is passed over
    too when the user's own code called it: the ``self += Redis()`` in the repository says
    more than the line inside batou_ext that added a ``File``. A package's frame is kept only
    when no frame of the user's follows (a batou_ext component used as a root).

    A short walk up the stack, once per call; no traceback objects, no source lines read."""
    library = (_RUNTIME_PREFIX, "<", *library_prefixes())
    first: tuple[str, int] | None = None
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        file = frame.f_code.co_filename
        if not file.startswith(library):
            if not is_installed_code(file):
                return file, frame.f_lineno
            first = first or (file, frame.f_lineno)
        frame = frame.f_back
    return first


@contextlib.contextmanager
def working_directory(path: str | os.PathLike[str]) -> Iterator[None]:
    """Run the block in ``path``; always return to the previous directory."""
    previous = os.getcwd()
    if previous == os.fspath(path):
        yield  # already there (sub-components share their parent's dirs): no syscalls
        return
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


class ComponentHelpers:
    # Declared for type checkers; provided by Component.
    root: Any
    host: Any
    environment: Any
    workdir: Any
    changed: bool
    sub_components: list[Any]

    @property
    def _breadcrumbs(self) -> str:  # provided by Component
        raise NotImplementedError

    # -- resources ----------------------------------------------------------------------------

    def provide(self, key: str, value: Any) -> None:
        self.environment.resources.provide(self.root, key, value, calling_site())

    def require(
        self,
        key: str,
        host: Any = None,
        strict: bool = True,
        reverse: bool = False,
        dirty: bool = False,
    ) -> list[Any]:
        if isinstance(host, str):
            # batou compares host objects by identity, so a name silently matched nothing;
            # deployd looks the name up instead.
            hosts = self.environment.hosts
            if host not in hosts:
                raise ConfigurationError(
                    f"require({key!r}, host={host!r}): no such host in this environment",
                    hint=f"hosts: {', '.join(hosts)}",
                )
            host = hosts[host]
        resources = self.environment.resources
        found: list[Any] = resources.require(
            self.root, key, host, strict, reverse, dirty, calling_site()
        )
        return found

    def require_one(
        self,
        key: str,
        host: Any = None,
        strict: bool = True,
        reverse: bool = False,
        dirty: bool = False,
    ) -> Any:
        values = self.require(key, host, strict, reverse, dirty)
        if len(values) > 1:
            where = f" on host {getattr(host, 'name', host)}" if host is not None else ""
            raise AmbiguousResource(
                f"require_one({key!r}): expected one value{where}, got {len(values)}",
                hint="provide the key only once (per host), or use require() for a list",
                details=tuple(repr(value) for value in values[:10]),
            )
        if not values and strict:
            raise SilentConfigurationError()
        return values[0] if values else None

    # -- assertions for verify() --------------------------------------------------------------

    def assert_cmd(self, *args: Any, **kw: Any) -> None:
        try:
            self.cmd(*args, **kw)
        except CmdExecutionError:
            raise UpdateNeeded() from None

    def assert_file_is_current(
        self, reference: str, requirements: list[str] | tuple[str, ...] = (), **kw: Any
    ) -> None:
        from components_runtime.lib.file import Presence

        reference_component = Presence(reference)
        self |= reference_component  # type: ignore[operator]
        reference_component.assert_component_is_current(
            [Presence(path) for path in requirements], **kw
        )

    def assert_component_is_current(self, requirements: Any = (), **kw: Any) -> None:
        if isinstance(requirements, ComponentHelpers):
            requirements = [requirements]
        reference = self.last_updated(**kw)  # type: ignore[attr-defined]
        # The messages are batou's debug annotations: `--debug` shows them as the reason.
        if reference is None:
            raise UpdateNeeded(
                f"assert_component_is_current({self._breadcrumb}, ...): No reference"  # type: ignore[attr-defined]
            )
        for requirement in requirements:
            self |= requirement
            required = requirement.last_updated(**kw)
            if required is not None and reference < required:
                raise UpdateNeeded(
                    f"assert_component_is_current({self._breadcrumb}, "  # type: ignore[attr-defined]
                    f"{requirement._breadcrumb}): {reference} < {required}"
                )

    def assert_no_subcomponent_changes(self) -> None:
        if any(component.changed for component in self.sub_components):
            raise UpdateNeeded()

    def assert_no_changes(self) -> None:
        if self.changed:
            raise UpdateNeeded()
        self.assert_no_subcomponent_changes()

    # -- doing things (verify/update only) ----------------------------------------------------

    def cmd(
        self,
        cmd: str,
        silent: bool = False,
        ignore_returncode: bool = False,
        communicate: bool = True,
        env: dict[str, str] | None = None,
        expand: bool = True,
    ) -> Any:
        if expand:
            cmd = self.expand(cmd)
        return run_command(cmd, silent, ignore_returncode, communicate, env)

    def touch(self, filename: str) -> None:
        if os.path.exists(filename):
            os.utime(filename, None)
        else:
            open(filename, "w").close()

    def chdir(self, path: str) -> contextlib.AbstractContextManager[None]:
        return working_directory(path)

    # -- paths and templates ------------------------------------------------------------------

    def map(self, path: str) -> str:
        if path.startswith("~"):
            path = os.path.expanduser(path)
        if not path.startswith("/"):
            return os.path.normpath(os.path.join(self.workdir, path))
        mapped: str = self.environment.map(path)
        return mapped

    def _template_args(self, component: Any = None, **kw: Any) -> dict[str, Any]:
        component = self if component is None else component
        args = {
            "host": component.host,
            "environment": component.environment,
            "component": component,
            "batou_generated_header": generated_header(component),
        }
        args.update(kw)
        return args

    def expand(self, string: str, component: Any = None, **kw: Any) -> str:
        if "{" not in string and "@@" not in string and "\r" not in string:
            return string  # plain text: skip building the context (hot in configure)
        identifier = (component or self)._breadcrumbs
        return expand_template(string, self._template_args(component, **kw), identifier)

    def template(self, filename: str, component: Any = None) -> str:
        return render_template_file(filename, self._template_args(component))

    # -- misc -----------------------------------------------------------------------------------

    def log(self, message: str, *args: Any) -> None:
        self.root.log(message, *args)

    def checksum(self, value: bytes | None = None) -> str:
        digest = self.__dict__.get("_checksum")
        if digest is None:
            import hashlib

            digest = self.__dict__["_checksum"] = hashlib.new("sha256")
        if value is not None:
            digest.update(value)
        return digest.hexdigest()


__all__ = ["AmbiguousResource", "ComponentHelpers", "calling_site", "working_directory"]
