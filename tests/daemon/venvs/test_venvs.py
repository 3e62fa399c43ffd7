"""Real venvs and a real pip, offline: wheels are built here and served from a wheelhouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.venvs.cache import READY, collect_garbage, ensure_venv, venv_key, wheelhouses
from daemon.venvs.requirements import RequirementsError, read_requirements
from daemon.venvs.runtime_overlay import OVERLAY
from tests.support.helpers import write_tree
from tests.support.paths import REPO_ROOT
from tests.support.venv_helpers import build_wheels, fake_pip, flat_project, project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("projects")
    house = tmp_path_factory.mktemp("wheelhouse")
    projects = [
        project(
            src / "greeting1",
            "greeting",
            "1.0",
            {"greeting.py": "def hello():\n    return 'hello from greeting 1.0'\n"},
        ),
        project(
            src / "greeting2",
            "greeting",
            "2.0",
            {"greeting.py": "def hello():\n    return 'hello from greeting 2.0'\n"},
        ),
        # like batou_ext: depends on batou, which the runtime provides
        project(
            src / "extlike",
            "extlike",
            "1.0",
            {"extlike.py": "VALUE = 1\n"},
            dependencies=("batou>=2.4",),
        ),
        # a real "batou" distribution, pulled in by a dependency that wants a newer one
        project(
            src / "shadow",
            "batou",
            "9.9",
            {"batou/__init__.py": "SHADOW = True\n", "batou/component.py": "SHADOW = True\n"},
        ),
        project(
            src / "needsnew",
            "needsnewbatou",
            "1.0",
            {"needsnewbatou.py": ""},
            dependencies=("batou>=9",),
        ),
        # batou as the repository pins it: the worker loads batou.lib modules from it
        project(
            src / "pinned",
            "batou",
            "2.7.1",
            {
                "batou/__init__.py": "raise RuntimeError('batou.__init__ must not run')\n",
                "batou/lib/__init__.py": "",
                "batou/lib/demo.py": (
                    "from batou.component import Component\n\n"
                    "class Demo(Component):\n    namevar = 'what'\n"
                ),
            },
        ),
        # its dependency is in no wheelhouse: installable only with --no-deps (a lock)
        project(
            src / "needsmissing",
            "needsmissing",
            "1.0",
            {"needsmissing.py": "VALUE = 'locked'\n"},
            dependencies=("missingdep",),
        ),
    ]
    build_wheels(projects, house)
    return house


@pytest.fixture(scope="module")
def fake_pip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_pip(tmp_path_factory.mktemp("fakepip"))


def repo_with(path: Path, requirements: str | None, **files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if requirements is not None:
        (path / "requirements.txt").write_text(requirements)
    write_tree(path, files)
    return path


def venv_python(python: Path, code: str) -> str:
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def ensure_without_pip(
    fake: Path, marker: Path, checkout: Path, venvs: Path, wheelhouse: Path | None = None
) -> dict[str, object]:
    """ensure_venv in a child whose every pip run lands in ``marker`` (and fails)."""
    code = (
        "import json, sys; from pathlib import Path; from daemon.venvs.cache import ensure_venv\n"
        "r = ensure_venv(Path(sys.argv[1]), Path(sys.argv[2]), no_index=True,"
        " wheelhouse=Path(sys.argv[3]) if sys.argv[3] else None)\n"
        "print(json.dumps({'outcome': r.outcome, 'key': r.key}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(fake), "FAKE_PIP_MARKER": str(marker)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(checkout), str(venvs), str(wheelhouse or "")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout)


def test_installs_from_wheelhouse_and_reuses_with_zero_pip_runs(
    tmp_path: Path, wheelhouse: Path, fake_pip_path: Path
) -> None:
    checkout = repo_with(tmp_path / "repo", "greeting==1.0\n")
    venvs = tmp_path / "venvs"
    built = ensure_venv(checkout, venvs, wheelhouse=wheelhouse, no_index=True, timeout=120)
    assert built.outcome == "built", built.error
    assert built.python is not None and built.path == venvs / built.key
    assert venv_python(built.python, "import greeting; print(greeting.hello())") == (
        "hello from greeting 1.0"
    )
    assert venv_python(built.python, "import sys; print(sys.prefix)") == str(venvs / built.key)

    marker = tmp_path / "pip-ran"
    again = ensure_without_pip(fake_pip_path, marker, checkout, venvs, wheelhouse)
    assert again == {"outcome": "reused", "key": built.key}
    assert not marker.exists()
    # the same child with a changed input does reach pip: the marker would catch a pip run
    (checkout / "requirements.txt").write_text("greeting==2.0\n")
    changed = ensure_without_pip(fake_pip_path, marker, checkout, venvs, wheelhouse)
    assert changed["outcome"] == "failed"
    assert "--python" in marker.read_text()


def test_repository_without_requirements_gets_an_empty_venv_without_pip(
    tmp_path: Path, fake_pip_path: Path
) -> None:
    checkout = repo_with(tmp_path / "repo", None)
    marker = tmp_path / "pip-ran"
    first = ensure_without_pip(fake_pip_path, marker, checkout, tmp_path / "venvs")
    second = ensure_without_pip(fake_pip_path, marker, checkout, tmp_path / "venvs")
    assert (first["outcome"], second["outcome"]) == ("built", "reused")
    assert not marker.exists()
    python = tmp_path / "venvs" / str(first["key"]) / "bin" / "python"
    assert venv_python(python, "import components_runtime.worker, jinja2, yaml, remote_pdb") == ""


def test_a_venv_whose_runtime_link_was_deleted_is_built_again(
    tmp_path: Path, fake_pip_path: Path
) -> None:
    checkout = repo_with(tmp_path / "repo", None)
    marker = tmp_path / "pip-ran"
    first = ensure_without_pip(fake_pip_path, marker, checkout, tmp_path / "venvs")
    venv = tmp_path / "venvs" / str(first["key"])
    (venv / OVERLAY / "components_runtime").unlink()  # deleted by hand
    again = ensure_without_pip(fake_pip_path, marker, checkout, tmp_path / "venvs")
    assert again["outcome"] == "built", "not reused with its runtime missing"
    assert venv_python(venv / "bin" / "python", "import components_runtime.worker") == ""


BATOU_FILES = (
    "import importlib.metadata as m, importlib.util as u\n"
    "print(m.version('batou'), m.distribution('batou').read_text('METADATA').count('deployd'),"
    " u.find_spec('batou') is not None)"
)
SERVED = (
    "from components_runtime.worker import aliases; aliases.install()\n"
    "from batou.lib.demo import Demo\n"
    "from components_runtime.model import Component\n"
    "print(issubclass(Demo, Component), Demo.__module__, Demo('x').what)"
)


def test_a_batou_pin_installs_batou_for_its_library_modules(
    tmp_path: Path, wheelhouse: Path
) -> None:
    pinned = repo_with(tmp_path / "pinned", "batou==2.7.1\n")
    result = ensure_venv(pinned, tmp_path / "venvs", wheelhouse=wheelhouse, no_index=True)
    assert result.outcome == "built" and result.python, result.error
    assert result.notices == ()
    # the real distribution, not the stub; its batou.lib.demo runs on the runtime's Component
    assert venv_python(result.python, BATOU_FILES) == "2.7.1 0 True"
    assert venv_python(result.python, SERVED) == "True batou.lib.demo x"


def test_without_a_batou_pin_a_dependency_on_batou_is_met_by_the_stub(
    tmp_path: Path, wheelhouse: Path
) -> None:
    unpinned = repo_with(tmp_path / "unpinned", "extlike\n")
    result = ensure_venv(unpinned, tmp_path / "venvs", wheelhouse=wheelhouse, no_index=True)
    assert result.outcome == "built" and result.python, result.error
    assert venv_python(result.python, BATOU_FILES) == "2.7.1 1 False"


def test_runtime_comes_after_user_packages_and_daemon_libraries_stay_out(tmp_path: Path) -> None:
    result = ensure_venv(repo_with(tmp_path / "repo", None), tmp_path / "venvs", timeout=60)
    assert result.python is not None and result.path is not None
    path = json.loads(venv_python(result.python, "import json, sys; print(json.dumps(sys.path))"))
    site = next(p for p in path if p.startswith(str(result.path)) and p.endswith("site-packages"))
    assert path.index(site) < path.index(str(result.path / OVERLAY))
    assert not any(
        p.endswith("site-packages") and not p.startswith(str(result.path)) for p in path
    )  # the daemon's own site-packages is not on the path
    import git  # noqa: F401  (the daemon has GitPython...)

    assert (
        venv_python(
            result.python,
            ("import importlib.util as u; print(u.find_spec('git'), u.find_spec('httpx'))"),
        )
        == "None None"
    )  # ...component code does not


def test_changed_inputs_build_a_new_venv_and_keep_the_old_one(
    tmp_path: Path, wheelhouse: Path
) -> None:
    checkout = repo_with(tmp_path / "repo", "greeting==1.0\n")
    venvs = tmp_path / "venvs"
    old = ensure_venv(checkout, venvs, wheelhouse=wheelhouse, no_index=True, timeout=120)
    ready_before = (venvs / old.key / READY).stat().st_mtime_ns
    (checkout / "requirements.txt").write_text("greeting==2.0\n")
    new = ensure_venv(
        checkout, venvs, wheelhouse=wheelhouse, no_index=True, timeout=120, keep={old.key}
    )
    assert new.outcome == "built" and new.key != old.key
    assert new.python and venv_python(new.python, "import greeting; print(greeting.hello())") == (
        "hello from greeting 2.0"
    )
    # the old venv (in use) is untouched and still works
    assert (venvs / old.key / READY).stat().st_mtime_ns == ready_before
    assert old.python and venv_python(old.python, "import greeting; print(greeting.hello())") == (
        "hello from greeting 1.0"
    )
    (venvs / "0123456789abcdef").mkdir()  # an unfinished build from a crash
    assert collect_garbage(venvs, keep={new.key}) == ("0123456789abcdef", old.key)
    assert sorted(p.name for p in venvs.iterdir() if not p.name.startswith(".")) == [new.key]


def test_failing_install_names_the_requirement_and_quotes_pip(
    tmp_path: Path, wheelhouse: Path
) -> None:
    checkout = repo_with(tmp_path / "repo", "greeting==1.0\nnosuchpackage==1.0\n")
    venvs = tmp_path / "venvs"
    result = ensure_venv(checkout, venvs, wheelhouse=wheelhouse, no_index=True, timeout=120)
    assert result.outcome == "failed" and result.python is None and result.error is not None
    assert result.error.kind == "VenvBuildError"
    assert "nosuchpackage==1.0" in result.error.message
    assert (result.error.file, result.error.line) == ("requirements.txt", 2)
    assert any(
        "No matching distribution found for nosuchpackage" in line for line in result.error.details
    )
    assert not (venvs / result.key).exists()  # nothing half-built stays under the key
    (checkout / "requirements.txt").write_text("greeting==1.0\n")  # fixed: the next run builds
    assert ensure_venv(checkout, venvs, wheelhouse=wheelhouse, no_index=True).outcome == "built"


def test_a_local_package_that_fails_to_build_is_named_as_the_repository_writes_it(
    tmp_path: Path,
) -> None:
    checkout = repo_with(
        tmp_path / "repo",
        "-e ./myext\n",
        **{
            "myext/pyproject.toml": (
                '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                'backend-path = ["."]\n[project]\nname = "myext"\nversion = "1"\n'
            ),
            "myext/backend.py": (
                "def build_editable(*args, **kwargs):\n"
                "    raise RuntimeError('the build of myext is broken')\n"
            ),
        },
    )
    result = ensure_venv(checkout, tmp_path / "venvs", no_index=True, timeout=120)
    assert result.error is not None
    assert result.error.message.startswith(
        "pip could not install ./myext (from requirements.txt): "
    ), result.error.message
    assert (result.error.file, result.error.line) == ("requirements.txt", 1)
    assert any("RuntimeError: the build of myext is broken" in x for x in result.error.details)


def test_conflicting_requirements_fail_with_pips_reason(tmp_path: Path, wheelhouse: Path) -> None:
    checkout = repo_with(tmp_path / "repo", "greeting==1.0\ngreeting==2.0\n")
    result = ensure_venv(
        checkout, tmp_path / "venvs", wheelhouse=wheelhouse, no_index=True, timeout=120
    )
    assert result.error is not None
    assert "greeting" in result.error.message and "conflicting" in result.error.message


def test_a_batou_dependency_is_satisfied_by_the_runtime(tmp_path: Path, wheelhouse: Path) -> None:
    checkout = repo_with(tmp_path / "repo", "extlike\n")
    result = ensure_venv(
        checkout, tmp_path / "venvs", wheelhouse=wheelhouse, no_index=True, timeout=120
    )
    assert result.outcome == "built", result.error
    assert (
        result.python
        and venv_python(
            result.python,
            "import extlike, importlib.util; print(importlib.util.find_spec('batou'))",
        )
        == "None"
    )  # no batou modules were installed: nothing can shadow the runtime's


def test_a_real_batou_in_the_venv_cannot_shadow_the_runtimes_names(
    tmp_path: Path, wheelhouse: Path
) -> None:
    checkout = repo_with(tmp_path / "repo", "needsnewbatou\n")
    result = ensure_venv(
        checkout, tmp_path / "venvs", wheelhouse=wheelhouse, no_index=True, timeout=120
    )
    assert result.outcome == "built", result.error
    assert result.python
    assert venv_python(result.python, "import batou; print(batou.SHADOW)") == "True"
    versions = (
        "import importlib.metadata as m\n"
        "print([d.version for d in m.distributions() if d.name == 'batou'])"
    )
    assert venv_python(result.python, versions) == "['9.9']"  # pip replaced the stub cleanly
    names = venv_python(
        result.python,
        (
            "from components_runtime.worker import aliases\n"
            "aliases.install()  # what the worker does before any user code\n"
            "import batou, batou.component\n"
            "print(batou.__name__, hasattr(batou, 'SHADOW'), hasattr(batou.component, 'SHADOW'))"
        ),
    )
    assert names == "components_runtime.batou False False"


def test_local_editable_package_resolves_against_the_checkout(tmp_path: Path) -> None:
    checkout = repo_with(tmp_path / "repo", "-e ./myext\n")
    project(
        checkout / "myext",
        "myext",
        "0.1",
        {
            "myext/__init__.py": "from myext.parts import Thing\n",
            "myext/parts.py": "class Thing:\n    size = 3\n",
        },
    )
    result = ensure_venv(checkout, tmp_path / "venvs", no_index=True, timeout=120)
    assert result.outcome == "built", result.error
    assert (
        result.python
        and venv_python(result.python, "from myext import Thing; print(Thing.size)") == "3"
    )
    # editable: a source change needs no rebuild, a build-file change does
    (checkout / "myext/src/myext/parts.py").write_text("class Thing:\n    size = 4\n")
    again = ensure_venv(checkout, tmp_path / "venvs", no_index=True, timeout=120)
    assert again.outcome == "reused"
    assert venv_python(result.python, "from myext import Thing; print(Thing.size)") == "4"
    pyproject = checkout / "myext/pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"0.1"', '"0.2"'))
    changed = venv_key(read_requirements(checkout), wheelhouses=(), no_index=True)
    assert again.key == result.key != changed


# -- reading requirement files (no pip) -------------------------------------------------------


def test_lock_is_used_without_deps_when_its_hash_matches(tmp_path: Path) -> None:
    import hashlib

    checkout = repo_with(tmp_path / "repo", "greeting\nbatou>=2.7\n")
    digest = hashlib.sha256((checkout / "requirements.txt").read_bytes()).hexdigest()
    (checkout / "requirements.lock").write_text(
        f"# appenv-requirements-hash: {digest}\nbatou==2.7.1\ngreeting==1.0\nexecnet==2.1.1\n"
    )
    locked = read_requirements(checkout)
    assert locked.lines == ("batou==2.7.1", "greeting==1.0", "execnet==2.1.1")
    assert locked.no_deps and locked.pins_batou
    (checkout / "requirements.txt").write_text("greeting\n")
    stale = read_requirements(checkout)
    assert (stale.lines, stale.no_deps) == (("greeting",), False)
    assert "requirements.lock does not match requirements.txt" in stale.notices[0]


def test_a_matching_lock_is_installed_with_no_deps_a_stale_one_is_not(
    tmp_path: Path, wheelhouse: Path
) -> None:
    import hashlib

    checkout = repo_with(tmp_path / "repo", "needsmissing\n")
    digest = hashlib.sha256((checkout / "requirements.txt").read_bytes()).hexdigest()
    (checkout / "requirements.lock").write_text(
        f"# appenv-requirements-hash: {digest}\nneedsmissing==1.0\n"
    )
    venvs = tmp_path / "venvs"
    locked = ensure_venv(checkout, venvs, wheelhouse=wheelhouse, no_index=True, timeout=120)
    assert locked.outcome == "built", locked.error
    assert locked.python
    assert venv_python(locked.python, "import needsmissing as m; print(m.VALUE)") == "locked"
    (checkout / "requirements.txt").write_text("needsmissing  # changed\n")  # the lock is stale
    stale = ensure_venv(checkout, venvs, wheelhouse=wheelhouse, no_index=True, timeout=120)
    assert stale.outcome == "failed" and stale.error is not None
    assert stale.error.message.startswith(
        "pip could not install missingdep (from requirements.txt)"
    )
    assert stale.error.line is None  # a dependency: no line of the file names it
    assert "requirements.lock does not match requirements.txt" in stale.notices[0]


def test_includes_continuations_and_comments_are_flattened(tmp_path: Path) -> None:
    checkout = repo_with(
        tmp_path / "repo",
        (
            "# appenv-python-preference: 3.11\n-r more.txt\n--find-links wheels  # local\n"
            "greeting \\\n  ==1.0\n"
        ),
        **{"more.txt": "batou_ext @ https://example.invalid/batou_ext.zip\nBatou[extra] >= 2\n"},
    )
    result = read_requirements(checkout)
    assert result.lines == (
        "batou_ext @ https://example.invalid/batou_ext.zip",
        "Batou[extra] >= 2",
        "--find-links wheels",
        "greeting ==1.0",
    )
    assert result.pins_batou and result.notices == ()


def test_a_missing_local_package_is_a_located_error(tmp_path: Path) -> None:
    checkout = repo_with(tmp_path / "repo", "greeting\n-e ./batou_myapp\n")
    with pytest.raises(RequirementsError) as caught:
        read_requirements(checkout)
    assert (caught.value.file.name, caught.value.line) == ("requirements.txt", 2)
    result = ensure_venv(checkout, tmp_path / "venvs", timeout=60)
    assert result.outcome == "failed" and result.error is not None
    assert (result.error.file, result.error.line) == ("requirements.txt", 2)
    assert "./batou_myapp is not a directory in the repository" in result.error.message


def test_a_component_imports_from_a_local_extension_module_in_the_worker(tmp_path: Path) -> None:
    from components_runtime.protocol import WorkerRequest
    from daemon.runs.one_shot import run_isolated
    from tests.support.helpers import make_repo

    checkout = make_repo(
        tmp_path / "repo",
        {
            ".batou.json": '{"migration": {"version": 2400}}\n',
            "requirements.txt": "-e ./myext\n",
            "environments/test/environment.cfg": "[host:localhost]\ncomponents = app\n",
            "components/app/component.py": (
                "from batou.component import Component\n"
                "from batou.lib.file import File\n"
                "from myext import Greeting\n\n"
                "class App(Component):\n"
                "    def configure(self):\n"
                "        self += File('greeting.txt', content=Greeting().text())\n"
            ),
        },
    )
    project(
        checkout / "myext",
        "myext",
        "0.1",
        {
            "myext/__init__.py": "from myext.words import Greeting\n",
            "myext/words.py": (
                "class Greeting:\n    def text(self):\n        return 'hi from myext'\n"
            ),
        },
    )
    events: list[dict[str, object]] = []
    request = WorkerRequest(
        repository=str(checkout), environment="test", host="localhost", root=str(tmp_path / "root")
    )
    done = run_isolated(request, tmp_path / "state", events.append, no_index=True)
    assert done.venv.outcome == "built" and done.outcome == "succeeded", done.errors
    assert (tmp_path / "root/work/app/greeting.txt").read_text() == "hi from myext"
    hello = next(e for e in events if e["event"] == "hello")
    assert hello["prefix"] == str(done.venv.path)  # the worker ran inside the repository's venv


def test_every_third_party_import_of_the_runtime_is_linked_into_venvs() -> None:
    """A new runtime dependency must be added to runtime_overlay.RUNTIME_MODULES, or the worker
    fails to import it inside a repository's venv."""
    import ast

    from daemon.venvs.runtime_overlay import RUNTIME_MODULES

    runtime = REPO_ROOT / "components_runtime"
    imported: set[str] = set()
    for path in runtime.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"components_runtime", "batou"}
    assert third_party <= set(RUNTIME_MODULES), third_party - set(RUNTIME_MODULES)


