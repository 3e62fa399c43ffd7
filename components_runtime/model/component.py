"""``Component`` and ``RootComponent``: the lifecycle (construction, prepare, ``+=``, deploy).

The helpers component code calls (``cmd``, ``expand``, ``assert_*``, ``provide``...) live in
:mod:`~.component_helpers`; events in :mod:`~components_runtime.model.events`;
platform components in :mod:`~components_runtime.model.platforms`. The deploy walk itself (verify,
update, events, predict) is :func:`components_runtime.engine.converge.deploy_component`.

Construction follows batou: the first positional argument goes to the attribute named by
``namevar``; every keyword must name an existing, non-callable class attribute and is written
into the instance unconverted. ``prepare(parent)`` inherits the parent's workdir, applies
``[component:X]`` overrides (roots only), runs ``configure()`` in ``defdir`` and appends the
platform component last.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any, Self

from components_runtime.errors import OverrideError
from components_runtime.model import events, platforms
from components_runtime.model.attribute import Attribute, settle_attributes
from components_runtime.model.component_helpers import (
    ComponentHelpers,
    calling_site,
    working_directory,
)

#: Instances created while a root is being configured (for the "created but never added"
#: warning). ``None`` outside configure: nothing is tracked, nothing leaks.
TRACKED_INSTANCES: contextvars.ContextVar[list[Component] | None] = contextvars.ContextVar(
    "tracked_instances", default=None
)

_MISSING: Any = object()


def _close_attributes(cls: type, words: list[str]) -> str:
    """``; did you mean: port instead of prot?`` for misspelled attribute names, or ``""``."""
    import difflib

    known = [
        name
        for name in dir(cls)
        if not name.startswith("_") and not callable(getattr(cls, name, None))
    ]
    # The class's own attributes first: `prot` means `port`, not Component's `root`.
    own = [name for name in known if not hasattr(Component, name)]
    guesses = [
        f"{close[0]} instead of {wrong}"
        for wrong in words
        if (close := difflib.get_close_matches(wrong, own, n=1))
        or (close := difflib.get_close_matches(wrong, known, n=1))
    ]
    return f"; did you mean: {', '.join(guesses)}?" if guesses else ""


def _must_be_component(value: Any) -> None:
    if value is not None and not isinstance(value, Component):
        raise TypeError(
            f"only components can be added with += or |=, not {type(value).__name__} {value!r:.60}"
        )


def _keyword_hint(cls: type, unacceptable: list[str]) -> str:
    """What to write instead of a misspelled keyword (``File(..., contnet=...)``)."""
    hint = f"keyword arguments of {cls.__name__}(...) must be its attributes"
    return hint + _close_attributes(cls, unacceptable)


class Component(ComponentHelpers):
    """Base class of every component. Subclass it and implement configure/verify/update."""

    namevar: str | None = None
    workdir: str | None = None
    parent: Any = None
    _: Any = None
    changed = False
    _prepared = False
    _added_at: tuple[str, int] | None = None
    sub_components: list[Component]  # set by prepare()

    def __init__(self, namevar: Any = None, **kw: Any) -> None:
        tracked = TRACKED_INSTANCES.get()
        if tracked is not None:
            tracked.append(self)
        cls = type(self)
        unacceptable = sorted(
            key for key in kw if (attr := getattr(cls, key, _MISSING)) is _MISSING or callable(attr)
        )
        if unacceptable:
            error = ValueError(
                "The following arguments are unacceptable for this component because they "
                "are either undefined or would override methods: " + ", ".join(unacceptable)
            )
            error.deployd_hint = _keyword_hint(cls, unacceptable)  # type: ignore[attr-defined]
            raise error
        if self.namevar:
            if namevar is None:
                raise ValueError(f"Namevar {self.namevar} required")
            kw[self.namevar] = namevar
        elif namevar:
            raise ValueError("Namevar is undefined for this component.")
        self.__dict__.update(kw)

    def __repr__(self) -> str:
        try:
            host = self.host.name
        except Exception:  # not attached to a root yet
            host = "?"
        return f'<{type(self).__name__} ({host}) "{self._breadcrumbs_safe()}">'

    # -- where am I -------------------------------------------------------------------------

    @property
    def root(self) -> Any:
        current: Any = self
        while isinstance(current, Component):
            current = current.parent
        return current

    @property
    def defdir(self) -> str:
        defdir: str = self.root.defdir
        return defdir

    @property
    def host(self) -> Any:
        return self.root.host

    @property
    def environment(self) -> Any:
        return self.root.environment

    # -- configure phase ----------------------------------------------------------------------

    def prepare(self, parent: Any) -> None:
        self.parent = parent
        self.workdir = parent.workdir
        self.sub_components = []
        root = self.root
        if parent is root:
            self._overrides(root.overrides)
        # batou re-assigns constructor values of Attribute fields here; our Attribute keeps
        # its value in the instance dict already, so there is nothing to do.
        with working_directory(self.defdir):
            self.configure()
        self += platforms.platform_component_for(self)
        self._platform_component = self._
        self._event_handlers = events.collect_handlers(self)
        settle_attributes(self)
        self._prepared = True

    def _overrides(self, overrides: dict[str, Any]) -> None:
        """Apply ``[component:X]`` strings; every bad key is reported, not just the first."""
        missing: list[str] = []
        failed: list[OverrideError] = []
        cls = type(self)
        root = self.root
        for key, value in overrides.items():
            if not hasattr(cls, key):
                missing.append(key)
                continue
            attribute = getattr(cls, key, None)
            if isinstance(attribute, Attribute):
                try:
                    value = attribute.from_config_string(self, value)
                except OverrideError as error:
                    root.locate_override_error(error, key)
                    failed.append(error)
                    continue
            setattr(self, key, value)
        if missing:
            failed.append(self._missing_overrides(sorted(missing)))
        if failed:
            first = failed[0]
            first.also = failed[1:]  # type: ignore[attr-defined]
            raise first

    def _missing_overrides(self, missing: list[str]) -> OverrideError:
        error = OverrideError(
            f"Overrides for undefined attributes: {', '.join(missing)}",
            component=self.root.name,
            hint=f"{type(self).__name__} has no attribute(s) of that name: remove the "
            "override or declare an Attribute" + _close_attributes(type(self), missing),
            details=(f"Attributes: {', '.join(missing)}",),
        )
        error.sort_rank = 3
        self.root.locate_override_error(error, missing[0])
        return error

    def configure(self) -> None:
        """Compute the target state and add sub-components. Override me."""

    # -- deploy phase -------------------------------------------------------------------------

    def deploy(self, predict_only: bool = False) -> None:
        from components_runtime.engine import deploy_component

        deploy_component(self, predict_only)

    def verify(self) -> None:
        """Raise an AssertionError (e.g. UpdateNeeded) when update() must run."""

    def update(self) -> None:
        """Bring the system into the target state."""

    def last_updated(self, **kw: Any) -> Any:
        raise NotImplementedError

    def __enter__(self) -> None:
        """Entered around this component's own verify()/update()."""

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Left after verify()/update(), also when they raised."""

    # -- sub-components -----------------------------------------------------------------------

    def __add__(self, component: Component | None) -> Self:
        _must_be_component(component)
        if component is not None:
            # Where the user added it: a failure inside the library (File's verify) points here.
            component._added_at = calling_site()
            self.sub_components.append(component)
            self |= component
            component.parent = self
        return self

    def __or__(self, component: Component | None) -> Self:
        _must_be_component(component)
        if component is not None and not component._prepared:
            component.prepare(self)
        self._ = component
        return self

    @property
    def recursive_sub_components(self) -> Iterator[Component]:
        for sub in self.sub_components:
            yield sub
            yield from sub.recursive_sub_components

    @classmethod
    def _add_platform(cls, name: str, component: type) -> None:
        platforms.add_platform(cls, name, component)

    def _get_platform(self) -> Component | None:
        found: Component | None = platforms.platform_component_for(self)
        return found

    # -- breadcrumbs --------------------------------------------------------------------------

    @property
    def namevar_for_breadcrumb(self) -> Any:
        if self.namevar is None:
            return None
        return getattr(self, self.namevar, None)

    @property
    def _breadcrumb(self) -> str:
        name = self.namevar_for_breadcrumb
        return type(self).__name__ + (f"({name!r})" if name else "")

    @property
    def _breadcrumbs(self) -> str:
        prefix = ""
        if self.parent is not self.root:
            prefix = self.parent._breadcrumbs + " > "
        return prefix + self._breadcrumb

    def _breadcrumbs_safe(self) -> str:
        """Breadcrumbs that never raise (for messages about half-built components)."""
        try:
            return self._breadcrumbs
        except Exception:
            return type(self).__name__

    def _root_name(self) -> str | None:
        return getattr(self.root, "name", None)


class HookComponent(Component):
    """A component that provides itself under ``key`` (cron jobs, logrotate entries...)."""

    key: Any = None

    def configure(self) -> None:
        self.provide(self.key, self)


# RootComponent lives in its own module; re-exported here because batou has it here.
from components_runtime.model.roots import RootComponent  # noqa: E402

__all__ = ["TRACKED_INSTANCES", "Component", "HookComponent", "RootComponent"]
