"""batou's example repositories, as an operator meets them: batou 2.7.1 and ``deployd apply`` side
by side.

batou ships small example repositories that run offline (``tutorial-helloworld``, ``ignores``,
``sync_async``, ``largetempl``, ``errors2``). The repositories here are written in our own
words in the same spirit and converged by both tools:

- where batou works, deployd leaves the identical work tree, deploys dependent roots in the
  same order and skips the same components;
- for a repository full of configuration errors, deployd reports every error batou reports
  (each with a file and line);
- where batou crashes or silently does the wrong thing, deployd gives a clear error or warning.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.parity_helpers import (
    REPO_ROOT,
    batou_venv,
    deployd_command,
    differences,
    snapshot,
    write_repo,
)

pytestmark = pytest.mark.slow

# -- the repositories ------------------------------------------------------------------------

# tutorial-helloworld + ignores + sync_async + largetempl in one environment.
WORKING: dict[str, str | bytes] = {
    "environments/tour/environment.cfg": """\
[environment]
connect_method = local
jobs = 2

[hosts]
localhost = frontend, backend, database, greeting, blob, !broken
!standby = broken

[component:greeting]
audience = operators
""",
    "components/greeting/component.py": """\
from batou.component import Attribute, Component
from batou.lib.file import File


class Greeting(Component):
    audience = Attribute(str, default="world")

    def configure(self):
        self += File("hello.txt", content="Hello {{component.audience}}!\\n")
        self += File("motd", source="motd.j2", mode=0o640)
""",
    "components/greeting/motd.j2": "Welcome to {{host.name}}, {{component.audience}}.\n",
    "components/blob/component.py": """\
from batou.component import Component
from batou.lib.file import File


class Blob(Component):
    def configure(self):
        # More than 100 KiB: batou warns that Jinja may choke on it.
        self += File("blob.txt", content="=" * (100 * 1024 + 7) + "\\n")
""",
    "components/broken/component.py": """\
from batou.component import Component


class Broken(Component):
    def verify(self):
        raise RuntimeError("an ignored component must never be deployed")
""",
    "components/stack/component.py": """\
from batou.component import Component
from batou.lib.file import File


class Database(Component):
    def configure(self):
        self.provide("db:url", "postgres://db/app")
        self += File("database.txt", content="db\\n")


class Backend(Component):
    def configure(self):
        self.db = self.require_one("db:url")
        self.provide("backend:port", 8080)
        self += File("backend.txt", content="{{component.db}}\\n")


class Frontend(Component):
    def configure(self):
        self.port = self.require_one("backend:port")
        self += File("frontend.txt", content="upstream :{{component.port}}\\n")
""",
}

# errors2: one of each configuration error, plus a batou.lib module deployd does not serve.
ERRORS: dict[str, str | bytes] = {
    "environments/errors/environment.cfg": """\
[environment]
connect_method = local

[hosts]
localhost = catalog, checkout, cart, banner, colours, mirror,
    ping, pong, listener, v4only, perms, crontab

[component:cart]
enabled = nope

[component:banner]
text = {{host.aliases.missing}}

[component:colours]
colour = blue

[component:listener]
bind = localhost
""",
    "components/shop/component.py": """\
from batou.component import Attribute, Component
from batou.lib.file import SyncDirectory


class Catalog(Component):
    def configure(self):
        self.provide("catalog:url", "http://catalog")
        self.provide("catalog:size", 3)


class Checkout(Component):
    def configure(self):
        self.require("payment:gateway")


class Cart(Component):
    enabled = Attribute("literal", default=None)


class Banner(Component):
    text = Attribute(str, default="")


class Colours(Component):
    shade = Attribute(str, default="dark")


class Mirror(Component):
    def configure(self):
        self += SyncDirectory("static")
""",
    "components/loop/component.py": """\
from batou.component import Component


class Ping(Component):
    def configure(self):
        self.require("pong")
        self.provide("ping", 1)


class Pong(Component):
    def configure(self):
        self.require("ping")
        self.provide("pong", 1)
""",
    "components/net/component.py": """\
from batou.component import Attribute, Component
from batou.utils import Address


class Listener(Component):
    bind = Attribute(Address, default=None)


class V4only(Component):
    def configure(self):
        address = Address("localhost:22", require_v6=False)
        address.listen_v6
""",
    "components/perms/component.py": """\
from batou.component import Component
from batou.lib.file import File


class Perms(Component):
    def configure(self):
        self += File("secret.txt", mode="rw-nonsense")