def test_a_hanging_index_hits_the_venv_build_limit(tmp_path: Path) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        checkout = repo_with(
            tmp_path / "repo", (f"--index-url http://127.0.0.1:{port}/simple\nsomething==1.0\n")
        )
        result = ensure_venv(checkout, tmp_path / "venvs", timeout=2)
    assert result.outcome == "failed" and result.error is not None
    assert (result.error.kind, result.error.message) == (
        "VenvBuildTimeout",
        "pip install exceeded the venv build time limit",
    )
    assert not (tmp_path / "venvs" / result.key).exists()


def test_an_unwritable_state_directory_is_a_failure_not_an_exception(tmp_path: Path) -> None:
    blocker = tmp_path / "venvs"
    blocker.write_text("a file where the venvs directory should be")
    result = ensure_venv(repo_with(tmp_path / "repo", None), blocker, timeout=60)
    assert result.outcome == "failed" and result.error is not None
    assert result.error.kind == "VenvBuildError" and str(blocker) in result.error.message


def test_a_local_package_installed_as_a_copy_is_keyed_by_its_whole_content(tmp_path: Path) -> None:
    checkout = repo_with(tmp_path / "repo", "./myext\n")
    project(checkout / "myext", "myext", "0.1", {"myext/__init__.py": "SIZE = 3\n"})

    def key() -> str:
        return venv_key(read_requirements(checkout), wheelhouses=(), no_index=True)

    before = key()
    # what building it leaves in the source tree does not count ...
    write_tree(
        checkout / "myext",
        {
            "build/lib/myext/__init__.py": "SIZE = 3\n",
            "src/myext.egg-info/PKG-INFO": "x",
            "src/myext/__pycache__/__init__.cpython-311.pyc": "x",
        },
    )
    assert key() == before
    # ... but a code change does: the copy in the venv would be stale
    (checkout / "myext/src/myext/__init__.py").write_text("SIZE = 4\n")
    assert key() != before


