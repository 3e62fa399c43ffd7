"""``batou.lib`` modules served from the batou distribution a repository pins.

Each case runs the worker's whole job (``run_request``) in a child process whose ``sys.path``
holds a small stand-in for batou's distribution (``site/batou/lib/demo.py``), so the import
machinery, ``sys.modules`` and ``sys.meta_path`` of the test process stay untouched. The
differential tests against batou 2.7.1 itself are in ``tests/parity/test_batou_lib_parity.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.support.helpers import write_tree
from tests.support.paths import REPO_ROOT

DEMO_MODULE = """\
import os.path

from batou import UpdateNeeded
from batou.component import Component
from batou.lib.file import File


class Demo(Component):
    namevar = "name"
    fail = False

    def configure(self):
        self += File(self.name + ".txt", content="made by {{component.name}}\\n")
        self.module_file = __file__

    def verify(self):
        if self.fail:
            raise RuntimeError("demo failed in verify")
        if not os.path.exists(self.name + ".done"):
            raise UpdateNeeded()

    def update(self):
        self.touch(self.name + ".done")
"""

COMPONENT = """\
from batou.component import Component
from batou.lib.demo import Demo
import batou.component, batou.lib.demo


class App(Component):
    fail = False

    def configure(self):
        self += Demo("hello", fail=self.fail)
        assert batou.lib.demo.Component is batou.component.Component
"""

RUN = """\
import json, sys
sys.path.append(sys.argv[1])
from components_runtime.protocol import WorkerRequest
from components_runtime.worker.session import run_request
events = []
request = WorkerRequest(repository=sys.argv[2], environment="dev", root=sys.argv[3])
result = run_request(request, events.append)
served = getattr(sys.modules.get("batou.lib.demo"), "__file__", None)
print(json.dumps({"outcome": result.outcome, "errors": [e.__dict__ for e in result.errors],
                  "served": served}, default=str))