""",
    "components/crontab/component.py": "from batou.lib.cron import CronTab\n",
}

# Each batou error of ERRORS, and what deployd reports for it.
ERROR_PAIRS = [
    ("SyncDirectory requires a source to sync from.", "ComponentUsageError: SyncDirectory"),
    ("Trying to access address family IPv6", "IPAddressConfigurationError: Trying to access"),
    ("crontab: No cron jobs found.", "No module named 'batou.lib.cron'"),
    ("convert_literal('nope')", "cannot convert 'nope' with convert_literal()"),
    ("Error while expanding attribute", "Attribute `text` of Banner: cannot expand"),
    ("Need port for service address.", "with Address(): ValueError: Need port"),
    ("Mode-string should be between", "Mode-string should be between"),
    ("Overrides for undefined attributes", "Overrides for undefined attributes: colour"),
    ('Resource "catalog:url" provided by catalog', "Unused resource 'catalog:url'"),
    ('Resource "catalog:size" provided by catalog', "Unused resource 'catalog:size'"),
    ('Resource "payment:gateway" required by checkout', "Unsatisfied resource 'payment:gateway'"),
    ("Found dependency cycle", "Found dependency cycle: "),
    ("remaining unconfigured component(s)", "remaining unconfigured component(s)"),
]

# sync_async's ComponentSub: the same class name in two files.
TWINS: dict[str, str | bytes] = {
    "environments/dev/environment.cfg": "[environment]\nconnect_method = local\n\n"
    "[hosts]\nlocalhost = worker\n",
    "components/alpha/component.py": """\
from batou.component import Component
from batou.lib.file import File


class Worker(Component):
    def configure(self):
        self += File("who", content="alpha\\n")
""",
    "components/beta/component.py": """\
from batou.component import Component
from batou.lib.file import File


class Worker(Component):
    def configure(self):
        self += File("who", content="beta\\n")
""",
}

# Two traps batou turns into a crash.
TRAPS: dict[str, str | bytes] = {
    "environments/ambiguous/environment.cfg": "[environment]\nconnect_method = local\n\n"
    "[hosts]\nlocalhost = left, right, reader\n",
    "environments/noverify/environment.cfg": "[environment]\nconnect_method = local\n\n"
    "[hosts]\nlocalhost = touchy\n",
    "components/traps/component.py": """\
from batou.component import Component
from batou.lib.file import File


class Left(Component):
    def configure(self):
        self.provide("port", 1)


class Right(Component):
    def configure(self):
        self.provide("port", 2)


class Reader(Component):
    def configure(self):
        self.port = self.require_one("port")


class Touchy(Component):
    def configure(self):
        self += File("touched", content="yes\\n")

    def update(self):
        self.touch("never")
