"""Load ``components/*/component.py`` the way batou does, and report every problem at once.

Files load in sorted (byte) order of their directory. Each runs in a fresh module named after
its directory, registered as ``batou.c.<dir>`` *before* it runs (so a later file can import an
earlier one's module, and the registration persists when the file fails). The source is
compiled with its real path, so tracebacks and ``inspect`` point at the user's file.

Every ``Component`` subclass in a file's namespace becomes a component named by its lower-cased
class name, imported classes included (``from batou.lib.file import File`` makes ``file``
assignable), with ``defdir`` = that file's directory.

Differences from batou (on purpose): two *different* classes with the same name in two files
are an error naming both files (batou silently keeps the later one); the same class imported
by several files is fine (the later file's directory wins, as in batou).
"""

from __future__ import annotations

import ast
import importlib.machinery
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components_runtime.errors import LoadError, message_of
from components_runtime.model import Component
from components_runtime.support import (
    frame_in_file,
    import_chain,
    missing_batou_module_hint,
    relative,
)


@dataclass(frozen=True)
class ComponentDefinition:
    name: str
    factory: type
    filename: str  # absolute path of the component.py that defines or imports it
    defdir: str

    @property
    def defined_here(self) -> bool:
        return getattr(self.factory, "__module__", None) == Path(self.defdir).name


