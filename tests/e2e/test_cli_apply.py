"""`deployd apply` / `deployd check` as a user runs them: real subprocesses, real repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import make_repo
from tests.support.paths import REPO_ROOT

COMPONENT = """\
from batou.component import Attribute, Component, ConfigString
from batou.lib.file import File
from batou import UpdateNeeded


class Hello(Component):
    greeting = Attribute(str, default=ConfigString("Hello"))

    def configure(self):
        self += File("hello.txt", content="{{component.greeting}}, world!\\n")
        self.provide("greeting", self.greeting)


class Reader(Component):
    def configure(self):
        self.greeting = self.require_one("greeting")
        self += File("reader.txt", content="I read: {{component.greeting}}\\n")


class Explode(Component):
    def verify(self):
        raise UpdateNeeded()

    def update(self):
        raise OSError("the disk is on fire")
"""

ENVIRONMENT = """\
[host:web]
components = reader, hello

[host:other]
components = explode

[component:hello]
greeting = Moin
"""


STATE: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One state dir (venvs, lock) for the module: the repository's venv is built once."""
    STATE["dir"] = tmp_path_factory.mktemp("state")


def deployd(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "daemon.cli", *args, "--state-dir", str(STATE["dir"])]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(
        tmp_path_factory.mktemp("cli") / "repo",
        {
            "components/hello/component.py": COMPONENT,
            "environments/prod/environment.cfg": ENVIRONMENT,
            "environments/bad/environment.cfg": "[host:web]\ncomponents = nosuch\n",
            "environments/empty/environment.cfg": "[environment]\nconnect_method = local\n",
        },
    )


def test_apply_converges_and_the_second_run_changes_nothing(repo: Path, tmp_path: Path) -> None:
    args = ("apply", str(repo), "-e", "prod", "--host", "web", "--root", str(tmp_path))
    first = deployd(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "work/hello/hello.txt").read_text() == "Moin, world!\n"
    assert (tmp_path / "work/reader/reader.txt").read_text() == "I read: Moin\n"
    lines = first.stdout.splitlines()
    changes = [line for line in lines if line.startswith("web > ")]
    # hello provides what reader requires: it converges first, whatever the config order.
    assert changes[0].startswith("web > Hello > File(")
    assert changes[-1].startswith("web > Reader > File(")
    assert lines[-1].startswith("apply: 2 changed, 0 unchanged, 0 failed (")

    second = deployd(*args)
    assert second.returncode == 0
    assert not [line for line in second.stdout.splitlines() if line.startswith("web > ")]
    assert second.stdout.splitlines()[-1].endswith("- no changes")
    assert "apply: 0 changed, 2 unchanged, 0 failed" in second.stdout


def test_predict_says_what_would_change_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    done = deployd("apply", str(repo), "-e", "prod", "--host", "web", "--root", str(tmp_path),
                   "--predict")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "apply" not in done.stdout.splitlines()[-1][:6]
    assert done.stdout.splitlines()[-1].startswith("predict: 2 would change, 0 unchanged")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and ".batou-diffs" not in p.parts]
    assert written == []  # (diffs of what would change are kept, as batou does)


def test_a_failing_component_exits_1_with_the_users_file_and_line(
    repo: Path, tmp_path: Path
) -> None:
    done = deployd("apply", str(repo), "-e", "prod", "--host", "other", "--root", str(tmp_path))
    assert done.returncode == 1
    assert "Error: DeploymentError: OSError: the disk is on fire" in done.stdout
    line = COMPONENT.splitlines().index('        raise OSError("the disk is on fire")') + 1
    assert f"location:  components/hello/component.py:{line}" in done.stdout
    assert "in: other > Explode" in done.stdout
    assert "apply: 0 changed, 0 unchanged, 1 failed" in done.stdout


def test_check_passes_for_a_good_environment_on_all_hosts(repo: Path) -> None:
    done = deployd("check", str(repo), "-e", "prod", "--all-hosts")
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1].startswith("check passed: environment prod, all hosts")


@pytest.mark.parametrize(
    ("args", "verdict"),
    [
        (("-e", "nope"), "check FAILED: environment nope, this machine ("),
        (("-e", "prod", "--host", "ghost"), "check FAILED: environment prod, ghost ("),
        (("-e", "prod.cfg", "--host", "web"), "check passed: environment prod, web ("),
    ],
)
def test_the_check_verdict_names_the_environment_and_host(
    repo: Path, args: tuple[str, ...], verdict: str
) -> None:
    """Even when no host was selected (a missing environment, an unknown --host)."""
    done = deployd("check", str(repo), *args)
    assert done.stdout.splitlines()[-1].startswith(verdict), done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("check", "{repo}", "-e", "bad", "--all-hosts"), "Missing component: nosuch"),
        (("check", "{repo}", "-e", "nope", "--all-hosts"), "Missing environment 'nope'"),
        (("apply", "{repo}", "-e", "prod", "--host", "ghost"), "Host 'ghost' is not in"),
        # batou refuses an environment without hosts ("No host found in environment")
        (
            ("check", "{repo}", "-e", "empty", "--all-hosts"),
            "Environment 'empty' has no hosts: there is nothing to check",
        ),
    ],
)
def test_bad_configuration_exits_2(repo: Path, args: tuple[str, ...], expected: str) -> None:
    done = deployd(*(arg.format(repo=repo) for arg in args))
    assert done.returncode == 2
    assert expected in done.stdout