"""


def repository(base: Path, fail: bool = False) -> Path:
    overrides = "\n[component:app]\nfail = True\n" if fail else ""
    write_tree(base / "repo", {
        "components/app/component.py": COMPONENT,
        "environments/dev/environment.cfg": "[hosts]\nlocalhost = app\n" + overrides,
    })  # fmt: skip
    return base / "repo"


def distribution(base: Path) -> Path:
    write_tree(base / "site", {
        # batou's own package __init__ must never run: deployd's runtime answers `import batou`
        "batou/__init__.py": "raise RuntimeError('the distribution\\'s batou/__init__ ran')\n",
        "batou/lib/__init__.py": "",
        "batou/lib/demo.py": DEMO_MODULE,
    })  # fmt: skip
    return base / "site"


def run(site: Path, repo: Path, root: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(site), str(repo), str(root)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_a_served_module_runs_from_the_distribution_on_the_runtime_api(tmp_path: Path) -> None:
    site = distribution(tmp_path)
    result = run(site, repository(tmp_path), tmp_path / "root")
    assert result["outcome"] == "succeeded", result["errors"]
    assert result["served"] == str(site / "batou/lib/demo.py")
    work = tmp_path / "root/work/app"
    assert (work / "hello.txt").read_text() == "made by hello\n"
    assert (work / "hello.done").exists()


def test_a_failure_inside_a_served_module_points_at_the_users_line(tmp_path: Path) -> None:
    result = run(distribution(tmp_path), repository(tmp_path, fail=True), tmp_path / "root")
    (error,) = result["errors"]
    assert error["message"] == "RuntimeError: demo failed in verify"
    # the user's `self += Demo(...)`, not the line in the distribution's demo.py
    assert (error["file"], error["line"]) == ("components/app/component.py", 10)


def test_without_a_pinned_batou_the_import_says_to_pin_it(tmp_path: Path) -> None:
    empty = tmp_path / "no-site"
    empty.mkdir()
    result = run(empty, repository(tmp_path), tmp_path / "root")
    load = next(e for e in result["errors"] if e["kind"] == "LoadError")
    assert "No module named 'batou.lib.demo'" in load["message"]
    assert (load["file"], load["line"]) == ("components/app/component.py", 2)
    # demo is no module of batou 2.7.1: the hint does not promise that a pin would help
    assert "requirements.txt" not in (load["hint"] or "")


def test_a_batou_271_module_without_a_pin_names_the_pin_to_add(tmp_path: Path) -> None:
    empty = tmp_path / "no-site"
    empty.mkdir()
    repo = repository(tmp_path)
    component = repo / "components/app/component.py"
    component.write_text("from batou.lib.archive import Extract\n" + COMPONENT)
    result = run(empty, repo, tmp_path / "root")
    load = next(e for e in result["errors"] if e["kind"] == "LoadError")
    assert (load["file"], load["line"]) == ("components/app/component.py", 1)
    assert load["hint"].startswith(
        "deployd loads batou.lib.archive from the batou distribution the repository pins: "
        "add 'batou==2.7.1' to requirements.txt"
    )


def test_a_name_the_runtime_lacks_fails_the_users_import_with_the_name(tmp_path: Path) -> None:
    site = distribution(tmp_path)
    write_tree(site, {"batou/lib/gap.py": "from batou.utils import no_such_helper\n"})
    repo = repository(tmp_path)
    component = repo / "components/app/component.py"
    component.write_text("import batou.lib.gap\n" + COMPONENT)
    result = run(site, repo, tmp_path / "root")
    load = next(e for e in result["errors"] if e["kind"] == "LoadError")
    assert (load["file"], load["line"]) == ("components/app/component.py", 1)
    assert "cannot import name 'no_such_helper' from 'batou.utils'" in load["message"]
    assert load["hint"].startswith("deployd's batou.utils has no no_such_helper")


def test_a_served_module_imports_from_its_package_too(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys
        sys.path.append(sys.argv[1])
        from components_runtime.worker import aliases
        aliases.install()
        from batou.lib import demo, file
        import batou.lib.demo
        assert demo is batou.lib.demo and demo.__file__.endswith("site/batou/lib/demo.py")
        assert file.__name__ == "components_runtime.batou.lib.file"
        print("imported")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script, str(distribution(tmp_path))],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout == "imported\n", done.stderr


def test_installing_the_aliases_again_keeps_served_modules(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys
        sys.path.append(sys.argv[1])
        from components_runtime.worker import aliases
        aliases.install()
        import batou.lib.demo as first
        aliases.install()
        import batou.lib.demo as second
        assert first is second and sys.modules["batou.lib.demo"] is first
        print("kept")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script, str(distribution(tmp_path))],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout == "kept\n", done.stderr


def test_requests_is_imported_only_when_a_served_module_uses_it(tmp_path: Path) -> None:
    # A stand-in `requests` that leaves a mark when it is really imported.
    site = distribution(tmp_path)
    write_tree(site, {
        "requests/__init__.py": (
            "import os\n"
            "open(os.environ['IMPORT_MARK'], 'a').write('imported\\n')\n"
            "def get(url):\n    return 'got ' + url\n"
        ),
        "batou/lib/fetcher.py": (
            "import requests\n"
            "from batou.component import Component\n\n"
            "class Fetcher(Component):\n"
            "    def update(self):\n"
            "        self.got = requests.get('x')\n"
        ),
    })  # fmt: skip
    script = textwrap.dedent("""
        import importlib.util, os, sys
        sys.path.insert(0, sys.argv[1])
        from components_runtime.worker import aliases
        aliases.install()
        from batou.lib.fetcher import Fetcher
        import requests
        mark = os.environ["IMPORT_MARK"]
        assert not os.path.exists(mark), "imported while loading"
        assert importlib.util.find_spec("requests").origin.endswith("requests/__init__.py")
        assert requests.get("u") == "got u"  # first use: now it is imported, once
        import requests as again
        assert again.get is requests.get and open(mark).read() == "imported\\n"
        print("deferred")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script, str(site)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "IMPORT_MARK": str(tmp_path / "mark")},
    )  # fmt: skip
    assert done.stdout == "deferred\n", done.stderr
