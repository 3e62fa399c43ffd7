"""deployd's host daemon and command line: one subpackage per stage of the flow.

``docs/architecture.md`` draws the flow and the import contract between the subpackages.
Each subpackage's ``__init__`` names its public API; code outside it imports only those names.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, init_file: str) -> Callable[[str], object]:
    """A module ``__getattr__`` that imports each public name from its module on first use.

    The package's ``if TYPE_CHECKING:`` imports are its export table: written once, seen by type
    checkers and by the import contract, and read here from the package's source on the first
    miss. Importing a package therefore costs nothing, so ``deployd status`` never loads GitPython
    or the worker code just because it uses a name of a package that also holds them."""
    table: dict[str, tuple[str, str]] = {}

    def load_table() -> None:
        with open(init_file, encoding="utf-8") as source:
            tree = ast.parse(source.read(), init_file)
        for node in tree.body:
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                for statement in node.body:
                    if isinstance(statement, ast.ImportFrom) and statement.module:
                        for alias in statement.names:
                            table[alias.asname or alias.name] = (statement.module, alias.name)

    def __getattr__(name: str) -> object:
        if not table:
            load_table()
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = table[name]
        value = getattr(importlib.import_module(module), attribute)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    return __getattr__