def test_apply_refuses_to_run_next_to_another_run(repo: Path, tmp_path: Path) -> None:
    from daemon.state.locks import host_lock

    with host_lock(STATE["dir"], who="the daemon"):
        done = deployd("apply", str(repo), "-e", "prod", "--host", "web", "--root", str(tmp_path))
    assert done.returncode == 2
    assert "another run holds" in done.stderr and "the daemon" in done.stderr
    assert not (tmp_path / "work").exists()


def test_without_state_dir_apply_locks_the_daemons_state_dir(repo: Path, tmp_path: Path) -> None:
    """A daemon whose settings name another state_dir is still locked against: apply reads it."""
    from daemon.state.locks import host_lock

    settings = tmp_path / "deployd.toml"
    settings.write_text(f'repository = "/x"\nenvironment = "prod"\nstate_dir = "{STATE["dir"]}"\n')
    env = {**os.environ, "DEPLOYD_CONFIG": str(settings)}
    command = [sys.executable, "-m", "daemon.cli", "apply", str(repo), "-e", "prod",
               "--host", "web", "--root", str(tmp_path / "root")]  # fmt: skip
    with host_lock(STATE["dir"], who="the daemon"):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "the daemon" in done.stderr, done.stderr
    assert not (tmp_path / "root" / "work").exists()

    settings.write_text("state_dir = [unclosed\n")
    env["DEPLOYD_CONFIG"] = str(settings)
    done = subprocess.run([*command, "--state-dir", str(STATE["dir"])], capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip
    assert done.returncode == 0, "--state-dir wins; the settings file is not even read"
    assert "cannot read" not in done.stderr


def test_environment_time_limits_are_checked_with_every_other_error(tmp_path: Path) -> None:
    section = "\n[deployd]\nrun_timeout = soon\nconverge_timeout = 1\ncomponent_timeout = 5m\n"
    bad = make_repo(tmp_path / "repo", {
        "components/hello/component.py": COMPONENT,
        "environments/prod/environment.cfg": ENVIRONMENT + section + "[weird]\n",
    })  # fmt: skip
    done = deployd("check", str(bad), "-e", "prod", "--all-hosts")
    assert done.returncode == 2
    errors = [line for line in done.stdout.splitlines() if line.startswith("Error: ")]
    assert errors == [
        "Error: LimitsError: run_timeout: 'soon' is not a duration (write seconds, or e.g. 90s, "
        "15m, 2h)",
        "Error: LimitsError: converge_timeout: unknown time limit (known: component, "
        "component_timeout, debug, debug_timeout, fetch, fetch_timeout, grace, grace_period, run, "
        "run_timeout, venv_build, venv_build_timeout)",
        "Error: SuperfluousSection: Superfluous section in environment configuration: [weird]",
    ]
    assert "    location:  environments/prod/environment.cfg:12\n    section:   [deployd]" in (
        done.stdout
    )
    assert done.stdout.splitlines()[-1].startswith("check FAILED: environment prod, all hosts")
    root = tmp_path / "root"
    applied = deployd("apply", str(bad), "-e", "prod", "--host", "web", "--root", str(root))
    assert applied.returncode == 2
    assert applied.stdout.count("Error: LimitsError") == 2
    assert "apply: nothing was converged: fix [deployd] first - FAILED" in applied.stdout
    assert not root.exists()


def test_check_warns_about_a_wave_that_names_no_host(tmp_path: Path) -> None:
    section = "\n[deployd]\nwave.canary = wbe\nwave.rest = web other\n"
    typo = make_repo(tmp_path / "repo", {
        "components/hello/component.py": COMPONENT,
        "environments/prod/environment.cfg": ENVIRONMENT + section,
    })  # fmt: skip
    done = deployd("check", str(typo), "-e", "prod", "--all-hosts")
    assert done.returncode == 0, done.stdout  # a warning: the check still passes
    assert (
        "WARNING: RolloutPolicyWarning: wave.canary: wbe: no host of this environment (the wave "
        "has no host, so it gates nothing)\n    location:  environments/prod/environment.cfg:11\n"
        "    section:   [deployd]\n"
    ) in done.stdout
    assert done.stdout.splitlines()[-1].startswith("check passed: environment prod, all hosts")
    assert deployd("check", str(typo), "-e", "prod", "--host", "web").stdout.count("WARNING") == 1


def test_an_unusable_state_dir_is_a_clear_error(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    args = ["check", str(repo), "-e", "prod", "--all-hosts"]
    command = [sys.executable, "-m", "daemon.cli", *args, "--state-dir", str(tmp_path / "file/x")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Error: VenvBuildError: cannot build" in done.stdout
    assert "check: FAILED: the repository's venv could not be prepared" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_bad_usage_exits_2(repo: Path) -> None:
    assert deployd("apply", str(repo)).returncode == 2  # no -e
    assert deployd("check", str(repo), "-e", "prod", "--host", "a", "--all-hosts").returncode == 2
    assert deployd("apply", "/no/such/dir", "-e", "prod").returncode == 2
    (repo.parent / "state-file").write_text("")
    locked = [sys.executable, "-m", "daemon.cli", "apply", str(repo), "-e", "prod", "--state-dir",
              str(repo.parent / "state-file")]  # fmt: skip
    done = subprocess.run(locked, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cannot use the state directory" in done.stderr


def test_the_documented_example_converges_twice(tmp_path: Path) -> None:
    example = REPO_ROOT / "docs" / "examples" / "hello"
    args = ("apply", str(example), "-e", "demo", "--host", "localhost", "--root", str(tmp_path))
    first = deployd(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "work/_/etc/motd-demo").read_text() == "hello listens on 9090\n"
    assert (
        "port = 9090\nhost = localhost\nunprivileged = yes\n"
        in (tmp_path / "work/hello/app.conf").read_text()
    )
    second = deployd(*args)
    assert second.stdout.splitlines()[-1].endswith("- no changes")


def test_the_old_flat_layout_converges_with_a_warning(tmp_path: Path) -> None:
    flat = make_repo(tmp_path / "repo", {
        "components/hello/component.py": COMPONENT,
        "environments/old.cfg": ENVIRONMENT,
    })  # fmt: skip
    root = tmp_path / "root"
    args = ("apply", str(flat), "-e", "old", "--host", "web", "--root", str(root))
    done = deployd(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "work/hello/hello.txt").read_text() == "Moin, world!\n"
    assert (
        "WARNING: environments/old.cfg: batou's old flat layout (environments/NAME.cfg, batou 2.2 "
        "and earlier): deployd reads it, batou 2.7 does not (move it to "
        "environments/old/environment.cfg)"
    ) in done.stdout.splitlines()
    assert deployd(*args).stdout.splitlines()[-1].endswith("- no changes")
    missing = deployd("check", str(flat), "-e", "new", "--all-hosts")
    assert (
        "Missing environment 'new': no environments/new/environment.cfg (nor the old flat "
        "environments/new.cfg)"
    ) in missing.stdout
    assert "hint:      Existing environments: old." in missing.stdout


def test_without_host_this_machine_is_found_by_short_name_then_fqdn(tmp_path: Path) -> None:
    import socket

    short, fqdn = socket.gethostname().split(".")[0], socket.getfqdn()
    both = "".join(f"[host:{name}]\ncomponents = plain\n" for name in dict.fromkeys([fqdn, short]))
    machine = make_repo(tmp_path / "repo", {
        "components/plain/component.py": "from batou.component import Component\n"
                                          "class Plain(Component):\n    pass\n",
        "environments/both/environment.cfg": both,
        "environments/fqdn/environment.cfg": f"[host:{fqdn}]\ncomponents = plain\n",
    })  # fmt: skip
    picked = deployd("check", str(machine), "-e", "both").stdout.splitlines()[-1]
    assert picked.startswith(f"check passed: environment both, {short} ("), picked
    picked = deployd("check", str(machine), "-e", "fqdn").stdout.splitlines()[-1]
    assert picked.startswith(f"check passed: environment fqdn, {fqdn} ("), picked


def test_the_demo_apply_script_runs(tmp_path: Path) -> None:
    """`make demo-apply`: check, predict, apply, and a second apply that changes nothing."""
    script = REPO_ROOT / "docs" / "examples" / "demo.sh"
    env = {**os.environ, "DEPLOYD": str(Path(sys.executable).parent / "deployd"),
           "DEPLOYD_DEMO_DIR": str(tmp_path / "demo")}  # fmt: skip
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check passed: environment demo, all hosts" in done.stdout
    assert "predict: 2 would change, 0 unchanged, 0 failed" in done.stdout
    assert "apply: 0 changed, 2 unchanged, 0 failed" in done.stdout
    assert (tmp_path / "demo/root/work/_/etc/motd-demo").read_text() == "hello listens on 9090\n"
