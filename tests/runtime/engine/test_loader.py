"""Loading components/*/component.py, and the batou import names."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from components_runtime.engine.loader import load_components
from components_runtime.worker import aliases
from tests.support.helpers import write_tree

HEADER = "from batou.component import Component\n"


def load(tmp_path: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    aliases.install()
    write_tree(tmp_path, {f"components/{d}/component.py": HEADER + s for d, s in files.items()})
    return load_components(tmp_path)


def test_every_component_class_in_the_namespace_is_a_component(tmp_path: Path) -> None:
    result = load(tmp_path, {
        "ld_web": "from batou.lib.file import File\nclass Web(Component): pass\n"
                  "class HelperSub(Component): pass\n",
    })  # fmt: skip
    assert result.errors == ()
    assert sorted(result.definitions) == ["file", "helpersub", "web"]
    web = result.definitions["web"]
    assert web.defdir == str(tmp_path / "components" / "ld_web")
    assert web.factory.__module__ == "ld_web"
    assert result.definitions["file"].defdir == web.defdir  # imported: defdir of the importer


def test_batou_c_modules_are_registered_before_running_in_sorted_order(tmp_path: Path) -> None:
    result = load(tmp_path, {
        "ld_b": "import batou.c\nclass B(Component):\n    base = batou.c.ld_a.A\n",
        "ld_a": "class A(Component): pass\n",
    })  # fmt: skip
    assert result.errors == ()
    import batou.c

    assert result.definitions["b"].factory.base is batou.c.ld_a.A
    assert sys.modules["batou.c.ld_b"].B is result.definitions["b"].factory


def test_same_class_imported_twice_is_fine_but_two_classes_clash(tmp_path: Path) -> None:
    result = load(tmp_path, {
        "ld_one": "class Twin(Component): pass\n",
        "ld_two": "class Twin(Component): pass\nfrom batou.lib.file import File\n",
        "ld_three": "from batou.lib.file import File\n",
    })  # fmt: skip
    [error] = result.errors
    assert error.message.startswith("Component 'twin' is defined in two files:")
    assert "components/ld_one/component.py" in error.message
    assert error.file == "components/ld_two/component.py"
    assert result.definitions["twin"].factory.__module__ == "ld_one"
    assert "file" in result.definitions


def test_load_errors_name_the_users_file_and_line_and_loading_goes_on(tmp_path: Path) -> None:
    result = load(tmp_path, {
        "ld_syntax": "class S(Component)\n    pass\n",
        "ld_import": "\n\nimport no_such_module_here\n",
        "ld_raise": "def f():\n    raise ValueError('no')\nf()\n",
        "ld_fine": "class Fine(Component): pass\n",
        "ld_dupe": "class Same(Component): pass\nclass SAME(Component): pass\n",
    })  # fmt: skip
    found = {e.file: (e.line, e.message) for e in result.errors}
    assert found["components/ld_syntax/component.py"][0] == 2
    assert found["components/ld_import/component.py"] == (
        4, "Failed loading component file: ModuleNotFoundError: No module named "
        "'no_such_module_here'")  # fmt: skip
    assert found["components/ld_raise/component.py"][0] == 3  # the deepest user frame
    assert "Duplicate component 'same'" in found["components/ld_dupe/component.py"][1]
    assert list(result.definitions) == ["fine"]


def test_a_component_file_that_cannot_be_read_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "components" / "ld_dir" / "component.py").mkdir(parents=True)
    result = load(tmp_path, {"ld_ok": "class Ok(Component): pass\n"})
    [error] = result.errors
    assert (error.file, error.message) == (
        "components/ld_dir/component.py",
        "Cannot read the component file: Is a directory",
    )
    assert list(result.definitions) == ["ok"]


def test_an_error_in_a_helper_module_of_the_repository_shows_the_way_there(
    tmp_path: Path,
) -> None:
    write_tree(tmp_path, {"components/ld_lib/shared.py": "def setup():\n    return {}['port']\n"})
    result = load(tmp_path, {
        "ld_user": "import os, sys\nsys.path.insert(0, os.path.dirname(__file__) + '/../ld_lib')\n"
                   "import shared\nshared.setup()\n",
    })  # fmt: skip
    (error,) = result.errors
    assert (error.file, error.line) == ("components/ld_user/component.py", 5)
    assert error.details == ("components/ld_user/component.py:5", "components/ld_lib/shared.py:2")


def test_aliases_win_over_a_real_batou_distribution(tmp_path: Path) -> None:
    """A real `batou` on sys.path (as batou_ext would pull in) must not be used."""
    write_tree(tmp_path, {
        "site/batou/__init__.py": "raise RuntimeError('the real batou was imported')\n",
        "site/batou/component.py": "raise RuntimeError('the real batou was imported')\n",
    })  # fmt: skip
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path / "site")!r})
        from components_runtime.worker import aliases
        aliases.install()
        import batou, batou.component, batou.lib.file, batou.utils
        from batou.component import Component
        from components_runtime.model.component import Component as Ours
        assert Component is Ours, Component
        assert batou.component.__name__ == "components_runtime.batou.component"
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout == "ok\n", done.stderr


BATOU_NAMES = {
    "batou": "UpdateNeeded ConfigurationError ReportingException SilentConfigurationError "
    "ComponentUsageError IPAddressConfigurationError TemplatingError output",
    "batou.component": "Component Attribute ConfigString RootComponent HookComponent platform "
    "handle_event",
    "batou.utils": "Address NetLoc CmdExecutionError cmd hash Timer resolve resolve_v6 dict_merge",
    "batou.output": "annotate error line warn tabular step",
    "batou._output": "Output TerminalBackend",
    "batou.environment": "Environment",
    "batou.host": "Host",
    "batou.lib.file": "File Presence Directory Purge Mode Symlink Content JSONContent",
}


def test_the_batou_names_component_code_uses_exist() -> None:
    import importlib

    aliases.install()
    missing = [
        f"{module}.{name}"
        for module, names in BATOU_NAMES.items()
        for name in names.split()
        if not hasattr(importlib.import_module(module), name)
    ]
    assert missing == []
    import batou

    error = batou.ConfigurationError.from_context("bad")
    assert error.message == "bad"


def test_a_batou_module_deployd_lacks_gets_a_clear_hint(tmp_path: Path) -> None:
    result = load(tmp_path, {"ld_nagios": "from batou.lib.nosuchmodule import Thing\n"})
    [error] = result.errors
    assert "No module named 'batou.lib.nosuchmodule'" in error.message
    assert error.hint is not None and "not batou.lib.nosuchmodule" in error.hint