""",
}


# -- running both tools ----------------------------------------------------------------------


def batou(repo: Path, environment: str) -> tuple[int, str]:
    venv = batou_venv()
    done = subprocess.run(
        [str(venv / "bin" / "batou"), "deploy", environment],
        cwd=repo,
        env={**os.environ, "APPENV_BASEDIR": str(repo)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def deployd(repo: Path, environment: str, root: Path) -> tuple[int, str]:
    done = subprocess.run(
        deployd_command(repo, environment, root),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def both(base: Path, name: str, files: dict[str, str | bytes], environment: str) -> dict[str, Any]:
    batou_repo = write_repo(base / f"{name}-batou", files)
    deployd_repo = write_repo(base / f"{name}-deployd", files)
    root = base / f"{name}-root"
    batou_rc, batou_out = batou(batou_repo, environment)
    deployd_rc, deployd_out = deployd(deployd_repo, environment, root)
    return {
        "batou": (batou_rc, batou_out),
        "deployd": (deployd_rc, deployd_out),
        "batou_repo": batou_repo,
        "deployd_repo": deployd_repo,
        "root": root,
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("operator-examples")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def tour(base: Path) -> dict[str, Any]:
    first = both(base, "tour", WORKING, "tour")
    first["first_trees"] = (
        snapshot(first["batou_repo"] / "work"),
        snapshot(first["root"] / "work"),
    )
    first["again"] = (
        batou(first["batou_repo"], "tour"),
        deployd(first["deployd_repo"], "tour", first["root"]),
    )
    first["second_trees"] = (
        snapshot(first["batou_repo"] / "work"),
        snapshot(first["root"] / "work"),
    )
    return first


@pytest.fixture(scope="module")
def errors(base: Path) -> dict[str, Any]:
    return both(base, "errors", ERRORS, "errors")


def changed_roots(output: str) -> list[str]:
    """Root component classes in the order their first change is shown (batou: the rocket line,
    deployd: ``host > Root > ...``)."""
    order: list[str] = []
    for match in re.finditer(r"^(?:🚀 )?localhost(?::| >) (\w+) > ", output, re.MULTILINE):
        if match.group(1) not in order:
            order.append(match.group(1))
    return order


# -- where batou works: the same result ------------------------------------------------------


def test_both_converge_the_tour(tour: dict[str, Any]) -> None:
    assert tour["batou"][0] == 0, tour["batou"][1]
    assert tour["deployd"][0] == 0, tour["deployd"][1]


def test_first_converge_leaves_identical_work_trees(tour: dict[str, Any]) -> None:
    expected, actual = tour["first_trees"]
    assert differences(expected, actual) == []
    assert {"greeting/hello.txt", "greeting/motd", "blob/blob.txt"} <= set(actual)


def test_second_converge_changes_nothing_in_either(tour: dict[str, Any]) -> None:
    (batou_rc, batou_out), (deployd_rc, deployd_out) = tour["again"]
    assert (batou_rc, deployd_rc) == (0, 0)
    assert changed_roots(batou_out) == []
    assert " 0 changed, 5 unchanged, 0 failed, 1 skipped " in deployd_out
    assert deployd_out.rstrip().endswith("- no changes")
    assert differences(*tour["second_trees"]) == []


def test_dependent_roots_deploy_in_batou_order(tour: dict[str, Any]) -> None:
    stack = ["Database", "Backend", "Frontend"]  # listed in reverse in the environment
    batou_order = [name for name in changed_roots(tour["batou"][1]) if name in stack]
    deployd_order = [name for name in changed_roots(tour["deployd"][1]) if name in stack]
    assert batou_order == deployd_order == stack


def test_a_diff_follows_the_line_of_the_component_it_belongs_to(tour: dict[str, Any]) -> None:
    """batou names the component first, then shows what its verify() found; so does deployd
    (the diff of Content must not appear under Presence)."""
    header = "Greeting > File('work/greeting/hello.txt') > Content('hello.txt')"
    # batou runs with jobs = 2: its threads share one terminal, so lines of the other root (or
    # the first diff line, glued to another line) may land anywhere. What holds however they
    # interleave: the header comes before the diff's last line.
    batou_out = tour["batou"][1]
    assert batou_out.index(header) < batou_out.index("hello.txt +Hello operators!"), batou_out
    lines = tour["deployd"][1].splitlines()
    (at,) = [n for n, line in enumerate(lines) if line.endswith(header)]
    assert lines[at - 1].endswith("Presence('hello.txt')")
    assert lines[at + 1] == "localhost: greeting:   hello.txt ---"
    assert lines[at + 4] == "localhost: greeting:   hello.txt +Hello operators!"


def test_ignored_components_and_hosts_are_skipped_as_in_batou(tour: dict[str, Any]) -> None:
    batou_out, deployd_out = tour["batou"][1], tour["deployd"][1]
    assert "Skipping component broken ... (Component ignored)" in batou_out
    assert "localhost: broken: Skipping component broken (Component ignored)" in deployd_out
    assert "5 changed, 0 unchanged, 0 failed, 1 skipped" in deployd_out
    assert "standby" not in deployd_out  # another host: not this machine's business


def test_push_settings_are_accepted_with_a_note(tour: dict[str, Any]) -> None:
    out = tour["deployd"][1]
    assert "connect_method is only used by batou's push deployment; deployd ignores it" in out
    assert "jobs" not in out  # kept, informational: no error, no note


def test_a_template_over_100_kib_is_written_byte_for_byte(tour: dict[str, Any]) -> None:
    batou_blob = (tour["batou_repo"] / "work/blob/blob.txt").read_bytes()
    assert len(batou_blob) > 100 * 1024
    assert (tour["root"] / "work/blob/blob.txt").read_bytes() == batou_blob
    assert "bigger than 100KiB" in tour["batou"][1]


def test_predict_leaves_the_same_traces_as_batou(base: Path) -> None:
    """``batou deploy --predict-only`` and ``deployd apply --predict`` both create the empty work
    directories and keep the diffs of what would change; nothing else is written."""
    batou_repo = write_repo(base / "predict-batou", WORKING)
    deployd_repo = write_repo(base / "predict-deployd", WORKING)
    root = base / "predict-root"
    done = subprocess.run(
        [str(batou_venv() / "bin" / "batou"), "deploy", "--predict-only", "tour"],
        cwd=batou_repo,
        env={**os.environ, "APPENV_BASEDIR": str(batou_repo)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout
    predicted = subprocess.run(
        [*deployd_command(deployd_repo, "tour", root), "--predict"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    assert "predict: 5 would change, 0 unchanged, 0 failed, 1 skipped" in predicted.stdout
    expected, actual = snapshot(batou_repo / "work"), snapshot(root / "work")
    assert differences(expected, actual) == []
    assert not (root / "work/greeting/hello.txt").exists()


# -- a repository full of mistakes: every batou error is reported ----------------------------


def test_every_error_batou_reports_is_reported(errors: dict[str, Any]) -> None:
    (batou_rc, batou_out), (deployd_rc, deployd_out) = errors["batou"], errors["deployd"]
    assert (batou_rc, deployd_rc) == (1, 2)
    assert "12 ERRORS - CONFIGURATION FAILED" in batou_out
    unmatched = [b for b, _ in ERROR_PAIRS if b not in batou_out]
    assert unmatched == [], batou_out
    missing = [d for _, d in ERROR_PAIRS if d not in deployd_out]
    assert missing == [], deployd_out


def test_every_batou_error_is_in_the_table(errors: dict[str, Any]) -> None:
    """A new kind of batou error in this repository must get its deployd counterpart above."""
    blocks = re.split(r"^ERROR: ", errors["batou"][1], flags=re.MULTILINE)[1:]
    assert len(blocks) == 12
    for block in blocks:
        assert any(b in block for b, _ in ERROR_PAIRS), block


def test_errors_name_the_file_and_line_batou_leaves_out(errors: dict[str, Any]) -> None:
    out = errors["deployd"][1]
    expected_locations = {
        "IPAddressConfigurationError": "components/net/component.py:12",
        "cannot convert 'nope'": "environments/errors/environment.cfg:9",
        "cannot expand": "environments/errors/environment.cfg:12",
        "Need port": "environments/errors/environment.cfg:18",
        "Overrides for undefined attributes": "environments/errors/environment.cfg:15",
        "Mode-string": "components/perms/component.py:7",
        "ComponentUsageError": "components/shop/component.py:30",
        "batou.lib.cron": "components/crontab/component.py:1",
    }
    blocks = out.split("\nError: ")
    for needle, location in expected_locations.items():
        (block,) = [b for b in blocks if needle in b.split("\n")[0]]
        assert f"location:  {location}" in block, block


def test_an_unpinned_batou_module_says_what_is_missing(errors: dict[str, Any]) -> None:
    out = errors["deployd"][1]
    assert "deployd loads batou.lib.cron from the batou distribution the repository pins" in out
    assert "add 'batou==2.7.1' to requirements.txt" in out
    assert "docs/component-model.md" in out
    page = (REPO_ROOT / "docs/component-model.md").read_text()
    assert "`cron`" in page and "### batou modules" in page


# -- where batou crashes or silently guesses: a clear answer --------------------------------


def test_a_class_defined_in_two_files_is_an_error_not_a_silent_choice(base: Path) -> None:
    run = both(base, "twins", TWINS, "dev")
    assert run["batou"][0] == 0  # batou quietly deploys the later file's class
    assert (run["batou_repo"] / "work/worker/who").read_text() == "beta\n"
    rc, out = run["deployd"]
    assert rc == 2
    assert "Component 'worker' is defined in two files: components/alpha/component.py" in out
    assert "components/beta/component.py" in out
    assert not (run["root"] / "work/worker").exists()


def test_require_one_with_several_values_is_a_configuration_error(base: Path) -> None:
    run = both(base, "ambiguous", TRAPS, "ambiguous")
    rc, out = run["batou"]
    assert rc == 1 and "KeyError" in out and "/might/ be a batou bug" in out
    rc, out = run["deployd"]
    assert rc == 2
    assert "AmbiguousResource: require_one('port'): expected one value, got 2" in out
    assert "location:  components/traps/component.py:17" in out


def test_update_without_verify_is_a_warning_not_a_crash(base: Path) -> None:
    run = both(base, "noverify", TRAPS, "noverify")
    rc, out = run["batou"]
    assert rc == 1 and "Remote exception" in out
    rc, out = run["deployd"]
    assert rc == 0, out
    assert "WARNING: traps.Touchy has update() but no verify()" in out
    assert (run["root"] / "work/touchy/touched").read_text() == "yes\n"
    assert not (run["root"] / "work/touchy/never").exists()