def test_a_requirement_file_that_is_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    checkout = repo_with(tmp_path / "repo", None)
    (checkout / "requirements.txt").write_bytes(b"requests\n# caf\xe9\n")
    with pytest.raises(RequirementsError) as raised:
        read_requirements(checkout)
    assert raised.value.line == 2 and raised.value.file.name == "requirements.txt"
    assert "not valid UTF-8 (byte 0xe9)" in raised.value.message


def test_a_flat_layout_editable_package_is_not_shadowed_by_its_project_directory(
    tmp_path: Path,
) -> None:
    """``-e ./greet`` with ``greet/greet/__init__.py`` (setuptools' flat layout): the worker must
    not find the project directory ``greet/`` at the repository root as a namespace package
    before the editable finder (batou never has the repository root on sys.path either)."""
    from components_runtime.protocol import WorkerRequest
    from daemon.runs.one_shot import run_isolated
    from tests.support.helpers import make_repo

    checkout = make_repo(
        tmp_path / "repo",
        {
            "requirements.txt": "-e ./greet\n",
            "environments/test/environment.cfg": "[host:localhost]\ncomponents = app\n",
            "components/app/component.py": (
                "from batou.component import Component\n"
                "from batou.lib.file import File\n"
                "from greet import GREETING\n\n"
                "class App(Component):\n"
                "    def configure(self):\n"
                "        self += File('greeting.txt', content=GREETING)\n"
            ),
        },
    )
    flat_project(checkout / "greet", "greet", "0.1", {"greet/__init__.py": "GREETING = 'moin'\n"})
    request = WorkerRequest(
        repository=str(checkout), environment="test", host="localhost", root=str(tmp_path / "root")
    )
    done = run_isolated(request, tmp_path / "state", no_index=True)
    assert done.outcome == "succeeded", done.errors
    assert (tmp_path / "root/work/app/greeting.txt").read_text() == "moin"


def test_both_wheelhouses_are_offered_in_order_and_count_in_the_key(tmp_path: Path) -> None:
    checkout = repo_with(tmp_path / "repo", "fromrepo\n", **{"wheels/fromrepo-1.0.whl": ""})
    host = tmp_path / "host"
    host.mkdir()
    repo_wheels = checkout / "wheels"
    assert wheelhouses(checkout, host) == (repo_wheels, host)
    assert wheelhouses(checkout, None) == (repo_wheels,)
    assert wheelhouses(tmp_path / "host", None) == ()  # no wheels/ in it
    assert wheelhouses(checkout, repo_wheels) == (repo_wheels,)  # the same directory once
    requirements = read_requirements(checkout)

    def key() -> str:
        return venv_key(requirements, wheelhouses(checkout, host), no_index=True)

    keys = [key()]
    (host / "fromhost-1.0.whl").write_text("")
    keys.append(key())
    (repo_wheels / "fromrepo-1.1.whl").write_text("")
    keys.append(key())
    assert len(set(keys)) == 3, "a new wheel in either directory means a new venv"
