"""``Attribute`` and ``ConfigString``: overridable component settings (batou's semantics).

An ``Attribute`` is a data descriptor declared on a component class. Values that come from
configuration (``[component:X]`` overrides and ``ConfigString`` defaults) are strings and go
through three steps, in this order: Jinja expansion in the component's context, VFS mapping,
conversion. Values set in Python (constructor keywords, assignments in ``configure()``) are
stored as given, never converted. A plain (non-``ConfigString``) default is returned as is.

The value lives in the instance ``__dict__`` under the attribute's name; the descriptor wins
over the instance dict because it is a data descriptor, so constructor keywords written
straight into ``__dict__`` count as "set" exactly as in batou.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from components_runtime.errors import OverrideError, describe, message_of


class ConfigString(str):
    """A default that is treated as if it had been read from a config file."""


NO_DEFAULT: Any = object()


def convert_literal(value: str) -> Any:
    return ast.literal_eval(value)


def convert_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


NAMED_CONVERSIONS: dict[str, Callable[[str], Any]] = {
    "literal": convert_literal,
    "list": convert_list,
}


def _describe(obj: Any) -> str:
    breadcrumbs = getattr(obj, "_breadcrumbs_safe", None)
    return breadcrumbs() if callable(breadcrumbs) else type(obj).__name__


def _root_name(obj: Any) -> str | None:
    root_name = getattr(obj, "_root_name", None)
    return root_name() if callable(root_name) else None


class Attribute:
    """Declare an overridable setting with a conversion and an optional default."""

    def __init__(
        self,
        conversion: Callable[[Any], Any] | str = str,
        default: Any = NO_DEFAULT,
        expand: bool = True,
        map: bool = False,
    ) -> None:
        if isinstance(conversion, str):
            if conversion not in NAMED_CONVERSIONS:
                # batou raises AttributeError for unknown conversion names, too.
                raise AttributeError(
                    f"unknown conversion {conversion!r}: use a callable, 'literal' or 'list'"
                )
            conversion = NAMED_CONVERSIONS[conversion]
        self.conversion = conversion
        self.default = default
        self.expand = expand
        self.map = map
        self.name: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        if self.name is None:
            self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        key = self.name or ""
        try:
            return obj.__dict__[key]
        except KeyError:
            pass
        if isinstance(self.default, ConfigString):
            value = self.from_config_string(obj, self.default)
        elif self.default is NO_DEFAULT:
            raise AttributeError(
                f"No override and no default given for `{self.name}` on "
                f"{type(obj).__name__} instance {_describe(obj)}."
            )
        else:
            value = self.default
        obj.__dict__[key] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name or ""] = value

    def from_config_string(self, obj: Any, value: str) -> Any:
        """Expand, then map, then convert a configuration string for ``obj``."""
        if self.expand:
            try:
                value = obj.expand(value)
            except Exception as error:
                raise self._error(
                    obj, f"cannot expand {value!r}: {message_of(error)}", "expansion", error
                ) from error
        if self.map:
            value = obj.map(value)
        try:
            return self.conversion(value)
        except Exception as error:
            conversion = getattr(self.conversion, "__name__", repr(self.conversion))
            raise self._error(
                obj,
                f"cannot convert {value!r} with {conversion}(): {describe(error)}",
                "conversion",
                error,
            ) from error

    def _error(self, obj: Any, message: str, step: str, cause: Exception) -> OverrideError:
        error = OverrideError(
            f"Attribute `{self.name}` of {type(obj).__name__}: {message}",
            component=_root_name(obj),
            hint=f"fix the value of `{self.name}` in [component:...] or the ConfigString default",
            details=(f"Attribute: {_describe(obj)}.{self.name}", f"Step: {step}"),
        )
        error.kind_detail = step  # type: ignore[attr-defined]
        return error


_ATTRIBUTE_NAMES: dict[type, tuple[str, ...]] = {}


def attribute_names(cls: type) -> tuple[str, ...]:
    """The names of the ``Attribute`` descriptors of ``cls`` (computed once per class)."""
    names = _ATTRIBUTE_NAMES.get(cls)
    if names is None:
        found: dict[str, None] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Attribute):
                    found[name] = None
                else:
                    found.pop(name, None)  # overridden by a plain value
        names = _ATTRIBUTE_NAMES[cls] = tuple(found)
    return names


def settle_attributes(component: Any) -> None:
    """Read every Attribute once, at the end of prepare(), as batou does (its event-handler
    scan reads every attribute): ``ConfigString`` defaults are then expanded, mapped and
    converted in the state right after configure, not whenever first read. Failures stay
    silent here, as in batou; they surface where the value is used."""
    for name in attribute_names(type(component)):
        try:
            getattr(component, name)
        except Exception:
            pass


__all__ = [
    "NO_DEFAULT",
    "Attribute",
    "ConfigString",
    "attribute_names",
    "convert_list",
    "convert_literal",
    "settle_attributes",
]