@dataclass(frozen=True)
class LoadResult:
    definitions: dict[str, ComponentDefinition]
    errors: tuple[LoadError, ...]
    # lower-cased name -> (file, "defines"/"imports", the name as written): the classes a file
    # that failed to load names at its top level, so "no such component" can say why
    unloaded: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def top_level_names(source: bytes) -> list[tuple[str, str]]:
    """(name, "defines" or "imports") for each name a module's top level binds by ``class``,
    ``import`` or ``from ... import`` (what would have become components had it loaded); none
    when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names: list[tuple[str, str]] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.append((node.name, "defines"))
        elif isinstance(node, ast.ImportFrom):
            names.extend(
                (alias.asname or alias.name, "imports") for alias in node.names if alias.name != "*"
            )
        elif isinstance(node, ast.Import):
            names.extend(
                (alias.asname or alias.name.split(".")[0], "imports") for alias in node.names
            )
    return names


def component_files(base_dir: Path) -> list[Path]:
    return sorted((base_dir / "components").glob("*/component.py"), key=lambda p: str(p))


def _batou_c() -> types.ModuleType:
    from components_runtime.batou import c

    return c


def _execute(path: Path, base_dir: Path) -> tuple[dict[str, Any] | None, LoadError | None]:
    """Run one file in its ``batou.c.<dir>`` module: (namespace, None) or (None, error)."""
    name = path.parent.name
    module = types.ModuleType(name, f"Component definition module for {path}")
    module.__file__ = str(path)
    sys.modules[f"batou.c.{name}"] = module
    setattr(_batou_c(), name, module)
    rel = relative(path, base_dir)
    try:
        code = _compiled(path, name)
    except OSError as error:  # a directory called component.py, a file we may not read
        return None, LoadError(
            f"Cannot read the component file: {error.strerror or error}",
            file=rel,
            hint="components/<name>/component.py must be a readable Python file",
        )
    except SyntaxError as error:
        return None, LoadError(
            f"Syntax error: {error.msg}",
            file=rel,
            line=error.lineno,
            hint="fix the Python syntax of this component file",
            details=tuple(line for line in [(error.text or "").rstrip()] if line),
        )
    try:
        exec(code, module.__dict__)
    except Exception as error:
        line = frame_in_file(error.__traceback__, str(path))
        # Raised in a helper module of the repository or in an installed package (batou_ext):
        # show the way there, not just the user's import, and name the deepest place.
        chain = import_chain(error.__traceback__, base_dir)
        inner = f"{chain[-1]}: " if len(chain) > 1 and not chain[-1].startswith(rel + ":") else ""
        return None, LoadError(
            f"Failed loading component file: {type(error).__name__}: {inner}{_describe(error)}",
            file=rel,
            line=line,
            hint=_import_hint(error),
            details=tuple(chain) if len(chain) > 1 else (),
        )
    return module.__dict__, None


def _compiled(path: Path, name: str) -> types.CodeType:
    """The file's code, compiled with its real path, through Python's byte-code cache (as
    batou's import of the file uses one): a repository of 1,000 component files then compiles
    each only when it changed. Raises OSError and SyntaxError."""
    loader = importlib.machinery.SourceFileLoader(f"batou.c.{name}", str(path))
    # The cache lives in the venv the worker runs in (deployd's own, content-addressed), never
    # in the repository: `deployd check` must leave a checkout as it found it.
    in_venv = sys.prefix != sys.base_prefix
    saved = sys.pycache_prefix, sys.dont_write_bytecode
    sys.pycache_prefix = os.path.join(sys.prefix, "deployd-pycache") if in_venv else None
    sys.dont_write_bytecode = saved[1] or not in_venv
    try:
        code = loader.get_code(loader.name)
    finally:
        sys.pycache_prefix, sys.dont_write_bytecode = saved
    if code is None:  # only for a loader without source; never for a .py file
        raise OSError(f"no code in {path}")
    return code


_SERVED_DOC = "docs/component-model.md#batou-modules"
_MISSING_NAME = re.compile(r"cannot import name '([^']+)'")


def _batou_module(error: ImportError) -> str | None:
    """The batou module an import failed in (``batou.utils``), or None for other modules.

    ``from batou.utils import nosuch`` fails inside the runtime module the alias points at, so
    the error names ``components_runtime.batou.utils``: report it under the user's name."""
    name = error.name or ""
    if name == "components_runtime.batou" or name.startswith("components_runtime.batou."):
        name = name[len("components_runtime.") :]
    return name if name == "batou" or name.startswith("batou.") else None


def _describe(error: Exception) -> str:
    """The error's text, with deployd's internal module paths replaced by the batou name."""
    if isinstance(error, ImportError) and not isinstance(error, ModuleNotFoundError):
        module, missing = _batou_module(error), _MISSING_NAME.search(str(error))
        if module and missing:
            return f"cannot import name {missing.group(1)!r} from {module!r}"
    return message_of(error)


def _import_hint(error: Exception) -> str | None:
    if not isinstance(error, ImportError):
        return None
    module = _batou_module(error)
    if module is None:
        return "is the package listed in the repository's requirements.txt?"
    missing = _MISSING_NAME.search(str(error))
    if isinstance(error, ModuleNotFoundError):
        pinned = missing_batou_module_hint(module)
        if pinned is not None:  # batou.lib.X comes from the batou the repository pins
            return f"{pinned}; see {_SERVED_DOC}"
    if missing and not isinstance(error, ModuleNotFoundError):
        return (
            f"deployd's {module} has no {missing.group(1)}: deployd serves batou's component "
            f"API, not every batou internal; see {_SERVED_DOC} for what it serves and what to "
            "do instead"
        )
    return (
        f"deployd provides batou's component API, but not {module}; see {_SERVED_DOC} for "
        "the batou modules it serves and what to do instead"
    )


def _definitions(
    namespace: dict[str, Any], path: Path
) -> tuple[dict[str, ComponentDefinition], LoadError | None]:
    found: dict[str, ComponentDefinition] = {}
    for value in list(namespace.values()):
        if not isinstance(value, type) or value is Component or not issubclass(value, Component):
            continue
        name = value.__name__.lower()
        if name in found and found[name].factory is not value:
            return {}, LoadError(
                f"Duplicate component {name!r}: classes {found[name].factory.__name__} and "
                f"{value.__name__} have the same lower-cased name",
                file=str(path),
                hint="rename one of the classes",
            )
        found[name] = ComponentDefinition(name, value, str(path), str(path.parent))
    return found, None


def load_components(base_dir: Path) -> LoadResult:
    """Load every component file under ``base_dir``; errors are collected, not raised."""
    definitions: dict[str, ComponentDefinition] = {}
    errors: list[LoadError] = []
    unloaded: dict[str, tuple[str, str, str]] = {}
    for path in component_files(base_dir):
        namespace, error = _execute(path, base_dir)
        if error is None and namespace is not None:
            found, error = _definitions(namespace, path)
        if error is not None:
            error.file = relative(Path(error.file or path), base_dir)
            errors.append(error)
            for name, how in top_level_names(_source(path)):
                unloaded.setdefault(name.lower(), (error.file, how, name))
            continue
        for name, definition in found.items():
            earlier = definitions.get(name)
            if earlier is not None and earlier.factory is not definition.factory:
                errors.append(_conflict(earlier, definition, base_dir))
                continue
            definitions[name] = definition
    return LoadResult(definitions, tuple(errors), unloaded)


def _source(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _conflict(
    earlier: ComponentDefinition, later: ComponentDefinition, base_dir: Path
) -> LoadError:
    first = relative(Path(earlier.filename), base_dir)
    second = relative(Path(later.filename), base_dir)
    return LoadError(
        f"Component {later.name!r} is defined in two files: {first} "
        f"({earlier.factory.__module__}.{earlier.factory.__qualname__}) and {second} "
        f"({later.factory.__module__}.{later.factory.__qualname__})",
        file=second,
        component=later.name,
        hint="rename one of the classes (batou would silently use the later file's class)",
        details=(f"first: {first}", f"second: {second}"),
    )


__all__ = ["ComponentDefinition", "LoadResult", "component_files", "load_components"]
