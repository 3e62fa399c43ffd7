"""A venv that a run is using survives the daemon's garbage collection (real processes, real
flocks, real venvs: a repository without requirements gets its venv without pip)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from daemon.runs.one_shot import _held_venv
from daemon.venvs.cache import READY, VenvResult, collect_garbage, ensure_venv, lock_in_use
from daemon.venvs.in_use import IN_USE
from tests.support.helpers import make_repo, wait_for, write_tree

HOLDER = """\
import fcntl, sys
handle = open(sys.argv[1], "a")
fcntl.flock(handle, fcntl.LOCK_SH)
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


def fake_venvs(venvs: Path, *keys: str) -> None:
    for key in keys:
        write_tree(venvs / key, {READY: "{}", "bin/python": ""})


def test_a_venv_held_by_another_process_survives_until_the_holder_exits(tmp_path: Path) -> None:
    venvs = tmp_path / "venvs"
    fake_venvs(venvs, "aaaa", "bbbb", "cccc")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(venvs / "bbbb" / IN_USE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert collect_garbage(venvs, keep={"aaaa"}) == ("cccc",)
        assert sorted(p.name for p in venvs.iterdir() if not p.name.startswith(".")) == [
            "aaaa",
            "bbbb",
        ]
        assert (venvs / "bbbb" / READY).is_file(), "the held venv is untouched"
    finally:
        holder.communicate(timeout=30)  # closes its stdin: the holder exits
    assert collect_garbage(venvs, keep={"aaaa"}) == ("bbbb",)
    assert not (venvs / "bbbb").exists()


def test_the_lock_file_changes_neither_the_key_nor_the_ready_check(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README": "no requirements\n"})
    built = ensure_venv(repo, tmp_path / "venvs")
    assert built.outcome == "built" and built.path is not None
    held = lock_in_use(built.path)
    assert held is not None and held.fd is not None
    try:
        again = ensure_venv(repo, tmp_path / "venvs")
        assert (again.outcome, again.key) == ("reused", built.key)
        assert collect_garbage(tmp_path / "venvs", keep=()) == ()
    finally:
        held.release()
    assert collect_garbage(tmp_path / "venvs", keep=()) == (built.key,)
    assert lock_in_use(built.path) is None, "a collected venv cannot be held"


def test_a_venv_collected_before_the_run_locked_it_is_prepared_again(tmp_path: Path) -> None:
    """The race between ensure_venv's look and the run's lock, made to happen every time."""
    repo = make_repo(tmp_path / "repo", {"README": "no requirements\n"})
    venvs = tmp_path / "venvs"
    ensure_venv(repo, venvs)
    outcomes: list[str] = []

    def prepare() -> VenvResult:
        result = ensure_venv(repo, venvs)
        outcomes.append(result.outcome)
        if len(outcomes) == 1:  # the daemon collects it right after we looked
            assert collect_garbage(venvs, keep={"other"}) == (result.key,)
        return result

    venv, held = _held_venv(prepare)
    assert held is not None
    try:
        assert outcomes == ["reused", "built"]
        assert venv.path is not None and (venv.path / READY).is_file()
        assert collect_garbage(venvs, keep={"other"}) == ()
    finally:
        held.release()


BLOCKING_COMPONENT = """\
import os
import time

from batou.component import Component


class Hello(Component):
    def configure(self):  # check never calls verify(): block here
        open({started!r}, "w").close()
        while os.path.exists({block!r}):
            time.sleep(0.02)
"""


def test_check_keeps_its_venv_while_the_daemon_collects_garbage(tmp_path: Path) -> None:
    started, block = tmp_path / "started", tmp_path / "block"
    component = BLOCKING_COMPONENT.format(started=str(started), block=str(block))
    repo = make_repo(
        tmp_path / "repo-b",
        {
            "components/hello/component.py": component,
            "environments/test/environment.cfg": "[host:web]\ncomponents = hello\n",
            "requirements.txt": "# repository B: a venv of its own\n",
        },
    )
    state = tmp_path / "state"
    fake_venvs(state / "venvs", "0ther0ther0ther0", "5tale5tale5tale5")
    block.touch()
    check = subprocess.Popen(
        [sys.executable, "-m", "daemon.cli", "check", str(repo), "-e", "test", "--host", "web"]
        + ["--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(started.exists, timeout=60)
        (ours,) = {p.name for p in (state / "venvs").iterdir()} - {
            ".lock",
            "0ther0ther0ther0",
            "5tale5tale5tale5",
        }
        removed = collect_garbage(state / "venvs", keep={"0ther0ther0ther0"})
        assert removed == ("5tale5tale5tale5",)
    finally:
        block.unlink()
        output, _ = check.communicate(timeout=120)
    assert check.returncode == 0, output
    assert output.splitlines()[-1].startswith("check passed: environment test, web"), output
    assert (state / "venvs" / ours / READY).is_file()
    assert collect_garbage(state / "venvs", keep={"0ther0ther0ther0"}) == (ours,)
